//! Server -> device commands on `…/api` (or `…/all/api`): every command of the spec, validated
//! before it is encoded.
//!
//! A device silently ignores or misreads a bad command (a discount of 150, menu group 9, a key
//! that is not digits), and nobody sees the error until a cashier does, so posgate checks what
//! it sends as strictly as what it receives; a failure is posgate's own bug and maps to
//! [`XfCode::InternalError`](super::codes::XfCode::InternalError).
//!
//! Shape: a [`Command`] is the `api` plus its parameters; a [`CommandMessage`] wraps it for
//! publishing, with the optional `sAckId` (ask the device to acknowledge on `api_ret`) and
//! `timeout`, either inline or as the spec's large-payload form `{"cmdDataUrl": …}` where the
//! device fetches the command from a URL (optionally with a few parameters mixed in, which the
//! device merges into the fetched JSON). [`Command::to_document`] produces that fetched file.
//!
//! Each command is encoded like its spec example: media items carry `"type": 0` for an
//! addition (as the media example does; the table says omitted = add, and both mean the
//! same), whitelist entries omit `t` for an addition (as the whitelist examples do). The full
//! whitelist table names the api `/pos/whitelist` but both examples use `/pos/white_list`,
//! which posgate sends. `timeout`'s unit is not stated by the spec; it is passed through.

use serde_json::{Map, Value};

use super::error::MqttPosError;
use super::ids::{check_display_text, check_id, AckId, Sensitive};
use super::limits::{
    COMMAND_PAYLOAD_BYTES_MAX, DISCOUNT_MAX, DISPLAY_TEXT_CHARS_MAX, MEAL_GROUP_MAX,
    MEDIA_ITEMS_MAX, MENU_ITEMS_MAX, OPEN_DOOR_KEEP_MS_MAX, POS_NUM_MAX, REMOTE_DOCUMENT_BYTES_MAX,
    SECRET_BYTES_MAX, URL_BYTES_MAX, WHITELIST_ENTRIES_MAX,
};
use super::time::{WireDate, WireTime};
use crate::money::{Fen, AMOUNT_FEN_MAX};

/// Longest dish id and longest card number.
const MENU_ID_BYTES_MAX: usize = 32;
/// Longest keypad key of a dish (digits).
const MENU_KEY_DIGITS_MAX: usize = 8;
/// Longest card number (`c`), hexadecimal or alphanumeric card serial.
const CARD_NO_BYTES_MAX: usize = 32;

fn invalid(field: &'static str, reason: &'static str) -> MqttPosError {
    MqttPosError::InvalidCommand { field, reason }
}

fn check_money(amount: Fen, field: &'static str) -> Result<(), MqttPosError> {
    if (0..=AMOUNT_FEN_MAX).contains(&amount.get()) {
        Ok(())
    } else {
        Err(invalid(field, "amount out of range"))
    }
}

fn check_text(text: &str, field: &'static str) -> Result<(), MqttPosError> {
    if check_display_text(text, DISPLAY_TEXT_CHARS_MAX) {
        Ok(())
    } else {
        Err(invalid(field, "empty, too long or has control characters"))
    }
}

fn check_opt_text(text: &Option<String>, field: &'static str) -> Result<(), MqttPosError> {
    text.as_deref().map_or(Ok(()), |t| check_text(t, field))
}

/// A URL or relative path: 1..=[`URL_BYTES_MAX`] printable ASCII without spaces.
fn check_url_ref(text: &str, field: &'static str) -> Result<(), MqttPosError> {
    if !text.is_empty() && text.len() <= URL_BYTES_MAX && text.bytes().all(|b| b.is_ascii_graphic())
    {
        Ok(())
    } else {
        Err(invalid(field, "not a URL or path"))
    }
}

/// Base64 image text: the base64 alphabet, optionally after a `data:image/…;base64,` prefix.
fn check_base64_image(text: &str, field: &'static str) -> Result<(), MqttPosError> {
    let body = match text.strip_prefix("data:image/") {
        Some(rest) => rest
            .find(";base64,")
            .and_then(|at| rest.get(at + ";base64,".len()..))
            .unwrap_or(""),
        None => text,
    };
    let ok = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=');
    if ok {
        Ok(())
    } else {
        Err(invalid(field, "not base64 image data"))
    }
}

/// An absolute `http://` or `https://` URL (`baseUrl`, `cmdDataUrl`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HttpUrl(String);

impl HttpUrl {
    /// Validates an absolute HTTP(S) URL of printable ASCII, at most [`URL_BYTES_MAX`] bytes.
    pub fn new(text: &str) -> Result<HttpUrl, MqttPosError> {
        let rest = text
            .strip_prefix("http://")
            .or_else(|| text.strip_prefix("https://"));
        let ok = matches!(rest, Some(r) if !r.is_empty())
            && text.len() <= URL_BYTES_MAX
            && text.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(HttpUrl(text.to_owned()))
        } else {
            Err(invalid("url", "not an absolute http(s) URL"))
        }
    }

    /// The URL text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The `api` of a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiName {
    /// `/pos/cmd`.
    Cmd,
    /// `/pos/group_rule`.
    GroupRule,
    /// `/pos/meal_menu`.
    MealMenu,
    /// `/pos/media`.
    Media,
    /// `/pos/sys_cfg`.
    SysCfg,
    /// `/pos/white_list`.
    WhiteList,
    /// `/config/set_time`.
    SetTime,
}

