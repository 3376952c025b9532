//! The jpos access layer over real HTTP, on SQLite and on PostgreSQL: checkin and batches,
//! card query, consume with points granted by the merchant's earn rule, retries and trace
//! reuse, reversals (also before their original), cancel and cancel reversal, partial and
//! full refunds across batches and refund cancel, balanced and unbalanced settlement with
//! its discrepancy report, and a table of bad inputs that must change nothing.

mod common;
#[path = "common/jpos.rs"]
mod fixture;

use common::config;
use fixture::*;
use posgate::config::Config;
use posgate_actors::testing;
use posgate_protocols::jpos::WorkingKey;
use serde_json::{json, Value};

/// Runs each scenario (an async fn taking a [`Config`]) as two tests, `{name}::sqlite` and
/// `{name}::postgres` (skipped when PostgreSQL is unreachable).
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                use super::*;

                #[actix_rt::test]
                async fn sqlite() {
                    super::$name(config(None)).await;
                }

                #[actix_rt::test]
                async fn postgres() {
                    if let Some(url) = testing::scratch_pg_url() {
                        super::$name(config(Some(url))).await;
                    }
                }
            }
        )+
    };
}

on_both_backends!(
    reversal_must_match_its_original,
    reversals_complete_below_zero,
    racing_refunds_pay_once,
    cards_spend_once_activated,
    cancel_reversal_completes_after_vouchers_used,
    reversal_of_a_refunded_cash_consume,
);

async fn scenario(c: Config) {
    let j = Jpos::start(c).await;

    // Unknown terminal, then a known one before its checkin.
    let mut unknown = j.consume_form(1, 1, "1.00", "0");
    unknown[1].1 = "NOPE".into();
    assert_eq!(
        j.post("/v1/jpos/trans/consume", &unknown).await.status(),
        "97"
    );
    assert_eq!(j.consume(1, 1, "1.00", "0").await.status(), "77");

    // Checkin: batch 000001, the store's name, a working key sealed under the master key.
    let r = j.checkin().await;
    assert_eq!((r.http, r.status()), (200, "00"), "{}", r.text);
    assert!(
        j.admin.last_seen(j.terminal_id).await > 0,
        "a request is presence"
    );
    assert_eq!(r.json["message"], "交易成功");
    assert_eq!(r.json["batchNo"], "000001");
    assert_eq!(r.json["storeName"], "Canteen");
    assert!(r.json["transTime"].as_i64().unwrap() > 1_000_000_000_000);
    let (status, tmk) = j
        .admin
        .post(
            &format!("/admin/v1/jpos/terminals/{}/master-key", j.terminal_id),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{tmk}");
    let tmk: [u8; 16] = hex::decode(tmk["master_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let key = WorkingKey::parse(r.json["workingKey"].as_str().unwrap()).expect("working key");
    let (pin, mac) = key.open(&tmk).expect("opens with the master key");
    assert_ne!(pin, mac);
    let again = j.checkin().await;
    assert_eq!(again.json["batchNo"], "000001", "checkin resumes the batch");
    assert_ne!(
        again.json["workingKey"], r.json["workingKey"],
        "fresh keys per checkin"
    );

    // Another batch number than the current one.
    assert_eq!(j.consume(2, 1, "1.00", "0").await.status(), "77");

    // Card query.
    let q = j.post("/v1/jpos/cards", &j.head(1, 90)).await;
    assert_eq!(q.status(), "00", "{}", q.text);
    assert_eq!(q.json["pointBalance"], "100.00");
    assert_eq!(q.json["avaiablePointBalance"], "100.00");
    assert_eq!(q.json["name"], "张三");
    let mut other = j.head(1, 91);
    other[2].1 = random_pan();
    assert_eq!(j.post("/v1/jpos/cards", &other).await.status(), "14");

    // Consume 10.00 points + 20.00 cash: 20.00 points granted.
    let c1 = j.consume(1, 1, "10.00", "20.00").await;
    assert_eq!(c1.status(), "00", "{}", c1.text);
    assert_eq!(c1.json["usePoint"], "10.00");
    assert_eq!(c1.json["persentPoint"], "20.00");
    assert_eq!(c1.json["pointBalance"], "110.00");
    assert_eq!(c1.json["avaiablePointBalance"], "110.00");
    assert_eq!(c1.json["advertisement"], "欢迎参加 xxx 活动");
    assert_eq!(c1.json["serialNo"].as_str().unwrap().len(), 12);
    assert_eq!(j.points().await, 11_000);
    // A retry gets the very same reply and posts nothing; another request under the same
    // trace number is a duplicate.
    assert_eq!(j.consume(1, 1, "10.00", "20.00").await.text, c1.text);
    assert_eq!(j.consume(1, 1, "11.00", "20.00").await.status(), "94");
    assert_eq!(j.points().await, 11_000);
    // The footnote's alias path is consume too (a retry here).
    let alias = j
        .post("/v1/trans/consume", &j.consume_form(1, 1, "10.00", "20.00"))
        .await;
    assert_eq!(alias.text, c1.text);

    // Insufficient points.
    assert_eq!(j.consume(1, 2, "500.00", "0").await.status(), "51");
    assert_eq!(j.points().await, 11_000);

    // Reversal of the consume (the body is the original's): undone; a retry is the same.
    let rev = j
        .post(
            "/v1/jpos/trans/consumeReversal",
            &j.consume_form(1, 1, "10.00", "20.00"),
        )
        .await;
    assert_eq!(rev.status(), "00", "{}", rev.text);
    assert_eq!(j.points().await, 10_000);
    let rev_again = j
        .post(
            "/v1/jpos/trans/consumeReversal",
            &j.consume_form(1, 1, "10.00", "20.00"),
        )
        .await;
    assert_eq!(rev_again.text, rev.text);
    assert_eq!(j.points().await, 10_000);

    // A reversal before its original answers 25 and the late original is refused.
    let early = j
        .post(
            "/v1/jpos/trans/consumeReversal",
            &j.consume_form(1, 3, "7.00", "0"),
        )
        .await;
    assert_eq!(early.status(), "25", "{}", early.text);
    assert_eq!(j.consume(1, 3, "7.00", "0").await.status(), "12");
    assert_eq!(j.points().await, 10_000);

    // Cancel chain: consume, cancel, cancel again, cancel reversal.
    let c4 = j.consume(1, 4, "5.00", "10.00").await;
    assert_eq!(c4.status(), "00", "{}", c4.text);
    assert_eq!(j.points().await, 10_500);
    let t4 = c4.json["transTime"].as_i64().unwrap();
    let cancel = j
        .post("/v1/jpos/trans/cancel", &j.cancel_form(1, 5, 4, t4))
        .await;
    assert_eq!(cancel.status(), "00", "{}", cancel.text);
    assert_eq!(cancel.json["usePoint"], "5.00");
    assert_eq!(cancel.json["persentPoint"], "10.00");
    assert_eq!(cancel.json["pointBalance"], "100.00");
    assert_eq!(j.points().await, 10_000);
    assert_eq!(
        j.post("/v1/jpos/trans/cancel", &j.cancel_form(1, 6, 4, t4))
            .await
            .status(),
        "12"
    );
    let cancel_rev = j
        .post("/v1/jpos/trans/cancelReversal", &j.cancel_form(1, 5, 4, t4))
        .await;
    assert_eq!(cancel_rev.status(), "00", "{}", cancel_rev.text);
    assert_eq!(j.points().await, 10_500);
    // A cancel naming the wrong time finds no original.
    assert_eq!(
        j.post(
            "/v1/jpos/trans/cancel",
            &j.cancel_form(1, 7, 4, t4 - 60_000)
        )
        .await
        .status(),
        "25"
    );

    // Settlement, balanced: only consume 4 stands (1 reversed, 2 refused, 3 a tombstone,
    // 5 reversed, 6 and 7 refused).
    let figures = [
        "1", "5.00", "1", "10.00", "0", "0.00", "0", "0.00", "1", "0", "0", "0",
    ];
    let s = j
        .post("/v1/jpos/trans/settle", &j.settle_form(1, 8, figures))
        .await;
    assert_eq!(
        (s.status(), s.json["settleFlag"].as_str()),
        ("00", Some("ss")),
        "{}",
        s.text
    );
    let s_again = j
        .post("/v1/jpos/trans/settle", &j.settle_form(1, 8, figures))
        .await;
    assert_eq!(s_again.json["settleFlag"], "ss");
    // Other figures for the settled batch are a duplicate, never its stored answer.
    let mut other = figures;
    other[0] = "2";
    let dup = j
        .post("/v1/jpos/trans/settle", &j.settle_form(1, 8, other))
        .await;
    assert_eq!(dup.status(), "94", "{}", dup.text);
    let (_, batch) = j
        .admin
        .get(&format!("/admin/v1/jpos/terminals/{}", j.terminal_id))
        .await;
    assert_eq!(batch["batch_no"], "000002");
    assert_eq!(batch["checked_in"], false);
    assert_eq!(j.consume(1, 9, "1.00", "0").await.status(), "77");

    // Refunds across batches: a partial one, one over what is left, the rest, one more.
    assert_eq!(j.checkin().await.json["batchNo"], "000002");
    let serial = c4.json["serialNo"].as_str().unwrap().to_string();
    let r1 = j
        .post(
            "/v1/jpos/refunds",
            &j.refund_form(2, 1, &serial, Some(("2.00", "4.00"))),
        )
        .await;
    assert_eq!(r1.status(), "00", "{}", r1.text);
    assert_eq!(r1.json["returnPoint"], "2.00");
    assert_eq!(r1.json["returnCash"], "4.00");
    assert_eq!(r1.json["returnPersentPoint"], "4.00");
    assert_eq!(r1.json["supplyCash"], "0.00");
    assert_eq!(j.points().await, 10_300);
    assert_eq!(
        j.post(
            "/v1/jpos/refunds",
            &j.refund_form(2, 2, &serial, Some(("4.00", "0")))
        )
        .await
        .status(),
        "64"
    );
    let r3 = j
        .post("/v1/jpos/refunds", &j.refund_form(2, 3, &serial, None))
        .await;
    assert_eq!(r3.status(), "00", "{}", r3.text);
    assert_eq!(r3.json["returnPoint"], "3.00");
    assert_eq!(r3.json["returnCash"], "6.00");
    assert_eq!(r3.json["returnPersentPoint"], "6.00");
    assert_eq!(j.points().await, 10_000);
    assert_eq!(
        j.post("/v1/jpos/refunds", &j.refund_form(2, 4, &serial, None))
            .await
            .status(),
        "12"
    );
    // Refund cancel of the second refund.
    let r3_serial = r3.json["serialNo"].as_str().unwrap().to_string();
    let mut rc = j.head(2, 5);
    rc.extend([
        ("oriSerialNo", r3_serial),
        ("oriBatchNo", "000002".to_string()),
        ("oriTraceNo", "000003".to_string()),
        (
            "oriTransTime",
            r3.json["transTime"].as_i64().unwrap().to_string(),
        ),
        ("oriRegisterTraceNo", "R4".to_string()),
    ]);
    let rcr = j.post("/v1/jpos/refunds/cancel", &rc).await;
    assert_eq!(rcr.status(), "00", "{}", rcr.text);
    assert_eq!(rcr.json["usePoint"], "3.00");
    assert_eq!(rcr.json["persentPoint"], "6.00");
    assert_eq!(j.points().await, 10_300);

    // Settlement, unbalanced: posgate counts point debits 4.00 + 6.00 + 3.00 and credits
    // 2.00 + 3.00 + 6.00, two refunds; the terminal claims one refund and 12.00 of debits.
    let claimed = [
        "3", "12.00", "3", "11.00", "0", "0", "0", "0", "3", "0", "1", "0",
    ];
    let s2 = j
        .post("/v1/jpos/trans/settle", &j.settle_form(2, 6, claimed))
        .await;
    assert_eq!(s2.status(), "00", "{}", s2.text);
    assert_eq!(s2.json["settleFlag"], "ns");
    let (status, reports) = j
        .admin
        .get(&format!(
            "/admin/v1/jpos/terminals/{}/settlements?unbalanced=true",
            j.terminal_id
        ))
        .await;
    assert_eq!(status, 200, "{reports}");
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0]["batch_no"], "000002");
    assert_eq!(
        reports[0]["discrepancies"],
        json!([
            {"figure": "pointDebitAmount", "terminal": "12.00", "posgate": "13.00"},
            {"figure": "refundCount", "terminal": 1, "posgate": 2},
        ])
    );
    let (_, batch) = j
        .admin
        .get(&format!("/admin/v1/jpos/terminals/{}", j.terminal_id))
        .await;
    assert_eq!(
        batch["batch_no"], "000003",
        "an unbalanced batch closes too"
    );

    // The journal shows masked cards only.
    let rows = j.jpos_rows().await;
    assert!(rows.iter().all(|r| !r.to_string().contains(&j.pan)));
    assert!(rows.iter().any(|r| r["card_masked"].as_str()
        == Some(&format!("{}****{}", &j.pan[..6], &j.pan[j.pan.len() - 4..]))));
}

#[actix_rt::test]
async fn jpos_on_sqlite() {
    scenario(config(None)).await;
}

#[actix_rt::test]
async fn jpos_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    scenario(config(Some(url))).await;
}

