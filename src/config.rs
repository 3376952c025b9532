//! Configuration: defaults, then a TOML file, then `POSGATE_<SECTION>_<KEY>` environment
//! variables, validated before anything is built.
//!
//! Every setting is listed in [`SETTINGS`] with its environment variable and meaning; the
//! CLI's `--help` and `docs/operations.md` are made from that table, and a test checks that
//! it names exactly the settings [`Config`] has.

use crate::amqp::AmqpConfig;
use crate::ktv::KtvConfig;
use crate::mqtt::MqttConfig;
use crate::secret::Secret;
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use posgate_actors::accounts::AccountsConfig;
use posgate_actors::entity::EntityConfig;
use posgate_actors::store::PgOptions;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// The whole configuration.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP server.
    pub http: HttpConfig,
    /// Ledger database.
    pub database: DatabaseConfig,
    /// Admin API.
    pub admin: AdminConfig,
    /// Card index.
    pub cards: CardsConfig,
    /// Ledger rules.
    pub ledger: LedgerConfig,
    /// Accounts actor.
    pub accounts: AccountsConfig,
    /// Entity actors.
    pub entities: EntityConfig,
    /// MQTT transport of the consumption machines.
    pub mqtt: MqttConfig,
    /// DS50 payment boxes.
    pub ds50: Ds50Config,
    /// Pospal notifications.
    pub pospal: PospalConfig,
    /// jpos access layer.
    pub jpos: JposConfig,
    /// RabbitMQ (WJ091 pulls of the KTV venues).
    pub amqp: AmqpConfig,
    /// KTV venues: uploads and backfill.
    pub ktv: KtvConfig,
    /// Logging.
    pub log: LogConfig,
}

/// HTTP server settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on.
    pub listen: String,
    /// Worker threads; 0 = one per core.
    pub workers: usize,
    /// Largest request body accepted, bytes.
    pub request_body_bytes_max: usize,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_timeout_seconds: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:8080".into(),
            workers: 0,
            request_body_bytes_max: 256 * 1024,
            shutdown_timeout_seconds: 30,
        }
    }
}

/// Database settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// PostgreSQL URL; empty = embedded SQLite.
    pub url: Secret<String>,
    /// SQLite database file (embedded mode).
    pub sqlite_path: String,
    /// PostgreSQL connections.
    pub pool_size: u32,
    /// Longest a transaction waits for a pooled connection (or a new one), ms; then the
    /// request gets its protocol's retry answer.
    pub acquire_timeout_ms: u64,
    /// Longest opening one connection (TCP and login) may take, ms.
    pub connect_timeout_ms: u64,
    /// `TCP_USER_TIMEOUT` of the connections, ms: a connection whose sent data stays
    /// unacknowledged this long is dropped (a vanished server); 0 = system default.
    pub tcp_user_timeout_ms: u64,
    /// Connections older than this are replaced, seconds; 0 = never.
    pub max_lifetime_seconds: u64,
    /// Idle connections unused this long are closed, seconds; 0 = never.
    pub idle_timeout_seconds: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        let pg = PgOptions::default();
        DatabaseConfig {
            url: Secret::default(),
            sqlite_path: "posgate.db".into(),
            pool_size: pg.pool_size,
            acquire_timeout_ms: pg.acquire_timeout.as_millis() as u64,
            connect_timeout_ms: pg.connect_timeout.as_millis() as u64,
            tcp_user_timeout_ms: pg.tcp_user_timeout.as_millis() as u64,
            max_lifetime_seconds: pg.max_lifetime.map_or(0, |d| d.as_secs()),
            idle_timeout_seconds: pg.idle_timeout.map_or(0, |d| d.as_secs()),
        }
    }
}

impl DatabaseConfig {
    /// Whether PostgreSQL is configured (otherwise SQLite).
    pub fn is_postgres(&self) -> bool {
        !self.url.expose().is_empty()
    }

    /// The PostgreSQL pool and connection settings.
    pub fn pg_options(&self) -> PgOptions {
        let seconds = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        PgOptions {
            pool_size: self.pool_size,
            acquire_timeout: Duration::from_millis(self.acquire_timeout_ms),
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            tcp_user_timeout: Duration::from_millis(self.tcp_user_timeout_ms),
            max_lifetime: seconds(self.max_lifetime_seconds),
            idle_timeout: seconds(self.idle_timeout_seconds),
        }
    }

    /// Checks the pool settings' ranges.
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, why: &str| {
            Err(ConfigError::Invalid {
                key,
                why: why.to_string(),
            })
        };
        if self.pool_size == 0 {
            return invalid("database.pool_size", "must be at least 1");
        }
        if !(10..=60_000).contains(&self.acquire_timeout_ms) {
            return invalid("database.acquire_timeout_ms", "must be within 10..=60000");
        }
        if !(100..=60_000).contains(&self.connect_timeout_ms) {
            return invalid("database.connect_timeout_ms", "must be within 100..=60000");
        }
        if self.tcp_user_timeout_ms > 600_000 {
            return invalid("database.tcp_user_timeout_ms", "must be at most 600000");
        }
        if self.idle_timeout_seconds > 0 && self.idle_timeout_seconds < 30 {
            return invalid(
                "database.idle_timeout_seconds",
                "must be 0 (never) or at least 30",
            );
        }
        if self.max_lifetime_seconds > 0 && self.max_lifetime_seconds < 30 {
            return invalid(
                "database.max_lifetime_seconds",
                "must be 0 (never) or at least 30",
            );
        }
        Ok(())
    }
}