impl ApiName {
    /// The wire path.
    pub const fn path(self) -> &'static str {
        match self {
            ApiName::Cmd => "/pos/cmd",
            ApiName::GroupRule => "/pos/group_rule",
            ApiName::MealMenu => "/pos/meal_menu",
            ApiName::Media => "/pos/media",
            ApiName::SysCfg => "/pos/sys_cfg",
            ApiName::WhiteList => "/pos/white_list",
            ApiName::SetTime => "/config/set_time",
        }
    }
}

/// What a list item does (`type` of media, `t` of whitelist entries).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Change {
    /// Add (omitted on the wire, or 0).
    #[default]
    Add,
    /// Modify (1).
    Modify,
    /// Delete (3).
    Delete,
}

impl Change {
    /// The wire number.
    pub const fn code(self) -> u8 {
        match self {
            Change::Add => 0,
            Change::Modify => 1,
            Change::Delete => 3,
        }
    }
}

/// `/pos/cmd` `openDoor`: open the door (remote opening).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenDoor {
    /// `keepMs`: how long to keep it open, at most [`OPEN_DOOR_KEEP_MS_MAX`].
    pub keep_ms: Option<u32>,
}

/// `/pos/group_rule`: limits and discount of a user group. Zero limits mean "no limit".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRule {
    /// `g`: group name.
    pub group: String,
    /// `dcxe`: single-payment limit.
    pub single_limit: Fen,
    /// `rxe`: daily amount limit.
    pub daily_amount_limit: Fen,
    /// `rxc`: daily count limit.
    pub daily_count_limit: u32,
    /// `zxe`: offline amount limit.
    pub offline_amount_limit: Fen,
    /// `zxc`: offline count limit.
    pub offline_count_limit: u32,
    /// `dz`: discount, 0..=100 (see [`super::discount::apply_discount`]); sent as the
    /// percentage the server applies ([`super::discount::effective_percent`]: 0 goes out as
    /// 100).
    pub discount: u8,
}

/// One dish of a meal menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenuItem {
    /// `id`: dish id, `[A-Za-z0-9_.-]`, at most 32 bytes.
    pub id: String,
    /// `key`: keypad digits, 1 to 8, unique in the menu.
    pub key: String,
    /// `mc`: dish name.
    pub name: String,
    /// `money`: price.
    pub price: Fen,
}

/// `/pos/meal_menu`: the quick menu of one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MealMenu {
    /// `group`: 0..=6.
    pub group: u8,
    /// `list`.
    pub items: Vec<MenuItem>,
}

/// One advertisement picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaItem {
    /// `order`: position.
    pub order: u32,
    /// `type`: add, modify or delete.
    pub change: Change,
    /// `url`: picture URL or path relative to `baseUrl`.
    pub url: String,
}

/// `/pos/media`: advertisement pictures on the left screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Media {
    /// `baseUrl`.
    pub base_url: HttpUrl,
    /// `isPart`: `true` updates the listed items, `false` replaces all.
    pub is_part: bool,
    /// `list`.
    pub items: Vec<MediaItem>,
}

/// `/pos/sys_cfg`: system configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SysCfg {
    /// `depName`: name of the place.
    pub place_name: String,
    /// `qrKey`: QR-code key (secret).
    pub qr_key: Option<Sensitive<String>>,
}

/// A whitelist entry's archive photo (`p`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Photo {
    /// A URL, or a path relative to `baseUrl`.
    Url(String),
    /// Inline base64 image data.
    Base64(String),
    /// `2`: keep the photo the device has.
    Keep,
}

/// A whitelist entry's face (`f`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Face {
    /// A URL, or a path relative to `baseUrl`.
    Url(String),
    /// Inline base64 image data.
    Base64(String),
    /// `2`: keep the face the device has.
    Keep,
    /// `1`: use the archive photo as the face.
    SameAsPhoto,
}

/// One person of a whitelist (fields named after their meaning; wire names in the docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhiteListEntry {
    /// `i`: person number, at most 2^53 - 1, unique in the list.
    pub id: u64,
    /// `t`: add, modify or delete.
    pub change: Change,
    /// `n`: name (may be omitted for a deletion; required in a full replacement).
    pub name: Option<String>,
    /// `g`: user group.
    pub group: Option<String>,
    /// `j`: may consume offline.
    pub offline_allowed: Option<bool>,
    /// `u`: staff number.
    pub staff_no: Option<String>,
    /// `c`: card number (card serial such as `C15DEFD1`).
    pub card_no: Option<String>,
    /// `d`: department.
    pub department: Option<String>,
    /// `p`: archive photo.
    pub photo: Option<Photo>,
    /// `f`: face.
    pub face: Option<Face>,
    /// `b`: birthday.
    pub birthday: Option<WireDate>,
    /// `w`: password (secret).
    pub password: Option<Sensitive<String>>,
    /// `m`: access rule.
    pub access_rule: Option<String>,
    /// `tb`: valid from.
    pub valid_from: Option<WireTime>,
    /// `te`: valid until.
    pub valid_until: Option<WireTime>,
}

