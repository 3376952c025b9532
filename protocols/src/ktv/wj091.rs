//! WJ091 over RabbitMQ: posgate pulls what the HTTP uploads missed.
//!
//! A request names a `type` (0-9, the spec's table) and what that type needs (a business
//! day and a page, a room, a time range); the venue answers `{ret, msg, data, total}` where
//! `data` is inline JSON or, with `zip: 1`, `base64(gzip(json))` (no AES: "MQ 通道被认为是
//! 可信任通道"). The reply is typed by the request that asked for it, because the reply does
//! not say what it contains. Paging: `page_num` counts from 0, `total` is the number of rows
//! of the whole day, and [`Wj091Reply::next_page`] says whether to ask again.
//!
//! Decisions where the spec is loose:
//! - Type 4 (包厢消费详情): the table lists "date, page_num, page_size" but the example, and
//!   what the reply is (one room's consumption), use `roomid`; posgate sends `roomid`, as a
//!   number when the id is a canonical integer (the example's `23`), else as text.
//! - Types 3 (会员充值) and 7 (开房通知): the row format is defined in other documents, not
//!   this spec; their rows are kept as bounded raw JSON objects ([`RawRow`]).
//! - Type 8 is marked "no longer used" but still defined; it is supported.
//! - A reply `data` that is a string is gunzipped unless it is itself JSON text (starts with
//!   `[` or `{`); an empty string or `null` is "no data".
//! - `next_page` trusts `total` only: without a total there is no next page, so a venue that
//!   ignores paging cannot make posgate loop.

use super::bill::Bill;
use super::crypto::{zip_decode, zip_encode};
use super::de;
use super::error::{check_count, KtvError};
use super::limits::{
    DECOMPRESSED_BYTES_MAX, DETAILS_PER_CHARGE_MAX, ROWS_UNPAGED_MAX, WJ091_PAGE_SIZE_DEFAULT,
    WJ091_PAGE_SIZE_MAX, WJ091_REPLY_BYTES_MAX, WJ091_REQUEST_BYTES_MAX, WJ091_TOTAL_ROWS_MAX,
};
use super::types::{BusinessDate, CompanyCode, RoomId};
use super::upload::{
    bills_from_value, parse_json, rows_from_value, typed, OpenTimeData, PaymentSetting, Realtime,
};
use crate::money::Fen;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// The command id of every request and reply.
pub const CMDID: &str = "WJ091";

/// The request types of the spec's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wj091Type {
    /// 0: opening hours and system version.
    OpenTime,
    /// 1: realtime room states.
    Realtime,
    /// 2: bills of a business day (paged).
    Bills,
    /// 3: member recharges of a business day (paged).
    MemberRecharges,
    /// 4: one room's current consumption.
    RoomConsumption,
    /// 5: card fees of a business day (paged).
    CardFees,
    /// 6: payment method settings.
    PaymentSettings,
    /// 7: room openings of a business day.
    RoomOpenings,
    /// 8: member consumption of a business day (paged; "no longer used").
    MemberConsumption,
    /// 9: bookings of one room in a time range.
    RoomBookings,
}

impl Wj091Type {
    /// Every type, in table order.
    pub const ALL: [Wj091Type; 10] = [
        Wj091Type::OpenTime,
        Wj091Type::Realtime,
        Wj091Type::Bills,
        Wj091Type::MemberRecharges,
        Wj091Type::RoomConsumption,
        Wj091Type::CardFees,
        Wj091Type::PaymentSettings,
        Wj091Type::RoomOpenings,
        Wj091Type::MemberConsumption,
        Wj091Type::RoomBookings,
    ];

    /// The wire `type`.
    pub const fn code(self) -> u8 {
        match self {
            Wj091Type::OpenTime => 0,
            Wj091Type::Realtime => 1,
            Wj091Type::Bills => 2,
            Wj091Type::MemberRecharges => 3,
            Wj091Type::RoomConsumption => 4,
            Wj091Type::CardFees => 5,
            Wj091Type::PaymentSettings => 6,
            Wj091Type::RoomOpenings => 7,
            Wj091Type::MemberConsumption => 8,
            Wj091Type::RoomBookings => 9,
        }
    }

    /// The type for a wire number.
    pub fn from_code(code: i64) -> Option<Wj091Type> {
        Wj091Type::ALL
            .into_iter()
            .find(|t| i64::from(t.code()) == code)
    }
}

/// A page request: `page_num` from 0, `page_size` 1..=[`WJ091_PAGE_SIZE_MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Page {
    num: u32,
    size: u32,
}

impl Page {
    /// The first page with the spec's default size (100).
    pub const FIRST: Page = Page {
        num: 0,
        size: WJ091_PAGE_SIZE_DEFAULT,
    };

