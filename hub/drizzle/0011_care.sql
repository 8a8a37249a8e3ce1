CREATE TABLE `care_rule_states` (
	`rule_id` integer PRIMARY KEY NOT NULL,
	`state` text NOT NULL,
	`since` integer,
	`last_seen_at` integer,
	`incident_id` integer,
	`last_fired_at` integer,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`rule_id`) REFERENCES `care_rules`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `care_rules` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`subject_id` integer NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`reading_kind` text NOT NULL,
	`params` text NOT NULL,
	`severity` text NOT NULL,
	`dedup_seconds` integer NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`subject_id`) REFERENCES `subjects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `incident_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`incident_id` integer NOT NULL,
	`at` integer NOT NULL,
	`kind` text NOT NULL,
	`user_id` integer,
	`detail` text,
	FOREIGN KEY (`incident_id`) REFERENCES `incidents`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `incident_log_incident` ON `incident_log` (`incident_id`,`at`);--> statement-breakpoint
CREATE TABLE `incidents` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`rule_id` integer,
	`subject_id` integer,
	`severity` text NOT NULL,
	`title` text NOT NULL,
	`silent` integer DEFAULT false NOT NULL,
	`fired_at` integer NOT NULL,
	`evidence` text NOT NULL,
	`acknowledged_at` integer,
	`acknowledged_by` integer,
	`escalations` integer DEFAULT 0 NOT NULL,
	`last_escalated_at` integer,
	`resolved_at` integer,
	FOREIGN KEY (`rule_id`) REFERENCES `care_rules`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`subject_id`) REFERENCES `subjects`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`acknowledged_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `incidents_fired` ON `incidents` (`fired_at`);--> statement-breakpoint
CREATE INDEX `incidents_open` ON `incidents` (`resolved_at`);--> statement-breakpoint
CREATE TABLE `reading_rollups` (
	`device_id` integer NOT NULL,
	`sensor` text NOT NULL,
	`kind` text NOT NULL,
	`resolution` text NOT NULL,
	`bucket_start` integer NOT NULL,
	`count` integer NOT NULL,
	`value_count` integer NOT NULL,
	`min` real,
	`max` real,
	`sum` real,
	`last_state` text,
	`last_at` integer NOT NULL,
	PRIMARY KEY(`device_id`, `kind`, `resolution`, `bucket_start`, `sensor`),
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `rollup_progress` (
	`id` integer PRIMARY KEY NOT NULL,
	`last_row_id` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `subject_cameras` (
	`subject_id` integer NOT NULL,
	`camera_id` text NOT NULL,
	PRIMARY KEY(`subject_id`, `camera_id`),
	FOREIGN KEY (`subject_id`) REFERENCES `subjects`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`camera_id`) REFERENCES `cameras`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `subject_devices` (
	`subject_id` integer NOT NULL,
	`device_id` integer NOT NULL,
	PRIMARY KEY(`subject_id`, `device_id`),
	FOREIGN KEY (`subject_id`) REFERENCES `subjects`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `subject_followers` (
	`subject_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	PRIMARY KEY(`subject_id`, `user_id`),
	FOREIGN KEY (`subject_id`) REFERENCES `subjects`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `subjects` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`notes` text DEFAULT '' NOT NULL,
	`photo_id` integer,
	`quiet_hours` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
