//! KTV venue administration: upload key and options, the venue overview, stored bills, any
//! WJ091 request (types 0-9, decoded), the backfill trigger, and booking-cancel notices.

use super::{found, page_limit, with_db};
use crate::amqp::RpcError;
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::{ValidJson, Validate};
use crate::ktv::backfill::{
    backfill as run_backfill, pull_member_income, BackfillError, MemberIncomePull, Trigger,
};
use crate::ktv::wj091::{merged_json, Wj091Error};
use actix_web::{get, post, put, web, HttpResponse};
use posgate_actors::entity::{BackfillCounts, Reload};
use posgate_actors::store::ktv::{
    self as store_ktv, BackfillAttempt, DayCompleteness, DaySummary, SettingsChange, StoredBill,
    StoredBillDetail, StoredNotice, VenueState,
};
use posgate_actors::store::ktv_report::{self, BillEvent, DayReport};
use posgate_actors::store::{catalog, now_ms};
use posgate_protocols::ktv::{
    AesKey, AesMode, BusinessDate, CompanyCode, Page, RoomId, Wj091Query, Wj091Request, Wj091Type,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Set a venue's KTV options.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KtvSettingsBody {
    /// The venue's AES-128 upload key: 16 printable ASCII characters (their bytes, as Java
    /// gateways use it) or 32 hex digits. Absent: keep the stored key. Stored wrapped, never returned.
    #[serde(default)]
    #[schema(pattern = r"^([ -~]{16}|[0-9A-Fa-f]{32})$")]
    pub key: Option<String>,
    /// Whether realtime and vouchers must be sealed (default true); false accepts plain JSON.
    #[serde(default = "yes")]
    pub encrypted: bool,
    /// The venue's cipher mode: `aes-128-ecb-pkcs7` or `aes-128-cbc-pkcs7`; "" = the
    /// gateway's `ktv.cipher_mode`. Absent: keep the stored one.
    #[serde(default)]
    #[schema(schema_with = cipher_mode_values)]
    pub cipher_mode: Option<String>,
    /// With a new `key`: how long the replaced key is still accepted, seconds (0-2592000,
    /// default 0: at once replaced), while the venue's gateway switches.
    #[serde(default)]
    #[schema(maximum = 2_592_000)]
    pub key_overlap_seconds: u32,
}

fn yes() -> bool {
    true
}

/// Longest key-rotation overlap: 30 days.
const KEY_OVERLAP_SECONDS_MAX: u32 = 30 * 24 * 3600;

fn parse_key(text: &str) -> Option<AesKey> {
    if text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        AesKey::from_hex(text).ok()
    } else if text.len() == 16 && text.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        AesKey::from_text(text).ok()
    } else {
        None
    }
}

fn cipher_mode_values() -> utoipa::openapi::Object {
    super::dto::text_enum_or_null(&["", "aes-128-ecb-pkcs7", "aes-128-cbc-pkcs7"])
}

impl Validate for KtvSettingsBody {
    fn validate(&self) -> Result<(), ApiError> {
        if self.key.as_deref().is_some_and(|k| parse_key(k).is_none()) {
            return Err(ApiError::invalid(
                "key",
                "must be 16 printable ASCII characters or 32 hex digits",
            ));
        }
        if let Some(mode) = self.cipher_mode.as_deref() {
            if !mode.is_empty() && AesMode::parse(mode).is_none() {
                return Err(ApiError::invalid(
                    "cipher_mode",
                    "must be aes-128-ecb-pkcs7, aes-128-cbc-pkcs7 or empty",
                ));
            }
        }
        if self.key_overlap_seconds > KEY_OVERLAP_SECONDS_MAX {
            return Err(ApiError::invalid(
                "key_overlap_seconds",
                format!("must be at most {KEY_OVERLAP_SECONDS_MAX}"),
            ));
        }
        Ok(())
    }
}

/// A venue's KTV options as shown (the keys never are).
#[derive(Serialize, ToSchema)]
pub struct KtvSettingsView {
    /// The venue.
    pub companycode: String,
    /// Whether an upload key is stored.
    pub key_set: bool,
    /// Whether realtime and vouchers must be sealed.
    pub encrypted: bool,
    /// The venue's cipher mode, "" = the gateway's.
    pub cipher_mode: String,
    /// Until when the key replaced by the last rotation is still accepted, unix ms.
    pub previous_key_until_ms: Option<i64>,
}

