//! KTV venue uploads over real HTTP: openTime versions 1-3, realtime and vouchers sealed
//! (AES-128-ECB + gzip) and plain, notify and payment_setting, every refusal code the upload
//! path can give (unknown venue, bad base64, wrong key, not gzip, bad JSON, bad fields,
//! unbalanced bills, unsealed data, too large), the revoke/modify sequences of one voucher,
//! and the venue overview. The bill scenario runs on SQLite and on PostgreSQL.

mod common;

use common::{config, Admin};
use posgate::sim::ktv_venue::{bill, bill_net, realtime, Uploader};
use posgate_actors::testing;
use posgate_protocols::ktv::{AesKey, CompanyCode, RetCode, WireReply};
use serde_json::{json, Value};

const KEY_TEXT: &str = "venue-key-16byte";

struct Venue {
    running: posgate::app::Running,
    admin: Admin,
    code: String,
    sealed: Uploader,
    plain: Uploader,
}

fn random_code() -> String {
    format!("{:08}", rand::random::<u32>() % 100_000_000)
}

fn key() -> AesKey {
    AesKey::from_text(KEY_TEXT).unwrap()
}

/// A gateway with a venue whose key is set; `encrypted` as given.
async fn venue(pg: Option<String>, encrypted: bool) -> Venue {
    venue_with(config(pg), encrypted).await
}

