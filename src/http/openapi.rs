//! The OpenAPI document of the admin and operations endpoints, served at `/openapi.json`.

use super::admin::{
    accounts, capabilities, commands, ds50, dto, exceptions, intake, jpos, ktv, merchants, pospal,
    terminals, transactions, uploads, venues,
};
use super::error::ErrorBody;
use super::health;
use actix_web::{get, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The admin API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "posgate admin API",
        description = "Merchants, groups, terminals, accounts, cards, credits and debits, \
            transactions and the ledger audit. Every /admin route needs `Authorization: Bearer <token>`. \
            Amounts are integer minor units (fen; units for copies and points).",
    ),
    paths(
        merchants::create, merchants::get, merchants::update,
        merchants::create_group, merchants::get_group, merchants::update_group,
        terminals::create, terminals::get, terminals::update,
        capabilities::list, capabilities::grant, capabilities::revoke,
        exceptions::list, exceptions::get, exceptions::book, exceptions::write_off,
        commands::send, commands::send_to_merchant, commands::list,
        ds50::posparam, ds50::merchant_key, ds50::revoke_device_keys,
        ds50::revoke_merchant_keys, ds50::broadcast, ds50::broadcast_to_merchant,
        jpos::set_rules, jpos::get_rules, jpos::batch, jpos::master,
        jpos::transactions, jpos::pending, jpos::settlements, jpos::settlement,
        jpos::issue_tickets, jpos::list_tickets,
        accounts::create, accounts::get, accounts::update, accounts::add_card,
        accounts::credit, accounts::debit, accounts::balances,
        transactions::list, transactions::audit,
        venues::create, venues::get,
        pospal::put_app, pospal::apps, pospal::events, pospal::mismatches, pospal::documents,
        pospal::resolve_mismatch, pospal::ticket_totals,
        intake::list, intake::get, intake::replay, intake::list_refused, intake::recheck,
        ktv::set_settings, ktv::overview, ktv::bills, ktv::notices, ktv::wj091, ktv::backfill,
        ktv::completeness, ktv::backfill_attempts, ktv::bill, ktv::report, ktv::report_csv,
        ktv::events, ktv::member_income, ktv::set_status,
        uploads::notices, uploads::photos, uploads::photo_content, uploads::dish_records,
        health::healthz, health::readyz, health::metrics,
    ),
    components(schemas(
        ErrorBody, dto::OutcomeView, dto::AccountView, transactions::TransactionPage,
        posgate_actors::ledger::Asset, posgate_actors::ledger::Balances,
    )),
    modifiers(&BearerAuth),
    servers((url = "/admin/v1", description = "admin routes (operations routes are at /)")),
)]
pub struct ApiDoc;

/// The OpenAPI document as JSON.
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
