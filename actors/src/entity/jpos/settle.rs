//! Settlement (结算): posgate's figures of a batch from its journal, the comparison, the
//! stored report, and the batch's close.

use super::*;

impl Flow {
    pub(super) async fn settle(
        &self,
        trace: JposTrace,
        totals: SettleTotals,
    ) -> Result<JposAnswer, JposStatus> {
        let key = self.key.clone();
        let batch = trace.batch_no.to_wire();
        let terminal_id = self.terminal_id();
        let batch_no = trace.batch_no;
        let now = self.call.now_ms;
        let settled = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    // A settlement is answered once per batch; a retry gets the same flag,
                    // other figures for a settled batch are a duplicate (`94`).
                    if let Some(s) = store_jpos::find_settlement(db, &key, &batch).await? {
                        return Ok(replay(&s, &totals));
                    }
                    let state = store_jpos::batch_state(db, terminal_id).await?;
                    if !state.is_some_and(|s| s.checked_in && s.batch_no == batch_no.get()) {
                        return Ok(Err(JposStatus::NotCheckedIn));
                    }
                    let rows = store_jpos::approved_in_batch(db, &key, &batch).await?;
                    let ours = batch_totals(&rows);
                    let discrepancies = compare(&totals, &ours);
                    let flag = SettleFlag::from_discrepancies(&discrepancies);
                    let report: Vec<serde_json::Value> = discrepancies
                        .iter()
                        .map(|d| {
                            serde_json::json!({
                                "figure": d.figure.wire_name(),
                                "terminal": value_json(d.terminal),
                                "posgate": value_json(d.ours),
                            })
                        })
                        .collect();
                    let settlement = store_jpos::Settlement {
                        id: 0,
                        terminal_id,
                        terminal_key: key.clone(),
                        batch_no: batch.clone(),
                        settle_flag: flag.as_str().to_string(),
                        terminal_totals: totals_json(&totals).to_string(),
                        our_totals: totals_json(&ours).to_string(),
                        discrepancies: serde_json::Value::Array(report).to_string(),
                        created_at_ms: now,
                    };
                    match store_jpos::insert_settlement(db, &settlement).await? {
                        Some(_) => {
                            let next = batch_no.next().get();
                            store_jpos::close_batch(db, terminal_id, batch_no.get(), next, now)
                                .await?;
                            Ok(Ok(flag))
                        }
                        None => Ok(match store_jpos::find_settlement(db, &key, &batch).await? {
                            Some(s) => replay(&s, &totals),
                            None => Err(JposStatus::NotCheckedIn),
                        }),
                    }
                })
            })
            .await
            .map_err(|e| store_code(&e))?;
        match settled {
            Ok(flag) => {
                let result = match flag {
                    SettleFlag::Balanced => "balanced",
                    SettleFlag::Unbalanced => "unbalanced",
                };
                metrics::counter!("posgate_jpos_settlements_total", "result" => result)
                    .increment(1);
                Ok(JposAnswer::of(&SettleReply { flag }))
            }
            Err(status) => Err(status),
        }
    }
}

/// The stored flag of a settled batch for a retry with the same figures; `94` for other
/// figures (never the stored answer of another request).
fn replay(
    stored: &store_jpos::Settlement,
    totals: &SettleTotals,
) -> Result<SettleFlag, JposStatus> {
    let same = serde_json::from_str::<serde_json::Value>(&stored.terminal_totals)
        .is_ok_and(|figures| figures == totals_json(totals));
    if same {
        Ok(SettleFlag::from_wire(&stored.settle_flag))
    } else {
        Err(JposStatus::DuplicateTransmission)
    }
}

fn value_json(value: SettleValue) -> serde_json::Value {
    match value {
        SettleValue::Count(count) => serde_json::Value::from(count),
        SettleValue::Amount(amount) => serde_json::Value::from(amount.to_yuan_string()),
    }
}

/// The twelve figures as a JSON object keyed by wire name.
pub fn totals_json(totals: &SettleTotals) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = SettleFigure::ALL
        .iter()
        .map(|&figure| {
            (
                figure.wire_name().to_string(),
                value_json(totals.get(figure)),
            )
        })
        .collect();
    serde_json::Value::Object(map)
}

fn count(n: &mut u64, amount: &mut Fen, value: i64) {
    if value > 0 {
        *n += 1;
        *amount = Fen(amount.0.saturating_add(value));
    }
}

/// posgate's settlement figures of a batch, from its approved, not reversed rows:
///
/// - point debits: points taken from cards — a consume's `usePoint`, the granted points a
///   cancel or refund takes back, a refund cancel's points taken again;
/// - point credits: points given to cards — a consume's `persentPoint`, the points a cancel
///   or refund gives back, the granted points a refund cancel gives back;
/// - ticket debits: ticket consumes and the vouchers of consumes, by face value; ticket
///   credits: the vouchers a cancel gives back (a ticket consume is undone only by its
///   reversal, which takes it out of the batch);
/// - `totalTransCount`: consumes, cancels, refunds, refund cancels, ticket consumes and card
///   activations; `cancelCount` cancels; `refundCount` refunds (also those later cancelled);
///   `cardActiveCount` card activations.
pub fn batch_totals(rows: &[TransRow]) -> SettleTotals {
    let mut t = SettleTotals::default();
    for row in rows {
        let taken_back = row.persent_point - row.supply_cash;
        match row.endpoint.as_str() {
            "consume" => {
                count(
                    &mut t.point_debit_count,
                    &mut t.point_debit_amount,
                    row.point_amount,
                );
                count(
                    &mut t.point_credit_count,
                    &mut t.point_credit_amount,
                    row.persent_point,
                );
                count(
                    &mut t.ticket_debit_count,
                    &mut t.ticket_debit_amount,
                    row.ticket_amount,
                );
            }
            "cancel" => {
                count(
                    &mut t.ticket_credit_count,
                    &mut t.ticket_credit_amount,
                    row.ticket_amount,
                );
                count(
                    &mut t.point_credit_count,
                    &mut t.point_credit_amount,
                    row.point_amount,
                );
                count(
                    &mut t.point_debit_count,
                    &mut t.point_debit_amount,
                    row.persent_point,
                );
                t.cancel_count += 1;
            }
            "refund" => {
                count(
                    &mut t.point_credit_count,
                    &mut t.point_credit_amount,
                    row.point_amount,
                );
                count(
                    &mut t.point_debit_count,
                    &mut t.point_debit_amount,
                    taken_back,
                );
                t.refund_count += 1;
            }
            "ticket_consume" => {
                count(
                    &mut t.ticket_debit_count,
                    &mut t.ticket_debit_amount,
                    row.ticket_amount,
                );
            }
            "card_active" => t.card_active_count += 1,
            "refund_cancel" => {
                count(
                    &mut t.point_debit_count,
                    &mut t.point_debit_amount,
                    row.point_amount,
                );
                count(
                    &mut t.point_credit_count,
                    &mut t.point_credit_amount,
                    row.persent_point,
                );
            }
            _ => continue,
        }
        t.total_trans_count += 1;
    }
    t
}
