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
                            } else if let Some(code) = pin_refusal(db, &card).await? {
                                Some(code)
                            } else {
                                spend_refusal(db, &card, merchant).await?
                            }
                        }
                    };
                    if let Some(code) = refusal {
                        return insert_answered(db, row, code, None, |_| None)
                            .await
                            .map(|answer| Ok(Err(answer)));
                    }
                    // Vouchers are the card's type 03 tickets: all there, or refused.
                    let lines = voucher_lines(&vouchers);
                    if !lines.is_empty() {
                        let account = row.account_id.unwrap_or_default();
                        match face_value(db, account, &lines).await? {
                            Some(amount) => {
                                row.ticket_amount = amount;
                                row.ticket_lines = lines_json(&lines);
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
            match self.post_payment(self.request(&key, account, op)).await {
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
    ///
    /// A reversal whose figures are not those of the transaction at its trace (another
    /// card, other amounts, another consume named) reverses nothing: it gets `94`, never a
    /// reversal-success code, and nothing is stored, so the right reversal can still come.
    pub(super) async fn reversal(
        &self,
        trace: JposTrace,
        card: JposCard,
        undoes: Undoes,
    ) -> Result<JposAnswer, JposStatus> {
        let endpoint = undoes.endpoint();
        if let Some(row) = self.find(trace, ROLE_REVERSAL).await? {
            return match self.existing(row) {
                Plan::Answer(answer) => Ok(answer),
                Plan::Execute(row) => Ok(self.execute_reversal(*row).await),
            };
        }
        let mut rev = self.new_row(trace, ROLE_REVERSAL, endpoint, &card);
        rev.ledger_key = Some(format!("{}:reversal", self.ledger_key(trace)));
        match self.find(trace, ROLE_REQUEST).await? {
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
            Some(o) if !self.reverses(&o, &card, &undoes).await? => {
                tracing::warn!(terminal = %self.key, batch = %o.batch_no, trace = %o.trace_no,
                    "jpos reversal whose figures differ from the original's: refused");
                return Err(JposStatus::DuplicateTransmission);
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

    /// Whether a reversal with this card and these figures undoes `original`: the same
    /// request, or the same interface, card and figures (descriptive fields such as
    /// `registerTraceNo` may differ).
    async fn reverses(
        &self,
        original: &TransRow,
        card: &JposCard,
        undoes: &Undoes,
    ) -> Result<bool, JposStatus> {
        if original.endpoint != undoes.endpoint() {
            return Ok(false);
        }
        if original.fingerprint == self.call.fingerprint {
            return Ok(true);
        }
        if card.hmac.is_none() || original.card_hmac != card.hmac {
            return Ok(false);
        }
        match undoes {
            Undoes::Consume { point, cash, lines } => Ok(original.point_amount == *point
                && original.cash_amount == *cash
                && original.ticket_lines == lines_json(lines)),
            Undoes::Cancel { original: named } => {
                let Some(id) = original.original_id else {
                    return Ok(false);
                };
                Ok(self.get(id).await?.is_some_and(|c| {
                    c.batch_no == named.batch_no.to_wire() && c.trace_no == named.trace_no.to_wire()
                }))
            }
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
        if original.status == STATUS_TOMBSTONE {
            return self.reverse_tombstone(&rev).await;
        }
        let ok = JposAnswer::refuse(JposStatus::Approved, rev.trans_time_ms);
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
            CANCELLED if original.endpoint == "consume" => {
                return self
                    .complete_refused(&rev, JposStatus::InvalidTransaction)
                    .await
            }
            _ => {}
        }
        let undone = if original.endpoint == "consume" {
            self.undo_consume(&rev, &original).await
        } else {
            self.undo_cancel(&rev, &original).await
        };
        match undone {
            Ok(reapplied) => self.reversed(&rev, &original, reapplied).await,
            Err(answer) => answer,
        }
    }

    /// A reversal whose original never arrived: a ledger tombstone too, so that no replica
    /// posts the late original; answered `25` (a reversal-success code: nothing stands).
    async fn reverse_tombstone(&self, rev: &TransRow) -> JposAnswer {
        if let (Some(account), Some(key)) = (rev.account_id, &rev.original_key) {
            let void = Operation::Void {
                original_key: key.clone(),
                kind: VoidKind::Reversal,
            };
            let ledger_key = rev.ledger_key.clone().unwrap_or_default();
            if let Err(code) = self.post(self.request(&ledger_key, account, void)).await {
                return JposAnswer::refuse(code, self.call.now_ms);
            }
        }
        self.complete_refused(rev, JposStatus::OriginalNotFound)
            .await
    }

    /// Voids a consume's posting (a reversal always completes: points granted and already
    /// spent take the account below zero, flagged). `Err` is the answer when it could not.
    async fn undo_consume(
        &self,
        rev: &TransRow,
        original: &TransRow,
    ) -> Result<Option<String>, JposAnswer> {
        let now = self.call.now_ms;
        // Refunded, even in part: still in effect, and a void would give back again what
        // the refunds did (the ledger sees only the points part; a cash-only consume's
        // grant was taken back by its refund). Not stored: the terminal keeps retrying.
        if original.refunded_point + original.refunded_cash > 0 {
            tracing::warn!(terminal = %self.key, "jpos reversal of a refunded consume");
            return Err(JposAnswer::refuse(JposStatus::SystemBusy, now));
        }
        if Self::consume_op(original.point_amount, original.persent_point).is_none() {
            return Ok(None);
        }
        let account = original.account_id.unwrap_or_default();
        let void = Operation::Void {
            original_key: original.ledger_key.clone().unwrap_or_default(),
            kind: VoidKind::Reversal,
        };
        let ledger_key = rev.ledger_key.clone().unwrap_or_default();
        match self.post(self.request(&ledger_key, account, void)).await {
            Ok(outcome) if outcome.key_conflict => Err(self
                .complete_refused(rev, JposStatus::DuplicateTransmission)
                .await),
            Ok(outcome) => match outcome.refusal {
                None | Some(Refusal::AlreadyVoided) => {
                    count_reversal_overdraft(&outcome);
                    Ok(None)
                }
                // Still in effect (partly refunded): not a code the terminal takes for
                // reversed, and not stored, so its retries try again.
                Some(Refusal::NotVoidable) => {
                    tracing::warn!(terminal = %self.key,
                        "jpos reversal of a consume that cannot be voided");
                    Err(JposAnswer::refuse(JposStatus::SystemBusy, now))
                }
                Some(r) => Err(self.complete_refused(rev, jpos_code(r)).await),
            },
            Err(code) => Err(JposAnswer::refuse(code, now)),
        }
    }

    /// Undoes a cancel: if its void was posted (a void is final in the ledger), the
    /// consume's figures are posted again under the reversal's key, overdraft allowed; if
    /// it was not, a ledger tombstone stops it. Returns the key of the posting that now
    /// carries the consume, if one was made.
    async fn undo_cancel(
        &self,
        rev: &TransRow,
        cancel: &TransRow,
    ) -> Result<Option<String>, JposAnswer> {
        let now = self.call.now_ms;
        let Some(op) = Self::consume_op(cancel.point_amount, cancel.persent_point) else {
            return Ok(None);
        };
        let account = cancel.account_id.unwrap_or_default();
        let ledger_key = rev.ledger_key.clone().unwrap_or_default();
        if cancel.status == STATUS_PENDING {
            // Not answered: its void may not be posted. A reversal void of it leaves a
            // tombstone when it is not; a posted void cannot be voided (NotVoidable).
            let probe = Operation::Void {
                original_key: cancel.ledger_key.clone().unwrap_or_default(),
                kind: VoidKind::Reversal,
            };
            let probe_key = format!("{ledger_key}:undo");
            match self.post(self.request(&probe_key, account, probe)).await {
                Ok(outcome) if outcome.refusal != Some(Refusal::NotVoidable) => return Ok(None),
                Ok(_) => {}
                Err(code) => return Err(JposAnswer::refuse(code, now)),
            }
        }
        match self
            .post_reversal(self.request(&ledger_key, account, overdrawing(op)))
            .await
        {
            Ok(_) => Ok(Some(ledger_key)),
            Err(code @ (JposStatus::IssuerUnavailable | JposStatus::SystemBusy)) => {
                Err(JposAnswer::refuse(code, now))
            }
            Err(code) => Err(self.complete_refused(rev, code).await),
        }
    }

    /// Records a completed reversal: the original is marked reversed (and, if it was never
    /// answered, answered `12`, so that a retry of it posts nothing again); a reversed
    /// consume gives its vouchers back, a reversed cancel takes them again, each only if
    /// they had moved; a reversed cancel puts its consume back in effect.
    async fn reversed(
        &self,
        rev: &TransRow,
        original: &TransRow,
        reapplied: Option<String>,
    ) -> JposAnswer {
        let ok = JposAnswer::refuse(JposStatus::Approved, rev.trans_time_ms);
        let refused = JposAnswer::refuse(JposStatus::InvalidTransaction, original.trans_time_ms);
        let original = original.clone();
        self.complete(rev, ok, move |db| {
            Box::pin(async move {
                let now = now_ms();
                let current = store_jpos::get_trans(db, original.id)
                    .await?
                    .unwrap_or_else(|| original.clone());
                let answered = current.status == STATUS_DONE;
                let approved = answered && current.response_code.as_deref() == Some("00");
                store_jpos::complete_trans(db, original.id, "12", &refused.body, now).await?;
                store_jpos::set_voided(db, original.id, REVERSED, now).await?;
                if original.endpoint == "consume" {
                    // Taken with the consume's row; given back by a refusal already.
                    if !answered || approved {
                        move_lines(db, &original, 1).await?;
                    }
                    return Ok(());
                }
                // A cancel gave the vouchers back only when it was approved; those used
                // since cannot be taken again (the reversal completes all the same).
                if approved {
                    let missing = take_back_lines(db, &original).await?;
                    if missing > 0 {
                        tracing::warn!(
                            serial = original.id,
                            missing,
                            "jpos cancel reversal: vouchers used since the cancel not taken back"
                        );
                    }
                }
                if let Some(consume) = original.original_id {
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

/// What a reversal undoes, as its body (the original's) says: the figures it must match.
#[derive(Clone, Debug)]
pub(super) enum Undoes {
    /// A consume: its points, cash and voucher lines.
    Consume {
        /// `pointAmount`.
        point: i64,
        /// `cashAmount`.
        cash: i64,
        /// The `vaucher` list as ticket lines.
        lines: Vec<(i64, String, i64)>,
    },
    /// A cancel: the consume it names.
    Cancel {
        /// `oriBatchNo`, `oriTraceNo`.
        original: JposTrace,
    },
}

impl Undoes {
    fn endpoint(&self) -> &'static str {
        match self {
            Undoes::Consume { .. } => "consume",
            Undoes::Cancel { .. } => "cancel",
        }
    }
}

/// A consume's figures posted again by a reversal, which always completes: overdraft allowed.
fn overdrawing(op: Operation) -> Operation {
    match op {
        Operation::Debit {
            amount,
            sources,
            discount,
            limits,
            award_points,
            ..
        } => Operation::Debit {
            amount,
            sources,
            discount,
            limits,
            overdraft: true,
            award_points,
        },
        other => other,
    }
}

/// Counts a reversal that took an account below zero (`posgate_jpos_reversal_overdrafts_total`).
pub(super) fn count_reversal_overdraft(outcome: &PostOutcome) {
    let flags = outcome.flags;
    if !outcome.replayed && (flags.has(Flags::VOID_OVERDRAFT) || flags.has(Flags::OVERDRAFT)) {
        metrics::counter!("posgate_jpos_reversal_overdrafts_total").increment(1);
    }
}
