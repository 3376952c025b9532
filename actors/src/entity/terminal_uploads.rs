//! The uploads of a consumption machine (MQTT POS spec section 6): device messages
//! (`message`), photos (`frame_imgup`) and dish records (`menu_rec`).
//!
//! Uploads get no answer on the wire (the spec defines none). They are stored off the actor's
//! mailbox (a photo write must not hold up payments), and the adapter's reply is sent only
//! once the upload is stored, so the broker's message is acknowledged after the data is
//! safe. A storage failure is retried a few times, briefly; an upload still not stored gets
//! no reply, which tells the adapter it was not stored: on a persistent session
//! (`mqtt.client_id`, one replica) the message is left unacknowledged and the session
//! resumed, so the broker redelivers it; on a clean session (replicas in a shared group)
//! nothing can be redelivered, so it is acknowledged and counted lost (`unstored`).
//! Redelivered uploads (MQTT QoS 1) are stored once: see [`crate::store::uploads`].
//!
//! A photo is stored in the database, image and metadata (size, SHA-256) in one row named
//! `{deviceId}/{imgPath}` (imgPath as sanitised by the codec), so that every replica serves
//! it.

use super::terminal::{TerminalActor, TerminalState};
use super::terminal_mqtt::MqttReply;
use crate::store::uploads::{self, DishLine, NewDishRecord, NewNotice, NewPhoto};
use crate::store::{now_ms, Store, StoreError};
use actix::prelude::*;
use futures::future::LocalBoxFuture;
use posgate_protocols::mqtt_pos::uploads::{DeviceNotice, MenuRecord, PhotoUpload};
use posgate_protocols::mqtt_pos::DeviceMessage;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

/// Why an upload was not stored.
#[derive(Debug, thiserror::Error)]
enum UploadError {
    /// The upload cannot be stored as sent (unsafe path); retrying will not help.
    #[error("refused: {0}")]
    Refused(&'static str),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// What an upload's storing gave: `true` when something new was stored.
type Stored = LocalBoxFuture<'static, Result<bool, UploadError>>;

/// Pauses before each new attempt to store an upload whose storing failed (a store
/// error; a refusal is final). The broker's message stays unacknowledged meanwhile, which
/// holds back the acknowledgements of later messages: the retries are kept short.
const STORE_RETRY_DELAYS_MS: [u64; 4] = [200, 400, 800, 1600];

/// The metric kind of an upload; `None` for a message that is not one.
fn upload_kind(message: &DeviceMessage) -> Option<&'static str> {
    match message {
        DeviceMessage::Notice(_) => Some("notice"),
        DeviceMessage::Photo(_) => Some("photo"),
        DeviceMessage::MenuRecord(_) => Some("dish_record"),
        _ => None,
    }
}

/// Where and for whom an upload is stored.
#[derive(Clone)]
struct UploadTarget {
    store: Store,
    terminal_id: i64,
    device: String,
}

impl UploadTarget {
    /// One attempt at storing `message`.
    fn store(&self, message: DeviceMessage) -> Stored {
        let t = self.clone();
        match message {
            DeviceMessage::Notice(n) => Box::pin(store_notice(t.store, t.terminal_id, n)),
            DeviceMessage::Photo(p) => Box::pin(store_photo(t.store, t.terminal_id, t.device, p)),
            DeviceMessage::MenuRecord(r) => {
                Box::pin(store_dish_record(t.store, t.terminal_id, t.device, r))
            }
            _ => Box::pin(async { Err(UploadError::Refused("not an upload")) }),
        }
    }

