//! Bills (账单): the typed form shared by the `vouchers` upload and WJ091 type 2, and the
//! spec's balance rules as a pure function.
//!
//! The balance rules ("数据平衡要求") are what make a bill usable for revenue: posgate counts
//! revenue from the charge lines, so they must add up to what was paid. [`validate_bill`]
//! returns every figure that differs rather than stopping at the first, because the venue's
//! operator has to fix the gateway's mapping and needs the whole picture at once.
//! `checkout_charge` (应收总额) and `fact_charge` (实收总额) are not checked: the spec says
//! they may differ from each other and from the lines, and are kept for the record only.

use super::de;
use super::error::{check_count, KtvError};
use super::limits::{CHARGES_PER_BILL_MAX, DETAILS_PER_CHARGE_MAX, PAYMENTS_PER_BILL_MAX};
use super::types::{BusinessDate, CompanyCode, RoomId};
use crate::money::Fen;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The bill's broad class (`voucher_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VoucherType {
    /// 1, 包厢单: room bills (room, merged rooms, extensions, room changes...).
    Room,
    /// 2, 酒水单: supermarket / drinks bills, including drink refunds.
    Drinks,
}

impl VoucherType {
    /// The wire number.
    pub const fn code(self) -> i64 {
        match self {
            VoucherType::Room => 1,
            VoucherType::Drinks => 2,
        }
    }

    /// The type for a wire number, if the spec defines it.
    pub const fn from_code(code: i64) -> Option<VoucherType> {
        match code {
            1 => Some(VoucherType::Room),
            2 => Some(VoucherType::Drinks),
            _ => None,
        }
    }
}

/// A charge line's class (`charges[].type`). Reductions count negative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChargeType {
    /// 1, 包厢销售.
    Room,
    /// 2, 酒水销售.
    Drinks,
    /// 3, 服务费.
    Service,
    /// 4, 其它收入 (adjustments, positive gains).
    Other,
    /// 5, 会员收入.
    Member,
    /// 6, 营收减免 (discounts, waived amounts): subtracted from the total.
    Reduction,
}

impl ChargeType {
    /// The wire number.
    pub const fn code(self) -> i64 {
        match self {
            ChargeType::Room => 1,
            ChargeType::Drinks => 2,
            ChargeType::Service => 3,
            ChargeType::Other => 4,
            ChargeType::Member => 5,
            ChargeType::Reduction => 6,
        }
    }

    /// The class for a wire number, if the spec defines it.
    pub const fn from_code(code: i64) -> Option<ChargeType> {
        match code {
            1 => Some(ChargeType::Room),
            2 => Some(ChargeType::Drinks),
            3 => Some(ChargeType::Service),
            4 => Some(ChargeType::Other),
            5 => Some(ChargeType::Member),
            6 => Some(ChargeType::Reduction),
            _ => None,
        }
    }

    /// +1 for the income classes, -1 for [`ChargeType::Reduction`].
    pub const fn sign(self) -> i64 {
        match self {
            ChargeType::Room
            | ChargeType::Drinks
            | ChargeType::Service
            | ChargeType::Other
            | ChargeType::Member => 1,
            ChargeType::Reduction => -1,
        }
    }
}

/// Why a bill is out of revenue (`revoke`). Anything but [`Revoke::Normal`] is excluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Revoke {
    /// 0: a normal bill.
    Normal,
    /// 1: voided (usually a new venue's test bills).
    Voided,
    /// 2: voided because a prepaid room became post-paid (预买转后结).
    PrepaidToPostpaid,
    /// 3: voided because rooms were merged (并房挂起).
    MergedRooms,
    /// Any other non-zero value: voided for a reason this spec does not list. Kept rather
    /// than refused because the spec's rule is simply "non-zero = do not count".
    Unlisted(i64),
}

impl Revoke {
    /// The state for a wire number.
    pub const fn from_code(code: i64) -> Revoke {
        match code {
            0 => Revoke::Normal,
            1 => Revoke::Voided,
            2 => Revoke::PrepaidToPostpaid,
            3 => Revoke::MergedRooms,
            other => Revoke::Unlisted(other),
        }
    }

    /// The wire number.
    pub const fn code(self) -> i64 {
        match self {
            Revoke::Normal => 0,
            Revoke::Voided => 1,
            Revoke::PrepaidToPostpaid => 2,
            Revoke::MergedRooms => 3,
            Revoke::Unlisted(code) => code,
        }
    }

    /// Whether the bill counts in revenue.
    pub const fn counts_in_revenue(self) -> bool {
        matches!(self, Revoke::Normal)
    }
}

