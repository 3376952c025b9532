//! Admin credentials: bearer tokens with a role (`read_only`, `operator`, `administrator`),
//! issued, rotated and revoked by an administrator while the gateway runs. A token is shown
//! once, when issued; the database keeps its SHA-256. Rotation gives the old token a grace
//! period, so the clients holding it switch without downtime.

use super::dto::check_identifier;
use super::{found, with_db};
use crate::app::Gateway;
use crate::http::auth::{Principal, Role, CREDENTIAL_PREFIX};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::{ValidJson, Validate};
use crate::secret::sha256_hex;
use actix_web::{delete, get, post, web, HttpResponse};
use posgate_actors::store::admin_credentials::{self, Credential, NewCredential};
use posgate_actors::store::{now_ms, Db, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest life of a credential, days.
const LIFE_DAYS_MAX: i64 = 3650;
/// Longest grace of a rotated token, seconds (30 days).
const GRACE_SECONDS_MAX: i64 = 30 * 86_400;
/// Names the audit log uses for callers that are not issued credentials.
const RESERVED_NAMES: [&str; 2] = ["admin", "anonymous"];

/// Issue a credential.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCredentialBody {
    /// Who will hold it (a person or a system), as the audit log will name them; not
    /// `admin` or `anonymous`.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_.:-]{1,64}$")]
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// It stops working after this many days (1-3650); absent: until revoked.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<i64>,
}

impl Validate for NewCredentialBody {
    fn validate(&self) -> Result<(), ApiError> {
        check_identifier("name", &self.name, 64)?;
        if RESERVED_NAMES.contains(&self.name.as_str()) {
            return Err(ApiError::invalid(
                "name",
                "admin and anonymous are reserved",
            ));
        }
        match self.expires_in_days {
            Some(d) if !(1..=LIFE_DAYS_MAX).contains(&d) => Err(ApiError::invalid(
                "expires_in_days",
                format!("must be within 1..={LIFE_DAYS_MAX}"),
            )),
            _ => Ok(()),
        }
    }
}

/// Rotate a credential.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// How long the old token keeps working, seconds (0-2592000, default 3600).
    #[serde(default = "default_grace")]
    #[schema(minimum = 0, maximum = 2592000)]
    pub old_valid_for_seconds: i64,
}

fn default_grace() -> i64 {
    3600
}

impl Validate for RotateBody {
    fn validate(&self) -> Result<(), ApiError> {
        if (0..=GRACE_SECONDS_MAX).contains(&self.old_valid_for_seconds) {
            Ok(())
        } else {
            Err(ApiError::invalid(
                "old_valid_for_seconds",
                format!("must be within 0..={GRACE_SECONDS_MAX}"),
            ))
        }
    }
}

/// A credential just issued, with its token: the only time the token is shown.
#[derive(Serialize, ToSchema)]
pub struct IssuedCredential {
    /// Id.
    pub id: i64,
    /// Holder.
    pub name: String,
    /// Role.
    pub role: Role,
    /// When it stops working, unix ms; absent: until revoked.
    pub expires_at_ms: Option<i64>,
    /// The bearer token (`pgt_` and 64 hex digits). Keep it: it is not shown again.
    pub token: String,
    /// After a rotation: until when the replaced token still works, unix ms.
    pub replaced_until_ms: Option<i64>,
}

/// The credentials, newest first (never their tokens).
#[derive(Serialize, ToSchema)]
pub struct CredentialList {
    /// The credentials, revoked and expired ones included.
    pub items: Vec<Credential>,
}

/// List the admin credentials (administrators only).
#[utoipa::path(tag = "credentials", responses((status = 200, body = CredentialList)))]
#[get("/credentials")]
pub async fn list(gw: web::Data<Gateway>) -> Result<HttpResponse, ApiError> {
    let items = with_db(&gw, |db| Box::pin(admin_credentials::list(db))).await?;
    Ok(HttpResponse::Ok().json(CredentialList { items }))
}

