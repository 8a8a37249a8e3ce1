ALTER TABLE `devices` ADD `ble_seen_at` integer;--> statement-breakpoint
ALTER TABLE `device_commands` ADD `delivered_via` text;