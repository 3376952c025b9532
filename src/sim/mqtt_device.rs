//! A simulated consumption machine (MQTT POS spec): connects to the broker, announces
//! itself online, sends consumptions (re-sending the same `posNum` when an answer does not
//! come in time, as the devices do), reversals, balance queries and uploads, and acknowledges
//! server commands that carry an `sAckId` (after pulling the document of a `cmdDataUrl`
//! command, which it then hands on merged with the message, as the devices do).

use posgate_protocols::mqtt_pos::limits::PHOTO_PAYLOAD_BYTES_MAX;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::sync::mpsc;

/// What went wrong talking to the gateway.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The broker connection or subscription failed.
    #[error("mqtt: {0}")]
    Mqtt(String),
    /// No answer after every retry.
    #[error("no answer after {0} attempts")]
    NoAnswer(u32),
}

/// A simulated device.
pub struct SimDevice {
    id: String,
    prefix: String,
    client: AsyncClient,
    replies: mpsc::UnboundedReceiver<Value>,
    commands: mpsc::UnboundedReceiver<Value>,
    /// How long to wait for an answer before re-sending.
    pub answer_timeout: Duration,
    /// Attempts per request (first send included).
    pub attempts: u32,
}

impl SimDevice {
    /// Connects as device `id` under topic `prefix` and subscribes to its api topic.
    pub async fn connect(
        host: &str,
        port: u16,
        prefix: &str,
        id: &str,
    ) -> Result<SimDevice, SimError> {
        let client_id = format!("sim-{id}-{}", hex::encode(rand::random::<[u8; 4]>()));
        let mut options = MqttOptions::new(client_id, host, port);
        options.set_keep_alive(Duration::from_secs(15));
        // Room for a photo upload (`frame_imgup`) at the protocol's limit and a little beyond,
        // so that oversized photos reach the gateway and are refused there.
        let packet_max = PHOTO_PAYLOAD_BYTES_MAX + 4096;
        options.set_max_packet_size(packet_max, packet_max);
        let (client, mut eventloop) = AsyncClient::new(options, 256);
        eventloop.network_options.set_tcp_nodelay(true);
        let api = format!("{prefix}/pos/{id}/api");
        let all = format!("{prefix}/pos/all/api");
        for topic in [&api, &all] {
            client
                .subscribe(topic.clone(), QoS::AtLeastOnce)
                .await
                .map_err(|e| SimError::Mqtt(e.to_string()))?;
        }
        let (reply_tx, replies) = mpsc::unbounded_channel();
        let (command_tx, commands) = mpsc::unbounded_channel();
        let (ready_tx, mut ready) = mpsc::unbounded_channel();
        let acks = client.clone();
        let ack_topic = format!("{prefix}/pos/{id}/api_ret");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| SimError::Mqtt(format!("HTTP client: {e}")))?;
        actix_rt::spawn(async move {
            let mut subacks = 0;
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        subacks += 1;
                        if subacks == 2 {
                            let _ = ready_tx.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) if p.topic == api || p.topic == all => {
                        let mut value: Value =
                            serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                        if value.get("api").is_some() || value.get("cmdDataUrl").is_some() {
                            // A command: pull its document first when it comes as a URL, then
                            // acknowledge it when asked to, like the devices do.
                            let code = match pull_document(&http, &mut value).await {
                                Ok(()) => 0,
                                Err(()) => -1,
                            };
                            if let Some(ack_id) = value.get("sAckId").and_then(Value::as_str) {
                                let ack = json!({"sAckId": ack_id, "code": code, "msg": "ok"});
                                let _ = acks
                                    .publish(
                                        ack_topic.clone(),
                                        QoS::AtLeastOnce,
                                        false,
                                        ack.to_string(),
                                    )
                                    .await;
                            }
                            if command_tx.send(value).is_err() {
                                return;
                            }
                        } else if reply_tx.send(value).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), ready.recv())
            .await
            .map_err(|_| SimError::Mqtt("not subscribed within 10 s".into()))?;
        Ok(SimDevice {
            id: id.to_string(),
            prefix: prefix.to_string(),
            client,
            replies,
            commands,
            answer_timeout: Duration::from_secs(10),
            attempts: 3,
        })
    }

