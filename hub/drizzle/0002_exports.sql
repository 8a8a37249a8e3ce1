CREATE TABLE `exports` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`camera_id` text NOT NULL,
	`from_at` integer NOT NULL,
	`to_at` integer NOT NULL,
	`state` text DEFAULT 'queued' NOT NULL,
	`progress` real DEFAULT 0 NOT NULL,
	`bytes` integer,
	`error` text,
	`location` text,
	`rel_path` text,
	`job_id` integer,
	`created_by` integer,
	`created_at` integer NOT NULL,
	`finished_at` integer,
	`expires_at` integer,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `exports_expires_idx` ON `exports` (`expires_at`);--> statement-breakpoint
CREATE INDEX `exports_created_idx` ON `exports` (`created_at`);