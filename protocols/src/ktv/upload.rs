//! The HTTP uploads: paths, the `{companycode, ..., data}` envelope, and each payload.
//!
//! Decoding is two steps because the key depends on the sender: [`decode_envelope`] reads
//! the venue code from the plain envelope, the caller looks up that venue's key, and the
//! envelope's methods ([`Envelope::realtime`], [`Envelope::vouchers`], ...) open and type the
//! payload. [`decode_upload`] chains both with a key-lookup closure.
//!
//! What `data` may be, per upload:
//! - openTime: inline JSON only ("此协议数据无需进行压缩和加密").
//! - realtime, vouchers: a sealed string only (the spec requires compression and encryption;
//!   inline JSON is refused with [`KtvError::NotSealed`]).
//! - notify, payment_setting: the spec shows the body "before encryption" ("未加密前"): sealed
//!   like the others. For a venue with a key, inline JSON is refused ([`KtvError::NotSealed`],
//!   see [`Envelope::decode_with`]); a venue without a key (nothing to authenticate with) may
//!   send them inline.
//!
//! The sealed payload is the original body's `data` value (the spec's envelope example
//! decodes to the bill array itself). A payload that is the whole original body
//! (`{companycode, version, data: ...}`, as the spec prints the vouchers "原始 JSON Body")
//! is unwrapped, after checking its `companycode` matches the envelope's.
//!
//! Spec examples are sloppy JSON (unterminated strings, trailing commas, a full-width comma,
//! typographic quotes): only strict JSON is accepted; the tests carry the examples with
//! those typos fixed. Duplicate keys are accepted, the last one wins (serde_json's map).

use super::bill::Bill;
use super::crypto::{open, open_with, AesKey, AesMode};
use super::de;
use super::error::{check_bytes, check_count, KtvError};
use super::limits::{
    BILLS_PER_UPLOAD_MAX, DECOMPRESSED_BYTES_MAX, PATH_CHARS_MAX, ROOMS_MAX, ROWS_UNPAGED_MAX,
    SECOND_STATES_PER_ROOM_MAX, UPLOAD_BODY_BYTES_MAX,
};
use super::types::{ClockTime, CompanyCode, RoomId};
use crate::money::Fen;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The upload context path when none is configured (the spec: fixed, agreed per deployment).
pub const DEFAULT_CONTEXT_PATH: &str = "/gateway/upload";

/// The upload endpoints, `{context path}/{suffix}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UploadPath {
    /// `/openTime`: opening hours and system version.
    OpenTime,
    /// `/realtime`: room states and live revenue.
    Realtime,
    /// `/vouchers`: settled bills.
    Vouchers,
    /// `/notify`: booking cancellations made in the venue system.
    Notify,
    /// `/payment_setting`: the venue's payment methods.
    PaymentSetting,
}

impl UploadPath {
    /// Every path.
    pub const ALL: [UploadPath; 5] = [
        UploadPath::OpenTime,
        UploadPath::Realtime,
        UploadPath::Vouchers,
        UploadPath::Notify,
        UploadPath::PaymentSetting,
    ];

    /// The path's last segment.
    pub const fn suffix(self) -> &'static str {
        match self {
            UploadPath::OpenTime => "openTime",
            UploadPath::Realtime => "realtime",
            UploadPath::Vouchers => "vouchers",
            UploadPath::Notify => "notify",
            UploadPath::PaymentSetting => "payment_setting",
        }
    }

    /// Whether `data` must be sealed (compressed and encrypted).
    pub const fn requires_sealed(self) -> bool {
        match self {
            UploadPath::Realtime | UploadPath::Vouchers => true,
            UploadPath::OpenTime | UploadPath::Notify | UploadPath::PaymentSetting => false,
        }
    }

    /// Routes a request path under `context` (e.g. [`DEFAULT_CONTEXT_PATH`]); a query string
    /// and one trailing slash are ignored.
    pub fn parse(path: &str, context: &str) -> Result<UploadPath, KtvError> {
        let unknown = || KtvError::UnknownPath(path.chars().take(PATH_CHARS_MAX).collect());
        if path.len() > PATH_CHARS_MAX {
            return Err(unknown());
        }
        let path_only = path.split_once('?').map_or(path, |(p, _)| p);
        let path_only = path_only.strip_suffix('/').unwrap_or(path_only);
        let context = context.strip_suffix('/').unwrap_or(context);
        let rest = path_only
            .strip_prefix(context)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(unknown)?;
        UploadPath::ALL
            .into_iter()
            .find(|p| p.suffix() == rest)
            .ok_or_else(unknown)
    }
}

/// The UTF-8 byte order mark some Windows venue systems put before their JSON.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses JSON bytes into a value: size-checked, a leading UTF-8 BOM skipped, syntax errors
/// are [`KtvError::Json`].
pub(crate) fn parse_json(what: &'static str, bytes: &[u8], max: usize) -> Result<Value, KtvError> {
    check_bytes(what, bytes.len(), max)?;
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    serde_json::from_slice(bytes).map_err(KtvError::from_json)
}

/// Types a parsed value; every failure here is a shape error ([`KtvError::Field`]).
pub(crate) fn typed<T: DeserializeOwned>(what: &str, value: Value) -> Result<T, KtvError> {
    serde_json::from_value(value).map_err(|e| KtvError::Field(format!("{what}: {e}")))
}

/// The `data` of an envelope.
#[derive(Clone, Debug, PartialEq)]
pub enum EnvelopeData {
    /// base64(AES(gzip(json))).
    Sealed(String),
    /// Inline JSON.
    Plain(Value),
}

