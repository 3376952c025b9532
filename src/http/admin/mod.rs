//! The admin REST API (`/admin/v1`, JSON, bearer token): merchants, groups, terminals,
//! accounts and cards, credits and debits, balances, transactions, the ledger audit, venues.
//!
//! Handlers are thin: validate (the extractor), read or write the catalog through the store,
//! and send every posting through the merchant's entity actor, like any protocol adapter.

pub mod accounts;
pub mod commands;
pub mod ds50;
pub mod dto;
pub mod ktv;
pub mod merchants;
pub mod terminals;
pub mod transactions;
pub mod uploads;
pub mod venues;

use super::auth::require_admin;
use super::error::ApiError;
use crate::app::Gateway;
use actix_web::middleware::from_fn;
use actix_web::web;
use posgate_actors::store::{Db, StoreError};

/// Registers the admin routes under `/admin/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/v1")
            .wrap(from_fn(require_admin))
            .service(merchants::create)
            .service(merchants::get)
            .service(merchants::update)
            .service(merchants::create_group)
            .service(merchants::get_group)
            .service(merchants::update_group)
            .service(terminals::create)
            .service(terminals::get)
            .service(terminals::update)
            .service(commands::send)
            .service(commands::send_to_merchant)
            .service(commands::list)
            .service(ds50::posparam)
            .service(ds50::broadcast)
            .service(ds50::broadcast_to_merchant)
            .service(accounts::create)
            .service(accounts::get)
            .service(accounts::update)
            .service(accounts::add_card)
            .service(accounts::credit)
            .service(accounts::debit)
            .service(accounts::balances)
            .service(transactions::list)
            .service(transactions::audit)
            .service(venues::create)
            .service(venues::get)
            .service(ktv::set_settings)
            .service(ktv::overview)
            .service(ktv::bills)
            .service(ktv::wj091)
            .service(ktv::backfill)
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

/// `Some(v)` or a 404 naming `what`.
pub fn found<T>(value: Option<T>, what: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::not_found(what))
}