/// Issue an admin credential (administrators only); its token is in the answer, once.
#[utoipa::path(tag = "credentials", request_body = NewCredentialBody, responses(
    (status = 201, body = IssuedCredential), (status = 400, body = ErrorBody)))]
#[post("/credentials")]
pub async fn create(
    gw: web::Data<Gateway>,
    by: web::ReqData<Principal>,
    body: ValidJson<NewCredentialBody>,
) -> Result<HttpResponse, ApiError> {
    let NewCredentialBody {
        name,
        role,
        expires_in_days,
    } = body.0;
    let now = now_ms();
    let expires_at_ms = expires_in_days.map(|d| now + d * 86_400_000);
    let by = by.name.clone();
    let issued = with_db(&gw, move |db| {
        Box::pin(async move { issue(db, &name, role, &by, expires_at_ms).await })
    })
    .await?;
    Ok(HttpResponse::Created().json(issued))
}

/// Rotate an admin credential (administrators only): a new token under the same name and
/// role, the old one working for `old_valid_for_seconds` more.
#[utoipa::path(tag = "credentials", request_body = RotateBody, responses(
    (status = 201, body = IssuedCredential), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/credentials/{id}/rotate")]
pub async fn rotate(
    gw: web::Data<Gateway>,
    by: web::ReqData<Principal>,
    id: web::Path<i64>,
    body: ValidJson<RotateBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, grace_ms) = (id.into_inner(), body.0.old_valid_for_seconds * 1000);
    let by = by.name.clone();
    let rotated = with_db(&gw, move |db| {
        Box::pin(async move {
            let now = now_ms();
            let Some(old) = admin_credentials::get(db, id).await? else {
                return Ok(None);
            };
            if old.revoked_at_ms.is_some() || old.expires_at_ms.is_some_and(|t| t <= now) {
                return Ok(Some(Err(())));
            }
            let role = Role::parse(&old.role).unwrap_or(Role::ReadOnly);
            let mut issued = issue(db, &old.name, role, &by, old.expires_at_ms).await?;
            let until = now + grace_ms;
            admin_credentials::end_at(db, id, until).await?;
            issued.replaced_until_ms = Some(old.expires_at_ms.map_or(until, |t| t.min(until)));
            Ok(Some(Ok(issued)))
        })
    })
    .await?;
    match found(rotated, "credential")? {
        Ok(issued) => Ok(HttpResponse::Created().json(issued)),
        Err(()) => Err(ApiError::conflict(
            "the credential is revoked or expired: issue a new one",
        )),
    }
}

/// Revoke an admin credential (administrators only): its token stops working at once and
/// its console sessions end.
#[utoipa::path(tag = "credentials", responses(
    (status = 204, description = "revoked (or already revoked)"), (status = 404, body = ErrorBody)))]
#[delete("/credentials/{id}")]
pub async fn revoke(gw: web::Data<Gateway>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let existed = with_db(&gw, move |db| {
        Box::pin(async move {
            if admin_credentials::get(db, id).await?.is_none() {
                return Ok(false);
            }
            admin_credentials::revoke(db, id, now_ms()).await?;
            Ok(true)
        })
    })
    .await?;
    found(existed.then_some(()), "credential")?;
    Ok(HttpResponse::NoContent().finish())
}

/// Stores a new credential with a fresh random token; returns it with the token.
async fn issue(
    db: &dyn Db,
    name: &str,
    role: Role,
    by: &str,
    expires_at_ms: Option<i64>,
) -> Result<IssuedCredential, StoreError> {
    let token = format!(
        "{CREDENTIAL_PREFIX}{}",
        hex::encode(rand::random::<[u8; 32]>())
    );
    let stored = admin_credentials::create(
        db,
        &NewCredential {
            name,
            role: role.as_str(),
            token_sha256: &sha256_hex(&token),
            created_by: by,
            now_ms: now_ms(),
            expires_at_ms,
        },
    )
    .await?;
    Ok(IssuedCredential {
        id: stored.id,
        name: stored.name,
        role,
        expires_at_ms: stored.expires_at_ms,
        token,
        replaced_until_ms: None,
    })
}
