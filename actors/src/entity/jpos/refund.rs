//! Refund (退货) across batches, partial or whole, and refund cancel (退货撤销).

use super::*;

impl Flow {
    pub(super) async fn refund(
        &self,
        trace: JposTrace,
        card: JposCard,
        ori_serial_no: String,
        ori_date: String,
        point: Option<i64>,
        cash: Option<i64>,
    ) -> Result<JposAnswer, JposStatus> {
        self.require_batch(trace.batch_no).await?;
        if let Some(row) = self.find(trace, ROLE_REQUEST).await? {
            return match self.existing(row) {
                Plan::Answer(answer) => Ok(answer),
                Plan::Execute(row) => Ok(self.execute_refund(*row).await),
            };
        }
        let mut row = self.new_row(trace, ROLE_REQUEST, "refund", &card);
        row.ledger_key = Some(self.ledger_key(trace));
        let (account, mut row) = match self.card_account(row, &card).await? {
            Ok(found) => found,
            Err(refused) => return Ok(refused),
        };
        let consume = match ori_serial_no.parse::<i64>() {
            Ok(id) if id > 0 => self.get(id).await?,
            _ => None,
        };
        let refusal = match &consume {
            None => Some(JposStatus::OriginalNotFound),
            Some(o) if o.business_date != ori_date || o.role != ROLE_REQUEST => {
                Some(JposStatus::OriginalNotFound)
            }
            Some(o) => Self::check_original(o, "consume", &card, None),
        };
        if let Some(code) = refusal {
            return Ok(self.answer(self.insert_refused(row, code).await));
        }
        let consume = consume.unwrap_or_default();
        let left_point = consume.point_amount - consume.refunded_point;
        let left_cash = consume.cash_amount - consume.refunded_cash;
        let (point, cash) = match (point, cash) {
            (None, None) => (left_point, left_cash),
            (point, cash) => (point.unwrap_or(0), cash.unwrap_or(0)),
        };
        if point > left_point || cash > left_cash {
            return Ok(self.answer(
                self.insert_refused(row, JposStatus::OriginalAmountIncorrect)
                    .await,
            ));
        }
        if point + cash == 0 {
            return Ok(self.answer(
                self.insert_refused(row, JposStatus::InvalidTransaction)
                    .await,
            ));
        }
        // Granted points go back in proportion, cumulatively, so a full refund in parts
        // takes back exactly what was granted.
        let total = i128::from(consume.point_amount + consume.cash_amount);
        let refunded_after =
            i128::from(consume.refunded_point + consume.refunded_cash + point + cash);
        let target = i128::from(consume.persent_point) * refunded_after / total.max(1);
        let back = i64::try_from(target).unwrap_or(0) - consume.refunded_persent;
        // Granted points the card no longer holds are paid back in cash (补现金额).
        let (balances, _, _) = self.account_view(account).await?;
        let holdable = (balances.points + point).max(0);
        let take = back.clamp(0, holdable);
        row.original_id = Some(consume.id);
        row.original_key = consume.ledger_key.clone();
        row.point_amount = point;
        row.cash_amount = cash;
        row.persent_point = back.max(0);
        row.supply_cash = back.max(0) - take;
        let claim = Claim::Refund {
            consume: consume.id,
            point,
            cash,
            persent: row.persent_point,
        };
        match self.insert_claiming(row, claim).await? {
            Plan::Answer(answer) => Ok(answer),
            Plan::Execute(row) => Ok(self.execute_refund(*row).await),
        }
    }

