//! Batch settlement (结算): the terminal's totals, the comparison with posgate's, the flag.
//!
//! The terminal sends twelve figures for its batch; posgate computes the same twelve from
//! its ledger and answers `settleFlag` `ss` (对账平) when they agree. The spec only says
//! "其他不平" for the other case: any value but `ss` means unbalanced, after which the
//! terminal uploads its transactions. posgate sends `ns` for it, and reads any non-`ss`
//! value as unbalanced.
//!
//! The spec types every figure, counts included, as "amount". Counts are read as whole
//! numbers and, for terminals that format them like amounts, `3.00` is taken as 3 while
//! `3.5` is refused. The comparison is a pure function naming each differing figure by its
//! wire name (with the spec's spelling `pointCeditCount`).

use super::codes::JposError;
use super::form::{Form, FormWriter};
use super::limits::SETTLE_COUNT_MAX;
use crate::money::Fen;

/// The `settleFlag` value for balanced totals.
pub const SETTLE_FLAG_BALANCED_WIRE: &str = "ss";
/// The `settleFlag` value posgate sends for unbalanced totals (the spec: any other value).
pub const SETTLE_FLAG_UNBALANCED_WIRE: &str = "ns";

/// Whether the batch totals agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SettleFlag {
    /// `ss`: 对账平.
    Balanced,
    /// Anything else: 不平, the terminal sends its transactions to the front-end.
    Unbalanced,
}

impl SettleFlag {
    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            SettleFlag::Balanced => SETTLE_FLAG_BALANCED_WIRE,
            SettleFlag::Unbalanced => SETTLE_FLAG_UNBALANCED_WIRE,
        }
    }

    /// Reads a wire value: `ss` is balanced, anything else unbalanced.
    pub fn from_wire(text: &str) -> SettleFlag {
        if text == SETTLE_FLAG_BALANCED_WIRE {
            SettleFlag::Balanced
        } else {
            SettleFlag::Unbalanced
        }
    }

    /// The flag for a comparison result.
    pub fn from_discrepancies(discrepancies: &[Discrepancy]) -> SettleFlag {
        if discrepancies.is_empty() {
            SettleFlag::Balanced
        } else {
            SettleFlag::Unbalanced
        }
    }
}

/// The twelve settlement figures of one batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SettleTotals {
    /// `pointDebitCount`: number of point debits.
    pub point_debit_count: u64,
    /// `pointDebitAmount`: sum of point debits.
    pub point_debit_amount: Fen,
    /// `pointCeditCount` (spec spelling): number of point credits.
    pub point_credit_count: u64,
    /// `pointCreditAmount`: sum of point credits.
    pub point_credit_amount: Fen,
    /// `ticketDebitCount`: number of ticket debits.
    pub ticket_debit_count: u64,
    /// `ticketDebitAmount`: sum of ticket debits.
    pub ticket_debit_amount: Fen,
    /// `ticketCreditCount`: number of ticket credits.
    pub ticket_credit_count: u64,
    /// `ticketCreditAmount`: sum of ticket credits.
    pub ticket_credit_amount: Fen,
    /// `totalTransCount`: all transactions of the batch.
    pub total_trans_count: u64,
    /// `cancelCount`: cancels (撤销).
    pub cancel_count: u64,
    /// `refundCount`: refunds (退货).
    pub refund_count: u64,
    /// `cardActiveCount`: card activations.
    pub card_active_count: u64,
}

/// One settlement figure, named by its wire field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SettleFigure {
    /// `pointDebitCount`.
    PointDebitCount,
    /// `pointDebitAmount`.
    PointDebitAmount,
    /// `pointCeditCount`.
    PointCreditCount,
    /// `pointCreditAmount`.
    PointCreditAmount,
    /// `ticketDebitCount`.
    TicketDebitCount,
    /// `ticketDebitAmount`.
    TicketDebitAmount,
    /// `ticketCreditCount`.
    TicketCreditCount,
    /// `ticketCreditAmount`.
    TicketCreditAmount,
    /// `totalTransCount`.
    TotalTransCount,
    /// `cancelCount`.
    CancelCount,
    /// `refundCount`.
    RefundCount,
    /// `cardActiveCount`.
    CardActiveCount,
}

/// The value of one figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SettleValue {
    /// A number of transactions.
    Count(u64),
    /// A sum of money.
    Amount(Fen),
}

