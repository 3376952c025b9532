//! Business idempotency keys (spec 1.6.1) and ordering keys (spec 2.7).
//!
//! Pospal may deliver the same event twice with different message ids, so de-duplication
//! uses the event's business identity, never a message id. Keys have the ledger's shape,
//! `pospal:{appId}:{cmd}:{identity}`; each component is escaped (`%` and `:` as `%25`,
//! `%3A`) so two different identities can never produce the same key. The identities:
//!
//! | cmd | identity |
//! |---|---|
//! | ticket.new, ticket.reverse | `sn`, `ticketType` (empty when absent), `bornTimeStamp` |
//! | customer.new | `customerUid` |
//! | customer.recharge | `customerUid`, `datetime`, `rechargeMoney` (fen), `bornTimeStamp` |
//! | couponCode.use | `code`, `usedDateTime` |
//! | stockTaking.new | `stockTakingId` |
//! | product.edit | `bornTimeStamp`, md5 of the body (a product can change many times) |
//! | productOrder.* | `orderNo`, `state` (an order is updated many times) |
//! | stockFlow.* | `stockFlowId` (with the cmd) |
//! | productRequest.new | `productRequestId` |
//! | unknown | md5 of the raw body |
//!
//! `bornTimeStamp` (when the event was born at Pospal; a redelivery, with or without a new
//! message id, keeps it) tells apart events whose business fields are equal: a ticket
//! settled again after a 反结账 keeps its `sn`, so does its second 反结账, and two equal
//! recharges may be made within one second.
//!
//! md5 here is a content fingerprint, not a security measure: the content is already
//! authenticated by the signature. The ordering key names the entity whose notifications
//! must be handled one at a time, in arrival order (the spec's advice for stock flows;
//! online orders have the same need).

use super::body::Body;
use super::cmd::Cmd;
use super::notification::Notification;
use md5::{Digest, Md5};

/// The idempotency key of a notification (see the module table).
pub fn business_key(notification: &Notification) -> String {
    let envelope = &notification.envelope;
    let identity = match &notification.body {
        Body::Ticket(ticket) => join(&[
            &ticket.sn,
            &ticket
                .ticket_type
                .map_or(String::new(), |kind| kind.to_wire().to_string()),
            &envelope.born_timestamp_ms.to_string(),
        ]),
        Body::CustomerNew(customer) => customer.customer_uid.to_string(),
        Body::Recharge(recharge) => join(&[
            &recharge.customer_uid.to_string(),
            &recharge.datetime,
            &recharge.recharge_money.get().to_string(),
            &envelope.born_timestamp_ms.to_string(),
        ]),
        Body::CouponUse(coupon) => {
            join(&[&coupon.code, coupon.used_datetime.as_deref().unwrap_or("")])
        }
        Body::StockTaking { stock_taking_id } => stock_taking_id.to_string(),
        Body::ProductEdit { .. } => join(&[
            &envelope.born_timestamp_ms.to_string(),
            &fingerprint(&envelope.body_raw),
        ]),
        Body::ProductOrder(order) => join(&[&order.order_no, &order.state.to_wire().to_string()]),
        Body::StockFlow { stock_flow_id } => stock_flow_id.to_string(),
        Body::ProductRequest { product_request_id } => product_request_id.to_string(),
        Body::Unknown => join(&["md5", &fingerprint(&envelope.body_raw)]),
    };
    format!(
        "pospal:{}:{}:{}",
        escape(&envelope.app_id),
        escape(envelope.cmd.as_str()),
        identity
    )
}

/// The entity whose notifications must be handled in order, if any:
/// `pospal:{appId}:stockFlow:{stockFlowId}` for every `stockFlow.*`,
/// `pospal:{appId}:productOrder:{orderNo}` for every `productOrder.*`.
pub fn ordering_key(notification: &Notification) -> Option<String> {
    let app_id = escape(notification.app_id());
    match (&notification.envelope.cmd, &notification.body) {
        (Cmd::StockFlow(_), Body::StockFlow { stock_flow_id }) => {
            Some(format!("pospal:{app_id}:stockFlow:{stock_flow_id}"))
        }
        (Cmd::ProductOrder(_), Body::ProductOrder(order)) => Some(format!(
            "pospal:{app_id}:productOrder:{}",
            escape(&order.order_no)
        )),
        _ => None,
    }
}