/// Admin API and console settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Bearer token of the admin API. Empty: generated and printed at start-up (embedded
    /// mode only).
    pub token: Secret<String>,
    /// A console session unused this long ends, minutes.
    pub console_session_idle_minutes: u64,
    /// A console session ends this long after login whatever its use, hours.
    pub console_session_hours: u64,
    /// The console's session cookie is `Secure` (sent over HTTPS only): set it when the
    /// console is reached through TLS, as behind the chart's ingress.
    pub console_secure_cookie: bool,
    /// Admin requests each principal may make a minute, per replica; 0 = no limit.
    pub requests_per_minute: u32,
    /// Console logins each source address may try a minute, per replica; 0 = no limit.
    pub console_logins_per_minute: u32,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            token: Secret::default(),
            console_session_idle_minutes: 30,
            console_session_hours: 12,
            console_secure_cookie: false,
            requests_per_minute: 1200,
            console_logins_per_minute: 20,
        }
    }
}

impl AdminConfig {
    /// Checks the console session settings' ranges.
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, why: &str| {
            Err(ConfigError::Invalid {
                key,
                why: why.to_string(),
            })
        };
        if !(1..=1440).contains(&self.console_session_idle_minutes) {
            return invalid(
                "admin.console_session_idle_minutes",
                "must be within 1..=1440",
            );
        }
        if !(1..=168).contains(&self.console_session_hours) {
            return invalid("admin.console_session_hours", "must be within 1..=168");
        }
        Ok(())
    }
}

/// Card index settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CardsConfig {
    /// HMAC key of the card index (at least 32 characters). Empty: a key file beside the
    /// SQLite database is created and reused (embedded mode only).
    pub hmac_key: Secret<String>,
}

/// Ledger rule settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LedgerConfig {
    /// UTC offset, in minutes, of the day boundary for daily limits (480 = UTC+8).
    pub utc_offset_minutes: i32,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            utc_offset_minutes: 480,
        }
    }
}

/// DS50 settings: the endpoint paths written to `posparam.ini` (`pgw_api_sale`,
/// `pgw_api_details`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ds50Config {
    /// Path of the sale endpoint.
    pub sale_path: String,
    /// Path of the transaction details endpoint.
    pub details_path: String,
    /// Broker host name or address the devices reach (`mqtt_endpoint` of `posparam.ini`);
    /// empty = `mqtt.host` of an external broker. Required with the embedded broker.
    pub mqtt_public_host: String,
    /// Broker port the devices reach (`mqtt_port`); 0 = the broker's own port.
    pub mqtt_public_port: u16,
    /// Issue `posparam.ini` files with `pgw_ssl_cert 0` when `mqtt.public_base_url` is
    /// `http://` (track 2 and PIN block in clear): test benches only.
    pub allow_cleartext: bool,
}

impl Default for Ds50Config {
    fn default() -> Self {
        Ds50Config {
            sale_path: "/ds50/v1/sale".into(),
            details_path: "/ds50/v1/transactions".into(),
            mqtt_public_host: String::new(),
            mqtt_public_port: 0,
            allow_cleartext: false,
        }
    }
}

/// Pospal settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PospalConfig {
    /// Path Pospal posts notifications to (the push URL configured at Pospal).
    pub notify_path: String,
    /// Key that encrypts the stored appKeys (AES-256-GCM): 64 hex digits; empty = derived
    /// from the card key.
    pub key_encryption_key: Secret<String>,
}

impl Default for PospalConfig {
    fn default() -> Self {
        PospalConfig {
            notify_path: "/pospal/v1/notify".into(),
            key_encryption_key: Secret::new(String::new()),
        }
    }
}

/// jpos access-layer settings (SMS verification codes).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JposConfig {
    /// Lifetime of an SMS verification code, seconds.
    pub verify_code_ttl_seconds: u64,
    /// Shortest time between two codes to one mobile number, seconds.
    pub verify_code_resend_seconds: u64,
    /// Most codes sent to one mobile number per hour.
    pub verify_code_sends_per_hour_max: u32,
    /// Wrong codes a card activation may try before the code is dead.
    pub verify_code_attempts_max: u32,
    /// Most codes one terminal may have sent per hour.
    pub verify_code_sends_per_terminal_hour_max: u32,
    /// Most codes all terminals together may have sent per hour.
    pub verify_code_sends_per_hour_total_max: u32,
    /// A request still `pending` this long after it arrived is resolved by the sweeper
    /// (reversed, or completed when the terminal was answered approved), seconds.
    pub pending_resolve_after_seconds: u64,
    /// `http://` or `https://` URL codes are POSTed to; empty = the development sink file.
    pub sms_webhook_url: Secret<String>,
    /// Development sink: file each SMS is appended to (one JSON line) when no webhook is set.
    pub sms_dev_sink_path: String,
    /// Most distinct cards one terminal may present in a minute (card queries, consumes,
    /// ticket queries and consumes, activations); a further new card gets `65`. 0 = no limit.
    pub card_probes_per_terminal_minute_max: u32,
}

