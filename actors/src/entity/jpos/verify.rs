//! SMS verification codes (发送验证码) and card activation (卡激活).

use super::*;

impl Flow {
    pub(super) async fn send_verify_code(
        &self,
        mobile_no: String,
        code_digest: String,
        ttl_ms: i64,
        resend_ms: i64,
        sends_per_hour_max: i64,
    ) -> Result<JposAnswer, JposStatus> {
        let now = self.call.now_ms;
        let allowed = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let previous = store_jpos::verify_code(db, &mobile_no).await?;
                    let (window_start_ms, window_sends) = match &previous {
                        Some(p) if now - p.sent_at_ms < resend_ms => return Ok(false),
                        Some(p) if now - p.window_start_ms < HOUR_MS => {
                            if p.window_sends >= sends_per_hour_max {
                                return Ok(false);
                            }
                            (p.window_start_ms, p.window_sends + 1)
                        }
                        _ => (now, 1),
                    };
                    let code = store_jpos::VerifyCode {
                        code_digest,
                        expires_at_ms: now.saturating_add(ttl_ms),
                        attempts: 0,
                        sent_at_ms: now,
                        window_start_ms,
                        window_sends,
                    };
                    store_jpos::put_verify_code(db, &mobile_no, &code).await?;
                    Ok(true)
                })
            })
            .await
            .map_err(|e| store_code(&e))?;
        if allowed {
            Ok(JposAnswer {
                status: JposStatus::Approved,
                body: StatusReply::new(JposStatus::Approved).to_json(),
            })
        } else {
            Err(JposStatus::ExceedsFrequencyLimit)
        }
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
        self.require_batch(trace.batch_no).await?;
        if let Some(row) = self.find(trace, ROLE_REQUEST).await? {
            return match self.existing(row) {
                Plan::Answer(answer) => Ok(answer),
                Plan::Execute(_) => Err(JposStatus::IssuerUnavailable),
            };
        }
        let row = self.new_row(trace, ROLE_REQUEST, "card_active", &card);
        let (account, row) = match self.card_account(row, &card).await? {
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