    /// A validated page.
    pub fn new(num: u32, size: u32) -> Result<Page, KtvError> {
        if size == 0 || size > WJ091_PAGE_SIZE_MAX {
            return Err(KtvError::Field(format!(
                "page_size {size} is not 1..={WJ091_PAGE_SIZE_MAX}"
            )));
        }
        if u64::from(num) * u64::from(size) >= u64::from(WJ091_TOTAL_ROWS_MAX) {
            return Err(KtvError::Field(format!(
                "page_num {num} is beyond {WJ091_TOTAL_ROWS_MAX} rows"
            )));
        }
        Ok(Page { num, size })
    }

    /// The page number, from 0.
    pub const fn num(self) -> u32 {
        self.num
    }

    /// The page size.
    pub const fn size(self) -> u32 {
        self.size
    }
}

/// What a request asks for, with the parameters its type needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wj091Query {
    /// Type 0.
    OpenTime,
    /// Type 1.
    Realtime,
    /// Type 2: bills of `date`, optionally only `voucher`.
    Bills {
        /// Business day.
        date: BusinessDate,
        /// One bill only (supported by 坚度).
        voucher: Option<String>,
        /// Page.
        page: Page,
    },
    /// Type 3.
    MemberRecharges {
        /// Business day.
        date: BusinessDate,
        /// Page.
        page: Page,
    },
    /// Type 4: one room (sent as `roomid`).
    RoomConsumption {
        /// The room.
        room_id: RoomId,
    },
    /// Type 5.
    CardFees {
        /// Business day.
        date: BusinessDate,
        /// Page.
        page: Page,
    },
    /// Type 6.
    PaymentSettings,
    /// Type 7.
    RoomOpenings {
        /// Business day.
        date: BusinessDate,
    },
    /// Type 8.
    MemberConsumption {
        /// Business day.
        date: BusinessDate,
        /// Page.
        page: Page,
    },
    /// Type 9: bookings of a room arriving between `begin_date` and `end_date`.
    RoomBookings {
        /// The room (sent as `room_id`, text).
        room_id: RoomId,
        /// `yyyy-MM-dd HH:mm:ss`.
        begin_date: String,
        /// `yyyy-MM-dd HH:mm:ss`.
        end_date: String,
    },
}

impl Wj091Query {
    /// The request type.
    pub const fn kind(&self) -> Wj091Type {
        match self {
            Wj091Query::OpenTime => Wj091Type::OpenTime,
            Wj091Query::Realtime => Wj091Type::Realtime,
            Wj091Query::Bills { .. } => Wj091Type::Bills,
            Wj091Query::MemberRecharges { .. } => Wj091Type::MemberRecharges,
            Wj091Query::RoomConsumption { .. } => Wj091Type::RoomConsumption,
            Wj091Query::CardFees { .. } => Wj091Type::CardFees,
            Wj091Query::PaymentSettings => Wj091Type::PaymentSettings,
            Wj091Query::RoomOpenings { .. } => Wj091Type::RoomOpenings,
            Wj091Query::MemberConsumption { .. } => Wj091Type::MemberConsumption,
            Wj091Query::RoomBookings { .. } => Wj091Type::RoomBookings,
        }
    }

    /// The page, for paged types.
    pub const fn page(&self) -> Option<Page> {
        match self {
            Wj091Query::Bills { page, .. }
            | Wj091Query::MemberRecharges { page, .. }
            | Wj091Query::CardFees { page, .. }
            | Wj091Query::MemberConsumption { page, .. } => Some(*page),
            Wj091Query::OpenTime
            | Wj091Query::Realtime
            | Wj091Query::RoomConsumption { .. }
            | Wj091Query::PaymentSettings
            | Wj091Query::RoomOpenings { .. }
            | Wj091Query::RoomBookings { .. } => None,
        }
    }

    fn with_page(&self, next: Page) -> Wj091Query {
        let mut query = self.clone();
        match &mut query {
            Wj091Query::Bills { page, .. }
            | Wj091Query::MemberRecharges { page, .. }
            | Wj091Query::CardFees { page, .. }
            | Wj091Query::MemberConsumption { page, .. } => *page = next,
            Wj091Query::OpenTime
            | Wj091Query::Realtime
            | Wj091Query::RoomConsumption { .. }
            | Wj091Query::PaymentSettings
            | Wj091Query::RoomOpenings { .. }
            | Wj091Query::RoomBookings { .. } => {}
        }
        query
    }
}

/// A WJ091 request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wj091Request {
    /// The venue asked.
    pub companycode: CompanyCode,
    /// What is asked.
    pub query: Wj091Query,
    /// Whether the reply's data should be compressed (`zip: 1`).
    pub zip: bool,
}