/// Set a venue's KTV upload key and options (cipher mode, key rotation with an overlap).
#[utoipa::path(tag = "venues", request_body = KtvSettingsBody, security(("bearer" = [])), responses(
    (status = 200, body = KtvSettingsView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[put("/venues/{companycode}/ktv")]
pub async fn set_settings(
    gw: web::Data<Gateway>,
    code: web::Path<String>,
    body: ValidJson<KtvSettingsBody>,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let body = body.0;
    let change = SettingsChange {
        key_wrapped: body
            .key
            .as_deref()
            .and_then(parse_key)
            .map(|k| k.wrap(&gw.ktv_kek)),
        encrypted: body.encrypted,
        cipher_mode: body.cipher_mode,
        overlap_ms: i64::from(body.key_overlap_seconds) * 1_000,
    };
    let lookup = code.clone();
    let settings = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::find_venue(db, &lookup).await?.is_none() {
                return Ok(None);
            }
            store_ktv::set_settings(db, &lookup, &change, now_ms()).await?;
            store_ktv::find_settings(db, &lookup).await
        })
    })
    .await?;
    let settings = found(settings, "venue")?;
    // The venue's actor caches its options: reload them before answering.
    gw.venues.call(&code, Reload).await?;
    Ok(HttpResponse::Ok().json(KtvSettingsView {
        companycode: code,
        key_set: !settings.key_wrapped.is_empty(),
        encrypted: settings.encrypted,
        cipher_mode: settings.cipher_mode,
        previous_key_until_ms: settings.previous_key_until_ms,
    }))
}

/// Enable or disable a venue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenueStatusBody {
    /// `active` or `disabled`.
    #[schema(schema_with = venue_status_values)]
    pub status: String,
}

fn venue_status_values() -> utoipa::openapi::Object {
    super::dto::text_enum(&["active", "disabled"])
}

impl Validate for VenueStatusBody {
    fn validate(&self) -> Result<(), ApiError> {
        match self.status.as_str() {
            "active" | "disabled" => Ok(()),
            _ => Err(ApiError::invalid("status", "must be active or disabled")),
        }
    }
}

/// Enable or disable a venue: a disabled venue's uploads are answered `ret` 1 and nothing
/// of them is stored; the change reaches every replica.
#[utoipa::path(tag = "venues", request_body = VenueStatusBody, security(("bearer" = [])), responses(
    (status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[put("/venues/{companycode}/status")]
pub async fn set_status(
    gw: web::Data<Gateway>,
    code: web::Path<String>,
    body: ValidJson<VenueStatusBody>,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let active = body.0.status == "active";
    let lookup = code.clone();
    let exists = with_db(&gw, move |db| {
        Box::pin(async move { store_ktv::set_venue_status(db, &lookup, active, now_ms()).await })
    })
    .await?;
    found(exists.then_some(()), "venue")?;
    gw.venues.call(&code, Reload).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The venue overview.
#[derive(Serialize, ToSchema)]
pub struct VenueOverview {
    /// The venue.
    pub companycode: String,
    /// Display name.
    pub name: String,
    /// Whether an upload key is stored.
    pub key_set: bool,
    /// Whether realtime and vouchers must be sealed.
    pub encrypted: bool,
    /// The latest uploads: opening hours, system version, realtime snapshot (rooms in upload
    /// order, revenue, batches, unsettled drinks, gua_zhang/xiao_zhang), payment settings,
    /// last upload times.
    pub state: VenueState,
    /// Bills per business date (newest first, up to 31 days): counts and revenue sums.
    pub days: Vec<DaySummary>,
}

/// Days shown in the overview.
const OVERVIEW_DAYS: i64 = 31;

/// Read a venue's overview.
#[utoipa::path(tag = "venues", security(("bearer" = [])), responses(
    (status = 200, body = VenueOverview), (status = 404, body = ErrorBody)))]