impl SettleFigure {
    /// Every figure, in the spec's order.
    pub const ALL: [SettleFigure; 12] = [
        SettleFigure::PointDebitCount,
        SettleFigure::PointDebitAmount,
        SettleFigure::PointCreditCount,
        SettleFigure::PointCreditAmount,
        SettleFigure::TicketDebitCount,
        SettleFigure::TicketDebitAmount,
        SettleFigure::TicketCreditCount,
        SettleFigure::TicketCreditAmount,
        SettleFigure::TotalTransCount,
        SettleFigure::CancelCount,
        SettleFigure::RefundCount,
        SettleFigure::CardActiveCount,
    ];

    /// The wire field name (spec spelling).
    pub const fn wire_name(self) -> &'static str {
        match self {
            SettleFigure::PointDebitCount => "pointDebitCount",
            SettleFigure::PointDebitAmount => "pointDebitAmount",
            SettleFigure::PointCreditCount => "pointCeditCount",
            SettleFigure::PointCreditAmount => "pointCreditAmount",
            SettleFigure::TicketDebitCount => "ticketDebitCount",
            SettleFigure::TicketDebitAmount => "ticketDebitAmount",
            SettleFigure::TicketCreditCount => "ticketCreditCount",
            SettleFigure::TicketCreditAmount => "ticketCreditAmount",
            SettleFigure::TotalTransCount => "totalTransCount",
            SettleFigure::CancelCount => "cancelCount",
            SettleFigure::RefundCount => "refundCount",
            SettleFigure::CardActiveCount => "cardActiveCount",
        }
    }

    /// Whether the figure is an amount (otherwise a count).
    pub const fn is_amount(self) -> bool {
        matches!(
            self,
            SettleFigure::PointDebitAmount
                | SettleFigure::PointCreditAmount
                | SettleFigure::TicketDebitAmount
                | SettleFigure::TicketCreditAmount
        )
    }
}

impl SettleTotals {
    /// The value of one figure.
    pub fn get(&self, figure: SettleFigure) -> SettleValue {
        match figure {
            SettleFigure::PointDebitCount => SettleValue::Count(self.point_debit_count),
            SettleFigure::PointDebitAmount => SettleValue::Amount(self.point_debit_amount),
            SettleFigure::PointCreditCount => SettleValue::Count(self.point_credit_count),
            SettleFigure::PointCreditAmount => SettleValue::Amount(self.point_credit_amount),
            SettleFigure::TicketDebitCount => SettleValue::Count(self.ticket_debit_count),
            SettleFigure::TicketDebitAmount => SettleValue::Amount(self.ticket_debit_amount),
            SettleFigure::TicketCreditCount => SettleValue::Count(self.ticket_credit_count),
            SettleFigure::TicketCreditAmount => SettleValue::Amount(self.ticket_credit_amount),
            SettleFigure::TotalTransCount => SettleValue::Count(self.total_trans_count),
            SettleFigure::CancelCount => SettleValue::Count(self.cancel_count),
            SettleFigure::RefundCount => SettleValue::Count(self.refund_count),
            SettleFigure::CardActiveCount => SettleValue::Count(self.card_active_count),
        }
    }

    /// Reads the twelve figures from a settlement form (all required).
    pub(crate) fn from_form(form: &Form) -> Result<SettleTotals, JposError> {
        let count = |figure: SettleFigure| parse_count(figure.wire_name(), form);
        let amount =
            |figure: SettleFigure| super::decode::required_amount(form, figure.wire_name());
        Ok(SettleTotals {
            point_debit_count: count(SettleFigure::PointDebitCount)?,
            point_debit_amount: amount(SettleFigure::PointDebitAmount)?,
            point_credit_count: count(SettleFigure::PointCreditCount)?,
            point_credit_amount: amount(SettleFigure::PointCreditAmount)?,
            ticket_debit_count: count(SettleFigure::TicketDebitCount)?,
            ticket_debit_amount: amount(SettleFigure::TicketDebitAmount)?,
            ticket_credit_count: count(SettleFigure::TicketCreditCount)?,
            ticket_credit_amount: amount(SettleFigure::TicketCreditAmount)?,
            total_trans_count: count(SettleFigure::TotalTransCount)?,
            cancel_count: count(SettleFigure::CancelCount)?,
            refund_count: count(SettleFigure::RefundCount)?,
            card_active_count: count(SettleFigure::CardActiveCount)?,
        })
    }

