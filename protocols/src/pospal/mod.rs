//! Pospal (银豹) notifications (pospal-notifications.txt): posgate is the consumer of the
//! HTTP POST webhooks Pospal sends for tickets, members, recharges, coupons, stock and
//! orders.
//!
//! The pipeline is [`Notification::decode_verified`]: envelope ([`notification`]), app key
//! and `data-signature` ([`signature`]), then the typed body ([`body`]) by `cmd` ([`cmd`]).
//! [`keys`] gives the business idempotency key and the ordering key; [`codes`] the HTTP
//! answers (200 consumed or duplicate, refusals retried by Pospal) and the error type;
//! [`limits`] every bound. Numbers are read from their text, never through `f64` (see
//! the private `json` module).

pub mod body;
pub mod cmd;
pub mod codes;
mod json;
pub mod keys;
pub mod limits;
pub mod notification;
pub mod signature;

pub use crate::sealed::{is_sealed, KeyEncryptionKey, SealError};
pub use body::{
    BalanceLog, Body, CouponUse, CustomerNew, OrderState, PointLog, ProductOrder, Recharge, Ticket,
    TicketPayment, TicketType,
};
pub use cmd::{Cmd, ProductOrderCmd, StockFlowCmd};
pub use codes::{Answer, PospalError, Refusal, HTTP_STATUS_ACCEPTED};
pub use keys::{
    business_key, fingerprint, ordering_key, reversed_ticket_prefix, reversing_ticket_prefix,
};
pub use notification::{Envelope, Notification};
pub use signature::{sign, verify_signature, AppKey};
