//! Test support shared by the crates' test suites: finding the external services with the
//! skip/require policy, and scratch databases.
//!
//! A test that needs PostgreSQL (or RabbitMQ, or an external MQTT broker) asks for it here.
//! When the service is unreachable the test prints a notice and skips, unless
//! `POSGATE_REQUIRE_SERVICES=1` is set (as CI does), in which case it fails.

use crate::store::Store;

/// Whether unreachable services fail tests instead of skipping them.
pub fn services_required() -> bool {
    std::env::var("POSGATE_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Reports an unreachable service: panics when services are required, otherwise prints a
/// notice; returns `None` so the caller can skip.
pub fn unavailable<T>(service: &str, why: &str) -> Option<T> {
    if services_required() {
        panic!("{service} is required (POSGATE_REQUIRE_SERVICES=1) but unreachable: {why}");
    }
    eprintln!("NOTICE: skipping, {service} unreachable: {why}");
    None
}

/// The PostgreSQL server URL for tests (`POSGATE_TEST_PG_URL`, default the local server).
pub fn pg_server_url() -> String {
    std::env::var("POSGATE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// Prefix of scratch database names; a timestamp follows so stale ones can be dropped.
const SCRATCH_PREFIX: &str = "posgate_test_";

/// Scratch databases older than this are dropped when a new one is made.
const SCRATCH_STALE_SECONDS: i64 = 3600;

/// The URL of this test process's scratch PostgreSQL database: created (and migrated) once
/// per process, shared by its tests (each test uses its own merchants and keys). `None`,
/// after the skip/require policy, when PostgreSQL is unreachable.
pub fn scratch_pg_url() -> Option<String> {
    static URL: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    let url = URL.get_or_init(|| {
        // Made on a runtime of its own: the caller's runtime may end with its test.
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?
                .block_on(create_scratch())
        })
        .join()
        .map_err(|_| "scratch database thread panicked".to_string())?
    });
    match url {
        Ok(url) => Some(url.clone()),
        Err(why) => unavailable("PostgreSQL", why),
    }
}

/// The URL of a new scratch PostgreSQL database (migrated) of the caller's own, for a test
/// that acts as the database operator on it (refusing connections, killing sessions,
/// editing the migrations table) while other tests of the process run. `None`, after the
/// skip/require policy, when PostgreSQL is unreachable.
pub async fn own_scratch_pg_url() -> Option<String> {
    match create_scratch().await {
        Ok(url) => Some(url),
        Err(why) => unavailable("PostgreSQL", &why),
    }
}

async fn create_scratch() -> Result<String, String> {
    let server = pg_server_url();
    let (client, connection) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(connection);
    let now = chrono::Utc::now().timestamp();
    let stale = client
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'posgate_test_%'",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    for row in stale {
        let name: String = row.get(0);
        let born = name
            .trim_start_matches(SCRATCH_PREFIX)
            .split('_')
            .next()
            .and_then(|t| t.parse::<i64>().ok());
        if born.is_some_and(|t| now - t > SCRATCH_STALE_SECONDS) {
            // Best effort: another run may be using or dropping it.
            let _ = client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
    let name = format!(
        "{SCRATCH_PREFIX}{now}_{}_{}",
        std::process::id(),
        rand::random::<u32>()
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .map_err(|e| e.to_string())?;
    drop(client);
    let _ = driver.await;
    let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
    let url = format!("{base}/{name}");
    let store = Store::postgres(&url, &crate::store::PgOptions::with_pool_size(1))
        .await
        .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    Ok(url)
}

/// Runs `sql` on the PostgreSQL server's maintenance database (as the server URL's user):
/// for tests that act as the database operator (e.g. refusing connections to a database).
pub async fn pg_server_execute(sql: &str) -> Result<(), String> {
    let (client, connection) = tokio_postgres::connect(&pg_server_url(), tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(connection);
    let result = client.batch_execute(sql).await.map_err(|e| e.to_string());
    drop(client);
    let _ = driver.await;
    result
}

/// SQL that terminates every session of `database` but the caller's (run it with
/// [`pg_server_execute`]).
pub fn pg_terminate_sessions_sql(database: &str) -> String {
    format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}' \
         AND pid <> pg_backend_pid();"
    )
}

/// Lets connections to `database` in again, or refuses them and cuts the open ones (a
/// database outage as an operator makes one). Panics when the server refuses the change.
pub async fn pg_allow_connections(database: &str, allowed: bool) {
    let mut sql = format!("ALTER DATABASE {database} ALLOW_CONNECTIONS {allowed};");
    if !allowed {
        sql.push_str(&pg_terminate_sessions_sql(database));
    }
    pg_server_execute(&sql)
        .await
        .expect("change database connection rights");
}

/// The database name of a PostgreSQL URL (the part after the last `/`).
pub fn pg_database_name(url: &str) -> &str {
    url.rsplit_once('/').map_or(url, |(_, name)| name)
}

/// A store on this process's scratch PostgreSQL database, or `None` when unreachable.
pub async fn pg_store() -> Option<Store> {
    let url = scratch_pg_url()?;
    Some(
        Store::postgres(&url, &crate::store::PgOptions::with_pool_size(8))
            .await
            .expect("connect scratch database"),
    )
}

/// A migrated in-memory SQLite store.
pub async fn sqlite_store() -> Store {
    let store = Store::sqlite(":memory:").expect("open in-memory sqlite");
    store.migrate().await.expect("migrate sqlite");
    store
}

/// A unique suffix for merchant codes and keys in tests sharing a database.
pub fn unique(tag: &str) -> String {
    format!("{tag}-{}-{}", std::process::id(), rand::random::<u64>())
}