/// Whether a bill replaces an earlier upload of the same voucher (`modify`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Modify {
    /// 0: a first upload.
    Normal,
    /// 1, 反结账: the settled bill was reopened, changed and settled again; the new data
    /// replaces the old, and the merchant is notified.
    Reopened,
    /// 2, 还原: the bill was restored to unsettled and settled again; the new data replaces
    /// the old, without the 反结账 notification.
    Restored,
}

impl Modify {
    /// The state for a wire number, if the spec defines it.
    pub const fn from_code(code: i64) -> Option<Modify> {
        match code {
            0 => Some(Modify::Normal),
            1 => Some(Modify::Reopened),
            2 => Some(Modify::Restored),
            _ => None,
        }
    }

    /// The wire number.
    pub const fn code(self) -> i64 {
        match self {
            Modify::Normal => 0,
            Modify::Reopened => 1,
            Modify::Restored => 2,
        }
    }

    /// Whether this upload replaces a bill already received under the same voucher.
    pub const fn replaces_previous(self) -> bool {
        match self {
            Modify::Normal => false,
            Modify::Reopened | Modify::Restored => true,
        }
    }

    /// Whether the merchant should be told (the spec: notify on 反结账 only).
    pub const fn notifies_merchant(self) -> bool {
        match self {
            Modify::Reopened => true,
            Modify::Normal | Modify::Restored => false,
        }
    }
}

/// A bill (账单) as the `vouchers` upload and WJ091 type 2 carry it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bill {
    /// 开台单号: the opening this bill belongs to (may be empty). The field table spells it
    /// `checkoutVoucher`, the example `checkout_voucher`: both are read.
    #[serde(default, alias = "checkoutVoucher", deserialize_with = "de::text")]
    pub checkout_voucher: String,
    /// 开台单 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub open_checkout_id: Option<i64>,
    /// The bill number (账单号): with the venue code, the bill's identity.
    #[serde(deserialize_with = "de::text")]
    pub voucher: String,
    /// 1 room bill, 2 drinks bill.
    #[serde(
        deserialize_with = "voucher_type_de",
        serialize_with = "voucher_type_ser"
    )]
    pub voucher_type: VoucherType,
    /// The venue's own bill category name ("超市单", "换房单"...).
    #[serde(default, deserialize_with = "de::text")]
    pub voucher_info: String,
    /// 开房时间.
    #[serde(default, deserialize_with = "de::text")]
    pub open_datetime: String,
    /// 关房时间.
    #[serde(default, deserialize_with = "de::text")]
    pub close_datetime: String,
    /// 结账时间.
    #[serde(default, deserialize_with = "de::text")]
    pub checkout_datetime: String,
    /// 所属营业日. Optional for gateways older than the realtime upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_date: Option<BusinessDate>,
    /// 计费开始时间 (room bills).
    #[serde(default, deserialize_with = "de::text")]
    pub account_start_datetime: String,
    /// 计费结束时间 (room bills).
    #[serde(default, deserialize_with = "de::text")]
    pub account_end_datetime: String,
    /// Void state; non-zero is out of revenue.
    #[serde(
        default = "revoke_normal",
        deserialize_with = "revoke_de",
        serialize_with = "revoke_ser"
    )]
    pub revoke: Revoke,
    /// Re-upload state (反结账 / 还原).
    #[serde(
        default = "modify_normal",
        deserialize_with = "modify_de",
        serialize_with = "modify_ser"
    )]
    pub modify: Modify,
    /// 应收总额 (record only, not checked).
    #[serde(deserialize_with = "de::fen")]
    pub checkout_charge: Fen,
    /// 实收总额 (record only, not checked).
    #[serde(deserialize_with = "de::fen")]
    pub fact_charge: Fen,
    /// 包厢 ID (drinks bills may have none).
    #[serde(
        default,
        deserialize_with = "super::types::opt_room_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub room_id: Option<RoomId>,
    /// 客人 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub guest_id: Option<i64>,
    /// 结账 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub checkoutid: Option<i64>,
    /// 销售经理 staff_code.
    #[serde(default, deserialize_with = "de::text")]
    pub saleman_staff_code: String,
    /// 销售经理业绩 (fen).
    #[serde(
        default,
        deserialize_with = "de::opt_fen",
        skip_serializing_if = "Option::is_none"
    )]
    pub saleman_performance: Option<Fen>,
    /// 订位人 staff_code.
    #[serde(default, deserialize_with = "de::text")]
    pub reserve_staff_code: String,
    /// 第二订位人 staff_code.
    #[serde(default, deserialize_with = "de::text")]
    pub sec_reserve_staff_code: String,
    /// 包厢服务员 staff_code.
    #[serde(default, deserialize_with = "de::text")]
    pub box_waiter_staff_code: String,
    /// The bill format version (reserved).
    #[serde(default, deserialize_with = "de::text")]
    pub version: String,
    /// 包厢信息.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_info: Option<BillRoom>,
    /// 会员信息.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_info: Option<BillGuest>,
    /// 应收明细.
    pub charges: Vec<Charge>,
    /// 支付明细.
    pub payments: Vec<Payment>,
}