/// An upload body: `{companycode, version?, date?, total?, num?, data}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// The sending venue.
    pub companycode: CompanyCode,
    /// `version` (reserved; "1.0", 1...), "" when absent.
    pub version: String,
    /// `date` (the realtime snapshot time, or the legacy business day), "" when absent.
    pub date: String,
    /// `total` (legacy: bills of the business day).
    pub total: Option<i64>,
    /// `num` (bills of the business day when a day is split over several requests).
    pub num: Option<i64>,
    /// The payload.
    pub data: EnvelopeData,
}

#[derive(Deserialize)]
struct WireEnvelope {
    companycode: CompanyCode,
    #[serde(default, deserialize_with = "de::text")]
    version: String,
    #[serde(default, deserialize_with = "de::text")]
    date: String,
    #[serde(default, deserialize_with = "de::opt_int")]
    total: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    num: Option<i64>,
    data: Value,
}

/// Reads an upload body's envelope (bounded by [`UPLOAD_BODY_BYTES_MAX`]).
pub fn decode_envelope(body: &[u8]) -> Result<Envelope, KtvError> {
    let value = parse_json("upload body", body, UPLOAD_BODY_BYTES_MAX)?;
    let wire: WireEnvelope = typed("envelope", value)?;
    let data = match wire.data {
        Value::String(s) => EnvelopeData::Sealed(s),
        Value::Null => return Err(KtvError::Field("envelope: data is null".to_owned())),
        other => EnvelopeData::Plain(other),
    };
    Ok(Envelope {
        companycode: wire.companycode,
        version: wire.version,
        date: wire.date,
        total: wire.total,
        num: wire.num,
        data,
    })
}

impl Envelope {
    /// An envelope around sealed JSON (gateway simulators, tests).
    pub fn sealed(companycode: CompanyCode, key: &AesKey, payload: &Value) -> Envelope {
        Envelope {
            companycode,
            version: "1.0".to_owned(),
            date: String::new(),
            total: None,
            num: None,
            data: EnvelopeData::Sealed(super::crypto::seal(key, payload.to_string().as_bytes())),
        }
    }

    /// An envelope around inline JSON.
    pub fn plain(companycode: CompanyCode, payload: Value) -> Envelope {
        Envelope {
            companycode,
            version: "1.0".to_owned(),
            date: String::new(),
            total: None,
            num: None,
            data: EnvelopeData::Plain(payload),
        }
    }

    /// The body as a JSON value.
    pub fn to_json(&self) -> Value {
        let mut map = serde_json::Map::new();
        map.insert("companycode".into(), Value::from(self.companycode.as_str()));
        if !self.version.is_empty() {
            map.insert("version".into(), Value::from(self.version.as_str()));
        }
        if !self.date.is_empty() {
            map.insert("date".into(), Value::from(self.date.as_str()));
        }
        if let Some(total) = self.total {
            map.insert("total".into(), Value::from(total));
        }
        if let Some(num) = self.num {
            map.insert("num".into(), Value::from(num));
        }
        let data = match &self.data {
            EnvelopeData::Sealed(s) => Value::from(s.as_str()),
            EnvelopeData::Plain(v) => v.clone(),
        };
        map.insert("data".into(), data);
        Value::Object(map)
    }

    /// The body bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// The payload as JSON: opened with `key` when sealed, as is when inline.
    pub fn payload(&self, key: Option<&AesKey>) -> Result<Value, KtvError> {
        match &self.data {
            EnvelopeData::Sealed(text) => {
                let key = key.ok_or(KtvError::KeyRequired)?;
                let json = open(key, text)?;
                parse_json("decrypted data", &json, DECOMPRESSED_BYTES_MAX)
            }
            EnvelopeData::Plain(value) => Ok(value.clone()),
        }
    }

    fn sealed_payload(&self, key: &AesKey) -> Result<Value, KtvError> {
        match &self.data {
            EnvelopeData::Sealed(_) => self.payload(Some(key)),
            EnvelopeData::Plain(_) => Err(KtvError::NotSealed),
        }
    }

