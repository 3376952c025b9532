//! Pospal during a database outage (PostgreSQL, its own scratch database: this test binary
//! is the only user, so the test can refuse connections to it as an operator would). A
//! notification that cannot be stored is answered 503, so Pospal retries; the retry after
//! the database is back is consumed exactly once.

mod common;

use common::{client, config, Admin};
use md5::{Digest, Md5};
use posgate_actors::testing;
use serde_json::json;

fn sign(app_key: &str, raw: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(app_key.as_bytes());
    md5.update(raw.as_bytes());
    hex::encode_upper(md5.finalize())
}

#[actix_rt::test]
async fn database_outage_answers_503_and_the_retry_is_consumed_once() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    let database = testing::pg_database_name(&url).to_string();
    let running = posgate::app::start(config(Some(url))).await.expect("start");
    let admin = Admin::new(format!("http://{}", running.addr));
    let merchant = admin.merchant().await;
    let (app_id, app_key) = ("outage-app", "outage-key-0123456789");
    let (status, _) = admin
        .put(
            &format!("/admin/v1/pospal/apps/{app_id}"),
            json!({"merchant_id": merchant, "app_key": app_key}),
        )
        .await;
    assert_eq!(status, 201);
    let raw = json!({
        "cmd": "customer.recharge", "timestamp": 1, "bornTimeStamp": 1, "version": "1.0",
        "appId": app_id,
        "body": r#"{"customerUid":77,"datetime":"2017-09-14 17:09:48","rechargeMoney":20.00}"#,
    })
    .to_string();
    let post = || {
        client()
            .post(format!("http://{}/pospal/v1/notify", running.addr))
            .header("data-signature", sign(app_key, &raw))
            .body(raw.clone())
            .send()
    };
    testing::pg_allow_connections(&database, false).await;
    let during = post().await.expect("post").status().as_u16();
    testing::pg_allow_connections(&database, true).await;
    assert_eq!(
        during, 503,
        "a notification that cannot be stored must be retried"
    );
    // Pospal's retry: consumed; a further redelivery is a duplicate.
    let mut after = 0;
    for _ in 0..3 {
        after = post().await.expect("post").status().as_u16();
        if after == 200 {
            break;
        }
        // The pool may still hold connections the outage closed: each failure drops one.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(after, 200);
    let res = post().await.expect("post");
    let reply: serde_json::Value = res.json().await.expect("json");
    assert_eq!(reply["status"], "duplicate");
    let (status, events) = admin
        .get(&format!("/admin/v1/merchants/{merchant}/pospal/events"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
    assert_eq!(events[0]["outcome"], "posted");
    let account = running
        .gateway
        .store
        .transaction(move |db| {
            Box::pin(async move {
                posgate_actors::store::catalog::find_account(db, merchant, "pospal:77").await
            })
        })
        .await
        .unwrap()
        .expect("member account");
    let (_, balances) = admin
        .get(&format!("/admin/v1/accounts/{}/balances", account.id))
        .await;
    assert_eq!(balances["cash"], 2000, "credited exactly once");
    running.stop().await;
}
