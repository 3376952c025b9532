//! Wiring: builds the store, the accounts shards, the entity registries and the HTTP
//! server from a [`Config`], runs them, and shuts them down in order.

use crate::amqp::RpcClient;
use crate::config::Config;
use crate::http;
use crate::ktv::wj091::Wj091Client;
use crate::mqtt::adapter::MqttAdapter;
use crate::secret::Secret;
use crate::telemetry;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use chrono::{NaiveDate, Utc};
use metrics_exporter_prometheus::PrometheusHandle;
use posgate_actors::accounts::Accounts;
use posgate_actors::cards::CardKey;
use posgate_actors::entity::{
    EntityArbiters, EntityDeps, MerchantActor, ProtocolSettings, Registry, TerminalActor,
    VenueActor,
};
use posgate_actors::store::Store;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// Everything the adapters share; handed to actix-web as app data.
pub struct Gateway {
    /// Effective configuration.
    pub config: Config,
    /// Ledger store.
    pub store: Store,
    /// Accounts shards.
    pub accounts: Accounts,
    /// Terminal actors.
    pub terminals: Registry<TerminalActor>,
    /// Merchant actors.
    pub merchants: Registry<MerchantActor>,
    /// Venue actors.
    pub venues: Registry<VenueActor>,
    /// Card index key.
    pub card_key: CardKey,
    /// Prometheus handle.
    pub metrics: PrometheusHandle,
    /// The MQTT adapter, when `mqtt.enabled`.
    pub mqtt: Option<MqttAdapter>,
    /// Sends jpos SMS verification codes.
    pub sms: Arc<dyn crate::sms::SmsSender>,
    /// The WJ091 client, when `amqp.url` is set.
    pub wj091: Option<Wj091Client>,
    /// Key-encryption key of the stored KTV venue keys (derived from the card key).
    pub ktv_kek: posgate_protocols::ktv::AesKey,
    /// The key that encrypts the stored Pospal appKeys.
    pub pospal_kek: posgate_protocols::pospal::KeyEncryptionKey,
    /// The key that seals the jpos working keys kept from each check-in (derived from the
    /// card key).
    pub jpos_kek: posgate_protocols::sealed::KeyEncryptionKey,
    /// How many refused Pospal requests are kept a minute.
    pub pospal_refusals: posgate_actors::store::intake::RefusalBudget,
    /// Cipher mode of sealed KTV uploads (`ktv.cipher_mode`).
    pub ktv_mode: posgate_protocols::ktv::AesMode,
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Store unreachable or migration failed.
    #[error("database: {0}")]
    Store(#[from] posgate_actors::store::StoreError),
    /// Socket or file I/O.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Gateway {
    /// The business date now, at the configured UTC offset.
    pub fn business_date(&self) -> NaiveDate {
        posgate_actors::ledger::business_date(self.config.ledger.utc_offset_minutes, Utc::now())
    }
}

/// Opens the configured store and applies pending migrations.
pub async fn open_store(config: &Config) -> Result<Store, StartError> {
    let store = if config.database.is_postgres() {
        Store::postgres(config.database.url.expose(), &config.database.pg_options()).await?
    } else {
        Store::sqlite(&config.database.sqlite_path)?
    };
    let applied = store.migrate().await?;
    if !applied.is_empty() {
        tracing::info!(
            backend = store.backend_name(),
            ?applied,
            "migrations applied"
        );
    }
    Ok(store)
}

/// The card key: configured, or (SQLite mode) read from / created in a key file beside the
/// database, readable by its owner only.
fn card_key(config: &Config) -> Result<CardKey, StartError> {
    if !config.cards.hmac_key.expose().is_empty() {
        return Ok(CardKey::new(
            config.cards.hmac_key.expose().as_bytes().to_vec(),
        ));
    }
    let path = format!("{}.cardkey", config.database.sqlite_path);
    if config.database.sqlite_path == ":memory:" {
        return Ok(CardKey::new(rand::random::<[u8; 32]>().to_vec()));
    }
    if Path::new(&path).exists() {
        let hexed = std::fs::read_to_string(&path)?;
        let bytes = hex::decode(hexed.trim()).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{path} is not hex"),
            )
        })?;
        return Ok(CardKey::new(bytes));
    }
    let bytes: [u8; 32] = rand::random();
    write_private(&path, &hex::encode(bytes))?;
    tracing::info!(path, "created card index key file");
    Ok(CardKey::new(bytes.to_vec()))
}

