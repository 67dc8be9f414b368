ALTER TABLE tasks ADD COLUMN process_group INTEGER;
ALTER TABLE tasks ADD COLUMN process_started INTEGER;
