//! The jpos pending-row sweeper over real HTTP, on SQLite and on PostgreSQL. A test binary
//! of its own: its gateways sweep every second, and the PostgreSQL scratch database is
//! shared by a binary's tests, whose rows set pending on purpose must not be swept.

mod common;
#[path = "common/jpos.rs"]
mod fixture;

use fixture::*;
use serde_json::json;

/// Review 1.3: a request whose answer was never stored (the terminal got `91`/`96` or
/// nothing) does not stay pending: the sweeper reverses a consume as the terminal's reversal
/// would (points and vouchers back, the consume answered `12`, a later reversal from the
/// terminal is its retry) and completes a refund as the terminal's retry would; both are
/// listed by the admin API and counted by `posgate_pending_resolved_total`.
async fn sweeper_resolves_pending(pg: bool) {
    let Some((mut c, store)) = with_store(pg).await else {
        return;
    };
    c.jpos.pending_resolve_after_seconds = 1;
    let j = Jpos::start(c).await;
    assert_eq!(j.checkin().await.status(), "00");
    j.issue_tickets(json!({"ticket_id": 7, "ticket_type": "03", "name": "代金券", "face_amount": 500, "num": 2})).await;
    let mut form = j.consume_form(1, 1, "10.00", "20.00");
    form.push(("vaucher", r#"[{"id":7,"num":1}]"#.to_string()));
    let sale = j.post("/v1/jpos/trans/consume", &form).await;
    assert_eq!(sale.status(), "00", "{}", sale.text);
    assert_eq!((j.points().await, held(&j).await), (11_000, vec![1]));
    forget_answer(&j, &store, 1).await;

    let row = resolved_by_sweeper(&j, 1).await;
    assert_eq!(row["status"], "done", "{row}");
    assert_eq!(row["response_code"], "12", "{row}");
    assert_eq!(row["state"], "reversed", "{row}");
    assert_eq!((j.points().await, held(&j).await), (10_000, vec![2]));
    // The terminal's retry is refused and posts nothing; its reversal is answered as done.
    assert_eq!(j.post("/v1/jpos/trans/consume", &form).await.status(), "12");
    let rev = j.post("/v1/jpos/trans/consumeReversal", &form).await;
    assert_eq!(rev.status(), "00", "{}", rev.text);
    assert_eq!((j.points().await, held(&j).await), (10_000, vec![2]));

    // A refund whose answer was lost is completed.
    let sale = j.consume(1, 2, "0", "30.00").await;
    assert_eq!(sale.status(), "00", "{}", sale.text);
    assert_eq!(j.points().await, 13_000);
    let serial = sale.json["serialNo"].as_str().unwrap().to_string();
    let refund = j.refund_form(1, 3, &serial, None);
    let r = j.post("/v1/jpos/refunds", &refund).await;
    assert_eq!(r.status(), "00", "{}", r.text);
    forget_answer(&j, &store, 3).await;
    let row = resolved_by_sweeper(&j, 3).await;
    assert_eq!(row["response_code"], "00", "{row}");
    assert_eq!(j.points().await, 10_000);
    let retry = j.post("/v1/jpos/refunds", &refund).await;
    assert_eq!(retry.status(), "00", "{}", retry.text);
    assert_eq!(retry.json["returnCash"], "30.00");
    assert_eq!(j.points().await, 10_000);

    // A cancel whose answer was lost is reversed: its consume stands again (re-posted, as
    // its void was posted) and can be cancelled anew.
    let sale = j.consume(1, 4, "5.00", "0").await;
    assert_eq!(sale.status(), "00", "{}", sale.text);
    let time = sale.json["transTime"].as_i64().unwrap();
    let cancel = j.cancel_form(1, 5, 4, time);
    assert_eq!(
        j.post("/v1/jpos/trans/cancel", &cancel).await.status(),
        "00"
    );
    assert_eq!(j.points().await, 10_000);
    forget_answer(&j, &store, 5).await;
    let row = resolved_by_sweeper(&j, 5).await;
    assert_eq!(row["response_code"], "12", "{row}");
    assert_eq!(row["state"], "reversed", "{row}");
    assert_eq!(j.points().await, 9_500);
    assert_eq!(
        j.post("/v1/jpos/trans/cancel", &cancel).await.status(),
        "12"
    );
    let again = j
        .post("/v1/jpos/trans/cancel", &j.cancel_form(1, 6, 4, time))
        .await;
    assert_eq!(again.status(), "00", "{}", again.text);
    assert_eq!(j.points().await, 10_000);

    let metrics = common::client()
        .get(format!("{}/metrics", j.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for outcome in ["reversed", "completed"] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("posgate_pending_resolved_total")
                    && l.contains(&format!("outcome=\"{outcome}\""))),
            "{outcome} counted"
        );
    }
}

#[actix_rt::test]
async fn sweeper_resolves_pending_on_sqlite() {
    sweeper_resolves_pending(false).await;
}

#[actix_rt::test]
async fn sweeper_resolves_pending_on_postgres() {
    sweeper_resolves_pending(true).await;
}