/// For a `ticket.reverse`, the prefix shared by the business keys of every `ticket.new` it
/// may reverse (the settlements of its `sn`, one per `bornTimeStamp`): `ticketType` 3 (sale
/// reversed) names sales (1), 4 (refund reversed) names refund tickets (2), and an absent
/// `ticketType` names tickets sent without one. `None` for any other notification (and for
/// a reverse of another `ticketType`).
pub fn reversed_ticket_prefix(notification: &Notification) -> Option<String> {
    use super::body::TicketType;
    let (Cmd::TicketReverse, Body::Ticket(ticket)) =
        (&notification.envelope.cmd, &notification.body)
    else {
        return None;
    };
    let original = match ticket.ticket_type {
        Some(TicketType::SaleReversed) => TicketType::Sale.to_wire().to_string(),
        Some(TicketType::RefundReversed) => TicketType::Refund.to_wire().to_string(),
        Some(TicketType::Sale | TicketType::Refund | TicketType::Other(_)) => return None,
        None => String::new(),
    };
    Some(ticket_prefix(
        notification,
        &Cmd::TicketNew,
        &ticket.sn,
        &original,
    ))
}

/// For a `ticket.new`, the prefix shared by the business keys of the `ticket.reverse`s
/// that may reverse it (see [`reversed_ticket_prefix`]). `None` for any other notification.
pub fn reversing_ticket_prefix(notification: &Notification) -> Option<String> {
    use super::body::TicketType;
    let (Cmd::TicketNew, Body::Ticket(ticket)) = (&notification.envelope.cmd, &notification.body)
    else {
        return None;
    };
    let reverse = match ticket.ticket_type {
        Some(TicketType::Sale) => TicketType::SaleReversed.to_wire().to_string(),
        Some(TicketType::Refund) => TicketType::RefundReversed.to_wire().to_string(),
        Some(_) => return None,
        None => String::new(),
    };
    Some(ticket_prefix(
        notification,
        &Cmd::TicketReverse,
        &ticket.sn,
        &reverse,
    ))
}

fn ticket_prefix(notification: &Notification, cmd: &Cmd, sn: &str, kind: &str) -> String {
    format!(
        "pospal:{}:{}:{}:",
        escape(notification.app_id()),
        escape(cmd.as_str()),
        join(&[sn, kind])
    )
}

fn join(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|part| escape(part))
        .collect::<Vec<_>>()
        .join(":")
}

fn escape(part: &str) -> String {
    part.replace('%', "%25").replace(':', "%3A")
}