/// Checks `yyyy-MM-dd HH:mm:ss`.
fn check_datetime(field: &str, text: &str) -> Result<(), KtvError> {
    let bad = || KtvError::Field(format!("{field} {text:?} is not yyyy-MM-dd HH:mm:ss"));
    let (date, time) = text.split_once(' ').ok_or_else(bad)?;
    BusinessDate::parse(date).map_err(|_| bad())?;
    super::types::ClockTime::parse(time).map_err(|_| bad())?;
    Ok(())
}

impl Wj091Request {
    /// A validated request. `zip` defaults to on, except for type 6 (small data: the spec
    /// says the venue need not compress it).
    pub fn new(companycode: CompanyCode, query: Wj091Query) -> Result<Wj091Request, KtvError> {
        match &query {
            Wj091Query::Bills {
                voucher: Some(v), ..
            } if v.trim().is_empty() || v.len() > 64 => {
                return Err(KtvError::Field(format!(
                    "voucher {v:?} is not a bill number"
                )));
            }
            Wj091Query::RoomConsumption { room_id } | Wj091Query::RoomBookings { room_id, .. }
                if room_id.as_str().is_empty() || room_id.as_str().len() > 64 =>
            {
                return Err(KtvError::Field("room id is empty or too long".to_owned()));
            }
            Wj091Query::RoomBookings {
                begin_date,
                end_date,
                ..
            } => {
                check_datetime("begin_date", begin_date)?;
                check_datetime("end_date", end_date)?;
                if end_date < begin_date {
                    return Err(KtvError::Field("end_date is before begin_date".to_owned()));
                }
            }
            _ => {}
        }
        let zip = !matches!(query, Wj091Query::PaymentSettings);
        Ok(Wj091Request {
            companycode,
            query,
            zip,
        })
    }

    /// The same request with `zip` set.
    pub fn with_zip(mut self, zip: bool) -> Wj091Request {
        self.zip = zip;
        self
    }

    /// The request as JSON.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("cmdid".into(), Value::from(CMDID));
        m.insert("companycode".into(), Value::from(self.companycode.as_str()));
        m.insert("type".into(), Value::from(self.query.kind().code()));
        m.insert("zip".into(), Value::from(u8::from(self.zip)));
        let mut date = |d: &BusinessDate| {
            m.insert("date".into(), Value::from(d.as_str()));
        };
        match &self.query {
            Wj091Query::OpenTime | Wj091Query::Realtime | Wj091Query::PaymentSettings => {}
            Wj091Query::Bills {
                date: d, voucher, ..
            } => {
                date(d);
                if let Some(v) = voucher {
                    m.insert("voucher".into(), Value::from(v.as_str()));
                }
            }
            Wj091Query::MemberRecharges { date: d, .. }
            | Wj091Query::CardFees { date: d, .. }
            | Wj091Query::RoomOpenings { date: d }
            | Wj091Query::MemberConsumption { date: d, .. } => date(d),
            Wj091Query::RoomConsumption { room_id } => {
                m.insert("roomid".into(), room_id.to_json());
            }
            Wj091Query::RoomBookings {
                room_id,
                begin_date,
                end_date,
            } => {
                m.insert("room_id".into(), Value::from(room_id.as_str()));
                m.insert("begin_date".into(), Value::from(begin_date.as_str()));
                m.insert("end_date".into(), Value::from(end_date.as_str()));
            }
        }
        if let Some(page) = self.query.page() {
            m.insert("page_size".into(), Value::from(page.size));
            m.insert("page_num".into(), Value::from(page.num));
        }
        Value::Object(m)
    }

    /// The request bytes to publish.
    pub fn encode(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// The request for the page after `reply`, if there is one.
    pub fn next_page_request(&self, reply: &Wj091Reply) -> Option<Wj091Request> {
        let next = reply.next_page()?;
        let size = self.query.page()?.size;
        let page = Page::new(next, size).ok()?;
        Some(Wj091Request {
            companycode: self.companycode.clone(),
            query: self.query.with_page(page),
            zip: self.zip,
        })
    }
}

#[derive(Deserialize)]
struct WireRequest {
    cmdid: String,
    companycode: CompanyCode,
    #[serde(rename = "type", deserialize_with = "de::int")]
    kind: i64,
    #[serde(default, deserialize_with = "de::opt_flag")]
    zip: Option<bool>,
    #[serde(default)]
    date: Option<BusinessDate>,
    #[serde(default, deserialize_with = "de::text")]
    voucher: String,
    #[serde(default, deserialize_with = "de::opt_int")]
    page_size: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    page_num: Option<i64>,
    #[serde(default, deserialize_with = "super::types::opt_room_id")]
    roomid: Option<RoomId>,
    #[serde(default, deserialize_with = "super::types::opt_room_id")]
    room_id: Option<RoomId>,
    #[serde(default, deserialize_with = "de::text")]
    begin_date: String,
    #[serde(default, deserialize_with = "de::text")]
    end_date: String,
}

