//! Tests across the KTV module: every spec example through the public decoders, the balance
//! rules, a table of bad inputs with their reply codes, and never-panic properties.

use super::spec_examples as ex;
use super::*;
use crate::money::Fen;
use proptest::prelude::*;
use serde_json::{json, Value};

fn key() -> AesKey {
    AesKey::from_text("posgate-ktv-key!").expect("16-byte key")
}

fn venue() -> CompanyCode {
    CompanyCode::parse("01103").expect("venue code")
}

fn value(text: &str) -> Value {
    serde_json::from_str(text).expect("example is JSON")
}

/// Seals `payload` into an envelope carrying the example body's companycode/version/date.
fn sealed_body(body: &Value, payload: &Value) -> Vec<u8> {
    let mut envelope = body.clone();
    envelope["data"] = Value::from(seal(&key(), payload.to_string().as_bytes()));
    envelope.to_string().into_bytes()
}

fn upload(path: UploadPath, body: &[u8]) -> Result<Upload, KtvError> {
    decode_upload(path, body, |c| (c.as_str() == "01103").then(key))
}

fn spec_bill() -> Bill {
    let body = value(ex::VOUCHERS_BODY);
    let bills: Vec<Bill> = serde_json::from_value(body["data"].clone()).expect("bills");
    bills.into_iter().next().expect("one bill")
}

// ---------------------------------------------------------------------------------------
// uploads

#[test]
fn envelope_example() {
    let envelope = decode_envelope(ex::UPLOAD_ENVELOPE.as_bytes()).expect("envelope");
    assert_eq!(envelope.companycode, venue());
    assert_eq!(envelope.date, "2018-01-08");
    assert_eq!(envelope.total, Some(128));
    assert!(matches!(&envelope.data, EnvelopeData::Sealed(s) if s == ex::UPLOAD_ENVELOPE_DATA));
    // The example's blob is zip only (legacy format); as an AES upload it does not open.
    let err = envelope.vouchers(&key()).expect_err("not AES");
    assert_eq!(err.code(), RetCode::DecryptFailed);
    // Its content is the legacy camelCase bill list, which is not the current format.
    let legacy = zip_decode(ex::UPLOAD_ENVELOPE_DATA).expect("gzip");
    let legacy_envelope = Envelope::sealed(
        venue(),
        &key(),
        &value(std::str::from_utf8(&legacy).expect("utf8")),
    );
    assert_eq!(
        legacy_envelope.vouchers(&key()).map_err(|e| e.code()),
        Err(RetCode::FieldInvalid)
    );
    // Round trip of the envelope itself.
    assert_eq!(
        decode_envelope(&envelope.encode()).expect("again"),
        envelope
    );
}

/// Found by the `ktv_envelope` fuzz target: a number past `u64` in inline data was read one
/// unit in the last place off (serde_json's default float parser), so the envelope did not
/// decode to itself from its own encoding.
#[test]
fn envelope_with_a_number_past_u64_round_trips() {
    let body = br#"{"companycode":"01103","version":"2.0","data":{"version_num":123550000000000000000001533900332}}"#;
    let envelope = decode_envelope(body).expect("envelope");
    assert_eq!(
        decode_envelope(&envelope.encode()).expect("again"),
        envelope
    );
}

#[test]
fn upload_reply_examples() {
    for (text, msg) in [
        (ex::UPLOAD_REPLY, "数据接收并校验成功"),
        (ex::NOTIFY_REPLY, "OK"),
    ] {
        let reply: WireReply = serde_json::from_str(text).expect("reply");
        assert_eq!(reply.code(), Some(RetCode::Ok));
        assert_eq!(reply.msg, msg);
    }
    assert_eq!(Reply::ok().to_json(), value(ex::UPLOAD_REPLY));
    assert_eq!(Reply::ok_notify().to_json(), value(ex::NOTIFY_REPLY));
}

#[test]
fn open_time_versions() {
    let cases = [
        (ex::OPEN_TIME_V1, OpenTimeVersion::V1),
        (ex::OPEN_TIME_V2, OpenTimeVersion::V2 { version_num: 1234 }),
        (
            ex::OPEN_TIME_V3,
            OpenTimeVersion::V3 {
                version_num: 1234,
                gateway: GatewayMode::Gatewayless,
            },
        ),
    ];
    for (text, version) in cases {
        let Upload::OpenTime(open_time) =
            upload(UploadPath::OpenTime, text.as_bytes()).expect("openTime")
        else {
            panic!("not openTime");
        };
        assert_eq!(open_time.version, version);
        assert_eq!(open_time.companycode, venue());
        assert_eq!(open_time.system, "TongYu-v1.201803152201");
        assert_eq!(open_time.open_time.to_string(), "12:00:00");
        assert_eq!(open_time.close_time.to_string(), "03:00:00");
        // Round trip.
        let Upload::OpenTime(again) =
            upload(UploadPath::OpenTime, &open_time.encode()).expect("again")
        else {
            panic!("not openTime");
        };
        assert_eq!(again, open_time);
    }
    // openTime needs no key: a venue without one may still report its hours.
    let no_key = decode_upload(UploadPath::OpenTime, ex::OPEN_TIME_V1.as_bytes(), |_| None);
    assert!(no_key.is_ok());
    // Numeric versions and "2" without ".0" are the same versions.
    let mut v2 = value(ex::OPEN_TIME_V2);
    v2["version"] = json!(2);
    assert!(upload(UploadPath::OpenTime, v2.to_string().as_bytes()).is_ok());
    // Version 2 without version_num, version 3 without gateway, version 4: refused.
    let mut bad = value(ex::OPEN_TIME_V2);
    bad["data"]
        .as_object_mut()
        .expect("object")
        .remove("version_num");
    assert_eq!(
        upload(UploadPath::OpenTime, bad.to_string().as_bytes()).map_err(|e| e.code()),
        Err(RetCode::FieldInvalid)
    );
    let mut bad = value(ex::OPEN_TIME_V3);
    bad["data"]
        .as_object_mut()
        .expect("object")
        .remove("gateway");
    assert_eq!(
        upload(UploadPath::OpenTime, bad.to_string().as_bytes()).map_err(|e| e.code()),
        Err(RetCode::FieldInvalid)
    );
    let mut bad = value(ex::OPEN_TIME_V3);
    bad["version"] = json!("4.0");
    assert_eq!(
        upload(UploadPath::OpenTime, bad.to_string().as_bytes()).map_err(|e| e.code()),
        Err(RetCode::UnsupportedVersion)
    );
}

