//! SMS verification codes (发送验证码) and card activation (卡激活).

use super::*;
use crate::store::capabilities::Capability;

impl Flow {
    /// Stores a new code's digest if the terminal is checked in and every cap allows: the
    /// number's resend interval and hourly count, its wrong tries this hour (they survive a
    /// resend), the terminal's hourly count and the hourly count of all terminals (`65`).
    pub(super) async fn send_verify_code(
        &self,
        mobile_no: String,
        batch_no: Option<BatchNo>,
        code_digest: String,
        limits: VerifyCodeLimits,
    ) -> Result<JposAnswer, JposStatus> {
        let now = self.call.now_ms;
        let (terminal_id, terminal_key) = (self.terminal_id(), self.key.clone());
        let refused = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let state = store_jpos::batch_state(db, terminal_id).await?;
                    let checked_in = state.is_some_and(|s| {
                        s.checked_in && batch_no.is_none_or(|b| b.get() == s.batch_no)
                    });
                    if !checked_in {
                        return Ok(Some(JposStatus::NotCheckedIn));
                    }
                    let previous = store_jpos::verify_code(db, &mobile_no).await?;
                    let code = match next_code(previous.as_ref(), code_digest, &limits, now) {
                        Ok(code) => code,
                        Err(status) => return Ok(Some(status)),
                    };
                    if !take_sms_quota(db, &terminal_key, &limits, now).await? {
                        return Ok(Some(JposStatus::ExceedsFrequencyLimit));
                    }
                    store_jpos::put_verify_code(db, &mobile_no, &code).await?;
                    Ok(None)
                })
            })
            .await
            .map_err(|e| store_code(&e))?;
        match refused {
            None => Ok(JposAnswer {
                status: JposStatus::Approved,
                body: StatusReply::new(JposStatus::Approved).to_json(),
            }),
            Some(status) => Err(status),
        }
    }

    /// `58` unless an operator granted the terminal `capability`.
    fn require_capability(&self, capability: Capability) -> Result<(), JposStatus> {
        if self.state.grant(capability).is_some() {
            return Ok(());
        }
        metrics::counter!("posgate_jpos_capability_refusals_total",
            "capability" => capability.as_str())
        .increment(1);
        Err(JposStatus::NotPermittedToTerminal)
    }

    pub(super) async fn card_activate(
        &self,
        trace: JposTrace,
        card: JposCard,
        mobile_no: String,
        code_digest: String,
        id_type: String,
        attempts_max: i64,
    ) -> Result<JposAnswer, JposStatus> {
        // Activation makes a card spendable: only where an operator granted it.
        self.require_capability(Capability::CardActivation)?;
        self.require_batch(trace.batch_no).await?;
        if let Some(row) = self.find(trace, ROLE_REQUEST).await? {
            return match self.existing(row) {
                Plan::Answer(answer) => Ok(answer),
                Plan::Execute(_) => Err(JposStatus::IssuerUnavailable),
            };
        }
        let row = self.new_row(trace, ROLE_REQUEST, "card_active", &card);
        // A blocked card (or frozen account) is not activated: restricted card.
        let (account, row) = match self
            .card_account_or(row, &card, JposStatus::RestrictedCard)
            .await?
        {
            Ok(found) => found,
            Err(refused) => return Ok(refused),
        };
        let now = self.call.now_ms;
        let hmac = card.hmac.clone().unwrap_or_default();
        self.deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let stored = store_jpos::verify_code(db, &mobile_no).await?;
                    let status = match stored {
                        None => JposStatus::ResponseTooLate,
                        Some(c) if now >= c.expires_at_ms => JposStatus::ResponseTooLate,
                        Some(c) if c.attempts >= attempts_max => JposStatus::PinTriesExceededAlt,
                        Some(c)
                            if !constant_time_eq(
                                c.code_digest.as_bytes(),
                                code_digest.as_bytes(),
                            ) =>
                        {
                            store_jpos::count_attempt(db, &mobile_no).await?;
                            JposStatus::IncorrectPassword
                        }
                        Some(_) => {
                            store_jpos::spend_verify_code(db, &mobile_no).await?;
                            if store_jpos::activate_card(
                                db, &hmac, account, &mobile_no, &id_type, now,
                            )
                            .await?
                            {
                                JposStatus::Approved
                            } else {
                                JposStatus::InvalidTransaction
                            }
                        }
                    };
                    insert_answered(db, row, status, None, |row| {
                        Some(
                            CardActivateReply {
                                serial_no: serial(row),
                                trans_time: TransTime::from_unix_millis(row.trans_time_ms)?,
                            }
                            .to_json(),
                        )
                    })
                    .await
                })
            })
            .await
            .map_err(|e| store_code(&e))
    }
}

const HOUR_MS: i64 = 3_600_000;

/// The code to store for a new send after `previous`, or why none may be sent: `65` within
/// the resend interval or past the number's hourly count, `75` when the wrong tries of this
/// hour are used up (a resend does not reset them).
fn next_code(
    previous: Option<&store_jpos::VerifyCode>,
    code_digest: String,
    limits: &VerifyCodeLimits,
    now: i64,
) -> Result<store_jpos::VerifyCode, JposStatus> {
    let (window_start_ms, window_sends, attempts) = match previous {
        Some(p) if now - p.sent_at_ms < limits.resend_ms => {
            return Err(JposStatus::ExceedsFrequencyLimit)
        }
        Some(p) if now - p.window_start_ms < HOUR_MS => {
            if p.window_sends >= limits.per_number_hour_max {
                return Err(JposStatus::ExceedsFrequencyLimit);
            }
            if p.attempts >= limits.attempts_max {
                return Err(JposStatus::PinTriesExceededAlt);
            }
            (p.window_start_ms, p.window_sends + 1, p.attempts)
        }
        _ => (now, 1, 0),
    };
    Ok(store_jpos::VerifyCode {
        code_digest,
        expires_at_ms: now.saturating_add(limits.ttl_ms),
        attempts,
        sent_at_ms: now,
        window_start_ms,
        window_sends,
    })
}

/// Counts one send against the hourly caps of the terminal and of all terminals; false
/// (nothing counted) when either is reached.
async fn take_sms_quota(
    db: &dyn Db,
    terminal_key: &str,
    limits: &VerifyCodeLimits,
    now: i64,
) -> Result<bool, StoreError> {
    let hour = now / HOUR_MS;
    if !store_jpos::take_sms_quota(db, "*", hour, limits.total_hour_max).await? {
        return Ok(false);
    }
    if store_jpos::take_sms_quota(db, terminal_key, hour, limits.per_terminal_hour_max).await? {
        return Ok(true);
    }
    store_jpos::give_back_sms_quota(db, "*", hour).await?;
    Ok(false)
}
