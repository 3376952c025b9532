//! One error type for every KTV decoder, each variant mapped to exactly one [`RetCode`].
//!
//! The variants follow the layers a payload crosses (size, base64, AES, gzip, JSON syntax,
//! JSON shape, business rules), because the gateway's operator fixes each layer differently:
//! a decryption failure means a wrong key in the venue's configuration, a shape failure means
//! a gateway version that sends something the spec does not describe.

use super::bill::BillViolation;
use super::codes::RetCode;
use super::crypto::CryptoError;

/// Why a KTV message was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KtvError {
    /// The input is larger than the named limit (before any parsing).
    #[error("{what} is {bytes} bytes, more than the {max} accepted")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size in bytes.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A list holds more entries than the named limit.
    #[error("{what} has {count} entries, more than the {max} accepted")]
    TooMany {
        /// Which list.
        what: &'static str,
        /// How many entries it had.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// base64, AES or gzip failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// Not well-formed JSON (syntax, truncation, invalid UTF-8).
    #[error("malformed JSON: {0}")]
    Json(String),
    /// Well-formed JSON of the wrong shape: a missing field, a wrong type, an inexact amount,
    /// a value outside the spec's table.
    #[error("invalid field: {0}")]
    Field(String),
    /// `data` was inline JSON where the spec requires it sealed (compressed and encrypted).
    #[error("data must be compressed and encrypted for this upload")]
    NotSealed,
    /// `data` was a sealed string where the message has no sealed form, or no key was given.
    #[error("data is sealed but no key was given")]
    KeyRequired,
    /// An openTime `version` the spec does not define.
    #[error("unsupported version {0:?}")]
    UnsupportedVersion(String),
    /// An upload path the spec does not define.
    #[error("unknown upload path {0:?}")]
    UnknownPath(String),
    /// A bill that does not balance; every differing figure is listed.
    #[error("bill {voucher} does not balance ({} violations)", violations.len())]
    Unbalanced {
        /// The bill's voucher number.
        voucher: String,
        /// What differs.
        violations: Vec<BillViolation>,
    },
}

impl KtvError {
    /// The reply code for this error.
    pub fn code(&self) -> RetCode {
        match self {
            KtvError::TooLarge { .. } | KtvError::TooMany { .. } => RetCode::TooLarge,
            KtvError::Crypto(err) => err.code(),
            KtvError::Json(_) => RetCode::BadJson,
            KtvError::Field(_) => RetCode::FieldInvalid,
            KtvError::NotSealed => RetCode::DataNotSealed,
            // A sealed payload without a key is the adapter not finding the venue's key.
            KtvError::KeyRequired => RetCode::UnknownVenue,
            KtvError::UnsupportedVersion(_) => RetCode::UnsupportedVersion,
            KtvError::UnknownPath(_) => RetCode::UnknownPath,
            KtvError::Unbalanced { .. } => RetCode::Unbalanced,
        }
    }

    /// The `{ret, msg}` reply for this error, with the detail as the message.
    pub fn reply(&self) -> super::codes::Reply {
        super::codes::Reply::with_msg(
            self.code(),
            format!("{}: {self}", self.code().description()),
        )
    }

    /// Classifies a serde_json error: syntax/EOF/IO is malformed JSON, data is a shape error.
    pub(crate) fn from_json(err: serde_json::Error) -> KtvError {
        match err.classify() {
            serde_json::error::Category::Data => KtvError::Field(err.to_string()),
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => KtvError::Json(err.to_string()),
        }
    }
}

/// Checks a list length against its limit.
pub(crate) fn check_count(what: &'static str, count: usize, max: usize) -> Result<(), KtvError> {
    if count > max {
        Err(KtvError::TooMany { what, count, max })
    } else {
        Ok(())
    }
}

/// Checks an input size against its limit.
pub(crate) fn check_bytes(what: &'static str, bytes: usize, max: usize) -> Result<(), KtvError> {
    if bytes > max {
        Err(KtvError::TooLarge { what, bytes, max })
    } else {
        Ok(())
    }
}