impl Default for JposConfig {
    fn default() -> Self {
        JposConfig {
            verify_code_ttl_seconds: 300,
            verify_code_resend_seconds: 60,
            verify_code_sends_per_hour_max: 5,
            verify_code_attempts_max: 5,
            verify_code_sends_per_terminal_hour_max: 30,
            verify_code_sends_per_hour_total_max: 1000,
            pending_resolve_after_seconds: 120,
            sms_webhook_url: Secret::default(),
            sms_dev_sink_path: "sms-dev-sink.log".into(),
            card_probes_per_terminal_minute_max: 30,
        }
    }
}

/// Logging settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// tracing filter directives (`info`, `posgate=debug,info`...). `RUST_LOG` wins if set.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
            filter: "info,rumqttd=warn".into(),
        }
    }
}

/// One documented setting: key, default, meaning.
pub struct Setting {
    /// Dotted key (`http.listen`).
    pub key: &'static str,
    /// Meaning and unit.
    pub help: &'static str,
}

impl Setting {
    /// The environment variable that overrides it (`POSGATE_HTTP_LISTEN`).
    pub fn env_var(&self) -> String {
        format!("POSGATE_{}", self.key.replace('.', "_").to_uppercase())
    }
}

/// Every setting, in file order.
pub const SETTINGS: &[Setting] = &[
    Setting { key: "http.listen", help: "address the HTTP server (admin API, device endpoints, metrics) listens on" },
    Setting { key: "http.workers", help: "HTTP worker threads; 0 = one per CPU core" },
    Setting { key: "http.request_body_bytes_max", help: "largest request body accepted, in bytes; larger bodies get 413" },
    Setting { key: "http.shutdown_timeout_seconds", help: "seconds in-flight requests get to finish after SIGTERM/SIGINT" },
    Setting { key: "database.url", help: "PostgreSQL URL (postgres://user@host/db); empty = embedded SQLite" },
    Setting { key: "database.sqlite_path", help: "SQLite database file used when database.url is empty" },
    Setting { key: "database.pool_size", help: "PostgreSQL connections in the pool" },
    Setting { key: "database.acquire_timeout_ms", help: "longest a request waits for a pooled database connection before its retry answer, ms" },
    Setting { key: "database.connect_timeout_ms", help: "longest opening one database connection (TCP and login) may take, ms" },
    Setting { key: "database.tcp_user_timeout_ms", help: "TCP_USER_TIMEOUT of database connections: unacknowledged data this long drops the connection, ms; 0 = system default" },
    Setting { key: "database.max_lifetime_seconds", help: "database connections older than this are replaced, seconds; 0 = never" },
    Setting { key: "database.idle_timeout_seconds", help: "idle database connections unused this long are closed, seconds; 0 = never" },
    Setting { key: "admin.token", help: "bearer token of the admin API; empty = generated and printed at start (SQLite mode only; required with PostgreSQL)" },
    Setting { key: "admin.console_session_idle_minutes", help: "a console session unused this long ends, minutes (1..=1440)" },
    Setting { key: "admin.console_session_hours", help: "a console session ends this long after login whatever its use, hours (1..=168)" },
    Setting { key: "admin.console_secure_cookie", help: "mark the console's session cookie Secure (HTTPS only); set it when the console is reached through TLS" },
    Setting { key: "admin.requests_per_minute", help: "admin API requests each principal may make a minute, per replica (429 beyond); 0 = no limit" },
    Setting { key: "admin.console_logins_per_minute", help: "console logins each source address may try a minute, per replica (429 beyond); 0 = no limit" },
    Setting { key: "cards.hmac_key", help: "HMAC-SHA256 key of the card index, 32+ characters; empty = key file <sqlite_path>.cardkey (SQLite mode only; required with PostgreSQL)" },
    Setting { key: "ledger.utc_offset_minutes", help: "UTC offset of the business day used by daily limits, minutes (480 = UTC+8)" },
    Setting { key: "accounts.shards", help: "accounts shard actors; 0 = one per CPU core" },
    Setting { key: "accounts.batch_size_max", help: "most postings committed in one database transaction" },
    Setting { key: "accounts.commit_wait_us", help: "longest a posting waits for companions before its batch commits, microseconds" },
    Setting { key: "accounts.mailbox_capacity", help: "postings a shard holds queued before answering busy" },
    Setting { key: "accounts.commit_retries_max", help: "retries of a batch after a transaction conflict" },
    Setting { key: "accounts.commit_resolve_seconds", help: "how long a shard keeps asking the database what a batch whose COMMIT answer was lost did, before answering outcome-unknown (retry with the same identity), seconds" },
    Setting { key: "entities.idle_timeout_seconds", help: "seconds without messages after which a terminal/merchant/venue actor stops" },
    Setting { key: "entities.mailbox_capacity", help: "messages an entity actor holds queued before answering busy" },
    Setting { key: "entities.arbiters", help: "threads entity actors run on; 0 = one per CPU core" },
    Setting { key: "mqtt.enabled", help: "serve the MQTT consumption machines" },
    Setting { key: "mqtt.embedded_broker", help: "start an embedded MQTT broker on mqtt.embedded_listen and use it (ignores mqtt.host/port)" },
    Setting { key: "mqtt.embedded_listen", help: "address of the embedded broker (1883 is usually taken by a system broker)" },
    Setting { key: "mqtt.host", help: "external MQTT broker host" },
    Setting { key: "mqtt.port", help: "external MQTT broker port" },
    Setting { key: "mqtt.username", help: "MQTT user name; empty = none" },
    Setting { key: "mqtt.password", help: "MQTT password" },
    Setting { key: "mqtt.client_id", help: "MQTT client id with a persistent session, single replica only (not with mqtt.shared_group); empty = posgate-<random> per start with a clean session (replicas)" },
    Setting { key: "mqtt.topic_prefix", help: "device topic prefix (the spec's Topic前缀)" },
    Setting { key: "mqtt.shared_group", help: "shared-subscription group so replicas split device traffic ($share/<group>/...); empty = plain" },
    Setting { key: "mqtt.keep_alive_seconds", help: "MQTT keep-alive, seconds" },
    Setting { key: "mqtt.reconnect_backoff_max_seconds", help: "longest wait between reconnection attempts, seconds (full jitter, doubling from 1 s, reset on connect)" },
    Setting { key: "mqtt.debit_order", help: "money assets a consumption draws, in order (subsidy = btYe, cash = xjYe)" },
    Setting { key: "mqtt.photo_dir", help: "directory of photos (frame_imgup) stored before photos moved into the database, read for those only; empty = none" },
    Setting { key: "mqtt.command_inline_bytes_max", help: "largest command published inline, bytes; larger ones are served at a cmdDataUrl" },
    Setting { key: "mqtt.command_ack_timeout_seconds", help: "default time a device has to acknowledge a command, seconds" },
    Setting { key: "mqtt.command_url_ttl_seconds", help: "how long a cmdDataUrl stays valid, seconds (served up to 5 times, until the command is acknowledged)" },
    Setting { key: "mqtt.public_base_url", help: "base URL devices reach this gateway's HTTP server at (for cmdDataUrl)" },
    Setting { key: "jpos.verify_code_ttl_seconds", help: "lifetime of a jpos SMS verification code, seconds" },
    Setting { key: "jpos.verify_code_resend_seconds", help: "shortest time between two verification codes to one mobile number, seconds" },
    Setting { key: "jpos.verify_code_sends_per_hour_max", help: "most verification codes sent to one mobile number per hour" },
    Setting { key: "jpos.verify_code_attempts_max", help: "wrong codes a card activation may try before the code is dead" },
    Setting { key: "jpos.verify_code_sends_per_terminal_hour_max", help: "most verification codes one terminal may have sent per hour" },
    Setting { key: "jpos.card_probes_per_terminal_minute_max", help: "most distinct cards one jpos terminal may present in a minute, per replica (a further new card gets 65); 0 = no limit" },
    Setting { key: "jpos.verify_code_sends_per_hour_total_max", help: "most verification codes all terminals together may have sent per hour" },
    Setting { key: "jpos.pending_resolve_after_seconds", help: "a jpos request still pending this long is resolved by the sweeper (any replica), seconds; 1..=3600" },
    Setting { key: "jpos.sms_webhook_url", help: "http(s):// URL verification codes are POSTed to as JSON; empty = development sink file" },
    Setting { key: "jpos.sms_dev_sink_path", help: "development SMS sink: file each message is appended to when no webhook is set" },
    Setting { key: "mqtt.device_offline_after_seconds", help: "a device silent for longer is shown offline in the admin API, seconds (above 30)" },
    Setting { key: "mqtt.cancel_window_seconds", help: "a mode 31 cancel may undo the device's last consumption for this long after it, seconds (1..=86400)" },
    Setting { key: "ds50.sale_path", help: "path of the DS50 sale endpoint (posparam.ini pgw_api_sale)" },
    Setting { key: "ds50.details_path", help: "path of the DS50 transaction details endpoint (posparam.ini pgw_api_details)" },
    Setting { key: "ds50.mqtt_public_host", help: "broker host the DS50 boxes reach (posparam.ini mqtt_endpoint); empty = mqtt.host; required with the embedded broker" },
    Setting { key: "ds50.mqtt_public_port", help: "broker port the DS50 boxes reach (posparam.ini mqtt_port); 0 = the broker's port" },
    Setting { key: "ds50.allow_cleartext", help: "allow posparam.ini with pgw_ssl_cert 0 when mqtt.public_base_url is http:// (card data in clear; test benches only)" },
    Setting { key: "pospal.notify_path", help: "path Pospal posts notifications to (the push URL set at Pospal)" },
    Setting { key: "pospal.key_encryption_key", help: "key that encrypts the stored Pospal appKeys (AES-256-GCM), 64 hex digits; empty = derived from the card key. Changing it needs the apps' keys put again" },
    Setting { key: "amqp.url", help: "RabbitMQ URL (amqp://user:pass@host:5672/%2f) for the KTV WJ091 pulls; empty = WJ091 disabled" },
    Setting { key: "amqp.exchange", help: "exchange WJ091 requests are published to, routing key = companycode (direct, declared if missing)" },
    Setting { key: "amqp.connection_name", help: "connection name shown by the broker" },
    Setting { key: "amqp.request_timeout_ms", help: "how long a WJ091 call waits for the venue's reply, milliseconds" },
    Setting { key: "amqp.reconnect_backoff_min_ms", help: "first wait before reconnecting to RabbitMQ, milliseconds (doubles per failure)" },
    Setting { key: "amqp.reconnect_backoff_max_ms", help: "longest wait between RabbitMQ reconnection attempts, milliseconds" },
    Setting { key: "ktv.upload_path", help: "context path of the KTV uploads ({path}/openTime, /realtime, /vouchers, /notify, /payment_setting)" },
    Setting { key: "ktv.cipher_mode", help: "cipher of sealed KTV uploads: aes-128-ecb-pkcs7 (default) or aes-128-cbc-pkcs7 (IV first)" },
    Setting { key: "ktv.upload_body_bytes_max", help: "largest KTV upload body, bytes; larger ones get ret 8" },
    Setting { key: "ktv.wj091_page_size", help: "WJ091 page_size of the backfill's bill pulls (1..=200)" },
    Setting { key: "ktv.backfill_interval_seconds", help: "seconds between scheduled KTV backfills of every venue; 0 = admin trigger only" },
    Setting { key: "ktv.backfill_days_back", help: "the scheduled backfill pulls the business date this many days ago (1 = yesterday)" },
    Setting { key: "ktv.backfill_horizon_days", help: "the scheduled backfill retries incomplete business dates up to this many days ago (at least backfill_days_back)" },
    Setting { key: "log.format", help: "log format: text or json" },
    Setting { key: "log.filter", help: "tracing filter (info, posgate=debug,...); RUST_LOG overrides" },
];

