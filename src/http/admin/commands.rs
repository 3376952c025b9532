//! Server-to-device commands of the consumption machines: built from the request (or from
//! the store: group rules and whitelists have one source of truth), sent through the
//! terminal's actor inline or, when too large for MQTT, as a `cmdDataUrl` (fetched a bounded
//! number of times until the device acknowledges), and listed with their acknowledgement
//! status. A merchant-wide command reports each device.

use super::{found, with_db};
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::{ValidJson, Validate};
use actix_web::{get, post, web, HttpResponse};
use posgate_actors::entity::{SendCommand, TerminalActor};
use posgate_actors::model::{Account, AccountStatus, Group, Terminal, TerminalFamily};
use posgate_actors::store::commands::{self, DeviceCommand, NewDocument};
use posgate_actors::store::{catalog, now_ms};
use posgate_protocols::mqtt_pos::limits::POS_NUM_MAX;
use posgate_protocols::mqtt_pos::{
    AckId, Change, Command, CommandMessage, DeviceId, GroupRule, HttpUrl, MealMenu, Media,
    MediaItem, MenuItem, OpenDoor, SetTime, SysCfg, WhiteList, WhiteListEntry, WhiteListMode,
    WireTime,
};
use posgate_protocols::secret::Sensitive;
use posgate_protocols::Fen;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most accounts put in one whitelist built from the store (the spec's devices hold ~50,000).
const WHITELIST_ACCOUNTS_MAX: i64 = 100_000;

/// What to send.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CommandBody {
    /// `/pos/cmd` openDoor.
    OpenDoor {
        /// `keepMs`, at most 60000.
        #[schema(maximum = 60_000)]
        keep_ms: Option<u32>,
    },
    /// `/config/set_time`; `time` (`yyyy-MM-dd HH:mm:ss`) defaults to now at the ledger's
    /// UTC offset.
    SetTime {
        /// Device time to set.
        time: Option<String>,
    },
    /// `/pos/sys_cfg`.
    SysCfg {
        /// `depName`.
        #[schema(min_length = 1, max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$")]
        place_name: String,
        /// `qrKey`.
        qr_key: Option<String>,
    },
    /// `/pos/group_rule`, built from a stored group.
    GroupRule {
        /// The group.
        group_id: i64,
    },
    /// `/pos/meal_menu`: the quick menu of one group.
    MealMenu {
        /// Menu group, 0-6.
        #[schema(maximum = 6)]
        group: u8,
        /// Dishes.
        #[schema(max_items = 200)]
        items: Vec<MenuItemBody>,
    },
    /// `/pos/media`: advertisement pictures.
    Media {
        /// `baseUrl`.
        #[schema(max_length = 1024, pattern = r"^https?://[!-~]+$")]
        base_url: String,
        /// `true` updates the listed pictures, `false` replaces all.
        is_part: bool,
        /// Pictures.
        #[schema(max_items = 100)]
        items: Vec<MediaItemBody>,
    },
    /// `/pos/white_list`, built from the merchant's active accounts: `i` user id, `n` name,
    /// `g` group name. Refused, naming them, when user ids are not person numbers (the
    /// spec's `i` is an integer: digits without a leading zero, at most 2^53 - 1).
    WhiteList {
        /// `partial` (update and add) or `full` (replace everything on the device).
        mode: WhiteListModeBody,
        /// `baseUrl` of relative photo URLs.
        #[schema(max_length = 1024, pattern = r"^https?://[!-~]+$")]
        base_url: String,
    },
}

/// One dish of a meal menu.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuItemBody {
    /// Dish id.
    #[schema(pattern = r"^[A-Za-z0-9_.-]{1,32}$")]
    pub id: String,
    /// Keypad digits.
    #[schema(pattern = r"^[0-9]{1,8}$")]
    pub key: String,
    /// Dish name.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$")]
    pub name: String,
    /// Price, fen.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub price: i64,
}

