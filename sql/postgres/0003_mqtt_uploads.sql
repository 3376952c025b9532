-- Uploads of MQTT POS consumption machines (spec section 6): device messages (`message`),
-- photo metadata (`frame_imgup`; the bytes live on disk under mqtt.photo_dir) and dish
-- records (`menu_rec`). MQTT QoS 1 redelivers, so each table has a natural UNIQUE key and
-- inserts are `ON CONFLICT DO NOTHING`. Times are BIGINT unix milliseconds; device times
-- are kept as the device sent them ('YYYY-MM-DD HH:MM:SS', local time).

CREATE TABLE mqtt_notices (
    id              BIGSERIAL PRIMARY KEY,
    terminal_id     BIGINT NOT NULL REFERENCES terminals(id),
    user_id         TEXT NOT NULL,
    notice_time     TEXT NOT NULL,
    kind            TEXT NOT NULL,
    param           TEXT NOT NULL,
    received_at_ms  BIGINT NOT NULL,
    UNIQUE (terminal_id, user_id, notice_time, kind, param)
);
CREATE INDEX mqtt_notices_terminal_idx ON mqtt_notices (terminal_id, id);

-- One row per photo file: a later upload under the same imgPath replaces the file and
-- its metadata; a redelivered one (same sha256) changes nothing.
CREATE TABLE mqtt_photos (
    id              BIGSERIAL PRIMARY KEY,
    terminal_id     BIGINT NOT NULL REFERENCES terminals(id),
    img_path        TEXT NOT NULL,
    file_path       TEXT NOT NULL,
    bytes           BIGINT NOT NULL CHECK (bytes >= 0),
    sha256          TEXT NOT NULL,
    received_at_ms  BIGINT NOT NULL,
    UNIQUE (terminal_id, img_path)
);
CREATE INDEX mqtt_photos_terminal_idx ON mqtt_photos (terminal_id, id);

-- Dish records, linked to the consumption by its idempotency key `mqtt:{deviceId}:{posNum}`
-- (joined at read time: a record may arrive before its consumption). `lines` is a JSON
-- array of {"id": text, "num": count}.
CREATE TABLE mqtt_dish_records (
    id               BIGSERIAL PRIMARY KEY,
    terminal_id      BIGINT NOT NULL REFERENCES terminals(id),
    pos_num          BIGINT NOT NULL CHECK (pos_num >= 0),
    consumption_key  TEXT NOT NULL,
    pay_time         TEXT NOT NULL,
    menu_group       BIGINT NOT NULL CHECK (menu_group BETWEEN 0 AND 6),
    lines            TEXT NOT NULL DEFAULT '[]',
    received_at_ms   BIGINT NOT NULL,
    UNIQUE (terminal_id, pos_num)
);
CREATE INDEX mqtt_dish_records_terminal_idx ON mqtt_dish_records (terminal_id, id);
CREATE INDEX mqtt_dish_records_key_idx ON mqtt_dish_records (consumption_key);
