//! KTV venues (商户通) beyond the HTTP uploads: the WJ091 client over RabbitMQ
//! ([`wj091`]) and the backfill that pulls a business date's bills and stores what the
//! uploads missed ([`backfill`]).

pub mod backfill;
pub mod wj091;

use serde::{Deserialize, Serialize};

/// KTV settings (`[ktv]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KtvConfig {
    /// Context path of the uploads (`{upload_path}/openTime`, `/realtime`, ...).
    pub upload_path: String,
    /// Cipher of sealed uploads: `aes-128-ecb-pkcs7` (default, the RabbitMQ scheme the spec
    /// names) or `aes-128-cbc-pkcs7` (the 16-byte IV in front of the ciphertext).
    pub cipher_mode: String,
    /// Largest upload body, bytes; larger bodies get `ret` 8.
    pub upload_body_bytes_max: usize,
    /// WJ091 `page_size` of the backfill's type 2 pulls (1..=200).
    pub wj091_page_size: u32,
    /// Seconds between scheduled backfills of every venue; 0 = no schedule (admin trigger
    /// only).
    pub backfill_interval_seconds: u64,
    /// Which business date the scheduled backfill pulls first: today minus this many days.
    pub backfill_days_back: u32,
    /// How far back the scheduled backfill retries business dates that are not complete:
    /// today minus this many days (at least `backfill_days_back`).
    pub backfill_horizon_days: u32,
}

impl Default for KtvConfig {
    fn default() -> Self {
        KtvConfig {
            upload_path: posgate_protocols::ktv::DEFAULT_CONTEXT_PATH.into(),
            cipher_mode: posgate_protocols::ktv::AesMode::Ecb.name().into(),
            upload_body_bytes_max: posgate_protocols::ktv::limits::UPLOAD_BODY_BYTES_MAX,
            wj091_page_size: posgate_protocols::ktv::limits::WJ091_PAGE_SIZE_DEFAULT,
            backfill_interval_seconds: 0,
            backfill_days_back: 1,
            backfill_horizon_days: 7,
        }
    }
}