/// Sections that `POSGATE_<SECTION>_<KEY>` variables may address.
const SECTIONS: &[&str] = &[
    "http", "database", "admin", "cards", "ledger", "accounts", "entities", "mqtt", "ds50",
    "pospal", "jpos", "amqp", "ktv", "log",
];

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or an environment variable could not be read or parsed.
    #[error("{0}")]
    Load(String),
    /// A value is out of range or missing.
    #[error("invalid setting {key}: {why}")]
    Invalid {
        /// Dotted key.
        key: &'static str,
        /// What is wrong.
        why: String,
    },
}

/// Maps `ACCOUNTS_BATCH_SIZE_MAX` to `accounts.batch_size_max`; `None` for variables that
/// are not settings (`POSGATE_REQUIRE_SERVICES`...).
fn env_key(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    SECTIONS.iter().find_map(|section| {
        lower
            .strip_prefix(section)
            .and_then(|rest| rest.strip_prefix('_'))
            .map(|key| format!("{section}.{key}"))
    })
}

/// Checks a configurable device endpoint path: absolute, plain URL path characters, and
/// outside the paths posgate serves itself.
fn check_device_path(path: &str) -> Result<(), &'static str> {
    if !path.starts_with('/') || path.len() < 2 || path.len() > 128 {
        return Err("must start with / and be 2..=128 characters");
    }
    if path.ends_with('/') || path.contains("//") {
        return Err("must not end with / or hold an empty segment");
    }
    if !path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/_.-".contains(&b))
    {
        return Err("may hold only letters, digits and / _ . -");
    }
    let reserved = [
        "/admin",
        "/mqtt",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ];
    if reserved
        .iter()
        .any(|r| path == *r || path.starts_with(&format!("{r}/")))
    {
        return Err("is a path posgate serves itself");
    }
    Ok(())
}

