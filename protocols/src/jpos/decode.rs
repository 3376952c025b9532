//! Field readers shared by the request decoders: the spec's constraint marks made code.
//!
//! `!` (必传) fields go through [`required`], which refuses an absent *or empty* value; `?`
//! and `C` fields go through [`optional`], which reads an empty value as absent (forms
//! cannot send null). The `C` conditions themselves are not stated in the spec ("依赖某些
//! 字段选填" without saying which), so a conditional field is accepted or omitted freely
//! and validated whenever present; the domain decides, for example, whether a swiped card
//! must carry track 2. The JSON list fields (`vaucher`, `ticket`) are parsed here with
//! bounds on text size, item count and every number.

use super::codes::JposError;
use super::form::Form;
use super::limits::{ITEM_NUM_MAX, LIST_ITEMS_MAX, LIST_JSON_BYTES_MAX};
use super::types::TicketType;
use crate::money::Fen;
use serde_json::Value;

/// The value of a `!` field; absent or empty is [`JposError::MissingField`].
pub(crate) fn required<'a>(form: &'a Form, field: &'static str) -> Result<&'a str, JposError> {
    form.non_empty(field).ok_or(JposError::MissingField(field))
}

/// The value of a `?`/`C` field, `None` when absent or empty.
pub(crate) fn optional<'a>(form: &'a Form, field: &'static str) -> Option<&'a str> {
    form.non_empty(field)
}

/// A `!` amount in yuan with at most 2 decimals.
pub(crate) fn required_amount(form: &Form, field: &'static str) -> Result<Fen, JposError> {
    let text = required(form, field)?;
    Fen::parse_yuan(text).map_err(|error| JposError::InvalidAmount { field, error })
}

/// A `C` amount in yuan with at most 2 decimals; absent or empty is `None`.
pub(crate) fn optional_amount(form: &Form, field: &'static str) -> Result<Option<Fen>, JposError> {
    optional(form, field)
        .map(|text| {
            Fen::parse_yuan(text).map_err(|error| JposError::InvalidAmount { field, error })
        })
        .transpose()
}

/// One `{id, num}` line of the consume's `vaucher` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VoucherUse {
    /// `id`: the voucher kind.
    pub id: u64,
    /// `num`: how many vouchers of that kind are used, 1..=9999.
    pub num: u32,
}

/// One `{id, type, num}` line of the ticket consume's `ticket` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TicketUse {
    /// `id`: the ticket.
    pub id: u64,
    /// `type`: the ticket kind.
    pub ticket_type: TicketType,
    /// `num`: how many, 1..=9999.
    pub num: u32,
}

fn list_error(field: &'static str, reason: &'static str) -> JposError {
    JposError::InvalidList { field, reason }
}

/// Parses the JSON array of a list field into its item objects, within bounds.
fn list_items<'a>(
    field: &'static str,
    text: &str,
    storage: &'a mut Value,
) -> Result<&'a [Value], JposError> {
    if text.len() > LIST_JSON_BYTES_MAX {
        return Err(list_error(field, "list text too long"));
    }
    *storage = serde_json::from_str(text).map_err(|_| list_error(field, "not JSON"))?;
    let items = storage
        .as_array()
        .ok_or(list_error(field, "not a JSON array"))?;
    if items.len() > LIST_ITEMS_MAX {
        return Err(list_error(field, "too many items"));
    }
    Ok(items)
}

/// An unsigned integer sent as a JSON number or as a string of at most 18 digits (the
/// spec's examples use numbers; the field table types ids as "number" without saying how
/// a form-embedded JSON encodes them, so both are read).
fn item_integer(item: &Value, key: &str) -> Option<u64> {
    match item.get(key)? {
        Value::Number(number) => number.as_u64(),
        Value::String(text) if !text.is_empty() && text.len() <= 18 => {
            if text.bytes().all(|b| b.is_ascii_digit()) {
                text.parse().ok()
            } else {
                None
            }
        }
        _ => None,
    }
}

fn item_num(field: &'static str, item: &Value) -> Result<u32, JposError> {
    let num =
        item_integer(item, "num").ok_or(list_error(field, "num missing or not an integer"))?;
    u32::try_from(num)
        .ok()
        .filter(|num| (1..=ITEM_NUM_MAX).contains(num))
        .ok_or(list_error(field, "num out of range"))
}

fn refuse_duplicate_ids(field: &'static str, ids: &[u64]) -> Result<(), JposError> {
    for (index, id) in ids.iter().enumerate() {
        if ids[..index].contains(id) {
            return Err(list_error(field, "duplicate id"));
        }
    }
    Ok(())
}

/// The consume's `vaucher` list (`C`): absent, empty or `[]` is no voucher.
pub(crate) fn vouchers(form: &Form) -> Result<Vec<VoucherUse>, JposError> {
    const FIELD: &str = "vaucher";
    let Some(text) = optional(form, FIELD) else {
        return Ok(Vec::new());
    };
    let mut storage = Value::Null;
    let items = list_items(FIELD, text, &mut storage)?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if !item.is_object() {
            return Err(list_error(FIELD, "item not an object"));
        }
        let id =
            item_integer(item, "id").ok_or(list_error(FIELD, "id missing or not an integer"))?;
        out.push(VoucherUse {
            id,
            num: item_num(FIELD, item)?,
        });
    }
    let ids: Vec<u64> = out.iter().map(|voucher| voucher.id).collect();
    refuse_duplicate_ids(FIELD, &ids)?;
    Ok(out)
}

