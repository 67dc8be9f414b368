ALTER TABLE tasks ADD COLUMN process_group integer;
ALTER TABLE tasks ADD COLUMN process_started bigint;