async fn tickets(c: Config) {
    let j = Jpos::start(c).await;
    assert_eq!(j.checkin().await.status(), "00");
    for body in [
        json!({"ticket_id": 1, "ticket_type": "01", "name": "xx 团购券", "face_amount": 1000, "num": 5}),
        json!({"ticket_id": 2, "ticket_type": "03", "name": "xx 代金券", "face_amount": 10000, "num": 1}),
    ] {
        let (status, t) = j
            .admin
            .post(
                &format!("/admin/v1/jpos/accounts/{}/tickets", j.account),
                body,
            )
            .await;
        assert_eq!(status, 200, "{t}");
    }
    let q = j.post("/v1/jpos/tickets", &j.head(1, 90)).await;
    assert_eq!(q.status(), "00", "{}", q.text);
    assert_eq!(q.json["pointBalance"], "100.00");
    assert_eq!(
        q.json["ticket"],
        json!([
            {"id": 1, "type": "01", "amount": "10.00", "name": "xx 团购券", "num": 5},
            {"id": 2, "type": "03", "amount": "100.00", "name": "xx 代金券", "num": 1},
        ])
    );

    // Consume two group-buy tickets; a retry is answered the same and takes nothing more.
    let lines = r#"[{"id":1,"type":"01","num":2}]"#;
    let c1 = j
        .post("/v1/jpos/tickets/consume", &ticket_form(&j, 1, lines))
        .await;
    assert_eq!(c1.status(), "00", "{}", c1.text);
    assert_eq!(c1.json["advertisement"], "欢迎参加 xxx 活动");
    assert_eq!(c1.json["serialNo"].as_str().unwrap().len(), 12);
    assert_eq!(held(&j).await, [3, 1]);
    assert_eq!(
        j.post("/v1/jpos/tickets/consume", &ticket_form(&j, 1, lines))
            .await
            .text,
        c1.text
    );
    assert_eq!(held(&j).await, [3, 1]);
    // More than held, or the wrong type: 51, nothing taken.
    let too_many = r#"[{"id":1,"type":"01","num":1},{"id":2,"type":"03","num":2}]"#;
    assert_eq!(
        j.post("/v1/jpos/tickets/consume", &ticket_form(&j, 2, too_many))
            .await
            .status(),
        "51"
    );
    let wrong_type = r#"[{"id":1,"type":"02","num":1}]"#;
    assert_eq!(
        j.post("/v1/jpos/tickets/consume", &ticket_form(&j, 3, wrong_type))
            .await
            .status(),
        "51"
    );
    assert_eq!(held(&j).await, [3, 1]);

    // Reversal gives the tickets back; a reversal before its original refuses it.
    let rev = j
        .post(
            "/v1/jpos/tickets/consumeReversal",
            &ticket_form(&j, 1, lines),
        )
        .await;
    assert_eq!(rev.status(), "00", "{}", rev.text);
    assert_eq!(held(&j).await, [5, 1]);
    let again = j
        .post(
            "/v1/jpos/tickets/consumeReversal",
            &ticket_form(&j, 1, lines),
        )
        .await;
    assert_eq!(again.text, rev.text);
    assert_eq!(held(&j).await, [5, 1]);
    let early = j
        .post(
            "/v1/jpos/tickets/consumeReversal",
            &ticket_form(&j, 5, lines),
        )
        .await;
    assert_eq!(early.status(), "25", "{}", early.text);
    assert_eq!(
        j.post("/v1/jpos/tickets/consume", &ticket_form(&j, 5, lines))
            .await
            .status(),
        "12"
    );
    assert_eq!(held(&j).await, [5, 1]);

    // The voucher ticket, then settlement: one ticket debit of 100.00.
    let voucher = r#"[{"id":2,"type":"03","num":1}]"#;
    assert_eq!(
        j.post("/v1/jpos/tickets/consume", &ticket_form(&j, 6, voucher))
            .await
            .status(),
        "00"
    );
    assert_eq!(held(&j).await, [5, 0]);
    let figures = [
        "0", "0", "0", "0", "1", "100.00", "0", "0", "1", "0", "0", "0",
    ];
    let s = j
        .post("/v1/jpos/trans/settle", &j.settle_form(1, 7, figures))
        .await;
    assert_eq!(s.json["settleFlag"], "ss", "{}", s.text);
}