#[get("/venues/{companycode}/overview")]
pub async fn overview(
    gw: web::Data<Gateway>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let found_overview = with_db(&gw, move |db| {
        Box::pin(async move {
            let Some(venue) = catalog::find_venue(db, &code).await? else {
                return Ok(None);
            };
            let settings = store_ktv::find_settings(db, &code).await?;
            let state = store_ktv::venue_state(db, &code).await?.unwrap_or_default();
            let days = store_ktv::day_summaries(db, &code, OVERVIEW_DAYS).await?;
            Ok(Some(VenueOverview {
                companycode: venue.companycode,
                name: venue.name,
                key_set: settings.as_ref().is_some_and(|s| !s.key_wrapped.is_empty()),
                encrypted: settings.as_ref().is_none_or(|s| s.encrypted),
                state,
                days,
            }))
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(found(found_overview, "venue")?))
}

/// `?date=yyyy-MM-dd`.
#[derive(Deserialize, IntoParams)]
pub struct DateQuery {
    /// Business date.
    #[param(pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub date: String,
}

/// A business date as the KTV protocol reads it: `yyyy-MM-dd`, from 1970, day 01-31.
fn business_date_text() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(
            "^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        ))
        .description(Some("Business date, `yyyy-MM-dd` (from 1970)"))
        .build()
}

fn business_date(field: &str, text: &str) -> Result<BusinessDate, ApiError> {
    BusinessDate::parse(text).map_err(|_| ApiError::invalid(field, "must be yyyy-MM-dd"))
}

/// List the stored bills of a business date.
#[utoipa::path(tag = "venues", params(DateQuery), security(("bearer" = [])), responses(
    (status = 200, body = [StoredBill]), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
#[get("/venues/{companycode}/bills")]
pub async fn bills(
    gw: web::Data<Gateway>,
    code: web::Path<String>,
    query: web::Query<DateQuery>,
) -> Result<HttpResponse, ApiError> {
    let date = business_date("date", &query.date)?;
    let rows = for_venue(&gw, code.into_inner(), move |db, code| {
        Box::pin(async move { store_ktv::bills_of_day(db, &code, date.as_str()).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// Read one stored bill, as posgate read it (spelling variants under the spec's names).
#[utoipa::path(tag = "venues", security(("bearer" = [])), responses(
    (status = 200, body = StoredBillDetail), (status = 404, body = ErrorBody)))]
#[get("/venues/{companycode}/bills/{voucher}")]
pub async fn bill(
    gw: web::Data<Gateway>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (code, voucher) = path.into_inner();
    let row = with_db(&gw, move |db| {
        Box::pin(async move { store_ktv::find_bill(db, &code, &voucher).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(found(row, "bill")?))
}

/// `?limit=` of a listing.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LimitQuery {
    /// How many, newest first: 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// List a venue's booking-cancellation notices (`notify` uploads), newest first.
#[utoipa::path(tag = "venues", params(LimitQuery), security(("bearer" = [])), responses(
    (status = 200, body = [StoredNotice]), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
#[get("/venues/{companycode}/notices")]
pub async fn notices(
    gw: web::Data<Gateway>,
    code: web::Path<String>,
    query: web::Query<LimitQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = page_limit(query.limit)?;
    let rows = for_venue(&gw, code.into_inner(), move |db, code| {
        Box::pin(async move { store_ktv::list_notices(db, &code, limit).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// A WJ091 request: `type` 0-9 and the parameters that type needs.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Wj091Body {
    /// Request type 0-9 (spec table).
    #[serde(rename = "type")]
    #[schema(minimum = 0, maximum = 9)]
    pub kind: i64,
    /// Business date `yyyy-MM-dd` (types 2, 3, 5, 7, 8).
    #[serde(default)]
    pub date: Option<String>,
    /// One bill only (type 2).
    #[serde(default)]
    pub voucher: Option<String>,
    /// Room (types 4, 9).
    #[serde(default)]
    pub room_id: Option<String>,
    /// `yyyy-MM-dd HH:mm:ss` (type 9).
    #[serde(default)]
    pub begin_date: Option<String>,
    /// `yyyy-MM-dd HH:mm:ss` (type 9).
    #[serde(default)]
    pub end_date: Option<String>,
    /// First page (paged types), default 0.
    #[serde(default)]
    pub page_num: u32,
    /// Page size (paged types), default 100, at most 200.
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Ask for zipped data (default: on, except type 6).
    #[serde(default)]
    pub zip: Option<bool>,
    /// Follow the pages until `total` (default true; at most 20 pages, then `next_page_num`
    /// says where to continue); false returns one page.
    #[serde(default = "yes")]
    pub all_pages: bool,
}

impl Validate for Wj091Body {
    fn validate(&self) -> Result<(), ApiError> {
        if Wj091Type::from_code(self.kind).is_none() {
            return Err(ApiError::invalid("type", "must be 0-9"));
        }
        Ok(())
    }
}

impl Wj091Body {
    fn query(&self) -> Result<Wj091Query, ApiError> {
        let date = || -> Result<BusinessDate, ApiError> {
            business_date(
                "date",
                self.date
                    .as_deref()
                    .ok_or_else(|| ApiError::invalid("date", "required for this type"))?,
            )
        };
        let page = || {
            Page::new(self.page_num, self.page_size.unwrap_or(100))
                .map_err(|e| ApiError::invalid("page_size", e.to_string()))
        };
        let room = || -> Result<RoomId, ApiError> {
            self.room_id
                .as_deref()
                .map(RoomId::new)
                .ok_or_else(|| ApiError::invalid("room_id", "required for this type"))
        };
        let text = |field: &'static str, v: &Option<String>| {
            v.clone()
                .ok_or_else(|| ApiError::invalid(field, "required for this type"))
        };
        let kind = Wj091Type::from_code(self.kind)
            .ok_or_else(|| ApiError::invalid("type", "must be 0-9"))?;
        Ok(match kind {
            Wj091Type::OpenTime => Wj091Query::OpenTime,
            Wj091Type::Realtime => Wj091Query::Realtime,
            Wj091Type::Bills => Wj091Query::Bills {
                date: date()?,
                voucher: self.voucher.clone(),
                page: page()?,
            },
            Wj091Type::MemberRecharges => Wj091Query::MemberRecharges {
                date: date()?,
                page: page()?,
            },
            Wj091Type::RoomConsumption => Wj091Query::RoomConsumption { room_id: room()? },
            Wj091Type::CardFees => Wj091Query::CardFees {
                date: date()?,
                page: page()?,
            },
            Wj091Type::PaymentSettings => Wj091Query::PaymentSettings,
            Wj091Type::RoomOpenings => Wj091Query::RoomOpenings { date: date()? },
            Wj091Type::MemberConsumption => Wj091Query::MemberConsumption {
                date: date()?,
                page: page()?,
            },
            Wj091Type::RoomBookings => Wj091Query::RoomBookings {
                room_id: room()?,
                begin_date: text("begin_date", &self.begin_date)?,
                end_date: text("end_date", &self.end_date)?,
            },
        })
    }
}

/// Most pages one admin WJ091 call follows (20 pages of at most 200 rows); beyond, the
/// answer's `next_page_num` says where to continue.
pub const WJ091_PAGES_MAX: usize = 20;

/// The API error of a WJ091 failure.
fn wj091_error(e: Wj091Error) -> ApiError {
    match e {
        Wj091Error::Disabled => ApiError::unavailable("wj091_disabled", e.to_string()),
        Wj091Error::Rpc(RpcError::Disconnected) => {
            ApiError::unavailable("amqp_disconnected", e.to_string())
        }
        Wj091Error::Rpc(RpcError::Timeout(_)) => {
            ApiError::gateway_timeout("venue_timeout", e.to_string())
        }
        Wj091Error::Rpc(RpcError::Publish(_)) => {
            ApiError::unavailable("amqp_publish_failed", e.to_string())
        }
        Wj091Error::Rpc(RpcError::NoRoute(_)) => {
            ApiError::bad_gateway("venue_not_connected", e.to_string())
        }
        Wj091Error::Decode(_) => ApiError::bad_gateway("venue_bad_reply", e.to_string()),
        Wj091Error::Venue { .. } => ApiError::bad_gateway("venue_error", e.to_string()),
    }
}

fn company(code: &str) -> Result<CompanyCode, ApiError> {
    CompanyCode::parse(code).map_err(|e| ApiError::invalid("companycode", e.to_string()))
}

/// Send a WJ091 request to a venue over RabbitMQ; the reply decoded (`{ret, msg, total,
/// pages, data}`, the pages' rows concatenated).
#[utoipa::path(tag = "venues", request_body = Wj091Body, security(("bearer" = [])), responses(
    (status = 200, description = "decoded reply"), (status = 400, body = ErrorBody),
    (status = 502, body = ErrorBody), (status = 503, body = ErrorBody), (status = 504, body = ErrorBody)))]
#[post("/venues/{companycode}/wj091")]
pub async fn wj091(
    gw: web::Data<Gateway>,
    code: web::Path<String>,
    body: ValidJson<Wj091Body>,
) -> Result<HttpResponse, ApiError> {
    let companycode = company(&code)?;
    let body = body.0;
    let mut request = Wj091Request::new(companycode, body.query()?)
        .map_err(|e| ApiError::invalid("body", e.to_string()))?;
    if let Some(zip) = body.zip {
        request = request.with_zip(zip);
    }
    let client = gw
        .wj091
        .as_ref()
        .ok_or_else(|| wj091_error(Wj091Error::Disabled))?;
    let max_pages = if body.all_pages { WJ091_PAGES_MAX } else { 1 };
    let (replies, next) = client
        .request_pages(request, max_pages)
        .await
        .map_err(wj091_error)?;
    Ok(HttpResponse::Ok().json(merged_json(&replies, next.as_ref())))
}

/// Backfill a business date.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackfillBody {
    /// Business date `yyyy-MM-dd`.
    #[schema(schema_with = business_date_text)]
    pub date: String,
}

impl Validate for BackfillBody {
    fn validate(&self) -> Result<(), ApiError> {
        business_date("date", &self.date).map(drop)
    }
}

/// Pull a venue's bills of a business date over WJ091 and store the missing or changed
/// ones; the counts.
#[utoipa::path(tag = "venues", request_body = BackfillBody, security(("bearer" = [])), responses(
    (status = 200, body = BackfillCounts), (status = 400, body = ErrorBody),
    (status = 502, body = ErrorBody), (status = 503, body = ErrorBody), (status = 504, body = ErrorBody)))]
#[post("/venues/{companycode}/backfill")]
pub async fn backfill(
    gw: web::Data<Gateway>,
    code: web::Path<String>,
    body: ValidJson<BackfillBody>,
) -> Result<HttpResponse, ApiError> {
    let companycode = company(&code)?;
    let date = business_date("date", &body.0.date)?;
    let counts = run_backfill(&gw, &companycode, &date, Trigger::Admin)
        .await
        .map_err(backfill_error)?;
    Ok(HttpResponse::Ok().json(counts))
}

/// The API error of a failed backfill or pull.
fn backfill_error(e: BackfillError) -> ApiError {
    match e {
        BackfillError::Wj091(e) => wj091_error(e),
        BackfillError::Venue(e) => e.into(),
        BackfillError::Request(m) => ApiError::invalid("body", m),
    }
}

/// Pull a venue's member recharges (WJ091 type 3, kept raw) and card fees (type 5) of a
/// business date and store them; what was pulled.
#[utoipa::path(tag = "venues", request_body = BackfillBody, security(("bearer" = [])), responses(
    (status = 200, body = MemberIncomePull), (status = 400, body = ErrorBody),
    (status = 502, body = ErrorBody), (status = 503, body = ErrorBody), (status = 504, body = ErrorBody)))]
#[post("/venues/{companycode}/member-income")]
pub async fn member_income(
    gw: web::Data<Gateway>,
    code: web::Path<String>,
    body: ValidJson<BackfillBody>,
) -> Result<HttpResponse, ApiError> {
    let companycode = company(&code)?;
    let date = business_date("date", &body.0.date)?;
    let pulled = pull_member_income(&gw, &companycode, &date)
        .await
        .map_err(backfill_error)?;
    Ok(HttpResponse::Ok().json(pulled))
}

/// `?from=&to=` (`yyyy-MM-dd`, inclusive).
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DaysQuery {
    /// First business date (default: 30 days before `to`).
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last business date (default: today's business date).
    #[param(format = Date)]
    pub to: Option<String>,
}

/// Days one completeness listing spans at most.
const DAYS_LISTED_MAX: i64 = 366;

impl DaysQuery {
    /// The range, checked.
    fn range(&self, today: chrono::NaiveDate) -> Result<(String, String), ApiError> {
        let parse = |field: &str, text: &str| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| ApiError::invalid_query(field, "must be yyyy-MM-dd"))
        };
        let to = match &self.to {
            Some(t) => parse("to", t)?,
            None => today,
        };
        let from = match &self.from {
            Some(f) => parse("from", f)?,
            None => to - chrono::Duration::days(30),
        };
        if from > to || (to - from).num_days() >= DAYS_LISTED_MAX {
            return Err(ApiError::invalid_query(
                "from",
                format!("must be on or before to, at most {DAYS_LISTED_MAX} days before"),
            ));
        }
        let text = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        Ok((text(from), text(to)))
    }
}