/// One advertisement picture.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaItemBody {
    /// Position.
    pub order: u32,
    /// `add` (default), `modify` or `delete`.
    #[serde(default)]
    pub change: ChangeBody,
    /// Picture URL or path relative to `base_url`.
    #[schema(max_length = 1024, pattern = r"^[!-~]+$")]
    pub url: String,
}

/// What a list item does on the device.
#[derive(Deserialize, ToSchema, Clone, Copy, Default)]
#[serde(rename_all = "snake_case")]
pub enum ChangeBody {
    /// Add.
    #[default]
    Add,
    /// Modify.
    Modify,
    /// Delete.
    Delete,
}

/// Whitelist mode.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum WhiteListModeBody {
    /// `isPart: true`.
    Partial,
    /// `isPart: false`.
    Full,
}

/// Send a command to a device.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    /// The command.
    pub command: CommandBody,
    /// Ask the device to acknowledge (`sAckId`); default true.
    #[serde(default = "yes")]
    pub ack: bool,
    /// Seconds the device has to acknowledge (default `mqtt.command_ack_timeout_seconds`).
    #[schema(minimum = 1, maximum = 86_400)]
    pub timeout_seconds: Option<u64>,
}

fn yes() -> bool {
    true
}

impl Validate for SendBody {
    fn validate(&self) -> Result<(), ApiError> {
        if matches!(self.timeout_seconds, Some(t) if t == 0 || t > 86_400) {
            return Err(ApiError::invalid(
                "timeout_seconds",
                "must be within 1..=86400",
            ));
        }
        Ok(())
    }
}

fn invalid(field: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(field, e.to_string())
}

/// Builds the protocol command, reading the store where the command's data lives there.
async fn build(gw: &Gateway, merchant_id: i64, body: CommandBody) -> Result<Command, ApiError> {
    Ok(match body {
        CommandBody::OpenDoor { keep_ms } => Command::OpenDoor(OpenDoor { keep_ms }),
        CommandBody::SetTime { time } => {
            let text = time.unwrap_or_else(|| {
                let offset =
                    posgate_actors::ledger::business_offset(gw.config.ledger.utc_offset_minutes);
                chrono::Utc::now()
                    .with_timezone(&offset)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            });
            let time = WireTime::parse(&text)
                .ok_or_else(|| ApiError::invalid("command.time", "not yyyy-MM-dd HH:mm:ss"))?;
            Command::SetTime(SetTime { time })
        }
        CommandBody::SysCfg { place_name, qr_key } => Command::SysCfg(SysCfg {
            place_name,
            qr_key: qr_key.map(Sensitive::new),
        }),
        CommandBody::MealMenu { group, items } => Command::MealMenu(MealMenu {
            group,
            items: items
                .into_iter()
                .map(|i| MenuItem {
                    id: i.id,
                    key: i.key,
                    name: i.name,
                    price: Fen(i.price),
                })
                .collect(),
        }),
        CommandBody::Media {
            base_url,
            is_part,
            items,
        } => Command::Media(Media {
            base_url: HttpUrl::new(&base_url).map_err(|e| invalid("command.base_url", e))?,
            is_part,
            items: items
                .into_iter()
                .map(|i| MediaItem {
                    order: i.order,
                    change: match i.change {
                        ChangeBody::Add => Change::Add,
                        ChangeBody::Modify => Change::Modify,
                        ChangeBody::Delete => Change::Delete,
                    },
                    url: i.url,
                })
                .collect(),
        }),
        CommandBody::GroupRule { group_id } => group_rule(gw, merchant_id, group_id).await?,
        CommandBody::WhiteList { mode, base_url } => {
            white_list(gw, merchant_id, mode, &base_url).await?
        }
    })
}

/// `/pos/white_list` of `merchant_id`'s active accounts.
async fn white_list(
    gw: &Gateway,
    merchant_id: i64,
    mode: WhiteListModeBody,
    base_url: &str,
) -> Result<Command, ApiError> {
    let base_url = HttpUrl::new(base_url).map_err(|e| invalid("command.base_url", e))?;
    let (accounts, groups) = with_db(gw, move |db| {
        Box::pin(async move {
            Ok((
                catalog::list_accounts(db, merchant_id, WHITELIST_ACCOUNTS_MAX).await?,
                catalog::list_groups(db, merchant_id).await?,
            ))
        })
    })
    .await?;
    Ok(Command::WhiteList(WhiteList {
        mode: match mode {
            WhiteListModeBody::Partial => WhiteListMode::Partial,
            WhiteListModeBody::Full => WhiteListMode::FullReplace,
        },
        base_url,
        entries: whitelist_entries(&accounts, &groups)?,
    }))
}

