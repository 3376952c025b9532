//! The admin audit log: every change made through the admin API or the console.

use super::{next_before_id, page_limit, with_db};
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use actix_web::{get, web, HttpResponse};
use posgate_actors::store::admin_audit::{self, AuditEntry};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Paging of the audit log.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Next page: the `next_before_id` of the previous page.
    pub before_id: Option<i64>,
    /// Page size, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// A page of the audit log, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    /// The entries.
    pub items: Vec<AuditEntry>,
    /// Pass as `before_id` for the next page; absent on the last page.
    pub next_before_id: Option<i64>,
}

/// List the admin audit log, newest first: who changed what, when, with what result.
#[utoipa::path(tag = "audit", params(AuditQuery), security(("bearer" = [])), responses(
    (status = 200, body = AuditPage), (status = 400, body = ErrorBody)))]
#[get("/audit-log")]
pub async fn list(
    gw: web::Data<Gateway>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = page_limit(q.limit)?;
    let before_id = q.before_id;
    let items = with_db(&gw, move |db| {
        Box::pin(async move { admin_audit::list(db, before_id, limit).await })
    })
    .await?;
    let next_before_id = next_before_id(items.len(), limit, items.last().map(|e| e.id));
    Ok(HttpResponse::Ok().json(AuditPage {
        items,
        next_before_id,
    }))
}