impl WhiteListEntry {
    /// An entry with only its number set: an addition with no optional field.
    pub fn new(id: u64) -> WhiteListEntry {
        WhiteListEntry {
            id,
            change: Change::Add,
            name: None,
            group: None,
            offline_allowed: None,
            staff_no: None,
            card_no: None,
            department: None,
            photo: None,
            face: None,
            birthday: None,
            password: None,
            access_rule: None,
            valid_from: None,
            valid_until: None,
        }
    }

    fn validate(&self, mode: WhiteListMode) -> Result<(), MqttPosError> {
        if self.id > POS_NUM_MAX {
            return Err(invalid("i", "person number out of range"));
        }
        if mode == WhiteListMode::FullReplace {
            if self.change != Change::Add {
                return Err(invalid("t", "a full replacement only adds"));
            }
            if self.name.is_none() {
                return Err(invalid("n", "a full replacement needs names"));
            }
        }
        check_opt_text(&self.name, "n")?;
        check_opt_text(&self.group, "g")?;
        check_opt_text(&self.staff_no, "u")?;
        check_opt_text(&self.department, "d")?;
        check_opt_text(&self.access_rule, "m")?;
        if let Some(card) = &self.card_no {
            if card.is_empty()
                || card.len() > CARD_NO_BYTES_MAX
                || !card.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(invalid(
                    "c",
                    "card number must be 1 to 32 letters or digits",
                ));
            }
        }
        match &self.photo {
            Some(Photo::Url(url)) => check_url_ref(url, "p")?,
            Some(Photo::Base64(data)) => check_base64_image(data, "p")?,
            Some(Photo::Keep) | None => {}
        }
        match &self.face {
            Some(Face::Url(url)) => check_url_ref(url, "f")?,
            Some(Face::Base64(data)) => check_base64_image(data, "f")?,
            Some(Face::Keep) | Some(Face::SameAsPhoto) | None => {}
        }
        if let Some(password) = &self.password {
            let p = password.expose();
            if p.is_empty()
                || p.len() > SECRET_BYTES_MAX
                || !p.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(invalid("w", "password must be 1 to 128 printable ASCII"));
            }
        }
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until) {
            if from > until {
                return Err(invalid("tb", "validity starts after it ends"));
            }
        }
        Ok(())
    }

    fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("i".into(), Value::from(self.id));
        if self.change != Change::Add {
            m.insert("t".into(), Value::from(self.change.code()));
        }
        let texts = [
            ("n", &self.name),
            ("g", &self.group),
            ("u", &self.staff_no),
            ("c", &self.card_no),
            ("d", &self.department),
            ("m", &self.access_rule),
        ];
        for (key, text) in texts {
            if let Some(text) = text {
                m.insert(key.into(), Value::from(text.as_str()));
            }
        }
        if let Some(allowed) = self.offline_allowed {
            m.insert("j".into(), Value::from(allowed));
        }
        if let Some(photo) = &self.photo {
            let text = match photo {
                Photo::Url(s) | Photo::Base64(s) => s.as_str(),
                Photo::Keep => "2",
            };
            m.insert("p".into(), Value::from(text));
        }
        if let Some(face) = &self.face {
            let text = match face {
                Face::Url(s) | Face::Base64(s) => s.as_str(),
                Face::Keep => "2",
                Face::SameAsPhoto => "1",
            };
            m.insert("f".into(), Value::from(text));
        }
        if let Some(birthday) = self.birthday {
            m.insert("b".into(), Value::from(birthday.to_string()));
        }
        if let Some(password) = &self.password {
            m.insert("w".into(), Value::from(password.expose().as_str()));
        }
        if let Some(from) = self.valid_from {
            m.insert("tb".into(), Value::from(from.to_string()));
        }
        if let Some(until) = self.valid_until {
            m.insert("te".into(), Value::from(until.to_string()));
        }
        Value::Object(m)
    }
}

/// Partial update or full replacement of a whitelist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WhiteListMode {
    /// `isPart: true`: update the listed people, add the missing ones.
    Partial,
    /// `isPart: false`: clear every record on the device, then add the listed people
    /// (usually sent to `…/all/api`). Entries must be named additions.
    FullReplace,
}

/// `/pos/white_list`: the people a device accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhiteList {
    /// Partial or full.
    pub mode: WhiteListMode,
    /// `baseUrl`: prefix of relative photo URLs.
    pub base_url: HttpUrl,
    /// `list`.
    pub entries: Vec<WhiteListEntry>,
}

/// `/config/set_time`: set the device clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetTime {
    /// `timeStr`.
    pub time: WireTime,
}