#[actix_rt::test]
async fn tickets_on_sqlite() {
    tickets(config(None)).await;
}

#[actix_rt::test]
async fn tickets_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    tickets(config(Some(url))).await;
}

async fn activation(c: Config) {
    let (url, mut sms) = sms_webhook().await;
    let mut c = c;
    c.jpos.sms_webhook_url = posgate::secret::Secret::new(url);
    c.jpos.verify_code_resend_seconds = 0;
    c.jpos.verify_code_sends_per_hour_max = 3;
    c.jpos.verify_code_attempts_max = 2;
    let j = Jpos::start(c).await;
    assert_eq!(j.checkin().await.status(), "00");
    let mobile = "13800000000";

    // Activation is a capability an operator grants the terminal (the fixture does):
    // revoked, the terminal is refused 58 and nothing is stored.
    let grant = format!(
        "/admin/v1/terminals/{}/capabilities/card_activation",
        j.terminal_id
    );
    let (status, _) = j.admin.send(reqwest::Method::DELETE, &grant, None).await;
    assert_eq!(status, 204);
    let r = j
        .post(
            "/v1/jpos/card/active",
            &activate_form(&j, 90, mobile, "000000"),
        )
        .await;
    assert_eq!(r.status(), "58", "{}", r.text);
    let (status, _) = j
        .admin
        .put(&grant, json!({"per_transaction_max": 0, "daily_max": 0}))
        .await;
    assert_eq!(status, 200);

    // A code through the webhook; two wrong tries kill it, even for the right code.
    let sent = send_code(&j, mobile).await;
    assert_eq!(sent.status(), "00", "{}", sent.text);
    let message = sms.recv().await.unwrap();
    assert_eq!(message["mobileNo"], mobile);
    let code = message["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 6);
    assert!(message["text"].as_str().unwrap().contains(&code));
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for trace in [1, 2] {
        let r = j
            .post(
                "/v1/jpos/card/active",
                &activate_form(&j, trace, mobile, wrong),
            )
            .await;
        assert_eq!(r.status(), "55", "{}", r.text);
    }
    let r = j
        .post("/v1/jpos/card/active", &activate_form(&j, 3, mobile, &code))
        .await;
    assert_eq!(r.status(), "75", "{}", r.text);
    // The wrong tries survive a resend (review 1.6): no new code this hour, nothing sent.
    assert_eq!(send_code(&j, mobile).await.status(), "75");
    assert!(sms.try_recv().is_err());

    // A code to another number activates the card; a retry is the same answer; the code
    // is spent.
    let mobile = "13800000001";
    let code = new_code(&j, &mut sms, mobile).await;
    let ok = j
        .post("/v1/jpos/card/active", &activate_form(&j, 4, mobile, &code))
        .await;
    assert_eq!(ok.status(), "00", "{}", ok.text);
    assert_eq!(ok.json["serialNo"].as_str().unwrap().len(), 12);
    assert_eq!(
        j.post("/v1/jpos/card/active", &activate_form(&j, 4, mobile, &code))
            .await
            .text,
        ok.text
    );
    let spent = j
        .post("/v1/jpos/card/active", &activate_form(&j, 5, mobile, &code))
        .await;
    assert_eq!(spent.status(), "68", "{}", spent.text);

    // A card is activated once.
    let code = new_code(&j, &mut sms, mobile).await;
    let twice = j
        .post("/v1/jpos/card/active", &activate_form(&j, 6, mobile, &code))
        .await;
    assert_eq!(twice.status(), "12", "{}", twice.text);

    // Three codes this hour: the fourth is refused and nothing is sent.
    assert_eq!(send_code(&j, mobile).await.status(), "00");
    assert!(sms.recv().await.is_some());
    assert_eq!(send_code(&j, mobile).await.status(), "65");
    assert!(sms.try_recv().is_err());

    // One activation in the batch.
    let figures = ["0", "0", "0", "0", "0", "0", "0", "0", "1", "0", "0", "1"];
    let s = j
        .post("/v1/jpos/trans/settle", &j.settle_form(1, 7, figures))
        .await;
    assert_eq!(s.json["settleFlag"], "ss", "{}", s.text);
}

#[actix_rt::test]
async fn activation_on_sqlite() {
    activation(config(None)).await;
}

#[actix_rt::test]
async fn activation_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    activation(config(Some(url))).await;
}

/// Codes expire: with a lifetime of 0 s, a code is dead when it arrives (the TTL is a
/// setting, so no test waits minutes).
#[actix_rt::test]
async fn verify_codes_expire() {
    let (url, mut sms) = sms_webhook().await;
    let mut c = config(None);
    c.jpos.sms_webhook_url = posgate::secret::Secret::new(url);
    c.jpos.verify_code_ttl_seconds = 0;
    let j = Jpos::start(c).await;
    assert_eq!(j.checkin().await.status(), "00");
    assert_eq!(send_code(&j, "13900000000").await.status(), "00");
    let code = sms.recv().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let r = j
        .post(
            "/v1/jpos/card/active",
            &activate_form(&j, 1, "13900000000", &code),
        )
        .await;
    assert_eq!(r.status(), "68", "{}", r.text);
    // The default resend interval (60 s) refuses an immediate second code.
    assert_eq!(send_code(&j, "13900000000").await.status(), "65");
}