/// [`venue`] on a gateway of configuration `c`.
async fn venue_with(c: posgate::config::Config, encrypted: bool) -> Venue {
    let mode = posgate_protocols::ktv::AesMode::parse(&c.ktv.cipher_mode).unwrap();
    let running = posgate::app::start(c).await.expect("start gateway");
    let admin = Admin::new(format!("http://{}", running.addr));
    let merchant = admin.merchant().await;
    let code = random_code();
    let (status, v) = admin
        .post(
            "/admin/v1/venues",
            json!({"companycode": code, "merchant_id": merchant, "name": "KTV"}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let (status, s) = admin
        .send(
            reqwest::Method::PUT,
            &format!("/admin/v1/venues/{code}/ktv"),
            Some(json!({"key": KEY_TEXT, "encrypted": encrypted})),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["key_set"], true);
    assert_eq!(s["encrypted"], encrypted);
    assert!(!s.to_string().contains(KEY_TEXT), "the key is never shown");
    let base = format!("http://{}/gateway/upload", running.addr);
    let company = CompanyCode::parse(&code).unwrap();
    Venue {
        sealed: Uploader::new(base.clone(), company.clone(), Some(key())).with_mode(mode),
        plain: Uploader::new(base, company, None),
        running,
        admin,
        code,
    }
}

impl Venue {
    async fn overview(&self) -> Value {
        let (status, o) = self
            .admin
            .get(&format!("/admin/v1/venues/{}/overview", self.code))
            .await;
        assert_eq!(status, 200, "{o}");
        o
    }

    async fn day(&self, date: &str) -> Value {
        let o = self.overview().await;
        o["days"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["business_date"] == date)
            .cloned()
            .unwrap_or(Value::Null)
    }

    async fn bills(&self, date: &str) -> Vec<Value> {
        let (status, b) = self
            .admin
            .get(&format!("/admin/v1/venues/{}/bills?date={date}", self.code))
            .await;
        assert_eq!(status, 200, "{b}");
        b.as_array().unwrap().clone()
    }

    async fn raw(&self, kind: &str, body: &str) -> WireReply {
        let res = common::client()
            .post(format!(
                "http://{}/gateway/upload/{kind}",
                self.running.addr
            ))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "upload answers are always HTTP 200");
        res.json().await.unwrap()
    }
}

fn ret(reply: &WireReply) -> Option<RetCode> {
    reply.code()
}

/// Adds `delta` fen to a bill's room charge and its first payment, keeping it balanced.
fn grow(bill: &mut Value, delta: i64) {
    let room = bill["charges"][0]["charge"].as_i64().unwrap();
    bill["charges"][0]["charge"] = (room + delta).into();
    for field in ["value", "translatemoney"] {
        let v = bill["payments"][0][field].as_i64().unwrap();
        bill["payments"][0][field] = (v + delta).into();
    }
}

fn net(bill: &Value) -> i64 {
    bill_net(bill)
}

#[actix_rt::test]
async fn open_time_versions_and_refusals() {
    let v = venue(None, true).await;
    let ok = |r: WireReply| assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
    let base = json!({"system": "TongYu-v1.201803152201", "open_time": "12:00:00", "close_time": "03:00:00"});
    let mut v2 = base.clone();
    v2["version_num"] = 1234.into();
    let mut v3 = v2.clone();
    v3["gateway"] = 0.into();
    ok(v.plain
        .post(
            "openTime",
            &json!({"companycode": v.code, "version": "1.0", "data": base}),
        )
        .await
        .unwrap());
    let o = v.overview().await;
    assert_eq!(o["state"]["open_time_version"], 1);
    assert_eq!(o["state"]["version_num"], Value::Null);
    ok(v.plain
        .post(
            "openTime",
            &json!({"companycode": v.code, "version": "2.0", "data": v2}),
        )
        .await
        .unwrap());
    assert_eq!(v.overview().await["state"]["version_num"], 1234);
    ok(v.plain
        .post(
            "openTime",
            &json!({"companycode": v.code, "version": "3.0", "data": v3}),
        )
        .await
        .unwrap());
    let o = v.overview().await;
    assert_eq!(o["state"]["open_time_version"], 3);
    assert_eq!(o["state"]["gateway_mode"], 0);
    assert_eq!(o["state"]["system"], "TongYu-v1.201803152201");
    assert_eq!(o["state"]["close_time"], "03:00:00");
    assert!(o["state"]["open_time_at_ms"].as_i64().unwrap() > 0);
    // Version 2 without version_num, version 4, unknown venue, unknown path.
    let r = v
        .plain
        .post(
            "openTime",
            &json!({"companycode": v.code, "version": "2.0", "data": base}),
        )
        .await
        .unwrap();
    assert_eq!(ret(&r), Some(RetCode::FieldInvalid));
    let r = v
        .plain
        .post(
            "openTime",
            &json!({"companycode": v.code, "version": "4.0", "data": v3}),
        )
        .await
        .unwrap();
    assert_eq!(ret(&r), Some(RetCode::UnsupportedVersion));
    let r = v
        .plain
        .post(
            "openTime",
            &json!({"companycode": "99999999x", "version": "1.0", "data": base}),
        )
        .await
        .unwrap();
    assert_eq!(ret(&r), Some(RetCode::UnknownVenue), "{r:?}");
    let r = v
        .raw(
            "members",
            &json!({"companycode": v.code, "data": []}).to_string(),
        )
        .await;
    assert_eq!(ret(&r), Some(RetCode::UnknownPath));
    let r = v.raw("openTime", "{\"companycode\": ").await;
    assert_eq!(ret(&r), Some(RetCode::BadJson));
    v.running.stop().await;
}

#[actix_rt::test]
async fn realtime_sealed_plain_and_crypto_failures() {
    let v = venue(None, true).await;
    let snapshot = realtime(5, 18_203_300);
    let r = v
        .sealed
        .realtime("2018-01-03 21:02:12", &snapshot)
        .await
        .unwrap();
    assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
    let o = v.overview().await;
    let rt = &o["state"]["realtime"];
    assert_eq!(rt["revenue"], 18_203_300);
    assert_eq!(rt["gua_zhang"], 3_400_000);
    assert_eq!(rt["xiao_zhang"], 2_100_000);
    assert_eq!(rt["uncheckout_wine"], 230_000);
    assert_eq!(rt["voucher"], 2);
    let names: Vec<&str> = rt["room_states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["room_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["K01", "K02", "K03", "K04", "K05"],
        "rooms in upload order"
    );
    assert_eq!(o["state"]["realtime_date"], "2018-01-03 21:02:12");
    // A later snapshot with rooms in another order replaces it, order kept.
    let mut reordered = realtime(3, 100);
    reordered["room_states"].as_array_mut().unwrap().reverse();
    assert_eq!(
        ret(&v
            .sealed
            .realtime("2018-01-03 21:05:00", &reordered)
            .await
            .unwrap()),
        Some(RetCode::Ok)
    );
    let o = v.overview().await;
    let names: Vec<&str> = o["state"]["realtime"]["room_states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["room_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["K03", "K02", "K01"]);
    assert_eq!(o["state"]["realtime"]["revenue"], 100);

    // Plain data to an encrypted venue.
    let r = v
        .plain
        .realtime("2018-01-03 21:06:00", &snapshot)
        .await
        .unwrap();
    assert_eq!(ret(&r), Some(RetCode::DataNotSealed));
    // Wrong key: AES padding (or, rarely, gzip) fails.
    let wrong = Uploader::new(
        v.sealed.base.clone(),
        v.sealed.companycode.clone(),
        Some(AesKey::from_bytes([7; 16])),
    );
    let r = wrong
        .realtime("2018-01-03 21:06:00", &snapshot)
        .await
        .unwrap();
    assert!(
        matches!(
            ret(&r),
            Some(RetCode::DecryptFailed | RetCode::DecompressFailed)
        ),
        "{r:?}"
    );
    assert_eq!(ret(&wrong.realtime("x", &snapshot).await.unwrap()), ret(&r));
    // Not base64.
    let r = v
        .raw(
            "realtime",
            &json!({"companycode": v.code, "data": "not base64 !!"}).to_string(),
        )
        .await;
    assert_eq!(ret(&r), Some(RetCode::BadBase64));
    // Valid AES around bytes that are not gzip.
    {
        use base64::Engine;
        let raw = aes_ecb_pkcs7(&key(), b"{\"revenue\": 1}");
        let data = base64::engine::general_purpose::STANDARD.encode(raw);
        let r = v
            .raw(
                "realtime",
                &json!({"companycode": v.code, "data": data}).to_string(),
            )
            .await;
        assert_eq!(ret(&r), Some(RetCode::DecompressFailed), "{r:?}");
    }
    // Sealed JSON that is not JSON, and JSON of the wrong shape.
    let r = v
        .raw(
            "realtime",
            &json!({"companycode": v.code, "data": posgate_protocols::ktv::seal(&key(), b"{oops")})
                .to_string(),
        )
        .await;
    assert_eq!(ret(&r), Some(RetCode::BadJson));
    let r = v
        .sealed
        .realtime("d", &json!({"revenue": "12.345"}))
        .await
        .unwrap();
    assert_eq!(ret(&r), Some(RetCode::FieldInvalid));
    // Unknown venue, sealed.
    let stranger = Uploader::new(
        v.sealed.base.clone(),
        CompanyCode::parse("00000001").unwrap(),
        Some(key()),
    );
    assert_eq!(
        ret(&stranger.realtime("d", &snapshot).await.unwrap()),
        Some(RetCode::UnknownVenue)
    );
    // Nothing of the refused uploads was stored.
    assert_eq!(v.overview().await["state"]["realtime"]["revenue"], 100);
    v.running.stop().await;
}

/// AES-128-ECB-PKCS7 of `plain` (under 16 bytes) without gzip, to build a decompression
/// failure. ECB encrypts blocks independently, and `wrap` is AES-ECB of a 16-byte block
/// (plus a padding block): so the first block of wrapping the PKCS7-padded `plain` is its
/// one-block ciphertext.
fn aes_ecb_pkcs7(key: &AesKey, plain: &[u8]) -> Vec<u8> {
    assert!(plain.len() < 16);
    let mut block = [0u8; 16];
    let pad = (16 - plain.len()) as u8;
    block[..plain.len()].copy_from_slice(plain);
    for b in &mut block[plain.len()..] {
        *b = pad;
    }
    let wrapped = hex::decode(AesKey::from_bytes(block).wrap(key)).unwrap();
    wrapped[..16].to_vec()
}

#[actix_rt::test]
async fn unencrypted_venue_takes_plain_json() {
    let v = venue(None, false).await;
    let snapshot = realtime(2, 500);
    assert_eq!(
        ret(&v
            .plain
            .realtime("2024-05-01 20:00:00", &snapshot)
            .await
            .unwrap()),
        Some(RetCode::Ok)
    );
    // Sealed data is still accepted from it (its key is set).
    assert_eq!(
        ret(&v
            .sealed
            .realtime("2024-05-01 20:01:00", &snapshot)
            .await
            .unwrap()),
        Some(RetCode::Ok)
    );
    let bills = vec![bill("2024-05-01", 1), bill("2024-05-01", 2)];
    assert_eq!(
        ret(&v.plain.vouchers(&bills).await.unwrap()),
        Some(RetCode::Ok)
    );
    let day = v.day("2024-05-01").await;
    assert_eq!(day["bills"], 2);
    assert_eq!(day["revenue"], net(&bills[0]) + net(&bills[1]));
    v.running.stop().await;
}

/// Review 5.4 and 5.1: a keyed venue's notify and payment_setting must be sealed (plain ones
/// are refused and change nothing); the legacy `status` reads as the spec's example means it
/// (1 in use), and is stored under the table's `dictionarystatus` (0 启用).
#[actix_rt::test]
async fn notify_and_payment_settings() {
    let v = venue(None, true).await;
    let notice = json!([{"guest_name": "老刘忙", "guest_phone": "136607210053", "remark": "黑名单用户",
        "reserve_time": "2019-04-01 12:00:00", "cancel_time": "2019-03-27 23:00:00", "room_id": "00012",
        "room_name": "小红房", "staff_code": "T11102", "staff_name": "陈鸿", "voucher": "080421550729785262936"}]);
    let r = v
        .plain
        .post(
            "notify",
            &json!({"companycode": v.code, "version": 1, "data": notice}),
        )
        .await
        .unwrap();
    assert_eq!(ret(&r), Some(RetCode::DataNotSealed), "{r:?}");
    assert_eq!(v.overview().await["state"]["notify_at_ms"], Value::Null);
    // Sealed is accepted, and a re-sent notice is kept once (no error).
    let body = v.sealed.body(json!({"version": 1}), &notice);
    for _ in 0..2 {
        let r = v.sealed.post("notify", &body).await.unwrap();
        assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
        assert_eq!(r.msg, "OK");
    }
    let settings = json!([{"payment_type_id": 1, "payment_type_name": "人民币", "payment_alias_name": "人民币", "status": 1, "network_payment": 0},
        {"payment_type_id": 2, "payment_type_name": "微信", "payment_alias_name": "微信支付", "status": 1, "network_payment": 2},
        {"payment_type_id": 5, "payment_type_name": "优惠券", "payment_alias_name": "K米优惠券", "status": 0, "network_payment": 0}]);
    // Plain settings from anyone: refused, nothing stored.
    let r = v
        .plain
        .post(
            "payment_setting",
            &json!({"companycode": v.code, "version": 1, "data": settings}),
        )
        .await
        .unwrap();
    assert_eq!(ret(&r), Some(RetCode::DataNotSealed), "{r:?}");
    assert_eq!(v.overview().await["state"]["payment_settings"], Value::Null);
    let r = v
        .sealed
        .post(
            "payment_setting",
            &v.sealed.body(json!({"version": 1}), &settings),
        )
        .await
        .unwrap();
    assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
    let o = v.overview().await;
    let stored = o["state"]["payment_settings"].as_array().unwrap().clone();
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[1]["payment_alias_name"], "微信支付");
    // 人民币 `status: 1` is in use: dictionarystatus 0 (启用); the coupon's 0 is 停用.
    assert_eq!(stored[0]["dictionarystatus"], 0, "{stored:?}");
    assert_eq!(stored[2]["dictionarystatus"], 1, "{stored:?}");
    // The table's own name keeps the table's meaning.
    let table = json!([{"payment_type_id": 1, "dictionarystatus": 1, "bindalipay": 0}]);
    let r = v
        .sealed
        .post("payment_setting", &v.sealed.body(json!({}), &table))
        .await
        .unwrap();
    assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
    let o = v.overview().await;
    assert_eq!(o["state"]["payment_settings"][0]["dictionarystatus"], 1);
    assert!(o["state"]["notify_at_ms"].as_i64().unwrap() > 0);
    assert!(o["state"]["payment_settings_at_ms"].as_i64().unwrap() > 0);
    // The notice, once, without the guest's phone number.
    let (status, notices) = v
        .admin
        .get(&format!("/admin/v1/venues/{}/notices", v.code))
        .await;
    assert_eq!(status, 200, "{notices}");
    assert_eq!(notices.as_array().unwrap().len(), 1, "{notices}");
    assert_eq!(notices[0]["voucher"], "080421550729785262936");
    assert_eq!(notices[0]["room_name"], "小红房");
    assert!(!notices.to_string().contains("136607210053"));
    let (status, _) = v.admin.get("/admin/v1/venues/nope/notices").await;
    assert_eq!(status, 404);
    let r = v
        .sealed
        .post(
            "payment_setting",
            &v.sealed.body(json!({}), &json!([{"payment_type_name": 3}])),
        )
        .await
        .unwrap();
    assert_eq!(ret(&r), Some(RetCode::FieldInvalid));
    let metrics = common::client()
        .get(format!("http://{}/metrics", v.running.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("posgate_ktv_uploads_total")
                && l.contains("kind=\"payment_setting\"")
                && l.contains("ret=\"field_invalid\"")),
        "uploads are counted by kind and ret"
    );
    v.running.stop().await;
}