    pub(super) async fn execute_refund(&self, row: TransRow) -> JposAnswer {
        let now = self.call.now_ms;
        let account = row.account_id.unwrap_or_default();
        let key = row.ledger_key.clone().unwrap_or_default();
        if row.point_amount > 0 {
            let refund = Operation::Refund {
                original_key: row.original_key.clone().unwrap_or_default(),
                amount: row.point_amount,
            };
            match self.post_checked(self.request(&key, account, refund)).await {
                Ok(_) => {}
                Err(code @ (JposStatus::IssuerUnavailable | JposStatus::SystemBusy)) => {
                    return JposAnswer::refuse(code, now)
                }
                Err(code) => return self.refuse_releasing(&row, code).await,
            }
        }
        let mut supply = row.supply_cash;
        let take = row.persent_point - row.supply_cash;
        if take > 0 {
            let debit = Operation::Debit {
                amount: take,
                sources: vec![Asset::Points],
                discount: false,
                limits: LimitPolicy::None,
                overdraft: false,
                award_points: 0,
            };
            match self
                .post(self.request(&format!("{key}:award"), account, debit))
                .await
            {
                Ok(outcome) if outcome.is_posted() => {}
                // Spent meanwhile (another terminal): the cardholder pays it in cash.
                Ok(_) => supply = row.persent_point,
                Err(code) => return JposAnswer::refuse(code, now),
            }
        }
        let (balances, active, _) = match self.account_view(account).await {
            Ok(view) => view,
            Err(code) => return JposAnswer::refuse(code, now),
        };
        let Some(trans_time) = TransTime::from_unix_millis(row.trans_time_ms) else {
            return JposAnswer::refuse(JposStatus::IssuerUnavailable, now);
        };
        let answer = JposAnswer::of(&RefundReply {
            trans_time,
            serial_no: serial(&row),
            point_balance: Fen(balances.points),
            available_point_balance: Fen(available(&balances, active)),
            return_point: Fen(row.point_amount),
            return_persent_point: Fen(row.persent_point),
            return_cash: Fen(row.cash_amount),
            supply_cash: Fen(supply),
        });
        // The refunded figures were claimed on the consume with this row.
        let id = row.id;
        self.complete(&row, answer, move |db| {
            Box::pin(async move {
                if supply != 0 {
                    db.execute(
                        "UPDATE jpos_trans SET supply_cash = $2 WHERE id = $1",
                        &[id.into(), supply.into()],
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .await
    }

    pub(super) async fn refund_cancel(
        &self,
        trace: JposTrace,
        card: JposCard,
        ori_serial_no: String,
        original: JposTrace,
        ori_trans_time_ms: i64,
    ) -> Result<JposAnswer, JposStatus> {
        self.require_batch(trace.batch_no).await?;
        if let Some(row) = self.find(trace, ROLE_REQUEST).await? {
            return match self.existing(row) {
                Plan::Answer(answer) => Ok(answer),
                Plan::Execute(row) => Ok(self.execute_refund_cancel(*row).await),
            };
        }
        let mut row = self.new_row(trace, ROLE_REQUEST, "refund_cancel", &card);
        row.ledger_key = Some(self.ledger_key(trace));
        let (_, mut row) = match self.card_account(row, &card).await? {
            Ok(found) => found,
            Err(refused) => return Ok(refused),
        };
        let refund = self.find(original, ROLE_REQUEST).await?;
        let refusal = match &refund {
            None => Some(JposStatus::OriginalNotFound),
            Some(r) if ori_serial_no.parse::<i64>().ok() != Some(r.id) => {
                Some(JposStatus::OriginalNotFound)
            }
            Some(r) => Self::check_original(r, "refund", &card, Some(ori_trans_time_ms)),
        };
        if let Some(code) = refusal {
            return Ok(self.answer(self.insert_refused(row, code).await));
        }
        let refund = refund.unwrap_or_default();
        row.original_id = Some(refund.id);
        row.original_key = refund.ledger_key.clone();
        row.point_amount = refund.point_amount;
        row.cash_amount = refund.cash_amount;
        row.persent_point = refund.persent_point - refund.supply_cash;
        let claim = Claim::Void {
            original: refund.id,
        };
        match self.insert_claiming(row, claim).await? {
            Plan::Answer(answer) => Ok(answer),
            Plan::Execute(row) => Ok(self.execute_refund_cancel(*row).await),
        }
    }

    pub(super) async fn execute_refund_cancel(&self, row: TransRow) -> JposAnswer {
        let now = self.call.now_ms;
        let account = row.account_id.unwrap_or_default();
        let key = row.ledger_key.clone().unwrap_or_default();
        let refund_key = row.original_key.clone().unwrap_or_default();
        let mut voids = Vec::new();
        if row.point_amount > 0 {
            voids.push((key.clone(), refund_key.clone()));
        }
        if row.persent_point > 0 {
            voids.push((format!("{key}:award"), format!("{refund_key}:award")));
        }
        for (own, original_key) in voids {
            let void = Operation::Void {
                original_key,
                kind: VoidKind::Cancel,
            };
            match self.post_checked(self.request(&own, account, void)).await {
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
        let refund_id = row.original_id.unwrap_or_default();
        self.complete(&row, answer, move |db| {
            Box::pin(async move {
                let now = now_ms();
                let Some(refund) = store_jpos::get_trans(db, refund_id).await? else {
                    return Ok(());
                };
                store_jpos::set_voided(db, refund_id, CANCELLED, now).await?;
                give_back_refund(db, &refund).await
            })
        })
        .await
    }
}
