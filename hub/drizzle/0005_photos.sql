CREATE TABLE `camera_device_settings` (
	`device_id` integer PRIMARY KEY NOT NULL,
	`settings` text NOT NULL,
	`version` integer NOT NULL,
	`applied_version` integer DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `device_commands` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`device_id` integer NOT NULL,
	`kind` text NOT NULL,
	`seconds` integer,
	`created_at` integer NOT NULL,
	`first_sent_at` integer,
	`acked_at` integer,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `device_commands_device_idx` ON `device_commands` (`device_id`,`acked_at`);--> statement-breakpoint
CREATE TABLE `photos` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`camera_id` text NOT NULL,
	`device_id` integer,
	`burst_id` text NOT NULL,
	`seq` integer NOT NULL,
	`captured_at` integer NOT NULL,
	`device_time` integer,
	`clock_suspect` integer DEFAULT false NOT NULL,
	`received_at` integer NOT NULL,
	`wake_reason` text NOT NULL,
	`width` integer NOT NULL,
	`height` integer NOT NULL,
	`bytes` integer NOT NULL,
	`location` text NOT NULL,
	`rel_path` text NOT NULL,
	`state` text DEFAULT 'queued' NOT NULL,
	`error` text,
	`sharpness` real,
	`exposure` real,
	`score` real,
	`best` integer DEFAULT false NOT NULL,
	`favorite` integer DEFAULT false NOT NULL,
	`battery_mv` integer,
	`rssi` integer,
	`firmware` text,
	`latitude` real,
	`longitude` real,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `photos_device_burst_seq_idx` ON `photos` (`device_id`,`burst_id`,`seq`);--> statement-breakpoint
CREATE INDEX `photos_camera_captured_idx` ON `photos` (`camera_id`,`captured_at`);--> statement-breakpoint
CREATE INDEX `photos_state_idx` ON `photos` (`state`);--> statement-breakpoint
CREATE INDEX `photos_location_captured_idx` ON `photos` (`location`,`captured_at`);--> statement-breakpoint
ALTER TABLE `devices` ADD `battery_mv` integer;--> statement-breakpoint
ALTER TABLE `devices` ADD `rssi` integer;--> statement-breakpoint
ALTER TABLE `devices` ADD `firmware` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `last_wake_reason` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `last_wake_at` integer;