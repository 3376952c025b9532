//! jpos PIN verification over real HTTP, on SQLite and PostgreSQL: the check-in's PIN key
//! (opened with the terminal master key, as a terminal does) enciphers ISO 9564 format 0 PIN
//! blocks; a card without a PIN needs none; with one, a missing or wrong PIN gets `55`, the
//! third wrong try in a row `75`, every later one `38` until an operator resets it, and
//! none of these refusals moves money; a block under the key of an earlier check-in is a
//! wrong try; reversals need no PIN; the PIN is never stored or shown. A merchant that
//! requires the card present refuses keyed-in spending (`36`).

mod common;
#[path = "common/jpos.rs"]
mod fixture;

use common::config;
use fixture::Jpos;
use posgate_actors::testing;
use posgate_protocols::jpos::pin::{seal_pin_block, Pin};
use posgate_protocols::jpos::WorkingKey;
use serde_json::{json, Value};

#[actix_rt::test]
async fn pins_are_verified_on_sqlite() {
    scenario(Jpos::start(config(None)).await).await;
}

#[actix_rt::test]
async fn pins_are_verified_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    scenario(Jpos::start(config(Some(url))).await).await;
}

/// Checks the terminal in; returns the clear PIN key, opened as a terminal opens it.
async fn check_in(j: &Jpos) -> [u8; 16] {
    let r = j.checkin().await;
    assert_eq!(r.status(), "00", "{}", r.text);
    let path = format!("/admin/v1/jpos/terminals/{}/master-key", j.terminal_id);
    let (status, tmk) = j.admin.post(&path, json!({})).await;
    assert_eq!(status, 200, "{tmk}");
    let tmk: [u8; 16] = hex::decode(tmk["master_key"].as_str().expect("key"))
        .ok()
        .and_then(|k| k.try_into().ok())
        .expect("16 bytes");
    let key = WorkingKey::parse(r.json["workingKey"].as_str().expect("key")).expect("parse");
    key.open(&tmk).expect("opens").0
}

/// A consume of 1.00 point at `trace` with `password` (hex PIN block, or none).
async fn consume(j: &Jpos, trace: u32, password: Option<String>) -> String {
    let mut form = j.consume_form(1, trace, "1.00", "0");
    form.retain(|(name, _)| *name != "password");
    if let Some(p) = password {
        form.push(("password", p));
    }
    let r = j.post("/v1/jpos/trans/consume", &form).await;
    r.status().to_string()
}

fn block(key: &[u8; 16], pin: &str, pan: &str) -> Option<String> {
    let pin = Pin::parse(pin).expect("pin");
    Some(seal_pin_block(key, &pin, pan).expect("block").to_wire())
}

async fn set_pin(j: &Jpos, pin: Value) -> (u16, Value) {
    let path = format!("/admin/v1/accounts/{}/card-pin", j.account);
    j.admin
        .put(&path, json!({"card_number": j.pan, "pin": pin}))
        .await
}

