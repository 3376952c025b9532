//! Sending SMS verification codes (jpos `mobile/sendVerifyCode`).
//!
//! [`SmsSender`] is the seam; two implementations:
//! - [`DevSink`], the default: appends each message as one JSON line to a local file, for
//!   development. Codes never go to the logs.
//! - [`Webhook`]: POSTs `{"mobileNo", "code", "text"}` as JSON to a configured `http://`
//!   URL (an SMS provider's bridge) and wants a 2xx answer within 10 s. It speaks plain
//!   HTTP/1.1 itself (the gateway has no HTTP client dependency); `https` is left to a
//!   bridge on the same host or network.

use futures::future::BoxFuture;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Longest wait for a webhook answer.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of a webhook answer read (only its status line matters).
const WEBHOOK_REPLY_BYTES_MAX: usize = 4096;

/// Sends one text message.
pub trait SmsSender: Send + Sync {
    /// Sends `code` (and `text`, which contains it) to `mobile_no`.
    fn send(
        &self,
        mobile_no: &str,
        code: &str,
        text: &str,
    ) -> BoxFuture<'static, Result<(), String>>;
}

fn payload(mobile_no: &str, code: &str, text: &str) -> String {
    serde_json::json!({"mobileNo": mobile_no, "code": code, "text": text}).to_string()
}

/// Development sink: one JSON line per message in a local file.
pub struct DevSink {
    file: Mutex<PathBuf>,
}

impl DevSink {
    /// A sink writing to `path` (created on first use).
    pub fn new(path: impl Into<PathBuf>) -> DevSink {
        DevSink {
            file: Mutex::new(path.into()),
        }
    }
}

impl SmsSender for DevSink {
    fn send(
        &self,
        mobile_no: &str,
        code: &str,
        text: &str,
    ) -> BoxFuture<'static, Result<(), String>> {
        let line = payload(mobile_no, code, text);
        let result = self
            .file
            .lock()
            .map_err(|_| "sink lock poisoned".to_string())
            .and_then(|path| {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&*path)
                    .map_err(|e| format!("open SMS dev sink: {e}"))?;
                writeln!(file, "{line}").map_err(|e| format!("write SMS dev sink: {e}"))
            });
        Box::pin(async move { result })
    }
}

/// Posts each message to an HTTP webhook.
pub struct Webhook {
    host: String,
    port: u16,
    path: String,
}

impl Webhook {
    /// Parses an `http://host[:port][/path]` URL.
    pub fn new(url: &str) -> Result<Webhook, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| "only http:// webhook URLs are supported".to_string())?;
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse()
                    .map_err(|_| "bad port in webhook URL".to_string())?,
            ),
            None => (authority, 80),
        };
        if host.is_empty() || authority.contains('@') {
            return Err("webhook URL needs a host (and no user info)".into());
        }
        Ok(Webhook {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }

    async fn post(host: String, port: u16, path: String, body: String) -> Result<(), String> {
        let mut stream = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut reply = Vec::new();
        let mut chunk = [0u8; 1024];
        while reply.len() < WEBHOOK_REPLY_BYTES_MAX && !reply.windows(2).any(|w| w == b"\r\n") {
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                break;
            }
            reply.extend_from_slice(&chunk[..n]);
        }
        let line = String::from_utf8_lossy(&reply);
        let status = line.split_whitespace().nth(1).unwrap_or("");
        if status.len() == 3 && status.starts_with('2') {
            Ok(())
        } else {
            Err(format!("webhook answered {status:?}"))
        }
    }
}

impl SmsSender for Webhook {
    fn send(
        &self,
        mobile_no: &str,
        code: &str,
        text: &str,
    ) -> BoxFuture<'static, Result<(), String>> {
        let (host, port, path) = (self.host.clone(), self.port, self.path.clone());
        let body = payload(mobile_no, code, text);
        Box::pin(async move {
            tokio::time::timeout(WEBHOOK_TIMEOUT, Webhook::post(host, port, path, body))
                .await
                .map_err(|_| "webhook timed out".to_string())?
        })
    }
}

/// The sender the configuration asks for: the webhook when a URL is set, else the dev sink.
pub fn from_config(webhook_url: &str, dev_sink_path: &str) -> Result<Arc<dyn SmsSender>, String> {
    if webhook_url.is_empty() {
        Ok(Arc::new(DevSink::new(dev_sink_path)))
    } else {
        Ok(Arc::new(Webhook::new(webhook_url)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_webhook_urls() {
        let w = Webhook::new("http://127.0.0.1:9000/sms/send").unwrap();
        assert_eq!(
            (w.host.as_str(), w.port, w.path.as_str()),
            ("127.0.0.1", 9000, "/sms/send")
        );
        let w = Webhook::new("http://sms.local").unwrap();
        assert_eq!((w.port, w.path.as_str()), (80, "/"));
        assert!(Webhook::new("https://sms.local").is_err());
        assert!(Webhook::new("http://:80/").is_err());
        assert!(Webhook::new("http://u:p@host/").is_err());
        assert!(Webhook::new("http://host:x/").is_err());
    }

    #[actix_rt::test]
    async fn dev_sink_appends_lines() {
        let path = std::env::temp_dir().join(format!("posgate-sms-{}.log", rand::random::<u64>()));
        let sink = DevSink::new(&path);
        sink.send("13800000000", "123456", "code 123456")
            .await
            .unwrap();
        sink.send("13800000001", "654321", "code 654321")
            .await
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["code"], "654321");
        let _ = std::fs::remove_file(path);
    }
}
