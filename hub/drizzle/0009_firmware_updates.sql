CREATE TABLE `firmware_images` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`version` text NOT NULL,
	`size` integer NOT NULL,
	`sha256` text NOT NULL,
	`signature` text NOT NULL,
	`file_name` text NOT NULL,
	`notes` text DEFAULT '' NOT NULL,
	`uploaded_by` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `firmware_images_version_unique` ON `firmware_images` (`version`);--> statement-breakpoint
CREATE UNIQUE INDEX `firmware_images_sha256_unique` ON `firmware_images` (`sha256`);--> statement-breakpoint
CREATE TABLE `firmware_rollouts` (
	`device_id` integer NOT NULL,
	`image_id` integer NOT NULL,
	`state` text NOT NULL,
	`detail` text,
	`from_version` text,
	`offered_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`device_id`, `image_id`),
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`image_id`) REFERENCES `firmware_images`(`id`) ON UPDATE no action ON DELETE cascade
);