/// Bills: balanced batches counted by business date, unbalanced refused whole, and one
/// voucher through modify 0 (conflict), 反结账, void and 还原.
async fn bill_scenario(pg: Option<String>) {
    let v = venue(pg, true).await;
    let date = "2022-10-09";
    let bills: Vec<Value> = (0..4).map(|n| bill(date, n)).collect();
    let r = v.sealed.vouchers(&bills).await.unwrap();
    assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
    let expected: i64 = bills.iter().map(net).sum();
    let day = v.day(date).await;
    assert_eq!(day["bills"], 4);
    assert_eq!(day["counted"], 4);
    assert_eq!(day["revenue"], expected);
    assert_eq!(day["payments"], expected);
    assert!(
        v.overview().await["state"]["vouchers_at_ms"]
            .as_i64()
            .unwrap()
            > 0
    );

    // Unbalanced: the whole batch is refused, every differing figure named.
    let mut bad = bill(date, 10);
    bad["charges"][0]["charge"] = 1.into();
    let mut bad_member = bill(date, 12);
    bad_member["payments"][1]["member_present"] = 0.into();
    let r = v
        .sealed
        .vouchers(&[bill(date, 11), bad.clone(), bad_member])
        .await
        .unwrap();
    assert_eq!(ret(&r), Some(RetCode::Unbalanced), "{r:?}");
    assert!(
        r.msg.contains(bad["voucher"].as_str().unwrap()),
        "{}",
        r.msg
    );
    assert!(r.msg.contains("charges total"), "{}", r.msg);
    assert!(r.msg.contains("member_cash"), "{}", r.msg);
    assert_eq!(
        v.day(date).await["bills"],
        4,
        "nothing of a refused batch is stored"
    );

    // The same bill again: accepted, unchanged.
    let mut a = bills[1].clone();
    assert_eq!(
        ret(&v.sealed.vouchers(std::slice::from_ref(&a)).await.unwrap()),
        Some(RetCode::Ok)
    );
    // Other content under the same voucher without modify: refused, nothing changes.
    grow(&mut a, 500);
    let r = v.sealed.vouchers(std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(ret(&r), Some(RetCode::FieldInvalid), "{r:?}");
    assert_eq!(v.day(date).await["revenue"], expected);
    // 反结账 (modify 1): replaces.
    a["modify"] = 1.into();
    assert_eq!(
        ret(&v.sealed.vouchers(std::slice::from_ref(&a)).await.unwrap()),
        Some(RetCode::Ok)
    );
    assert_eq!(v.day(date).await["revenue"], expected + 500);
    let stored = v.bills(date).await;
    let row = stored
        .iter()
        .find(|b| b["voucher"] == a["voucher"])
        .unwrap();
    assert_eq!(row["revision"], 2);
    assert_eq!(row["modify"], 1);
    // Void (revoke 2, 预买转后结): out of revenue, still listed.
    a["revoke"] = 2.into();
    assert_eq!(
        ret(&v.sealed.vouchers(std::slice::from_ref(&a)).await.unwrap()),
        Some(RetCode::Ok)
    );
    let day = v.day(date).await;
    assert_eq!(day["bills"], 4);
    assert_eq!(day["counted"], 3);
    assert_eq!(day["voided"], 1);
    assert_eq!(day["revenue"], expected - net(&bills[1]));
    // 还原 (modify 2) then settled again with other figures: back in revenue, replaced.
    a["revoke"] = 0.into();
    a["modify"] = 2.into();
    grow(&mut a, 100);
    assert_eq!(
        ret(&v.sealed.vouchers(std::slice::from_ref(&a)).await.unwrap()),
        Some(RetCode::Ok)
    );
    let day = v.day(date).await;
    assert_eq!(day["counted"], 4);
    assert_eq!(day["revenue"], expected + 600);
    let row = v
        .bills(date)
        .await
        .into_iter()
        .find(|b| b["voucher"] == a["voucher"])
        .unwrap();
    assert_eq!(row["revision"], 4);

    // business_date decides the day, not the checkout time; details.num is a float.
    let mut late = bill("2022-10-10", 77);
    late["business_date"] = "2022-10-09 00:00:00".into();
    late["charges"][1]["details"][0]["num"] = 0.75.into();
    assert_eq!(
        ret(&v.sealed.vouchers(&[late]).await.unwrap()),
        Some(RetCode::Ok)
    );
    assert_eq!(v.day(date).await["bills"], 5);
    assert_eq!(v.day("2022-10-10").await, Value::Null);

    // One voucher twice in one batch: the last occurrence is what is stored.
    let mut twice = bill(date, 200);
    let first = twice.clone();
    grow(&mut twice, 40);
    twice["modify"] = 1.into();
    assert_eq!(
        ret(&v.sealed.vouchers(&[first, twice.clone()]).await.unwrap()),
        Some(RetCode::Ok)
    );
    let row = v
        .bills(date)
        .await
        .into_iter()
        .find(|b| b["voucher"] == twice["voucher"])
        .unwrap();
    assert_eq!(row["net"], net(&twice));
    assert_eq!(row["revision"], 1);

    // Plain vouchers to an encrypted venue.
    assert_eq!(
        ret(&v.plain.vouchers(&[bill(date, 90)]).await.unwrap()),
        Some(RetCode::DataNotSealed)
    );
    v.running.stop().await;
}

#[actix_rt::test]
async fn bills_on_sqlite() {
    bill_scenario(None).await;
}

#[actix_rt::test]
async fn bills_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    bill_scenario(Some(url)).await;
}

