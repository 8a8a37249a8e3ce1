CREATE TABLE `cameras` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`source_url` text,
	`device_id` integer,
	`power_profile` text DEFAULT 'mains' NOT NULL,
	`record` integer DEFAULT true NOT NULL,
	`segment_seconds` integer DEFAULT 60 NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE TABLE `segments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`camera_id` text NOT NULL,
	`start_at` integer NOT NULL,
	`end_at` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`bytes` integer NOT NULL,
	`codec` text NOT NULL,
	`width` integer NOT NULL,
	`height` integer NOT NULL,
	`init_bytes` integer NOT NULL,
	`location` text NOT NULL,
	`rel_path` text NOT NULL,
	`clock_suspect` integer DEFAULT false NOT NULL,
	`protected` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`camera_id`) REFERENCES `cameras`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `segments_rel_path_unique` ON `segments` (`rel_path`);--> statement-breakpoint
CREATE INDEX `segments_camera_start_idx` ON `segments` (`camera_id`,`start_at`);