/// Reads a WJ091 request (venue simulators, tests). Defaults as the spec: `zip` 0,
/// `page_size` 100, `page_num` 0.
pub fn decode_request(bytes: &[u8]) -> Result<Wj091Request, KtvError> {
    let value = parse_json("WJ091 request", bytes, WJ091_REQUEST_BYTES_MAX)?;
    let wire: WireRequest = typed("WJ091 request", value)?;
    if wire.cmdid != CMDID {
        return Err(KtvError::Field(format!(
            "cmdid {:?} is not {CMDID}",
            wire.cmdid
        )));
    }
    let kind = Wj091Type::from_code(wire.kind)
        .ok_or_else(|| KtvError::Field(format!("type {} is not 0-9", wire.kind)))?;
    let page = || -> Result<Page, KtvError> {
        let num = u32::try_from(wire.page_num.unwrap_or(0))
            .map_err(|_| KtvError::Field("page_num out of range".to_owned()))?;
        let size = u32::try_from(wire.page_size.unwrap_or(i64::from(WJ091_PAGE_SIZE_DEFAULT)))
            .map_err(|_| KtvError::Field("page_size out of range".to_owned()))?;
        Page::new(num, size)
    };
    let date = || {
        wire.date
            .clone()
            .ok_or_else(|| KtvError::Field(format!("type {} requires date", wire.kind)))
    };
    let room = |r: &Option<RoomId>| {
        r.clone()
            .ok_or_else(|| KtvError::Field(format!("type {} requires a room", wire.kind)))
    };
    let query = match kind {
        Wj091Type::OpenTime => Wj091Query::OpenTime,
        Wj091Type::Realtime => Wj091Query::Realtime,
        Wj091Type::Bills => Wj091Query::Bills {
            date: date()?,
            voucher: (!wire.voucher.is_empty()).then(|| wire.voucher.clone()),
            page: page()?,
        },
        Wj091Type::MemberRecharges => Wj091Query::MemberRecharges {
            date: date()?,
            page: page()?,
        },
        Wj091Type::RoomConsumption => Wj091Query::RoomConsumption {
            room_id: room(&wire.roomid.clone().or_else(|| wire.room_id.clone()))?,
        },
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
            room_id: room(&wire.room_id.clone().or_else(|| wire.roomid.clone()))?,
            begin_date: wire.begin_date.clone(),
            end_date: wire.end_date.clone(),
        },
    };
    let request = Wj091Request::new(wire.companycode, query)?;
    Ok(request.with_zip(wire.zip.unwrap_or(false)))
}

// ---------------------------------------------------------------------------------------
// reply rows

/// A row whose format this spec does not define (types 3 and 7): a JSON object, kept raw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawRow(pub Map<String, Value>);

/// Type 4: one room's consumption.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoomConsumption {
    /// Display pairs (开房时间, 消费时长, 应付金额...), text as sent.
    #[serde(default)]
    pub room_info: Vec<ShowItem>,
    /// Items ordered in the room (refunds listed separately, negative).
    #[serde(default)]
    pub wine_info: Vec<WineItem>,
    /// Staff on duty in the room (赢娱), latest first.
    #[serde(default)]
    pub pr_info: Vec<PrInfo>,
}

/// A display pair of type 4's `room_info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShowItem {
    /// 显示字段名称.
    #[serde(default, deserialize_with = "de::text")]
    pub showtitle: String,
    /// 显示字段内容 (amounts among them are fen as text).
    #[serde(default, deserialize_with = "de::text")]
    pub showvalue: String,
}

/// What kind of order line an item is (`ordertype`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WineOrderKind {
    /// 0, 1, 3, 4: sale.
    Sale,
    /// 2: 例送 (customary gift).
    Courtesy,
    /// 5, 6: present.
    Present,
    /// 7, 8: package.
    Package,
    /// 9: 配送 (delivered with something else).
    Delivery,
    /// 10: 支取 (withdrawal of stored drinks).
    Withdrawal,
}

impl WineOrderKind {
    /// The kind for an `ordertype`, if in the spec's table (0-10).
    pub const fn from_code(code: i64) -> Option<WineOrderKind> {
        match code {
            0 | 1 | 3 | 4 => Some(WineOrderKind::Sale),
            2 => Some(WineOrderKind::Courtesy),
            5 | 6 => Some(WineOrderKind::Present),
            7 | 8 => Some(WineOrderKind::Package),
            9 => Some(WineOrderKind::Delivery),
            10 => Some(WineOrderKind::Withdrawal),
            _ => None,
        }
    }
}

/// Whether an item is settled (`paid`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PaidState {
    /// -1 (or absent): the venue system cannot tell.
    #[default]
    Unknown,
    /// 0 未结.
    Unpaid,
    /// 1 已结.
    Paid,
}