/// A server -> device command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `/pos/cmd` `openDoor`.
    OpenDoor(OpenDoor),
    /// `/pos/group_rule`.
    GroupRule(GroupRule),
    /// `/pos/meal_menu`.
    MealMenu(MealMenu),
    /// `/pos/media`.
    Media(Media),
    /// `/pos/sys_cfg`.
    SysCfg(SysCfg),
    /// `/pos/white_list`.
    WhiteList(WhiteList),
    /// `/config/set_time`.
    SetTime(SetTime),
}

impl Command {
    /// The command's `api`.
    pub fn api(&self) -> ApiName {
        match self {
            Command::OpenDoor(_) => ApiName::Cmd,
            Command::GroupRule(_) => ApiName::GroupRule,
            Command::MealMenu(_) => ApiName::MealMenu,
            Command::Media(_) => ApiName::Media,
            Command::SysCfg(_) => ApiName::SysCfg,
            Command::WhiteList(_) => ApiName::WhiteList,
            Command::SetTime(_) => ApiName::SetTime,
        }
    }

    /// Checks every field against what the device accepts.
    pub fn validate(&self) -> Result<(), MqttPosError> {
        match self {
            Command::OpenDoor(c) => {
                if c.keep_ms.is_some_and(|ms| ms > OPEN_DOOR_KEEP_MS_MAX) {
                    return Err(invalid("keepMs", "longer than one minute"));
                }
            }
            Command::GroupRule(c) => {
                check_text(&c.group, "g")?;
                check_money(c.single_limit, "dcxe")?;
                check_money(c.daily_amount_limit, "rxe")?;
                check_money(c.offline_amount_limit, "zxe")?;
                if c.discount > DISCOUNT_MAX {
                    return Err(invalid("dz", "discount above 100"));
                }
            }
            Command::MealMenu(c) => {
                if c.group > MEAL_GROUP_MAX {
                    return Err(invalid("group", "menu group above 6"));
                }
                if c.items.len() > MENU_ITEMS_MAX {
                    return Err(invalid("list", "too many dishes"));
                }
                let mut keys = std::collections::HashSet::new();
                for item in &c.items {
                    if !check_id(&item.id, MENU_ID_BYTES_MAX) {
                        return Err(invalid("id", "dish id must be 1 to 32 of [A-Za-z0-9_.-]"));
                    }
                    if item.key.is_empty()
                        || item.key.len() > MENU_KEY_DIGITS_MAX
                        || !item.key.bytes().all(|b| b.is_ascii_digit())
                    {
                        return Err(invalid("key", "key must be 1 to 8 digits"));
                    }
                    if !keys.insert(item.key.as_str()) {
                        return Err(invalid("key", "key used twice"));
                    }
                    check_text(&item.name, "mc")?;
                    check_money(item.price, "money")?;
                }
            }
            Command::Media(c) => {
                if c.items.len() > MEDIA_ITEMS_MAX {
                    return Err(invalid("list", "too many media"));
                }
                for item in &c.items {
                    check_url_ref(&item.url, "url")?;
                }
            }
            Command::SysCfg(c) => {
                check_text(&c.place_name, "depName")?;
                if let Some(key) = &c.qr_key {
                    let k = key.expose();
                    if k.is_empty()
                        || k.len() > SECRET_BYTES_MAX
                        || !k.bytes().all(|b| b.is_ascii_graphic())
                    {
                        return Err(invalid("qrKey", "key must be 1 to 128 printable ASCII"));
                    }
                }
            }
            Command::WhiteList(c) => {
                if c.entries.len() > WHITELIST_ENTRIES_MAX {
                    return Err(invalid("list", "too many people"));
                }
                let mut ids = std::collections::HashSet::new();
                for entry in &c.entries {
                    if !ids.insert(entry.id) {
                        return Err(invalid("i", "person listed twice"));
                    }
                    entry.validate(c.mode)?;
                }
            }
            Command::SetTime(_) => {}
        }
        Ok(())
    }

