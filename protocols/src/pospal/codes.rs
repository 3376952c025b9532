//! The answers posgate gives Pospal, and the codec's error type.
//!
//! The spec (1.4) has one rule: HTTP 200 means consumed; any other status makes Pospal
//! send the notification again, at most 5 more times (after 10 s, 30 s, 1 min, 2 min,
//! 3 min), and the response body is ignored. So a duplicate is answered 200 like a first
//! delivery, and every refusal is an HTTP status chosen from the table [`Refusal`], whose
//! values are posgate's (the spec defines none). Statuses are used as the table's numbers:
//! a test checks none is used twice.

use crate::money::AmountError;

/// HTTP status of a consumed notification, first delivery or duplicate alike (spec 1.4).
pub const HTTP_STATUS_ACCEPTED: u16 = 200;

/// What posgate answers a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Answer {
    /// Consumed for the first time: 200.
    Accepted,
    /// Already consumed (same business key): 200, so Pospal stops retrying.
    Duplicate,
    /// Refused: Pospal retries (see [`Refusal`]).
    Refused(Refusal),
}

impl Answer {
    /// The HTTP status to send.
    pub const fn http_status(self) -> u16 {
        match self {
            Answer::Accepted | Answer::Duplicate => HTTP_STATUS_ACCEPTED,
            Answer::Refused(refusal) => refusal.http_status(),
        }
    }
}

/// Why a notification is refused, numbered by the HTTP status it is answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Refusal {
    /// 400: not a notification of the spec's shape. The endpoint answers it for a malformed
    /// envelope only (nothing authenticates it); an authenticated notification whose body
    /// cannot be interpreted is stored and answered 200 as a dead letter (see
    /// `docs/error-codes.md`).
    Malformed = 400,
    /// 401: `data-signature` missing or not md5(appKey + body).
    BadSignature = 401,
    /// 403: `appId` not configured in posgate (no key to verify it with).
    UnknownApp = 403,
    /// 413: request larger than [`REQUEST_BYTES_MAX`](super::limits::REQUEST_BYTES_MAX).
    TooLarge = 413,
    /// 503: posgate is busy (the merchant's mailbox is full) or its store is unavailable;
    /// Pospal's retry schedule is the back-off.
    Busy = 503,
}

impl Refusal {
    /// Every refusal, in table order.
    pub const ALL: &'static [Refusal] = &[
        Refusal::Malformed,
        Refusal::BadSignature,
        Refusal::UnknownApp,
        Refusal::TooLarge,
        Refusal::Busy,
    ];

    /// The HTTP status.
    pub const fn http_status(self) -> u16 {
        self as u16
    }

    /// A short stable name (for metrics labels and logs).
    pub const fn as_str(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::BadSignature => "bad_signature",
            Refusal::UnknownApp => "unknown_app",
            Refusal::TooLarge => "too_large",
            Refusal::Busy => "busy",
        }
    }

    /// What it means.
    pub const fn description(self) -> &'static str {
        match self {
            Refusal::Malformed => "not a Pospal notification of the spec's shape",
            Refusal::BadSignature => "data-signature missing or wrong",
            Refusal::UnknownApp => "appId not configured",
            Refusal::TooLarge => "notification too large",
            Refusal::Busy => "busy, retry later",
        }
    }
}

/// Why a notification was refused. Variants carry field names, never wire values (bodies
/// hold customer names and phone numbers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PospalError {
    /// Larger than the byte limit.
    #[error("notification is {bytes} bytes, more than {max}")]
    TooLarge {
        /// Size received.
        bytes: usize,
        /// Limit that applied.
        max: usize,
    },
    /// JSON nested deeper than the limit.
    #[error("{part}: JSON nested deeper than {max} levels")]
    TooDeep {
        /// `envelope` or `body`.
        part: &'static str,
        /// Limit that applied.
        max: usize,
    },
    /// Not valid JSON (position only).
    #[error("{part}: invalid JSON at line {line} column {column}")]
    Syntax {
        /// `envelope` or `body`.
        part: &'static str,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Valid JSON of the wrong shape (e.g. an array where an object is required).
    #[error("{0}: wrong JSON shape")]
    Shape(&'static str),
    /// A required field is absent or null.
    #[error("missing field {0}")]
    Missing(&'static str),
    /// A field has the wrong JSON type.
    #[error("field {0} has the wrong JSON type")]
    WrongType(&'static str),
    /// A field breaks a rule of the spec.
    #[error("field {field} is invalid: {reason}")]
    Invalid {
        /// Wire name.
        field: &'static str,
        /// Rule broken.
        reason: &'static str,
    },
    /// An amount that is not an exact fen amount.
    #[error("field {field}: {source}")]
    Amount {
        /// Wire name.
        field: &'static str,
        /// The money parser's reason.
        source: AmountError,
    },
    /// An array longer than its limit.
    #[error("field {field} has more than {max} entries")]
    TooMany {
        /// Wire name.
        field: &'static str,
        /// Limit that applied.
        max: usize,
    },
    /// `data-signature` missing or wrong.
    #[error("bad data-signature")]
    BadSignature,
    /// `appId` unknown to posgate.
    #[error("unknown appId")]
    UnknownApp,
}

impl PospalError {
    /// The refusal (and so the HTTP status) this error is answered with.
    pub fn code(&self) -> Refusal {
        match self {
            PospalError::TooLarge { .. } => Refusal::TooLarge,
            PospalError::TooDeep { .. }
            | PospalError::Syntax { .. }
            | PospalError::Shape(_)
            | PospalError::Missing(_)
            | PospalError::WrongType(_)
            | PospalError::Invalid { .. }
            | PospalError::Amount { .. }
            | PospalError::TooMany { .. } => Refusal::Malformed,
            PospalError::BadSignature => Refusal::BadSignature,
            PospalError::UnknownApp => Refusal::UnknownApp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_has_no_duplicates() {
        let mut statuses = HashSet::new();
        let mut names = HashSet::new();
        for refusal in Refusal::ALL {
            assert!(statuses.insert(refusal.http_status()));
            assert!(names.insert(refusal.as_str()));
            assert_ne!(refusal.http_status(), HTTP_STATUS_ACCEPTED);
            assert!(!refusal.description().is_empty());
        }
        assert_eq!(Refusal::BadSignature.http_status(), 401);
        assert_eq!(Refusal::UnknownApp.http_status(), 403);
        assert_eq!(Refusal::Malformed.http_status(), 400);
    }

    #[test]
    fn answers() {
        assert_eq!(Answer::Accepted.http_status(), 200);
        assert_eq!(Answer::Duplicate.http_status(), 200);
        assert_eq!(Answer::Refused(Refusal::Busy).http_status(), 503);
    }
}