#[actix_rt::test]
async fn oversized_upload_is_refused() {
    let mut c = config(None);
    c.ktv.upload_body_bytes_max = 4096;
    let running = posgate::app::start(c).await.unwrap();
    let body = json!({"companycode": "01103", "data": "A".repeat(5000)}).to_string();
    let res = common::client()
        .post(format!("http://{}/gateway/upload/vouchers", running.addr))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let r: WireReply = res.json().await.unwrap();
    assert_eq!(r.code(), Some(RetCode::TooLarge));
    running.stop().await;
}

#[actix_rt::test]
async fn the_venue_key_is_never_logged() {
    let logs = common::logs::captured();
    let v = venue(None, true).await;
    let snapshot = realtime(2, 500);
    let r = v
        .sealed
        .realtime("2018-01-03 21:02:12", &snapshot)
        .await
        .unwrap();
    assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
    let wrong = Uploader::new(
        v.sealed.base.clone(),
        v.sealed.companycode.clone(),
        Some(AesKey::from_bytes([7; 16])),
    );
    wrong
        .realtime("2018-01-03 21:02:13", &snapshot)
        .await
        .unwrap();
    v.running.stop().await;
    let text = common::logs::text(&logs);
    assert!(text.contains("posgate listening"), "the capture works");
    assert!(!text.contains(KEY_TEXT), "the venue key is in the logs");
    assert!(
        !text.contains(&hex::encode(KEY_TEXT)) && !text.contains(&hex::encode_upper(KEY_TEXT)),
        "the venue key (hex) is in the logs"
    );
}

