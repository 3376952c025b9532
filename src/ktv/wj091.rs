//! WJ091 over RabbitMQ: encode the request, call the venue through the [`RpcClient`]
//! (routing key = `companycode`), decode the reply (zipped or plain), and follow the pages
//! of the paged types until `total`.

use crate::amqp::{RpcClient, RpcError};
use posgate_protocols::ktv::{decode_reply, KtvError, Wj091Reply, Wj091Request};
use serde_json::Value;
use std::time::Instant;

/// Why a WJ091 call has no usable answer.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Wj091Error {
    /// No AMQP URL is configured.
    #[error("WJ091 is disabled: set amqp.url to a RabbitMQ broker")]
    Disabled,
    /// Transport: disconnected (fails fast), timed out, or refused.
    #[error("{0}")]
    Rpc(#[from] RpcError),
    /// The reply could not be decoded.
    #[error("undecodable WJ091 reply: {0}")]
    Decode(#[from] KtvError),
    /// The venue answered a non-zero `ret`.
    #[error("venue answered ret {ret}: {msg}")]
    Venue {
        /// The venue's `ret`.
        ret: i64,
        /// The venue's `msg`.
        msg: String,
    },
}

impl Wj091Error {
    /// A bounded metrics label.
    pub fn label(&self) -> &'static str {
        match self {
            Wj091Error::Disabled => "disabled",
            Wj091Error::Rpc(RpcError::Disconnected) => "disconnected",
            Wj091Error::Rpc(RpcError::Timeout(_)) => "timeout",
            Wj091Error::Rpc(RpcError::Publish(_)) => "publish_failed",
            Wj091Error::Rpc(RpcError::NoRoute(_)) => "no_route",
            Wj091Error::Decode(_) => "bad_reply",
            Wj091Error::Venue { .. } => "venue_error",
        }
    }
}

/// The WJ091 client of one gateway.
#[derive(Clone, Debug)]
pub struct Wj091Client {
    rpc: RpcClient,
}

impl Wj091Client {
    /// A client over `rpc`.
    pub fn new(rpc: RpcClient) -> Wj091Client {
        Wj091Client { rpc }
    }

    /// The transport.
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// One request, one reply (one page of a paged type). A non-zero venue `ret` is an
    /// error.
    pub async fn request(&self, request: &Wj091Request) -> Result<Wj091Reply, Wj091Error> {
        let kind = request.query.kind().code().to_string();
        let started = Instant::now();
        let result = self.request_inner(request).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.label(),
        };
        metrics::counter!("posgate_ktv_wj091_requests_total", "type" => kind.clone(), "outcome" => outcome)
            .increment(1);
        metrics::histogram!("posgate_ktv_wj091_request_duration_seconds", "type" => kind)
            .record(started.elapsed().as_secs_f64());
        result
    }

    async fn request_inner(&self, request: &Wj091Request) -> Result<Wj091Reply, Wj091Error> {
        let bytes = self
            .rpc
            .call(request.companycode.as_str(), &request.encode())
            .await?;
        let reply = decode_reply(request, &bytes)?;
        if !reply.is_ok() {
            return Err(Wj091Error::Venue {
                ret: reply.ret,
                msg: reply.msg,
            });
        }
        Ok(reply)
    }

    /// The pages of `request` from its page on, until `total` or `max_pages` replies; the
    /// replies and the request for the page after the last one fetched, if any.
    pub async fn request_pages(
        &self,
        request: Wj091Request,
        max_pages: usize,
    ) -> Result<(Vec<Wj091Reply>, Option<Wj091Request>), Wj091Error> {
        let mut replies = Vec::new();
        let mut next = Some(request);
        while let Some(request) = next.take_if(|_| replies.len() < max_pages.max(1)) {
            let reply = self.request(&request).await?;
            next = request.next_page_request(&reply);
            replies.push(reply);
        }
        Ok((replies, next))
    }
}

/// The replies of a request as one JSON answer: `{ret, msg, total, pages, next_page_num,
/// data}`, the rows of every page concatenated for the paged types; `next_page_num` is the
/// page to ask for next when the pages were cut short, else null.
pub fn merged_json(replies: &[Wj091Reply], next: Option<&Wj091Request>) -> Value {
    let first = replies.first();
    let data = if replies.len() == 1 {
        replies[0].data.to_json()
    } else {
        Value::Array(
            replies
                .iter()
                .flat_map(|r| match r.data.to_json() {
                    Value::Array(rows) => rows,
                    Value::Null => Vec::new(),
                    other => vec![other],
                })
                .collect(),
        )
    };
    serde_json::json!({
        "ret": first.map_or(0, |r| r.ret),
        "msg": first.map_or("", |r| r.msg.as_str()),
        "total": first.and_then(|r| r.total),
        "pages": replies.len(),
        "next_page_num": next.and_then(|r| r.query.page()).map(|p| p.num()),
        "data": data,
    })
}