    /// If the payload is a whole original body (`{companycode, data: ...}`) rather than its
    /// `data`, unwraps it; `marker` is a key only the bare payload has.
    fn unwrap_body(&self, value: Value, marker: &str) -> Result<Value, KtvError> {
        let Value::Object(mut map) = value else {
            return Ok(value);
        };
        if map.contains_key(marker) || !map.contains_key("data") {
            return Ok(Value::Object(map));
        }
        if let Some(inner) = map.get("companycode") {
            let inner = match inner {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if inner != self.companycode.as_str() {
                return Err(KtvError::Field(format!(
                    "payload companycode {inner:?} differs from envelope {}",
                    self.companycode
                )));
            }
        }
        Ok(map.remove("data").unwrap_or(Value::Null))
    }

    /// The openTime upload (inline `data`; versions 1, 2 and 3).
    pub fn open_time(&self) -> Result<OpenTime, KtvError> {
        let EnvelopeData::Plain(value) = &self.data else {
            return Err(KtvError::Field(
                "openTime data must be inline JSON".to_owned(),
            ));
        };
        let data: OpenTimeData = typed("openTime data", value.clone())?;
        OpenTime::from_parts(self.companycode.clone(), &self.version, data)
    }

    /// The realtime upload (sealed `data`).
    pub fn realtime(&self, key: &AesKey) -> Result<Realtime, KtvError> {
        let payload = self.unwrap_body(self.sealed_payload(key)?, "room_states")?;
        Realtime::from_value(payload)
    }

    /// The vouchers upload (sealed `data`): the bills, bounded, not yet balance-checked
    /// (see [`super::validate_bill`]).
    pub fn vouchers(&self, key: &AesKey) -> Result<Vec<Bill>, KtvError> {
        let payload = self.unwrap_body(self.sealed_payload(key)?, "voucher")?;
        bills_from_value(payload)
    }

    /// The notify upload: booking cancellations (inline or sealed `data`).
    pub fn notices(&self, key: Option<&AesKey>) -> Result<Vec<BookingCancelled>, KtvError> {
        let payload = self.unwrap_body(self.payload(key)?, "voucher")?;
        rows_from_value("notify data", payload, ROWS_UNPAGED_MAX)
    }

    /// The payment_setting upload (inline or sealed `data`).
    pub fn payment_settings(&self, key: Option<&AesKey>) -> Result<Vec<PaymentSetting>, KtvError> {
        let payload = self.unwrap_body(self.payload(key)?, "payment_type_id")?;
        rows_from_value("payment_setting data", payload, ROWS_UNPAGED_MAX)
    }
}

/// How one venue's uploads are opened: its key, the cipher mode, and whether inline JSON is
/// accepted where the spec requires sealed data (a venue configured unencrypted).
#[derive(Clone, Debug, Default)]
pub struct SealPolicy {
    /// The venue's key; `None` when none is configured (sealed data is then refused as
    /// [`KtvError::KeyRequired`]).
    pub key: Option<AesKey>,
    /// The cipher mode of sealed data.
    pub mode: AesMode,
    /// Whether realtime and vouchers may come as inline JSON.
    pub plain_allowed: bool,
}

impl Envelope {
    /// Authenticates the upload of `path` under the sending venue's `policy`: the sealing
    /// rules, then the sealed payload decrypted and unzipped with the venue's key (its bytes,
    /// not yet parsed; `None` for inline data). Inline `data` is refused
    /// ([`KtvError::NotSealed`]) unless the policy allows it, on realtime and vouchers
    /// always, and on notify and payment_setting when the venue has a key (the key is what
    /// authenticates the sender: a plain upload could come from anyone). openTime is inline
    /// only, whatever the policy ("无需进行压缩和加密").
    ///
    /// What passes here came from the venue (or needs no proof): it is what an intake
    /// stores before [`Envelope::decode_opened`] interprets it.
    pub fn authenticate(
        &self,
        path: UploadPath,
        policy: &SealPolicy,
    ) -> Result<Option<Vec<u8>>, KtvError> {
        let must_seal =
            path.requires_sealed() || (path != UploadPath::OpenTime && policy.key.is_some());
        match &self.data {
            EnvelopeData::Plain(_) if must_seal && !policy.plain_allowed => {
                Err(KtvError::NotSealed)
            }
            EnvelopeData::Plain(_) => Ok(None),
            // openTime is inline only: its typing refuses sealed data.
            EnvelopeData::Sealed(_) if path == UploadPath::OpenTime => Ok(None),
            EnvelopeData::Sealed(text) => {
                let key = policy.key.as_ref().ok_or(KtvError::KeyRequired)?;
                Ok(Some(open_with(policy.mode, key, text)?))
            }
        }
    }

    /// Types the upload of `path` from what [`Envelope::authenticate`] opened.
    pub fn decode_opened(
        &self,
        path: UploadPath,
        opened: Option<&[u8]>,
    ) -> Result<Upload, KtvError> {
        let payload = || match (opened, &self.data) {
            (Some(json), _) => parse_json("decrypted data", json, DECOMPRESSED_BYTES_MAX),
            (None, EnvelopeData::Plain(value)) => Ok(value.clone()),
            (None, EnvelopeData::Sealed(_)) => Err(KtvError::KeyRequired),
        };
        let companycode = self.companycode.clone();
        Ok(match path {
            UploadPath::OpenTime => Upload::OpenTime(self.open_time()?),
            UploadPath::Realtime => Upload::Realtime {
                data: Realtime::from_value(self.unwrap_body(payload()?, "room_states")?)?,
                date: self.date.clone(),
                companycode,
            },
            UploadPath::Vouchers => Upload::Vouchers {
                bills: bills_from_value(self.unwrap_body(payload()?, "voucher")?)?,
                companycode,
                num: self.num.or(self.total),
                date: self.date.clone(),
            },
            UploadPath::Notify => Upload::Notify {
                notices: rows_from_value(
                    "notify data",
                    self.unwrap_body(payload()?, "voucher")?,
                    ROWS_UNPAGED_MAX,
                )?,
                companycode,
            },
            UploadPath::PaymentSetting => Upload::PaymentSetting {
                settings: rows_from_value(
                    "payment_setting data",
                    self.unwrap_body(payload()?, "payment_type_id")?,
                    ROWS_UNPAGED_MAX,
                )?,
                companycode,
            },
        })
    }

