//! Sending SMS verification codes (jpos `mobile/sendVerifyCode`).
//!
//! [`SmsSender`] is the seam; two implementations:
//! - [`DevSink`], the default: appends each message as one JSON line to a local file, for
//!   development. Codes never go to the logs.
//! - [`Webhook`]: POSTs `{"mobileNo", "code", "text"}` as JSON to a configured `http://` or
//!   `https://` URL (an SMS provider's bridge) with reqwest (rustls) and wants a 2xx answer
//!   within 10 s, without following redirects.

use futures::future::BoxFuture;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Longest wait for a webhook answer.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

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
    url: reqwest::Url,
    client: reqwest::Client,
}

impl Webhook {
    /// A sender for an `http://` or `https://` URL (no user info: credentials belong in the
    /// bridge, not in a URL that ends up in configuration dumps).
    pub fn new(url: &str) -> Result<Webhook, String> {
        let url = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("webhook URL must be http:// or https://".into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("webhook URL needs a host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("webhook URL must not carry user info".into());
        }
        let client = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Webhook { url, client })
    }
}

impl SmsSender for Webhook {
    fn send(
        &self,
        mobile_no: &str,
        code: &str,
        text: &str,
    ) -> BoxFuture<'static, Result<(), String>> {
        let request = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload(mobile_no, code, text));
        Box::pin(async move {
            // Errors name the failure, never the request (it holds the code).
            let response = request.send().await.map_err(|e| {
                if e.is_timeout() {
                    "webhook timed out".to_string()
                } else {
                    "webhook unreachable".to_string()
                }
            })?;
            let status = response.status();
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("webhook answered {}", status.as_u16()))
            }
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
        assert_eq!(w.url.as_str(), "http://127.0.0.1:9000/sms/send");
        assert!(Webhook::new("https://sms.example/send").is_ok());
        assert!(Webhook::new("ftp://sms.local").is_err());
        assert!(Webhook::new("http://:80/").is_err());
        assert!(Webhook::new("http://u:p@host/").is_err());
        assert!(Webhook::new("http://host:x/").is_err());
        assert!(Webhook::new("sms.local").is_err());
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