fn write_private(path: &str, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

/// The key that wraps the stored KTV venue keys: derived from the card key, so that the
/// database alone never reveals a venue key.
fn ktv_kek(card_key: &CardKey) -> posgate_protocols::ktv::AesKey {
    let bytes = card_key.derive("ktv venue keys");
    let mut kek = [0u8; 16];
    kek.copy_from_slice(&bytes[..16]);
    posgate_protocols::ktv::AesKey::from_bytes(kek)
}

/// The key that encrypts the stored Pospal appKeys: configured (validated with the rest of
/// the configuration), or derived from the card key like the KTV venue keys' one.
fn pospal_kek(config: &Config, card_key: &CardKey) -> posgate_protocols::pospal::KeyEncryptionKey {
    use posgate_protocols::pospal::KeyEncryptionKey;
    KeyEncryptionKey::from_hex(config.pospal.key_encryption_key.expose())
        .unwrap_or_else(|| KeyEncryptionKey::from_bytes(card_key.derive("pospal app keys")))
}

/// The key that seals the jpos working keys: derived from the card key, like the KTV
/// venue keys' one.
fn jpos_kek(card_key: &CardKey) -> posgate_protocols::sealed::KeyEncryptionKey {
    posgate_protocols::sealed::KeyEncryptionKey::from_bytes(card_key.derive("jpos working keys"))
}

/// The admin token: configured, or generated and printed once (SQLite mode; validation
/// refuses PostgreSQL mode without one).
fn admin_token(config: &Config) -> Secret<String> {
    if !config.admin.token.expose().is_empty() {
        return config.admin.token.clone();
    }
    let token = hex::encode(rand::random::<[u8; 24]>());
    // Printed on stdout for the operator, never through the logger.
    println!("posgate admin token (generated, valid until restart): {token}");
    Secret::new(token)
}

/// A started gateway: the HTTP server runs on the current actix system.
pub struct Running {
    /// Address the HTTP server is bound to.
    pub addr: SocketAddr,
    /// The shared state.
    pub gateway: web::Data<Gateway>,
    handle: actix_web::dev::ServerHandle,
    server: actix_rt::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Runs until SIGTERM or SIGINT (or until the HTTP server stops by itself), then shuts
    /// down in order, as [`Running::stop`] does; a second signal ends the shutdown at once
    /// (an error: the process exits 1).
    pub async fn wait(mut self) -> std::io::Result<()> {
        tokio::select! {
            result = &mut self.server => {
                tracing::warn!("HTTP server stopped by itself; stopping");
                self.gateway.stop_mqtt().await;
                self.drain().await;
                return result.unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
            }
            signal = shutdown_signal() => tracing::info!(signal, "stopping"),
        }
        tokio::select! {
            result = self.shutdown() => result,
            signal = shutdown_signal() => {
                tracing::warn!(signal, "second signal: exiting without finishing the shutdown");
                Err(std::io::Error::other("interrupted while shutting down"))
            }
        }
    }

    /// Stops gracefully, within `http.shutdown_timeout_seconds`: the HTTP server takes no
    /// new connections and lets its requests finish while the MQTT adapter takes no new
    /// device messages, answers and acknowledges the ones in flight and disconnects; then
    /// the accounts shards commit what they have queued.
    pub async fn stop(self) {
        // A stopped server's result carries nothing worth reporting here.
        let _ = self.shutdown().await;
    }

    async fn shutdown(mut self) -> std::io::Result<()> {
        let http = async {
            self.handle.stop(true).await;
            (&mut self.server)
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
        };
        let (result, ()) = futures::join!(http, self.gateway.stop_mqtt());
        tracing::info!("HTTP server and MQTT adapter stopped");
        self.drain().await;
        result
    }

    async fn drain(&self) {
        tracing::info!("draining ledger batches");
        self.gateway.accounts.drain().await;
        tracing::info!("drained");
    }
}

impl Gateway {
    /// Stops the MQTT adapter (if any) within the HTTP shutdown timeout.
    async fn stop_mqtt(&self) {
        let Some(mqtt) = &self.mqtt else { return };
        let within = std::time::Duration::from_secs(self.config.http.shutdown_timeout_seconds);
        if !mqtt.stop(within).await {
            tracing::warn!(
                ?within,
                "MQTT messages still in flight at the shutdown timeout"
            );
        }
    }
}

/// Waits for SIGTERM or SIGINT; returns its name.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => return "SIGTERM",
                _ = tokio::signal::ctrl_c() => return "SIGINT",
            },
            Err(e) => tracing::error!(error = %e, "cannot listen for SIGTERM"),
        }
    }
    // Without a handler the process could not be stopped gracefully: wait for SIGINT.
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::error!(error = %e, "cannot listen for SIGINT");
        std::future::pending::<()>().await;
    }
    "SIGINT"
}

