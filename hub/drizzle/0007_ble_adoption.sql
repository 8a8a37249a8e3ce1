CREATE TABLE `ble_adoptions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`address` text NOT NULL,
	`name` text NOT NULL,
	`camera_id` text NOT NULL,
	`state` text NOT NULL,
	`error_code` text,
	`error` text,
	`device_id` integer,
	`firmware` text,
	`camera_url` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`contact_by` integer,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE TABLE `wifi_credentials` (
	`id` integer PRIMARY KEY NOT NULL,
	`ssid` text NOT NULL,
	`sealed_password` text NOT NULL,
	`updated_at` integer NOT NULL
);
