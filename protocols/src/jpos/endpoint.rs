//! The fourteen interfaces of the spec's 接口列表, recognised from the request path.
//!
//! Paths are `/{protocolVersion}/jpos/...` with `protocolVersion` = `v1` (the only major
//! version this codec speaks; the spec lets a server keep two). The footnote under the
//! table writes the consume address as `/v1/trans/consume`, without `jpos`: terminals built
//! from that sentence exist, so exactly that path is accepted as an alias of
//! `/v1/jpos/trans/consume`. No other path without `jpos` is guessed at. A query string is
//! ignored; trailing slashes and other spellings are not accepted.

use super::codes::JposError;

/// One jpos interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// 签到: `terminal/checkin`.
    Checkin,
    /// 卡查询: `cards`.
    CardQuery,
    /// 消费: `trans/consume`.
    Consume,
    /// 消费冲正: `trans/consumeReversal`.
    ConsumeReversal,
    /// 消费撤销: `trans/cancel`.
    Cancel,
    /// 消费撤销冲正: `trans/cancelReversal`.
    CancelReversal,
    /// 消费退货: `refunds`.
    Refund,
    /// 消费退货撤销: `refunds/cancel`.
    RefundCancel,
    /// 券查询: `tickets`.
    TicketQuery,
    /// 券消费: `tickets/consume`.
    TicketConsume,
    /// 券消费冲正: `tickets/consumeReversal`.
    TicketConsumeReversal,
    /// 发送验证码: `mobile/sendVerifyCode`.
    SendVerifyCode,
    /// 卡激活: `card/active`.
    CardActivate,
    /// 结算: `trans/settle`.
    Settle,
}

/// The protocol major version served, as it appears in paths.
pub const PROTOCOL_VERSION: &str = "v1";

/// The footnote's spelling of the consume path, accepted as an alias.
pub const CONSUME_ALIAS_PATH: &str = "/v1/trans/consume";

impl Endpoint {
    /// Every interface, in the spec's order.
    pub const ALL: [Endpoint; 14] = [
        Endpoint::Checkin,
        Endpoint::CardQuery,
        Endpoint::Consume,
        Endpoint::ConsumeReversal,
        Endpoint::Cancel,
        Endpoint::CancelReversal,
        Endpoint::Refund,
        Endpoint::RefundCancel,
        Endpoint::TicketQuery,
        Endpoint::TicketConsume,
        Endpoint::TicketConsumeReversal,
        Endpoint::SendVerifyCode,
        Endpoint::CardActivate,
        Endpoint::Settle,
    ];

    /// The path under `/{version}/jpos/`.
    pub const fn suffix(self) -> &'static str {
        match self {
            Endpoint::Checkin => "terminal/checkin",
            Endpoint::CardQuery => "cards",
            Endpoint::Consume => "trans/consume",
            Endpoint::ConsumeReversal => "trans/consumeReversal",
            Endpoint::Cancel => "trans/cancel",
            Endpoint::CancelReversal => "trans/cancelReversal",
            Endpoint::Refund => "refunds",
            Endpoint::RefundCancel => "refunds/cancel",
            Endpoint::TicketQuery => "tickets",
            Endpoint::TicketConsume => "tickets/consume",
            Endpoint::TicketConsumeReversal => "tickets/consumeReversal",
            Endpoint::SendVerifyCode => "mobile/sendVerifyCode",
            Endpoint::CardActivate => "card/active",
            Endpoint::Settle => "trans/settle",
        }
    }

    /// The canonical path, e.g. `/v1/jpos/trans/consume`.
    pub fn path(self) -> String {
        format!("/{PROTOCOL_VERSION}/jpos/{}", self.suffix())
    }

    /// Whether this interface is a reversal (冲正), whose body repeats the original's.
    pub const fn is_reversal(self) -> bool {
        matches!(
            self,
            Endpoint::ConsumeReversal | Endpoint::CancelReversal | Endpoint::TicketConsumeReversal
        )
    }

    /// Recognises a request path (a query string after `?` is ignored).
    pub fn from_path(path: &str) -> Result<Endpoint, JposError> {
        let path = path.split('?').next().unwrap_or("");
        if path == CONSUME_ALIAS_PATH {
            return Ok(Endpoint::Consume);
        }
        let rest = path.strip_prefix('/').ok_or(JposError::UnknownEndpoint)?;
        let (version, rest) = rest.split_once('/').ok_or(JposError::UnknownEndpoint)?;
        let suffix = rest
            .strip_prefix("jpos/")
            .ok_or(JposError::UnknownEndpoint)?;
        let endpoint = Endpoint::ALL
            .iter()
            .copied()
            .find(|endpoint| endpoint.suffix() == suffix)
            .ok_or(JposError::UnknownEndpoint)?;
        if version != PROTOCOL_VERSION {
            return Err(JposError::UnsupportedVersion);
        }
        Ok(endpoint)
    }

    /// Checks the HTTP method: the spec allows POST only.
    pub fn require_post(method: &str) -> Result<(), JposError> {
        if method.eq_ignore_ascii_case("POST") {
            Ok(())
        } else {
            Err(JposError::MethodNotAllowed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_paths_parse() {
        for endpoint in Endpoint::ALL {
            assert_eq!(Endpoint::from_path(&endpoint.path()), Ok(endpoint));
        }
        assert_eq!(
            Endpoint::from_path("/v1/jpos/trans/consume?x=1"),
            Ok(Endpoint::Consume)
        );
    }

    #[test]
    fn footnote_alias_is_consume() {
        assert_eq!(
            Endpoint::from_path("/v1/trans/consume"),
            Ok(Endpoint::Consume)
        );
        assert_eq!(
            Endpoint::from_path("/v1/trans/cancel"),
            Err(JposError::UnknownEndpoint)
        );
    }

    #[test]
    fn bad_paths() {
        for path in [
            "",
            "/",
            "/v1",
            "/v1/jpos",
            "/v1/jpos/",
            "/v1/jpos/trans/consume/",
            "/v1/jpos/Trans/consume",
            "v1/jpos/cards",
            "/v1/jpos/trans",
        ] {
            assert_eq!(
                Endpoint::from_path(path),
                Err(JposError::UnknownEndpoint),
                "{path}"
            );
        }
        assert_eq!(
            Endpoint::from_path("/v2/jpos/cards"),
            Err(JposError::UnsupportedVersion)
        );
        assert_eq!(Endpoint::require_post("post"), Ok(()));
        assert_eq!(
            Endpoint::require_post("GET"),
            Err(JposError::MethodNotAllowed)
        );
    }

    proptest! {
        #[test]
        fn from_path_never_panics(path in "\\PC{0,64}") {
            let _ = Endpoint::from_path(&path);
        }
    }
}