/// Whether posgate holds each business day of a venue whole: the venue's `num` and WJ091
/// `total`, its own revenue, what is stored, bills voided there, the backfill attempts.
#[utoipa::path(tag = "venues", params(DaysQuery), security(("bearer" = [])), responses(
    (status = 200, body = [DayCompleteness]), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
#[get("/venues/{companycode}/days")]
pub async fn completeness(
    gw: web::Data<Gateway>,
    code: web::Path<String>,
    query: web::Query<DaysQuery>,
) -> Result<HttpResponse, ApiError> {
    let rows = venue_range(&gw, code.into_inner(), &query, |db, code, from, to| {
        Box::pin(async move { store_ktv::day_completeness(db, &code, &from, &to).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// List a venue's backfill attempts (admin and scheduled), newest first.
#[utoipa::path(tag = "venues", params(LimitQuery), security(("bearer" = [])), responses(
    (status = 200, body = [BackfillAttempt]), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
#[get("/venues/{companycode}/backfill/attempts")]
pub async fn backfill_attempts(
    gw: web::Data<Gateway>,
    code: web::Path<String>,
    query: web::Query<LimitQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = page_limit(query.limit)?;
    let rows = for_venue(&gw, code.into_inner(), move |db, code| {
        Box::pin(async move { store_ktv::list_attempts(db, &code, limit).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// Runs `read` for venue `code`, or answers 404 for an unknown venue.
async fn for_venue<T, F>(gw: &Gateway, code: String, read: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: for<'a> FnOnce(
            &'a dyn posgate_actors::store::Db,
            String,
        ) -> futures::future::LocalBoxFuture<
            'a,
            Result<T, posgate_actors::store::StoreError>,
        > + Send
        + 'static,
{
    let rows = with_db(gw, move |db| {
        Box::pin(async move {
            if catalog::find_venue(db, &code).await?.is_none() {
                return Ok(None);
            }
            read(db, code).await.map(Some)
        })
    })
    .await?;
    found(rows, "venue")
}

/// Reads a venue's rows of `query`'s range with `read`, or 404 for an unknown venue.
async fn venue_range<T, F>(
    gw: &Gateway,
    code: String,
    query: &DaysQuery,
    read: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: for<'a> FnOnce(
            &'a dyn posgate_actors::store::Db,
            String,
            String,
            String,
        ) -> futures::future::LocalBoxFuture<
            'a,
            Result<T, posgate_actors::store::StoreError>,
        > + Send
        + 'static,
{
    let (from, to) = query.range(gw.business_date())?;
    for_venue(gw, code, move |db, code| read(db, code, from, to)).await
}

/// A venue's report per business day: revenue by charge class (types 1-6) and by payment
/// method, bill counts, and the day's completeness.
#[utoipa::path(tag = "venues", params(DaysQuery), security(("bearer" = [])), responses(
    (status = 200, body = [DayReport]), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
#[get("/venues/{companycode}/report")]
pub async fn report(
    gw: web::Data<Gateway>,
    code: web::Path<String>,
    query: web::Query<DaysQuery>,
) -> Result<HttpResponse, ApiError> {
    let rows = venue_range(&gw, code.into_inner(), &query, |db, code, from, to| {
        Box::pin(async move { ktv_report::day_reports(db, &code, &from, &to).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// The same report as CSV: `business_date,section,item,value` (amounts in fen).
#[utoipa::path(tag = "venues", params(DaysQuery), security(("bearer" = [])), responses(
    (status = 200, description = "text/csv", content_type = "text/csv"),
    (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/venues/{companycode}/report.csv")]
pub async fn report_csv(
    gw: web::Data<Gateway>,
    code: web::Path<String>,
    query: web::Query<DaysQuery>,
) -> Result<HttpResponse, ApiError> {
    let rows = venue_range(&gw, code.into_inner(), &query, |db, code, from, to| {
        Box::pin(async move { ktv_report::day_reports(db, &code, &from, &to).await })
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .body(ktv_report::reports_csv(&rows)))
}

/// A venue's bill events: 反结账 (modify 1), 还原 (modify 2), voids (revoke) and bills the
/// venue no longer lists, as last stored.
#[utoipa::path(tag = "venues", params(DaysQuery), security(("bearer" = [])), responses(
    (status = 200, body = [BillEvent]), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
#[get("/venues/{companycode}/events")]
pub async fn events(
    gw: web::Data<Gateway>,
    code: web::Path<String>,
    query: web::Query<DaysQuery>,
) -> Result<HttpResponse, ApiError> {
    let rows = venue_range(&gw, code.into_inner(), &query, |db, code, from, to| {
        Box::pin(async move { ktv_report::bill_events(db, &code, &from, &to).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}