/// Two replicas on one PostgreSQL database get every consume at the same moment (a terminal
/// retrying through a load balancer): each consume is posted once and both replicas answer
/// with the same reply; a refund through one of them is seen by the other.
#[actix_rt::test]
async fn two_replicas_post_each_consume_once() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    let j = Jpos::start(config(Some(url.clone()))).await;
    let other = posgate::app::start(config(Some(url)))
        .await
        .expect("second replica");
    let other_base = format!("http://{}", other.addr);
    assert_eq!(j.checkin().await.status(), "00");
    let form = "application/x-www-form-urlencoded";
    let mut serials = Vec::new();
    for trace in 1..=20 {
        let body = encode(&j.consume_form(1, trace, "1.00", "2.00"));
        let (a, b) = futures::join!(
            j.raw(
                reqwest::Method::POST,
                "/v1/jpos/trans/consume",
                Some(form),
                body.clone()
            ),
            j.raw_at(
                &other_base,
                reqwest::Method::POST,
                "/v1/jpos/trans/consume",
                Some(form),
                body
            ),
        );
        assert_eq!(a.status(), "00", "{}", a.text);
        assert_eq!(a.text, b.text, "both replicas give the first answer");
        serials.push(a.json["serialNo"].as_str().unwrap().to_string());
    }
    // 20 × (−1.00 + 2.00 granted).
    assert_eq!(j.points().await, 10_000 + 20 * 100);
    let mut refund = j.refund_form(1, 21, &serials[0], None);
    refund.retain(|(k, _)| *k != "oriRegisterTraceNo");
    refund.push(("oriRegisterTraceNo", "R1".into()));
    let r = j
        .raw_at(
            &other_base,
            reqwest::Method::POST,
            "/v1/jpos/refunds",
            Some(form),
            encode(&refund),
        )
        .await;
    assert_eq!(r.status(), "00", "{}", r.text);
    assert_eq!(j.points().await, 10_000 + 20 * 100 + 100 - 200);
    other.stop().await;
}

/// A replica that died after the ledger posting but before storing the reply: the row is
/// still `pending`. The terminal's retry finishes it with the posting's stored outcome,
/// posts nothing twice, and gets the reply the first answer would have been.
#[actix_rt::test]
async fn a_retry_finishes_a_pending_consume() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    let j = Jpos::start(config(Some(url.clone()))).await;
    assert_eq!(j.checkin().await.status(), "00");
    let first = j.consume(1, 1, "3.00", "4.00").await;
    assert_eq!(first.status(), "00", "{}", first.text);
    assert_eq!(j.points().await, 10_000 - 300 + 400);
    let store = posgate_actors::store::Store::postgres(
        &url,
        &posgate_actors::store::PgOptions::with_pool_size(1),
    )
    .await
    .expect("store");
    let key = format!("jpos:{}:{}", j.store_no, j.terminal_no);
    let reset = store
        .transaction(move |db| {
            Box::pin(async move {
                db.execute(
                    "UPDATE jpos_trans SET status = 'pending', reply = NULL, response_code = NULL \
                     WHERE terminal_key = $1 AND trace_no = '000001'",
                    &[key.into()],
                )
                .await
            })
        })
        .await
        .expect("reset");
    assert_eq!(reset, 1);
    let retry = j.consume(1, 1, "3.00", "4.00").await;
    assert_eq!(retry.text, first.text);
    assert_eq!(j.points().await, 10_000 - 300 + 400);
    assert_eq!(j.jpos_rows().await[0]["status"], "done");
}

/// Refunding a consume whose granted points were spent: the card gives back what it holds
/// and the rest is `supplyCash`, the cash the cardholder adds.
#[actix_rt::test]
async fn refund_of_spent_points_asks_for_cash() {
    let j = Jpos::start(config(None)).await;
    assert_eq!(j.checkin().await.status(), "00");
    let earn = j.consume(1, 1, "0", "50.00").await;
    assert_eq!(earn.json["persentPoint"], "50.00", "{}", earn.text);
    assert_eq!(j.points().await, 15_000);
    assert_eq!(j.consume(1, 2, "140.00", "0").await.status(), "00");
    assert_eq!(j.points().await, 1_000);
    let serial = earn.json["serialNo"].as_str().unwrap().to_string();
    let r = j
        .post("/v1/jpos/refunds", &j.refund_form(1, 3, &serial, None))
        .await;
    assert_eq!(r.status(), "00", "{}", r.text);
    assert_eq!(r.json["returnPoint"], "0.00");
    assert_eq!(r.json["returnCash"], "50.00");
    assert_eq!(r.json["returnPersentPoint"], "50.00");
    assert_eq!(r.json["supplyCash"], "40.00");
    assert_eq!(r.json["pointBalance"], "0.00");
    assert_eq!(j.points().await, 0);
    // Settlement: debits 140.00 (consume 2) + 10.00 (taken back); credits 50.00 (consume 1).
    let figures = [
        "2", "150.00", "1", "50.00", "0", "0", "0", "0", "3", "0", "1", "0",
    ];
    let s = j
        .post("/v1/jpos/trans/settle", &j.settle_form(1, 4, figures))
        .await;
    assert_eq!(s.json["settleFlag"], "ss", "{}", s.text);
}