impl Config {
    /// Loads defaults, then `file` if given, then the environment, and validates.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        // Defaults come from the serde defaults of the structs (not a serialized Config:
        // secrets serialize as a mask).
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Load(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        let env = Env::prefixed("POSGATE_")
            .filter_map(|k| env_key(k.as_str()).map(Into::into))
            .lowercase(false)
            .split(".");
        let config: Config = figment
            .merge(env)
            .extract()
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges and combinations.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, why: &str| {
            Err(ConfigError::Invalid {
                key,
                why: why.to_string(),
            })
        };
        if self.http.listen.parse::<std::net::SocketAddr>().is_err() {
            return invalid("http.listen", "not a socket address (host:port)");
        }
        if self.http.request_body_bytes_max < 1024 {
            return invalid("http.request_body_bytes_max", "must be at least 1024");
        }
        self.database.validate()?;
        self.admin.validate()?;
        if self.database.is_postgres() {
            if self.admin.token.expose().is_empty() {
                return invalid("admin.token", "required when database.url is set");
            }
            if self.cards.hmac_key.expose().is_empty() {
                return invalid("cards.hmac_key", "required when database.url is set");
            }
        }
        if !self.admin.token.expose().is_empty() && self.admin.token.expose().len() < 16 {
            return invalid("admin.token", "must be at least 16 characters");
        }
        if !self.cards.hmac_key.expose().is_empty() && self.cards.hmac_key.expose().len() < 32 {
            return invalid("cards.hmac_key", "must be at least 32 characters");
        }
        let kek = self.pospal.key_encryption_key.expose();
        if !kek.is_empty() && posgate_protocols::pospal::KeyEncryptionKey::from_hex(kek).is_none() {
            return invalid(
                "pospal.key_encryption_key",
                "must be 64 hex digits (32 bytes)",
            );
        }
        if self.jpos.verify_code_ttl_seconds > 86_400 {
            return invalid("jpos.verify_code_ttl_seconds", "must be at most 86400");
        }
        if self.jpos.verify_code_attempts_max == 0 {
            return invalid("jpos.verify_code_attempts_max", "must be at least 1");
        }
        if self.jpos.verify_code_sends_per_hour_max == 0 {
            return invalid("jpos.verify_code_sends_per_hour_max", "must be at least 1");
        }
        if self.jpos.verify_code_sends_per_terminal_hour_max == 0 {
            return invalid(
                "jpos.verify_code_sends_per_terminal_hour_max",
                "must be at least 1",
            );
        }
        if self.jpos.verify_code_sends_per_hour_total_max == 0 {
            return invalid(
                "jpos.verify_code_sends_per_hour_total_max",
                "must be at least 1",
            );
        }
        if !(1..=3600).contains(&self.jpos.pending_resolve_after_seconds) {
            return invalid(
                "jpos.pending_resolve_after_seconds",
                "must be within 1..=3600",
            );
        }
        if !self.jpos.sms_webhook_url.expose().is_empty() {
            if let Err(why) = crate::sms::Webhook::new(self.jpos.sms_webhook_url.expose()) {
                return invalid("jpos.sms_webhook_url", &why);
            }
        }
        if !(-720..=840).contains(&self.ledger.utc_offset_minutes) {
            return invalid("ledger.utc_offset_minutes", "must be within -720..=840");
        }
        if self.accounts.batch_size_max == 0 || self.accounts.batch_size_max > 10_000 {
            return invalid("accounts.batch_size_max", "must be within 1..=10000");
        }
        if self.accounts.commit_wait_us > 1_000_000 {
            return invalid("accounts.commit_wait_us", "must be at most 1000000 (1 s)");
        }
        if self.accounts.mailbox_capacity == 0 {
            return invalid("accounts.mailbox_capacity", "must be at least 1");
        }
        if self.accounts.commit_resolve_seconds > 300 {
            return invalid("accounts.commit_resolve_seconds", "must be at most 300");
        }
        if self.entities.mailbox_capacity == 0 {
            return invalid("entities.mailbox_capacity", "must be at least 1");
        }
        if self.entities.idle_timeout_seconds == 0 {
            return invalid("entities.idle_timeout_seconds", "must be at least 1");
        }
        let device_paths = [
            ("ds50.sale_path", &self.ds50.sale_path),
            ("ds50.details_path", &self.ds50.details_path),
            ("pospal.notify_path", &self.pospal.notify_path),
        ];
        for (i, (key, path)) in device_paths.iter().enumerate() {
            if let Err(why) = check_device_path(path) {
                return invalid(key, why);
            }
            if device_paths[..i].iter().any(|(_, other)| other == path) {
                return invalid(key, "the same path as another endpoint");
            }
        }
        // The KTV uploads take every path below their context path.
        if let Err(why) = check_device_path(&self.ktv.upload_path) {
            return invalid("ktv.upload_path", why);
        }
        let context = format!("{}/", self.ktv.upload_path);
        if let Some((key, _)) = device_paths
            .iter()
            .find(|(_, path)| path.starts_with(&context) || **path == self.ktv.upload_path)
        {
            return invalid(key, "lies under ktv.upload_path");
        }
        if posgate_protocols::mqtt_pos::TopicPrefix::new(&self.mqtt.topic_prefix).is_err() {
            return invalid("mqtt.topic_prefix", "not a valid topic level");
        }
        if self.mqtt.embedded_broker
            && self
                .mqtt
                .embedded_listen
                .parse::<std::net::SocketAddr>()
                .is_err()
        {
            return invalid("mqtt.embedded_listen", "not a socket address (host:port)");
        }
        if !self.mqtt.client_id.is_empty() && !self.mqtt.shared_group.is_empty() {
            return invalid(
                "mqtt.client_id",
                "a persistent session is for a single replica: leave it empty with mqtt.shared_group",
            );
        }
        if self.mqtt.reconnect_backoff_max_seconds == 0 {
            return invalid("mqtt.reconnect_backoff_max_seconds", "must be at least 1");
        }
        if self.mqtt_debit_order().is_none() {
            return invalid(
                "mqtt.debit_order",
                "must list distinct money assets (subsidy, cash, purse)",
            );
        }
        if !(1024..=posgate_protocols::mqtt_pos::limits::COMMAND_PAYLOAD_BYTES_MAX)
            .contains(&self.mqtt.command_inline_bytes_max)
        {
            return invalid(
                "mqtt.command_inline_bytes_max",
                "must be within 1024..=262144",
            );
        }
        if self.mqtt.command_ack_timeout_seconds == 0 || self.mqtt.command_url_ttl_seconds == 0 {
            return invalid(
                "mqtt.command_ack_timeout_seconds",
                "command timeouts must be at least 1 second",
            );
        }
        if !(1..=86_400).contains(&self.mqtt.cancel_window_seconds) {
            return invalid("mqtt.cancel_window_seconds", "must be within 1..=86400");
        }
        if self.mqtt.device_offline_after_seconds <= 30 {
            return invalid(
                "mqtt.device_offline_after_seconds",
                "must be above 30 (last-seen times are written every 30 s)",
            );
        }
        if posgate_protocols::mqtt_pos::HttpUrl::new(&self.mqtt.public_base_url).is_err() {
            return invalid("mqtt.public_base_url", "must be an http(s) URL");
        }
        if posgate_protocols::ktv::AesMode::parse(&self.ktv.cipher_mode).is_none() {
            return invalid(
                "ktv.cipher_mode",
                "must be aes-128-ecb-pkcs7 or aes-128-cbc-pkcs7",
            );
        }
        if !(1024..=posgate_protocols::ktv::limits::UPLOAD_BODY_BYTES_MAX)
            .contains(&self.ktv.upload_body_bytes_max)
        {
            return invalid("ktv.upload_body_bytes_max", "must be within 1024..=8388608");
        }
        if posgate_protocols::ktv::Page::new(0, self.ktv.wj091_page_size).is_err() {
            return invalid("ktv.wj091_page_size", "must be within 1..=200");
        }
        if self.amqp.request_timeout_ms == 0 {
            return invalid("amqp.request_timeout_ms", "must be at least 1");
        }
        if self.amqp.reconnect_backoff_min_ms == 0
            || self.amqp.reconnect_backoff_max_ms < self.amqp.reconnect_backoff_min_ms
        {
            return invalid(
                "amqp.reconnect_backoff_min_ms",
                "must be at least 1 and at most amqp.reconnect_backoff_max_ms",
            );
        }
        if self.amqp.exchange.is_empty() {
            return invalid("amqp.exchange", "must name an exchange");
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return invalid("log.format", "must be text or json");
        }
        Ok(())
    }

