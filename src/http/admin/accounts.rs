//! Accounts: create (with card and opening balances), read, update, bind cards, credit,
//! debit, balances. Credits and debits go through the merchant's actor and the accounts
//! shards like every other posting; idempotency keys are namespaced
//! `admin:{merchant}:{client key}`.

use super::dto::{
    check_search, AccountPatchBody, AccountView, CreditBody, DebitBody, NewAccount, NewCard,
    OutcomeView,
};
use super::{found, page_limit, with_db, Page};
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::ValidJson;
use actix_web::{get, patch, post, web, HttpResponse};
use posgate_actors::cards::mask_pan;
use posgate_actors::entity::MerchantPost;
use posgate_actors::ledger::{Balances, LimitPolicy, Operation, PostOutcome, PostRequest};
use posgate_actors::model::{Account, Card};
use posgate_actors::store::catalog::CatalogFilter;
use posgate_actors::store::{catalog, now_ms, Db, StoreError};
use serde::Deserialize;
use utoipa::IntoParams;

/// Create an account; its card is stored only as a keyed hash and a mask, its opening
/// balances are posted as credits.
#[utoipa::path(tag = "accounts", request_body = NewAccount, security(("bearer" = [])), responses(
    (status = 201, body = AccountView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[post("/accounts")]
pub async fn create(
    gw: web::Data<Gateway>,
    body: ValidJson<NewAccount>,
) -> Result<HttpResponse, ApiError> {
    let NewAccount {
        merchant_id,
        user_id,
        name,
        group_id,
        card_number,
        initial_balances,
    } = body.0;
    let card = match &card_number {
        Some(pan) => Some((
            gw.card_key
                .index(pan)
                .map_err(|e| ApiError::invalid("card_number", e.to_string()))?,
            mask_pan(pan).map_err(|e| ApiError::invalid("card_number", e.to_string()))?,
        )),
        None => None,
    };
    // The PAN itself goes no further than this point.
    drop(card_number);
    let created = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::get_merchant(db, merchant_id).await?.is_none() {
                return Ok(Err(ApiError::not_found("merchant")));
            }
            if let Some(g) = group_id {
                match catalog::get_group(db, g).await? {
                    Some(group) if group.merchant_id == merchant_id => {}
                    _ => return Ok(Err(ApiError::not_found("group of this merchant"))),
                }
            }
            if let Some((hmac, _)) = &card {
                if catalog::find_card(db, hmac).await?.is_some() {
                    return Ok(Err(ApiError::conflict(
                        "card_number is already bound to an account",
                    )));
                }
            }
            let now = now_ms();
            let account =
                catalog::create_account(db, merchant_id, &user_id, &name, group_id, now).await?;
            if let Some((hmac, masked)) = &card {
                catalog::add_card(db, account.id, hmac, masked, now).await?;
            }
            Ok(Ok(account))
        })
    })
    .await??;
    for (asset, amount) in initial_balances.non_zero() {
        let request = PostRequest {
            idempotency_key: format!(
                "admin:{}:open:{}:{}",
                created.merchant_id, created.id, asset
            ),
            account_id: created.id,
            terminal: None,
            business_date: gw.business_date(),
            op: Operation::Credit { asset, amount },
            device_fields: Default::default(),
        };
        let outcome = post(&gw, created.merchant_id, request).await.map_err(|e| {
            ApiError::unavailable(
                e.code,
                format!(
                    "account {} created, but its opening balances were not posted: credit them",
                    created.id
                ),
            )
        })?;
        if !outcome.is_posted() {
            return Err(ApiError::conflict(format!(
                "account {} created, but its opening {asset} credit was refused",
                created.id
            )));
        }
    }
    Ok(HttpResponse::Created().json(view(&gw, created.id).await?))
}

/// `account` with its current balances and masked cards.
async fn with_balances(db: &dyn Db, account: Account) -> Result<AccountView, StoreError> {
    let current = catalog::balances(db, account.id).await?.unwrap_or_default();
    let cards = catalog::list_cards(db, account.id).await?;
    Ok(AccountView {
        account,
        balances: current,
        cards,
    })
}