    /// The parameters (without `api`), unvalidated.
    fn params(&self) -> Map<String, Value> {
        let mut m = Map::new();
        match self {
            Command::OpenDoor(c) => {
                m.insert("command".into(), Value::from("openDoor"));
                if let Some(ms) = c.keep_ms {
                    m.insert("keepMs".into(), Value::from(ms));
                }
            }
            Command::GroupRule(c) => {
                m.insert("g".into(), Value::from(c.group.as_str()));
                m.insert("dcxe".into(), Value::from(c.single_limit.get()));
                m.insert("rxe".into(), Value::from(c.daily_amount_limit.get()));
                m.insert("rxc".into(), Value::from(c.daily_count_limit));
                m.insert("zxe".into(), Value::from(c.offline_amount_limit.get()));
                m.insert("zxc".into(), Value::from(c.offline_count_limit));
                // What the server applies: a stored 0 (full price) goes out as 100.
                m.insert(
                    "dz".into(),
                    Value::from(super::discount::effective_percent(c.discount)),
                );
            }
            Command::MealMenu(c) => {
                m.insert("group".into(), Value::from(c.group));
                let list = c
                    .items
                    .iter()
                    .map(|item| {
                        let mut d = Map::new();
                        d.insert("id".into(), Value::from(item.id.as_str()));
                        d.insert("key".into(), Value::from(item.key.as_str()));
                        d.insert("mc".into(), Value::from(item.name.as_str()));
                        d.insert("money".into(), Value::from(item.price.get()));
                        Value::Object(d)
                    })
                    .collect();
                m.insert("list".into(), Value::Array(list));
            }
            Command::Media(c) => {
                m.insert("baseUrl".into(), Value::from(c.base_url.as_str()));
                m.insert("isPart".into(), Value::from(c.is_part));
                let list = c
                    .items
                    .iter()
                    .map(|item| {
                        let mut d = Map::new();
                        d.insert("order".into(), Value::from(item.order));
                        d.insert("type".into(), Value::from(item.change.code()));
                        d.insert("url".into(), Value::from(item.url.as_str()));
                        Value::Object(d)
                    })
                    .collect();
                m.insert("list".into(), Value::Array(list));
            }
            Command::SysCfg(c) => {
                m.insert("depName".into(), Value::from(c.place_name.as_str()));
                if let Some(key) = &c.qr_key {
                    m.insert("qrKey".into(), Value::from(key.expose().as_str()));
                }
            }
            Command::WhiteList(c) => {
                m.insert(
                    "isPart".into(),
                    Value::from(c.mode == WhiteListMode::Partial),
                );
                m.insert("baseUrl".into(), Value::from(c.base_url.as_str()));
                let list = c.entries.iter().map(WhiteListEntry::to_value).collect();
                m.insert("list".into(), Value::Array(list));
            }
            Command::SetTime(c) => {
                m.insert("timeStr".into(), Value::from(c.time.to_string()));
            }
        }
        m
    }

    /// The command as a JSON document with its `api`, validated: the file to serve at a
    /// `cmdDataUrl` (at most [`REMOTE_DOCUMENT_BYTES_MAX`]).
    pub fn to_document(&self) -> Result<Vec<u8>, MqttPosError> {
        self.validate()?;
        let mut m = self.params();
        m.insert("api".into(), Value::from(self.api().path()));
        serialise(&m, REMOTE_DOCUMENT_BYTES_MAX)
    }
}

fn serialise(map: &Map<String, Value>, max: usize) -> Result<Vec<u8>, MqttPosError> {
    let bytes = serde_json::to_vec(map).map_err(|_| invalid("payload", "not serialisable"))?;
    if bytes.len() > max {
        return Err(MqttPosError::CommandTooLarge {
            bytes: bytes.len(),
            max,
        });
    }
    Ok(bytes)
}

/// Where the device gets the command from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Delivery {
    Inline(Command),
    Remote {
        url: HttpUrl,
        api: Option<ApiName>,
        is_part: Option<bool>,
        base_url: Option<HttpUrl>,
    },
}

/// A command ready to publish on `…/api`: inline or through `cmdDataUrl`, with the optional
/// `sAckId` and `timeout`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandMessage {
    delivery: Delivery,
    ack_id: Option<AckId>,
    timeout: Option<u32>,
}

impl CommandMessage {
    /// A command sent inline.
    pub fn inline(command: Command) -> CommandMessage {
        CommandMessage {
            delivery: Delivery::Inline(command),
            ack_id: None,
            timeout: None,
        }
    }

    /// The large-payload form: the device fetches the command from `url` (GET).
    pub fn remote(url: HttpUrl) -> CommandMessage {
        CommandMessage {
            delivery: Delivery::Remote {
                url,
                api: None,
                is_part: None,
                base_url: None,
            },
            ack_id: None,
            timeout: None,
        }
    }

    /// For the remote form: mix `api` into the message (merged into the fetched JSON).
    /// No effect on an inline command, which has its own.
    pub fn with_api(mut self, name: ApiName) -> CommandMessage {
        if let Delivery::Remote { api, .. } = &mut self.delivery {
            *api = Some(name);
        }
        self
    }

    /// For the remote form: mix `isPart` into the message. No effect on an inline command.
    pub fn with_is_part(mut self, value: bool) -> CommandMessage {
        if let Delivery::Remote { is_part, .. } = &mut self.delivery {
            *is_part = Some(value);
        }
        self
    }

    /// For the remote form: mix `baseUrl` into the message. No effect on an inline command.
    pub fn with_base_url(mut self, url: HttpUrl) -> CommandMessage {
        if let Delivery::Remote { base_url, .. } = &mut self.delivery {
            *base_url = Some(url);
        }
        self
    }

    /// Asks the device to acknowledge on `api_ret` with this `sAckId`.
    pub fn with_ack(mut self, ack_id: AckId) -> CommandMessage {
        self.ack_id = Some(ack_id);
        self
    }

    /// Sets `timeout` (unit not stated by the spec; passed through).
    pub fn with_timeout(mut self, timeout: u32) -> CommandMessage {
        self.timeout = Some(timeout);
        self
    }

    /// The acknowledgement id, if one was asked for.
    pub fn ack_id(&self) -> Option<&AckId> {
        self.ack_id.as_ref()
    }