/// A bill's room (`room_info`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillRoom {
    /// 包厢 ID.
    pub room_id: RoomId,
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
    /// 包厢类型名称.
    #[serde(default, deserialize_with = "de::text")]
    pub room_type_name: String,
}

/// A bill's member (`guest_info`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillGuest {
    /// The venue's customer id (text: the example's is 23 digits).
    #[serde(default, deserialize_with = "de::text")]
    pub customer_id: String,
    /// 会员名称.
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
    /// 会员手机.
    #[serde(default, deserialize_with = "de::text")]
    pub phone: String,
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
}

/// A charge line (应收项).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    /// The line's name, free for the venue ("折扣金额", "商品金额"...).
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
    /// The amount in fen, as sent (reductions are sent positive and counted negative).
    #[serde(deserialize_with = "de::fen")]
    pub charge: Fen,
    /// The line's class.
    #[serde(
        rename = "type",
        deserialize_with = "charge_type_de",
        serialize_with = "charge_type_ser"
    )]
    pub charge_type: ChargeType,
    /// Item lines (for drinks charges).
    #[serde(default, alias = "deatils", skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Detail>,
}

impl Charge {
    /// The amount with its sign in the balance (reductions negative).
    pub fn signed(&self) -> i128 {
        i128::from(self.charge.get()) * i128::from(self.charge_type.sign())
    }
}

/// An item line (商品明细) under a charge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Detail {
    /// 酒水单 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub wine_list_id: Option<i64>,
    /// 酒水单下单时间.
    #[serde(default, deserialize_with = "de::text")]
    pub wine_list_order_time: String,
    /// 商品一级类型 ID.
    #[serde(
        rename = "type",
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub item_type: Option<i64>,
    /// 类型名称.
    #[serde(default, deserialize_with = "de::text")]
    pub type_name: String,
    /// 商品 ID.
    #[serde(
        default,
        deserialize_with = "de::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub material_id: Option<i64>,
    /// 商品名称.
    #[serde(default, deserialize_with = "de::text")]
    pub material_name: String,
    /// Quantity: a float since 2020-04-15 (restaurant ordering sells fractions). Not money.
    #[serde(deserialize_with = "de::quantity")]
    pub num: f64,
    /// 规格.
    #[serde(default, deserialize_with = "de::text")]
    pub spec: String,
    /// Unit price in fen (presents carry their sale price).
    #[serde(default, deserialize_with = "de::fen")]
    pub price: Fen,
    /// Line amount in fen (presents carry their sale amount).
    #[serde(default, deserialize_with = "de::fen")]
    pub money: Fen,
    /// `ad_money` of the example (not described by the spec's table), in fen.
    #[serde(
        default,
        deserialize_with = "de::opt_fen",
        skip_serializing_if = "Option::is_none"
    )]
    pub ad_money: Option<Fen>,
    /// 0 sale, 1 present (kept raw: the legacy format sent other values).
    #[serde(default, deserialize_with = "de::int")]
    pub sale_type: i64,
    /// 0 plain, 1 package head, 2 package item.
    #[serde(default, deserialize_with = "de::int")]
    pub present_status: i64,
    /// 赠送人.
    #[serde(default, deserialize_with = "de::text")]
    pub presentman: String,
    /// 赠送人员工编码 (`present_staffcode` in the text and example, `presenter_staffcode` in
    /// the table: both accepted).
    #[serde(default, alias = "presenter_staffcode", deserialize_with = "de::text")]
    pub present_staffcode: String,
}

impl Detail {
    /// Whether the item was given away (`sale_type` 1).
    pub fn is_present(&self) -> bool {
        self.sale_type == 1
    }
}