/// `/pos/group_rule` of a stored group of `merchant_id`.
async fn group_rule(gw: &Gateway, merchant_id: i64, group_id: i64) -> Result<Command, ApiError> {
    let group = with_db(gw, move |db| {
        Box::pin(async move { catalog::get_group(db, group_id).await })
    })
    .await?;
    let g = match group {
        Some(g) if g.merchant_id == merchant_id => g,
        _ => {
            return Err(ApiError::invalid(
                "command.group_id",
                "no such group for this terminal's merchant",
            ))
        }
    };
    let count = |v: i64, field: &str| u32::try_from(v).map_err(|e| invalid(field, e));
    Ok(Command::GroupRule(GroupRule {
        group: g.name,
        single_limit: Fen(g.single_limit),
        daily_amount_limit: Fen(g.daily_amount_limit),
        daily_count_limit: count(g.daily_count_limit, "daily_count_limit")?,
        offline_amount_limit: Fen(g.offline_amount_limit),
        offline_count_limit: count(g.offline_count_limit, "offline_count_limit")?,
        discount: u8::try_from(g.discount_percent).map_err(|e| invalid("discount_percent", e))?,
    }))
}

/// Most offending user ids named in a refused whitelist.
const WHITELIST_BAD_IDS_SHOWN: usize = 20;

/// The whitelist person number (`i`, an Integer in the spec) of a user id, when it goes out
/// exactly as stored: decimal digits without sign or leading zero, at most 2^53 - 1. `None`
/// for an id the device would get back as another text (`0200004` would come back `200004`).
fn person_number(user_id: &str) -> Option<u64> {
    let n = user_id.parse::<u64>().ok()?;
    (n <= POS_NUM_MAX && n.to_string() == user_id).then_some(n)
}

/// The entries of a whitelist of the active `accounts`: `i` user id, `n` name (user id if
/// empty), `g` group name. Refused, naming them, when user ids are not person numbers.
fn whitelist_entries(
    accounts: &[Account],
    groups: &[Group],
) -> Result<Vec<WhiteListEntry>, ApiError> {
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for a in accounts
        .iter()
        .filter(|a| a.status == AccountStatus::Active)
    {
        let Some(number) = person_number(&a.user_id) else {
            bad.push(a.user_id.as_str());
            continue;
        };
        let mut entry = WhiteListEntry::new(number);
        entry.name = Some(if a.name.is_empty() {
            a.user_id.clone()
        } else {
            a.name.clone()
        });
        entry.group = a
            .group_id
            .and_then(|g| groups.iter().find(|x| x.id == g))
            .map(|g| g.name.clone());
        entries.push(entry);
    }
    if bad.is_empty() {
        return Ok(entries);
    }
    let shown = bad[..bad.len().min(WHITELIST_BAD_IDS_SHOWN)].join(", ");
    let more = match bad.len().saturating_sub(WHITELIST_BAD_IDS_SHOWN) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Err(ApiError::invalid(
        "command",
        format!(
            "the whitelist person number `i` is an integer: user ids must be digits without a \
             leading zero, at most {POS_NUM_MAX}, to reach the devices as stored; not: \
             {shown}{more}"
        ),
    ))
}

/// Send a command to a consumption machine. Answers the command record: `pending` until the
/// device acknowledges (`acknowledged`, with its result) or the timeout passes
/// (`timed_out`); `sent` when no acknowledgement was asked for.
#[utoipa::path(tag = "commands", request_body = SendBody, security(("bearer" = [])), responses(
    (status = 201, body = DeviceCommand), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[post("/terminals/{id}/commands")]