/// Lowercase hex md5 of a text: a content fingerprint (never a security measure).
pub fn fingerprint(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pospal::notification::tests::{decode, envelope, SPEC_ENVELOPE};
    use std::collections::HashSet;

    fn key(cmd: &str, body: &str) -> String {
        business_key(&decode(&envelope(cmd, body)).unwrap())
    }

    #[test]
    fn keys_follow_the_business_identity() {
        assert_eq!(
            business_key(&decode(SPEC_ENVELOPE).unwrap()),
            "pospal:hanskang_appid:ticket.new:201708241552090160001::1503561093654"
        );
        assert_eq!(
            key("ticket.new", r#"{"sn":"S1","ticketType":1,"uid":9}"#),
            "pospal:hanskang_appid:ticket.new:S1:1:1514196291251"
        );
        // Same business content, different message: same key.
        assert_eq!(
            key("ticket.new", r#"{"sn":"S1","ticketType":1,"uid":9}"#),
            key(
                "ticket.new",
                r#"{"uid":9, "ticketType":1, "sn":"S1", "extra":true}"#
            )
        );
        assert_eq!(
            key(
                "customer.recharge",
                r#"{"customerUid":5,"datetime":"2017-09-14 17:09:48","rechargeMoney":20.00}"#
            ),
            "pospal:hanskang_appid:customer.recharge:5:2017-09-14 17%3A09%3A48:2000:1514196291251"
        );
        // 20.0 and 20.00 are the same recharge.
        assert_eq!(
            key(
                "customer.recharge",
                r#"{"customerUid":5,"datetime":"2017-09-14 17:09:48","rechargeMoney":20.0}"#
            ),
            key(
                "customer.recharge",
                r#"{"customerUid":5,"datetime":"2017-09-14 17:09:48","rechargeMoney":"20.00"}"#
            )
        );
        assert_eq!(
            key("stockFlow.createStockFlowIn", r#"{"stockFlowId":123456}"#),
            "pospal:hanskang_appid:stockFlow.createStockFlowIn:123456"
        );
        let unknown = key("member.delete", "{}");
        assert!(unknown.starts_with("pospal:hanskang_appid:member.delete:md5:"));
        assert_ne!(unknown, key("member.delete", "{ }"));
    }

    #[test]
    fn components_cannot_collide() {
        let a = key("ticket.new", r#"{"sn":"a:1","ticketType":2}"#);
        let b = key("ticket.new", r#"{"sn":"a","ticketType":1}"#);
        assert_ne!(a, b);
        assert!(a.ends_with(":a%3A1:2:1514196291251"));
    }

    #[test]
    fn every_stock_flow_cmd_has_its_own_key_and_one_ordering_key() {
        let mut keys = HashSet::new();
        let mut ordering = HashSet::new();
        for cmd in Cmd::KNOWN.iter().filter(|c| matches!(c, Cmd::StockFlow(_))) {
            let n = decode(&envelope(cmd.as_str(), r#"{"stockFlowId":77}"#)).unwrap();
            assert!(keys.insert(business_key(&n)));
            ordering.insert(ordering_key(&n).unwrap());
        }
        assert_eq!(keys.len(), 11);
        assert_eq!(
            ordering.into_iter().collect::<Vec<_>>(),
            vec!["pospal:hanskang_appid:stockFlow:77".to_owned()]
        );
        let order = decode(&envelope(
            "productOrder.completePay",
            r#"{"orderNo":"N1","state":4}"#,
        ))
        .unwrap();
        assert_eq!(
            ordering_key(&order).as_deref(),
            Some("pospal:hanskang_appid:productOrder:N1")
        );
        assert_eq!(
            business_key(&order),
            "pospal:hanskang_appid:productOrder.completePay:N1:4"
        );
        assert_eq!(ordering_key(&decode(SPEC_ENVELOPE).unwrap()), None);
    }

    #[test]
    fn a_reverse_names_the_tickets_it_may_reverse() {
        let sale = decode(&envelope("ticket.new", r#"{"sn":"S:1","ticketType":1}"#)).unwrap();
        let reverse = decode(&envelope(
            "ticket.reverse",
            r#"{"sn":"S:1","ticketType":3}"#,
        ))
        .unwrap();
        let prefix = reversed_ticket_prefix(&reverse).unwrap();
        assert!(business_key(&sale).starts_with(&prefix), "{prefix}");
        assert!(business_key(&reverse).starts_with(&reversing_ticket_prefix(&sale).unwrap()));
        // Another sn that starts the same is not named.
        let other = decode(&envelope("ticket.new", r#"{"sn":"S:12","ticketType":1}"#)).unwrap();
        assert!(!business_key(&other).starts_with(&prefix));
        let refund = decode(&envelope("ticket.new", r#"{"sn":"R","ticketType":2}"#)).unwrap();
        let undo = decode(&envelope("ticket.reverse", r#"{"sn":"R","ticketType":4}"#)).unwrap();
        assert!(business_key(&refund).starts_with(&reversed_ticket_prefix(&undo).unwrap()));
        let bare = decode(&envelope("ticket.new", r#"{"sn":"B"}"#)).unwrap();
        let bare_reverse = decode(&envelope("ticket.reverse", r#"{"sn":"B"}"#)).unwrap();
        assert!(business_key(&bare).starts_with(&reversed_ticket_prefix(&bare_reverse).unwrap()));
        let odd = decode(&envelope("ticket.reverse", r#"{"sn":"B","ticketType":1}"#)).unwrap();
        assert_eq!(reversed_ticket_prefix(&odd), None);
        assert_eq!(reversed_ticket_prefix(&sale), None);
        assert_eq!(reversing_ticket_prefix(&reverse), None);
    }

    #[test]
    fn born_time_tells_equal_events_apart() {
        let recharge = r#"{"customerUid":5,"datetime":"2017-09-14 17:09:48","rechargeMoney":20}"#;
        let first = envelope("customer.recharge", recharge);
        let second = first.replace("1514196291251", "1514196291252");
        assert_ne!(
            business_key(&decode(&first).unwrap()),
            business_key(&decode(&second).unwrap())
        );
    }

    #[test]
    fn product_edit_key_uses_born_time_and_content() {
        let a = key("product.edit", r#"[{"barcode":"1"}]"#);
        let b = key("product.edit", r#"[{"barcode":"2"}]"#);
        assert_ne!(a, b);
        assert!(a.starts_with("pospal:hanskang_appid:product.edit:1514196291251:"));
    }
}