/// A payment line (支付明细).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    /// 支付方式类型 ID (matches the payment settings).
    #[serde(deserialize_with = "de::int")]
    pub payment_type_id: i64,
    /// 支付方式名称.
    #[serde(default, deserialize_with = "de::text")]
    pub payment_type_name: String,
    /// Amount in the payment's own currency/unit, in fen.
    #[serde(deserialize_with = "de::fen")]
    pub value: Fen,
    /// Whether this is a member-card payment.
    #[serde(
        default,
        deserialize_with = "de::flag",
        serialize_with = "de::ser_flag"
    )]
    pub by_member_card: bool,
    /// Exchange rate (`"0.8"` or `1`), kept exact.
    #[serde(
        default,
        deserialize_with = "de::opt_decimal",
        serialize_with = "de::ser_opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub rate: Option<Decimal>,
    /// Converted amount in fen: what the balance rule adds up. Absent from gateways older
    /// than the field; [`Payment::translated`] then falls back to `value`.
    #[serde(
        default,
        deserialize_with = "de::opt_fen",
        skip_serializing_if = "Option::is_none"
    )]
    pub translatemoney: Option<Fen>,
    /// The coupon redeemed by this payment, empty otherwise.
    #[serde(default, deserialize_with = "de::text")]
    pub coupon_id: String,
    /// Member-card payments: the part paid from the card's principal.
    #[serde(
        default,
        deserialize_with = "de::opt_fen",
        skip_serializing_if = "Option::is_none"
    )]
    pub member_cash: Option<Fen>,
    /// Member-card payments: the part paid from the card's bonus balance.
    #[serde(
        default,
        deserialize_with = "de::opt_fen",
        skip_serializing_if = "Option::is_none"
    )]
    pub member_present: Option<Fen>,
}

impl Payment {
    /// The converted amount the balance uses: `translatemoney`, else `value`.
    pub fn translated(&self) -> Fen {
        self.translatemoney.unwrap_or(self.value)
    }
}

/// Charge totals by class, in fen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChargeTotals {
    /// Class 1.
    pub room: i128,
    /// Class 2.
    pub drinks: i128,
    /// Class 3.
    pub service: i128,
    /// Class 4.
    pub other: i128,
    /// Class 5.
    pub member: i128,
    /// Class 6, as sent (positive means a reduction).
    pub reduction: i128,
}

impl ChargeTotals {
    /// 包厢 + 酒水 + 服务费 + 其它 + 会员收入 - 营收减免.
    pub fn net(&self) -> i128 {
        self.room + self.drinks + self.service + self.other + self.member - self.reduction
    }
}

impl Bill {
    /// Checks list sizes against the limits (called by every decoder).
    pub(crate) fn check_bounds(&self) -> Result<(), KtvError> {
        if self.voucher.trim().is_empty() {
            return Err(KtvError::Field("voucher is empty".to_owned()));
        }
        check_count("charges", self.charges.len(), CHARGES_PER_BILL_MAX)?;
        check_count("payments", self.payments.len(), PAYMENTS_PER_BILL_MAX)?;
        for charge in &self.charges {
            check_count("details", charge.details.len(), DETAILS_PER_CHARGE_MAX)?;
        }
        Ok(())
    }

    /// Totals of the charge lines by class.
    pub fn charge_totals(&self) -> ChargeTotals {
        let mut t = ChargeTotals::default();
        for c in &self.charges {
            let amount = i128::from(c.charge.get());
            match c.charge_type {
                ChargeType::Room => t.room += amount,
                ChargeType::Drinks => t.drinks += amount,
                ChargeType::Service => t.service += amount,
                ChargeType::Other => t.other += amount,
                ChargeType::Member => t.member += amount,
                ChargeType::Reduction => t.reduction += amount,
            }
        }
        t
    }

    /// Sum of the payments' converted amounts.
    pub fn payments_total(&self) -> i128 {
        self.payments
            .iter()
            .map(|p| i128::from(p.translated().get()))
            .sum()
    }

    /// Whether the bill counts in revenue (`revoke` is 0).
    pub fn counts_in_revenue(&self) -> bool {
        self.revoke.counts_in_revenue()
    }

    /// The bill's revenue by class, or `None` when it is voided.
    pub fn revenue(&self) -> Option<ChargeTotals> {
        self.counts_in_revenue().then(|| self.charge_totals())
    }

    /// The ledger's idempotency key: `ktv:{companycode}:{voucher}`. A 反结账/还原 upload
    /// ([`Modify::replaces_previous`]) carries the same key and replaces the earlier bill.
    pub fn idempotency_key(&self, venue: &CompanyCode) -> String {
        format!("ktv:{}:{}", venue.as_str(), self.voucher)
    }

