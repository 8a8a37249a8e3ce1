-- Per camera, location and protection: how many segments and bytes. Kept by triggers so that the storage
-- page and the deleter read a handful of rows instead of scanning a million (GET /api/storage, forecast).
CREATE TABLE `segment_totals` (
	`camera_id` text NOT NULL,
	`location` text NOT NULL,
	`protected` integer NOT NULL,
	`n` integer NOT NULL,
	`bytes` integer NOT NULL,
	PRIMARY KEY (`camera_id`, `location`, `protected`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `segment_totals` (`camera_id`, `location`, `protected`, `n`, `bytes`)
SELECT `camera_id`, `location`, `protected`, count(*), coalesce(sum(`bytes`), 0) FROM `segments`
GROUP BY `camera_id`, `location`, `protected`;
--> statement-breakpoint
CREATE TRIGGER `segment_totals_insert` AFTER INSERT ON `segments` BEGIN
	INSERT INTO `segment_totals` (`camera_id`, `location`, `protected`, `n`, `bytes`)
	VALUES (NEW.`camera_id`, NEW.`location`, NEW.`protected`, 1, NEW.`bytes`)
	ON CONFLICT (`camera_id`, `location`, `protected`) DO UPDATE SET `n` = `n` + 1, `bytes` = `bytes` + excluded.`bytes`;
END;
--> statement-breakpoint
CREATE TRIGGER `segment_totals_delete` AFTER DELETE ON `segments` BEGIN
	UPDATE `segment_totals` SET `n` = `n` - 1, `bytes` = `bytes` - OLD.`bytes`
	WHERE `camera_id` = OLD.`camera_id` AND `location` = OLD.`location` AND `protected` = OLD.`protected`;
END;
--> statement-breakpoint
CREATE TRIGGER `segment_totals_update` AFTER UPDATE OF `camera_id`, `location`, `protected`, `bytes` ON `segments` BEGIN
	UPDATE `segment_totals` SET `n` = `n` - 1, `bytes` = `bytes` - OLD.`bytes`
	WHERE `camera_id` = OLD.`camera_id` AND `location` = OLD.`location` AND `protected` = OLD.`protected`;
	INSERT INTO `segment_totals` (`camera_id`, `location`, `protected`, `n`, `bytes`)
	VALUES (NEW.`camera_id`, NEW.`location`, NEW.`protected`, 1, NEW.`bytes`)
	ON CONFLICT (`camera_id`, `location`, `protected`) DO UPDATE SET `n` = `n` + 1, `bytes` = `bytes` + excluded.`bytes`;
END;
