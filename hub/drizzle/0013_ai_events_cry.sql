CREATE TABLE `cry_clips` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`subject_id` integer NOT NULL,
	`device_id` integer,
	`recorded_at` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`file` text NOT NULL,
	`bytes` integer NOT NULL,
	`probability` real,
	`label` text,
	`labelled_by` integer,
	`labelled_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`subject_id`) REFERENCES `subjects`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`labelled_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `cry_clips_subject` ON `cry_clips` (`subject_id`,`recorded_at`);--> statement-breakpoint
CREATE TABLE `cry_models` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`subject_id` integer NOT NULL,
	`version` integer NOT NULL,
	`active` integer DEFAULT false NOT NULL,
	`kind` text NOT NULL,
	`trained_at` integer NOT NULL,
	`trained_by` integer,
	`clips` integer NOT NULL,
	`positives` integer NOT NULL,
	`negatives` integer NOT NULL,
	`metrics` text NOT NULL,
	`file` text NOT NULL,
	`sha256` text NOT NULL,
	`bytes` integer NOT NULL,
	`train_ms` integer NOT NULL,
	`note` text,
	FOREIGN KEY (`subject_id`) REFERENCES `subjects`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`trained_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cry_models_version` ON `cry_models` (`subject_id`,`version`);--> statement-breakpoint
CREATE UNIQUE INDEX `cry_models_active` ON `cry_models` (`subject_id`) WHERE "cry_models"."active" = 1;--> statement-breakpoint
CREATE TABLE `detection_event_segments` (
	`event_id` integer NOT NULL,
	`segment_id` integer NOT NULL,
	PRIMARY KEY(`event_id`, `segment_id`),
	FOREIGN KEY (`event_id`) REFERENCES `detection_events`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`segment_id`) REFERENCES `segments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `detection_event_segments_segment` ON `detection_event_segments` (`segment_id`);--> statement-breakpoint
CREATE TABLE `detection_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`camera_id` text NOT NULL,
	`label` text NOT NULL,
	`start_at` integer NOT NULL,
	`end_at` integer,
	`score` real NOT NULL,
	`snapshot` text,
	`snapshot_at` integer,
	`hits` integer DEFAULT 0 NOT NULL,
	`zone` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`camera_id`) REFERENCES `cameras`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `detection_events_camera_start` ON `detection_events` (`camera_id`,`start_at`);--> statement-breakpoint
CREATE INDEX `detection_events_start` ON `detection_events` (`start_at`);