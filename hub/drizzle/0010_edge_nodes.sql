CREATE TABLE `node_commands` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`device_id` integer NOT NULL,
	`kind` text NOT NULL,
	`args` text NOT NULL,
	`state` text NOT NULL,
	`detail` text,
	`created_by` integer,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`delivered_at` integer,
	`finished_at` integer,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `node_commands_device_state` ON `node_commands` (`device_id`,`state`);--> statement-breakpoint
CREATE TABLE `node_enrolment_codes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`code_hash` text NOT NULL,
	`name` text NOT NULL,
	`created_by` integer,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`device_id` integer,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `node_enrolment_codes_code_hash_unique` ON `node_enrolment_codes` (`code_hash`);--> statement-breakpoint
CREATE TABLE `node_readings` (
	`device_id` integer NOT NULL,
	`seq` integer NOT NULL,
	`at` integer NOT NULL,
	`received_at` integer NOT NULL,
	`sensor` text NOT NULL,
	`kind` text NOT NULL,
	`value` real,
	`state` text,
	`confidence` real,
	PRIMARY KEY(`device_id`, `seq`),
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `node_readings_kind_at` ON `node_readings` (`device_id`,`kind`,`at`);--> statement-breakpoint
CREATE TABLE `node_status` (
	`device_id` integer PRIMARY KEY NOT NULL,
	`heartbeat` text,
	`heartbeat_at` integer,
	`acked_seq` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE cascade
);
