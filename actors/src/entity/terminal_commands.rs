//! Server-to-device commands carried by a consumption machine's terminal actor: recorded,
//! published on `{prefix}/pos/{deviceId}/api`, and matched with the device's acknowledgement
//! (`sAckId` on `api_ret`).

use super::terminal::TerminalActor;
use super::{EntityError, TerminalState};
use crate::mailbox::Ask;
use crate::store::commands::{self, DeviceCommand, NewCommand};
use actix::prelude::*;
use posgate_protocols::mqtt_pos::CommandAck;

/// Send an encoded command to this terminal's device.
#[derive(Clone, Debug)]
pub struct SendCommand {
    /// The spec's api name, for the record.
    pub api: String,
    /// The encoded command message (inline or `cmdDataUrl` form).
    pub payload: Vec<u8>,
    /// `sAckId` inside the payload, when an acknowledgement is asked for.
    pub ack_id: Option<String>,
    /// `inline` or `url`.
    pub delivery: &'static str,
    /// Size of the command document.
    pub document_bytes: i64,
    /// Acknowledgement deadline, unix ms.
    pub expires_at_ms: i64,
}

/// Reply to a [`SendCommand`].
pub type SendCommandReply = Result<DeviceCommand, EntityError>;

impl Handler<Ask<SendCommand, SendCommandReply>> for TerminalActor {
    type Result = ();

    fn handle(&mut self, msg: Ask<SendCommand, SendCommandReply>, ctx: &mut Context<Self>) {
        self.life.touch();
        let Ask { query, reply } = msg;
        let state = match self.mqtt_terminal() {
            Ok(state) => state,
            Err(e) => {
                let _ = reply.send(Err(e));
                self.stop_if_failed(ctx);
                return;
            }
        };
        let Some(publisher) = self.deps.publisher.get().cloned() else {
            let _ = reply.send(Err(EntityError::Store("MQTT is not enabled".into())));
            return;
        };
        let store = self.deps.store.clone();
        let device = state.terminal.code.clone();
        let terminal_id = state.terminal.id;
        // Recorded, then published, before the next message of this terminal is handled.
        ctx.wait(
            async move {
                let now = crate::store::now_ms();
                let record = store
                    .transaction(move |db| {
                        Box::pin(async move {
                            commands::insert(
                                db,
                                &NewCommand {
                                    terminal_id,
                                    api: &query.api,
                                    ack_id: query.ack_id.as_deref(),
                                    delivery: query.delivery,
                                    payload_bytes: query.document_bytes,
                                    now_ms: now,
                                    expires_at_ms: query.expires_at_ms,
                                },
                            )
                            .await
                            .map(|record| (record, query.payload))
                        })
                    })
                    .await;
                match record {
                    Ok((record, payload)) => publisher
                        .to_device(&device, payload)
                        .await
                        .map(|()| record)
                        .map_err(EntityError::Store),
                    Err(e) => Err(EntityError::from(e)),
                }
            }
            .into_actor(self)
            .map(move |result, _, _| {
                let _ = reply.send(result);
            }),
        );
    }
}

impl TerminalActor {
    /// Records a device's acknowledgement of a command.
    pub(super) fn acknowledge(
        &mut self,
        ctx: &mut Context<Self>,
        state: TerminalState,
        ack: CommandAck,
    ) {
        let store = self.deps.store.clone();
        let terminal_id = state.terminal.id;
        ctx.spawn(
            async move {
                let now = crate::store::now_ms();
                let matched = store
                    .transaction(move |db| {
                        Box::pin(async move {
                            commands::acknowledge(
                                db,
                                terminal_id,
                                ack.ack_id.as_str(),
                                ack.code,
                                ack.message.as_deref(),
                                ack.data.as_deref(),
                                now,
                            )
                            .await
                        })
                    })
                    .await;
                let outcome = match matched {
                    Ok(true) => "matched",
                    Ok(false) => "unmatched",
                    Err(e) => {
                        tracing::warn!(terminal = terminal_id, error = %e, "could not record a command acknowledgement");
                        "error"
                    }
                };
                metrics::counter!("posgate_mqtt_command_acks_total", "outcome" => outcome).increment(1);
            }
            .into_actor(self),
        );
    }
}
