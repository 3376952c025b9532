//! Checkin (签到) and card query (卡查询).

use super::*;

impl Flow {
    pub(super) async fn checkin(
        &self,
        operator_no: String,
        working_key: WorkingKey,
        kept: KeptKeys,
    ) -> Result<JposAnswer, JposStatus> {
        let terminal_id = self.terminal_id();
        let merchant = self.merchant_id();
        let now = self.call.now_ms;
        let (batch, store_name) = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let batch = store_jpos::check_in(db, terminal_id, &operator_no, now).await?;
                    crate::store::jpos_pins::keep_working_keys(
                        db,
                        terminal_id,
                        &kept.pin_key,
                        &kept.mac_key,
                    )
                    .await?;
                    let name = catalog::get_merchant(db, merchant)
                        .await?
                        .map(|m| m.name)
                        .unwrap_or_default();
                    Ok((batch, name))
                })
            })
            .await
            .map_err(|e| store_code(&e))?;
        let batch_no = BatchNo::new(batch.batch_no).ok_or(JposStatus::IssuerUnavailable)?;
        let trans_time = TransTime::from_unix_millis(now).ok_or(JposStatus::IssuerUnavailable)?;
        Ok(JposAnswer::of(&CheckinReply {
            trans_time,
            batch_no,
            store_name,
            working_key,
        }))
    }

    pub(super) async fn card_query(
        &self,
        trace: JposTrace,
        card: JposCard,
    ) -> Result<JposAnswer, JposStatus> {
        self.require_batch(trace.batch_no).await?;
        let merchant = self.merchant_id();
        let found = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let account = match lookup_card(db, &card, merchant).await? {
                        CardLookup::Unknown => return Ok(None),
                        CardLookup::Blocked | CardLookup::Account(_) => {
                            let Some(hmac) = &card.hmac else {
                                return Ok(None);
                            };
                            let Some(found) = catalog::find_card(db, hmac).await? else {
                                return Ok(None);
                            };
                            catalog::get_account(db, found.account_id).await?
                        }
                    };
                    let Some(account) = account else {
                        return Ok(None);
                    };
                    let balances = catalog::balances(db, account.id).await?.unwrap_or_default();
                    let vouchers: Vec<VoucherInfo> = store_jpos::tickets(db, account.id, false)
                        .await?
                        .into_iter()
                        .filter(|t| t.ticket_type == VOUCHER_TYPE)
                        .filter_map(|t| {
                            Some(VoucherInfo {
                                id: u64::try_from(t.ticket_id).ok()?,
                                amount: Fen(t.face_amount),
                                num: u32::try_from(t.num).ok()?,
                                name: t.name,
                            })
                        })
                        .collect();
                    Ok(Some((account, balances, vouchers)))
                })
            })
            .await
            .map_err(|e| store_code(&e))?;
        let Some((account, balances, vouchers)) = found else {
            return Err(JposStatus::InvalidCardNumber);
        };
        let active = account.status == AccountStatus::Active;
        Ok(JposAnswer::of(&CardQueryReply {
            trans_time: TransTime::from_unix_millis(self.call.now_ms)
                .ok_or(JposStatus::IssuerUnavailable)?,
            point_balance: Fen(balances.points),
            available_point_balance: Fen(available(&balances, active)),
            vouchers,
            id_type: IdType::Other,
            id_no: String::new(),
            name: account.name,
            gender: Gender::Unknown,
            mobile_no: String::new(),
            grade: None,
            address: String::new(),
            email: String::new(),
        }))
    }
}
