-- DS50 API keys that open every DS50 device of a merchant (the spec's pgw_api_key may be
-- issued per merchant). As for device keys, only the SHA-256 of each key is stored.
CREATE TABLE ds50_merchant_api_keys (
    key_sha256      TEXT PRIMARY KEY,
    merchant_id     BIGINT NOT NULL REFERENCES merchants(id),
    expires_at_ms   BIGINT NOT NULL,
    created_at_ms   BIGINT NOT NULL
);
CREATE INDEX ds50_merchant_api_keys_merchant ON ds50_merchant_api_keys (merchant_id);
