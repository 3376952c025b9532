//! Console login sessions: the admin credential is exchanged once for a random session id
//! kept in an HttpOnly, SameSite=Strict cookie; the database keeps only the id's SHA-256, so
//! any replica recognises the session and a database dump cannot be replayed. Requests that
//! change something also carry the session's CSRF token (`X-CSRF-Token`), derived from the
//! session id, which only the console's own page can read (from the login answer or
//! `GET /console/session`).

use crate::app::Gateway;
use crate::http::auth::{principal_of_token, AdminToken, Principal, Role};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::limits::AdminLimits;
use crate::secret::sha256_hex;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{delete, get, post, web, HttpMessage, HttpRequest, HttpResponse};
use hmac::{Hmac, Mac};
use posgate_actors::store::admin_audit::AuditVia;
use posgate_actors::store::console_sessions::{self, SessionRow};
use posgate_actors::store::now_ms;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "posgate_session";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session's last-seen time is written at most this often, ms.
const TOUCH_EVERY_MS: i64 = 60_000;

/// A login.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// The admin credential.
    #[schema(min_length = 1, max_length = 512)]
    pub token: String,
}

/// The session the cookie names.
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    /// Who logged in.
    pub principal: String,
    /// What they may do.
    pub role: Role,
    /// Send as `X-CSRF-Token` on every request that is not a read.
    pub csrf_token: String,
    /// The session ends at the latest then (sooner when idle), unix ms.
    pub expires_at_ms: i64,
}

/// Log in to the console: exchanges the admin credential for a session cookie.
#[utoipa::path(tag = "console", request_body = Login, responses(
    (status = 200, body = SessionView, description = "logged in; the answer sets the session cookie"),
    (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    (status = 429, body = ErrorBody, description = "too many logins from this address")))]
#[post(
    "/console/session",
    wrap = "actix_web::middleware::from_fn(crate::http::audit::record_changes)"
)]
pub async fn login(
    req: HttpRequest,
    gw: web::Data<Gateway>,
    token: web::Data<AdminToken>,
    limits: web::Data<AdminLimits>,
    body: web::Json<Login>,
) -> Result<HttpResponse, ApiError> {
    let source = req.peer_addr().map(|a| a.ip());
    limits.admit_login(source)?;
    let Some(principal) = principal_of_token(&gw, &token, &body.token, AuditVia::Login).await?
    else {
        metrics::counter!("posgate_console_logins_total", "result" => "refused").increment(1);
        tracing::warn!(?source, "console login refused: wrong credential");
        return Err(ApiError::unauthorized());
    };
    let id = hex::encode(rand::random::<[u8; 32]>());
    let row = new_session(&gw, &principal);
    let (hash, stored, now, idle) = (
        sha256_hex(&id),
        row.clone(),
        row.created_at_ms,
        idle_ms(&gw),
    );
    crate::http::admin::with_db(&gw, move |db| {
        Box::pin(async move {
            console_sessions::purge(db, now, idle).await?;
            console_sessions::create(db, &hash, &stored).await
        })
    })
    .await?;
    metrics::counter!("posgate_console_logins_total", "result" => "ok").increment(1);
    let role = principal.role;
    req.extensions_mut().insert(principal);
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(&gw, id.clone()))
        .json(view(&id, &row, role)))
}

/// The stored session of `principal`, starting now.
fn new_session(gw: &Gateway, principal: &Principal) -> SessionRow {
    let now = now_ms();
    SessionRow {
        credential_id: principal.credential_id,
        principal: principal.name.clone(),
        role: principal.role.as_str().into(),
        created_at_ms: now,
        last_seen_at_ms: now,
        expires_at_ms: now + hours_ms(gw.config.admin.console_session_hours),
    }
}

/// The current console session (the cookie's), with its CSRF token.
#[utoipa::path(tag = "console", responses(
    (status = 200, body = SessionView), (status = 401, body = ErrorBody)))]
#[get("/console/session")]
pub async fn current(req: HttpRequest, gw: web::Data<Gateway>) -> Result<HttpResponse, ApiError> {
    let id = session_id(&req).ok_or_else(ApiError::unauthorized)?;
    let (row, role) = live_session(&gw, &id).await?;
    Ok(HttpResponse::Ok().json(view(&id, &row, role)))
}

