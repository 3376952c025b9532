//! Typed bodies of the notifications posgate acts on (spec chapter 2).
//!
//! The `body` field is a string holding JSON (an object, or an array for `product.edit`).
//! It is decoded only for the `cmd`s of the spec; an unknown `cmd` keeps its body as raw
//! text, unparsed, so a new Pospal type can never make a notification fail. Extra fields in
//! a known body are ignored, for the same reason. Money fields are [`Fen`] read from the
//! BigDecimal text (see the private `json` module); points are exact [`Decimal`]s.
//!
//! Fields that make the business identity are required (a ticket's `sn`, a recharge's `customerUid`, `datetime` and `rechargeMoney`, a coupon's
//! `code`, every id); the rest are optional, so a Pospal version that omits a descriptive
//! field is still consumed. `totalAmount` and `payments` of a ticket are not in the push
//! table of 2.1.1 but are fields of Pospal's ticket entity (`queryTicketBySn`); they are read
//! when present.

use super::cmd::Cmd;
use super::codes::PospalError;
use super::json::{
    as_object, opt_array, opt_decimal, opt_i64, opt_money, opt_text, parse_quoted, req_i64,
    req_money, req_text, Object, Sign,
};
use super::limits::{BARCODES_MAX, BODY_DEPTH_MAX, TEXT_CHARS_MAX, TICKET_LOG_ENTRIES_MAX};
use crate::money::Fen;
use rust_decimal::Decimal;
use serde_json::Value;

/// A decoded `body`, one variant per family of `cmd`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// `ticket.new` and `ticket.reverse`.
    Ticket(Ticket),
    /// `customer.new`.
    CustomerNew(CustomerNew),
    /// `customer.recharge`.
    Recharge(Recharge),
    /// `couponCode.use`.
    CouponUse(CouponUse),
    /// `stockTaking.new`: `stockTakingId`.
    StockTaking {
        /// `stockTakingId`.
        stock_taking_id: i64,
    },
    /// `product.edit`: the changed barcodes, in order.
    ProductEdit {
        /// `barcode` of each entry.
        barcodes: Vec<String>,
    },
    /// `productOrder.*`.
    ProductOrder(ProductOrder),
    /// `stockFlow.*`: `stockFlowId`.
    StockFlow {
        /// `stockFlowId`.
        stock_flow_id: i64,
    },
    /// `productRequest.new`: `productRequestId`.
    ProductRequest {
        /// `productRequestId`.
        product_request_id: i64,
    },
    /// An unknown `cmd`: the body is kept raw in the notification, not parsed.
    Unknown,
}

/// A ticket type or an operation type (`ticketType`, `operateType`: the spec gives both the
/// same numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TicketType {
    /// 1: sale.
    Sale,
    /// 2: refund (a new ticket).
    Refund,
    /// 3: sale ticket reversed (反结账; same `sn` as the sale).
    SaleReversed,
    /// 4: refund ticket reversed.
    RefundReversed,
    /// Any other number: Pospal adds types, and the type is descriptive (the money is in
    /// the logs), so it is kept, never refused.
    Other(i64),
}

impl TicketType {
    /// From the wire number (every number is a type; see [`TicketType::Other`]).
    pub fn from_wire(number: i64) -> TicketType {
        match number {
            1 => TicketType::Sale,
            2 => TicketType::Refund,
            3 => TicketType::SaleReversed,
            4 => TicketType::RefundReversed,
            other => TicketType::Other(other),
        }
    }

    /// The wire number.
    pub const fn to_wire(self) -> i64 {
        match self {
            TicketType::Sale => 1,
            TicketType::Refund => 2,
            TicketType::SaleReversed => 3,
            TicketType::RefundReversed => 4,
            TicketType::Other(number) => number,
        }
    }
}

/// A ticket notification (2.1.1 `ticket.new`, 2.1.2 `ticket.reverse`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    /// `sn`: the ticket serial number (kept by a reversal).
    pub sn: String,
    /// `uid`: the ticket's unique id.
    pub uid: Option<i64>,
    /// `customerUid`: the member; `None` when 0 or absent (not a member ticket).
    pub customer_uid: Option<i64>,
    /// `ticketType`. Absent in the spec's own 1.2 example (`{"uid":..., "sn":...}`), so
    /// optional: the ticket entity can always be fetched by `sn` (`queryTicketBySn`).
    pub ticket_type: Option<TicketType>,
    /// `totalAmount` (ticket entity field, when sent).
    pub total_amount: Option<Fen>,
    /// `customerBalanceUsedLogs`: member balance movements (member tickets only).
    pub balance_logs: Vec<BalanceLog>,
    /// `customerPointGaintLogs`: member point movements.
    pub point_logs: Vec<PointLog>,
    /// `payments` (ticket entity field, when sent).
    pub payments: Vec<TicketPayment>,
}

