//! Entity actors: spawned on first message with their state loaded from the store, stopped
//! after the idle time and reloaded afresh, refusing what their state forbids, and answering
//! "busy" at once when their mailbox is full.

use chrono::NaiveDate;
use posgate_actors::accounts::{Accounts, AccountsConfig};
use posgate_actors::entity::{
    EntityArbiters, EntityConfig, EntityDeps, EntityError, Info, MerchantActor, MerchantPost,
    Registry, Reload, TerminalActor, TerminalPost, TerminalState, VenueActor, VenueRecord,
};
use posgate_actors::ledger::{Asset, Operation, PostRequest};
use posgate_actors::model::{MerchantStatus, TerminalFamily, TerminalStatus};
use posgate_actors::store::{catalog, now_ms, Store};
use posgate_actors::testing;
use std::time::Duration;

struct World {
    store: Store,
    deps: EntityDeps,
    merchant: i64,
    terminal_code: String,
}

async fn world() -> World {
    let store = testing::sqlite_store().await;
    let accounts = Accounts::start(
        store.clone(),
        AccountsConfig {
            shards: 1,
            ..Default::default()
        },
    );
    let code = testing::unique("dev");
    let c = code.clone();
    let merchant = store
        .transaction(move |db| {
            Box::pin(async move {
                let m = catalog::create_merchant(db, "m1", "Canteen", now_ms()).await?;
                catalog::create_terminal(db, TerminalFamily::MqttPos, &c, m.id, "W1", now_ms())
                    .await?;
                catalog::create_venue(db, "KTV001", m.id, "Star", now_ms()).await?;
                Ok(m.id)
            })
        })
        .await
        .unwrap();
    World {
        deps: EntityDeps {
            store: store.clone(),
            accounts,
            settings: Default::default(),
            publisher: Default::default(),
            merchants: Default::default(),
        },
        store,
        merchant,
        terminal_code: code,
    }
}

fn config(idle_seconds: u64, mailbox: usize) -> EntityConfig {
    EntityConfig {
        idle_timeout_seconds: idle_seconds,
        mailbox_capacity: mailbox,
        arbiters: 1,
    }
}

fn credit(key: &str, account: i64, amount: i64) -> PostRequest {
    PostRequest {
        idempotency_key: key.into(),
        account_id: account,
        terminal: None,
        business_date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
        op: Operation::Credit {
            asset: Asset::Cash,
            amount,
        },
        device_fields: Default::default(),
    }
}

#[actix_rt::test]
async fn spawned_on_demand_passivated_when_idle_and_reloaded() {
    let w = world().await;
    let terminals: Registry<TerminalActor> =
        Registry::new(w.deps.clone(), config(1, 16), EntityArbiters::start(1));
    let key = TerminalActor::key(TerminalFamily::MqttPos, &w.terminal_code);
    assert_eq!(terminals.live(), 0);
    let state: TerminalState = terminals.call(&key, Info).await.unwrap();
    assert_eq!(state.terminal.code, w.terminal_code);
    assert!(state.merchant_active);
    assert_eq!(terminals.live(), 1);
    // Unknown terminals get an actor too, which answers NotFound.
    let missing: Result<TerminalState, _> = terminals.call("mqtt:nope", Info).await;
    assert_eq!(missing.unwrap_err(), EntityError::NotFound);
    // Change the store behind the actor's back: the cached state is stale until the actor
    // is passivated and respawned...
    let code = w.terminal_code.clone();
    w.store
        .transaction(move |db| {
            Box::pin(async move {
                let t = catalog::find_terminal(db, TerminalFamily::MqttPos, &code)
                    .await?
                    .unwrap();
                catalog::update_terminal(db, t.id, None, Some(TerminalStatus::Disabled), now_ms())
                    .await
            })
        })
        .await
        .unwrap();
    let cached: TerminalState = terminals.call(&key, Info).await.unwrap();
    assert_eq!(cached.terminal.status, TerminalStatus::Active);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(terminals.live(), 0, "idle actors stop");
    let fresh: TerminalState = terminals.call(&key, Info).await.unwrap();
    assert_eq!(fresh.terminal.status, TerminalStatus::Disabled);
    // ...or told to reload.
    let code = w.terminal_code.clone();
    w.store
        .transaction(move |db| {
            Box::pin(async move {
                let t = catalog::find_terminal(db, TerminalFamily::MqttPos, &code)
                    .await?
                    .unwrap();
                catalog::update_terminal(db, t.id, None, Some(TerminalStatus::Active), now_ms())
                    .await
            })
        })
        .await
        .unwrap();
    terminals.call(&key, Reload).await.unwrap();
    let reloaded: TerminalState = terminals.call(&key, Info).await.unwrap();
    assert_eq!(reloaded.terminal.status, TerminalStatus::Active);
}