    /// [`validate_bill`] as a `Result`, for the upload path.
    pub fn check_balanced(&self) -> Result<(), KtvError> {
        let violations = validate_bill(self);
        if violations.is_empty() {
            Ok(())
        } else {
            Err(KtvError::Unbalanced {
                voucher: self.voucher.clone(),
                violations,
            })
        }
    }
}

/// Which balance rule a figure broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BillRule {
    /// 包厢+酒水+服务费+其它+会员收入-营收减免 must equal the sum of the payments'
    /// `translatemoney`.
    ChargesEqualPayments,
    /// A member-card payment's `member_cash + member_present` must equal its
    /// `translatemoney`.
    MemberCardSplit,
}

/// One figure that differs: which rule, which figure, what it should be, what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillViolation {
    /// The rule.
    pub rule: BillRule,
    /// The figure, named as the spec names it (e.g. `payments[0] (会员卡) member_cash +
    /// member_present`).
    pub figure: String,
    /// The value the rule requires, in fen.
    pub expected: i128,
    /// The value the bill has, in fen.
    pub actual: i128,
}

/// Checks a bill's balance rules; returns every violation (empty when balanced).
///
/// - The charges, reductions negative, must add up to the payments' `translatemoney`
///   (expected: the payments total; actual: the charges total).
/// - Each member-card payment (`by_member_card` 1) that reports its split must have
///   `member_cash + member_present == translatemoney`. Gateways older than the split
///   (2022-02) send neither field; such payments are not checked. One of the two alone
///   counts the other as 0.
///
/// Voided bills are checked too: the rules describe the data, whatever its revenue status.
pub fn validate_bill(bill: &Bill) -> Vec<BillViolation> {
    let mut violations = Vec::new();
    let totals = bill.charge_totals();
    let charges = totals.net();
    let payments = bill.payments_total();
    if charges != payments {
        violations.push(BillViolation {
            rule: BillRule::ChargesEqualPayments,
            figure: format!(
                "charges total (room {} + drinks {} + service {} + other {} + member {} - reduction {})",
                totals.room, totals.drinks, totals.service, totals.other, totals.member, totals.reduction
            ),
            expected: payments,
            actual: charges,
        });
    }
    for (index, payment) in bill.payments.iter().enumerate() {
        if !payment.by_member_card {
            continue;
        }
        if payment.member_cash.is_none() && payment.member_present.is_none() {
            continue;
        }
        let cash = i128::from(payment.member_cash.unwrap_or(Fen::ZERO).get());
        let present = i128::from(payment.member_present.unwrap_or(Fen::ZERO).get());
        let translated = i128::from(payment.translated().get());
        if cash + present != translated {
            violations.push(BillViolation {
                rule: BillRule::MemberCardSplit,
                figure: format!(
                    "payments[{index}] ({}) member_cash {cash} + member_present {present}",
                    payment.payment_type_name
                ),
                expected: translated,
                actual: cash + present,
            });
        }
    }
    violations
}

fn revoke_normal() -> Revoke {
    Revoke::Normal
}

fn modify_normal() -> Modify {
    Modify::Normal
}

fn voucher_type_de<'de, D: Deserializer<'de>>(d: D) -> Result<VoucherType, D::Error> {
    let code = de::int(d)?;
    VoucherType::from_code(code)
        .ok_or_else(|| serde::de::Error::custom(format!("voucher_type {code} is not 1 or 2")))
}

fn voucher_type_ser<S: Serializer>(v: &VoucherType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(v.code())
}

fn charge_type_de<'de, D: Deserializer<'de>>(d: D) -> Result<ChargeType, D::Error> {
    let code = de::int(d)?;
    ChargeType::from_code(code)
        .ok_or_else(|| serde::de::Error::custom(format!("charge type {code} is not 1-6")))
}

fn charge_type_ser<S: Serializer>(v: &ChargeType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(v.code())
}

fn revoke_de<'de, D: Deserializer<'de>>(d: D) -> Result<Revoke, D::Error> {
    de::int(d).map(Revoke::from_code)
}

fn revoke_ser<S: Serializer>(v: &Revoke, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(v.code())
}

fn modify_de<'de, D: Deserializer<'de>>(d: D) -> Result<Modify, D::Error> {
    let code = de::int(d)?;
    Modify::from_code(code)
        .ok_or_else(|| serde::de::Error::custom(format!("modify {code} is not 0, 1 or 2")))
}

fn modify_ser<S: Serializer>(v: &Modify, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(v.code())
}
