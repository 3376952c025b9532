//! Cancel (撤销) of a consume in its batch.

use super::*;

impl Flow {
    pub(super) async fn cancel(
        &self,
        trace: JposTrace,
        card: JposCard,
        original: JposTrace,
        ori_trans_time_ms: i64,
    ) -> Result<JposAnswer, JposStatus> {
        self.require_batch(trace.batch_no).await?;
        if let Some(row) = self.find(trace, ROLE_REQUEST).await? {
            return match self.existing(row) {
                Plan::Answer(answer) => Ok(answer),
                Plan::Execute(row) => Ok(self.execute_cancel(*row).await),
            };
        }
        let mut row = self.new_row(trace, ROLE_REQUEST, "cancel", &card);
        row.ledger_key = Some(self.ledger_key(trace));
        let (_, mut row) = match self.card_account(row, &card).await? {
            Ok(found) => found,
            Err(refused) => return Ok(refused),
        };
        // A cancel (撤销) names a consume of the current batch.
        let consume = if original.batch_no == trace.batch_no {
            self.find(original, ROLE_REQUEST).await?
        } else {
            None
        };
        let refusal = match &consume {
            None => Some(JposStatus::OriginalNotFound),
            Some(o) => Self::check_original(o, "consume", &card, Some(ori_trans_time_ms)),
        };
        if let Some(code) = refusal {
            return Ok(self.answer(self.insert_refused(row, code).await));
        }
        let consume = consume.unwrap_or_default();
        if consume.refunded_point + consume.refunded_cash > 0 {
            return Ok(self.answer(
                self.insert_refused(row, JposStatus::InvalidTransaction)
                    .await,
            ));
        }
        row.original_id = Some(consume.id);
        row.original_key = consume.ledger_key.clone();
        row.point_amount = consume.point_amount;
        row.cash_amount = consume.cash_amount;
        row.persent_point = consume.persent_point;
        row.ticket_amount = consume.ticket_amount;
        row.ticket_lines = consume.ticket_lines.clone();
        let claim = Claim::Void {
            original: consume.id,
        };
        match self.insert_claiming(row, claim).await? {
            Plan::Answer(answer) => Ok(answer),
            Plan::Execute(row) => Ok(self.execute_cancel(*row).await),
        }
    }

    /// Why `original` cannot be cancelled or refunded by this card, if it cannot.
    pub(super) fn check_original(
        original: &TransRow,
        endpoint: &str,
        card: &JposCard,
        trans_time_ms: Option<i64>,
    ) -> Option<JposStatus> {
        let same_card = card.hmac.is_some() && original.card_hmac == card.hmac;
        let approved =
            original.status == STATUS_DONE && original.response_code.as_deref() == Some("00");
        // `oriTransTime` may come back in seconds: compare at second precision.
        let same_time = trans_time_ms.is_none_or(|ms| ms / 1000 == original.trans_time_ms / 1000);
        if original.endpoint != endpoint || !approved || !same_card || !same_time {
            return Some(JposStatus::OriginalNotFound);
        }
        match original.voided {
            STANDING => None,
            _ => Some(JposStatus::InvalidTransaction),
        }
    }

    pub(super) async fn execute_cancel(&self, row: TransRow) -> JposAnswer {
        let now = self.call.now_ms;
        let account = row.account_id.unwrap_or_default();
        if Self::consume_op(row.point_amount, row.persent_point).is_some() {
            let void = Operation::Void {
                original_key: row.original_key.clone().unwrap_or_default(),
                kind: VoidKind::Cancel,
            };
            let key = row.ledger_key.clone().unwrap_or_default();
            match self.post_checked(self.request(&key, account, void)).await {
                Ok(_) => {}
                Err(code @ (JposStatus::IssuerUnavailable | JposStatus::SystemBusy)) => {
                    return JposAnswer::refuse(code, now)
                }
                Err(code) => return self.refuse_releasing(&row, code).await,
            }
        }
        let answer = match self
            .points_reply(&row, row.point_amount, row.persent_point)
            .await
        {
            Ok(answer) => answer,
            Err(code) => return JposAnswer::refuse(code, now),
        };
        let consume = row.original_id.unwrap_or_default();
        let vouchers = row.clone();
        self.complete(&row, answer, move |db| {
            Box::pin(async move {
                store_jpos::set_voided(db, consume, CANCELLED, now_ms()).await?;
                // The cancelled consume's vouchers go back to the card.
                move_lines(db, &vouchers, 1).await
            })
        })
        .await
    }

    pub(super) async fn points_reply(
        &self,
        row: &TransRow,
        use_point: i64,
        persent_point: i64,
    ) -> Result<JposAnswer, JposStatus> {
        let (balances, active, _) = self
            .account_view(row.account_id.unwrap_or_default())
            .await?;
        Ok(JposAnswer::of(&PointsReply {
            trans_time: TransTime::from_unix_millis(row.trans_time_ms)
                .ok_or(JposStatus::IssuerUnavailable)?,
            serial_no: serial(row),
            point_balance: Fen(balances.points),
            available_point_balance: Fen(available(&balances, active)),
            use_point: Fen(use_point),
            persent_point: Fen(persent_point),
        }))
    }
}