/// An item of type 4's `wine_info`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WineItem {
    /// 单位.
    #[serde(default, deserialize_with = "de::text")]
    pub unit: String,
    /// 商品名称.
    #[serde(default, deserialize_with = "de::text")]
    pub matername: String,
    /// 赠送人.
    #[serde(default, deserialize_with = "de::text")]
    pub presentman: String,
    /// 价格: the spec gives no unit and its example (15 with `sellmoney` 1500 for one item)
    /// reads as yuan, so it is kept as the exact wire decimal and not used as money.
    #[serde(
        default,
        deserialize_with = "de::opt_decimal",
        serialize_with = "de::ser_opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub sellprice: Option<Decimal>,
    /// 售价, fen (negative for refunds).
    #[serde(default, deserialize_with = "de::fen")]
    pub sellmoney: Fen,
    /// 明细 ID (the package head's for package items).
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub mattersno: Option<i64>,
    /// 物品 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub matterid: Option<i64>,
    /// 下单时间 HH:mm.
    #[serde(default, deserialize_with = "de::text")]
    pub ordertime: String,
    /// 销售数量 (negative for refunds).
    #[serde(default, deserialize_with = "de::quantity")]
    pub sellnum: f64,
    /// 下单人.
    #[serde(default, deserialize_with = "de::text")]
    pub orderman: String,
    /// 销售类型 0-10 (see [`WineOrderKind`]).
    #[serde(default, deserialize_with = "ordertype_de")]
    pub ordertype: i64,
    /// 酒水单 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub wineid: Option<i64>,
    /// 结算状态.
    #[serde(default, deserialize_with = "paid_de", serialize_with = "paid_ser")]
    pub paid: PaidState,
}

impl WineItem {
    /// The order kind.
    pub fn kind(&self) -> Option<WineOrderKind> {
        WineOrderKind::from_code(self.ordertype)
    }

    /// Whether this line is a refund (negative quantity, the spec's convention).
    pub fn is_refund(&self) -> bool {
        self.sellnum < 0.0
    }
}

/// A staff member on duty in a room (type 4 `pr_info`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrInfo {
    /// 资源员工 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub staff_id: Option<i64>,
    /// 员工编码.
    #[serde(default, deserialize_with = "de::text")]
    pub staff_code: String,
    /// 姓名.
    #[serde(default, deserialize_with = "de::text")]
    pub staff_name: String,
    /// 队长姓名.
    #[serde(default, deserialize_with = "de::text")]
    pub leader_name: String,
    /// 上台时间 HH:mm.
    #[serde(default, deserialize_with = "de::text")]
    pub up_time: String,
    /// 下台时间 HH:mm, may be empty.
    #[serde(default, deserialize_with = "de::text")]
    pub down_time: String,
}

/// Card fee operation (`operationtype`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CardOperation {
    /// 0 售卡.
    Sell,
    /// 1 补卡.
    Reissue,
}

/// Type 5: a card fee (购卡/补卡) with its payments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CardFee {
    /// 会员等级 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub gradeid: Option<i64>,
    /// 卡号.
    #[serde(default, deserialize_with = "de::text")]
    pub cardnum: String,
    /// 会员 ID.
    #[serde(default, deserialize_with = "de::text")]
    pub memberid: String,
    /// 线下业务唯一 id.
    #[serde(deserialize_with = "de::int")]
    pub onlybusinessid: i64,
    /// 退单唯一 id (0 = not a refund).
    #[serde(default, deserialize_with = "de::int")]
    pub quitonlybusinessid: i64,
    /// 售卡 / 补卡.
    #[serde(deserialize_with = "card_op_de", serialize_with = "card_op_ser")]
    pub operationtype: CardOperation,
    /// 售卡费/补卡费, fen.
    #[serde(deserialize_with = "de::fen")]
    pub acceptmoney: Fen,
    /// 售卡时间.
    #[serde(default, deserialize_with = "de::text")]
    pub acceptmoneydate: String,
    /// `businessitype` of the example (not described by the spec).
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub businessitype: Option<i64>,
    /// 支付明细.
    #[serde(default)]
    pub payments: Vec<CardFeePayment>,
}

/// A payment of a card fee.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CardFeePayment {
    /// 支付方式 ID.
    #[serde(deserialize_with = "de::int")]
    pub paymenttypeid: i64,
    /// 支付方式名称.
    #[serde(default, deserialize_with = "de::text")]
    pub paymenttypename: String,
    /// 金额, fen.
    #[serde(deserialize_with = "de::fen")]
    pub value: Fen,
    /// 汇率.
    #[serde(
        default,
        deserialize_with = "de::opt_decimal",
        serialize_with = "de::ser_opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub rate: Option<Decimal>,
    /// 换算后金额, fen.
    #[serde(
        default,
        deserialize_with = "de::opt_fen",
        skip_serializing_if = "Option::is_none"
    )]
    pub translatemoney: Option<Fen>,
}

