//! Terminals.

use super::dto::{NewTerminal, TerminalPatch};
use super::{found, page_limit, with_db, Page};
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::ValidJson;
use actix_web::{get, patch, post, web, HttpResponse};
use posgate_actors::entity::Reload;
use posgate_actors::model::{Terminal, TerminalFamily};
use posgate_actors::store::{catalog, now_ms};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Register a terminal; its actor on this replica reloads at once (a device seen as unknown
/// before is served from now on).
#[utoipa::path(tag = "terminals", request_body = NewTerminal, security(("bearer" = [])), responses(
    (status = 201, body = Terminal), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody)))]
#[post("/terminals")]
pub async fn create(
    gw: web::Data<Gateway>,
    body: ValidJson<NewTerminal>,
) -> Result<HttpResponse, ApiError> {
    let NewTerminal {
        family,
        code,
        merchant_id,
        name,
    } = body.0;
    let terminal = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::get_merchant(db, merchant_id).await?.is_none() {
                return Ok(None);
            }
            catalog::create_terminal(db, family, &code, merchant_id, &name, now_ms())
                .await
                .map(Some)
        })
    })
    .await?;
    let terminal = found(terminal, "merchant")?;
    reload(&gw, &terminal).await;
    Ok(HttpResponse::Created().json(terminal))
}

/// Reloads `terminal`'s actor on this replica, so that what was just stored is what it
/// serves: a device refused as unknown before it was registered is served at once. The
/// terminal is stored either way; a reload that fails is logged (an actor whose load failed
/// stops and the next message loads afresh; a full mailbox keeps the old state until the
/// actor expires). Other replicas pick the change up when their actor expires.
async fn reload(gw: &Gateway, terminal: &Terminal) {
    if let Err(e) = gw.terminals.call(&terminal.actor_key(), Reload).await {
        tracing::warn!(terminal = terminal.id, error = ?e, "terminal actor not reloaded");
    }
}

/// A terminal with its presence.
#[derive(Serialize, ToSchema)]
pub struct TerminalView {
    /// The terminal.
    #[serde(flatten)]
    pub terminal: Terminal,
    /// The device sent something within `mqtt.device_offline_after_seconds`.
    pub online: bool,
}

impl TerminalView {
    /// `terminal` with its presence as seen now on `gw`.
    fn of(gw: &Gateway, terminal: Terminal) -> TerminalView {
        let window_ms = gw.config.mqtt.device_offline_after_seconds as i64 * 1000;
        let online = terminal
            .last_seen_at_ms
            .is_some_and(|seen| now_ms() - seen <= window_ms);
        TerminalView { terminal, online }
    }
}

/// Read a terminal (its secrets are never shown) with its presence: `online` while the device
/// has sent anything within `mqtt.device_offline_after_seconds`.
#[utoipa::path(tag = "terminals", security(("bearer" = [])), responses(
    (status = 200, body = TerminalView), (status = 404, body = ErrorBody)))]
#[get("/terminals/{id}")]
pub async fn get(gw: web::Data<Gateway>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let terminal = with_db(&gw, move |db| {
        Box::pin(async move { catalog::get_terminal(db, id).await })
    })
    .await?;
    let terminal = found(terminal, "terminal")?;
    Ok(HttpResponse::Ok().json(TerminalView::of(&gw, terminal)))
}

/// Filter and paging of a merchant's terminals.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MerchantTerminalsQuery {
    /// Only `mqtt_pos`, `jpos` or `ds50` terminals.
    #[param(schema_with = family_values)]
    pub family: Option<String>,
    /// Next page: the `next_before_id` of the previous page.
    pub before_id: Option<i64>,
    /// Page size, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

fn family_values() -> utoipa::openapi::Object {
    super::dto::text_enum(&TerminalFamily::ALL.map(TerminalFamily::as_str))
}

/// List a merchant's terminals with their presence, newest first, optionally of one family.
#[utoipa::path(tag = "terminals", params(MerchantTerminalsQuery), security(("bearer" = [])), responses(
    (status = 200, body = Page<TerminalView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
#[get("/merchants/{id}/terminals")]
pub async fn list_of_merchant(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    query: web::Query<MerchantTerminalsQuery>,
) -> Result<HttpResponse, ApiError> {
    let (merchant_id, q) = (id.into_inner(), query.into_inner());
    let limit = page_limit(q.limit)?;
    let family =
        match q.family.as_deref() {
            None => None,
            Some(f) => Some(TerminalFamily::parse(f).ok_or_else(|| {
                ApiError::invalid_query("family", "must be mqtt_pos, jpos or ds50")
            })?),
        };
    let terminals = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::get_merchant(db, merchant_id).await?.is_none() {
                return Ok(None);
            }
            catalog::page_terminals(db, merchant_id, family, q.before_id, limit)
                .await
                .map(Some)
        })
    })
    .await?;
    let terminals = found(terminals, "merchant")?;
    let views = terminals
        .into_iter()
        .map(|t| TerminalView::of(&gw, t))
        .collect();
    Ok(HttpResponse::Ok().json(Page::of(views, limit, |v| v.terminal.id)))
}

/// Rename, disable or enable a terminal; its actor reloads at once.
#[utoipa::path(tag = "terminals", request_body = TerminalPatch, security(("bearer" = [])), responses(
    (status = 200, body = Terminal), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[patch("/terminals/{id}")]
pub async fn update(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<TerminalPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let TerminalPatch { name, status } = body.0;
    let terminal = with_db(&gw, move |db| {
        Box::pin(async move {
            catalog::update_terminal(db, id, name.as_deref(), status, now_ms()).await
        })
    })
    .await?;
    let terminal = found(terminal, "terminal")?;
    gw.terminals.call(&terminal.actor_key(), Reload).await?;
    Ok(HttpResponse::Ok().json(terminal))
}