    /// `mqtt.debit_order` as assets; `None` when it is not a list of distinct money assets.
    pub fn mqtt_debit_order(&self) -> Option<Vec<posgate_actors::ledger::Asset>> {
        let assets: Vec<_> = self
            .mqtt
            .debit_order
            .iter()
            .map(|name| posgate_actors::ledger::Asset::parse(name).filter(|a| a.is_money()))
            .collect::<Option<_>>()?;
        let distinct = assets
            .iter()
            .enumerate()
            .all(|(i, a)| !assets[..i].contains(a));
        (!assets.is_empty() && distinct).then_some(assets)
    }

    /// The settings table as text, for `--help`.
    pub fn settings_help() -> String {
        let defaults = flatten(&Config::default());
        let mut out = String::from(
            "SETTINGS (TOML file sections, or POSGATE_<SECTION>_<KEY> environment variables):\n",
        );
        for s in SETTINGS {
            let default = defaults
                .iter()
                .find(|(k, _)| k == s.key)
                .map_or(String::new(), |(_, v)| v.clone());
            out.push_str(&format!(
                "  {:<32} {:<40} default {}\n      {}\n",
                s.key,
                s.env_var(),
                if default.is_empty() {
                    "\"\"".into()
                } else {
                    default
                },
                s.help
            ));
        }
        out
    }
}