/// Log out: ends the cookie's session (needs the CSRF token) and clears the cookie.
#[utoipa::path(tag = "console", responses(
    (status = 204, description = "logged out"), (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody)))]
#[delete(
    "/console/session",
    wrap = "actix_web::middleware::from_fn(crate::http::audit::record_changes)"
)]
pub async fn logout(req: HttpRequest, gw: web::Data<Gateway>) -> Result<HttpResponse, ApiError> {
    let principal = authenticate(&gw, &req).await?;
    let id = session_id(&req).ok_or_else(ApiError::unauthorized)?;
    let hash = sha256_hex(&id);
    crate::http::admin::with_db(&gw, move |db| {
        Box::pin(async move { console_sessions::delete(db, &hash).await })
    })
    .await?;
    req.extensions_mut().insert(principal);
    let mut gone = session_cookie(&gw, String::new());
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

/// Authenticates a request by its session cookie: the session must be live, and a request
/// that is not a read must carry the session's CSRF token.
pub async fn authenticate(gw: &Gateway, req: &HttpRequest) -> Result<Principal, ApiError> {
    let id = session_id(req).ok_or_else(ApiError::unauthorized)?;
    if !req.method().is_safe() {
        let presented = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !crate::secret::constant_time_eq(presented.as_bytes(), csrf_token(&id).as_bytes()) {
            return Err(ApiError::csrf_mismatch());
        }
    }
    let (row, role) = live_session(gw, &id).await?;
    Ok(Principal {
        name: row.principal,
        role,
        via: AuditVia::Session,
        credential_id: row.credential_id,
    })
}

/// The live session `id` and its role (401 when it ended or is unknown); records its use.
async fn live_session(gw: &Gateway, id: &str) -> Result<(SessionRow, Role), ApiError> {
    let (hash, now, idle) = (sha256_hex(id), now_ms(), idle_ms(gw));
    let row = crate::http::admin::with_db(gw, move |db| {
        Box::pin(async move {
            let row = console_sessions::live(db, &hash, now, idle).await?;
            if let Some(r) = &row {
                if now - r.last_seen_at_ms >= TOUCH_EVERY_MS {
                    console_sessions::touch(db, &hash, now).await?;
                }
            }
            Ok(row)
        })
    })
    .await?
    .ok_or_else(ApiError::unauthorized)?;
    let role = Role::parse(&row.role).ok_or_else(ApiError::unauthorized)?;
    Ok((row, role))
}

fn view(id: &str, row: &SessionRow, role: Role) -> SessionView {
    SessionView {
        principal: row.principal.clone(),
        role,
        csrf_token: csrf_token(id),
        expires_at_ms: row.expires_at_ms,
    }
}

/// The session id the request's cookie carries (64 hex digits), if any.
fn session_id(req: &HttpRequest) -> Option<String> {
    req.cookie(SESSION_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn session_cookie(gw: &Gateway, value: String) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(gw.config.admin.console_secure_cookie)
        .finish()
}

/// The CSRF token of session `id`: HMAC-SHA256 keyed by the id, so only who holds the id
/// (the browser, in the HttpOnly cookie) and the gateway can know it.
fn csrf_token(id: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(id.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"posgate console csrf");
    hex::encode(mac.finalize().into_bytes())
}

fn idle_ms(gw: &Gateway) -> i64 {
    minutes_ms(gw.config.admin.console_session_idle_minutes)
}

fn minutes_ms(minutes: u64) -> i64 {
    i64::try_from(minutes.saturating_mul(60_000)).unwrap_or(i64::MAX)
}

fn hours_ms(hours: u64) -> i64 {
    minutes_ms(hours.saturating_mul(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_differ_per_session_and_are_stable() {
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        assert_eq!(csrf_token(&a), csrf_token(&a));
        assert_ne!(csrf_token(&a), csrf_token(&b));
        assert_ne!(
            csrf_token(&a),
            sha256_hex(&a),
            "the stored hash does not reveal it"
        );
    }

    #[test]
    fn session_limits_in_ms() {
        assert_eq!(minutes_ms(30), 1_800_000);
        assert_eq!(hours_ms(12), 43_200_000);
        assert_eq!(minutes_ms(u64::MAX), i64::MAX);
    }
}