async fn scenario(j: Jpos) {
    let key = check_in(&j).await;
    let pan = j.pan.clone();
    assert_eq!(consume(&j, 1, None).await, "00", "no PIN set: none needed");
    assert_eq!(
        consume(&j, 2, Some("0123456789ABCDEF".into())).await,
        "00",
        "and none read"
    );
    let (status, view) = set_pin(&j, json!("4821")).await;
    assert_eq!(
        (status, view["pin_set"].as_bool()),
        (200, Some(true)),
        "{view}"
    );
    assert!(!view.to_string().contains(&pan), "the card is shown masked");
    let before = j.points().await;
    assert_eq!(
        consume(&j, 3, None).await,
        "55",
        "a PIN card without a PIN block"
    );
    assert_eq!(consume(&j, 4, block(&key, "4821", &pan)).await, "00");
    assert_eq!(consume(&j, 5, block(&key, "1111", &pan)).await, "55");
    assert_eq!(
        consume(&j, 6, block(&key, "4821", &pan)).await,
        "00",
        "a right PIN clears the count"
    );
    for (trace, expected) in [(7, "55"), (8, "55"), (9, "75"), (10, "38")] {
        assert_eq!(
            consume(&j, trace, block(&key, "9999", &pan)).await,
            expected,
            "trace {trace}"
        );
    }
    assert_eq!(
        consume(&j, 11, block(&key, "4821", &pan)).await,
        "38",
        "blocked, even right"
    );
    assert_eq!(
        j.points().await,
        before - 200,
        "only the two approved consumes moved money"
    );
    let reversal = reversal(&j, 4).await;
    assert_eq!(
        reversal, "00",
        "a reversal needs no PIN, even on a blocked card"
    );
    let (status, _) = set_pin(&j, json!("4821")).await;
    assert_eq!(status, 200, "an operator resets the tries");
    assert_eq!(consume(&j, 12, block(&key, "4821", &pan)).await, "00");
    let new_key = check_in(&j).await;
    assert_eq!(
        consume(&j, 13, block(&key, "4821", &pan)).await,
        "55",
        "the old check-in's key"
    );
    assert_eq!(consume(&j, 14, block(&new_key, "4821", &pan)).await, "00");
    let (status, _) = set_pin(&j, Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(consume(&j, 15, None).await, "00", "PIN removed");
    bad_admin_requests(&j).await;
    nothing_of_the_pin_is_kept(&j).await;
    card_present_when_required(&j).await;
    j.running.stop().await;
}

/// A reversal (冲正) of the consume at `trace`.
async fn reversal(j: &Jpos, trace: u32) -> String {
    let mut form = j.consume_form(1, trace, "1.00", "0");
    form.retain(|(name, _)| *name != "password");
    j.post("/v1/jpos/trans/consumeReversal", &form)
        .await
        .status()
        .to_string()
}

async fn bad_admin_requests(j: &Jpos) {
    for (pin, field) in [
        (json!("12"), "pin"),
        (json!("12ab"), "pin"),
        (json!(1234), "pin"),
    ] {
        let (status, body) = set_pin(j, pin.clone()).await;
        assert_eq!(status, 400, "{pin}: {body}");
        assert!(
            body["field"].as_str().unwrap_or("").starts_with(field),
            "{body}"
        );
    }
    let other = j.admin.account(j.merchant, 0).await;
    let path = format!("/admin/v1/accounts/{other}/card-pin");
    let (status, _) = j
        .admin
        .put(&path, json!({"card_number": j.pan, "pin": "4821"}))
        .await;
    assert_eq!(status, 404, "the card is not this account's");
}

/// The PIN is stored as a keyed value only, and the audit log masks it.
async fn nothing_of_the_pin_is_kept(j: &Jpos) {
    let (status, page) = j.admin.get("/admin/v1/audit-log?limit=500").await;
    assert_eq!(status, 200);
    let text = page.to_string();
    assert!(
        text.contains("card-pin") && !text.contains("4821") && !text.contains(&j.pan),
        "{text}"
    );
    let verifiers = j
        .running
        .gateway
        .store
        .transaction(|db| {
            Box::pin(async move {
                db.query(
                    "SELECT pin_verifier FROM cards WHERE pin_verifier IS NOT NULL",
                    &[],
                )
                .await
            })
        })
        .await
        .expect("read");
    for row in verifiers {
        let v = row.text(0).expect("text");
        assert!(!v.contains("4821") && v.len() == 64, "{v}");
    }
}

/// With `track2_required`, a consume without `track2` (keyed in) gets `36` and moves
/// nothing; with it, approved; reversals still need none.
async fn card_present_when_required(j: &Jpos) {
    let path = format!("/admin/v1/jpos/merchants/{}/rules", j.merchant);
    let rules = json!({"earn_rate_bp": 10000, "track2_required": true});
    let (status, body) = j.admin.put(&path, rules).await;
    assert_eq!(
        (status, body["track2_required"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    let before = j.points().await;
    let mut keyed = j.consume_form(1, 20, "1.00", "0");
    keyed.retain(|(name, _)| *name != "track2" && *name != "password");
    let r = j.post("/v1/jpos/trans/consume", &keyed).await;
    assert_eq!(r.status(), "36", "keyed in: {}", r.text);
    assert_eq!(j.points().await, before);
    assert_eq!(
        consume(j, 21, None).await,
        "00",
        "swiped: the fixture's form has track2"
    );
    let (status, _) = j.admin.put(&path, json!({"earn_rate_bp": 10000})).await;
    assert_eq!(status, 200);
    let r = j
        .post("/v1/jpos/trans/consume", &{
            let mut f = keyed.clone();
            for (name, value) in f.iter_mut() {
                if *name == "traceNo" {
                    *value = "000022".into();
                }
            }
            f
        })
        .await;
    assert_eq!(r.status(), "00", "not required: keyed in is fine");
}

/// A terminal that presents more distinct cards in a minute than
/// `jpos.card_probes_per_terminal_minute_max` gets `65` for each further new card (nothing
/// journaled), while a card it presented already still passes.
#[actix_rt::test]
async fn card_probing_is_bounded_per_terminal() {
    let mut c = config(None);
    c.jpos.card_probes_per_terminal_minute_max = 3;
    let j = Jpos::start(c).await;
    assert_eq!(j.checkin().await.status(), "00");
    let query = |pan: String, trace: u32| {
        let mut form = j.head(1, trace);
        for (name, value) in form.iter_mut() {
            if *name == "cardNo" {
                *value = pan.clone();
            }
        }
        form
    };
    let probes: Vec<String> = (0..3).map(|_| fixture::random_pan()).collect();
    for (i, pan) in probes.iter().enumerate() {
        let r = j
            .post("/v1/jpos/cards", &query(pan.clone(), 100 + i as u32))
            .await;
        assert_eq!(r.status(), "14", "an unknown card, still within the limit");
    }
    let r = j
        .post("/v1/jpos/cards", &query(fixture::random_pan(), 110))
        .await;
    assert_eq!(r.status(), "65", "a fourth distinct card in the minute");
    let r = j
        .post("/v1/jpos/cards", &query(probes[0].clone(), 111))
        .await;
    assert_eq!(r.status(), "14", "a card already presented passes");
    let consume_with = |pan: &str, trace: u32| {
        let mut form = j.consume_form(1, trace, "1.00", "0");
        for (name, value) in form.iter_mut() {
            match *name {
                "cardNo" => *value = pan.to_string(),
                "track2" => *value = format!("{pan}=49122011519"),
                _ => {}
            }
        }
        form
    };
    let rows = j.jpos_rows().await.len();
    let r = j
        .post(
            "/v1/jpos/trans/consume",
            &consume_with(&fixture::random_pan(), 112),
        )
        .await;
    assert_eq!(r.status(), "65");
    assert_eq!(
        j.jpos_rows().await.len(),
        rows,
        "the refusal is not journaled"
    );
    let r = j
        .post("/v1/jpos/trans/consume", &consume_with(&probes[1], 113))
        .await;
    assert_eq!(
        r.status(),
        "14",
        "a presented card's consume is answered as usual"
    );
    assert_eq!(j.jpos_rows().await.len(), rows + 1, "and journaled");
    j.running.stop().await;
}
