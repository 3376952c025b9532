-- DS50: the broker login issued to each device in its posparam.ini, never the gateway's
-- own: a user name and the SHA-256 of a random password (the password is shown once, in
-- the file). NULL for a device whose posparam.ini predates this migration.
ALTER TABLE ds50_devices ADD COLUMN mqtt_username TEXT;
ALTER TABLE ds50_devices ADD COLUMN mqtt_password_sha256 TEXT;