pub async fn send(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<SendBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let terminal = with_db(&gw, move |db| {
        Box::pin(async move { catalog::get_terminal(db, id).await })
    })
    .await?;
    let terminal = found(terminal, "terminal")?;
    if terminal.family != TerminalFamily::MqttPos {
        return Err(ApiError::conflict("commands go to mqtt_pos terminals only"));
    }
    mqtt_enabled(&gw)?;
    let SendBody {
        command,
        ack,
        timeout_seconds,
    } = body.0;
    let command = build(&gw, terminal.merchant_id, command).await?;
    command.validate().map_err(|e| invalid("command", e))?;
    let record = send_to(&gw, &terminal, &command, ack, timeout_seconds).await?;
    Ok(HttpResponse::Created().json(record))
}

/// What a merchant-wide command did on one device.
#[derive(Serialize, ToSchema)]
pub struct DeviceSend {
    /// The terminal.
    pub terminal_id: i64,
    /// Its code (device id).
    pub terminal_code: String,
    /// `sent` (the record is in `command`) or `failed` (`error` says why).
    pub outcome: &'static str,
    /// The command record, when sent.
    pub command: Option<DeviceCommand>,
    /// Why it was not sent, as the API's error bodies.
    pub error: Option<ErrorBody>,
}

impl DeviceSend {
    fn of(terminal: &Terminal, result: Result<DeviceCommand, ApiError>) -> DeviceSend {
        let (outcome, command, error) = match result {
            Ok(record) => ("sent", Some(record), None),
            Err(e) => {
                tracing::warn!(terminal = terminal.id, error = %e.message, "merchant command not sent to a device");
                let error = ErrorBody {
                    error: e.code,
                    message: e.message,
                    field: e.field,
                };
                ("failed", None, Some(error))
            }
        };
        DeviceSend {
            terminal_id: terminal.id,
            terminal_code: terminal.code.clone(),
            outcome,
            command,
            error,
        }
    }
}

/// Send a command to every active consumption machine of a merchant, one message per
/// device (each with its own `sAckId`). posgate does not use the spec's
/// `{prefix}/pos/all/api` topic: on a broker shared by several merchants it would reach
/// (and, for a full whitelist, wipe) other merchants' devices. One device's failure does not
/// stop the others: the answer reports each device, `sent` with its record or `failed` with
/// the reason.
#[utoipa::path(tag = "commands", request_body = SendBody, security(("bearer" = [])), responses(
    (status = 201, body = Vec<DeviceSend>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[post("/merchants/{id}/commands")]
pub async fn send_to_merchant(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<SendBody>,
) -> Result<HttpResponse, ApiError> {
    let merchant = id.into_inner();
    mqtt_enabled(&gw)?;
    let terminals = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::get_merchant(db, merchant).await?.is_none() {
                return Ok(None);
            }
            catalog::list_terminals(db, merchant, TerminalFamily::MqttPos)
                .await
                .map(Some)
        })
    })
    .await?;
    let terminals = found(terminals, "merchant")?;
    let SendBody {
        command,
        ack,
        timeout_seconds,
    } = body.0;
    let command = build(&gw, merchant, command).await?;
    command.validate().map_err(|e| invalid("command", e))?;
    let mut sends = Vec::new();
    for terminal in terminals
        .iter()
        .filter(|t| t.status == posgate_actors::model::TerminalStatus::Active)
    {
        let result = send_to(&gw, terminal, &command, ack, timeout_seconds).await;
        sends.push(DeviceSend::of(terminal, result));
    }
    Ok(HttpResponse::Created().json(sends))
}

fn mqtt_enabled(gw: &Gateway) -> Result<(), ApiError> {
    if gw.mqtt.is_none() {
        return Err(ApiError::conflict(
            "MQTT is disabled (mqtt.enabled = false)",
        ));
    }
    Ok(())
}