#[actix_rt::test]
async fn cbc_mode_when_configured() {
    let mut c = config(None);
    c.ktv.cipher_mode = "aes-128-cbc-pkcs7".into();
    let v = venue_with(c, true).await;
    let snapshot = realtime(2, 700);
    let r = v
        .sealed
        .realtime("2018-01-03 21:02:12", &snapshot)
        .await
        .unwrap();
    assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
    assert_eq!(v.overview().await["state"]["realtime"]["revenue"], 700);
    // Data sealed the default (ECB) way does not open under CBC.
    let ecb = Uploader::new(
        v.sealed.base.clone(),
        v.sealed.companycode.clone(),
        Some(key()),
    );
    let r = ecb
        .realtime("2018-01-03 21:02:13", &realtime(2, 900))
        .await
        .unwrap();
    assert!(
        matches!(
            ret(&r),
            Some(RetCode::DecryptFailed | RetCode::DecompressFailed)
        ),
        "{r:?}"
    );
    assert_eq!(v.overview().await["state"]["realtime"]["revenue"], 700);
    v.running.stop().await;
}

/// The venue's completeness of `date` (`GET .../days`).
async fn completeness(v: &Venue, date: &str) -> Value {
    let (status, days) = v
        .admin
        .get(&format!(
            "/admin/v1/venues/{}/days?from={date}&to={date}",
            v.code
        ))
        .await;
    assert_eq!(status, 200, "{days}");
    days.as_array()
        .unwrap()
        .first()
        .cloned()
        .unwrap_or(Value::Null)
}

/// A stored bill as posgate read it (`GET .../bills/{voucher}`).
async fn stored_bill(v: &Venue, voucher: &str) -> Value {
    let (status, b) = v
        .admin
        .get(&format!("/admin/v1/venues/{}/bills/{voucher}", v.code))
        .await;
    assert_eq!(status, 200, "{b}");
    b
}

/// Review 5.8: the spec's own spellings (`checkoutVoucher`, `deatils`, `room_available`),
/// counts written as doubles (`"num": 3.0`) and a UTF-8 BOM are read, not dropped or refused.
async fn spelling_variants(pg: Option<String>) {
    let v = venue(pg, true).await;
    let date = "2024-05-01";
    let mut b = bill(date, 3);
    let voucher = b["voucher"].as_str().unwrap().to_string();
    let opening = b
        .as_object_mut()
        .unwrap()
        .remove("checkout_voucher")
        .unwrap();
    b["checkoutVoucher"] = opening.clone();
    let details = b["charges"][1]
        .as_object_mut()
        .unwrap()
        .remove("details")
        .unwrap();
    b["charges"][1]["deatils"] = details;
    let mut body = v.sealed.body(
        json!({"version": "1.0", "num": 3.0, "total": 3.0}),
        &json!([b]),
    );
    body["date"] = date.into();
    let bom = format!("\u{feff}{body}");
    let r = v.raw("vouchers", &bom).await;
    assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
    let stored = stored_bill(&v, &voucher).await;
    assert_eq!(stored["bill"]["checkout_voucher"], opening, "{stored}");
    assert_eq!(
        stored["bill"]["charges"][1]["details"][0]["material_name"], "青岛啤酒",
        "{stored}"
    );
    assert_eq!(completeness(&v, date).await["upload_num"], 3);
    // room_available (next to the example's room_avaiable) in a realtime snapshot.
    let mut snapshot = realtime(2, 1_000);
    let room = snapshot["room_states"][0].as_object_mut().unwrap();
    room.remove("room_avaiable");
    room.insert("room_available".into(), json!(1));
    let r = v
        .sealed
        .realtime("2024-05-01 21:00:00", &snapshot)
        .await
        .unwrap();
    assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
    let o = v.overview().await;
    assert_eq!(
        o["state"]["realtime"]["room_states"][0]["room_avaiable"], 1,
        "{o}"
    );
    v.running.stop().await;
}