    /// [`Envelope::authenticate`] then [`Envelope::decode_opened`].
    pub fn decode_with(&self, path: UploadPath, policy: &SealPolicy) -> Result<Upload, KtvError> {
        let opened = self.authenticate(path, policy)?;
        self.decode_opened(path, opened.as_deref())
    }
}

/// Types a JSON array of rows, refusing more than `max`.
pub(crate) fn rows_from_value<T: DeserializeOwned>(
    what: &'static str,
    value: Value,
    max: usize,
) -> Result<Vec<T>, KtvError> {
    match &value {
        Value::Array(items) => check_count(what, items.len(), max)?,
        _ => return Err(KtvError::Field(format!("{what} must be an array"))),
    }
    typed(what, value)
}

/// Types an array of bills, checking counts and each bill's bounds.
pub(crate) fn bills_from_value(value: Value) -> Result<Vec<Bill>, KtvError> {
    let bills: Vec<Bill> = rows_from_value("bills", value, BILLS_PER_UPLOAD_MAX)?;
    for bill in &bills {
        bill.check_bounds()?;
    }
    Ok(bills)
}

/// A decoded upload of any kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Upload {
    /// openTime.
    OpenTime(OpenTime),
    /// realtime, with the envelope's snapshot `date`.
    Realtime {
        /// The venue.
        companycode: CompanyCode,
        /// The envelope's `date` ("2018-01-03 21:02:12").
        date: String,
        /// The snapshot.
        data: Realtime,
    },
    /// vouchers (not yet balance-checked).
    Vouchers {
        /// The venue.
        companycode: CompanyCode,
        /// The bills.
        bills: Vec<Bill>,
        /// Bills of the business day when the day is split over several requests: the
        /// envelope's `num` (or the legacy `total`).
        num: Option<i64>,
        /// The envelope's `date` (legacy: the business day), "" when absent.
        date: String,
    },
    /// notify.
    Notify {
        /// The venue.
        companycode: CompanyCode,
        /// The cancellations.
        notices: Vec<BookingCancelled>,
    },
    /// payment_setting.
    PaymentSetting {
        /// The venue.
        companycode: CompanyCode,
        /// The settings.
        settings: Vec<PaymentSetting>,
    },
}

/// Decodes any upload: the envelope, then the venue's key from `key_for` (`None` = unknown
/// venue, answered with [`super::RetCode::UnknownVenue`]), then the payload.
///
/// The key is only asked for when the payload is sealed; an openTime from a venue without a
/// key is still accepted, since that upload is never encrypted.
pub fn decode_upload(
    path: UploadPath,
    body: &[u8],
    key_for: impl FnOnce(&CompanyCode) -> Option<AesKey>,
) -> Result<Upload, KtvError> {
    let envelope = decode_envelope(body)?;
    let key = match (&envelope.data, path) {
        (EnvelopeData::Sealed(_), UploadPath::OpenTime) | (EnvelopeData::Plain(_), _) => None,
        (EnvelopeData::Sealed(_), _) => {
            Some(key_for(&envelope.companycode).ok_or(KtvError::KeyRequired)?)
        }
    };
    let need_key = || key.as_ref().ok_or(KtvError::NotSealed);
    let companycode = envelope.companycode.clone();
    Ok(match path {
        UploadPath::OpenTime => Upload::OpenTime(envelope.open_time()?),
        UploadPath::Realtime => Upload::Realtime {
            data: envelope.realtime(need_key()?)?,
            date: envelope.date.clone(),
            companycode,
        },
        UploadPath::Vouchers => Upload::Vouchers {
            bills: envelope.vouchers(need_key()?)?,
            companycode,
            num: envelope.num.or(envelope.total),
            date: envelope.date.clone(),
        },
        UploadPath::Notify => Upload::Notify {
            notices: envelope.notices(key.as_ref())?,
            companycode,
        },
        UploadPath::PaymentSetting => Upload::PaymentSetting {
            settings: envelope.payment_settings(key.as_ref())?,
            companycode,
        },
    })
}

// ---------------------------------------------------------------------------------------
// openTime

/// How the venue's data reaches posgate (openTime version 3 `gateway`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GatewayMode {
    /// 0: no hardware gateway; a Java program on the cashier's database server talks directly.
    Gatewayless,
    /// 1: a hardware gateway.
    Hardware,
}

impl GatewayMode {
    /// The wire number.
    pub const fn code(self) -> i64 {
        match self {
            GatewayMode::Gatewayless => 0,
            GatewayMode::Hardware => 1,
        }
    }

    /// The mode for a wire number.
    pub const fn from_code(code: i64) -> Option<GatewayMode> {
        match code {
            0 => Some(GatewayMode::Gatewayless),
            1 => Some(GatewayMode::Hardware),
            _ => None,
        }
    }
}

/// The openTime `data` object (also the WJ091 type-0 reply), fields optional by version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenTimeData {
    /// 管理系统版本 ("TongYu-v1.201803152201").
    #[serde(deserialize_with = "de::text")]
    pub system: String,
    /// Opening time.
    pub open_time: ClockTime,
    /// Closing time (often after midnight, i.e. before `open_time`).
    pub close_time: ClockTime,
    /// Numeric system version (versions 2 and 3).
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub version_num: Option<i64>,
    /// Gateway mode (version 3).
    #[serde(
        default,
        deserialize_with = "opt_gateway_de",
        serialize_with = "opt_gateway_ser",
        skip_serializing_if = "Option::is_none"
    )]
    pub gateway: Option<GatewayMode>,
}

/// The openTime protocol version and what it adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpenTimeVersion {
    /// "1.0": system name and times.
    V1,
    /// "2.0": adds the numeric system version.
    V2 {
        /// `version_num`.
        version_num: i64,
    },
    /// "3.0": adds the gateway mode.
    V3 {
        /// `version_num`.
        version_num: i64,
        /// `gateway`.
        gateway: GatewayMode,
    },
}