    /// Validates and encodes the payload (at most [`COMMAND_PAYLOAD_BYTES_MAX`]; larger
    /// commands must go through [`CommandMessage::remote`] and [`Command::to_document`]).
    pub fn encode(&self) -> Result<Vec<u8>, MqttPosError> {
        let mut m = match &self.delivery {
            Delivery::Inline(command) => {
                command.validate()?;
                let mut m = command.params();
                m.insert("api".into(), Value::from(command.api().path()));
                m
            }
            Delivery::Remote {
                url,
                api,
                is_part,
                base_url,
            } => {
                let mut m = Map::new();
                m.insert("cmdDataUrl".into(), Value::from(url.as_str()));
                if let Some(api) = api {
                    m.insert("api".into(), Value::from(api.path()));
                }
                if let Some(is_part) = is_part {
                    m.insert("isPart".into(), Value::from(*is_part));
                }
                if let Some(base_url) = base_url {
                    m.insert("baseUrl".into(), Value::from(base_url.as_str()));
                }
                m
            }
        };
        if let Some(ack_id) = &self.ack_id {
            m.insert("sAckId".into(), Value::from(ack_id.as_str()));
        }
        if let Some(timeout) = self.timeout {
            m.insert("timeout".into(), Value::from(timeout));
        }
        serialise(&m, COMMAND_PAYLOAD_BYTES_MAX)
    }

    /// [`CommandMessage::encode`] as text.
    pub fn to_json(&self) -> Result<String, MqttPosError> {
        self.encode()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt_pos::codes::XfCode;
    use crate::mqtt_pos::json::parse_object;
    use proptest::prelude::*;

    /// Encodes and compares with a spec example, read with the lenient reader (the examples
    /// carry comments).
    fn assert_encodes_like(message: &CommandMessage, spec: &str) {
        let ours = Value::Object(parse_object(&message.encode().unwrap(), usize::MAX).unwrap());
        let theirs = Value::Object(parse_object(spec.as_bytes(), usize::MAX).unwrap());
        assert_eq!(ours, theirs);
    }

    fn url(text: &str) -> HttpUrl {
        HttpUrl::new(text).unwrap()
    }

    fn time(text: &str) -> WireTime {
        WireTime::parse(text).unwrap()
    }

    #[test]
    fn encodes_set_time_demo() {
        let set_time = CommandMessage::inline(Command::SetTime(SetTime {
            time: time("2019-12-31 13:46:32"),
        }));
        assert_encodes_like(
            &set_time,
            r#"{
    // 接口名，同RESTful接口的名字
    "api": "/config/set_time",

    // 应答ID，省略后不应答
    // "sAckId":"abcd1234",

    // 接口的其他参数，并行写出，比如下面就是设置时间的时间参数：
    "timeStr": "2019-12-31 13:46:32"
}"#,
        );
        let acked = set_time.with_ack(AckId::new("abcd1234").unwrap());
        assert_eq!(acked.ack_id().map(AckId::as_str), Some("abcd1234"));
        assert_encodes_like(
            &acked,
            r#"{"api":"/config/set_time","sAckId":"abcd1234","timeStr":"2019-12-31 13:46:32"}"#,
        );
    }