/// Type 8: a member-card consumption.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberConsumption {
    /// 会员账户余额, fen.
    #[serde(default, deserialize_with = "de::fen")]
    pub account_balance: Fen,
    /// 0 offline, 1 online.
    #[serde(default, deserialize_with = "de::int")]
    pub business_type: i64,
    /// 账户变动记录 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub card_account_change_id: Option<i64>,
    /// 消费本金, fen.
    #[serde(default, deserialize_with = "de::fen")]
    pub cash_change_money: Fen,
    /// 消费赠送金额, fen.
    #[serde(default, deserialize_with = "de::fen")]
    pub present_change_money: Fen,
    /// 消费时间.
    #[serde(default, deserialize_with = "de::text")]
    pub changed_datetime: String,
    /// 变动积分.
    #[serde(default, deserialize_with = "de::int")]
    pub change_integral: i64,
    /// 关联账单号.
    #[serde(default, deserialize_with = "de::text")]
    pub voucher: String,
    /// 消费类型.
    #[serde(default, deserialize_with = "de::text")]
    pub consume_type: String,
    /// 实收金额, fen.
    #[serde(default, deserialize_with = "de::fen")]
    pub fact_accept_charge: Fen,
    /// 积分余额.
    #[serde(default, deserialize_with = "de::int")]
    pub integral_balance: i64,
    /// 线上 KMID.
    #[serde(default, deserialize_with = "de::text")]
    pub km_id: String,
    /// 线下连锁会员 ID.
    #[serde(default, deserialize_with = "de::text")]
    pub member_id: String,
    /// 备注.
    #[serde(default, deserialize_with = "de::text")]
    pub note: String,
    /// 账单消费唯一 ID: the de-duplication key.
    #[serde(deserialize_with = "de::int")]
    pub only_business_id: i64,
    /// 退单唯一 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub quit_only_business_id: Option<i64>,
    /// 会员卡等级 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub grade_id: Option<i64>,
    /// 销售经理.
    #[serde(default, deserialize_with = "de::text")]
    pub sales_manager: String,
    /// 销售经理编码.
    #[serde(default, deserialize_with = "de::text")]
    pub sales_manager_code: String,
}

/// Type 9: a booking of the room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    /// 客人姓名.
    #[serde(default, deserialize_with = "de::text")]
    pub guest_name: String,
    /// 客人手机号.
    #[serde(default, deserialize_with = "de::text")]
    pub guest_phone: String,
    /// 会员卡 ID, "" for non-members.
    #[serde(default, deserialize_with = "de::text")]
    pub member_id: String,
    /// 备注.
    #[serde(default, deserialize_with = "de::text")]
    pub remark: String,
    /// 到店时间.
    #[serde(default, deserialize_with = "de::text")]
    pub reserve_time: String,
    /// 包厢 ID.
    pub room_id: RoomId,
    /// 包厢名称.
    #[serde(default, deserialize_with = "de::text")]
    pub room_name: String,
    /// 包厢类型 ID (STR in the spec).
    #[serde(default, deserialize_with = "de::text")]
    pub room_type_id: String,
    /// 包厢类型名称.
    #[serde(default, deserialize_with = "de::text")]
    pub room_type_name: String,
    /// 线下预订单号.
    #[serde(deserialize_with = "de::text")]
    pub voucher: String,
    /// 定位人.
    #[serde(default, deserialize_with = "de::text")]
    pub operator: String,
    /// 定位人员工编号.
    #[serde(default, deserialize_with = "de::text")]
    pub operator_staff_code: String,
    /// 销售经理.
    #[serde(default, deserialize_with = "de::text")]
    pub sales_manager: String,
    /// 销售经理员工编号.
    #[serde(default, deserialize_with = "de::text")]
    pub sales_manager_staff_code: String,
}

fn ordertype_de<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let code = de::int(d)?;
    WineOrderKind::from_code(code)
        .map(|_| code)
        .ok_or_else(|| serde::de::Error::custom(format!("ordertype {code} is not 0-10")))
}

fn paid_de<'de, D: Deserializer<'de>>(d: D) -> Result<PaidState, D::Error> {
    match de::opt_int(d)? {
        None | Some(-1) => Ok(PaidState::Unknown),
        Some(0) => Ok(PaidState::Unpaid),
        Some(1) => Ok(PaidState::Paid),
        Some(n) => Err(serde::de::Error::custom(format!(
            "paid {n} is not -1, 0 or 1"
        ))),
    }
}

fn paid_ser<S: Serializer>(v: &PaidState, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(match v {
        PaidState::Unknown => -1,
        PaidState::Unpaid => 0,
        PaidState::Paid => 1,
    })
}

