ALTER TABLE tasks ADD COLUMN page_item integer;
