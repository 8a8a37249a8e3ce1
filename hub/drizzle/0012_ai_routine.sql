CREATE TABLE `routine_models` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`subject_id` integer NOT NULL,
	`version` integer NOT NULL,
	`active` integer DEFAULT false NOT NULL,
	`trained_at` integer NOT NULL,
	`window_from` integer NOT NULL,
	`window_to` integer NOT NULL,
	`days_used` integer NOT NULL,
	`streams` integer NOT NULL,
	`slots` integer NOT NULL,
	`flagged_days` integer NOT NULL,
	`train_ms` integer NOT NULL,
	`ready` integer NOT NULL,
	`note` text,
	`model` text NOT NULL,
	FOREIGN KEY (`subject_id`) REFERENCES `subjects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `routine_models_version` ON `routine_models` (`subject_id`,`version`);--> statement-breakpoint
CREATE UNIQUE INDEX `routine_models_active` ON `routine_models` (`subject_id`) WHERE "routine_models"."active" = 1;--> statement-breakpoint
CREATE INDEX `routine_models_subject` ON `routine_models` (`subject_id`,`trained_at`);