/// One `customerBalanceUsedLogs` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalanceLog {
    /// `usedMoney`: positive = deducted from the balance, negative = given back.
    pub used_money: Fen,
    /// `datetime`.
    pub datetime: Option<String>,
    /// `operateType`.
    pub operate_type: Option<TicketType>,
    /// `afterUsedMoney`: the balance after the movement.
    pub after_used_money: Option<Fen>,
}

/// One `customerPointGaintLogs` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointLog {
    /// `gaintPoint`: points gained (negative when taken back).
    pub points: Decimal,
    /// `datetime`.
    pub datetime: Option<String>,
    /// `operateType`.
    pub operate_type: Option<TicketType>,
    /// `afterGaintPoint`: the points after the movement.
    pub after_points: Option<Decimal>,
}

/// One `payments` entry of the ticket entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketPayment {
    /// `code`: the payment method (e.g. `payCode_1`).
    pub code: String,
    /// `amount` (negative on refunds).
    pub amount: Fen,
}

/// `customer.new` (2.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerNew {
    /// `customerUid`.
    pub customer_uid: i64,
    /// `number`: member number / card number.
    pub number: Option<String>,
    /// `phone`.
    pub phone: Option<String>,
    /// `name`.
    pub name: Option<String>,
}

/// `customer.recharge` (2.2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recharge {
    /// `customerUid`.
    pub customer_uid: i64,
    /// `datetime` (`yyyy-MM-dd HH:mm:ss`).
    pub datetime: String,
    /// `rechargeMoney`, never negative.
    pub recharge_money: Fen,
    /// `giftMoney`, never negative (0 when absent).
    pub gift_money: Fen,
    /// `giftPoint`.
    pub gift_points: Option<Decimal>,
    /// `rechargeStoreAccount`.
    pub store_account: Option<String>,
    /// `rechargeStoreAppId`.
    pub store_app_id: Option<String>,
}

/// `couponCode.use` (2.3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CouponUse {
    /// `code`: the coupon code.
    pub code: String,
    /// `createdUserAppId`.
    pub created_user_app_id: Option<String>,
    /// `useUserAppId`.
    pub use_user_app_id: Option<String>,
    /// `promotionCouponUid`.
    pub promotion_coupon_uid: Option<i64>,
    /// `createdDateTime`.
    pub created_datetime: Option<String>,
    /// `usedDateTime`.
    pub used_datetime: Option<String>,
    /// `createdByCustomerUid`.
    pub created_by_customer_uid: Option<i64>,
    /// `usedByCustomerUid`.
    pub used_by_customer_uid: Option<i64>,
    /// `createdByTicketUid`.
    pub created_by_ticket_uid: Option<i64>,
    /// `usedByTicketUid`.
    pub used_by_ticket_uid: Option<i64>,
    /// `expiredDate`.
    pub expired_date: Option<String>,
}

/// An online order's state (`state`, 2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderState {
    /// 0 or null: created.
    Created,
    /// 1: synchronised to the POS.
    Synced,
    /// 2: shipped.
    Shipped,
    /// 3: cancelled.
    Cancelled,
    /// 4: finished.
    Finished,
    /// 5: accepted by the merchant.
    Accepted,
    /// 8: handed to delivery.
    Delivering,
    /// 9: received by the customer.
    Received,
    /// A state the spec does not list (Pospal adds states; kept, never refused).
    Other(i64),
}

impl OrderState {
    /// From the wire number (`None` on the wire is [`OrderState::Created`]; every number is
    /// a state, see [`OrderState::Other`]).
    pub fn from_wire(number: i64) -> OrderState {
        match number {
            0 => OrderState::Created,
            1 => OrderState::Synced,
            2 => OrderState::Shipped,
            3 => OrderState::Cancelled,
            4 => OrderState::Finished,
            5 => OrderState::Accepted,
            8 => OrderState::Delivering,
            9 => OrderState::Received,
            other => OrderState::Other(other),
        }
    }

    /// The wire number.
    pub const fn to_wire(self) -> i64 {
        match self {
            OrderState::Created => 0,
            OrderState::Synced => 1,
            OrderState::Shipped => 2,
            OrderState::Cancelled => 3,
            OrderState::Finished => 4,
            OrderState::Accepted => 5,
            OrderState::Delivering => 8,
            OrderState::Received => 9,
            OrderState::Other(number) => number,
        }
    }
}