fn card_op_de<'de, D: Deserializer<'de>>(d: D) -> Result<CardOperation, D::Error> {
    match de::int(d)? {
        0 => Ok(CardOperation::Sell),
        1 => Ok(CardOperation::Reissue),
        n => Err(serde::de::Error::custom(format!(
            "operationtype {n} is not 0 or 1"
        ))),
    }
}

fn card_op_ser<S: Serializer>(v: &CardOperation, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(match v {
        CardOperation::Sell => 0,
        CardOperation::Reissue => 1,
    })
}

// ---------------------------------------------------------------------------------------
// reply

/// A reply's data, typed by the request type.
#[derive(Clone, Debug, PartialEq)]
pub enum Wj091Data {
    /// No data (`ret` non-zero, or `data` absent, null or "").
    None,
    /// Type 0.
    OpenTime(OpenTimeData),
    /// Type 1.
    Realtime(Realtime),
    /// Type 2 (not yet balance-checked).
    Bills(Vec<Bill>),
    /// Type 3.
    MemberRecharges(Vec<RawRow>),
    /// Type 4.
    RoomConsumption(RoomConsumption),
    /// Type 5.
    CardFees(Vec<CardFee>),
    /// Type 6.
    PaymentSettings(Vec<PaymentSetting>),
    /// Type 7.
    RoomOpenings(Vec<RawRow>),
    /// Type 8.
    MemberConsumption(Vec<MemberConsumption>),
    /// Type 9.
    RoomBookings(Vec<Booking>),
}

impl Wj091Data {
    /// Rows in this page (1 for single objects, 0 for none).
    pub fn row_count(&self) -> usize {
        match self {
            Wj091Data::None => 0,
            Wj091Data::OpenTime(_) | Wj091Data::Realtime(_) | Wj091Data::RoomConsumption(_) => 1,
            Wj091Data::Bills(rows) => rows.len(),
            Wj091Data::MemberRecharges(rows) | Wj091Data::RoomOpenings(rows) => rows.len(),
            Wj091Data::CardFees(rows) => rows.len(),
            Wj091Data::PaymentSettings(rows) => rows.len(),
            Wj091Data::MemberConsumption(rows) => rows.len(),
            Wj091Data::RoomBookings(rows) => rows.len(),
        }
    }

    /// The data as JSON (`null` for none).
    pub fn to_json(&self) -> Value {
        let value = match self {
            Wj091Data::None => Ok(Value::Null),
            Wj091Data::OpenTime(d) => serde_json::to_value(d),
            Wj091Data::Realtime(d) => serde_json::to_value(d),
            Wj091Data::Bills(d) => serde_json::to_value(d),
            Wj091Data::MemberRecharges(d) | Wj091Data::RoomOpenings(d) => serde_json::to_value(d),
            Wj091Data::RoomConsumption(d) => serde_json::to_value(d),
            Wj091Data::CardFees(d) => serde_json::to_value(d),
            Wj091Data::PaymentSettings(d) => serde_json::to_value(d),
            Wj091Data::MemberConsumption(d) => serde_json::to_value(d),
            Wj091Data::RoomBookings(d) => serde_json::to_value(d),
        };
        value.unwrap_or(Value::Null)
    }
}

/// A decoded WJ091 reply.
#[derive(Clone, Debug, PartialEq)]
pub struct Wj091Reply {
    /// The venue's result (0 success; other values are the venue system's own).
    pub ret: i64,
    /// The venue's message.
    pub msg: String,
    /// Rows of the whole day (paged types), when sent.
    pub total: Option<u32>,
    /// The data.
    pub data: Wj091Data,
    /// The page that was asked for (from the request).
    pub page: Option<Page>,
}

impl Wj091Reply {
    /// Whether the venue reported success.
    pub fn is_ok(&self) -> bool {
        self.ret == 0
    }

    /// The next `page_num` to ask for, if `total` says there are more rows.
    pub fn next_page(&self) -> Option<u32> {
        if !self.is_ok() {
            return None;
        }
        let page = self.page?;
        let total = self.total?;
        let pages = total.div_ceil(page.size);
        let next = page.num.checked_add(1)?;
        (next < pages).then_some(next)
    }

    /// The reply bytes (venue simulators, tests): `data` zipped when `zip`.
    pub fn encode(&self, zip: bool) -> Vec<u8> {
        let data = self.data.to_json();
        let data = if zip && !data.is_null() {
            Value::from(zip_encode(data.to_string().as_bytes()))
        } else {
            data
        };
        let mut m = Map::new();
        m.insert("cmdid".into(), Value::from(CMDID));
        m.insert("ret".into(), Value::from(self.ret));
        m.insert("msg".into(), Value::from(self.msg.as_str()));
        m.insert("data".into(), data);
        if let Some(total) = self.total {
            m.insert("total".into(), Value::from(total));
        }
        Value::Object(m).to_string().into_bytes()
    }
}

