CREATE TABLE `pending_deletions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`rel_path` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `pending_deletions_rel_path_unique` ON `pending_deletions` (`rel_path`);--> statement-breakpoint
CREATE TABLE `retention_deletions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`camera_id` text NOT NULL,
	`rel_path` text NOT NULL,
	`start_at` integer NOT NULL,
	`bytes` integer NOT NULL,
	`reason` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `retention_deletions_at_idx` ON `retention_deletions` (`at`);--> statement-breakpoint
CREATE INDEX `segments_location_start_idx` ON `segments` (`location`,`start_at`);