/// `productOrder.*` (2.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductOrder {
    /// `orderNo`.
    pub order_no: String,
    /// `state` (absent or null = created).
    pub state: OrderState,
}

/// Decodes the body of a known `cmd`; an unknown `cmd` gives [`Body::Unknown`] without
/// reading the text.
pub fn decode_body(cmd: &Cmd, text: &str) -> Result<Body, PospalError> {
    if let Cmd::Unknown(_) = cmd {
        return Ok(Body::Unknown);
    }
    // A byte order mark some serializers put in front of the JSON text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value = parse_quoted(text, BODY_DEPTH_MAX, "body")?;
    if let Cmd::ProductEdit = cmd {
        return product_edit(&value);
    }
    let obj = as_object(&value, "body")?;
    Ok(match cmd {
        Cmd::TicketNew | Cmd::TicketReverse => Body::Ticket(ticket(obj)?),
        Cmd::CustomerNew => Body::CustomerNew(CustomerNew {
            customer_uid: req_i64(obj, "customerUid")?,
            number: opt_text(obj, "number", TEXT_CHARS_MAX)?,
            phone: opt_text(obj, "phone", TEXT_CHARS_MAX)?,
            name: opt_text(obj, "name", TEXT_CHARS_MAX)?,
        }),
        Cmd::CustomerRecharge => Body::Recharge(Recharge {
            customer_uid: req_i64(obj, "customerUid")?,
            datetime: datetime(obj, "datetime")?.ok_or(PospalError::Missing("datetime"))?,
            recharge_money: req_money(obj, "rechargeMoney", Sign::NonNegative)?,
            gift_money: opt_money(obj, "giftMoney", Sign::NonNegative)?.unwrap_or(Fen::ZERO),
            gift_points: opt_decimal(obj, "giftPoint")?,
            store_account: opt_text(obj, "rechargeStoreAccount", TEXT_CHARS_MAX)?,
            store_app_id: opt_text(obj, "rechargeStoreAppId", TEXT_CHARS_MAX)?,
        }),
        Cmd::CouponCodeUse => Body::CouponUse(CouponUse {
            code: req_text(obj, "code", TEXT_CHARS_MAX)?,
            created_user_app_id: opt_text(obj, "createdUserAppId", TEXT_CHARS_MAX)?,
            use_user_app_id: opt_text(obj, "useUserAppId", TEXT_CHARS_MAX)?,
            promotion_coupon_uid: opt_i64(obj, "promotionCouponUid")?,
            created_datetime: datetime(obj, "createdDateTime")?,
            used_datetime: datetime(obj, "usedDateTime")?,
            created_by_customer_uid: opt_i64(obj, "createdByCustomerUid")?,
            used_by_customer_uid: opt_i64(obj, "usedByCustomerUid")?,
            created_by_ticket_uid: opt_i64(obj, "createdByTicketUid")?,
            used_by_ticket_uid: opt_i64(obj, "usedByTicketUid")?,
            expired_date: datetime(obj, "expiredDate")?,
        }),
        Cmd::StockTakingNew => Body::StockTaking {
            stock_taking_id: req_i64(obj, "stockTakingId")?,
        },
        Cmd::ProductOrder(_) => Body::ProductOrder(ProductOrder {
            order_no: req_text(obj, "orderNo", TEXT_CHARS_MAX)?,
            state: opt_i64(obj, "state")?.map_or(OrderState::Created, OrderState::from_wire),
        }),
        Cmd::StockFlow(_) => Body::StockFlow {
            stock_flow_id: req_i64(obj, "stockFlowId")?,
        },
        Cmd::ProductRequestNew => Body::ProductRequest {
            product_request_id: req_i64(obj, "productRequestId")?,
        },
        // Handled above; listed so a new `Cmd` variant fails to compile here.
        Cmd::ProductEdit | Cmd::Unknown(_) => Body::Unknown,
    })
}