/// Vouchers (`vaucher`) are the card's type 03 tickets: listed by the card query, taken by a
/// consume with its row, given back by its cancel, counted as ticket debits and credits.
async fn vouchers(c: Config) {
    let j = Jpos::start(c).await;
    assert_eq!(j.checkin().await.status(), "00");
    j.issue_tickets(
        json!({"ticket_id": 7, "ticket_type": "03", "name": "vv1", "face_amount": 500, "num": 2}),
    )
    .await;
    let q = j.post("/v1/jpos/cards", &j.head(1, 90)).await;
    assert_eq!(
        q.json["vaucher"],
        json!([{"id": 7, "amount": "5.00", "num": 2, "name": "vv1"}]),
        "{}",
        q.text
    );
    let with_vouchers = |trace: u32, point: &str, num: u32| {
        let mut form = j.consume_form(1, trace, point, "2.00");
        form.push(("vaucher", format!(r#"[{{"id":7,"num":{num}}}]"#)));
        form
    };
    // More vouchers than held: 51, nothing taken.
    let r = j
        .post("/v1/jpos/trans/consume", &with_vouchers(1, "1.00", 3))
        .await;
    assert_eq!(r.status(), "51", "{}", r.text);
    assert_eq!(held(&j).await, [2]);
    // Refused by the ledger (not enough points): the vouchers come back.
    let r = j
        .post("/v1/jpos/trans/consume", &with_vouchers(2, "500.00", 1))
        .await;
    assert_eq!(r.status(), "51", "{}", r.text);
    assert_eq!(held(&j).await, [2]);
    // Approved: one voucher taken; a retry takes nothing more.
    let c = j
        .post("/v1/jpos/trans/consume", &with_vouchers(3, "1.00", 1))
        .await;
    assert_eq!(c.status(), "00", "{}", c.text);
    assert_eq!(held(&j).await, [1]);
    assert_eq!(
        j.post("/v1/jpos/trans/consume", &with_vouchers(3, "1.00", 1))
            .await
            .text,
        c.text
    );
    assert_eq!(held(&j).await, [1]);
    // Cancelled: the voucher comes back; the cancel's reversal takes it again.
    let t3 = c.json["transTime"].as_i64().unwrap();
    let cancel = j
        .post("/v1/jpos/trans/cancel", &j.cancel_form(1, 4, 3, t3))
        .await;
    assert_eq!(cancel.status(), "00", "{}", cancel.text);
    assert_eq!(held(&j).await, [2]);
    let back = j
        .post("/v1/jpos/trans/cancelReversal", &j.cancel_form(1, 4, 3, t3))
        .await;
    assert_eq!(back.status(), "00", "{}", back.text);
    assert_eq!(held(&j).await, [1]);
    // Reversed consume: the voucher comes back.
    let rev = j
        .post(
            "/v1/jpos/trans/consumeReversal",
            &with_vouchers(3, "1.00", 1),
        )
        .await;
    assert_eq!(rev.status(), "00", "{}", rev.text);
    assert_eq!(held(&j).await, [2]);
    // One more consume with a voucher and its cancel: ticket debit 5.00, credit 5.00.
    let c5 = j
        .post("/v1/jpos/trans/consume", &with_vouchers(5, "1.00", 1))
        .await;
    assert_eq!(c5.status(), "00", "{}", c5.text);
    let t5 = c5.json["transTime"].as_i64().unwrap();
    assert_eq!(
        j.post("/v1/jpos/trans/cancel", &j.cancel_form(1, 6, 5, t5))
            .await
            .status(),
        "00"
    );
    assert_eq!(held(&j).await, [2]);
    let figures = [
        "2", "3.00", "2", "3.00", "1", "5.00", "1", "5.00", "2", "1", "0", "0",
    ];
    let s = j
        .post("/v1/jpos/trans/settle", &j.settle_form(1, 7, figures))
        .await;
    assert_eq!(s.json["settleFlag"], "ss", "{}", s.text);
}

#[actix_rt::test]
async fn vouchers_on_sqlite() {
    vouchers(config(None)).await;
}

#[actix_rt::test]
async fn vouchers_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    vouchers(config(Some(url))).await;
}

/// No card number, track 2 or PIN block reaches the database file.
#[actix_rt::test]
async fn no_card_data_in_the_database_file_or_the_logs() {
    let logs = common::logs::captured();
    let (url, mut sms) = sms_webhook().await;
    let dir = std::env::temp_dir().join(format!("posgate-jpos-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut c = config(None);
    c.database.sqlite_path = dir.join("posgate.db").to_string_lossy().into_owned();
    c.jpos.sms_webhook_url = posgate::secret::Secret::new(url);
    let j = Jpos::start(c).await;
    assert_eq!(j.checkin().await.status(), "00");
    assert_eq!(j.consume(1, 1, "1.00", "2.00").await.status(), "00");
    assert_eq!(j.consume(1, 1, "1.00", "2.00").await.status(), "00");
    let mut unknown = j.consume_form(1, 2, "1.00", "0");
    let other = random_pan();
    unknown[2].1 = other.clone();
    assert_eq!(
        j.post("/v1/jpos/trans/consume", &unknown).await.status(),
        "14"
    );
    // A malformed request carrying card data is refused without echoing it.
    let mut bad = j.consume_form(1, 3, "1.005", "0");
    bad.retain(|(k, _)| *k != "registerTraceNo");
    assert_eq!(j.post("/v1/jpos/trans/consume", &bad).await.status(), "30");
    // A verification code and a wrong guess at it.
    assert_eq!(send_code(&j, "13800138000").await.status(), "00");
    let code = sms.recv().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    j.post(
        "/v1/jpos/card/active",
        &activate_form(&j, 4, "13800138000", wrong),
    )
    .await;
    let pan = j.pan.clone();
    j.running.stop().await;
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(bytes.len() > 4096, "the database file was written");
    let haystack = String::from_utf8_lossy(&bytes);
    let secrets = [
        pan.as_str(),
        other.as_str(),
        "49122011519",
        "0123456789ABCDEF",
    ];
    for secret in secrets {
        assert!(
            !haystack.contains(secret),
            "found card data in the database"
        );
    }
    assert!(haystack.contains(&format!("{}****{}", &pan[..6], &pan[pan.len() - 4..])));
    let logged = common::logs::text(&logs);
    assert!(
        logged.contains("posgate listening"),
        "the capture holds the gateway's log lines"
    );
    for secret in secrets.iter().copied().chain([code.as_str()]) {
        assert!(
            !logged.contains(secret),
            "found card data or a code in the logs"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// One bad request and what it must get.
struct Bad {
    name: &'static str,
    method: reqwest::Method,
    path: &'static str,
    content_type: Option<&'static str>,
    body: String,
    http: u16,
    status: &'static str,
}

async fn bad_inputs(c: Config) {
    let j = Jpos::start(c).await;
    assert_eq!(j.checkin().await.status(), "00");
    let points = j.points().await;
    let ledger = j.ledger_rows().await;
    let form = "application/x-www-form-urlencoded";
    let consume = |edit: &dyn Fn(&mut Form)| {
        let mut pairs = j.consume_form(1, 1, "1.00", "2.00");
        edit(&mut pairs);
        encode(&pairs)
    };
    let without = |key: &'static str| consume(&move |p| p.retain(|(k, _)| *k != key));
    let with = |key: &'static str, value: &'static str| {
        consume(&move |p| {
            p.retain(|(k, _)| *k != key);
            p.push((key, value.to_string()));
        })
    };
    let case = |name, body: String, http, status| Bad {
        name,
        method: reqwest::Method::POST,
        path: "/v1/jpos/trans/consume",
        content_type: Some(form),
        body,
        http,
        status,
    };
    let mut cancel = j.head(1, 2);
    cancel.extend([
        ("oriBatchNo", "000001".to_string()),
        ("oriTraceNo", "000001".to_string()),
        ("oriTransTime", "abc".to_string()),
    ]);
    let mut refund = j.head(1, 3);
    refund.extend([
        ("oriSerialNo", "000000000001".to_string()),
        ("oriTransDate", "20141301".to_string()),
        ("oriRegisterTraceNo", "R1".to_string()),
    ]);
    let mut settle = j.head(1, 4);
    settle.push(("pointDebitCount", "1.5".to_string()));
    let cases = vec![
        case("no storeNo", without("storeNo"), 200, "30"),
        case("no terminalNo", without("terminalNo"), 200, "30"),
        case("no cardNo", without("cardNo"), 200, "30"),
        case("no traceNo", without("traceNo"), 200, "30"),
        case("no batchNo", without("batchNo"), 200, "30"),
        case("no consumeType", without("consumeType"), 200, "30"),
        case("no pointAmount", without("pointAmount"), 200, "30"),
        case("no cashAmount", without("cashAmount"), 200, "30"),
        case("amount 12.345", with("pointAmount", "12.345"), 200, "30"),
        case("amount -1", with("pointAmount", "-1"), 200, "30"),
        case("amount 1e9", with("pointAmount", "1e9"), 200, "30"),
        case("amount empty", with("pointAmount", ""), 200, "30"),
        case("amount text", with("cashAmount", "abc"), 200, "30"),
        case("amount +1", with("cashAmount", "+1"), 200, "30"),
        case("amount 1,000", with("cashAmount", "1,000"), 200, "30"),
        case(
            "amount huge",
            with("cashAmount", "99999999999999999999"),
            200,
            "13",
        ),
        case("trace 5 digits", with("traceNo", "12345"), 200, "30"),
        case("trace letters", with("traceNo", "abcdef"), 200, "30"),
        case("batch 7 digits", with("batchNo", "0000001"), 200, "30"),
        case("card too short", with("cardNo", "12"), 200, "14"),
        case(
            "card with symbols",
            with("cardNo", "6222-0212-3456"),
            200,
            "14",
        ),
        case("track2 letters", with("track2", "xyz"), 200, "36"),
        case(
            "track2 of an expired card",
            with("track2", "6222021234567890=20012011519"),
            200,
            "54",
        ),
        case("password not hex", with("password", "zz"), 200, "30"),
        case("voucher not JSON", with("vaucher", "not json"), 200, "30"),
        case(
            "voucher num 0",
            with("vaucher", r#"[{"id":1,"num":0}]"#),
            200,
            "30",
        ),
        case("store with space", with("storeNo", "a b"), 200, "30"),
        case(
            "duplicate key",
            format!("{}&storeNo=X", consume(&|_| {})),
            200,
            "30",
        ),
        case(
            "bad percent",
            format!("{}&x=%zz", consume(&|_| {})),
            200,
            "30",
        ),
        case(
            "not UTF-8",
            format!("{}&x=%FF", consume(&|_| {})),
            200,
            "30",
        ),
        case(
            "oversized body",
            format!("{}&pad={}", consume(&|_| {}), "a".repeat(17 * 1024)),
            413,
            "30",
        ),
        case(
            "body over the gateway limit",
            format!("{}&pad={}", consume(&|_| {}), "a".repeat(300 * 1024)),
            413,
            "30",
        ),
        Bad {
            content_type: Some("application/json"),
            ..case("JSON content type", consume(&|_| {}), 415, "30")
        },
        Bad {
            content_type: None,
            ..case("no content type", consume(&|_| {}), 415, "30")
        },
        Bad {
            method: reqwest::Method::GET,
            ..case("GET", String::new(), 405, "40")
        },
        Bad {
            path: "/v1/jpos/trans/nothing",
            ..case("unknown path", consume(&|_| {}), 404, "40")
        },
        Bad {
            path: "/v2/jpos/trans/consume",
            ..case("unknown version", consume(&|_| {}), 404, "40")
        },
        Bad {
            path: "/v1/jpos/trans/cancel",
            ..case("cancel time text", encode(&cancel), 200, "30")
        },
        Bad {
            path: "/v1/jpos/refunds",
            ..case("refund date 13th month", encode(&refund), 200, "30")
        },
        Bad {
            path: "/v1/jpos/trans/settle",
            ..case("settle count 1.5", encode(&settle), 200, "30")
        },
        Bad {
            path: "/v1/jpos/terminal/checkin",
            ..case(
                "checkin without operator",
                encode(&[
                    ("storeNo", j.store_no.clone()),
                    ("terminalNo", j.terminal_no.clone()),
                ]),
                200,
                "30",
            )
        },
    ];
    assert!(cases.len() >= 30);
    for bad in cases {
        let r = j
            .raw(bad.method.clone(), bad.path, bad.content_type, bad.body)
            .await;
        assert_eq!(
            (r.http, r.status()),
            (bad.http, bad.status),
            "{}: {}",
            bad.name,
            r.text
        );
        assert!(r.json["message"].is_string(), "{}: {}", bad.name, r.text);
    }
    // Nothing was posted or journaled.
    assert_eq!(j.points().await, points);
    assert_eq!(j.ledger_rows().await, ledger);
    assert!(j.jpos_rows().await.is_empty());
}

#[actix_rt::test]
async fn bad_inputs_on_sqlite() {
    bad_inputs(config(None)).await;
}

#[actix_rt::test]
async fn bad_inputs_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    bad_inputs(config(Some(url))).await;
}

/// Review 1.1: a reversal whose figures differ from the sale at its trace reverses nothing
/// and is answered `94`, never a reversal-success code (`00`, `25`, `12`), and stores
/// nothing; one that lacks only the descriptive `registerTraceNo` reverses the sale. The
/// same for a ticket consume reversal.
async fn reversal_must_match_its_original(c: Config) {
    let j = Jpos::start(c).await;
    assert_eq!(j.checkin().await.status(), "00");
    let sale = j.consume(1, 1, "10.00", "20.00").await;
    assert_eq!(sale.status(), "00", "{}", sale.text);
    assert_eq!(j.points().await, 11_000);
    for (point, cash) in [("9.00", "20.00"), ("10.00", "0")] {
        let other = j
            .post(
                "/v1/jpos/trans/consumeReversal",
                &j.consume_form(1, 1, point, cash),
            )
            .await;
        assert_eq!(other.status(), "94", "{}", other.text);
        assert_eq!(j.points().await, 11_000, "the sale stands");
    }
    let mut another_card = j.consume_form(1, 1, "10.00", "20.00");
    another_card[2].1 = random_pan();
    let r = j
        .post("/v1/jpos/trans/consumeReversal", &another_card)
        .await;
    assert_eq!(r.status(), "94", "{}", r.text);
    assert_eq!(j.consume(1, 1, "10.00", "20.00").await.text, sale.text);
    // The reversal a terminal builds without the register trace reverses the sale.
    let mut bare = j.consume_form(1, 1, "10.00", "20.00");
    bare.retain(|(k, _)| *k != "registerTraceNo");
    let rev = j.post("/v1/jpos/trans/consumeReversal", &bare).await;
    assert_eq!(rev.status(), "00", "{}", rev.text);
    assert_eq!(j.points().await, 10_000);
    assert_eq!(
        j.post("/v1/jpos/trans/consumeReversal", &bare).await.text,
        rev.text
    );

    // Tickets: a reversal naming other tickets gives nothing back.
    j.issue_tickets(json!({"ticket_id": 1, "ticket_type": "01", "name": "团购券", "face_amount": 1000, "num": 5})).await;
    let lines = r#"[{"id":1,"type":"01","num":2}]"#;
    let tc = j
        .post("/v1/jpos/tickets/consume", &ticket_form(&j, 2, lines))
        .await;
    assert_eq!(tc.status(), "00", "{}", tc.text);
    assert_eq!(held(&j).await, [3]);
    let wrong = r#"[{"id":1,"type":"01","num":3}]"#;
    let r = j
        .post(
            "/v1/jpos/tickets/consumeReversal",
            &ticket_form(&j, 2, wrong),
        )
        .await;
    assert_eq!(r.status(), "94", "{}", r.text);
    assert_eq!(held(&j).await, [3]);
    let r = j
        .post(
            "/v1/jpos/tickets/consumeReversal",
            &ticket_form(&j, 2, lines),
        )
        .await;
    assert_eq!(r.status(), "00", "{}", r.text);
    assert_eq!(held(&j).await, [5]);
}

/// Review 1.2: a reversal always completes. A cancel reversal re-applies a consume whose
/// points were spent meanwhile, and a consume reversal takes back granted points already
/// spent: the card goes below zero, the ledger flags it, the terminal gets `00`.
async fn reversals_complete_below_zero(c: Config) {
    let j = Jpos::start(c).await;
    assert_eq!(j.checkin().await.status(), "00");
    let c1 = j.consume(1, 1, "30.00", "0").await;
    assert_eq!(c1.status(), "00", "{}", c1.text);
    let t1 = c1.json["transTime"].as_i64().unwrap();
    let cancel = j
        .post("/v1/jpos/trans/cancel", &j.cancel_form(1, 2, 1, t1))
        .await;
    assert_eq!(cancel.status(), "00", "{}", cancel.text);
    assert_eq!(j.consume(1, 3, "100.00", "0").await.status(), "00");
    assert_eq!(j.points().await, 0);
    let back = j
        .post("/v1/jpos/trans/cancelReversal", &j.cancel_form(1, 2, 1, t1))
        .await;
    assert_eq!(back.status(), "00", "{}", back.text);
    assert_eq!(j.points().await, -3_000);
    assert!(ledger_flags(&j).await.contains(&"overdraft".to_string()));

    // Earn 50.00 points, spend them, reverse the earning consume.
    let (status, _) = j
        .admin
        .post(
            &format!("/admin/v1/accounts/{}/credit", j.account),
            json!({"asset": "points", "amount": 3_000, "idempotency_key": format!("top-{}", j.account)}),
        )
        .await;
    assert!(status == 200 || status == 201, "credit");
    assert_eq!(j.points().await, 0);
    let earn = j.consume(1, 4, "0", "50.00").await;
    assert_eq!(earn.json["persentPoint"], "50.00", "{}", earn.text);
    assert_eq!(j.consume(1, 5, "50.00", "0").await.status(), "00");
    assert_eq!(j.points().await, 0);
    let rev = j
        .post(
            "/v1/jpos/trans/consumeReversal",
            &j.consume_form(1, 4, "0", "50.00"),
        )
        .await;
    assert_eq!(rev.status(), "00", "{}", rev.text);
    assert_eq!(j.points().await, -5_000);
    assert!(ledger_flags(&j)
        .await
        .contains(&"void_overdraft".to_string()));
    // A retry is the same answer and moves nothing.
    let again = j
        .post(
            "/v1/jpos/trans/consumeReversal",
            &j.consume_form(1, 4, "0", "50.00"),
        )
        .await;
    assert_eq!(again.text, rev.text);
    assert_eq!(j.points().await, -5_000);
    // The card in debt cannot spend.
    assert_eq!(j.consume(1, 6, "1.00", "0").await.status(), "51");
}

/// Review 1.4: two full refunds of one `serialNo` sent at the same moment from two
/// terminals: exactly one is approved, the other gets `12`, and the cash part is returned
/// once; a cancel racing a cash-only refund likewise.
async fn racing_refunds_pay_once(c: Config) {
    let j = Jpos::start(c).await;
    assert_eq!(j.checkin().await.status(), "00");
    let (t2, t2_id) = j.other_terminal("T0000002").await;
    for trace in 1..=8u32 {
        let sale = j.consume(1, trace, "0", "20.00").await;
        assert_eq!(sale.status(), "00", "{}", sale.text);
        let serial = sale.json["serialNo"].as_str().unwrap().to_string();
        let mut a = j.refund_form(1, 100 + trace, &serial, None);
        a.retain(|(k, _)| *k != "oriRegisterTraceNo");
        a.push(("oriRegisterTraceNo", format!("R{trace}")));
        let b = from_terminal(a.clone(), &t2);
        let (ra, rb) = futures::join!(
            j.post("/v1/jpos/refunds", &a),
            j.post("/v1/jpos/refunds", &b)
        );
        let mut codes = [ra.status().to_string(), rb.status().to_string()];
        codes.sort();
        assert_eq!(codes, ["00", "12"], "{} / {}", ra.text, rb.text);
        let won = if ra.status() == "00" { &ra } else { &rb };
        assert_eq!(won.json["returnCash"], "20.00");
    }
    // Each sale: cash only, 20.00 points granted, taken back by its one refund.
    assert_eq!(j.points().await, 10_000);
    let mut rows = j.jpos_rows().await;
    rows.extend(j.rows_of(t2_id).await);
    let cash_back: i64 = rows
        .iter()
        .filter(|r| r["endpoint"] == "refund" && r["response_code"] == "00")
        .map(|r| r["cash_amount"].as_i64().unwrap())
        .sum();
    assert_eq!(cash_back, 8 * 2_000, "{rows:?}");

    // A cancel (this terminal) racing a cash-only refund (the other): one wins.
    for trace in 20..=27u32 {
        let sale = j.consume(1, trace, "0", "10.00").await;
        assert_eq!(sale.status(), "00", "{}", sale.text);
        let serial = sale.json["serialNo"].as_str().unwrap().to_string();
        let time = sale.json["transTime"].as_i64().unwrap();
        let cancel = j.cancel_form(1, trace + 100, trace, time);
        let mut refund = from_terminal(j.refund_form(1, trace + 200, &serial, None), &t2);
        refund.retain(|(k, _)| *k != "oriRegisterTraceNo");
        refund.push(("oriRegisterTraceNo", format!("R{trace}")));
        let (rc, rr) = futures::join!(
            j.post("/v1/jpos/trans/cancel", &cancel),
            j.post("/v1/jpos/refunds", &refund)
        );
        let codes = [rc.status(), rr.status()];
        assert_eq!(
            codes.iter().filter(|c| **c == "00").count(),
            1,
            "{} / {}",
            rc.text,
            rr.text
        );
        assert!(codes.contains(&"12"), "{codes:?}");
    }
    assert_eq!(j.points().await, 10_000);
}

/// Review 1.5: a merchant that issues cards inactive (`activation_required`): a card never
/// activated cannot consume or use tickets (`62`); `card/active` activates it and then it
/// spends; a blocked card (frozen account) is refused activation with `36`, not `57`.
async fn cards_spend_once_activated(c: Config) {
    let (url, mut sms) = sms_webhook().await;
    let mut c = c;
    c.jpos.sms_webhook_url = posgate::secret::Secret::new(url);
    c.jpos.verify_code_resend_seconds = 0;
    let j = Jpos::start(c).await;
    let (status, rules) = j
        .admin
        .put(
            &format!("/admin/v1/jpos/merchants/{}/rules", j.merchant),
            json!({"earn_rate_bp": 10000, "activation_required": true}),
        )
        .await;
    assert_eq!(status, 200, "{rules}");
    assert_eq!(rules["activation_required"], true);
    assert_eq!(j.checkin().await.status(), "00");
    let r = j.consume(1, 1, "1.00", "0").await;
    assert_eq!(r.status(), "62", "{}", r.text);
    j.issue_tickets(json!({"ticket_id": 1, "ticket_type": "01", "name": "团购券", "face_amount": 1000, "num": 5})).await;
    let lines = r#"[{"id":1,"type":"01","num":1}]"#;
    let r = j
        .post("/v1/jpos/tickets/consume", &ticket_form(&j, 2, lines))
        .await;
    assert_eq!(r.status(), "62", "{}", r.text);
    assert_eq!(j.points().await, 10_000);
    assert_eq!(held(&j).await, [5]);

    let mobile = "13700000000";
    let code = new_code(&j, &mut sms, mobile).await;
    let ok = j
        .post("/v1/jpos/card/active", &activate_form(&j, 3, mobile, &code))
        .await;
    assert_eq!(ok.status(), "00", "{}", ok.text);
    assert_eq!(j.consume(1, 4, "1.00", "0").await.status(), "00");
    let r = j
        .post("/v1/jpos/tickets/consume", &ticket_form(&j, 5, lines))
        .await;
    assert_eq!(r.status(), "00", "{}", r.text);
    assert_eq!(j.points().await, 9_900);

    // A blocked card is refused activation as a restricted card.
    let (status, a) = j
        .admin
        .patch(
            &format!("/admin/v1/accounts/{}", j.account),
            json!({"status": "frozen"}),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    let code = new_code(&j, &mut sms, mobile).await;
    let r = j
        .post("/v1/jpos/card/active", &activate_form(&j, 6, mobile, &code))
        .await;
    assert_eq!(r.status(), "36", "{}", r.text);
}

/// Review 1.6: `sendVerifyCode` needs a check-in (`77`), and codes are capped per terminal
/// and for all terminals per hour (`65`, nothing sent). The overall cap is checked where the
/// database is this test's own (the PostgreSQL scratch database is shared by the process's
/// tests, whose codes count too).
async fn verify_codes_are_capped(c: Config, overall: bool) {
    let (url, mut sms) = sms_webhook().await;
    let mut c = c;
    c.jpos.sms_webhook_url = posgate::secret::Secret::new(url);
    c.jpos.verify_code_sends_per_terminal_hour_max = 2;
    if overall {
        c.jpos.verify_code_sends_per_hour_total_max = 3;
    }
    let j = Jpos::start(c).await;
    let r = send_code(&j, "13600000000").await;
    assert_eq!(r.status(), "77", "{}", r.text);
    assert!(sms.try_recv().is_err());
    assert_eq!(j.checkin().await.status(), "00");
    for n in 0..2 {
        let r = send_code(&j, &format!("1360000000{n}")).await;
        assert_eq!(r.status(), "00", "{}", r.text);
        assert!(sms.recv().await.is_some());
    }
    let r = send_code(&j, "13600000009").await;
    assert_eq!(r.status(), "65", "the terminal's cap: {}", r.text);
    assert!(sms.try_recv().is_err());
    // Another terminal has its own cap, but all terminals together have one too.
    let (t2, _) = j.other_terminal("T0000002").await;
    let send = |mobile: &str| {
        from_terminal(
            vec![
                ("storeNo", j.store_no.clone()),
                ("terminalNo", j.terminal_no.clone()),
                ("mobileNo", mobile.to_string()),
            ],
            &t2,
        )
    };
    let r = j
        .post("/v1/jpos/mobile/sendVerifyCode", &send("13500000000"))
        .await;
    assert_eq!(r.status(), "00", "{}", r.text);
    assert!(sms.recv().await.is_some());
    let r = j
        .post("/v1/jpos/mobile/sendVerifyCode", &send("13500000001"))
        .await;
    if overall {
        assert_eq!(r.status(), "65", "the overall cap: {}", r.text);
        assert!(sms.try_recv().is_err());
    } else {
        assert_eq!(r.status(), "00", "{}", r.text);
        let r = j
            .post("/v1/jpos/mobile/sendVerifyCode", &send("13500000002"))
            .await;
        assert_eq!(r.status(), "65", "the second terminal's cap: {}", r.text);
    }
}

#[actix_rt::test]
async fn verify_codes_are_capped_on_sqlite() {
    verify_codes_are_capped(config(None), true).await;
}

#[actix_rt::test]
async fn verify_codes_are_capped_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    verify_codes_are_capped(config(Some(url)), false).await;
}

/// Review 1.3: a consume reversed while its row was still pending cannot run again: the
/// retry is refused `12` and neither posts nor gives the vouchers back a second time.
/// Meanwhile the pending row is listed for operators.
async fn a_reversed_pending_consume_stays_reversed(pg: bool) {
    let Some((c, store)) = with_store(pg).await else {
        return;
    };
    let j = Jpos::start(c).await;
    assert_eq!(j.checkin().await.status(), "00");
    j.issue_tickets(json!({"ticket_id": 7, "ticket_type": "03", "name": "代金券", "face_amount": 500, "num": 2})).await;
    let mut form = j.consume_form(1, 1, "10.00", "0");
    form.push(("vaucher", r#"[{"id":7,"num":1}]"#.to_string()));
    assert_eq!(j.post("/v1/jpos/trans/consume", &form).await.status(), "00");
    forget_answer(&j, &store, 1).await;
    let listed = pending_rows(&j).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["status"], "pending");
    assert_eq!(listed[0]["resolved_by"], Value::Null);

    let rev = j.post("/v1/jpos/trans/consumeReversal", &form).await;
    assert_eq!(rev.status(), "00", "{}", rev.text);
    assert_eq!((j.points().await, held(&j).await), (10_000, vec![2]));
    let retry = j.post("/v1/jpos/trans/consume", &form).await;
    assert_eq!(retry.status(), "12", "{}", retry.text);
    assert_eq!((j.points().await, held(&j).await), (10_000, vec![2]));
    assert!(pending_rows(&j).await.is_empty());
}

#[actix_rt::test]
async fn a_reversed_pending_consume_stays_reversed_on_sqlite() {
    a_reversed_pending_consume_stays_reversed(false).await;
}

#[actix_rt::test]
async fn a_reversed_pending_consume_stays_reversed_on_postgres() {
    a_reversed_pending_consume_stays_reversed(true).await;
}

/// Review 1.2: a cancel reversal completes even when the vouchers the cancel gave back were
/// used since: the consume stands again, the card keeps what it no longer holds.
async fn cancel_reversal_completes_after_vouchers_used(c: Config) {
    let j = Jpos::start(c).await;
    assert_eq!(j.checkin().await.status(), "00");
    j.issue_tickets(
        json!({"ticket_id": 7, "ticket_type": "03", "name": "代金券", "face_amount": 500, "num": 1}),
    )
    .await;
    let with_voucher = |trace: u32| {
        let mut form = j.consume_form(1, trace, "1.00", "0");
        form.push(("vaucher", r#"[{"id":7,"num":1}]"#.to_string()));
        form
    };
    let sale = j.post("/v1/jpos/trans/consume", &with_voucher(1)).await;
    assert_eq!(sale.status(), "00", "{}", sale.text);
    let time = sale.json["transTime"].as_i64().unwrap();
    let cancel = j.cancel_form(1, 2, 1, time);
    assert_eq!(
        j.post("/v1/jpos/trans/cancel", &cancel).await.status(),
        "00"
    );
    assert_eq!((j.points().await, held(&j).await), (10_000, vec![1]));
    let other = j.post("/v1/jpos/trans/consume", &with_voucher(3)).await;
    assert_eq!(other.status(), "00", "{}", other.text);
    assert_eq!((j.points().await, held(&j).await), (9_900, vec![0]));
    let back = j.post("/v1/jpos/trans/cancelReversal", &cancel).await;
    assert_eq!(back.status(), "00", "{}", back.text);
    assert_eq!((j.points().await, held(&j).await), (9_800, vec![0]));
}

/// A cash-only consume (its points are all granted) that was refunded, in part or in whole,
/// cannot be reversed, like any refunded consume: `96`, not stored, nothing moves. Its
/// refund took the granted points back already; a void took them a second time (found by
/// the jpos protocol simulation, `tests/protocol_sim_jpos.rs`).
async fn reversal_of_a_refunded_cash_consume(c: Config) {
    let j = Jpos::start(c).await;
    assert_eq!(j.checkin().await.status(), "00");
    let form = j.consume_form(1, 1, "0", "50.00");
    let sale = j.post("/v1/jpos/trans/consume", &form).await;
    assert_eq!(sale.json["persentPoint"], "50.00", "{}", sale.text);
    let serial = sale.json["serialNo"].as_str().unwrap().to_string();
    let part = j
        .post(
            "/v1/jpos/refunds",
            &j.refund_form(1, 2, &serial, Some(("0", "20.00"))),
        )
        .await;
    assert_eq!(part.json["returnPersentPoint"], "20.00", "{}", part.text);
    assert_eq!(j.points().await, 13_000);
    let rev = j.post("/v1/jpos/trans/consumeReversal", &form).await;
    assert_eq!(rev.status(), "96", "{}", rev.text);
    assert_eq!(j.points().await, 13_000);
    let rest = j
        .post("/v1/jpos/refunds", &j.refund_form(1, 3, &serial, None))
        .await;
    assert_eq!(rest.json["returnPersentPoint"], "30.00", "{}", rest.text);
    assert_eq!(j.points().await, 10_000);
    let rev = j.post("/v1/jpos/trans/consumeReversal", &form).await;
    assert_eq!(rev.status(), "96", "{}", rev.text);
    assert_eq!(j.points().await, 10_000);
}