#[derive(Deserialize)]
struct WireReply {
    #[serde(default, deserialize_with = "de::opt_int")]
    ret: Option<i64>,
    #[serde(default, deserialize_with = "de::text")]
    msg: String,
    #[serde(default, deserialize_with = "de::opt_int")]
    total: Option<i64>,
    #[serde(default)]
    data: Value,
}

/// Decodes the venue's reply to `request`: unzips `data` when it is a string, types it by
/// the request's type, and bounds everything (bytes, decompressed bytes, `total`, rows per
/// page).
pub fn decode_reply(request: &Wj091Request, bytes: &[u8]) -> Result<Wj091Reply, KtvError> {
    let value = parse_json("WJ091 reply", bytes, WJ091_REPLY_BYTES_MAX)?;
    let wire: WireReply = typed("WJ091 reply", value)?;
    let ret = wire.ret.unwrap_or(0);
    let total = match wire.total {
        None => None,
        Some(t) if (0..=i64::from(WJ091_TOTAL_ROWS_MAX)).contains(&t) => u32::try_from(t).ok(),
        Some(t) => {
            return Err(KtvError::TooMany {
                what: "WJ091 total",
                count: usize::try_from(t).unwrap_or(usize::MAX),
                max: WJ091_TOTAL_ROWS_MAX as usize,
            })
        }
    };
    let page = request.query.page();
    let data_json = match wire.data {
        // A failed reply's data is not read: venues put error text or nothing there.
        _ if ret != 0 => None,
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => {
            let trimmed = s.trim_start();
            if trimmed.starts_with('[') || trimmed.starts_with('{') {
                Some(parse_json(
                    "WJ091 data",
                    s.as_bytes(),
                    DECOMPRESSED_BYTES_MAX,
                )?)
            } else {
                let json = zip_decode(&s)?;
                Some(parse_json("WJ091 data", &json, DECOMPRESSED_BYTES_MAX)?)
            }
        }
        other => Some(other),
    };
    let data = match data_json {
        Some(json) => typed_data(request.query.kind(), json, page)?,
        None => Wj091Data::None,
    };
    Ok(Wj091Reply {
        ret,
        msg: wire.msg,
        total,
        data,
        page,
    })
}

fn typed_data(kind: Wj091Type, json: Value, page: Option<Page>) -> Result<Wj091Data, KtvError> {
    let rows_max = page.map_or(ROWS_UNPAGED_MAX, |p| p.size as usize);
    Ok(match kind {
        Wj091Type::OpenTime => Wj091Data::OpenTime(typed("WJ091 type 0 data", json)?),
        Wj091Type::Realtime => Wj091Data::Realtime(Realtime::from_value(json)?),
        // A venue that ignores `page_size` sends more rows than asked for: they are read
        // (bounded by what one upload may carry), and the caller counts distinct vouchers.
        Wj091Type::Bills => Wj091Data::Bills(bills_from_value(json)?),
        Wj091Type::MemberRecharges => {
            Wj091Data::MemberRecharges(rows_from_value("WJ091 type 3 rows", json, rows_max)?)
        }
        Wj091Type::RoomConsumption => {
            for (list, max) in [
                ("room_info", ROWS_UNPAGED_MAX),
                ("wine_info", DETAILS_PER_CHARGE_MAX),
                ("pr_info", ROWS_UNPAGED_MAX),
            ] {
                if let Some(Value::Array(rows)) = json.get(list) {
                    check_count(list, rows.len(), max)?;
                }
            }
            Wj091Data::RoomConsumption(typed("WJ091 type 4 data", json)?)
        }
        Wj091Type::CardFees => {
            let rows: Vec<CardFee> = rows_from_value("WJ091 type 5 rows", json, rows_max)?;
            for row in &rows {
                check_count(
                    "card fee payments",
                    row.payments.len(),
                    super::limits::PAYMENTS_PER_BILL_MAX,
                )?;
            }
            Wj091Data::CardFees(rows)
        }
        Wj091Type::PaymentSettings => {
            Wj091Data::PaymentSettings(rows_from_value("WJ091 type 6 rows", json, rows_max)?)
        }
        Wj091Type::RoomOpenings => {
            Wj091Data::RoomOpenings(rows_from_value("WJ091 type 7 rows", json, rows_max)?)
        }
        Wj091Type::MemberConsumption => {
            Wj091Data::MemberConsumption(rows_from_value("WJ091 type 8 rows", json, rows_max)?)
        }
        Wj091Type::RoomBookings => {
            Wj091Data::RoomBookings(rows_from_value("WJ091 type 9 rows", json, rows_max)?)
        }
    })
}