impl OpenTimeVersion {
    /// The major version number.
    pub const fn number(self) -> u8 {
        match self {
            OpenTimeVersion::V1 => 1,
            OpenTimeVersion::V2 { .. } => 2,
            OpenTimeVersion::V3 { .. } => 3,
        }
    }
}

/// An openTime upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenTime {
    /// The venue.
    pub companycode: CompanyCode,
    /// The version and its fields.
    pub version: OpenTimeVersion,
    /// 管理系统版本.
    pub system: String,
    /// Opening time.
    pub open_time: ClockTime,
    /// Closing time.
    pub close_time: ClockTime,
}

/// Reads a version "1", "1.0", "1.00" or the number 1 as its major number.
fn major_version(text: &str) -> Option<u8> {
    let (major, minor) = text.split_once('.').unwrap_or((text, ""));
    let ok = !major.is_empty()
        && major.len() <= 3
        && major.bytes().all(|b| b.is_ascii_digit())
        && minor.len() <= 3
        && minor.bytes().all(|b| b == b'0');
    if ok {
        major.parse().ok()
    } else {
        None
    }
}

impl OpenTime {
    fn from_parts(
        companycode: CompanyCode,
        version: &str,
        data: OpenTimeData,
    ) -> Result<OpenTime, KtvError> {
        let missing =
            |field: &str, v: u8| KtvError::Field(format!("openTime version {v} requires {field}"));
        let version = match major_version(version.trim()) {
            Some(1) => OpenTimeVersion::V1,
            Some(2) => OpenTimeVersion::V2 {
                version_num: data.version_num.ok_or_else(|| missing("version_num", 2))?,
            },
            Some(3) => OpenTimeVersion::V3 {
                version_num: data.version_num.ok_or_else(|| missing("version_num", 3))?,
                gateway: data.gateway.ok_or_else(|| missing("gateway", 3))?,
            },
            _ => {
                return Err(KtvError::UnsupportedVersion(
                    version.chars().take(16).collect(),
                ))
            }
        };
        Ok(OpenTime {
            companycode,
            version,
            system: data.system,
            open_time: data.open_time,
            close_time: data.close_time,
        })
    }

    /// The upload body (inline JSON, as the spec requires).
    pub fn to_json(&self) -> Value {
        let (version_num, gateway) = match self.version {
            OpenTimeVersion::V1 => (None, None),
            OpenTimeVersion::V2 { version_num } => (Some(version_num), None),
            OpenTimeVersion::V3 {
                version_num,
                gateway,
            } => (Some(version_num), Some(gateway)),
        };
        let data = OpenTimeData {
            system: self.system.clone(),
            open_time: self.open_time,
            close_time: self.close_time,
            version_num,
            gateway,
        };
        serde_json::json!({
            "companycode": self.companycode.as_str(),
            "version": format!("{}.0", self.version.number()),
            "data": serde_json::to_value(data).unwrap_or(Value::Null),
        })
    }

    /// The body bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }
}

fn opt_gateway_de<'de, D: Deserializer<'de>>(d: D) -> Result<Option<GatewayMode>, D::Error> {
    match de::opt_int(d)? {
        None => Ok(None),
        Some(code) => GatewayMode::from_code(code)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("gateway {code} is not 0 or 1"))),
    }
}

fn opt_gateway_ser<S: Serializer>(v: &Option<GatewayMode>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(mode) => s.serialize_i64(mode.code()),
        None => s.serialize_none(),
    }
}

// ---------------------------------------------------------------------------------------
// realtime

/// The realtime snapshot (实时数据): venue totals and every room's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Realtime {
    /// 实时营业额, fen.
    #[serde(deserialize_with = "de::fen")]
    pub revenue: Fen,
    /// 实时待客数: deprecated by the spec, kept if sent.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub guest: Option<i64>,
    /// 待客批次 (number of openings).
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub voucher: Option<i64>,
    /// 未结酒水金额 of the whole venue, fen.
    #[serde(default, deserialize_with = "de::fen")]
    pub uncheckout_wine: Fen,
    /// 今日销账总额, fen.
    #[serde(
        default,
        deserialize_with = "de::opt_fen",
        skip_serializing_if = "Option::is_none"
    )]
    pub xiao_zhang: Option<Fen>,
    /// 今日挂账总额, fen.
    #[serde(
        default,
        deserialize_with = "de::opt_fen",
        skip_serializing_if = "Option::is_none"
    )]
    pub gua_zhang: Option<Fen>,
    /// Rooms, in the cashier screen's order (the spec requires that order). Required, so
    /// that the legacy camelCase snapshot (`roomStates`) is refused instead of read as a
    /// venue without rooms.
    pub room_states: Vec<RoomState>,
}

impl Realtime {
    /// Types and bounds a realtime payload.
    pub fn from_value(value: Value) -> Result<Realtime, KtvError> {
        if let Some(Value::Array(rooms)) = value.get("room_states") {
            check_count("room_states", rooms.len(), ROOMS_MAX)?;
        }
        let realtime: Realtime = typed("realtime data", value)?;
        for room in &realtime.room_states {
            check_count(
                "second_room_states",
                room.second_room_states.len(),
                SECOND_STATES_PER_ROOM_MAX,
            )?;
        }
        Ok(realtime)
    }