/// Builds everything and starts the HTTP server; the caller awaits [`Running::wait`].
/// Must run inside an actix system.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let metrics = telemetry::metrics_handle();
    let store = open_store(&config).await?;
    let card_key = card_key(&config)?;
    let token = admin_token(&config);
    let accounts = Accounts::start(store.clone(), config.accounts.clone());
    let deps = entity_deps(&config, &store, &accounts);
    let arbiters = EntityArbiters::start(config.entities.arbiters);
    let terminals = Registry::new(deps.clone(), config.entities.clone(), arbiters.clone());
    let mqtt = start_mqtt(&config, &deps, &terminals)?;
    let wj091 = if config.amqp.enabled() {
        Some(Wj091Client::new(RpcClient::start(&config.amqp)))
    } else {
        tracing::info!("WJ091 disabled: set amqp.url to a RabbitMQ broker to pull venue data");
        None
    };
    let merchants: Registry<MerchantActor> =
        Registry::new(deps.clone(), config.entities.clone(), arbiters.clone());
    // The one place the slot is filled, before any posting can be announced.
    let _ = deps.merchants.set(merchants.downgrade());
    let ktv_kek = ktv_kek(&card_key);
    let pospal_kek = pospal_kek(&config, &card_key);
    crate::http::pospal::seal_clear_keys(&store, &pospal_kek).await?;
    let gateway = web::Data::new(Gateway {
        wj091,
        ktv_kek,
        pospal_kek,
        jpos_kek: jpos_kek(&card_key),
        pospal_refusals: posgate_actors::store::intake::RefusalBudget::new(
            crate::http::pospal::REFUSALS_KEPT_PER_MINUTE,
        ),
        // Validated with the rest of the configuration.
        ktv_mode: posgate_protocols::ktv::AesMode::parse(&config.ktv.cipher_mode)
            .unwrap_or_default(),
        terminals,
        mqtt,
        merchants,
        venues: Registry::new(deps, config.entities.clone(), arbiters),
        config: config.clone(),
        store,
        accounts,
        card_key,
        metrics,
        sms: crate::sms::from_config(
            config.jpos.sms_webhook_url.expose(),
            &config.jpos.sms_dev_sink_path,
        )
        .map_err(|e| StartError::Io(std::io::Error::other(format!("SMS: {e}"))))?,
    });
    spawn_background_jobs(&gateway);
    serve(gateway, token)
}

/// What the entity actors share: the store, the accounts shards and the protocol rules
/// (the publisher and merchant slots are filled once those exist).
fn entity_deps(config: &Config, store: &Store, accounts: &Accounts) -> EntityDeps {
    let settings = ProtocolSettings {
        // Validated with the rest of the configuration.
        mqtt_debit_order: config.mqtt_debit_order().unwrap_or_default(),
        utc_offset_minutes: config.ledger.utc_offset_minutes,
        mqtt_cancel_window_seconds: config.mqtt.cancel_window_seconds,
    };
    EntityDeps {
        store: store.clone(),
        accounts: accounts.clone(),
        settings: Arc::new(settings),
        publisher: Default::default(),
        merchants: Default::default(),
    }
}

/// Starts the MQTT adapter when `mqtt.enabled`, and makes it the entities' publisher.
fn start_mqtt(
    config: &Config,
    deps: &EntityDeps,
    terminals: &Registry<TerminalActor>,
) -> Result<Option<MqttAdapter>, StartError> {
    if !config.mqtt.enabled {
        return Ok(None);
    }
    let adapter = MqttAdapter::start(&config.mqtt, terminals.clone())
        .map_err(|e| StartError::Io(std::io::Error::other(format!("MQTT: {e}"))))?;
    // The one place the slot is filled, before any command can be sent.
    let _ = deps.publisher.set(Arc::new(adapter.clone()));
    Ok(Some(adapter))
}

/// The gateway's own background work: the KTV backfill (with WJ091), the jpos pending
/// sweeper and, on PostgreSQL, the change feed.
fn spawn_background_jobs(gateway: &web::Data<Gateway>) {
    if gateway.config.ktv.backfill_interval_seconds > 0 && gateway.wj091.is_some() {
        actix_rt::spawn(crate::ktv::backfill::schedule(gateway.clone()));
    }
    actix_rt::spawn(crate::jpos_sweeper::schedule(gateway.clone()));
    if gateway.store.backend_name() == "postgres" {
        actix_rt::spawn(crate::change_feed::follow(gateway.clone()));
    }
}

/// Binds the HTTP server and starts it on the current actix system.
fn serve(gateway: web::Data<Gateway>, token: Secret<String>) -> Result<Running, StartError> {
    let config = &gateway.config;
    let data = gateway.clone();
    let token = web::Data::new(http::auth::AdminToken(token));
    let probes = web::Data::new(http::card_probes::CardProbes::new(
        config.jpos.card_probes_per_terminal_minute_max,
    ));
    let limits = web::Data::new(http::limits::AdminLimits::new(
        config.admin.requests_per_minute,
        config.admin.console_logins_per_minute,
    ));
    let limit = config.http.request_body_bytes_max;
    let routes = config.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(token.clone())
            .app_data(limits.clone())
            .app_data(probes.clone())
            .app_data(http::json::BodyLimit(limit))
            .app_data(web::PayloadConfig::new(limit))
            .wrap(from_fn(http::record_metrics))
            .configure(|cfg| http::configure(cfg, &routes))
    })
    .shutdown_timeout(config.http.shutdown_timeout_seconds)
    // Running::wait handles the signals: the MQTT adapter stops with the HTTP server.
    .disable_signals()
    .bind(&config.http.listen)?;
    if config.http.workers > 0 {
        server = server.workers(config.http.workers);
    }
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("no listening address"))?;
    tracing::info!(
        %addr,
        database = gateway.store.backend_name(),
        shards = gateway.accounts.shard_count(),
        "posgate listening"
    );
    let server = server.run();
    let handle = server.handle();
    Ok(Running {
        addr,
        gateway,
        handle,
        server: actix_rt::spawn(server),
    })
}