fn ticket(obj: &Object) -> Result<Ticket, PospalError> {
    let ticket_type = read_ticket_type(obj, "ticketType")?;
    let balance_logs = opt_array(obj, "customerBalanceUsedLogs", TICKET_LOG_ENTRIES_MAX)?
        .iter()
        .map(|item| {
            let log = as_object(item, "customerBalanceUsedLogs")?;
            Ok(BalanceLog {
                used_money: req_money(log, "usedMoney", Sign::Any)?,
                datetime: datetime(log, "datetime")?,
                operate_type: read_ticket_type(log, "operateType")?,
                after_used_money: opt_money(log, "afterUsedMoney", Sign::Any)?,
            })
        })
        .collect::<Result<Vec<_>, PospalError>>()?;
    let logs_field = spelled(obj, ["customerPointGaintLogs", "customerPointGainLogs"]);
    let point_logs = opt_array(obj, logs_field, TICKET_LOG_ENTRIES_MAX)?
        .iter()
        .map(|item| {
            let log = as_object(item, logs_field)?;
            let points = spelled(log, ["gaintPoint", "gainPoint"]);
            Ok(PointLog {
                points: opt_decimal(log, points)?.ok_or(PospalError::Missing(points))?,
                datetime: datetime(log, "datetime")?,
                operate_type: read_ticket_type(log, "operateType")?,
                after_points: opt_decimal(
                    log,
                    spelled(log, ["afterGaintPoint", "afterGainPoint"]),
                )?,
            })
        })
        .collect::<Result<Vec<_>, PospalError>>()?;
    let payments = opt_array(obj, "payments", TICKET_LOG_ENTRIES_MAX)?
        .iter()
        .map(|item| {
            let payment = as_object(item, "payments")?;
            Ok(TicketPayment {
                code: req_text(payment, "code", TEXT_CHARS_MAX)?,
                amount: req_money(payment, "amount", Sign::Any)?,
            })
        })
        .collect::<Result<Vec<_>, PospalError>>()?;
    Ok(Ticket {
        sn: req_text(obj, "sn", TEXT_CHARS_MAX)?,
        uid: opt_i64(obj, "uid")?,
        customer_uid: opt_i64(obj, "customerUid")?.filter(|&uid| uid != 0),
        ticket_type,
        total_amount: opt_money(obj, "totalAmount", Sign::Any)?,
        balance_logs,
        point_logs,
        payments,
    })
}

/// The field name an object uses: the spec's spelling (first) unless only the corrected
/// spelling (`gain` for the spec's `gaint`) is present.
fn spelled(obj: &Object, [spec, corrected]: [&'static str; 2]) -> &'static str {
    if !obj.contains_key(spec) && obj.contains_key(corrected) {
        corrected
    } else {
        spec
    }
}

fn read_ticket_type(obj: &Object, field: &'static str) -> Result<Option<TicketType>, PospalError> {
    Ok(opt_i64(obj, field)?.map(TicketType::from_wire))
}

/// Whether `tail` is a fraction of a second as Java formatters write it: `.` then 1 to 9
/// digits (`.5`, `.123`, `.123456789`).
fn is_fraction(tail: &[u8]) -> bool {
    match tail.split_first() {
        None => true,
        Some((b'.', digits)) => {
            (1..=9).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit)
        }
        Some(_) => false,
    }
}

/// An optional `yyyy-MM-dd HH:mm:ss` date-time (checked for shape and ranges), also with a
/// `T` between date and time and with fractional seconds (`.SSS`), as Java serializers write
/// it. Kept as sent (the fraction tells two events of one second apart).
fn datetime(obj: &Object, field: &'static str) -> Result<Option<String>, PospalError> {
    let Some(text) = opt_text(obj, field, TEXT_CHARS_MAX)? else {
        return Ok(None);
    };
    let bytes = text.as_bytes();
    let shape = bytes.len() >= 19
        && is_fraction(&bytes[19..])
        && bytes[..19].iter().enumerate().all(|(at, &b)| match at {
            4 | 7 => b == b'-',
            10 => b == b' ' || b == b'T',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    let number = |range: std::ops::Range<usize>| -> u32 {
        bytes[range]
            .iter()
            .fold(0, |acc, &b| acc * 10 + u32::from(b - b'0'))
    };
    let valid = shape
        && (1..=12).contains(&number(5..7))
        && (1..=31).contains(&number(8..10))
        && number(11..13) < 24
        && number(14..16) < 60
        && number(17..19) < 60;
    if valid {
        Ok(Some(text))
    } else {
        Err(PospalError::Invalid {
            field,
            reason: "not yyyy-MM-dd HH:mm:ss[.SSS]",
        })
    }
}

fn product_edit(value: &Value) -> Result<Body, PospalError> {
    let Value::Array(items) = value else {
        return Err(PospalError::Shape("body"));
    };
    if items.len() > BARCODES_MAX {
        return Err(PospalError::TooMany {
            field: "body",
            max: BARCODES_MAX,
        });
    }
    let barcodes = items
        .iter()
        .map(|item| req_text(as_object(item, "body")?, "barcode", TEXT_CHARS_MAX))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Body::ProductEdit { barcodes })
}