async fn view(gw: &Gateway, id: i64) -> Result<AccountView, ApiError> {
    let found_view = with_db(gw, move |db| {
        Box::pin(async move {
            match catalog::get_account(db, id).await? {
                Some(account) => with_balances(db, account).await.map(Some),
                None => Ok(None),
            }
        })
    })
    .await?;
    found(found_view, "account")
}

/// Filters and paging of the account list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this merchant's accounts.
    pub merchant_id: Option<i64>,
    /// Only accounts whose user id or name contains this text (case-insensitive; on SQLite
    /// for ASCII letters only).
    #[param(max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub q: Option<String>,
    /// Next page: the `next_before_id` of the previous page.
    pub before_id: Option<i64>,
    /// Page size, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// List user accounts with their balances and masked cards, newest first, by merchant and
/// by text in their user id or name.
#[utoipa::path(tag = "accounts", params(ListQuery), security(("bearer" = [])), responses(
    (status = 200, body = Page<AccountView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[get("/accounts")]
pub async fn list(
    gw: web::Data<Gateway>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = page_limit(q.limit)?;
    check_search(q.q.as_deref())?;
    let (merchant_id, filter) = (
        q.merchant_id,
        CatalogFilter {
            q: q.q,
            before_id: q.before_id,
            limit,
        },
    );
    let items = with_db(&gw, move |db| {
        Box::pin(async move {
            let mut views = Vec::new();
            for account in catalog::page_accounts(db, merchant_id, &filter).await? {
                views.push(with_balances(db, account).await?);
            }
            Ok(views)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page::of(items, limit, |v| v.account.id)))
}

/// Read an account with its balances and (masked) cards.
#[utoipa::path(tag = "accounts", security(("bearer" = [])), responses(
    (status = 200, body = AccountView), (status = 404, body = ErrorBody)))]
#[get("/accounts/{id}")]
pub async fn get(gw: web::Data<Gateway>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(view(&gw, id.into_inner()).await?))
}

/// Rename an account, change its group or status.
#[utoipa::path(tag = "accounts", request_body = AccountPatchBody, security(("bearer" = [])), responses(
    (status = 200, body = Account), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[patch("/accounts/{id}")]
pub async fn update(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<AccountPatchBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.0;
    let patch = catalog::AccountPatch {
        name: body.name,
        group_id: body.group_id,
        status: body.status,
    };
    let account = with_db(&gw, move |db| {
        Box::pin(async move {
            let Some(account) = catalog::get_account(db, id).await? else {
                return Ok(Err(ApiError::not_found("account")));
            };
            if let Some(Some(g)) = patch.group_id {
                match catalog::get_group(db, g).await? {
                    Some(group) if group.merchant_id == account.merchant_id => {}
                    _ => return Ok(Err(ApiError::not_found("group of this merchant"))),
                }
            }
            Ok(catalog::update_account(db, id, &patch, now_ms())
                .await?
                .ok_or_else(|| ApiError::not_found("account")))
        })
    })
    .await??;
    Ok(HttpResponse::Ok().json(account))
}

/// Bind a card to an account (stored as a keyed hash and a mask).
#[utoipa::path(tag = "accounts", request_body = NewCard, security(("bearer" = [])), responses(
    (status = 201, body = Card), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody)))]
#[post("/accounts/{id}/cards")]
pub async fn add_card(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<NewCard>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let pan = body.0.card_number;
    let hmac = gw
        .card_key
        .index(&pan)
        .map_err(|e| ApiError::invalid("card_number", e.to_string()))?;
    let masked = mask_pan(&pan).map_err(|e| ApiError::invalid("card_number", e.to_string()))?;
    drop(pan);
    let card = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::get_account(db, id).await?.is_none() {
                return Ok(Err(ApiError::not_found("account")));
            }
            if catalog::find_card(db, &hmac).await?.is_some() {
                return Ok(Err(ApiError::conflict(
                    "card_number is already bound to an account",
                )));
            }
            Ok(Ok(
                catalog::add_card(db, id, &hmac, &masked, now_ms()).await?
            ))
        })
    })
    .await??;
    Ok(HttpResponse::Created().json(card))
}

