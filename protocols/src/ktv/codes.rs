//! The `{ret, msg}` reply of the HTTP uploads and its stable code table.
//!
//! The spec defines one code: `ret: 0` for "data received and validated" (and `"msg": "OK"`
//! for notify). For every failure it only says the server "returns the corresponding result,
//! the gateway just logs it". Gateways therefore treat any non-zero `ret` as "log and keep
//! going", which leaves posgate free to number its failures: the numbers below are posgate's
//! own, chosen once and never reused, so that the logs of thousands of venue gateways stay
//! comparable across versions. A new failure gets a new number at the end of the table.

use serde::{Deserialize, Serialize};

/// The result codes of the upload replies. Explicit, stable values; never renumbered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum RetCode {
    /// 0, the spec's code: data received, decrypted and validated.
    Ok = 0,
    /// posgate: the `companycode` is not a venue posgate knows (no key configured).
    UnknownVenue = 1,
    /// posgate: `data` is not valid base64.
    BadBase64 = 2,
    /// posgate: AES decryption failed (wrong key, truncated ciphertext, bad PKCS7 padding).
    DecryptFailed = 3,
    /// posgate: the decrypted bytes are not a valid gzip stream.
    DecompressFailed = 4,
    /// posgate: the body or the decrypted payload is not well-formed JSON (or not UTF-8).
    BadJson = 5,
    /// posgate: the JSON is well formed but a field is missing, has the wrong type, an
    /// amount is not exact fen, or an enumerated value is outside the spec's table.
    FieldInvalid = 6,
    /// posgate: a bill does not balance (charges vs payments, member-card split).
    Unbalanced = 7,
    /// posgate: the body, the decompressed payload or a list is larger than posgate accepts.
    TooLarge = 8,
    /// posgate: the `version` of an openTime upload is not 1, 2 or 3.
    UnsupportedVersion = 9,
    /// posgate: the upload path is not one of the spec's (`openTime`, `realtime`, ...).
    UnknownPath = 10,
    /// posgate: `data` came as plain JSON where the spec requires it compressed and encrypted
    /// (realtime, vouchers).
    DataNotSealed = 11,
    /// posgate: the venue's actor is busy (mailbox full); the gateway should retry later.
    Busy = 12,
    /// posgate: the data was valid but could not be stored; the gateway should retry later.
    Internal = 13,
}

impl RetCode {
    /// Every code, in table order (used by the uniqueness test and by metrics set-up).
    pub const ALL: [RetCode; 14] = [
        RetCode::Ok,
        RetCode::UnknownVenue,
        RetCode::BadBase64,
        RetCode::DecryptFailed,
        RetCode::DecompressFailed,
        RetCode::BadJson,
        RetCode::FieldInvalid,
        RetCode::Unbalanced,
        RetCode::TooLarge,
        RetCode::UnsupportedVersion,
        RetCode::UnknownPath,
        RetCode::DataNotSealed,
        RetCode::Busy,
        RetCode::Internal,
    ];

    /// The number sent as `ret`.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// A short, stable, ASCII name (a bounded metrics label value).
    pub const fn as_str(self) -> &'static str {
        match self {
            RetCode::Ok => "ok",
            RetCode::UnknownVenue => "unknown_venue",
            RetCode::BadBase64 => "bad_base64",
            RetCode::DecryptFailed => "decrypt_failed",
            RetCode::DecompressFailed => "decompress_failed",
            RetCode::BadJson => "bad_json",
            RetCode::FieldInvalid => "field_invalid",
            RetCode::Unbalanced => "unbalanced",
            RetCode::TooLarge => "too_large",
            RetCode::UnsupportedVersion => "unsupported_version",
            RetCode::UnknownPath => "unknown_path",
            RetCode::DataNotSealed => "data_not_sealed",
            RetCode::Busy => "busy",
            RetCode::Internal => "internal",
        }
    }

    /// The default `msg`, in the spec's language (the gateway logs it).
    pub const fn description(self) -> &'static str {
        match self {
            RetCode::Ok => "数据接收并校验成功",
            RetCode::UnknownVenue => "未知商家编码",
            RetCode::BadBase64 => "数据 Base64 解码失败",
            RetCode::DecryptFailed => "数据解密失败",
            RetCode::DecompressFailed => "数据解压失败",
            RetCode::BadJson => "数据不是合法的 JSON",
            RetCode::FieldInvalid => "数据字段校验失败",
            RetCode::Unbalanced => "账单应收明细与支付明细不平",
            RetCode::TooLarge => "数据过大",
            RetCode::UnsupportedVersion => "不支持的协议版本",
            RetCode::UnknownPath => "未知的上传地址",
            RetCode::DataNotSealed => "数据需要压缩并加密",
            RetCode::Busy => "服务繁忙，请稍后重试",
            RetCode::Internal => "服务内部错误，请稍后重试",
        }
    }

    /// The code for a `ret` number, if it is in the table.
    pub fn from_code(ret: i64) -> Option<RetCode> {
        RetCode::ALL
            .into_iter()
            .find(|c| i64::from(c.code()) == ret)
    }

    /// Whether the gateway should send the same data again later (posgate's own state,
    /// not the data, was the problem).
    pub const fn is_retryable(self) -> bool {
        match self {
            RetCode::Busy | RetCode::Internal => true,
            RetCode::Ok
            | RetCode::UnknownVenue
            | RetCode::BadBase64
            | RetCode::DecryptFailed
            | RetCode::DecompressFailed
            | RetCode::BadJson
            | RetCode::FieldInvalid
            | RetCode::Unbalanced
            | RetCode::TooLarge
            | RetCode::UnsupportedVersion
            | RetCode::UnknownPath
            | RetCode::DataNotSealed => false,
        }
    }
}