#[actix_rt::test]
async fn terminals_and_merchants_refuse_what_their_state_forbids() {
    let w = world().await;
    let arbiters = EntityArbiters::start(1);
    let terminals: Registry<TerminalActor> =
        Registry::new(w.deps.clone(), config(60, 16), arbiters.clone());
    let merchants: Registry<MerchantActor> =
        Registry::new(w.deps.clone(), config(60, 16), arbiters.clone());
    let venues: Registry<VenueActor> = Registry::new(w.deps.clone(), config(60, 16), arbiters);
    let m = w.merchant;
    let (account, foreign) = w
        .store
        .transaction(move |db| {
            Box::pin(async move {
                let a = catalog::create_account(db, m, "u1", "", None, now_ms()).await?;
                let other = catalog::create_merchant(db, "m2", "Other", now_ms()).await?;
                let b = catalog::create_account(db, other.id, "u1", "", None, now_ms()).await?;
                Ok((a.id, b.id))
            })
        })
        .await
        .unwrap();
    let key = m.to_string();
    let out = merchants
        .call(&key, MerchantPost(credit("k1", account, 500)))
        .await
        .unwrap();
    assert_eq!(out.balances.cash, 500);
    // Another merchant's account is not this merchant's to post to.
    let err = merchants
        .call(&key, MerchantPost(credit("k2", foreign, 1)))
        .await
        .unwrap_err();
    assert_eq!(err, EntityError::Foreign);
    // A terminal stamps its key on the posting.
    let tkey = TerminalActor::key(TerminalFamily::MqttPos, &w.terminal_code);
    terminals
        .call(&tkey, TerminalPost(credit("k3", account, 1)))
        .await
        .unwrap();
    let t = w
        .store
        .transaction(|db| Box::pin(async move { catalog::find_transaction(db, "k3").await }))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.terminal.as_deref(), Some(tkey.as_str()));
    // Suspending the merchant disables its actor and its terminals.
    w.store
        .transaction(move |db| {
            Box::pin(async move {
                catalog::update_merchant(db, m, None, Some(MerchantStatus::Suspended), now_ms())
                    .await
            })
        })
        .await
        .unwrap();
    merchants.call(&key, Reload).await.unwrap();
    terminals.call(&tkey, Reload).await.unwrap();
    assert_eq!(
        merchants
            .call(&key, MerchantPost(credit("k4", account, 1)))
            .await
            .unwrap_err(),
        EntityError::Disabled
    );
    assert_eq!(
        terminals
            .call(&tkey, TerminalPost(credit("k5", account, 1)))
            .await
            .unwrap_err(),
        EntityError::Disabled
    );
    // Venues load by company code.
    let venue: VenueRecord = venues.call("KTV001", Info).await.unwrap();
    assert_eq!(venue.venue.merchant_id, m);
    assert_eq!(venue.settings, None);
    let none: Result<VenueRecord, _> = venues.call("KTV404", Info).await;
    assert_eq!(none.unwrap_err(), EntityError::NotFound);
}

#[actix_rt::test]
async fn a_full_mailbox_answers_busy_at_once() {
    let w = world().await;
    let terminals: Registry<TerminalActor> =
        Registry::new(w.deps.clone(), config(60, 2), EntityArbiters::start(1));
    // Hold the (single-writer) SQLite store for a while, so the actor is stuck loading its
    // state and cannot take messages off its mailbox.
    let store = w.store.clone();
    let holder = actix_rt::spawn(async move {
        store
            .transaction(|_| {
                Box::pin(async move {
                    std::thread::sleep(Duration::from_millis(700));
                    Ok(())
                })
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let key = TerminalActor::key(TerminalFamily::MqttPos, &w.terminal_code);
    let mut busy = 0;
    let mut queued = Vec::new();
    for _ in 0..20 {
        match terminals.ask::<Info, Result<TerminalState, EntityError>>(&key, Info) {
            Ok(rx) => queued.push(rx),
            Err(EntityError::Busy) => busy += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        busy >= 15,
        "a mailbox of 2 must refuse most of 20 instant requests, refused {busy}"
    );
    holder.await.unwrap().unwrap();
    for rx in queued {
        assert!(
            rx.await.unwrap().is_ok(),
            "queued requests are answered once the actor runs"
        );
    }
}
