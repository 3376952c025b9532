//! Consume (消费) and the reversals (冲正) of consumes and cancels.

use super::*;

impl Flow {
    /// A consume: batch check, trace lookup, card, earn rule and journal row in one store
    /// transaction; then the ledger posting; then balances and the reply in one more.
    pub(super) async fn consume(
        &self,
        trace: JposTrace,
        card: JposCard,
        point: i64,
        cash: i64,
        vouchers: Vec<(u64, u32)>,
        register_trace: Option<String>,
    ) -> Result<JposAnswer, JposStatus> {
        let mut row = self.new_row(trace, ROLE_REQUEST, "consume", &card);
        row.ledger_key = Some(self.ledger_key(trace));
        row.point_amount = point;
        row.cash_amount = cash;
        row.register_trace = register_trace;
        let (terminal_id, merchant) = (self.terminal_id(), self.merchant_id());
        let batch = trace.batch_no.get();
        let prepared = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let state = store_jpos::batch_state(db, terminal_id).await?;
                    if !state.is_some_and(|s| s.checked_in && s.batch_no == batch) {
                        return Ok(Err(JposStatus::NotCheckedIn));
                    }
                    let (key, batch_no, trace_no) = (
                        row.terminal_key.clone(),
                        row.batch_no.clone(),
                        row.trace_no.clone(),
                    );
                    if let Some(existing) =
                        store_jpos::find_trans(db, &key, &batch_no, &trace_no, ROLE_REQUEST).await?
                    {
                        return Ok(Ok(Ok(existing)));
                    }
                    let refusal = match lookup_card(db, &card, merchant).await? {
                        CardLookup::Unknown => Some(JposStatus::InvalidCardNumber),
                        CardLookup::Blocked => Some(JposStatus::NotPermittedToCardholder),
                        CardLookup::Account(id) => {
                            row.account_id = Some(id);
                            if point == 0 && cash == 0 && vouchers.is_empty() {
                                Some(JposStatus::InvalidAmount)
                            } else {
                                None
                            }
                        }
                    };
                    if let Some(code) = refusal {
                        return insert_answered(db, row, code, None, |_| None)
                            .await
                            .map(|answer| Ok(Err(answer)));
                    }
                    // Vouchers are the card's type 03 tickets: all there, or refused.
                    let lines: Vec<(i64, String, i64)> = vouchers
                        .iter()
                        .map(|(id, num)| {
                            let id = i64::try_from(*id).unwrap_or(i64::MAX);
                            (id, VOUCHER_TYPE.to_string(), i64::from(*num))
                        })
                        .collect();
                    if !lines.is_empty() {
                        let account = row.account_id.unwrap_or_default();
                        match face_value(db, account, &lines).await? {
                            Some(amount) => {
                                row.ticket_amount = amount;
                                row.ticket_lines = Some(serde_json::json!(lines).to_string());
                            }
                            None => {
                                return insert_answered(
                                    db,
                                    row,
                                    JposStatus::InsufficientFunds,
                                    None,
                                    |_| None,
                                )
                                .await
                                .map(|answer| Ok(Err(answer)))
                            }
                        }
                    }
                    let rules = store_jpos::rules(db, merchant).await?;
                    row.persent_point = earned_points(cash, rules.earn_rate_bp);
                    let inserted = match store_jpos::insert_trans(db, &row, now_ms()).await? {
                        Some(inserted) => {
                            // Taken with the row that records them, or not at all.
                            move_lines(db, &inserted, -1).await?;
                            inserted
                        }
                        None => {
                            store_jpos::find_trans(db, &key, &batch_no, &trace_no, ROLE_REQUEST)
                                .await?
                                .ok_or_else(|| StoreError::Conflict("jpos row vanished".into()))?
                        }
                    };
                    Ok(Ok(Ok(inserted)))
                })
            })
            .await
            .map_err(|e| store_code(&e))?;
        match prepared? {
            Err(answer) => Ok(answer),
            Ok(row) => match self.existing(row) {
                Plan::Answer(answer) => Ok(answer),
                Plan::Execute(row) => Ok(self.execute_consume(*row).await),
            },
        }
    }

    pub(super) fn answer(&self, plan: Plan) -> JposAnswer {
        match plan {
            Plan::Answer(answer) => answer,
            // Never reached: a refused row is inserted as answered.
            Plan::Execute(_) => JposAnswer::refuse(JposStatus::IssuerUnavailable, self.call.now_ms),
        }
    }

    /// The ledger operation of a consume's figures (or of re-applying them): a points debit
    /// with the grant, a points credit when only points are granted, nothing otherwise.
    pub(super) fn consume_op(point: i64, persent: i64) -> Option<Operation> {
        if point > 0 {
            Some(Operation::Debit {
                amount: point,
                sources: vec![Asset::Points],
                discount: false,
                limits: LimitPolicy::None,
                overdraft: false,
                award_points: persent,
            })
        } else if persent > 0 {
            Some(Operation::Credit {
                asset: Asset::Points,
                amount: persent,
            })
        } else {
            None
        }
    }

    pub(super) async fn execute_consume(&self, row: TransRow) -> JposAnswer {
        let now = self.call.now_ms;
        let Some(account) = row.account_id else {
            return self
                .complete_refused(&row, JposStatus::InvalidCardNumber)
                .await;
        };
        let key = row.ledger_key.clone().unwrap_or_default();
        let mut posted = None;
        if let Some(op) = Self::consume_op(row.point_amount, row.persent_point) {
            match self.post_checked(self.request(&key, account, op)).await {
                Ok(balances) => posted = Some(balances),
                // Nothing answered yet: the retry finishes it.
                Err(code @ (JposStatus::IssuerUnavailable | JposStatus::SystemBusy)) => {
                    return JposAnswer::refuse(code, now)
                }
                Err(code) => {
                    let answer = JposAnswer::refuse(code, row.trans_time_ms);
                    let taken = row.clone();
                    // A refused consume gives its vouchers back.
                    return self
                        .complete_any(&row, answer, move |db| {
                            Box::pin(async move { move_lines(db, &taken, 1).await })
                        })
                        .await;
                }
            }
        }
        let merchant = self.merchant_id();
        let result = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let balances = match posted {
                        Some(balances) => balances,
                        None => catalog::balances(db, account).await?.unwrap_or_default(),
                    };
                    let active = catalog::get_account(db, account)
                        .await?
                        .is_some_and(|a| a.status == AccountStatus::Active);
                    let advertisement = store_jpos::rules(db, merchant).await?.advertisement;
                    let Some(trans_time) = TransTime::from_unix_millis(row.trans_time_ms) else {
                        return Err(StoreError::Decode("transTime out of range".into()));
                    };
                    let answer = JposAnswer::of(&ConsumeReply {
                        trans_time,
                        serial_no: serial(&row),
                        point_balance: Fen(balances.points),
                        available_point_balance: Fen(available(&balances, active)),
                        use_point: Fen(row.point_amount),
                        persent_point: Fen(row.persent_point),
                        advertisement: (!advertisement.is_empty()).then_some(advertisement),
                    });
                    if store_jpos::complete_trans(db, row.id, "00", &answer.body, now_ms()).await? {
                        return Ok(answer);
                    }
                    let stored = store_jpos::get_trans(db, row.id).await?;
                    Ok(stored
                        .as_ref()
                        .and_then(JposAnswer::stored)
                        .unwrap_or(answer))
                })
            })
            .await;
        result.unwrap_or_else(|e| JposAnswer::refuse(store_code(&e), now))
    }

    /// A reversal (冲正) of the consume or cancel at `trace`: the body is the original's.
    pub(super) async fn reversal(
        &self,
        trace: JposTrace,
        card: JposCard,
        endpoint: &'static str,
    ) -> Result<JposAnswer, JposStatus> {
        if let Some(row) = self.find(trace, ROLE_REVERSAL).await? {
            return match self.existing(row) {
                Plan::Answer(answer) => Ok(answer),
                Plan::Execute(row) => Ok(self.execute_reversal(*row).await),
            };
        }
        let mut rev = self.new_row(trace, ROLE_REVERSAL, endpoint, &card);
        rev.ledger_key = Some(format!("{}:reversal", self.ledger_key(trace)));
        let original = self.find(trace, ROLE_REQUEST).await?;
        match original {
            None => {
                // Reversal before its original: a tombstone refuses the late original.
                let account = match self.card(&card).await? {
                    CardLookup::Account(id) => Some(id),
                    CardLookup::Unknown | CardLookup::Blocked => None,
                };
                let mut tomb = self.new_row(trace, ROLE_REQUEST, endpoint, &card);
                tomb.status = STATUS_TOMBSTONE.to_string();
                tomb.account_id = account;
                tomb.ledger_key = Some(self.ledger_key(trace));
                let tomb = match self.insert(tomb).await? {
                    Plan::Execute(row) => *row,
                    // The original arrived meanwhile: reverse it on the retry.
                    Plan::Answer(_) => return Err(JposStatus::SystemBusy),
                };
                rev.original_id = Some(tomb.id);
                rev.original_key = tomb.ledger_key.clone();
                rev.account_id = account;
            }
            Some(o) if o.fingerprint != self.call.fingerprint || o.endpoint != endpoint => {
                // Not the body of the transaction at this trace: there is no such original.
                return Ok(
                    self.answer(self.insert_refused(rev, JposStatus::OriginalNotFound).await)
                );
            }
            Some(o) => {
                rev.original_id = Some(o.id);
                rev.original_key = o.ledger_key.clone();
                rev.account_id = o.account_id;
            }
        }
        match self.insert(rev).await? {
            Plan::Answer(answer) => Ok(answer),
            Plan::Execute(row) => Ok(self.execute_reversal(*row).await),
        }
    }

    pub(super) async fn execute_reversal(&self, rev: TransRow) -> JposAnswer {
        let now = self.call.now_ms;
        let original = match self.get(rev.original_id.unwrap_or_default()).await {
            Ok(Some(o)) => o,
            Ok(None) => {
                return self
                    .complete_refused(&rev, JposStatus::OriginalNotFound)
                    .await
            }
            Err(code) => return JposAnswer::refuse(code, now),
        };
        let ok = JposAnswer::refuse(JposStatus::Approved, rev.trans_time_ms);
        if original.status == STATUS_TOMBSTONE {
            if let (Some(account), Some(key)) = (rev.account_id, &rev.original_key) {
                // A ledger tombstone too, so that no replica posts the late original.
                let void = Operation::Void {
                    original_key: key.clone(),
                    kind: VoidKind::Reversal,
                };
                let ledger_key = rev.ledger_key.clone().unwrap_or_default();
                if let Err(code) = self.post(self.request(&ledger_key, account, void)).await {
                    return JposAnswer::refuse(code, now);
                }
            }
            return self
                .complete_refused(&rev, JposStatus::OriginalNotFound)
                .await;
        }
        let approved = original.response_code.as_deref() == Some("00");
        if original.status == STATUS_DONE && !approved {
            // The original was refused: nothing to undo.
            return self
                .complete(&rev, ok, |_| Box::pin(async { Ok(()) }))
                .await;
        }
        match original.voided {
            REVERSED => {
                return self
                    .complete(&rev, ok, |_| Box::pin(async { Ok(()) }))
                    .await
            }
            CANCELLED => {
                return self
                    .complete_refused(&rev, JposStatus::InvalidTransaction)
                    .await
            }
            _ => {}
        }
        let account = original.account_id.unwrap_or_default();
        let ledger_key = rev.ledger_key.clone().unwrap_or_default();
        let mut restore_id = None;
        if original.endpoint == "consume" {
            if Self::consume_op(original.point_amount, original.persent_point).is_some() {
                let void = Operation::Void {
                    original_key: original.ledger_key.clone().unwrap_or_default(),
                    kind: VoidKind::Reversal,
                };
                match self.post(self.request(&ledger_key, account, void)).await {
                    Ok(outcome) if outcome.key_conflict => {
                        return self
                            .complete_refused(&rev, JposStatus::DuplicateTransmission)
                            .await
                    }
                    Ok(outcome) => match outcome.refusal {
                        None | Some(Refusal::AlreadyVoided) => {}
                        // Still in effect (partly refunded): not a code the terminal takes
                        // for reversed, and not stored, so its retries try again.
                        Some(Refusal::NotVoidable) => {
                            tracing::warn!(terminal = %self.key, "jpos reversal of a consume that cannot be voided");
                            return JposAnswer::refuse(JposStatus::SystemBusy, now);
                        }
                        Some(r) => return self.complete_refused(&rev, jpos_code(r)).await,
                    },
                    Err(code) => return JposAnswer::refuse(code, now),
                }
            }
        } else {
            // Reversing a cancel re-applies the consume it cancelled (a void is final in
            // the ledger, so the consume's figures are posted again under this key).
            if let Some(op) = Self::consume_op(original.point_amount, original.persent_point) {
                match self
                    .post_checked(self.request(&ledger_key, account, op))
                    .await
                {
                    Ok(_) => {}
                    Err(code @ (JposStatus::IssuerUnavailable | JposStatus::SystemBusy)) => {
                        return JposAnswer::refuse(code, now)
                    }
                    Err(code) => return self.complete_refused(&rev, code).await,
                }
            }
            restore_id = original.original_id;
        }
        let original_id = original.id;
        let reapplied = Self::consume_op(original.point_amount, original.persent_point)
            .is_some()
            .then_some(ledger_key);
        let vouchers = original.clone();
        self.complete(&rev, ok, move |db| {
            Box::pin(async move {
                let now = now_ms();
                store_jpos::set_voided(db, original_id, REVERSED, now).await?;
                // A reversed consume gives its vouchers back; a reversed cancel takes the
                // consume's vouchers again.
                let direction = if restore_id.is_some() { -1 } else { 1 };
                move_lines(db, &vouchers, direction).await?;
                if let Some(consume) = restore_id {
                    store_jpos::set_voided(db, consume, STANDING, now).await?;
                    if let Some(key) = &reapplied {
                        store_jpos::set_ledger_key(db, consume, key, now).await?;
                    }
                }
                Ok(())
            })
        })
        .await
    }
}
