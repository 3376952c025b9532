//! The pending-row sweeper's rules, run inside the terminal's actor (so, on a replica, in
//! turn with the terminal's own requests): a row still `pending` after
//! `jpos.pending_resolve_after_seconds` is resolved the way the terminal itself would have
//! finished it, whichever replica's sweeper claimed it (the claim is in the database,
//! [`store_jpos::claim_sweep`]):
//!
//! - a consume or a cancel (interfaces with a 冲正) is **reversed**, as the terminal's
//!   reversal would: a reversal row with the original's fingerprint is recorded (a later
//!   reversal from the terminal is its retry and gets its answer) and the original is
//!   answered `12`;
//! - a refund or a refund cancel (no 冲正 in the spec) is **completed**, as the terminal's
//!   retry would: the postings under its keys are made (or read back) and the reply stored;
//! - a pending reversal is completed (a reversal always completes);
//! - anything else is answered `98` (timed out).
//!
//! The row is then marked `resolved_by = sweeper` for the admin API.

use super::*;

/// What the sweeper did with a row: the `outcome` label of
/// `posgate_pending_resolved_total` (an empty answer: a request finished the row first).
pub const OUTCOMES: [&str; 4] = ["reversed", "completed", "refused", "unresolved"];

impl Flow {
    pub(super) async fn resolve_pending(&self, id: i64) -> Result<JposAnswer, JposStatus> {
        // Gone, or finished by a request meanwhile: nothing for the sweeper to record.
        let Some(row) = self.get(id).await?.filter(|r| r.status == STATUS_PENDING) else {
            return Ok(outcome(""));
        };
        match (row.role.as_str(), row.endpoint.as_str()) {
            (ROLE_REVERSAL, _) => {
                self.execute_reversal(row.clone()).await;
            }
            (_, "consume" | "cancel") => self.sweep_reverse(&row).await?,
            (_, "refund") => {
                self.execute_refund(row.clone()).await;
            }
            (_, "refund_cancel") => {
                self.execute_refund_cancel(row.clone()).await;
            }
            _ => {
                self.complete_refused(&row, JposStatus::IssuerTimeout).await;
            }
        }
        let after = self.get(id).await?.unwrap_or(row);
        Ok(outcome(self.mark_resolved(&after).await?))
    }

    /// Records the reversal the terminal would have sent for `original`, and runs it.
    async fn sweep_reverse(&self, original: &TransRow) -> Result<(), JposStatus> {
        let key = format!(
            "{}:{}:{}",
            original.terminal_key, original.batch_no, original.trace_no
        );
        let rev = TransRow {
            terminal_key: original.terminal_key.clone(),
            batch_no: original.batch_no.clone(),
            trace_no: original.trace_no.clone(),
            role: ROLE_REVERSAL.to_string(),
            endpoint: original.endpoint.clone(),
            fingerprint: original.fingerprint.clone(),
            status: STATUS_PENDING.to_string(),
            account_id: original.account_id,
            card_hmac: original.card_hmac.clone(),
            card_masked: original.card_masked.clone(),
            ledger_key: Some(format!("{key}:reversal")),
            original_id: Some(original.id),
            original_key: original.ledger_key.clone(),
            business_date: self.call.business_date.format("%Y-%m-%d").to_string(),
            trans_time_ms: self.call.now_ms,
            ..TransRow::default()
        };
        if let Plan::Execute(rev) = self.insert(rev).await? {
            self.execute_reversal(*rev).await;
        }
        Ok(())
    }

    /// Marks a row no longer pending as resolved by the sweeper; its outcome label.
    async fn mark_resolved(&self, row: &TransRow) -> Result<&'static str, JposStatus> {
        if row.status == STATUS_PENDING {
            return Ok("unresolved");
        }
        let id = row.id;
        self.deps
            .store
            .transaction(move |db| {
                Box::pin(async move { store_jpos::mark_resolved(db, id, now_ms()).await })
            })
            .await
            .map_err(|e| store_code(&e))?;
        Ok(if row.voided == REVERSED {
            "reversed"
        } else if row.role == ROLE_REVERSAL || row.response_code.as_deref() == Some("00") {
            "completed"
        } else {
            "refused"
        })
    }
}

fn outcome(label: &'static str) -> JposAnswer {
    JposAnswer {
        status: JposStatus::Approved,
        body: label.to_string(),
    }
}