    /// The device id.
    pub fn id(&self) -> &str {
        &self.id
    }

    async fn publish(&self, suffix: &str, payload: &[u8]) -> Result<(), SimError> {
        let topic = format!("{}/pos/{}/{suffix}", self.prefix, self.id);
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.to_vec())
            .await
            .map_err(|e| SimError::Mqtt(e.to_string()))
    }

    /// Publishes an upload (`message`, `frame_imgup`, `menu_rec`) on `suffix` without
    /// waiting: uploads get no answer.
    pub async fn upload(&self, suffix: &str, payload: &[u8]) -> Result<(), SimError> {
        self.publish(suffix, payload).await
    }

    /// Announces the device online.
    pub async fn online(&self) -> Result<(), SimError> {
        let body = json!({"msgType": "online", "devType": "posgate-sim", "ver": "1"});
        self.publish("online", body.to_string().as_bytes()).await
    }

    /// Publishes `payload` on `suffix` and waits for the answer, re-sending the same bytes
    /// up to `attempts` times when none comes within `answer_timeout`.
    pub async fn request(&mut self, suffix: &str, payload: &[u8]) -> Result<Value, SimError> {
        for _ in 0..self.attempts {
            self.publish(suffix, payload).await?;
            if let Ok(Some(answer)) =
                tokio::time::timeout(self.answer_timeout, self.replies.recv()).await
            {
                return Ok(answer);
            }
        }
        Err(SimError::NoAnswer(self.attempts))
    }

    /// Sends a consumption request (`api_ret`).
    pub async fn consume(&mut self, body: &Value) -> Result<Value, SimError> {
        self.request("api_ret", body.to_string().as_bytes()).await
    }

    /// Queries a user's balances (`pos_pay`).
    pub async fn balance(&mut self, user_id: &str) -> Result<Value, SimError> {
        let body = json!({"userId": user_id, "msgType": "pos_pay"});
        self.request("pos_pay", body.to_string().as_bytes()).await
    }

    /// An answer that arrives without a request within `wait` (there should be none: each
    /// request is answered exactly once).
    pub async fn unexpected_answer(&mut self, wait: Duration) -> Option<Value> {
        tokio::time::timeout(wait, self.replies.recv())
            .await
            .ok()
            .flatten()
    }

    /// The next server command received (already acknowledged if it asked for it).
    pub async fn next_command(&mut self, wait: Duration) -> Option<Value> {
        tokio::time::timeout(wait, self.commands.recv())
            .await
            .ok()
            .flatten()
    }
}

/// Replaces a `{"cmdDataUrl": ...}` command by the document it points at, with the message's
/// other parameters merged in (as the spec says devices do); other commands stay as they are.
async fn pull_document(http: &reqwest::Client, value: &mut Value) -> Result<(), ()> {
    let Some(url) = value.get("cmdDataUrl").and_then(Value::as_str) else {
        return Ok(());
    };
    let response = http.get(url).send().await.map_err(drop)?;
    if !response.status().is_success() {
        return Err(());
    }
    let mut document: Value = response.json().await.map_err(drop)?;
    if let (Some(document), Some(message)) = (document.as_object_mut(), value.as_object()) {
        document.extend(message.clone());
    }
    *value = document;
    Ok(())
}

/// A consumption request body as the devices send it.
pub fn consumption(mode: i64, pos_num: u64, user_id: &str, pay_money: i64) -> Value {
    json!({
        "mode": mode, "posNum": pos_num, "userId": user_id, "payTime": now_local(),
        "idenType": "reqCard", "payMoney": pay_money, "imgPath": "", "msgType": "api_ret"
    })
}

fn now_local() -> String {
    chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is valid"))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}