    #[test]
    fn encodes_remote_form() {
        let remote = CommandMessage::remote(url("http://10.0.96.79:8011/data.json"));
        assert_encodes_like(
            &remote,
            r#"{
    // JSON文件URL(也可以是接口),将会使用GET拉取
    "cmdDataUrl":"http://10.0.96.79:8011/data.json"
}"#,
        );
        let mixed = remote
            .with_api(ApiName::WhiteList)
            .with_is_part(false)
            .with_base_url(url("http://10.0.96.79:6102/"))
            .with_ack(AckId::new("k1").unwrap())
            .with_timeout(30);
        assert_encodes_like(
            &mixed,
            r#"{"cmdDataUrl":"http://10.0.96.79:8011/data.json","api":"/pos/white_list",
                "isPart":false,"baseUrl":"http://10.0.96.79:6102/","sAckId":"k1","timeout":30}"#,
        );
    }

    #[test]
    fn encodes_open_door_group_rule_menu_media_sys_cfg() {
        assert_encodes_like(
            &CommandMessage::inline(Command::OpenDoor(OpenDoor { keep_ms: Some(100) })),
            r#"{"api": "/pos/cmd", "command": "openDoor", "keepMs": 100}"#,
        );
        assert_encodes_like(
            &CommandMessage::inline(Command::GroupRule(GroupRule {
                group: "11001".into(),
                single_limit: Fen(100),
                daily_amount_limit: Fen(0),
                daily_count_limit: 0,
                offline_amount_limit: Fen(5000),
                offline_count_limit: 0,
                discount: 100,
            })),
            r#"{"api": "/pos/group_rule", "g": "11001", "dcxe": 100, "rxe": 0, "rxc": 0,
                "zxe": 5000, "zxc": 0, "dz": 100}"#,
        );
        assert_encodes_like(
            &CommandMessage::inline(Command::MealMenu(MealMenu {
                group: 0,
                items: vec![
                    MenuItem {
                        id: "myfood1".into(),
                        key: "1".into(),
                        name: "测试菜品1".into(),
                        price: Fen(521),
                    },
                    MenuItem {
                        id: "myfood2".into(),
                        key: "22".into(),
                        name: "测试菜品2".into(),
                        price: Fen(125),
                    },
                ],
            })),
            r#"{"api": "/pos/meal_menu", "group": 0, "list": [
                {"id": "myfood1", "key": "1", "mc": "测试菜品1", "money": 521},
                {"id": "myfood2", "key": "22", "mc": "测试菜品2", "money": 125}]}"#,
        );
        assert_encodes_like(
            &CommandMessage::inline(Command::Media(Media {
                base_url: url("http://10.0.96.79:6102/"),
                is_part: false,
                items: vec![
                    MediaItem {
                        order: 1,
                        change: Change::Add,
                        url: "media/pic_1.jpg".into(),
                    },
                    MediaItem {
                        order: 2,
                        change: Change::Add,
                        url: "media/pic_2.jpg".into(),
                    },
                ],
            })),
            r#"{"api": "/pos/media", "baseUrl": "http://10.0.96.79:6102/", "isPart": false,
                "list": [{"order": 1, "type": 0, "url": "media/pic_1.jpg"},
                         {"order": 2, "type": 0, "url": "media/pic_2.jpg"}]}"#,
        );
        assert_encodes_like(
            &CommandMessage::inline(Command::SysCfg(SysCfg {
                place_name: "我是场所名".into(),
                qr_key: None,
            })),
            r#"{"api": "/pos/sys_cfg", "depName": "我是场所名"}"#,
        );
        let with_key = SysCfg {
            place_name: "x".into(),
            qr_key: Some(Sensitive::new("s3cret".into())),
        };
        assert!(!format!("{with_key:?}").contains("s3cret"));
    }

    #[test]
    fn encodes_whitelists() {
        let mut entry = WhiteListEntry::new(200002);
        entry.name = Some("UserName".into());
        entry.staff_no = Some("A01Z3".into());
        entry.card_no = Some("C15DEFD3".into());
        entry.department = Some("DepName".into());
        entry.photo = Some(Photo::Url("photo/200002.jpg".into()));
        entry.face = Some(Face::SameAsPhoto);
        assert_encodes_like(
            &CommandMessage::inline(Command::WhiteList(WhiteList {
                mode: WhiteListMode::Partial,
                base_url: url("http://10.0.96.79:6102/"),
                entries: vec![entry],
            })),
            r#"{"api": "/pos/white_list", "isPart": true, "baseUrl": "http://10.0.96.79:6102/",
                "list": [{"i": 200002, "n": "UserName", "u": "A01Z3", "c": "C15DEFD3",
                          "d": "DepName", "p": "photo/200002.jpg", "f": "1"}]}"#,
        );

        let mut full = WhiteListEntry::new(200001);
        full.name = Some("张三".into());
        full.staff_no = Some("A01Z3".into());
        full.card_no = Some("0A0366B0".into());
        full.birthday = WireDate::parse("2019-07-30");
        full.password = Some(Sensitive::new("123456".into()));
        full.department = Some("部门名称".into());
        full.valid_from = Some(time("2019-07-29 00:00:00"));
        full.valid_until = Some(time("2059-07-30 23:59:59"));
        full.photo = Some(Photo::Url("photo/200001.jpg".into()));
        full.face = Some(Face::SameAsPhoto);
        assert!(!format!("{full:?}").contains("123456"));
        let command = Command::WhiteList(WhiteList {
            mode: WhiteListMode::FullReplace,
            base_url: url("http://10.0.96.79:6102/"),
            entries: vec![full],
        });
        let spec = r#"//将张三下发到所有设备，人脸和档案照片使用同一个URL图片：
{
    "api":"/pos/white_list",
    "isPart": false,
    "baseUrl": "http://10.0.96.79:6102/",
    "list": [
        {
            "i": 200001,
            "n": "张三",
            "u": "A01Z3",
            "c": "0A0366B0",
            "b": "2019-07-30",
            "w": "123456",
            "d": "部门名称",
            "tb": "2019-07-29 00:00:00",
            "te": "2059-07-30 23:59:59",
            "p": "photo/200001.jpg",
            "f": "1"
        }
    ]
}"#;
        assert_encodes_like(&CommandMessage::inline(command.clone()), spec);
        let document = command.to_document().unwrap();
        assert_eq!(
            parse_object(&document, usize::MAX).unwrap(),
            parse_object(spec.as_bytes(), usize::MAX).unwrap()
        );

        let mut delete = WhiteListEntry::new(7);
        delete.change = Change::Delete;
        delete.photo = Some(Photo::Keep);
        delete.face = Some(Face::Base64("data:image/jpeg;base64,/9j/4AAQ".into()));
        assert_encodes_like(
            &CommandMessage::inline(Command::WhiteList(WhiteList {
                mode: WhiteListMode::Partial,
                base_url: url("https://x/"),
                entries: vec![delete],
            })),
            r#"{"api":"/pos/white_list","isPart":true,"baseUrl":"https://x/",
                "list":[{"i":7,"t":3,"p":"2","f":"data:image/jpeg;base64,/9j/4AAQ"}]}"#,
        );
    }

    /// A group rule `g` with no limits and discount `discount`.
    fn rule(discount: u8) -> Command {
        Command::GroupRule(GroupRule {
            group: "g".into(),
            single_limit: Fen(0),
            daily_amount_limit: Fen(0),
            daily_count_limit: 0,
            offline_amount_limit: Fen(0),
            offline_count_limit: 0,
            discount,
        })
    }

    #[test]
    fn group_rule_sends_the_discount_the_server_applies() {
        // dz 0 is charged at full price by the server: the device is told 100, never 0.
        assert_encodes_like(
            &CommandMessage::inline(rule(0)),
            r#"{"api": "/pos/group_rule", "g": "g", "dcxe": 0, "rxe": 0, "rxc": 0,
                "zxe": 0, "zxc": 0, "dz": 100}"#,
        );
    }

    #[test]
    fn refuses_bad_commands() {
        let menu = |group, key: &str| {
            Command::MealMenu(MealMenu {
                group,
                items: vec![MenuItem {
                    id: "a".into(),
                    key: key.into(),
                    name: "n".into(),
                    price: Fen(1),
                }],
            })
        };
        let list = |mode, entry: WhiteListEntry| {
            Command::WhiteList(WhiteList {
                mode,
                base_url: url("http://h/"),
                entries: vec![entry],
            })
        };
        let mut deletion = WhiteListEntry::new(1);
        deletion.change = Change::Delete;
        let mut bad_card = WhiteListEntry::new(1);
        bad_card.card_no = Some("12 34".into());
        let mut backwards = WhiteListEntry::new(1);
        backwards.valid_from = Some(time("2020-01-02 00:00:00"));
        backwards.valid_until = Some(time("2020-01-01 00:00:00"));
        let cases = [
            (rule(101), "dz"),
            (menu(7, "1"), "group"),
            (menu(0, "1a"), "key"),
            (menu(0, ""), "key"),
            (list(WhiteListMode::FullReplace, deletion.clone()), "t"),
            (
                list(WhiteListMode::FullReplace, WhiteListEntry::new(1)),
                "n",
            ),
            (
                list(WhiteListMode::Partial, WhiteListEntry::new(POS_NUM_MAX + 1)),
                "i",
            ),
            (list(WhiteListMode::Partial, bad_card), "c"),
            (list(WhiteListMode::Partial, backwards), "tb"),
            (
                Command::OpenDoor(OpenDoor {
                    keep_ms: Some(60_001),
                }),
                "keepMs",
            ),
            (
                Command::SysCfg(SysCfg {
                    place_name: "\n".into(),
                    qr_key: None,
                }),
                "depName",
            ),
        ];
        for (command, field) in cases {
            let error = CommandMessage::inline(command).encode().unwrap_err();
            assert!(
                matches!(error, MqttPosError::InvalidCommand { field: f, .. } if f == field),
                "{field}: {error:?}"
            );
            assert_eq!(error.code(), XfCode::InternalError);
        }
        assert!(list(WhiteListMode::Partial, deletion).validate().is_ok());
        assert!(HttpUrl::new("ftp://x").is_err());
        assert!(HttpUrl::new("http://").is_err());
        assert!(HttpUrl::new("http://a b").is_err());

        let big = WhiteListEntry {
            photo: Some(Photo::Base64("A".repeat(COMMAND_PAYLOAD_BYTES_MAX))),
            ..WhiteListEntry::new(1)
        };
        let command = list(WhiteListMode::Partial, big);
        assert!(matches!(
            CommandMessage::inline(command.clone()).encode(),
            Err(MqttPosError::CommandTooLarge { .. })
        ));
        assert!(command.to_document().is_ok());
    }

    proptest! {
        #[test]
        fn encoding_never_panics_and_reads_back(
            name in "\\PC{0,80}", key in "\\PC{0,10}", id in any::<u64>(), dz in any::<u8>(),
            group in any::<u8>(), path in "\\PC{0,40}",
        ) {
            let mut entry = WhiteListEntry::new(id);
            entry.name = Some(name.clone());
            entry.photo = Some(Photo::Url(path.clone()));
            let commands = [
                Command::WhiteList(WhiteList { mode: WhiteListMode::Partial, base_url: url("http://h/"), entries: vec![entry] }),
                Command::MealMenu(MealMenu { group, items: vec![MenuItem { id: path.clone(), key, name: name.clone(), price: Fen(1) }] }),
                Command::GroupRule(GroupRule { group: name.clone(), single_limit: Fen(1), daily_amount_limit: Fen(2), daily_count_limit: 3, offline_amount_limit: Fen(4), offline_count_limit: 5, discount: dz }),
                Command::SysCfg(SysCfg { place_name: name, qr_key: Some(Sensitive::new(path)) }),
            ];
            for command in commands {
                if let Ok(bytes) = CommandMessage::inline(command).encode() {
                    let back = parse_object(&bytes, usize::MAX);
                    prop_assert!(back.is_ok());
                    let theirs: Value = serde_json::from_slice(&bytes).unwrap();
                    prop_assert_eq!(Value::Object(back.unwrap()), theirs);
                }
            }
        }
    }
}