    /// Stores `message`, retrying storage failures after [`STORE_RETRY_DELAYS_MS`]; returns
    /// the metric outcome, `None` when it could not be stored.
    async fn store_with_retries(
        &self,
        kind: &'static str,
        message: DeviceMessage,
    ) -> Option<&'static str> {
        let mut delays = STORE_RETRY_DELAYS_MS.iter();
        loop {
            let error = match self.store(message.clone()).await {
                Ok(true) => return Some("stored"),
                Ok(false) => return Some("duplicate"),
                Err(e) => e,
            };
            // No payload, no user id: the device, the kind and the reason.
            let device = &self.device;
            if let UploadError::Refused(_) = error {
                tracing::warn!(device = %device, kind, error = %error, "MQTT upload refused");
                return Some("refused");
            }
            let Some(delay) = delays.next() else {
                tracing::error!(device = %device, kind, error = %error, "MQTT upload not stored after its retries");
                return None;
            };
            tracing::warn!(device = %device, kind, error = %error, retry_in_ms = delay, "MQTT upload not stored, retrying");
            metrics::counter!("posgate_mqtt_uploads_total", "kind" => kind, "outcome" => "retried")
                .increment(1);
            tokio::time::sleep(std::time::Duration::from_millis(*delay)).await;
        }
    }
}

impl TerminalActor {
    /// Stores a `message`, `frame_imgup` or `menu_rec` upload of `state`'s terminal, then
    /// sends the (empty) reply: only once it is stored (or refused for good). An upload that
    /// could not be stored gets no reply at all, which tells the adapter to leave the
    /// broker's message unacknowledged. Other messages are answered at once with no reply.
    pub(super) fn upload(
        &mut self,
        ctx: &mut Context<Self>,
        state: TerminalState,
        message: DeviceMessage,
        reply: oneshot::Sender<MqttReply>,
    ) {
        let Some(kind) = upload_kind(&message) else {
            let _ = reply.send(None);
            return;
        };
        let target = UploadTarget {
            store: self.deps.store.clone(),
            terminal_id: state.terminal.id,
            device: state.terminal.code,
        };
        ctx.spawn(
            async move {
                let outcome = target.store_with_retries(kind, message).await;
                metrics::counter!("posgate_mqtt_uploads_total", "kind" => kind, "outcome" => outcome.unwrap_or("failed"))
                    .increment(1);
                if outcome.is_some() {
                    let _ = reply.send(None);
                }
            }
            .into_actor(self),
        );
    }
}

async fn store_notice(
    store: Store,
    terminal_id: i64,
    notice: DeviceNotice,
) -> Result<bool, UploadError> {
    let row = NewNotice {
        terminal_id,
        user_id: notice.user.as_str().to_string(),
        time: notice.time.to_string(),
        kind: notice.kind.as_str().to_string(),
        param: notice.param,
    };
    let now = now_ms();
    Ok(store
        .transaction(move |db| Box::pin(async move { uploads::insert_notice(db, &row, now).await }))
        .await?)
}

async fn store_dish_record(
    store: Store,
    terminal_id: i64,
    device: String,
    record: MenuRecord,
) -> Result<bool, UploadError> {
    let pos_num =
        i64::try_from(record.pos_num).map_err(|_| UploadError::Refused("posNum out of range"))?;
    let row = NewDishRecord {
        terminal_id,
        pos_num,
        consumption_key: format!("mqtt:{device}:{}", record.pos_num),
        pay_time: record.pay_time.to_string(),
        group: i64::from(record.group),
        lines: record
            .lines
            .into_iter()
            .map(|l| DishLine {
                id: l.id,
                num: i64::from(l.quantity),
            })
            .collect(),
    };
    let now = now_ms();
    Ok(store
        .transaction(move |db| {
            Box::pin(async move { uploads::insert_dish_record(db, &row, now).await })
        })
        .await?)
}

async fn store_photo(
    store: Store,
    terminal_id: i64,
    device: String,
    photo: PhotoUpload,
) -> Result<bool, UploadError> {
    let row = NewPhoto {
        terminal_id,
        img_path: photo.img_path.as_str().to_string(),
        file_path: format!("{device}/{}", photo.img_path.as_str()),
        bytes: i64::try_from(photo.photo.len()).unwrap_or(i64::MAX),
        sha256: hex::encode(Sha256::digest(&photo.photo)),
        content: photo.photo,
    };
    let now = now_ms();
    Ok(store
        .transaction(move |db| Box::pin(async move { uploads::upsert_photo(db, &row, now).await }))
        .await?)
}