/// The ticket consume's `ticket` list. The spec leaves its constraint column blank, but a
/// ticket consume without tickets consumes nothing, so it is required and non-empty.
pub(crate) fn tickets(form: &Form) -> Result<Vec<TicketUse>, JposError> {
    const FIELD: &str = "ticket";
    let text = required(form, FIELD)?;
    let mut storage = Value::Null;
    let items = list_items(FIELD, text, &mut storage)?;
    if items.is_empty() {
        return Err(list_error(FIELD, "empty list"));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if !item.is_object() {
            return Err(list_error(FIELD, "item not an object"));
        }
        let id =
            item_integer(item, "id").ok_or(list_error(FIELD, "id missing or not an integer"))?;
        // `type` is "01".."03" in the spec's example; a bare JSON number 1..3 is read too.
        let ticket_type = match item.get("type") {
            Some(Value::String(text)) => TicketType::parse(text).ok(),
            Some(Value::Number(number)) => number
                .as_u64()
                .filter(|code| (1..=3).contains(code))
                .and_then(|code| TicketType::parse(&format!("{code:02}")).ok()),
            _ => None,
        }
        .ok_or(list_error(FIELD, "type missing or unknown"))?;
        out.push(TicketUse {
            id,
            ticket_type,
            num: item_num(FIELD, item)?,
        });
    }
    let ids: Vec<u64> = out.iter().map(|ticket| ticket.id).collect();
    refuse_duplicate_ids(FIELD, &ids)?;
    Ok(out)
}

/// The JSON text of a voucher list, as terminals embed it in the form.
pub(crate) fn vouchers_json(vouchers: &[VoucherUse]) -> String {
    let items: Vec<Value> = vouchers
        .iter()
        .map(|voucher| serde_json::json!({ "id": voucher.id, "num": voucher.num }))
        .collect();
    Value::Array(items).to_string()
}

/// The JSON text of a ticket list, as terminals embed it in the form.
pub(crate) fn tickets_json(tickets: &[TicketUse]) -> String {
    let items: Vec<Value> = tickets
        .iter()
        .map(|ticket| {
            serde_json::json!({
                "id": ticket.id,
                "type": ticket.ticket_type.as_str(),
                "num": ticket.num,
            })
        })
        .collect();
    Value::Array(items).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jpos::form::FormWriter;

    fn form_with(key: &str, value: &str) -> Form {
        Form::decode(&FormWriter::default().field(key, value).finish()).unwrap()
    }

    #[test]
    fn reads_voucher_lists() {
        let form = form_with(
            "vaucher",
            r#"[{"id":1,"num":2},{"id":"2","num":"1","name":"vv2"}]"#,
        );
        assert_eq!(
            vouchers(&form),
            Ok(vec![
                VoucherUse { id: 1, num: 2 },
                VoucherUse { id: 2, num: 1 }
            ])
        );
        assert_eq!(vouchers(&form_with("vaucher", "[]")), Ok(vec![]));
        assert_eq!(vouchers(&Form::default()), Ok(vec![]));
    }

    #[test]
    fn refuses_bad_lists() {
        for text in [
            "{}",
            "[1]",
            r#"[{"id":1}]"#,
            r#"[{"id":1,"num":0}]"#,
            r#"[{"id":1,"num":10000}]"#,
            r#"[{"id":-1,"num":1}]"#,
            r#"[{"id":1.5,"num":1}]"#,
            r#"[{"id":1,"num":1},{"id":1,"num":2}]"#,
            "[",
        ] {
            assert!(
                matches!(
                    vouchers(&form_with("vaucher", text)),
                    Err(JposError::InvalidList { .. })
                ),
                "{text}"
            );
        }
        let many = format!("[{}]", vec![r#"{"id":1,"num":1}"#; 33].join(","));
        assert_eq!(
            vouchers(&form_with("vaucher", &many)),
            Err(list_error("vaucher", "too many items"))
        );
    }

    #[test]
    fn reads_ticket_lists() {
        let form = form_with(
            "ticket",
            r#"[{"id":1,"type":"01","num":5},{"id":2,"type":3,"num":1}]"#,
        );
        assert_eq!(
            tickets(&form),
            Ok(vec![
                TicketUse {
                    id: 1,
                    ticket_type: TicketType::GroupBuying,
                    num: 5
                },
                TicketUse {
                    id: 2,
                    ticket_type: TicketType::CashVoucher,
                    num: 1
                },
            ])
        );
        assert_eq!(
            tickets(&form_with("ticket", "[]")),
            Err(list_error("ticket", "empty list"))
        );
        assert_eq!(
            tickets(&form_with("ticket", r#"[{"id":1,"type":"04","num":1}]"#)),
            Err(list_error("ticket", "type missing or unknown"))
        );
        assert_eq!(
            tickets(&Form::default()),
            Err(JposError::MissingField("ticket"))
        );
    }
}
