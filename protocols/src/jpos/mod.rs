//! jpos access layer (接入层接口规范 v1.0.x): loyalty and stored-value card terminals.
//!
//! Terminals POST `application/x-www-form-urlencoded` forms to `/v1/jpos/...` and read
//! JSON replies carrying `status`/`message` from the appendix's response-code table. This
//! module is the pure codec, split the way the wire is:
//!
//! - [`endpoint`]: the fourteen interfaces, recognised from the path;
//! - [`form`]: a bounded form reader (the crate has no form dependency);
//! - [`request`] and [`decode`]: typed requests, validated against the spec's `!`/`?`/`C`
//!   marks, with the JSON list fields (`vaucher`, `ticket`) decoded within bounds;
//! - [`reply`]: one JSON builder per response table;
//! - [`settle`]: batch settlement figures, their comparison and the `settleFlag`;
//! - [`types`]: validated field types (batch and trace numbers, card data, times);
//! - [`codes`]: the response-code table and the codec's error type;
//! - [`limits`]: every bound, with its reason.
//!
//! The spec hands out a MAC key at checkin and has a MAC-error code (A0), but defines no
//! MAC field or algorithm over its messages, so no MAC is computed or checked here.

pub mod codes;
pub mod decode;
pub mod endpoint;
pub mod form;
pub mod limits;
pub mod pin;
pub mod reply;
pub mod request;
pub mod settle;
pub mod types;

pub use codes::{FormError, JposError, JposStatus};
pub use decode::{TicketUse, VoucherUse};
pub use endpoint::Endpoint;
pub use reply::{
    CardActivateReply, CardQueryReply, CheckinReply, ConsumeReply, JposReply, PointsReply,
    RefundReply, SettleReply, StatusReply, TicketConsumeReply, TicketInfo, TicketQueryReply,
    VoucherInfo,
};
pub use request::{decode_request, Request};
pub use settle::{compare, Discrepancy, SettleFigure, SettleFlag, SettleTotals, SettleValue};
pub use types::{mask_card_no, BatchNo, CardNo, Sensitive, TraceNo, TransTime, WorkingKey};

#[cfg(test)]
mod tests;
