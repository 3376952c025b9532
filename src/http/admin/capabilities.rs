//! Terminal capabilities: an operator grants a terminal the operations that create or move
//! money (MQTT top-up, load / 圈存), off by default, each with a per-transaction and a daily
//! ceiling. The terminal's actor reloads at once.

use super::dto::check_amount;
use super::{found, with_db};
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::{ValidJson, Validate};
use actix_web::{delete, get, put, web, HttpResponse};
use posgate_actors::entity::Reload;
use posgate_actors::model::Terminal;
use posgate_actors::store::capabilities::{self, Capability, Grant};
use posgate_actors::store::{catalog, now_ms};
use serde::Deserialize;
use utoipa::ToSchema;

/// The ceilings of a grant, fen; 0 = no ceiling.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// Largest amount of one operation, fen (0 = no ceiling).
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub per_transaction_max: i64,
    /// Largest total per business day of this terminal, fen (0 = no ceiling).
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub daily_max: i64,
}

impl Validate for GrantBody {
    fn validate(&self) -> Result<(), ApiError> {
        check_amount("per_transaction_max", self.per_transaction_max, 0)?;
        check_amount("daily_max", self.daily_max, 0)
    }
}

/// The grant of `name` with the body's ceilings; a capability that moves no money
/// (`card_activation`) takes none.
fn grant_of(name: &str, body: &GrantBody) -> Result<Grant, ApiError> {
    let capability = capability(name)?;
    let money = capability != Capability::CardActivation;
    if !money && (body.per_transaction_max != 0 || body.daily_max != 0) {
        return Err(ApiError::invalid(
            "per_transaction_max",
            "card_activation moves no money: its ceilings must be 0",
        ));
    }
    Ok(Grant {
        capability,
        per_transaction_max: body.per_transaction_max,
        daily_max: body.daily_max,
        granted_at_ms: now_ms(),
    })
}

fn capability(name: &str) -> Result<Capability, ApiError> {
    Capability::parse(name)
        .ok_or_else(|| ApiError::invalid("capability", "must be top_up, load or card_activation"))
}

/// Reads the terminal, runs `change` on its grants and reloads its actor.
async fn change_grants<F>(gw: &Gateway, id: i64, change: F) -> Result<Terminal, ApiError>
where
    F: for<'a> FnOnce(
            &'a dyn posgate_actors::store::Db,
        ) -> futures::future::LocalBoxFuture<
            'a,
            Result<(), posgate_actors::store::StoreError>,
        > + Send
        + 'static,
{
    let terminal = with_db(gw, move |db| {
        Box::pin(async move {
            let Some(terminal) = catalog::get_terminal(db, id).await? else {
                return Ok(None);
            };
            change(db).await?;
            Ok(Some(terminal))
        })
    })
    .await?;
    let terminal = found(terminal, "terminal")?;
    gw.terminals.call(&terminal.actor_key(), Reload).await?;
    Ok(terminal)
}

/// List the capabilities granted to a terminal.
#[utoipa::path(tag = "terminals", security(("bearer" = [])), responses(
    (status = 200, body = [Grant]), (status = 404, body = ErrorBody)))]
#[get("/terminals/{id}/capabilities")]
pub async fn list(gw: web::Data<Gateway>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let grants = with_db(&gw, move |db| {
        Box::pin(async move {
            match catalog::get_terminal(db, id).await? {
                None => Ok(None),
                Some(_) => capabilities::grants(db, id).await.map(Some),
            }
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(found(grants, "terminal")?))
}

/// Grant a capability (`top_up`, `load`, `card_activation`) to a terminal, or change its
/// ceilings (money capabilities only; `card_activation` has none).
#[utoipa::path(tag = "terminals", request_body = GrantBody, params(("id" = i64, Path, description = "terminal id"),
        ("capability" = Capability, Path, description = "the capability")),
    security(("bearer" = [])), responses(
    (status = 200, body = Grant), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[put("/terminals/{id}/capabilities/{capability}")]
pub async fn grant(
    gw: web::Data<Gateway>,
    path: web::Path<(i64, String)>,
    body: ValidJson<GrantBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = path.into_inner();
    let grant = grant_of(&name, &body.0)?;
    change_grants(&gw, id, move |db| {
        Box::pin(async move { capabilities::grant(db, id, &grant).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(grant))
}

/// Revoke a capability from a terminal (204, also when it was not granted).
#[utoipa::path(tag = "terminals", params(("id" = i64, Path, description = "terminal id"),
        ("capability" = Capability, Path, description = "the capability")),
    security(("bearer" = [])), responses(
    (status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/terminals/{id}/capabilities/{capability}")]
pub async fn revoke(
    gw: web::Data<Gateway>,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = path.into_inner();
    let capability = capability(&name)?;
    change_grants(&gw, id, move |db| {
        Box::pin(async move { capabilities::revoke(db, id, capability).await.map(drop) })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
