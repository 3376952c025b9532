//! The admin REST API (`/admin/v1`, JSON, bearer token): merchants, groups, terminals,
//! accounts and cards, credits and debits, balances, transactions (and an operator's cancel
//! or refund), the ledger audit, venues, the console's overview.
//!
//! Handlers are thin: validate (the extractor), read or write the catalog through the store,
//! and send every posting through the merchant's entity actor, like any protocol adapter.

pub mod accounts;
pub mod audit_log;
pub mod capabilities;
pub mod card_pins;
pub mod commands;
pub mod credentials;
pub mod ds50;
pub mod dto;
pub mod exceptions;
pub mod intake;
pub mod jpos;
pub mod ktv;
pub mod merchants;
pub mod overview;
pub mod pospal;
pub mod terminals;
pub mod transactions;
pub mod uploads;
pub mod venues;

use super::audit::record_changes;
use super::auth::{enforce_role, require_admin};
use super::error::ApiError;
use crate::app::Gateway;
use actix_web::middleware::from_fn;
use actix_web::web;
use posgate_actors::store::{Db, StoreError};

/// Registers the admin routes under `/admin/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/v1")
            .wrap(from_fn(enforce_role))
            .wrap(from_fn(record_changes))
            .wrap(from_fn(require_admin))
            .service(audit_log::list)
            .service(credentials::list)
            .service(credentials::create)
            .service(credentials::rotate)
            .service(credentials::revoke)
            .service(overview::get)
            .service(merchants::list)
            .service(merchants::create)
            .service(merchants::get)
            .service(merchants::update)
            .service(merchants::create_group)
            .service(merchants::get_group)
            .service(merchants::update_group)
            .service(terminals::list_of_merchant)
            .service(terminals::create)
            .service(terminals::get)
            .service(terminals::update)
            .service(capabilities::list)
            .service(capabilities::grant)
            .service(capabilities::revoke)
            .service(exceptions::list)
            .service(exceptions::get)
            .service(exceptions::book)
            .service(exceptions::write_off)
            .service(commands::send)
            .service(commands::send_to_merchant)
            .service(commands::list)
            .service(ds50::posparam)
            .service(ds50::merchant_key)
            .service(ds50::revoke_device_keys)
            .service(ds50::revoke_merchant_keys)
            .service(ds50::broadcast)
            .service(ds50::broadcast_to_merchant)
            .service(jpos::set_rules)
            .service(jpos::get_rules)
            .service(jpos::batch)
            .service(jpos::master)
            .service(jpos::transactions)
            .service(jpos::pending)
            .service(jpos::settlements)
            .service(jpos::settlement)
            .service(jpos::issue_tickets)
            .service(jpos::list_tickets)
            .service(accounts::list)
            .service(accounts::create)
            .service(accounts::get)
            .service(accounts::update)
            .service(accounts::add_card)
            .service(card_pins::set)
            .service(accounts::credit)
            .service(accounts::debit)
            .service(accounts::balances)
            .service(transactions::list)
            .service(transactions::audit)
            .service(transactions::cancel)
            .service(transactions::refund)
            .service(pospal::put_app)
            .service(pospal::apps)
            .service(pospal::events)
            .service(pospal::mismatches)
            .service(pospal::documents)
            .service(pospal::resolve_mismatch)
            .service(pospal::ticket_totals)
            .service(intake::list)
            .service(intake::list_refused)
            .service(intake::recheck)
            .service(intake::get)
            .service(intake::replay)
            .service(venues::list)
            .service(venues::create)
            .service(venues::get)
            .service(ktv::set_settings)
            .service(ktv::set_status)
            .service(ktv::overview)
            .service(ktv::bills)
            .service(ktv::bill)
            .service(ktv::notices)
            .service(ktv::wj091)
            .service(ktv::backfill)
            .service(ktv::completeness)
            .service(ktv::backfill_attempts)
            .service(ktv::report)
            .service(ktv::report_csv)
            .service(ktv::events)
            .service(ktv::member_income)
            .service(uploads::notices)
            .service(uploads::photos)
            .service(uploads::photo_content)
            .service(uploads::dish_records),
    );
}

/// Runs `f` in a store transaction (a read or a catalog write).
pub async fn with_db<R, F>(gw: &Gateway, f: F) -> Result<R, ApiError>
where
    R: Send + 'static,
    F: for<'a> FnOnce(&'a dyn Db) -> futures::future::LocalBoxFuture<'a, Result<R, StoreError>>
        + Send
        + 'static,
{
    Ok(gw.store.transaction(f).await?)
}

/// Default size of a listing page.
pub const PAGE_DEFAULT: i64 = 50;
/// Largest listing page.
pub const PAGE_MAX: i64 = 500;

/// The `limit` of a listing: 1..=[`PAGE_MAX`], [`PAGE_DEFAULT`] when absent.
pub fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(PAGE_DEFAULT);
    if (1..=PAGE_MAX).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::invalid_query(
            "limit",
            format!("must be between 1 and {PAGE_MAX}"),
        ))
    }
}

/// A page of a listing, newest (highest id) first.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items, each as the resource's own `GET` shows it.
    pub items: Vec<T>,
    /// Pass as `before_id` for the next page; absent on the last page.
    pub next_before_id: Option<i64>,
}

impl<T> Page<T> {
    /// The page of `items` asked with `limit`, linked to the next one by the last item's
    /// `id`.
    pub fn of(items: Vec<T>, limit: i64, id: impl Fn(&T) -> i64) -> Page<T> {
        let next_before_id = next_before_id(items.len(), limit, items.last().map(id));
        Page {
            items,
            next_before_id,
        }
    }
}

/// The `before_id` of the page after one of `count` items whose last id is `last_id`: none
/// when the page was not full (it was the last).
pub fn next_before_id(count: usize, limit: i64, last_id: Option<i64>) -> Option<i64> {
    (i64::try_from(count).ok() == Some(limit))
        .then_some(last_id)
        .flatten()
}

/// `Some(v)` or a 404 naming `what`.
pub fn found<T>(value: Option<T>, what: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::not_found(what))
}