/// `(dotted key, value)` of every leaf of a configuration (secrets masked).
pub fn flatten(config: &Config) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    let value = serde_json::to_value(config).unwrap_or_default();
    walk("", &value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_table_names_every_setting() {
        let mut keys: Vec<String> = flatten(&Config::default())
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let mut documented: Vec<String> = SETTINGS.iter().map(|s| s.key.to_string()).collect();
        keys.sort();
        documented.sort();
        assert_eq!(keys, documented);
    }

    #[test]
    fn env_keys_map_to_sections() {
        assert_eq!(env_key("ADMIN_TOKEN").as_deref(), Some("admin.token"));
        assert_eq!(
            env_key("ACCOUNTS_BATCH_SIZE_MAX").as_deref(),
            Some("accounts.batch_size_max")
        );
        assert_eq!(env_key("REQUIRE_SERVICES"), None);
        assert_eq!(env_key("TEST_PG_URL"), None);
        // Every documented setting can be set from the environment.
        for setting in SETTINGS {
            let var = setting.env_var();
            let name = var.strip_prefix("POSGATE_").unwrap();
            assert_eq!(
                env_key(name).as_deref(),
                Some(setting.key),
                "{var} does not reach {}",
                setting.key
            );
        }
    }

    #[test]
    fn defaults_are_valid_and_rejections_name_the_key() {
        Config::default().validate().unwrap();
        type Mutation = Box<dyn Fn(&mut Config)>;
        let cases: Vec<(&str, Mutation)> = vec![
            (
                "http.listen",
                Box::new(|c| c.http.listen = "nowhere".into()),
            ),
            (
                "http.request_body_bytes_max",
                Box::new(|c| c.http.request_body_bytes_max = 10),
            ),
            ("database.pool_size", Box::new(|c| c.database.pool_size = 0)),
            (
                "database.acquire_timeout_ms",
                Box::new(|c| c.database.acquire_timeout_ms = 0),
            ),
            (
                "database.connect_timeout_ms",
                Box::new(|c| c.database.connect_timeout_ms = 1),
            ),
            (
                "database.tcp_user_timeout_ms",
                Box::new(|c| c.database.tcp_user_timeout_ms = 10_000_000),
            ),
            (
                "database.max_lifetime_seconds",
                Box::new(|c| c.database.max_lifetime_seconds = 1),
            ),
            (
                "database.idle_timeout_seconds",
                Box::new(|c| c.database.idle_timeout_seconds = 1),
            ),
            (
                "accounts.commit_resolve_seconds",
                Box::new(|c| c.accounts.commit_resolve_seconds = 100_000),
            ),
            (
                "admin.token",
                Box::new(|c| c.database.url = Secret::new("postgres://x/y".into())),
            ),
            (
                "admin.token",
                Box::new(|c| c.admin.token = Secret::new("short".into())),
            ),
            (
                "cards.hmac_key",
                Box::new(|c| c.cards.hmac_key = Secret::new("short".into())),
            ),
            (
                "cards.hmac_key",
                Box::new(|c| {
                    c.database.url = Secret::new("postgres://x/y".into());
                    c.admin.token = Secret::new("0123456789abcdef0123".into());
                }),
            ),
            (
                "ledger.utc_offset_minutes",
                Box::new(|c| c.ledger.utc_offset_minutes = 9999),
            ),
            (
                "accounts.batch_size_max",
                Box::new(|c| c.accounts.batch_size_max = 0),
            ),
            (
                "accounts.commit_wait_us",
                Box::new(|c| c.accounts.commit_wait_us = 5_000_000),
            ),
            (
                "accounts.mailbox_capacity",
                Box::new(|c| c.accounts.mailbox_capacity = 0),
            ),
            (
                "entities.mailbox_capacity",
                Box::new(|c| c.entities.mailbox_capacity = 0),
            ),
            (
                "entities.idle_timeout_seconds",
                Box::new(|c| c.entities.idle_timeout_seconds = 0),
            ),
            ("log.format", Box::new(|c| c.log.format = "xml".into())),
            (
                "ktv.cipher_mode",
                Box::new(|c| c.ktv.cipher_mode = "aes-128-cbc".into()),
            ),
            (
                "ktv.wj091_page_size",
                Box::new(|c| c.ktv.wj091_page_size = 500),
            ),
            (
                "amqp.request_timeout_ms",
                Box::new(|c| c.amqp.request_timeout_ms = 0),
            ),
            (
                "mqtt.topic_prefix",
                Box::new(|c| c.mqtt.topic_prefix = "a/b".into()),
            ),
            (
                "mqtt.embedded_listen",
                Box::new(|c| c.mqtt.embedded_listen = "x".into()),
            ),
            (
                "mqtt.client_id",
                Box::new(|c| {
                    c.mqtt.client_id = "replica-a".into();
                    c.mqtt.shared_group = "posgate".into();
                }),
            ),
            (
                "mqtt.reconnect_backoff_max_seconds",
                Box::new(|c| c.mqtt.reconnect_backoff_max_seconds = 0),
            ),
            (
                "mqtt.debit_order",
                Box::new(|c| c.mqtt.debit_order = vec!["copies".into()]),
            ),
            (
                "mqtt.debit_order",
                Box::new(|c| c.mqtt.debit_order = vec!["cash".into(), "cash".into()]),
            ),
            (
                "jpos.verify_code_ttl_seconds",
                Box::new(|c| c.jpos.verify_code_ttl_seconds = 100_000),
            ),
            (
                "jpos.verify_code_attempts_max",
                Box::new(|c| c.jpos.verify_code_attempts_max = 0),
            ),
            (
                "jpos.verify_code_sends_per_hour_max",
                Box::new(|c| c.jpos.verify_code_sends_per_hour_max = 0),
            ),
            (
                "jpos.sms_webhook_url",
                Box::new(|c| c.jpos.sms_webhook_url = Secret::new("ftp://sms.example".into())),
            ),
            (
                "jpos.verify_code_sends_per_terminal_hour_max",
                Box::new(|c| c.jpos.verify_code_sends_per_terminal_hour_max = 0),
            ),
            (
                "jpos.verify_code_sends_per_hour_total_max",
                Box::new(|c| c.jpos.verify_code_sends_per_hour_total_max = 0),
            ),
            (
                "jpos.pending_resolve_after_seconds",
                Box::new(|c| c.jpos.pending_resolve_after_seconds = 0),
            ),
            (
                "jpos.pending_resolve_after_seconds",
                Box::new(|c| c.jpos.pending_resolve_after_seconds = 3601),
            ),
        ];
        for (key, mutate) in cases {
            let mut c = Config::default();
            mutate(&mut c);
            match c.validate() {
                Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{key}: expected rejection, got {other:?}"),
            }
        }
    }

    #[test]
    fn file_and_environment_layer_over_defaults() {
        let dir = std::env::temp_dir().join(format!("posgate-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("posgate.toml");
        std::fs::write(
            &path,
            "[accounts]\nbatch_size_max = 77\n[log]\nformat = \"json\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&path)).unwrap();
        assert_eq!(c.accounts.batch_size_max, 77);
        assert_eq!(c.log.format, "json");
        assert_eq!(c.http.listen, "127.0.0.1:8080");
        std::fs::write(&path, "[accounts]\nbatch_sise_max = 77\n").unwrap();
        assert!(
            Config::load(Some(&path)).is_err(),
            "unknown keys are refused"
        );
        assert!(Config::load(Some(&dir.join("missing.toml"))).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn secrets_never_print() {
        let mut c = Config::default();
        c.admin.token = Secret::new("very-secret-admin-token".into());
        c.database.url = Secret::new("postgres://u:pw@h/db".into());
        let shown = format!("{c:?} {}", serde_json::to_string(&c).unwrap());
        assert!(!shown.contains("very-secret") && !shown.contains("pw@"));
    }
}