    /// Writes the twelve figures (counts as integers, amounts as yuan).
    pub(crate) fn write_form(&self, writer: &mut FormWriter) {
        for figure in SettleFigure::ALL {
            let text = match self.get(figure) {
                SettleValue::Count(count) => count.to_string(),
                SettleValue::Amount(amount) => amount.to_yuan_string(),
            };
            writer.field(figure.wire_name(), &text);
        }
    }
}

/// Reads a count: digits, optionally followed by `.` and one or two zeros.
fn parse_count(field: &'static str, form: &Form) -> Result<u64, JposError> {
    let text = form
        .non_empty(field)
        .ok_or(JposError::MissingField(field))?;
    let invalid = JposError::InvalidField {
        field,
        reason: "not a whole count",
    };
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let whole_ok =
        !whole.is_empty() && whole.len() <= 9 && whole.bytes().all(|b| b.is_ascii_digit());
    let fraction_ok = match fraction {
        None => true,
        Some(fraction) => (1..=2).contains(&fraction.len()) && fraction.bytes().all(|b| b == b'0'),
    };
    if !whole_ok || !fraction_ok {
        return Err(invalid);
    }
    let count: u64 = whole.parse().map_err(|_| invalid.clone())?;
    if count > SETTLE_COUNT_MAX {
        return Err(JposError::InvalidField {
            field,
            reason: "count too large",
        });
    }
    Ok(count)
}

/// One figure on which the terminal and posgate disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Discrepancy {
    /// Which figure.
    pub figure: SettleFigure,
    /// The terminal's value.
    pub terminal: SettleValue,
    /// posgate's value.
    pub ours: SettleValue,
}

/// Compares the terminal's totals with posgate's; empty when the batch balances.
pub fn compare(terminal: &SettleTotals, ours: &SettleTotals) -> Vec<Discrepancy> {
    SettleFigure::ALL
        .iter()
        .filter_map(|&figure| {
            let (theirs, mine) = (terminal.get(figure), ours.get(figure));
            (theirs != mine).then_some(Discrepancy {
                figure,
                terminal: theirs,
                ours: mine,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SettleTotals {
        SettleTotals {
            point_debit_count: 3,
            point_debit_amount: Fen(12_345),
            point_credit_count: 1,
            point_credit_amount: Fen(500),
            ticket_debit_count: 2,
            ticket_debit_amount: Fen(2_000),
            ticket_credit_count: 0,
            ticket_credit_amount: Fen(0),
            total_trans_count: 7,
            cancel_count: 1,
            refund_count: 0,
            card_active_count: 1,
        }
    }

    #[test]
    fn balanced_totals_have_no_discrepancy() {
        let totals = sample();
        assert!(compare(&totals, &totals).is_empty());
        assert_eq!(SettleFlag::from_discrepancies(&[]).as_str(), "ss");
    }

    #[test]
    fn names_each_differing_figure() {
        let ours = sample();
        let mut terminal = sample();
        terminal.point_credit_count = 2;
        terminal.ticket_debit_amount = Fen(1_999);
        let found = compare(&terminal, &ours);
        assert_eq!(
            found,
            vec![
                Discrepancy {
                    figure: SettleFigure::PointCreditCount,
                    terminal: SettleValue::Count(2),
                    ours: SettleValue::Count(1),
                },
                Discrepancy {
                    figure: SettleFigure::TicketDebitAmount,
                    terminal: SettleValue::Amount(Fen(1_999)),
                    ours: SettleValue::Amount(Fen(2_000)),
                },
            ]
        );
        assert_eq!(found[0].figure.wire_name(), "pointCeditCount");
        assert_eq!(
            SettleFlag::from_discrepancies(&found),
            SettleFlag::Unbalanced
        );
        assert_eq!(SettleFlag::from_wire("ss"), SettleFlag::Balanced);
        assert_eq!(SettleFlag::from_wire("xx"), SettleFlag::Unbalanced);
        assert_ne!(SettleFlag::Unbalanced.as_str(), "ss");
    }

    #[test]
    fn counts_accept_amount_formatting() {
        let form = Form::decode(b"a=3&b=3.00&c=3.5&d=-1&e=1.&f=99999999999").unwrap();
        assert_eq!(parse_count("a", &form), Ok(3));
        assert_eq!(parse_count("b", &form), Ok(3));
        assert!(parse_count("c", &form).is_err());
        assert!(parse_count("d", &form).is_err());
        assert!(parse_count("e", &form).is_err());
        assert!(parse_count("f", &form).is_err());
        assert_eq!(parse_count("g", &form), Err(JposError::MissingField("g")));
    }
}