/// Reads account `id`, or 404.
pub(super) async fn owner(gw: &Gateway, id: i64) -> Result<Account, ApiError> {
    let account = with_db(gw, move |db| {
        Box::pin(async move { catalog::get_account(db, id).await })
    })
    .await?;
    found(account, "account")
}

/// Posts `request` through the merchant's actor.
pub(super) async fn post(
    gw: &Gateway,
    merchant_id: i64,
    request: PostRequest,
) -> Result<PostOutcome, ApiError> {
    Ok(gw
        .merchants
        .call(&merchant_id.to_string(), MerchantPost(request))
        .await?)
}

/// Posts `op` on account `id` through its merchant's actor, keyed
/// `admin:{merchant}:{client key}`, and answers with the outcome's status code.
async fn post_admin(
    gw: &Gateway,
    id: i64,
    client_key: &str,
    op: Operation,
) -> Result<HttpResponse, ApiError> {
    let account = owner(gw, id).await?;
    let request = PostRequest {
        idempotency_key: format!("admin:{}:{client_key}", account.merchant_id),
        account_id: account.id,
        terminal: None,
        business_date: gw.business_date(),
        op,
        device_fields: Default::default(),
    };
    Ok(answer(&post(gw, account.merchant_id, request).await?))
}

/// The HTTP answer of a posting outcome: 201 posted, 200 replay, 409 key conflict, 422
/// refused.
pub(super) fn answer(outcome: &PostOutcome) -> HttpResponse {
    let view = OutcomeView::from(outcome);
    if outcome.key_conflict {
        HttpResponse::Conflict().json(view)
    } else if !outcome.is_posted() {
        HttpResponse::UnprocessableEntity().json(view)
    } else if outcome.replayed {
        HttpResponse::Ok().json(view)
    } else {
        HttpResponse::Created().json(view)
    }
}

/// Credit an account. Idempotent on `idempotency_key`: 201 posted, 200 replay of an earlier
/// answer, 409 the key was used for a different request, 422 refused (frozen account).
#[utoipa::path(tag = "accounts", request_body = CreditBody, security(("bearer" = [])), responses(
    (status = 201, body = OutcomeView), (status = 200, body = OutcomeView), (status = 409, body = OutcomeView),
    (status = 422, body = OutcomeView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 503, body = ErrorBody)))]
#[post("/accounts/{id}/credit")]
pub async fn credit(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<CreditBody>,
) -> Result<HttpResponse, ApiError> {
    let CreditBody {
        idempotency_key,
        amount,
        asset,
    } = body.0;
    let op = Operation::Credit { asset, amount };
    post_admin(&gw, id.into_inner(), &idempotency_key, op).await
}

/// Debit an account (no limits, no overdraft). Idempotent on `idempotency_key`: 201 posted,
/// 200 replay, 409 key reused for a different request, 422 refused (`insufficient`...).
#[utoipa::path(tag = "accounts", request_body = DebitBody, security(("bearer" = [])), responses(
    (status = 201, body = OutcomeView), (status = 200, body = OutcomeView), (status = 409, body = OutcomeView),
    (status = 422, body = OutcomeView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 503, body = ErrorBody)))]
#[post("/accounts/{id}/debit")]
pub async fn debit(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<DebitBody>,
) -> Result<HttpResponse, ApiError> {
    let DebitBody {
        idempotency_key,
        amount,
        sources,
    } = body.0;
    let op = Operation::Debit {
        amount,
        sources,
        discount: false,
        limits: LimitPolicy::None,
        overdraft: false,
        award_points: 0,
    };
    post_admin(&gw, id.into_inner(), &idempotency_key, op).await
}

/// Current balances of an account.
#[utoipa::path(tag = "accounts", security(("bearer" = [])), responses(
    (status = 200, body = Balances), (status = 404, body = ErrorBody)))]
#[get("/accounts/{id}/balances")]
pub async fn balances(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let account = owner(&gw, id).await?;
    let balances = with_db(&gw, move |db| {
        Box::pin(async move { catalog::balances(db, account.id).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(found(balances, "account")?))
}
