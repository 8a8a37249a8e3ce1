ALTER TABLE `cameras` ADD `priority` text DEFAULT 'normal' NOT NULL;--> statement-breakpoint
ALTER TABLE `retention_deletions` ADD `category` text DEFAULT 'recordings' NOT NULL;