    /// The payload as JSON (to seal into an envelope).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The second-level room states the spec names (二级房态), each a 0/1 value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecondState {
    /// "自动餐" (sic in the spec; "自助餐" also accepted): buffet.
    Buffet,
    /// "最低消费": minimum charge.
    MinimumCharge,
    /// "买断": bought out.
    Buyout,
    /// "生日": birthday.
    Birthday,
    /// "包厢呼叫": the room is calling for service.
    RoomCall,
}

impl SecondState {
    /// The names this state is sent under.
    pub const fn names(self) -> &'static [&'static str] {
        match self {
            SecondState::Buffet => &["自动餐", "自助餐"],
            SecondState::MinimumCharge => &["最低消费"],
            SecondState::Buyout => &["买断"],
            SecondState::Birthday => &["生日"],
            SecondState::RoomCall => &["包厢呼叫"],
        }
    }
}

/// The waiter-app room state (`staffay_state_id`, for 小王牌 systems).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StaffayState {
    /// 1 空闲 (未使用).
    Idle,
    /// 3 预订 (预定数).
    Booked,
    /// 5 后结 (在使用).
    PostPaid,
    /// 6 预买 (已结账).
    Prepaid,
    /// 7 带客 (在带客).
    Guiding,
    /// 8 故障 (维修房).
    OutOfOrder,
    /// 9 清洁 (清台中).
    Cleaning,
}

impl StaffayState {
    /// The state for a wire number, if the spec's table has it.
    pub const fn from_code(code: i64) -> Option<StaffayState> {
        match code {
            1 => Some(StaffayState::Idle),
            3 => Some(StaffayState::Booked),
            5 => Some(StaffayState::PostPaid),
            6 => Some(StaffayState::Prepaid),
            7 => Some(StaffayState::Guiding),
            8 => Some(StaffayState::OutOfOrder),
            9 => Some(StaffayState::Cleaning),
            _ => None,
        }
    }
}

/// One second-level state: a name and a value ("1", "0", or "" when unknown).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondRoomState {
    /// The state's name.
    #[serde(deserialize_with = "de::text")]
    pub name: String,
    /// Its value, as text (the spec's example mixes "1" and 0).
    #[serde(default, deserialize_with = "de::text")]
    pub value: String,
}

impl SecondRoomState {
    /// The value as a flag: "1" true, "0" false, anything else unknown.
    pub fn as_flag(&self) -> Option<bool> {
        match self.value.trim() {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        }
    }
}

