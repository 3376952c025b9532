//! KTV venue management systems (商户通): HTTP uploads and the WJ091 pull over RabbitMQ.
//!
//! Venue systems (通娱, 精通, 坚度, 赢娱...) push their opening hours, realtime room states and
//! settled bills to posgate over HTTP, and posgate pulls what it missed with WJ091 requests
//! over RabbitMQ. This module is the pure codec of both directions, split the way the data
//! travels:
//!
//! - [`crypto`]: `base64(AES-128(gzip(json)))` for uploads (ECB by default, or CBC with
//!   the IV in front: [`AesMode`]), `base64(gzip(json))` for WJ091, with a
//!   decompressed-size cap; keys as a masked [`AesKey`].
//! - [`upload`]: upload paths, the `{companycode, data}` envelope, and the typed payloads
//!   (openTime v1-v3, realtime, vouchers, notify, payment_setting).
//! - [`bill`]: the bill type shared by uploads and WJ091, and the balance rules as a pure
//!   function ([`validate_bill`]); void (`revoke`) and re-upload (`modify`) semantics.
//! - [`wj091`]: request encoder, reply decoder typed per request type, paging.
//! - [`codes`]: the `{ret, msg}` reply and its stable code table ([`RetCode`]).
//! - [`limits`]: every bound, with its reason.
//!
//! Spelling variants the spec itself uses are read: `checkoutVoucher` (its bill field
//! table), `deatils` (its goods-detail text), `room_available` next to the example's
//! `room_avaiable`; counts written as doubles (`"total": 128.0`) and a UTF-8 BOM before the
//! JSON are accepted. Not accepted: the pre-2018 camelCase payloads (`checkoutCharge`,
//! `roomStates`...) that the spec's base64 example blobs still contain; those blobs are
//! refused as [`RetCode::FieldInvalid`] (see the tests).
//!
//! Money is [`crate::money::Fen`]: this spec's amounts are integer fen ("以分为单位"), sent
//! as JSON numbers or strings, read exactly (see [`de::parse_fen_text`]).

pub mod bill;
pub mod codes;
pub mod crypto;
pub mod de;
pub mod error;
pub mod limits;
pub mod types;
pub mod upload;
pub mod wj091;

#[cfg(test)]
mod spec_examples;
#[cfg(test)]
mod tests;

pub use bill::{
    validate_bill, Bill, BillRule, BillViolation, Charge, ChargeTotals, ChargeType, Detail, Modify,
    Payment, Revoke, VoucherType,
};
pub use codes::{Reply, RetCode, WireReply};
pub use crypto::{
    open, open_with, seal, seal_with, zip_decode, zip_encode, AesKey, AesMode, CryptoError,
};
pub use error::KtvError;
pub use types::{BusinessDate, ClockTime, CompanyCode, RoomId};
pub use upload::{
    decode_envelope, decode_upload, BookingCancelled, Envelope, EnvelopeData, GatewayMode,
    OpenTime, OpenTimeData, OpenTimeVersion, PaymentSetting, PaymentStatus, Realtime, RoomState,
    SealPolicy, SecondState, Upload, UploadPath, DEFAULT_CONTEXT_PATH,
};
pub use wj091::{
    decode_reply, decode_request, Page, Wj091Data, Wj091Query, Wj091Reply, Wj091Request, Wj091Type,
};