/// Encodes `command` for one device (inline, or as a `cmdDataUrl` when larger than
/// `mqtt.command_inline_bytes_max`) and sends it through the terminal's actor.
async fn send_to(
    gw: &Gateway,
    terminal: &Terminal,
    command: &Command,
    ack: bool,
    timeout_seconds: Option<u64>,
) -> Result<DeviceCommand, ApiError> {
    // A code registered before device ids were checked (`all` would broadcast to every
    // merchant's devices) is never published to.
    DeviceId::new(&terminal.code).map_err(|_| {
        ApiError::conflict(format!(
            "terminal {} cannot receive commands: {}",
            terminal.id,
            super::dto::MQTT_DEVICE_ID_RULE
        ))
    })?;
    let api = command.api().path().to_string();
    let settings = &gw.config.mqtt;
    let ack_id = ack.then(|| hex::encode(rand::random::<[u8; 8]>()));
    let inline = {
        let mut m = CommandMessage::inline(command.clone());
        if let Some(a) = &ack_id {
            m = m.with_ack(AckId::new(a).map_err(|e| invalid("ack", e))?);
        }
        m.encode()
    };
    let now = now_ms();
    let (payload, delivery, document_bytes) = match inline {
        Ok(bytes) if bytes.len() <= settings.command_inline_bytes_max => {
            let n = bytes.len() as i64;
            (bytes, "inline", n)
        }
        // Too large for MQTT: serve the document at an expiring URL, fetched a bounded
        // number of times until the device acknowledges the command.
        _ => {
            let (message, size) = remote(gw, terminal.id, command, ack_id.as_deref(), now).await?;
            (message, "url", size)
        }
    };
    let timeout = timeout_seconds.unwrap_or(settings.command_ack_timeout_seconds) as i64;
    Ok(gw
        .terminals
        .call(
            &TerminalActor::key(TerminalFamily::MqttPos, &terminal.code),
            SendCommand {
                api,
                payload,
                ack_id,
                delivery,
                document_bytes,
                expires_at_ms: now + timeout * 1000,
            },
        )
        .await?)
}

/// Stores `command`'s document for `terminal_id` and returns the `{"cmdDataUrl": ...}`
/// message that points at it, with the document's size.
async fn remote(
    gw: &Gateway,
    terminal_id: i64,
    command: &Command,
    ack_id: Option<&str>,
    now: i64,
) -> Result<(Vec<u8>, i64), ApiError> {
    let settings = &gw.config.mqtt;
    let document = command.to_document().map_err(|e| invalid("command", e))?;
    let token = hex::encode(rand::random::<[u8; 32]>());
    let digest = crate::secret::sha256_hex(&token);
    let body = String::from_utf8(document).map_err(|e| invalid("command", e))?;
    let size = body.len() as i64;
    let expires = now + (settings.command_url_ttl_seconds as i64) * 1000;
    let document_ack = ack_id.map(str::to_string);
    with_db(gw, move |db| {
        Box::pin(async move {
            let document = NewDocument {
                token_sha256: &digest,
                body: &body,
                terminal_id,
                ack_id: document_ack.as_deref(),
                expires_at_ms: expires,
            };
            commands::put_document(db, &document).await
        })
    })
    .await?;
    let url = format!(
        "{}/mqtt/v1/commands/{token}",
        settings.public_base_url.trim_end_matches('/')
    );
    let url = HttpUrl::new(&url).map_err(|e| invalid("mqtt.public_base_url", e))?;
    let mut m = CommandMessage::remote(url).with_api(command.api());
    if let Some(a) = ack_id {
        m = m.with_ack(AckId::new(a).map_err(|e| invalid("ack", e))?);
    }
    Ok((m.encode().map_err(|e| invalid("command", e))?, size))
}

/// A terminal's commands, newest first, with their acknowledgement status.
#[utoipa::path(tag = "commands", security(("bearer" = [])), responses(
    (status = 200, body = Vec<DeviceCommand>), (status = 404, body = ErrorBody)))]
#[get("/terminals/{id}/commands")]
pub async fn list(gw: web::Data<Gateway>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let listed = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::get_terminal(db, id).await?.is_none() {
                return Ok(None);
            }
            commands::list(db, id, 100, now_ms()).await.map(Some)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(found(listed, "terminal")?))
}