#[test]
fn realtime_example() {
    let body = value(ex::REALTIME_BODY);
    // Sealed as the spec says: data = seal(original body's data).
    let sealed = sealed_body(&body, &body["data"]);
    let Upload::Realtime {
        companycode,
        date,
        data,
    } = upload(UploadPath::Realtime, &sealed).expect("realtime")
    else {
        panic!("not realtime");
    };
    assert_eq!(companycode, venue());
    assert_eq!(date, "2018-01-03 21:02:12");
    assert_eq!(data.revenue, Fen(18203300));
    assert_eq!(data.voucher, Some(22));
    assert_eq!(data.guest, Some(31));
    assert_eq!(data.uncheckout_wine, Fen(230000));
    assert_eq!(data.xiao_zhang, Some(Fen(2100000)));
    assert_eq!(data.gua_zhang, Some(Fen(3400000)));
    assert_eq!(data.room_states.len(), 1);
    let room = &data.room_states[0];
    assert_eq!(room.room_id.as_str(), "1");
    assert_eq!(room.room_name, "K01");
    assert_eq!(room.room_theme_id, Some(-1));
    assert_eq!(room.room_state_id, 2);
    assert_eq!(room.room_avaiable, Some(false));
    assert_eq!(room.room_in_open, Some(true));
    assert_eq!(room.second_state(SecondState::Birthday), Some(true));
    assert_eq!(room.second_state(SecondState::RoomCall), Some(true));
    assert_eq!(room.second_state(SecondState::Buyout), None);
    assert_eq!(room.second_room_states[2].as_flag(), Some(false));
    assert_eq!(room.open_checkout_id, Some(123));
    assert_eq!(room.checkout_wine_money, Fen(9900));
    assert_eq!(room.uncheckout_wine_money, Fen(2100));
    assert_eq!(room.member_id, "123193719374714141");
    assert_eq!(room.least_money, Some(Fen(0)));
    assert_eq!(room.low_charge_gap, Some(Fen(0)));
    assert_eq!(room.present_money, Some(Fen(300000)));
    assert_eq!(room.activity_id, Some(123));
    assert_eq!(room.sec_operator, "赵钱孙");
    assert!(room.allows_later_check());
    assert_eq!(room.staffay_state(), None);
    // The whole original body sealed is unwrapped the same way.
    let whole = sealed_body(&body, &body);
    let Upload::Realtime { data: again, .. } =
        upload(UploadPath::Realtime, &whole).expect("whole body")
    else {
        panic!("not realtime");
    };
    assert_eq!(again, data);
    // Round trip through the encoder.
    let Upload::Realtime { data: round, .. } =
        upload(UploadPath::Realtime, &sealed_body(&body, &data.to_json())).expect("round trip")
    else {
        panic!("not realtime");
    };
    assert_eq!(round, data);
    // -1 sentinels are "not upgraded".
    let mut unset = body["data"].clone();
    unset["room_states"][0]["least_money"] = json!(-1);
    unset["room_states"][0]["staffay_state_id"] = json!(9);
    let Upload::Realtime { data: unset, .. } =
        upload(UploadPath::Realtime, &sealed_body(&body, &unset)).expect("unset")
    else {
        panic!("not realtime");
    };
    assert_eq!(unset.room_states[0].least_money, None);
    assert_eq!(
        unset.room_states[0].staffay_state(),
        Some(upload::StaffayState::Cleaning)
    );
}

#[test]
fn realtime_fixture_sealed_by_openssl() {
    let body = json!({"companycode": "01103", "version": "1.0", "date": "2018-01-03 21:02:12",
        "data": include_str!("testdata/fixture.sealed")});
    let Upload::Realtime { data, .. } =
        upload(UploadPath::Realtime, body.to_string().as_bytes()).expect("fixture")
    else {
        panic!("not realtime");
    };
    assert_eq!(data.revenue, Fen(18203300));
    assert_eq!(data.room_states[0].room_id.as_str(), "0010");
    assert_eq!(data.room_states[0].least_money, None);
}

#[test]
fn vouchers_example() {
    let body = value(ex::VOUCHERS_BODY);
    let envelope = json!({"companycode": "01103", "version": "1.0", "data": ""});
    // The spec prints a whole wrapper as the vouchers body; sealed whole, it is unwrapped.
    for payload in [body.clone(), body["data"].clone()] {
        let Upload::Vouchers {
            companycode, bills, ..
        } = upload(UploadPath::Vouchers, &sealed_body(&envelope, &payload)).expect("vouchers")
        else {
            panic!("not vouchers");
        };
        assert_eq!(companycode, venue());
        assert_eq!(bills.len(), 1);
        let bill = &bills[0];
        assert_eq!(bill.voucher, "S22100900001");
        assert_eq!(bill.checkout_voucher, "K21121700003");
        assert_eq!(bill.open_checkout_id, Some(123123));
        assert_eq!(bill.voucher_type, VoucherType::Drinks);
        assert_eq!(
            bill.business_date.as_ref().map(BusinessDate::as_str),
            Some("2022-10-09")
        );
        assert_eq!(bill.revoke, Revoke::Normal);
        assert_eq!(bill.modify, Modify::Normal);
        assert_eq!(bill.checkout_charge, Fen(1));
        assert_eq!(bill.fact_charge, Fen(1));
        assert_eq!(bill.room_id.as_ref().map(RoomId::as_str), Some("21"));
        assert_eq!(bill.box_waiter_staff_code, "1140");
        assert_eq!(
            bill.room_info.as_ref().map(|r| r.room_name.as_str()),
            Some("N10S0824")
        );
        assert_eq!(
            bill.guest_info.as_ref().map(|g| g.customer_id.as_str()),
            Some("00120221009101048040389")
        );
        assert_eq!(bill.charges.len(), 6);
        assert_eq!(bill.charges[1].charge_type, ChargeType::Reduction);
        let goods = &bill.charges[5];
        assert_eq!(goods.details.len(), 3);
        assert_eq!(goods.details[0].num, 1.0);
        assert_eq!(goods.details[0].money, Fen(1));
        assert_eq!(goods.details[0].present_status, 1);
        assert_eq!(goods.details[0].wine_list_order_time, "2023-02-15 14:24:12");
        assert_eq!(bill.payments.len(), 2);
        assert!(bill.payments[0].by_member_card);
        assert_eq!(bill.payments[0].member_cash, Some(Fen(0)));
        assert_eq!(bill.payments[1].translated(), Fen(1));
        assert_eq!(bill.payments[1].rate, Some(rust_decimal::Decimal::ONE));
        assert!(validate_bill(bill).is_empty());
        assert_eq!(bill.idempotency_key(&companycode), "ktv:01103:S22100900001");
    }
    // Inline (unsealed) bills are refused.
    let mut plain = envelope.clone();
    plain["data"] = body["data"].clone();
    assert_eq!(
        upload(UploadPath::Vouchers, plain.to_string().as_bytes()).map_err(|e| e.code()),
        Err(RetCode::DataNotSealed)
    );
    // Round trip through the encoder.
    let bill = spec_bill();
    let again: Bill =
        serde_json::from_value(serde_json::to_value(&bill).expect("serialize")).expect("decode");
    assert_eq!(again, bill);
}