/// One room's state (房态).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomState {
    /// 包厢 ID (text; see [`RoomId`]).
    pub room_id: RoomId,
    /// 包厢 IP.
    #[serde(default, deserialize_with = "de::text")]
    pub room_ip: String,
    /// Set-top box MAC (小王牌/海媚 only).
    #[serde(default, deserialize_with = "de::text")]
    pub room_mac: String,
    /// 包厢名称.
    #[serde(default, deserialize_with = "de::text")]
    pub room_name: String,
    /// 包厢类型 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub room_type_id: Option<i64>,
    /// 类型名称.
    #[serde(default, deserialize_with = "de::text")]
    pub room_type_name: String,
    /// 地区 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub area_id: Option<i64>,
    /// 地区名称.
    #[serde(default, deserialize_with = "de::text")]
    pub area_name: String,
    /// 主题 ID (the example sends "-1").
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub room_theme_id: Option<i64>,
    /// 主题名称.
    #[serde(default, deserialize_with = "de::text")]
    pub room_theme_name: String,
    /// 房态 ID.
    #[serde(deserialize_with = "de::int")]
    pub room_state_id: i64,
    /// 房态名称.
    #[serde(default, deserialize_with = "de::text")]
    pub room_state_name: String,
    /// 二级房态.
    #[serde(default)]
    pub second_room_states: Vec<SecondRoomState>,
    /// 是否空闲 (`room_avaiable`, spelled as on the wire; `room_available` read too).
    #[serde(
        default,
        alias = "room_available",
        deserialize_with = "de::opt_flag",
        serialize_with = "de::ser_opt_flag",
        skip_serializing_if = "Option::is_none"
    )]
    pub room_avaiable: Option<bool>,
    /// 是否开房.
    #[serde(
        default,
        deserialize_with = "de::opt_flag",
        serialize_with = "de::ser_opt_flag",
        skip_serializing_if = "Option::is_none"
    )]
    pub room_in_open: Option<bool>,
    /// 到钟时间 HH:mm:ss.
    #[serde(default, deserialize_with = "de::text")]
    pub room_end_time: String,
    /// 预订时间, "" when not booked.
    #[serde(default, deserialize_with = "de::text")]
    pub destine_datetime: String,
    /// 开台单 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub open_checkout_id: Option<i64>,
    /// 开台单号.
    #[serde(default, deserialize_with = "de::text")]
    pub open_checkout_voucher: String,
    /// 已结酒水金额, fen.
    #[serde(default, deserialize_with = "de::fen")]
    pub checkout_wine_money: Fen,
    /// 未结酒水金额, fen.
    #[serde(default, deserialize_with = "de::fen")]
    pub uncheckout_wine_money: Fen,
    /// 开房时间.
    #[serde(default, deserialize_with = "de::text")]
    pub open_datetime: String,
    /// 关房时间.
    #[serde(default, deserialize_with = "de::text")]
    pub close_datetime: String,
    /// 结账时间.
    #[serde(default, deserialize_with = "de::text")]
    pub checkout_datetime: String,
    /// 记账开始时间.
    #[serde(default, deserialize_with = "de::text")]
    pub account_start_datetime: String,
    /// 记账结束时间.
    #[serde(default, deserialize_with = "de::text")]
    pub account_end_datetime: String,
    /// 客人数量.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub guest_number: Option<i64>,
    /// 儿童数量.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub children_number: Option<i64>,
    /// 会员 ID.
    #[serde(default, deserialize_with = "de::text")]
    pub customer_id: String,
    /// 总店会员 ID.
    #[serde(default, deserialize_with = "de::text")]
    pub member_id: String,
    /// 客人名称.
    #[serde(default, deserialize_with = "de::text")]
    pub guest_name: String,
    /// 0 普通 1 会员.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub guest_type: Option<i64>,
    /// 会员等级 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub grade_id: Option<i64>,
    /// 会员等级名称.
    #[serde(default, deserialize_with = "de::text")]
    pub grade_name: String,
    /// 会员电话.
    #[serde(default, deserialize_with = "de::text")]
    pub guest_phone: String,
    /// 酒水价格类型 (-1 = not supported by the venue system).
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub wine_type: Option<i64>,
    /// 是否允许后结; absent means yes (the spec's default 1).
    #[serde(
        default,
        deserialize_with = "de::opt_flag",
        serialize_with = "de::ser_opt_flag",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_later_check: Option<bool>,
    /// 定位人.
    #[serde(default, deserialize_with = "de::text")]
    pub operator: String,
    /// 第二定位人.
    #[serde(default, deserialize_with = "de::text")]
    pub sec_operator: String,
    /// 销售经理.
    #[serde(default, deserialize_with = "de::text")]
    pub sales_manager: String,
    /// 线下预订单号.
    #[serde(default, deserialize_with = "de::text")]
    pub booking_voucher_number: String,
    /// 定位人 ID.
    #[serde(default, deserialize_with = "de::text")]
    pub operator_id: String,
    /// 第二定位人 ID.
    #[serde(default, deserialize_with = "de::text")]
    pub sec_operator_id: String,
    /// 销售经理 ID.
    #[serde(default, deserialize_with = "de::text")]
    pub sales_manager_id: String,
    /// 计费方式 (3..15; -1 = not upgraded).
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub account_type: Option<i64>,
    /// 最低消费, fen; `None` for the spec's -1 ("not upgraded").
    #[serde(
        default,
        deserialize_with = "de::fen_or_unset",
        serialize_with = "de::ser_fen_or_unset"
    )]
    pub least_money: Option<Fen>,
    /// 包厢服务员 ID.
    #[serde(default, deserialize_with = "de::text")]
    pub staff_id: String,
    /// 服务员名称.
    #[serde(default, deserialize_with = "de::text")]
    pub staff_name: String,
    /// 预买已结房费, fen.
    #[serde(
        default,
        deserialize_with = "de::opt_fen",
        skip_serializing_if = "Option::is_none"
    )]
    pub box_fee: Option<Fen>,
    /// 开房活动名称.
    #[serde(default, deserialize_with = "de::text")]
    pub activity_name: String,
    /// 开房活动 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub activity_id: Option<i64>,
    /// 低消差额, fen; `None` for the spec's -1.
    #[serde(
        default,
        deserialize_with = "de::fen_or_unset",
        serialize_with = "de::ser_fen_or_unset"
    )]
    pub low_charge_gap: Option<Fen>,
    /// 公关人数.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub pr_number: Option<i64>,
    /// 包厢备注.
    #[serde(default, deserialize_with = "de::text")]
    pub remark: String,
    /// 赠送金额, fen.
    #[serde(
        default,
        deserialize_with = "de::opt_fen",
        skip_serializing_if = "Option::is_none"
    )]
    pub present_money: Option<Fen>,
    /// 服务员房态 ID (see [`StaffayState`]).
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub staffay_state_id: Option<i64>,
    /// 服务员房态名称.
    #[serde(default, deserialize_with = "de::text")]
    pub staffay_state_name: String,
}

impl RoomState {
    /// A named second-level state: `Some(true/false)` when sent as 1/0.
    pub fn second_state(&self, state: SecondState) -> Option<bool> {
        self.second_room_states
            .iter()
            .find(|s| state.names().contains(&s.name.as_str()))
            .and_then(SecondRoomState::as_flag)
    }

    /// Whether later settlement is allowed (absent = allowed, the spec's default).
    pub fn allows_later_check(&self) -> bool {
        self.allow_later_check.unwrap_or(true)
    }

    /// The waiter-app state, if sent and in the spec's table.
    pub fn staffay_state(&self) -> Option<StaffayState> {
        self.staffay_state_id.and_then(StaffayState::from_code)
    }
}

// ---------------------------------------------------------------------------------------
// notify

/// A booking cancelled in the venue system (notify upload; snake_case since 2019-05-08,
/// the earlier camelCase names are accepted too).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingCancelled {
    /// 客人姓名.
    #[serde(default, alias = "guestName", deserialize_with = "de::text")]
    pub guest_name: String,
    /// 客人手机 (may be empty).
    #[serde(default, alias = "guestPhone", deserialize_with = "de::text")]
    pub guest_phone: String,
    /// 备注.
    #[serde(default, deserialize_with = "de::text")]
    pub remark: String,
    /// 预订时间.
    #[serde(default, alias = "reserveTime", deserialize_with = "de::text")]
    pub reserve_time: String,
    /// 取消时间.
    #[serde(default, alias = "cancelTime", deserialize_with = "de::text")]
    pub cancel_time: String,
    /// 包厢 ID.
    #[serde(alias = "roomId")]
    pub room_id: RoomId,
    /// 包厢名称.
    #[serde(default, alias = "roomName", deserialize_with = "de::text")]
    pub room_name: String,
    /// Who cancelled (staff code).
    #[serde(default, alias = "staffCode", deserialize_with = "de::text")]
    pub staff_code: String,
    /// Who cancelled (name).
    #[serde(default, alias = "staffName", deserialize_with = "de::text")]
    pub staff_name: String,
    /// 线下预订单号.
    #[serde(deserialize_with = "de::text")]
    pub voucher: String,
}

