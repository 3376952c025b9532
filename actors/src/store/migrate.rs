//! Schema migrations: the SQL files of `sql/postgres/` and `sql/sqlite/`, embedded in the
//! binary and applied in version order, each in its own transaction, with the applied
//! versions recorded in `schema_migrations`. On PostgreSQL a transaction-scoped advisory
//! lock makes replicas that start together apply each migration once.

use super::sql::{Db, Dialect, StoreError};

/// One migration: version, name, SQL for each backend.
pub struct Migration {
    /// Version number, increasing; never reused.
    pub version: i64,
    /// Short name.
    pub name: &'static str,
    /// PostgreSQL script.
    pub postgres: &'static str,
    /// SQLite script.
    pub sqlite: &'static str,
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "ledger",
        postgres: include_str!("../../../sql/postgres/0001_ledger.sql"),
        sqlite: include_str!("../../../sql/sqlite/0001_ledger.sql"),
    },
    Migration {
        version: 2,
        name: "terminal_presence",
        postgres: include_str!("../../../sql/postgres/0002_terminal_presence.sql"),
        sqlite: include_str!("../../../sql/sqlite/0002_terminal_presence.sql"),
    },
    Migration {
        version: 3,
        name: "mqtt_uploads",
        postgres: include_str!("../../../sql/postgres/0003_mqtt_uploads.sql"),
        sqlite: include_str!("../../../sql/sqlite/0003_mqtt_uploads.sql"),
    },
    Migration {
        version: 4,
        name: "device_commands",
        postgres: include_str!("../../../sql/postgres/0004_device_commands.sql"),
        sqlite: include_str!("../../../sql/sqlite/0004_device_commands.sql"),
    },
    Migration {
        version: 5,
        name: "ds50",
        postgres: include_str!("../../../sql/postgres/0005_ds50.sql"),
        sqlite: include_str!("../../../sql/sqlite/0005_ds50.sql"),
    },
    Migration {
        version: 6,
        name: "jpos",
        postgres: include_str!("../../../sql/postgres/0006_jpos.sql"),
        sqlite: include_str!("../../../sql/sqlite/0006_jpos.sql"),
    },
    Migration {
        version: 7,
        name: "ktv",
        postgres: include_str!("../../../sql/postgres/0007_ktv.sql"),
        sqlite: include_str!("../../../sql/sqlite/0007_ktv.sql"),
    },
    Migration {
        version: 8,
        name: "pospal",
        postgres: include_str!("../../../sql/postgres/0008_pospal.sql"),
        sqlite: include_str!("../../../sql/sqlite/0008_pospal.sql"),
    },
    Migration {
        version: 9,
        name: "ds50_topic",
        postgres: include_str!("../../../sql/postgres/0009_ds50_topic.sql"),
        sqlite: include_str!("../../../sql/sqlite/0009_ds50_topic.sql"),
    },
    Migration {
        version: 10,
        name: "ktv_backfill_claims",
        postgres: include_str!("../../../sql/postgres/0010_ktv_backfill_claims.sql"),
        sqlite: include_str!("../../../sql/sqlite/0010_ktv_backfill_claims.sql"),
    },
    Migration {
        version: 11,
        name: "ds50_merchant_keys",
        postgres: include_str!("../../../sql/postgres/0011_ds50_merchant_keys.sql"),
        sqlite: include_str!("../../../sql/sqlite/0011_ds50_merchant_keys.sql"),
    },
    Migration {
        version: 12,
        name: "mqtt_money_edges",
        postgres: include_str!("../../../sql/postgres/0012_mqtt_money_edges.sql"),
        sqlite: include_str!("../../../sql/sqlite/0012_mqtt_money_edges.sql"),
    },
    Migration {
        version: 13,
        name: "jpos_pending_and_claims",
        postgres: include_str!("../../../sql/postgres/0013_jpos_pending_and_claims.sql"),
        sqlite: include_str!("../../../sql/sqlite/0013_jpos_pending_and_claims.sql"),
    },
    Migration {
        version: 14,
        name: "ds50_mqtt_credentials",
        postgres: include_str!("../../../sql/postgres/0014_ds50_mqtt_credentials.sql"),
        sqlite: include_str!("../../../sql/sqlite/0014_ds50_mqtt_credentials.sql"),
    },
    Migration {
        version: 15,
        name: "command_document_retries",
        postgres: include_str!("../../../sql/postgres/0015_command_document_retries.sql"),
        sqlite: include_str!("../../../sql/sqlite/0015_command_document_retries.sql"),
    },
    Migration {
        version: 16,
        name: "partner_intake",
        postgres: include_str!("../../../sql/postgres/0016_partner_intake.sql"),
        sqlite: include_str!("../../../sql/sqlite/0016_partner_intake.sql"),
    },
    Migration {
        version: 17,
        name: "ktv_completeness",
        postgres: include_str!("../../../sql/postgres/0017_ktv_completeness.sql"),
        sqlite: include_str!("../../../sql/sqlite/0017_ktv_completeness.sql"),
    },
    Migration {
        version: 18,
        name: "ktv_member_income",
        postgres: include_str!("../../../sql/postgres/0018_ktv_member_income.sql"),
        sqlite: include_str!("../../../sql/sqlite/0018_ktv_member_income.sql"),
    },
    Migration {
        version: 19,
        name: "change_feed",
        postgres: include_str!("../../../sql/postgres/0019_change_feed.sql"),
        sqlite: include_str!("../../../sql/sqlite/0019_change_feed.sql"),
    },
    Migration {
        version: 20,
        name: "payment_announcements",
        postgres: include_str!("../../../sql/postgres/0020_payment_announcements.sql"),
        sqlite: include_str!("../../../sql/sqlite/0020_payment_announcements.sql"),
    },
    Migration {
        version: 21,
        name: "admin_access",
        postgres: include_str!("../../../sql/postgres/0021_admin_access.sql"),
        sqlite: include_str!("../../../sql/sqlite/0021_admin_access.sql"),
    },
    Migration {
        version: 22,
        name: "jpos_card_security",
        postgres: include_str!("../../../sql/postgres/0022_jpos_card_security.sql"),
        sqlite: include_str!("../../../sql/sqlite/0022_jpos_card_security.sql"),
    },
];

/// Advisory lock id for migrations ("posgate" in ASCII).
const MIGRATION_LOCK_ID: i64 = 0x0070_6f73_6761_7465;

/// Creates the versions table if needed; returns the versions already applied.
pub async fn applied_versions(db: &dyn Db) -> Result<Vec<i64>, StoreError> {
    db.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, \
         name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)",
    )
    .await?;
    db.query(
        "SELECT version FROM schema_migrations ORDER BY version",
        &[],
    )
    .await?
    .iter()
    .map(|r| r.i64(0))
    .collect()
}

/// Applies `migration` inside the caller's transaction unless it is already applied;
/// returns whether it was applied now.
pub async fn apply(db: &dyn Db, migration: &Migration, now_ms: i64) -> Result<bool, StoreError> {
    if db.dialect() == Dialect::Postgres {
        db.query(
            "SELECT pg_advisory_xact_lock($1)::text",
            &[MIGRATION_LOCK_ID.into()],
        )
        .await?;
    }
    if applied_versions(db).await?.contains(&migration.version) {
        return Ok(false);
    }
    db.batch(match db.dialect() {
        Dialect::Postgres => migration.postgres,
        Dialect::Sqlite => migration.sqlite,
    })
    .await?;
    db.execute(
        "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)",
        &[
            migration.version.into(),
            migration.name.into(),
            now_ms.into(),
        ],
    )
    .await?;
    Ok(true)
}