#[test]
fn detail_num_is_a_float_and_amounts_are_exact() {
    let mut body = value(ex::VOUCHERS_BODY);
    body["data"][0]["charges"][5]["details"][0]["num"] = json!(0.5);
    body["data"][0]["checkout_charge"] = json!("39800");
    body["data"][0]["fact_charge"] = json!(39800.0);
    let bill: Bill = serde_json::from_value(body["data"][0].clone()).expect("bill");
    assert_eq!(bill.charges[5].details[0].num, 0.5);
    assert_eq!(bill.checkout_charge, Fen(39800));
    assert_eq!(bill.fact_charge, Fen(39800));
    for bad in [
        json!(1.5),
        json!("1.005"),
        json!("1e2"),
        json!(true),
        json!(1e13),
    ] {
        let mut body = value(ex::VOUCHERS_BODY);
        body["data"][0]["charges"][0]["charge"] = bad.clone();
        assert!(
            serde_json::from_value::<Bill>(body["data"][0].clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn notify_example() {
    let Upload::Notify {
        companycode,
        notices,
    } = upload(UploadPath::Notify, ex::NOTIFY_BODY.as_bytes()).expect("notify")
    else {
        panic!("not notify");
    };
    assert_eq!(companycode, venue());
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].guest_name, "老刘忙");
    assert_eq!(notices[0].room_id.as_str(), "00012");
    assert_eq!(notices[0].staff_code, "T11102");
    assert_eq!(notices[0].voucher, "080421550729785262936");
    // Sealed, as "before encryption" suggests, gives the same.
    let body = value(ex::NOTIFY_BODY);
    let Upload::Notify {
        notices: sealed, ..
    } = upload(UploadPath::Notify, &sealed_body(&body, &body["data"])).expect("sealed")
    else {
        panic!("not notify");
    };
    assert_eq!(sealed, notices);
    // Legacy camelCase names.
    let legacy = json!({"companycode": "01103", "version": 1, "data": [{"guestName": "老刘忙", "roomId": 12,
        "reserveTime": "2019-04-01 12:00:00", "voucher": "V1"}]});
    let Upload::Notify { notices, .. } =
        upload(UploadPath::Notify, legacy.to_string().as_bytes()).expect("legacy")
    else {
        panic!("not notify");
    };
    assert_eq!(notices[0].guest_name, "老刘忙");
    assert_eq!(notices[0].room_id.as_str(), "12");
}

#[test]
fn payment_setting_example() {
    let Upload::PaymentSetting { settings, .. } = upload(
        UploadPath::PaymentSetting,
        ex::PAYMENT_SETTING_BODY.as_bytes(),
    )
    .expect("settings") else {
        panic!("not payment_setting");
    };
    assert_eq!(settings.len(), 5);
    assert_eq!(settings[1].payment_alias_name, "微信支付");
    assert_eq!(
        settings[1].network_payment,
        Some(upload::NetworkPayment::WeChat)
    );
    assert_eq!(
        settings[2].network_payment,
        Some(upload::NetworkPayment::Alipay)
    );
    // The legacy `status` of the example: 人民币 `status: 1` is in use, 优惠券 `0` is not.
    assert_eq!(settings[0].status, Some(PaymentStatus::Enabled));
    assert_eq!(settings[4].status, Some(PaymentStatus::Disabled));
    // New names are written, and read back.
    let written = serde_json::to_value(&settings).expect("serialize");
    assert!(written[0].get("dictionarystatus").is_some());
    assert!(written[0].get("bindalipay").is_some());
    let again: Vec<PaymentSetting> = serde_json::from_value(written).expect("decode");
    assert_eq!(again, settings);
}

#[test]
fn upload_paths() {
    for path in UploadPath::ALL {
        let full = format!("{DEFAULT_CONTEXT_PATH}/{}", path.suffix());
        assert_eq!(
            UploadPath::parse(&full, DEFAULT_CONTEXT_PATH).expect("known"),
            path
        );
        assert_eq!(
            UploadPath::parse(&format!("{full}/?x=1"), DEFAULT_CONTEXT_PATH).expect("known"),
            path
        );
    }
    assert_eq!(
        UploadPath::parse(
            "/mgr_upload/gateway/upload/notify",
            "/mgr_upload/gateway/upload"
        ),
        Ok(UploadPath::Notify)
    );
    for bad in [
        "/gateway/upload",
        "/gateway/upload/",
        "/gateway/upload/other",
        "/gateway/uploadrealtime",
        "/realtime",
        "",
    ] {
        assert_eq!(
            UploadPath::parse(bad, DEFAULT_CONTEXT_PATH).map_err(|e| e.code()),
            Err(RetCode::UnknownPath),
            "{bad}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// balance rules, revoke, modify

#[test]
fn spec_bill_balances() {
    let bill = spec_bill();
    assert!(validate_bill(&bill).is_empty());
    assert!(bill.check_balanced().is_ok());
    assert_eq!(bill.charge_totals().net(), 1);
    assert_eq!(bill.payments_total(), 1);
}

#[test]
fn charges_must_equal_payments() {
    let mut bill = spec_bill();
    bill.charges[5].charge = Fen(500);
    let violations = validate_bill(&bill);
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].rule, BillRule::ChargesEqualPayments);
    assert_eq!(violations[0].expected, 1);
    assert_eq!(violations[0].actual, 500);
    assert!(violations[0].figure.contains("drinks 500"));
    let err = bill.check_balanced().expect_err("unbalanced");
    assert_eq!(err.code(), RetCode::Unbalanced);
}

#[test]
fn reductions_count_negative() {
    let mut bill = spec_bill();
    // Room 10000, discount 2000 (type 6), drinks 1: paid 8001.
    bill.charges[4].charge = Fen(10000);
    bill.charges[2].charge = Fen(2000);
    bill.payments[1].value = Fen(8001);
    bill.payments[1].translatemoney = Some(Fen(8001));
    assert!(validate_bill(&bill).is_empty());
    let totals = bill.charge_totals();
    assert_eq!(
        (totals.room, totals.drinks, totals.reduction, totals.net()),
        (10000, 1, 2000, 8001)
    );
    // A reduction sent negative is double-counted and caught.
    bill.charges[2].charge = Fen(-2000);
    let violations = validate_bill(&bill);
    assert_eq!(violations.len(), 1);
    assert_eq!(
        (violations[0].expected, violations[0].actual),
        (8001, 12001)
    );
    // Other (4), service (3) and member (5) income add.
    let mut bill = spec_bill();
    bill.charges[0].charge = Fen(300);
    bill.charges.push(Charge {
        name: "服务费".into(),
        charge: Fen(200),
        charge_type: ChargeType::Service,
        details: vec![],
    });
    bill.charges.push(Charge {
        name: "会员".into(),
        charge: Fen(100),
        charge_type: ChargeType::Member,
        details: vec![],
    });
    bill.payments[1].translatemoney = Some(Fen(601));
    assert!(validate_bill(&bill).is_empty());
}

#[test]
fn payments_use_translatemoney_then_value() {
    let mut bill = spec_bill();
    // Foreign currency: value 100 at rate 0.8 is 80 fen of charges.
    bill.charges[5].charge = Fen(80);
    bill.payments[1].value = Fen(100);
    bill.payments[1].rate = Some(rust_decimal::Decimal::new(8, 1));
    bill.payments[1].translatemoney = Some(Fen(80));
    assert!(validate_bill(&bill).is_empty());
    // Older gateways without translatemoney: value is used.
    bill.payments[1].translatemoney = None;
    bill.payments[1].value = Fen(80);
    assert!(validate_bill(&bill).is_empty());
}

#[test]
fn member_card_split_must_match() {
    let mut bill = spec_bill();
    bill.charges[5].charge = Fen(100);
    bill.payments[0].value = Fen(99);
    bill.payments[0].translatemoney = Some(Fen(99));
    bill.payments[0].member_cash = Some(Fen(50));
    bill.payments[0].member_present = Some(Fen(40));
    let violations = validate_bill(&bill);
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].rule, BillRule::MemberCardSplit);
    assert_eq!((violations[0].expected, violations[0].actual), (99, 90));
    assert!(violations[0].figure.contains("payments[0] (会员卡)"));
    // Fixed split balances.
    bill.payments[0].member_present = Some(Fen(49));
    assert!(validate_bill(&bill).is_empty());
    // Only one of the two sent: the other counts as 0.
    bill.payments[0].member_present = None;
    assert_eq!(validate_bill(&bill).len(), 1);
    // Neither sent (gateway older than 2022-02): not checked.
    bill.payments[0].member_cash = None;
    assert!(validate_bill(&bill).is_empty());
    // Not a member card: not checked.
    bill.payments[0].member_cash = Some(Fen(1));
    bill.payments[0].by_member_card = false;
    assert!(validate_bill(&bill).is_empty());
}

#[test]
fn every_violation_is_listed() {
    let mut bill = spec_bill();
    bill.charges[5].charge = Fen(7);
    bill.payments[0].member_cash = Some(Fen(3));
    let violations = validate_bill(&bill);
    let rules: Vec<BillRule> = violations.iter().map(|v| v.rule).collect();
    assert_eq!(
        rules,
        vec![BillRule::ChargesEqualPayments, BillRule::MemberCardSplit]
    );
    match bill.check_balanced() {
        Err(KtvError::Unbalanced {
            voucher,
            violations,
        }) => {
            assert_eq!(voucher, "S22100900001");
            assert_eq!(violations.len(), 2);
        }
        other => panic!("expected unbalanced, got {other:?}"),
    }
}

#[test]
fn revoke_and_modify() {
    let with = |field: &str, v: Value| {
        let mut body = value(ex::VOUCHERS_BODY);
        body["data"][0][field] = v;
        serde_json::from_value::<Bill>(body["data"][0].clone())
    };
    let cases = [
        (0, Revoke::Normal, true),
        (1, Revoke::Voided, false),
        (2, Revoke::PrepaidToPostpaid, false),
        (3, Revoke::MergedRooms, false),
        (7, Revoke::Unlisted(7), false),
    ];
    for (code, revoke, counts) in cases {
        let bill = with("revoke", json!(code)).expect("bill");
        assert_eq!(bill.revoke, revoke);
        assert_eq!(bill.counts_in_revenue(), counts);
        assert_eq!(bill.revenue().is_some(), counts);
        assert_eq!(bill.revoke.code(), code);
    }
    let modifies = [
        (0, Modify::Normal, false, false),
        (1, Modify::Reopened, true, true),
        (2, Modify::Restored, true, false),
    ];
    for (code, modify, replaces, notifies) in modifies {
        let bill = with("modify", json!(code)).expect("bill");
        assert_eq!(bill.modify, modify);
        assert_eq!(modify.replaces_previous(), replaces);
        assert_eq!(modify.notifies_merchant(), notifies);
        assert_eq!(modify.code(), code);
    }
    assert!(with("modify", json!(3)).is_err());
    // Absent fields are the defaults (older gateways).
    let mut body = value(ex::VOUCHERS_BODY);
    body["data"][0]
        .as_object_mut()
        .expect("object")
        .remove("revoke");
    body["data"][0]
        .as_object_mut()
        .expect("object")
        .remove("modify");
    let bill: Bill = serde_json::from_value(body["data"][0].clone()).expect("bill");
    assert_eq!((bill.revoke, bill.modify), (Revoke::Normal, Modify::Normal));
}

// ---------------------------------------------------------------------------------------
// WJ091

fn reply_for(request: &Wj091Request, text: &str) -> Wj091Reply {
    decode_reply(request, text.as_bytes()).expect("reply decodes")
}

#[test]
fn wj091_example_requests() {
    let cases: [(&str, Wj091Type, bool); 6] = [
        (ex::WJ091_REQUEST_TYPE2, Wj091Type::Bills, true),
        (ex::WJ091_REQUEST_TYPE6, Wj091Type::PaymentSettings, false),
        (ex::WJ091_REQUEST_TYPE8, Wj091Type::MemberConsumption, false),
        (ex::WJ091_REQUEST_TYPE4, Wj091Type::RoomConsumption, true),
        (ex::WJ091_REQUEST_TYPE5, Wj091Type::CardFees, false),
        (ex::WJ091_REQUEST_TYPE9, Wj091Type::RoomBookings, false),
    ];
    for (text, kind, zip) in cases {
        let request = decode_request(text.as_bytes()).expect("request");
        assert_eq!(request.query.kind(), kind);
        assert_eq!(request.zip, zip);
        assert_eq!(
            decode_request(&request.encode()).expect("round trip"),
            request
        );
        // The encoder writes the same JSON as the spec's example.
        assert_eq!(request.to_json(), value(text), "{kind:?}");
    }
    let request = decode_request(ex::WJ091_REQUEST_TYPE2.as_bytes()).expect("request");
    let Wj091Query::Bills {
        date,
        voucher,
        page,
    } = &request.query
    else {
        panic!("bills")
    };
    assert_eq!(date.as_str(), "2018-01-17");
    assert_eq!(voucher.as_deref(), Some("R15052800040"));
    assert_eq!((page.num(), page.size()), (0, 100));
    let request = decode_request(ex::WJ091_REQUEST_TYPE4.as_bytes()).expect("request");
    assert_eq!(request.to_json()["roomid"], json!(23));
    let request = decode_request(ex::WJ091_REQUEST_TYPE9.as_bytes()).expect("request");
    assert_eq!(request.to_json()["room_id"], json!("0006"));
}

#[test]
fn wj091_requests_for_every_type() {
    let date = BusinessDate::parse("2020-10-01").expect("date");
    let page = Page::new(2, 50).expect("page");
    let queries = [
        Wj091Query::OpenTime,
        Wj091Query::Realtime,
        Wj091Query::Bills {
            date: date.clone(),
            voucher: None,
            page,
        },
        Wj091Query::MemberRecharges {
            date: date.clone(),
            page,
        },
        Wj091Query::RoomConsumption {
            room_id: RoomId::new("0010"),
        },
        Wj091Query::CardFees {
            date: date.clone(),
            page,
        },
        Wj091Query::PaymentSettings,
        Wj091Query::RoomOpenings { date: date.clone() },
        Wj091Query::MemberConsumption {
            date: date.clone(),
            page,
        },
        Wj091Query::RoomBookings {
            room_id: RoomId::new("0006"),
            begin_date: "2020-12-07 00:00:00".into(),
            end_date: "2020-12-08 00:00:00".into(),
        },
    ];
    for (query, kind) in queries.into_iter().zip(Wj091Type::ALL) {
        assert_eq!(query.kind(), kind);
        let request = Wj091Request::new(venue(), query).expect("valid");
        let json = request.to_json();
        assert_eq!(json["cmdid"], json!("WJ091"));
        assert_eq!(json["type"], json!(kind.code()));
        assert_eq!(
            json["zip"],
            json!(u8::from(kind != Wj091Type::PaymentSettings))
        );
        assert_eq!(
            json.get("page_num").is_some(),
            request.query.page().is_some()
        );
        assert_eq!(
            decode_request(&request.encode()).expect("round trip"),
            request
        );
        assert_eq!(Wj091Type::from_code(i64::from(kind.code())), Some(kind));
    }
    assert_eq!(Wj091Type::from_code(10), None);
    // Validation.
    assert!(Page::new(0, 0).is_err());
    assert!(Page::new(0, limits::WJ091_PAGE_SIZE_MAX + 1).is_err());
    assert!(Page::new(limits::WJ091_TOTAL_ROWS_MAX, 1).is_err());
    assert!(Wj091Request::new(
        venue(),
        Wj091Query::RoomBookings {
            room_id: RoomId::new("1"),
            begin_date: "2020-12-08 00:00:00".into(),
            end_date: "2020-12-07 00:00:00".into(),
        }
    )
    .is_err());
    assert!(Wj091Request::new(
        venue(),
        Wj091Query::RoomBookings {
            room_id: RoomId::new("1"),
            begin_date: "2020-12-07".into(),
            end_date: "2020-12-08 00:00:00".into(),
        }
    )
    .is_err());
    assert!(Wj091Request::new(
        venue(),
        Wj091Query::RoomConsumption {
            room_id: RoomId::new("")
        }
    )
    .is_err());
    assert!(decode_request(br#"{"cmdid":"WJ092","companycode":"01103","type":0}"#).is_err());
    assert!(decode_request(br#"{"cmdid":"WJ091","companycode":"01103","type":2}"#).is_err());
    assert!(decode_request(
        br#"{"cmdid":"WJ091","companycode":"01103","type":2,"date":"2020-10-01","page_size":500}"#
    )
    .is_err());
}

#[test]
fn wj091_example_replies() {
    // Type 2: the vouchers example is a WJ091 reply (cmdid, total "1").
    let request = decode_request(ex::WJ091_REQUEST_TYPE2.as_bytes()).expect("request");
    let reply = reply_for(&request, ex::VOUCHERS_BODY);
    assert!(reply.is_ok());
    assert_eq!(reply.total, Some(1));
    let Wj091Data::Bills(bills) = &reply.data else {
        panic!("bills")
    };
    assert_eq!(bills[0], spec_bill());
    assert_eq!(reply.next_page(), None);

    // Type 6.
    let request = decode_request(ex::WJ091_REQUEST_TYPE6.as_bytes()).expect("request");
    let reply = reply_for(&request, ex::WJ091_REPLY_TYPE6);
    let Wj091Data::PaymentSettings(rows) = &reply.data else {
        panic!("settings")
    };
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[4].payment_alias_name, "K米优惠券");
    assert_eq!(rows[4].status, None);

    // Type 8.
    let request = decode_request(ex::WJ091_REQUEST_TYPE8.as_bytes()).expect("request");
    let reply = reply_for(&request, ex::WJ091_REPLY_TYPE8);
    assert_eq!(reply.total, Some(1));
    let Wj091Data::MemberConsumption(rows) = &reply.data else {
        panic!("member consumption")
    };
    assert_eq!(rows[0].account_balance, Fen(70381));
    assert_eq!(rows[0].cash_change_money, Fen(11));
    assert_eq!(rows[0].present_change_money, Fen(11));
    assert_eq!(rows[0].fact_accept_charge, Fen(22));
    assert_eq!(rows[0].only_business_id, 8070);
    assert_eq!(rows[0].quit_only_business_id, Some(8062));
    assert_eq!(rows[0].sales_manager_code, "10071");

    // Type 4.
    let request = decode_request(ex::WJ091_REQUEST_TYPE4.as_bytes()).expect("request");
    let reply = reply_for(&request, ex::WJ091_REPLY_TYPE4);
    let Wj091Data::RoomConsumption(room) = &reply.data else {
        panic!("room consumption")
    };
    assert_eq!(room.room_info.len(), 5);
    assert_eq!(room.room_info[2].showvalue, "1297867");
    let item = &room.wine_info[0];
    assert_eq!(item.sellmoney, Fen(1500));
    assert_eq!(item.sellprice, Some(rust_decimal::Decimal::from(15)));
    assert_eq!(item.kind(), Some(wj091::WineOrderKind::Sale));
    assert_eq!(item.paid, wj091::PaidState::Paid);
    assert!(!item.is_refund());
    assert_eq!(room.pr_info[0].leader_name, "阿飞");

    // Type 5 (duplicate key in the example: last wins).
    let request = decode_request(ex::WJ091_REQUEST_TYPE5.as_bytes()).expect("request");
    let reply = reply_for(&request, ex::WJ091_REPLY_TYPE5);
    let Wj091Data::CardFees(rows) = &reply.data else {
        panic!("card fees")
    };
    assert_eq!(rows[0].onlybusinessid, 110);
    assert_eq!(rows[0].operationtype, wj091::CardOperation::Sell);
    assert_eq!(rows[0].payments[0].value, Fen(100));
    assert_eq!(rows[0].payments[0].translatemoney, Some(Fen(80)));
    assert_eq!(
        rows[0].payments[0].rate,
        Some(rust_decimal::Decimal::new(8, 1))
    );

    // Type 9.
    let request = decode_request(ex::WJ091_REQUEST_TYPE9.as_bytes()).expect("request");
    let reply = reply_for(&request, ex::WJ091_REPLY_TYPE9);
    let Wj091Data::RoomBookings(rows) = &reply.data else {
        panic!("bookings")
    };
    assert_eq!(rows[0].room_id.as_str(), "00012");
    assert_eq!(rows[0].room_type_id, "1");
    assert_eq!(rows[0].voucher, "YDD0000102");
}

#[test]
fn wj091_zipped_example_reply() {
    // The spec's zipped reply carries the legacy camelCase realtime snapshot: it unzips, and
    // is refused as realtime data (no `room_states`) rather than read as an empty venue.
    let request = Wj091Request::new(venue(), Wj091Query::Realtime).expect("request");
    let err = decode_reply(&request, ex::WJ091_REPLY_ZIPPED.as_bytes()).expect_err("legacy");
    assert_eq!(err.code(), RetCode::FieldInvalid);
    // Unzipped by hand, it is the snapshot.
    let reply = value(ex::WJ091_REPLY_ZIPPED);
    let data = zip_decode(reply["data"].as_str().expect("string")).expect("gzip");
    let snapshot: Value = serde_json::from_slice(&data).expect("json");
    assert_eq!(snapshot["revenue"], json!(102400));
}

#[test]
fn wj091_replies_round_trip_for_every_type_zipped_and_plain() {
    let date = BusinessDate::parse("2020-10-01").expect("date");
    let page = Page::FIRST;
    let realtime_body = value(ex::REALTIME_BODY);
    let realtime = Realtime::from_value(realtime_body["data"].clone()).expect("realtime");
    let open_time: upload::OpenTimeData =
        serde_json::from_value(value(ex::OPEN_TIME_V3)["data"].clone()).expect("open time");
    let raw = |n: i64| {
        wj091::RawRow(
            json!({"id": n, "money": 100})
                .as_object()
                .cloned()
                .expect("object"),
        )
    };
    let of = |text: &str| value(text)["data"].clone();
    let cases: Vec<(Wj091Query, Wj091Data)> = vec![
        (Wj091Query::OpenTime, Wj091Data::OpenTime(open_time)),
        (Wj091Query::Realtime, Wj091Data::Realtime(realtime)),
        (
            Wj091Query::Bills {
                date: date.clone(),
                voucher: None,
                page,
            },
            Wj091Data::Bills(vec![spec_bill()]),
        ),
        (
            Wj091Query::MemberRecharges {
                date: date.clone(),
                page,
            },
            Wj091Data::MemberRecharges(vec![raw(1), raw(2)]),
        ),
        (
            Wj091Query::RoomConsumption {
                room_id: RoomId::new("23"),
            },
            Wj091Data::RoomConsumption(
                serde_json::from_value(of(ex::WJ091_REPLY_TYPE4)).expect("type 4"),
            ),
        ),
        (
            Wj091Query::CardFees {
                date: date.clone(),
                page,
            },
            Wj091Data::CardFees(serde_json::from_value(of(ex::WJ091_REPLY_TYPE5)).expect("type 5")),
        ),
        (
            Wj091Query::PaymentSettings,
            Wj091Data::PaymentSettings(
                serde_json::from_value(of(ex::PAYMENT_SETTING_BODY)).expect("type 6"),
            ),
        ),
        (
            Wj091Query::RoomOpenings { date: date.clone() },
            Wj091Data::RoomOpenings(vec![raw(3)]),
        ),
        (
            Wj091Query::MemberConsumption {
                date: date.clone(),
                page,
            },
            Wj091Data::MemberConsumption(
                serde_json::from_value(of(ex::WJ091_REPLY_TYPE8)).expect("type 8"),
            ),
        ),
        (
            Wj091Query::RoomBookings {
                room_id: RoomId::new("0006"),
                begin_date: "2020-12-07 00:00:00".into(),
                end_date: "2020-12-08 00:00:00".into(),
            },
            Wj091Data::RoomBookings(
                serde_json::from_value(of(ex::WJ091_REPLY_TYPE9)).expect("type 9"),
            ),
        ),
    ];
    for (query, data) in cases {
        let request = Wj091Request::new(venue(), query).expect("request");
        for zip in [true, false] {
            let reply = Wj091Reply {
                ret: 0,
                msg: "OK".into(),
                total: Some(1),
                data: data.clone(),
                page: request.query.page(),
            };
            let bytes = reply.encode(zip);
            let sent: Value = serde_json::from_slice(&bytes).expect("json");
            assert_eq!(sent["data"].is_string(), zip);
            let back = decode_reply(&request, &bytes).expect("decodes");
            assert_eq!(back, reply, "{:?} zip={zip}", request.query.kind());
            assert_eq!(back.data.row_count(), data.row_count());
        }
    }
}

#[test]
fn wj091_paging() {
    let date = BusinessDate::parse("2018-01-17").expect("date");
    let first = Wj091Request::new(
        venue(),
        Wj091Query::Bills {
            date,
            voucher: None,
            page: Page::FIRST,
        },
    )
    .expect("request");
    let mut request = first.clone();
    let mut asked = vec![];
    loop {
        let page = request.query.page().expect("paged");
        asked.push(page.num());
        let reply = Wj091Reply {
            ret: 0,
            msg: String::new(),
            total: Some(250),
            data: Wj091Data::Bills(vec![]),
            page: Some(page),
        };
        let bytes = reply.encode(true);
        let back = decode_reply(&request, &bytes).expect("reply");
        match request.next_page_request(&back) {
            Some(next) => {
                assert_eq!(
                    next.to_json()["page_num"],
                    json!(back.next_page().expect("next"))
                );
                request = next;
            }
            None => break,
        }
    }
    assert_eq!(asked, vec![0, 1, 2]);
    // Exactly full pages: 200 rows of 100 is pages 0 and 1.
    let reply = Wj091Reply {
        ret: 0,
        msg: String::new(),
        total: Some(200),
        data: Wj091Data::None,
        page: Some(Page::new(1, 100).expect("page")),
    };
    assert_eq!(reply.next_page(), None);
    let reply = Wj091Reply {
        page: Some(Page::FIRST),
        ..reply
    };
    assert_eq!(reply.next_page(), Some(1));
    // No total, a failed reply, or an unpaged type: no next page.
    assert_eq!(
        Wj091Reply {
            total: None,
            ..reply.clone()
        }
        .next_page(),
        None
    );
    assert_eq!(
        Wj091Reply {
            ret: 1,
            ..reply.clone()
        }
        .next_page(),
        None
    );
    assert_eq!(
        Wj091Reply {
            page: None,
            ..reply.clone()
        }
        .next_page(),
        None
    );
    assert_eq!(
        Wj091Reply {
            total: Some(0),
            ..reply
        }
        .next_page(),
        None
    );
}

#[test]
fn wj091_reply_bounds_and_failures() {
    let date = BusinessDate::parse("2018-01-17").expect("date");
    let request = Wj091Request::new(
        venue(),
        Wj091Query::Bills {
            date,
            voucher: None,
            page: Page::new(0, 1).expect("page"),
        },
    )
    .expect("request");
    // More rows than the page size (a venue that ignores page_size): read, not refused.
    let two = json!({"ret": 0, "data": [value(ex::VOUCHERS_BODY)["data"][0].clone(), value(ex::VOUCHERS_BODY)["data"][0].clone()]});
    let reply = decode_reply(&request, two.to_string().as_bytes()).expect("two rows");
    assert_eq!(reply.data.row_count(), 2);
    // A total beyond the bound.
    let big = json!({"ret": 0, "total": limits::WJ091_TOTAL_ROWS_MAX + 1, "data": []});
    assert_eq!(
        decode_reply(&request, big.to_string().as_bytes()).map_err(|e| e.code()),
        Err(RetCode::TooLarge)
    );
    // A venue failure keeps ret/msg and carries no data.
    let failed = decode_reply(
        &request,
        br#"{"ret": -1, "msg": "timeout", "data": "garbage"}"#,
    )
    .expect("failure reply");
    assert_eq!(
        (failed.ret, failed.msg.as_str(), &failed.data),
        (-1, "timeout", &Wj091Data::None)
    );
    // Bad zip data.
    assert_eq!(
        decode_reply(&request, br#"{"ret": 0, "data": "H4sI!!!!"}"#).map_err(|e| e.code()),
        Err(RetCode::BadBase64)
    );
    assert_eq!(
        decode_reply(&request, br#"{"ret": 0, "data": "AAAAAAAA"}"#).map_err(|e| e.code()),
        Err(RetCode::DecompressFailed)
    );
    // JSON text inside a string is accepted.
    let inline = json!({"ret": 0, "data": "[]", "total": 0});
    assert_eq!(
        decode_reply(&request, inline.to_string().as_bytes()).map(|r| r.data),
        Ok(Wj091Data::Bills(vec![]))
    );
}

// ---------------------------------------------------------------------------------------
// bad inputs -> reply codes

#[test]
fn bad_inputs_table() {
    let realtime = value(ex::REALTIME_BODY);
    let sealed_realtime = |data: &Value| sealed_body(&realtime, data);
    let with_room = |field: &str, v: Value| {
        let mut data = realtime["data"].clone();
        data["room_states"][0][field] = v;
        sealed_realtime(&data)
    };
    let vouchers_env = json!({"companycode": "01103", "data": ""});
    let with_bill = |field: &str, v: Value| {
        let mut bills = value(ex::VOUCHERS_BODY)["data"].clone();
        bills[0][field] = v;
        sealed_body(&vouchers_env, &bills)
    };
    let other_key = AesKey::from_bytes([9; 16]);
    let wrong_key_body = {
        let mut env = realtime.clone();
        env["data"] = Value::from(seal(&other_key, realtime["data"].to_string().as_bytes()));
        env.to_string().into_bytes()
    };
    let not_gzip_body = {
        use aes::cipher::{block_padding::Pkcs7, BlockModeEncrypt, KeyInit};
        use base64::Engine;
        let enc = ecb::Encryptor::<aes::Aes128>::new(&(*key().expose()).into())
            .encrypt_padded_vec::<Pkcs7>(b"{}");
        let mut env = realtime.clone();
        env["data"] = Value::from(base64::engine::general_purpose::STANDARD.encode(enc));
        env.to_string().into_bytes()
    };
    let not_json_body = {
        let mut env = realtime.clone();
        env["data"] = Value::from(seal(&key(), b"{not json"));
        env.to_string().into_bytes()
    };
    let mut too_many_bills = vec![];
    too_many_bills.resize(limits::BILLS_PER_UPLOAD_MAX + 1, json!({}));
    let mut too_many_payments = value(ex::VOUCHERS_BODY)["data"].clone();
    let payment = too_many_payments[0]["payments"][1].clone();
    too_many_payments[0]["payments"] =
        Value::Array(vec![payment; limits::PAYMENTS_PER_BILL_MAX + 1]);

    let rows: Vec<(&str, UploadPath, Vec<u8>, RetCode)> = vec![
        ("empty body", UploadPath::Realtime, vec![], RetCode::BadJson),
        ("not json", UploadPath::Realtime, b"hello".to_vec(), RetCode::BadJson),
        ("truncated json", UploadPath::Realtime, br#"{"companycode":"01103","data":"#.to_vec(), RetCode::BadJson),
        ("invalid utf-8", UploadPath::Realtime, b"{\"companycode\":\"\xff\xfe\"}".to_vec(), RetCode::BadJson),
        ("body is an array", UploadPath::Realtime, b"[]".to_vec(), RetCode::FieldInvalid),
        ("no companycode", UploadPath::Realtime, br#"{"data":"AAAA"}"#.to_vec(), RetCode::FieldInvalid),
        ("bad companycode", UploadPath::Realtime, br#"{"companycode":"01 103","data":"AAAA"}"#.to_vec(), RetCode::FieldInvalid),
        ("no data", UploadPath::Realtime, br#"{"companycode":"01103"}"#.to_vec(), RetCode::FieldInvalid),
        ("unknown venue", UploadPath::Realtime, br#"{"companycode":"09999","data":"AAAA"}"#.to_vec(), RetCode::UnknownVenue),
        ("data not base64", UploadPath::Realtime, br#"{"companycode":"01103","data":"%%%%"}"#.to_vec(), RetCode::BadBase64),
        ("data not whole blocks", UploadPath::Realtime, br#"{"companycode":"01103","data":"AAAA"}"#.to_vec(), RetCode::DecryptFailed),
        ("wrong key", UploadPath::Realtime, wrong_key_body, RetCode::DecryptFailed),
        ("decrypted not gzip", UploadPath::Realtime, not_gzip_body, RetCode::DecompressFailed),
        ("decrypted not json", UploadPath::Realtime, not_json_body, RetCode::BadJson),
        ("realtime inline", UploadPath::Realtime, br#"{"companycode":"01103","data":{"revenue":1,"room_states":[]}}"#.to_vec(), RetCode::DataNotSealed),
        ("realtime missing rooms", UploadPath::Realtime, sealed_realtime(&json!({"revenue": 1})), RetCode::FieldInvalid),
        ("revenue with fraction", UploadPath::Realtime, sealed_realtime(&json!({"revenue": 1.5, "room_states": []})), RetCode::FieldInvalid),
        ("revenue 3 decimals", UploadPath::Realtime, sealed_realtime(&json!({"revenue": "1.000", "room_states": []})), RetCode::FieldInvalid),
        ("room flag not 0/1", UploadPath::Realtime, with_room("room_in_open", json!(2)), RetCode::FieldInvalid),
        ("room without id", UploadPath::Realtime, with_room("room_id", Value::Null), RetCode::FieldInvalid),
        ("room state id text", UploadPath::Realtime, with_room("room_state_id", json!("busy")), RetCode::FieldInvalid),
        ("bill voucher_type 3", UploadPath::Vouchers, with_bill("voucher_type", json!(3)), RetCode::FieldInvalid),
        ("bill modify 9", UploadPath::Vouchers, with_bill("modify", json!(9)), RetCode::FieldInvalid),
        ("bill bad business_date", UploadPath::Vouchers, with_bill("business_date", json!("2022/10/09")), RetCode::FieldInvalid),
        ("bill empty voucher", UploadPath::Vouchers, with_bill("voucher", json!("")), RetCode::FieldInvalid),
        ("bill money as object", UploadPath::Vouchers, with_bill("fact_charge", json!({})), RetCode::FieldInvalid),
        ("bills not an array", UploadPath::Vouchers, sealed_body(&vouchers_env, &json!(42)), RetCode::FieldInvalid),
        ("too many bills", UploadPath::Vouchers, sealed_body(&vouchers_env, &Value::Array(too_many_bills)), RetCode::TooLarge),
        ("too many payments", UploadPath::Vouchers, sealed_body(&vouchers_env, &too_many_payments), RetCode::TooLarge),
        ("openTime sealed", UploadPath::OpenTime, br#"{"companycode":"01103","version":"1.0","data":"AAAA"}"#.to_vec(), RetCode::FieldInvalid),
        ("openTime bad time", UploadPath::OpenTime, br#"{"companycode":"01103","version":"1.0","data":{"system":"x","open_time":"25:00:00","close_time":"03:00:00"}}"#.to_vec(), RetCode::FieldInvalid),
        ("openTime version 9", UploadPath::OpenTime, br#"{"companycode":"01103","version":"9.0","data":{"system":"x","open_time":"12:00:00","close_time":"03:00:00"}}"#.to_vec(), RetCode::UnsupportedVersion),
        ("openTime gateway 5", UploadPath::OpenTime, br#"{"companycode":"01103","version":"3.0","data":{"system":"x","open_time":"12:00:00","close_time":"03:00:00","version_num":1,"gateway":5}}"#.to_vec(), RetCode::FieldInvalid),
        ("notify without voucher", UploadPath::Notify, br#"{"companycode":"01103","data":[{"room_id":"1"}]}"#.to_vec(), RetCode::FieldInvalid),
        ("notify data object", UploadPath::Notify, br#"{"companycode":"01103","data":{"a":1}}"#.to_vec(), RetCode::FieldInvalid),
        ("payment status 7", UploadPath::PaymentSetting, br#"{"companycode":"01103","data":[{"payment_type_id":1,"status":7}]}"#.to_vec(), RetCode::FieldInvalid),
        ("payment id missing", UploadPath::PaymentSetting, br#"{"companycode":"01103","data":[{"payment_type_name":"x"}]}"#.to_vec(), RetCode::FieldInvalid),
        ("payload of another venue", UploadPath::Realtime, sealed_realtime(&json!({"companycode": "01104", "data": realtime["data"].clone()})), RetCode::FieldInvalid),
    ];
    assert!(rows.len() >= 15);
    for (name, path, body, code) in rows {
        let got = upload(path, &body).map_err(|e| e.code());
        assert_eq!(got.as_ref().err(), Some(&code), "{name}: {got:?}");
    }
    // Oversized body.
    let huge = vec![b' '; limits::UPLOAD_BODY_BYTES_MAX + 1];
    assert_eq!(
        upload(UploadPath::Realtime, &huge).map_err(|e| e.code()),
        Err(RetCode::TooLarge)
    );
}

#[test]
fn error_replies_carry_code_and_detail() {
    let err = upload(
        UploadPath::Realtime,
        br#"{"companycode":"09999","data":"AAAA"}"#,
    )
    .expect_err("unknown");
    let reply = err.reply();
    assert_eq!(reply.ret, RetCode::UnknownVenue);
    assert!(reply.msg.starts_with("未知商家编码"));
    let wire: WireReply = serde_json::from_slice(&reply.encode()).expect("json");
    assert_eq!(wire.ret, 1);
}

// ---------------------------------------------------------------------------------------
// never panics

/// Every decoder, on the same input.
fn decode_everything(bytes: &[u8]) {
    let _ = decode_envelope(bytes);
    for path in UploadPath::ALL {
        let _ = upload(path, bytes);
    }
    let _ = decode_request(bytes);
    let date = BusinessDate::parse("2020-10-01").expect("date");
    for query in [
        Wj091Query::OpenTime,
        Wj091Query::Realtime,
        Wj091Query::Bills {
            date: date.clone(),
            voucher: None,
            page: Page::FIRST,
        },
        Wj091Query::MemberRecharges {
            date: date.clone(),
            page: Page::FIRST,
        },
        Wj091Query::RoomConsumption {
            room_id: RoomId::new("1"),
        },
        Wj091Query::CardFees {
            date: date.clone(),
            page: Page::FIRST,
        },
        Wj091Query::PaymentSettings,
        Wj091Query::RoomOpenings { date: date.clone() },
        Wj091Query::MemberConsumption {
            date: date.clone(),
            page: Page::FIRST,
        },
        Wj091Query::RoomBookings {
            room_id: RoomId::new("1"),
            begin_date: "2020-12-07 00:00:00".into(),
            end_date: "2020-12-08 00:00:00".into(),
        },
    ] {
        if let Ok(request) = Wj091Request::new(venue(), query) {
            if let Ok(reply) = decode_reply(&request, bytes) {
                let _ = reply.next_page();
                let _ = request.next_page_request(&reply);
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = open(&key(), text);
        let _ = open_with(AesMode::Cbc, &key(), text);
        let _ = zip_decode(text);
        let _ = UploadPath::parse(text, DEFAULT_CONTEXT_PATH);
        let _ = BusinessDate::parse(text);
        let _ = ClockTime::parse(text);
        let _ = de::parse_fen_text(text);
    }
    if let Ok(Value::Array(bills)) = serde_json::from_slice::<Value>(bytes) {
        for bill in bills {
            if let Ok(bill) = serde_json::from_value::<Bill>(bill) {
                let _ = validate_bill(&bill);
            }
        }
    }
}

/// All spec examples plus sealed variants, as mutation seeds.
fn seeds() -> Vec<Vec<u8>> {
    let realtime = value(ex::REALTIME_BODY);
    let vouchers = value(ex::VOUCHERS_BODY);
    let mut seeds: Vec<Vec<u8>> = [
        ex::UPLOAD_ENVELOPE,
        ex::OPEN_TIME_V1,
        ex::OPEN_TIME_V2,
        ex::OPEN_TIME_V3,
        ex::REALTIME_BODY,
        ex::VOUCHERS_BODY,
        ex::NOTIFY_BODY,
        ex::PAYMENT_SETTING_BODY,
        ex::WJ091_REQUEST_TYPE2,
        ex::WJ091_REPLY_ZIPPED,
        ex::WJ091_REQUEST_TYPE6,
        ex::WJ091_REPLY_TYPE6,
        ex::WJ091_REQUEST_TYPE8,
        ex::WJ091_REPLY_TYPE8,
        ex::WJ091_REQUEST_TYPE4,
        ex::WJ091_REPLY_TYPE4,
        ex::WJ091_REQUEST_TYPE5,
        ex::WJ091_REPLY_TYPE5,
        ex::WJ091_REQUEST_TYPE9,
        ex::WJ091_REPLY_TYPE9,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    seeds.push(sealed_body(&realtime, &realtime["data"]));
    seeds.push(sealed_body(
        &json!({"companycode": "01103"}),
        &vouchers["data"],
    ));
    seeds
}

/// Replaces the `n`-th leaf of a JSON value (depth first) with `replacement`.
fn replace_leaf(value: &mut Value, n: &mut usize, replacement: &Value) -> bool {
    match value {
        Value::Object(map) => map.values_mut().any(|v| replace_leaf(v, n, replacement)),
        Value::Array(items) => items.iter_mut().any(|v| replace_leaf(v, n, replacement)),
        leaf => {
            if *n == 0 {
                *leaf = replacement.clone();
                true
            } else {
                *n -= 1;
                false
            }
        }
    }
}

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
        Just(json!("-1")),
        Just(json!("1.005")),
        Just(json!(1e300)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(&bytes);
    }

    #[test]
    fn decoders_never_panic_on_text(text in "\\PC{0,256}") {
        decode_everything(text.as_bytes());
    }

    #[test]
    fn decoders_never_panic_on_byte_mutations(seed in 0usize..22, at in any::<prop::sample::Index>(),
                                              len in 0usize..16, insert in proptest::collection::vec(any::<u8>(), 0..8)) {
        let seeds = seeds();
        let mut bytes = seeds[seed % seeds.len()].clone();
        let start = at.index(bytes.len().max(1)).min(bytes.len());
        let end = (start + len).min(bytes.len());
        bytes.splice(start..end, insert);
        decode_everything(&bytes);
    }

    #[test]
    fn decoders_never_panic_on_json_mutations(seed in 0usize..22, leaf in 0usize..200, replacement in arb_leaf()) {
        let seeds = seeds();
        let Ok(mut json) = serde_json::from_slice::<Value>(&seeds[seed % seeds.len()]) else { return Ok(()) };
        let mut n = leaf;
        replace_leaf(&mut json, &mut n, &replacement);
        decode_everything(json.to_string().as_bytes());
        // Also as the sealed payload of realtime / vouchers uploads.
        let body = sealed_body(&json!({"companycode": "01103"}), &json);
        let _ = upload(UploadPath::Realtime, &body);
        let _ = upload(UploadPath::Vouchers, &body);
    }

    #[test]
    fn envelopes_with_long_numbers_round_trip(digits in "[1-9][0-9]{15,40}", fraction in "[0-9]{0,20}") {
        let number = if fraction.is_empty() { digits } else { format!("{digits}.{fraction}") };
        let body = format!(r#"{{"companycode":"01103","data":{{"version_num":{number}}}}}"#);
        let envelope = decode_envelope(body.as_bytes()).expect("envelope");
        prop_assert_eq!(decode_envelope(&envelope.encode()).expect("again"), envelope);
    }

    #[test]
    fn bill_amounts_round_trip(charge in -limits_fen()..=limits_fen(), paid in 0i64..=1_000_000) {
        let mut bill = spec_bill();
        bill.charges[5].charge = Fen(charge);
        bill.payments[1].translatemoney = Some(Fen(paid));
        let again: Bill = serde_json::from_value(serde_json::to_value(&bill).expect("serialize")).expect("decode");
        prop_assert_eq!(&again, &bill);
        prop_assert_eq!(validate_bill(&bill).is_empty(), charge == paid);
    }
}

fn limits_fen() -> i64 {
    crate::money::AMOUNT_FEN_MAX
}

#[test]
fn seal_policy_decides_what_a_venue_may_send() {
    let bill = serde_json::to_value(vec![spec_bill()]).expect("bill json");
    let sealed = Envelope::sealed(venue(), &key(), &bill);
    let plain = Envelope::plain(venue(), bill.clone());
    let keyed = SealPolicy {
        key: Some(key()),
        mode: AesMode::Ecb,
        plain_allowed: false,
    };
    let open = SealPolicy {
        key: None,
        mode: AesMode::Ecb,
        plain_allowed: true,
    };
    let bills = |u: Upload| match u {
        Upload::Vouchers { bills, .. } => bills,
        other => panic!("not vouchers: {other:?}"),
    };
    assert_eq!(
        bills(
            sealed
                .decode_with(UploadPath::Vouchers, &keyed)
                .expect("sealed")
        ),
        vec![spec_bill()]
    );
    assert_eq!(
        plain
            .decode_with(UploadPath::Vouchers, &keyed)
            .map_err(|e| e.code()),
        Err(RetCode::DataNotSealed)
    );
    assert_eq!(
        bills(
            plain
                .decode_with(UploadPath::Vouchers, &open)
                .expect("plain")
        ),
        vec![spec_bill()]
    );
    // Sealed data to a venue without a key: no key to open it with.
    assert_eq!(
        sealed
            .decode_with(UploadPath::Vouchers, &open)
            .map_err(|e| e.code()),
        Err(RetCode::UnknownVenue)
    );
    // A wrong key fails decryption.
    let wrong = SealPolicy {
        key: Some(AesKey::from_bytes([3; 16])),
        ..keyed.clone()
    };
    assert!(matches!(
        sealed
            .decode_with(UploadPath::Vouchers, &wrong)
            .map_err(|e| e.code()),
        Err(RetCode::DecryptFailed | RetCode::DecompressFailed)
    ));
    assert_eq!(AesMode::parse("aes-128-ecb-pkcs7"), Some(AesMode::Ecb));
    assert_eq!(AesMode::parse("aes-128-cbc-pkcs7"), Some(AesMode::Cbc));
    assert_eq!(AesMode::parse("aes-128-cbc"), None);
}

#[test]
fn cbc_carries_its_iv_in_front_and_round_trips() {
    use base64::Engine as _;
    let json = br#"{"room":"K01","revenue":100}"#;
    let iv = [9u8; 16];
    let sealed = seal_with(AesMode::Cbc, &key(), &iv, json);
    assert_eq!(open_with(AesMode::Cbc, &key(), &sealed).unwrap(), json);
    // Another IV gives another ciphertext of the same message.
    let other = seal_with(AesMode::Cbc, &key(), &[1u8; 16], json);
    assert_ne!(sealed, other);
    assert_eq!(open_with(AesMode::Cbc, &key(), &other).unwrap(), json);
    // The IV travels first: the decoded data is IV || ciphertext.
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&sealed)
        .unwrap();
    assert_eq!(&raw[..16], &iv);
    // Wrong mode, wrong key, or only an IV: refused, never a panic.
    assert!(open_with(AesMode::Ecb, &key(), &sealed).is_err());
    assert!(open_with(AesMode::Cbc, &AesKey::from_bytes([3; 16]), &sealed).is_err());
    let iv_only = base64::engine::general_purpose::STANDARD.encode(iv);
    assert!(open_with(AesMode::Cbc, &key(), &iv_only).is_err());
    // ECB data opened as CBC: its first block is taken as the IV, and the rest fails.
    assert!(open_with(AesMode::Cbc, &key(), &seal(&key(), json)).is_err());
}
