//! Tickets (券): query, consume and its reversal, each in one store transaction.

use super::*;

impl Flow {
    pub(super) async fn ticket_query(
        &self,
        trace: JposTrace,
        card: JposCard,
    ) -> Result<JposAnswer, JposStatus> {
        self.require_batch(trace.batch_no).await?;
        let account = match self.card(&card).await? {
            CardLookup::Account(id) => id,
            CardLookup::Unknown => return Err(JposStatus::InvalidCardNumber),
            CardLookup::Blocked => return Err(JposStatus::NotPermittedToCardholder),
        };
        let held = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move { store_jpos::tickets(db, account, false).await })
            })
            .await
            .map_err(|e| store_code(&e))?;
        let (balances, active, _) = self.account_view(account).await?;
        let tickets = held
            .into_iter()
            .filter_map(|t| {
                Some(TicketInfo {
                    id: u64::try_from(t.ticket_id).ok()?,
                    ticket_type: TicketType::parse(&t.ticket_type).ok()?,
                    amount: Fen(t.face_amount),
                    name: t.name,
                    num: u32::try_from(t.num).ok()?,
                })
            })
            .collect();
        Ok(JposAnswer::of(&TicketQueryReply {
            trans_time: TransTime::from_unix_millis(self.call.now_ms)
                .ok_or(JposStatus::IssuerUnavailable)?,
            point_balance: Fen(balances.points),
            available_point_balance: Fen(available(&balances, active)),
            tickets,
        }))
    }

    pub(super) async fn ticket_consume(
        &self,
        trace: JposTrace,
        card: JposCard,
        lines: Vec<(u64, TicketType, u32)>,
        reversal: bool,
    ) -> Result<JposAnswer, JposStatus> {
        if !reversal {
            self.require_batch(trace.batch_no).await?;
        }
        let role = if reversal {
            ROLE_REVERSAL
        } else {
            ROLE_REQUEST
        };
        if let Some(row) = self.find(trace, role).await? {
            return match self.existing(row) {
                Plan::Answer(answer) => Ok(answer),
                // Ticket rows are answered in the transaction that inserts them.
                Plan::Execute(_) => Err(JposStatus::IssuerUnavailable),
            };
        }
        let account = match self.card(&card).await? {
            CardLookup::Account(id) => Some(id),
            CardLookup::Unknown => None,
            CardLookup::Blocked if reversal => None,
            CardLookup::Blocked => {
                let row = self.new_row(trace, role, "ticket_consume", &card);
                return Ok(self.answer(
                    self.insert_refused(row, JposStatus::NotPermittedToCardholder)
                        .await,
                ));
            }
        };
        let mut row = self.new_row(trace, role, "ticket_consume", &card);
        row.account_id = account;
        let lines: Vec<(i64, String, i64)> = lines
            .iter()
            .map(|(id, kind, num)| {
                (
                    i64::try_from(*id).unwrap_or(i64::MAX),
                    kind.as_str().to_string(),
                    i64::from(*num),
                )
            })
            .collect();
        row.ticket_lines = Some(serde_json::json!(lines).to_string());
        let merchant = self.merchant_id();
        let fingerprint = self.call.fingerprint.clone();
        let key = self.key.clone();
        let spending = card.clone();
        let answered = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    if reversal {
                        reverse_tickets(db, row, &key, &fingerprint).await
                    } else {
                        take_tickets(db, row, &lines, merchant, &spending).await
                    }
                })
            })
            .await;
        match answered {
            Ok(answer) => Ok(answer),
            // Holdings moved under us (another replica): nothing was written, retry.
            Err(StoreError::Conflict(_)) => Err(JposStatus::SystemBusy),
            Err(e) => Err(store_code(&e)),
        }
    }
}

/// Takes the tickets of a ticket consume and journals it, in one transaction.
async fn take_tickets(
    db: &dyn Db,
    mut row: TransRow,
    lines: &[(i64, String, i64)],
    merchant_id: i64,
    card: &JposCard,
) -> Result<JposAnswer, StoreError> {
    let Some(account) = row.account_id else {
        return insert_answered(db, row, JposStatus::InvalidCardNumber, None, |_| None).await;
    };
    if let Some(code) = spend_refusal(db, card, merchant_id).await? {
        return insert_answered(db, row, code, None, |_| None).await;
    }
    let Some(face_total) = face_value(db, account, lines).await? else {
        return insert_answered(db, row, JposStatus::InsufficientFunds, None, |_| None).await;
    };
    row.ticket_amount = face_total;
    let advertisement = store_jpos::rules(db, merchant_id).await?.advertisement;
    insert_answered(db, row, JposStatus::Approved, Some(-1), |row| {
        Some(
            TicketConsumeReply {
                serial_no: serial(row),
                advertisement: (!advertisement.is_empty()).then_some(advertisement),
                trans_time: TransTime::from_unix_millis(row.trans_time_ms)?,
            }
            .to_json(),
        )
    })
    .await
}

/// Reverses a ticket consume (its tickets go back), in one transaction; a reversal before
/// its original leaves a tombstone that refuses the late original.
async fn reverse_tickets(
    db: &dyn Db,
    rev: TransRow,
    terminal_key: &str,
    fingerprint: &str,
) -> Result<JposAnswer, StoreError> {
    let original =
        store_jpos::find_trans(db, terminal_key, &rev.batch_no, &rev.trace_no, ROLE_REQUEST)
            .await?;
    let Some(original) = original else {
        let mut tomb = rev.clone();
        tomb.role = ROLE_REQUEST.to_string();
        tomb.status = STATUS_TOMBSTONE.to_string();
        store_jpos::insert_trans(db, &tomb, now_ms()).await?;
        return insert_answered(db, rev, JposStatus::OriginalNotFound, None, |_| None).await;
    };
    let same_figures = rev.card_hmac.is_some()
        && original.card_hmac == rev.card_hmac
        && original.ticket_lines == rev.ticket_lines;
    if original.endpoint != "ticket_consume"
        || (original.fingerprint != fingerprint && !same_figures)
    {
        // Not the ticket consume at this trace: nothing is reversed, so no reversal-success
        // code, and nothing is stored, so the right reversal can still come.
        return Ok(JposAnswer::refuse(
            JposStatus::DuplicateTransmission,
            rev.trans_time_ms,
        ));
    }
    let approved = original.status == STATUS_DONE
        && original.response_code.as_deref() == Some("00")
        && original.voided == STANDING;
    // The original's tickets go back with the reversal's row (moved only if inserted).
    let mut rev = rev;
    rev.ticket_lines = original.ticket_lines.clone();
    rev.account_id = original.account_id;
    if approved {
        store_jpos::set_voided(db, original.id, REVERSED, now_ms()).await?;
    }
    let ok = StatusReply {
        status: JposStatus::Approved,
        trans_time: TransTime::from_unix_millis(rev.trans_time_ms),
    }
    .to_json();
    let moves = approved.then_some(1);
    insert_answered(db, rev, JposStatus::Approved, moves, move |_| Some(ok)).await
}