// ---------------------------------------------------------------------------------------
// payment settings

/// Whether a payment method is enabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    /// 0 启用.
    Enabled,
    /// 1 停用.
    Disabled,
}

/// Which online payment a method is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NetworkPayment {
    /// 0 未绑定.
    None,
    /// 1 支付宝.
    Alipay,
    /// 2 微信.
    WeChat,
}

/// A payment method of the venue (payment_setting upload, WJ091 type 6).
///
/// Field names: the table renames `status` to `dictionarystatus` and `network_payment` to
/// `bindalipay` (the waiter app's released names); the examples still use the old names.
/// Both are read; the new names are written. The two status names mean opposite things:
/// `dictionarystatus` is the table's 0 启用 / 1 停用, the legacy `status` is the example's
/// 1 in use / 0 not (人民币 `status: 1`, the unused 优惠券 `status: 0`). When both are sent,
/// `dictionarystatus` wins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "WirePaymentSetting")]
pub struct PaymentSetting {
    /// 支付类型 ID (as in the bills' payments).
    #[serde(deserialize_with = "de::int")]
    pub payment_type_id: i64,
    /// 支付类型名称.
    #[serde(default, deserialize_with = "de::text")]
    pub payment_type_name: String,
    /// The venue's own name for it.
    #[serde(default, deserialize_with = "de::text")]
    pub payment_alias_name: String,
    /// Enabled or not (absent in WJ091 replies).
    #[serde(
        rename = "dictionarystatus",
        alias = "status",
        default,
        deserialize_with = "status_de",
        serialize_with = "status_ser",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<PaymentStatus>,
    /// Bound online payment.
    #[serde(
        rename = "bindalipay",
        alias = "network_payment",
        default,
        deserialize_with = "network_de",
        serialize_with = "network_ser",
        skip_serializing_if = "Option::is_none"
    )]
    pub network_payment: Option<NetworkPayment>,
}

/// The payment setting as sent: both status names, read with their own meaning.
#[derive(Deserialize)]
struct WirePaymentSetting {
    #[serde(deserialize_with = "de::int")]
    payment_type_id: i64,
    #[serde(default, deserialize_with = "de::text")]
    payment_type_name: String,
    #[serde(default, deserialize_with = "de::text")]
    payment_alias_name: String,
    #[serde(default, deserialize_with = "status_de")]
    dictionarystatus: Option<PaymentStatus>,
    #[serde(default, deserialize_with = "legacy_status_de")]
    status: Option<PaymentStatus>,
    #[serde(default, alias = "network_payment", deserialize_with = "network_de")]
    bindalipay: Option<NetworkPayment>,
}

impl From<WirePaymentSetting> for PaymentSetting {
    fn from(w: WirePaymentSetting) -> Self {
        PaymentSetting {
            payment_type_id: w.payment_type_id,
            payment_type_name: w.payment_type_name,
            payment_alias_name: w.payment_alias_name,
            status: w.dictionarystatus.or(w.status),
            network_payment: w.bindalipay,
        }
    }
}

/// The legacy `status`: 1 in use, 0 not (the spec's example), the inverse of
/// `dictionarystatus`.
fn legacy_status_de<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PaymentStatus>, D::Error> {
    match de::opt_int(d)? {
        None => Ok(None),
        Some(1) => Ok(Some(PaymentStatus::Enabled)),
        Some(0) => Ok(Some(PaymentStatus::Disabled)),
        Some(n) => Err(serde::de::Error::custom(format!(
            "status {n} is not 0 or 1"
        ))),
    }
}

fn status_de<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PaymentStatus>, D::Error> {
    match de::opt_int(d)? {
        None => Ok(None),
        Some(0) => Ok(Some(PaymentStatus::Enabled)),
        Some(1) => Ok(Some(PaymentStatus::Disabled)),
        Some(n) => Err(serde::de::Error::custom(format!(
            "status {n} is not 0 or 1"
        ))),
    }
}

fn status_ser<S: Serializer>(v: &Option<PaymentStatus>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(PaymentStatus::Enabled) => s.serialize_i64(0),
        Some(PaymentStatus::Disabled) => s.serialize_i64(1),
        None => s.serialize_none(),
    }
}

fn network_de<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NetworkPayment>, D::Error> {
    match de::opt_int(d)? {
        None => Ok(None),
        Some(0) => Ok(Some(NetworkPayment::None)),
        Some(1) => Ok(Some(NetworkPayment::Alipay)),
        Some(2) => Ok(Some(NetworkPayment::WeChat)),
        Some(n) => Err(serde::de::Error::custom(format!(
            "network payment {n} is not 0, 1 or 2"
        ))),
    }
}

fn network_ser<S: Serializer>(v: &Option<NetworkPayment>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(NetworkPayment::None) => s.serialize_i64(0),
        Some(NetworkPayment::Alipay) => s.serialize_i64(1),
        Some(NetworkPayment::WeChat) => s.serialize_i64(2),
        None => s.serialize_none(),
    }
}
