-- Photos move into the database, as on PostgreSQL. (The change feed of PostgreSQL has no
-- SQLite part: an SQLite store serves one process, whose admin API reloads its own actors.)

-- The image itself; NULL for photos stored before this migration (their bytes stay in the
-- files under mqtt.photo_dir, which is read for them).
ALTER TABLE mqtt_photos ADD COLUMN content BLOB;