#[actix_rt::test]
async fn spelling_variants_on_sqlite() {
    spelling_variants(None).await;
}

#[actix_rt::test]
async fn spelling_variants_on_postgres() {
    let Some(pg) = testing::scratch_pg_url() else {
        return;
    };
    spelling_variants(Some(pg)).await;
}

/// Sets the venue's opening hours (openTime, plain by the spec).
async fn open_hours(v: &Venue, open: &str, close: &str) {
    let body = json!({"companycode": v.code, "version": "1.0",
        "data": {"system": "TongYu", "open_time": open, "close_time": close}});
    let r = v.plain.post("openTime", &body).await.unwrap();
    assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
}

/// Review 5.5, 5.6 and 5.3: a re-sent bill equal in meaning (`rate` "1.0" vs 1) is
/// unchanged, not a conflict failing the batch; a delayed older revision does not replace
/// the newer one; a bill without `business_date` settled at 01:30 belongs to the previous
/// business day of a venue closing at 03:00; `num` makes a day incomplete until every bill
/// of it is stored.
async fn revisions_days_and_num(pg: Option<String>) {
    let v = venue(pg, true).await;
    let date = "2024-03-15";
    // 5.5: the same bill, `rate` written differently.
    let mut a = bill(date, 1);
    a["payments"][0]["rate"] = "1.0".into();
    let mut a_again = a.clone();
    a_again["payments"][0]["rate"] = 1.into();
    let other = bill(date, 2);
    assert_eq!(
        ret(&v.sealed.vouchers(&[a.clone()]).await.unwrap()),
        Some(RetCode::Ok)
    );
    let r = v.sealed.vouchers(&[a_again, other.clone()]).await.unwrap();
    assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
    assert_eq!(v.day(date).await["bills"], 2, "the batch was not refused");
    // 5.5: 反结账 revisions; the older one arrives last and changes nothing.
    let mut newer = a.clone();
    newer["modify"] = 1.into();
    newer["checkout_datetime"] = format!("{date} 23:30:00").into();
    grow(&mut newer, 500);
    let mut older = a.clone();
    older["modify"] = 1.into();
    older["checkout_datetime"] = format!("{date} 23:10:00").into();
    grow(&mut older, 200);
    for rev in [&newer, &older] {
        let r = v.sealed.vouchers(std::slice::from_ref(rev)).await.unwrap();
        assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
    }
    let voucher = a["voucher"].as_str().unwrap();
    let stored = stored_bill(&v, voucher).await;
    assert_eq!(stored["revision"], 2, "{stored}");
    assert_eq!(
        stored["bill"]["checkout_datetime"],
        format!("{date} 23:30:00")
    );
    assert_eq!(v.day(date).await["revenue"], net(&newer) + net(&other));

    // 5.6: no business_date, settled 01:30 the next calendar day.
    open_hours(&v, "12:00:00", "03:00:00").await;
    let mut late = bill(date, 3);
    late.as_object_mut().unwrap().remove("business_date");
    late["checkout_datetime"] = "2024-03-16 01:30:00".into();
    let mut evening = bill("2024-03-16", 4);
    evening.as_object_mut().unwrap().remove("business_date");
    evening["checkout_datetime"] = "2024-03-16 20:00:00".into();
    let r = v.sealed.vouchers(&[late.clone(), evening]).await.unwrap();
    assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
    assert_eq!(
        stored_bill(&v, late["voucher"].as_str().unwrap()).await["business_date"],
        date
    );
    assert_eq!(v.day(date).await["bills"], 3);
    assert_eq!(v.day("2024-03-16").await["bills"], 1);

    // 5.3: a day of 5 bills sent in two requests with `num` 5; the first alone is
    // incomplete, with the reason.
    let day = "2024-03-17";
    let bills: Vec<Value> = (0..5).map(|n| bill(day, n)).collect();
    let send = |part: &[Value]| {
        let mut body = v.sealed.body(
            json!({"version": "1.0", "num": 5}),
            &Value::Array(part.to_vec()),
        );
        body["date"] = day.into();
        body
    };
    let r = v.sealed.post("vouchers", &send(&bills[..3])).await.unwrap();
    assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
    let c = completeness(&v, day).await;
    assert_eq!(c["status"], "incomplete", "{c}");
    assert_eq!(c["upload_num"], 5);
    assert_eq!(c["stored_bills"], 3);
    assert!(
        c["reasons"][0].as_str().unwrap().contains("reports 5"),
        "{c}"
    );
    let r = v.sealed.post("vouchers", &send(&bills[3..])).await.unwrap();
    assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
    let c = completeness(&v, day).await;
    assert_eq!(c["status"], "complete", "{c}");
    assert_eq!(c["stored_revenue"], bills.iter().map(net).sum::<i64>());
    v.running.stop().await;
}

#[actix_rt::test]
async fn revisions_days_and_num_on_sqlite() {
    revisions_days_and_num(None).await;
}

#[actix_rt::test]
async fn revisions_days_and_num_on_postgres() {
    let Some(pg) = testing::scratch_pg_url() else {
        return;
    };
    revisions_days_and_num(Some(pg)).await;
}