/// The reply posgate sends to an upload: `{"ret": 0, "msg": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The result code.
    pub ret: RetCode,
    /// A human-readable message for the gateway's log.
    pub msg: String,
}

impl Reply {
    /// Success with the spec's message ("数据接收并校验成功").
    pub fn ok() -> Reply {
        Reply::new(RetCode::Ok)
    }

    /// Success as the notify endpoint answers it (`"msg": "OK"`).
    pub fn ok_notify() -> Reply {
        Reply {
            ret: RetCode::Ok,
            msg: "OK".to_owned(),
        }
    }

    /// A reply with the code's default message.
    pub fn new(ret: RetCode) -> Reply {
        Reply {
            ret,
            msg: ret.description().to_owned(),
        }
    }

    /// A reply with a specific message (for example the error's detail).
    pub fn with_msg(ret: RetCode, msg: impl Into<String>) -> Reply {
        Reply {
            ret,
            msg: msg.into(),
        }
    }

    /// The JSON value `{"ret": .., "msg": ..}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(WireReply {
            ret: i64::from(self.ret.code()),
            msg: self.msg.clone(),
        })
        .unwrap_or(serde_json::Value::Null)
    }

    /// The reply body bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }
}

/// A `{ret, msg}` reply as received (a gateway simulator, or posgate's own replies read
/// back): `ret` kept as the raw number since the sender may not be posgate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireReply {
    /// The raw `ret` number.
    pub ret: i64,
    /// The message, empty when absent.
    #[serde(default)]
    pub msg: String,
}

impl WireReply {
    /// The code from posgate's table, if `ret` is in it.
    pub fn code(&self) -> Option<RetCode> {
        RetCode::from_code(self.ret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_has_no_duplicates() {
        let codes: HashSet<i32> = RetCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes.len(), RetCode::ALL.len());
        let names: HashSet<&str> = RetCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), RetCode::ALL.len());
        let texts: HashSet<&str> = RetCode::ALL.iter().map(|c| c.description()).collect();
        assert_eq!(texts.len(), RetCode::ALL.len());
    }

    #[test]
    fn table_is_stable() {
        // Numbers are part of the contract with deployed gateways: never change them.
        let expected = [
            (RetCode::Ok, 0),
            (RetCode::UnknownVenue, 1),
            (RetCode::BadBase64, 2),
            (RetCode::DecryptFailed, 3),
            (RetCode::DecompressFailed, 4),
            (RetCode::BadJson, 5),
            (RetCode::FieldInvalid, 6),
            (RetCode::Unbalanced, 7),
            (RetCode::TooLarge, 8),
            (RetCode::UnsupportedVersion, 9),
            (RetCode::UnknownPath, 10),
            (RetCode::DataNotSealed, 11),
            (RetCode::Busy, 12),
            (RetCode::Internal, 13),
        ];
        for (code, number) in expected {
            assert_eq!(code.code(), number);
            assert_eq!(RetCode::from_code(i64::from(number)), Some(code));
        }
        assert_eq!(RetCode::from_code(14), None);
        assert_eq!(RetCode::from_code(-1), None);
    }

    #[test]
    fn reply_encodes_like_the_spec() {
        let body = Reply::ok().encode();
        let back: WireReply = serde_json::from_slice(&body).expect("reply is json");
        assert_eq!(
            back,
            WireReply {
                ret: 0,
                msg: "数据接收并校验成功".to_owned()
            }
        );
        assert_eq!(back.code(), Some(RetCode::Ok));
        let notify: WireReply =
            serde_json::from_str("{\"ret\" : 0, \"msg\" : \"OK\"}").expect("spec example");
        assert_eq!(
            notify,
            WireReply {
                ret: 0,
                msg: "OK".to_owned()
            }
        );
        let notify_back: WireReply =
            serde_json::from_slice(&Reply::ok_notify().encode()).expect("reply is json");
        assert_eq!(notify_back, notify);
        assert!(RetCode::Busy.is_retryable());
        assert!(!RetCode::Unbalanced.is_retryable());
    }
}
