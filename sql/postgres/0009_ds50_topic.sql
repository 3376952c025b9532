-- DS50: the MQTT topic prefix each device was given in its posparam.ini (mqtt_topic);
-- broadcasts go to {mqtt_topic}/{SN}. A device without a row uses pos/message.
CREATE TABLE ds50_devices (
    terminal_id    BIGINT PRIMARY KEY REFERENCES terminals(id),
    mqtt_topic     TEXT NOT NULL,
    updated_at_ms  BIGINT NOT NULL
);