/// A second replica of `v`'s gateway on the same PostgreSQL database.
async fn second_replica(pg: &str) -> (posgate::app::Running, Uploader) {
    let c = config(Some(pg.to_string()));
    let running = posgate::app::start(c)
        .await
        .expect("start the second replica");
    let base = format!("http://{}/gateway/upload", running.addr);
    (
        running,
        Uploader::new(base, CompanyCode::parse("0").unwrap(), None),
    )
}

/// Review 5.9: a key changed through one replica reaches the other, which cached the old
/// one; so does disabling the venue.
#[actix_rt::test]
async fn a_key_change_reaches_every_replica() {
    let Some(pg) = testing::scratch_pg_url() else {
        return;
    };
    let c = config(Some(pg.clone()));
    let v = venue_with(c, true).await;
    let (second, mut upload_b) = second_replica(&pg).await;
    upload_b.companycode = CompanyCode::parse(&v.code).unwrap();
    upload_b.key = Some(key());
    let date = "2024-06-01";
    let r = upload_b.vouchers(&[bill(date, 1)]).await.unwrap();
    assert_eq!(
        ret(&r),
        Some(RetCode::Ok),
        "the second replica knows the first key: {r:?}"
    );
    let new_key = "another-key-16by";
    let (status, s) = v
        .admin
        .send(
            reqwest::Method::PUT,
            &format!("/admin/v1/venues/{}/ktv", v.code),
            Some(json!({"key": new_key})),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    upload_b.key = Some(AesKey::from_text(new_key).unwrap());
    let mut answer = None;
    for _ in 0..100 {
        let r = upload_b.vouchers(&[bill(date, 2)]).await.unwrap();
        if ret(&r) == Some(RetCode::Ok) {
            answer = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(answer.is_some(), "the second replica took the new key");
    upload_b.key = Some(key());
    let r = upload_b.vouchers(&[bill(date, 3)]).await.unwrap();
    assert_ne!(ret(&r), Some(RetCode::Ok), "the old key is gone: {r:?}");
    // Disabling the venue through the first replica reaches the second too.
    upload_b.key = Some(AesKey::from_text(new_key).unwrap());
    let (status, _) = v
        .admin
        .send(
            reqwest::Method::PUT,
            &format!("/admin/v1/venues/{}/status", v.code),
            Some(json!({"status": "disabled"})),
        )
        .await;
    assert_eq!(status, 204);
    let mut refused = false;
    for n in 10..110 {
        let r = upload_b.vouchers(&[bill(date, n)]).await.unwrap();
        if ret(&r) == Some(RetCode::UnknownVenue) {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(refused, "the second replica refuses the disabled venue");
    second.stop().await;
    v.running.stop().await;
}

/// Review 5.5: two replicas storing the same vouchers with other content at the same time:
/// for each voucher one upload wins and the other is refused as a conflict, never both
/// answered 0 with one of them lost.
#[actix_rt::test]
async fn concurrent_uploads_of_one_voucher_are_never_lost() {
    let Some(pg) = testing::scratch_pg_url() else {
        return;
    };
    let v = venue(Some(pg.clone()), true).await;
    let (second, mut upload_b) = second_replica(&pg).await;
    upload_b.companycode = CompanyCode::parse(&v.code).unwrap();
    upload_b.key = Some(key());
    let date = "2024-07-01";
    let pairs = (0..40).map(|n| {
        let first = bill(date, n);
        let mut other = first.clone();
        grow(&mut other, 100);
        let (a, b) = (&v.sealed, &upload_b);
        async move {
            let (first, other) = ([first], [other]);
            let (ra, rb) = futures::join!(a.vouchers(&first), b.vouchers(&other));
            (ret(&ra.unwrap()), ret(&rb.unwrap()))
        }
    });
    for (n, (a, b)) in futures::future::join_all(pairs)
        .await
        .into_iter()
        .enumerate()
    {
        let oks = [a, b].iter().filter(|r| **r == Some(RetCode::Ok)).count();
        assert_eq!(oks, 1, "bill {n}: {a:?} / {b:?}");
        assert!(
            [a, b].contains(&Some(RetCode::FieldInvalid)),
            "bill {n}: the loser is told: {a:?} / {b:?}"
        );
    }
    assert_eq!(v.day(date).await["bills"], 40);
    second.stop().await;
    v.running.stop().await;
}

/// The venue's intake rows of one status (`dead`, `all`...).
async fn intake(v: &Venue, status: &str) -> Vec<Value> {
    let (code, rows) = v
        .admin
        .get(&format!(
            "/admin/v1/intake?partner=ktv&owner={}&status={status}",
            v.code
        ))
        .await;
    assert_eq!(code, 200, "{rows}");
    rows.as_array().unwrap().clone()
}

/// Issue 11, deliverable 2: an authenticated upload is stored byte for byte before it is
/// interpreted; one that cannot be interpreted is a dead letter with the reason, replayed
/// after a correction; one that does not authenticate (wrong key) is not stored.
async fn lossless_intake(pg: Option<String>) {
    use base64::Engine as _;
    let v = venue(pg, true).await;
    let date = "2024-08-01";
    let mut bad = bill(date, 5);
    bad["charges"][0]["charge"] = 1.into();
    let body = v.sealed.body(json!({"version": "1.0"}), &json!([bad]));
    let r = v.sealed.post("vouchers", &body).await.unwrap();
    assert_eq!(ret(&r), Some(RetCode::Unbalanced), "{r:?}");
    let dead = intake(&v, "dead").await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["kind"], "vouchers");
    assert!(
        dead[0]["reason"].as_str().unwrap().contains("ret 7"),
        "{dead:?}"
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(
        b64.decode(dead[0]["body_b64"].as_str().unwrap()).unwrap(),
        body.to_string().into_bytes(),
        "the body is kept byte for byte"
    );
    // A good upload is kept too, applied.
    let r = v.sealed.vouchers(&[bill(date, 6)]).await.unwrap();
    assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
    assert_eq!(intake(&v, "applied").await.len(), 1);
    // Not authenticated (another key): refused, nothing stored.
    let stranger = Uploader::new(
        v.sealed.base.clone(),
        CompanyCode::parse(&v.code).unwrap(),
        Some(AesKey::from_text("someone-elses-ky").unwrap()),
    );
    let r = stranger.vouchers(&[bill(date, 7)]).await.unwrap();
    assert_eq!(ret(&r), Some(RetCode::DecryptFailed), "{r:?}");
    assert_eq!(intake(&v, "all").await.len(), 2);
    // The venue corrects the bill: the operator replays the letter with the new body.
    let fixed = v
        .sealed
        .body(json!({"version": "1.0"}), &json!([bill(date, 5)]));
    let id = dead[0]["id"].as_i64().unwrap();
    let (code, after) = v
        .admin
        .post(
            &format!("/admin/v1/intake/{id}/replay"),
            json!({"operator": "ops-1", "note": "venue fixed the bill",
                "corrected_body_b64": b64.encode(fixed.to_string())}),
        )
        .await;
    assert_eq!(code, 200, "{after}");
    assert_eq!(after["status"], "replayed", "{after}");
    assert_eq!(v.day(date).await["bills"], 2);
    v.running.stop().await;
}

#[actix_rt::test]
async fn lossless_intake_on_sqlite() {
    lossless_intake(None).await;
}

#[actix_rt::test]
async fn lossless_intake_on_postgres() {
    let Some(pg) = testing::scratch_pg_url() else {
        return;
    };
    lossless_intake(Some(pg)).await;
}

/// Sets venue options through the admin API; the view.
async fn put_settings(v: &Venue, body: Value) -> Value {
    let (status, s) = v
        .admin
        .send(
            reqwest::Method::PUT,
            &format!("/admin/v1/venues/{}/ktv", v.code),
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    s
}

/// An uploader of the venue sealing with `key` in `mode`.
fn sealing(v: &Venue, key: &str, mode: posgate_protocols::ktv::AesMode) -> Uploader {
    Uploader::new(
        v.sealed.base.clone(),
        CompanyCode::parse(&v.code).unwrap(),
        Some(AesKey::from_text(key).unwrap()),
    )
    .with_mode(mode)
}

/// Issue 11, deliverable 6: per-venue security settings — a key rotation with an overlap
/// window accepts both keys, one without drops the old key at once; the venue's own cipher
/// mode; a disabled venue's uploads are refused and store nothing.
async fn venue_security(pg: Option<String>) {
    use posgate_protocols::ktv::AesMode;
    let v = venue(pg, true).await;
    let date = "2024-09-01";
    let s = put_settings(
        &v,
        json!({"key": "second-key-16byt", "key_overlap_seconds": 3600}),
    )
    .await;
    assert!(s["previous_key_until_ms"].as_i64().is_some(), "{s}");
    for (n, key) in [(1, KEY_TEXT), (2, "second-key-16byt")] {
        let r = sealing(&v, key, AesMode::Ecb)
            .vouchers(&[bill(date, n)])
            .await
            .unwrap();
        assert_eq!(
            ret(&r),
            Some(RetCode::Ok),
            "key {key} in the overlap: {r:?}"
        );
    }
    let s = put_settings(&v, json!({"key": "third-key-16byte"})).await;
    assert_eq!(s["previous_key_until_ms"], Value::Null, "{s}");
    let r = sealing(&v, "second-key-16byt", AesMode::Ecb)
        .vouchers(&[bill(date, 3)])
        .await
        .unwrap();
    assert_eq!(ret(&r), Some(RetCode::DecryptFailed), "{r:?}");
    // The venue's own cipher mode.
    let s = put_settings(&v, json!({"cipher_mode": "aes-128-cbc-pkcs7"})).await;
    assert_eq!(s["cipher_mode"], "aes-128-cbc-pkcs7");
    let r = sealing(&v, "third-key-16byte", AesMode::Ecb)
        .vouchers(&[bill(date, 4)])
        .await
        .unwrap();
    assert_ne!(ret(&r), Some(RetCode::Ok), "ECB data to a CBC venue: {r:?}");
    let cbc = sealing(&v, "third-key-16byte", AesMode::Cbc);
    let r = cbc.vouchers(&[bill(date, 5)]).await.unwrap();
    assert_eq!(ret(&r), Some(RetCode::Ok), "{r:?}");
    assert_eq!(v.day(date).await["bills"], 3);
    // Disabled: refused, nothing stored; enabled again: accepted.
    let path = format!("/admin/v1/venues/{}/status", v.code);
    for (status, n, expected, bills) in [
        ("disabled", 6, RetCode::UnknownVenue, 3),
        ("active", 7, RetCode::Ok, 4),
    ] {
        let (code, _) = v
            .admin
            .send(reqwest::Method::PUT, &path, Some(json!({"status": status})))
            .await;
        assert_eq!(code, 204);
        let r = cbc.vouchers(&[bill(date, n)]).await.unwrap();
        assert_eq!(ret(&r), Some(expected), "{status}: {r:?}");
        assert_eq!(v.day(date).await["bills"], bills);
    }
    v.running.stop().await;
}

#[actix_rt::test]
async fn venue_security_on_sqlite() {
    venue_security(None).await;
}

#[actix_rt::test]
async fn venue_security_on_postgres() {
    let Some(pg) = testing::scratch_pg_url() else {
        return;
    };
    venue_security(Some(pg)).await;
}
