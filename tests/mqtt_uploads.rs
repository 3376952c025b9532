//! MQTT POS uploads end to end (spec section 6): a device publishes device messages
//! (`message`), photos (`frame_imgup`) and dish records (`menu_rec`) through a real broker;
//! posgate stores them (photos in the database, image and metadata) and the
//! admin API lists them. Uploads get no answer, so the tests poll the admin API (at most 5 s).
//! Every scenario runs through the embedded broker and through Mosquitto (127.0.0.1:1883), on
//! SQLite, and once more on PostgreSQL; an unreachable service is skipped (or fails the test
//! under POSGATE_REQUIRE_SERVICES=1).

mod common;

use common::mqtt::{mosquitto, MqttGateway};
use common::{Admin, TOKEN};
use posgate::secret::Secret;
use posgate::sim::mqtt_device::SimDevice;
use posgate_actors::testing;
use posgate_protocols::mqtt_pos::limits::PHOTO_BYTES_MAX;
use serde_json::{json, Value};
use std::time::Duration;

/// Standard base64 with padding, as the devices send photos.
fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Some photo bytes: a JPEG start marker and `len - 2` pseudo-random bytes.
fn photo_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0xff, 0xd8];
    bytes.extend((0..len.saturating_sub(2)).map(|_| rand::random::<u8>()));
    bytes
}

fn photo_upload(img_path: &str, bytes: &[u8]) -> Vec<u8> {
    json!({"msgType": "frame_imgup", "imgPath": img_path, "photo": base64(bytes)})
        .to_string()
        .into_bytes()
}

fn notice(param: &str) -> Vec<u8> {
    json!({"user": 123456, "time": "2019-09-25 11:08:27", "type": "fe", "param": param})
        .to_string()
        .into_bytes()
}

fn dish_record(pos_num: u64) -> Vec<u8> {
    json!({"posNum": pos_num, "payTime": "2026-11-24 12:00:00", "group": 2,
           "list": [{"id": 45895, "num": 25}, {"id": "A7", "num": 1}]})
    .to_string()
    .into_bytes()
}

/// The scenarios that make photo storing fail, one at a time: they watch the process-wide
/// `posgate_mqtt_uploads_total{kind="photo"}` counters for their own failure.
static PHOTO_FAILURES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct World {
    gw: MqttGateway,
    admin: Admin,
}

/// A gateway: on SQLite unless `pg` names a database, on the
/// embedded broker unless `external` names one.
async fn world(external: Option<(String, u16)>, pg: Option<String>) -> World {
    world_with(external, move |c| {
        if let Some(url) = pg {
            c.database.url = Secret::new(url);
        }
    })
    .await
}

/// A gateway, after `tweak` adjusted its configuration.
async fn world_with(
    external: Option<(String, u16)>,
    tweak: impl FnOnce(&mut posgate::config::Config) + 'static,
) -> World {
    let gw = MqttGateway::start(external, tweak).await;
    World {
        admin: Admin::new(gw.admin.base.clone()),
        gw,
    }
}

impl World {
    /// Waits (at most 15 s) until a photo upload was given up after its retries: the
    /// `failed` count passes `failed_before`.
    async fn given_up(&self, failed_before: f64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while self.uploads_metric("photo", "failed").await <= failed_before {
            assert!(tokio::time::Instant::now() < deadline, "never given up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Breaks (`true`) or repairs photo storage, as a database fault would: the photo
    /// table is renamed away, so every write to it fails, and renamed back.
    async fn block_photos(&self, blocked: bool) {
        let (from, to) = match blocked {
            true => ("mqtt_photos", "mqtt_photos_blocked"),
            false => ("mqtt_photos_blocked", "mqtt_photos"),
        };
        let sql = format!("ALTER TABLE {from} RENAME TO {to}");
        self.gw
            .running
            .gateway
            .store
            .transaction(move |db| Box::pin(async move { db.batch(&sql).await }))
            .await
            .expect("rename the photo table");
    }

    /// A registered device: (simulator, terminal id).
    async fn device(&self) -> (SimDevice, i64) {
        self.gw.device().await
    }

    /// The listing `what` of terminal `t` (`notices`, `photos`, `dish-records`).
    async fn list(&self, t: i64, what: &str) -> Vec<Value> {
        let (status, body) = self
            .admin
            .get(&format!("/admin/v1/terminals/{t}/{what}?limit=500"))
            .await;
        assert_eq!(status, 200, "{body}");
        body.as_array().expect("a list").clone()
    }

    /// Polls the listing until it has `n` items (at most 5 s).
    async fn wait_for(&self, t: i64, what: &str, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let items = self.list(t, what).await;
            if items.len() >= n || tokio::time::Instant::now() >= deadline {
                assert_eq!(items.len(), n, "{what}: {items:?}");
                return items;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn content(&self, t: i64, photo: i64) -> (u16, String, Vec<u8>) {
        let res = self
            .admin
            .http
            .get(format!(
                "{}/admin/v1/terminals/{t}/photos/{photo}/content",
                self.admin.base
            ))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        let kind = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (status, kind, res.bytes().await.expect("body").to_vec())
    }

    /// The value of `posgate_mqtt_uploads_total{kind, outcome}` (0 when absent).
    async fn uploads_metric(&self, kind: &str, outcome: &str) -> f64 {
        let base = format!("http://{}", self.gw.running.addr);
        let labels = [("kind", kind), ("outcome", outcome)];
        common::metric_sum(&base, "posgate_mqtt_uploads_total", &labels).await
    }
}

async fn notices_and_photos(w: World) {
    let (d, t) = w.device().await;
    let dev = d.id().to_string();

    // A device message, stored and listed.
    d.upload("message", &notice("-4001")).await.unwrap();
    let notices = w.wait_for(t, "notices", 1).await;
    assert_eq!(notices[0]["terminal_id"], t);
    assert_eq!(notices[0]["user_id"], "123456");
    assert_eq!(notices[0]["time"], "2019-09-25 11:08:27");
    assert_eq!(notices[0]["kind"], "fe");
    assert_eq!(notices[0]["param"], "-4001");

    // A photo: stored under the name {device}/{imgPath}, same bytes, listed, downloadable.
    let bytes = photo_bytes(20_000);
    d.upload(
        "frame_imgup",
        &photo_upload("2021-05-07/jk686538.jpg", &bytes),
    )
    .await
    .unwrap();
    let photos = w.wait_for(t, "photos", 1).await;
    let p = &photos[0];
    assert_eq!(p["img_path"], "2021-05-07/jk686538.jpg");
    assert_eq!(p["file_path"], format!("{dev}/2021-05-07/jk686538.jpg"));
    assert_eq!(p["bytes"], 20_000);
    assert_eq!(p["sha256"].as_str().unwrap().len(), 64);
    let (status, kind, body) = w.content(t, p["id"].as_i64().unwrap()).await;
    assert_eq!((status, kind.as_str()), (200, "image/jpeg"));
    assert_eq!(body, bytes);

    // A path-traversal imgPath is sanitised (to etc/x.jpg).
    let evil = photo_bytes(300);
    d.upload("frame_imgup", &photo_upload("../../etc/x.jpg", &evil))
        .await
        .unwrap();
    let photos = w.wait_for(t, "photos", 2).await;
    assert_eq!(photos[0]["file_path"], format!("{dev}/etc/x.jpg"));
    let (_, _, body) = w.content(t, photos[0]["id"].as_i64().unwrap()).await;
    assert_eq!(body, evil);
    // A PNG is served as such.
    let png = [&[0x89, b'P', b'N', b'G'][..], &photo_bytes(100)].concat();
    d.upload("frame_imgup", &photo_upload("2021-05-07/face.PNG", &png))
        .await
        .unwrap();
    let photos = w.wait_for(t, "photos", 3).await;
    let (status, kind, body) = w.content(t, photos[0]["id"].as_i64().unwrap()).await;
    assert_eq!((status, kind.as_str(), body), (200, "image/png", png));
    let mut names: Vec<&str> = photos
        .iter()
        .filter_map(|p| p["file_path"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        vec![
            format!("{dev}/2021-05-07/face.PNG"),
            format!("{dev}/2021-05-07/jk686538.jpg"),
            format!("{dev}/etc/x.jpg"),
        ]
    );

    // An oversized photo is refused: nothing stored. A device message sent after it
    // marks when the gateway has seen it.
    let big = photo_bytes(PHOTO_BYTES_MAX + 1);
    d.upload("frame_imgup", &photo_upload("2021-05-07/big.jpg", &big))
        .await
        .unwrap();
    d.upload("message", &notice("-4000")).await.unwrap();
    w.wait_for(t, "notices", 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.list(t, "photos").await.len(), 3);

    // Unknown terminal, bad limit, unknown photo.
    assert_eq!(
        w.admin.get("/admin/v1/terminals/999999/photos").await.0,
        404
    );
    assert_eq!(
        w.admin
            .get(&format!("/admin/v1/terminals/{t}/notices?limit=0"))
            .await
            .0,
        400
    );
    assert_eq!(
        w.admin
            .get(&format!("/admin/v1/terminals/{t}/notices?limit=501"))
            .await
            .0,
        400
    );
    assert_eq!(w.content(t, 999_999).await.0, 404);
}

async fn dish_records_and_redelivery(w: World) {
    let (mut d, t) = w.device().await;
    let dev = d.id().to_string();
    let user = format!("{}", 200_000 + rand::random::<u32>() % 100_000);
    let (status, a) = w
        .admin
        .post(
            "/admin/v1/accounts",
            json!({"merchant_id": w.gw.merchant, "user_id": user,
                   "initial_balances": {"cash": 10_000}}),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let consumption = json!({
        "mode": 1, "posNum": 7, "userId": user, "payTime": "2026-11-24 12:00:00",
        "idenType": "reqCard", "payMoney": 1200, "imgPath": "2026-11-24/p7.jpg",
        "msgType": "api_ret"
    });
    assert_eq!(d.consume(&consumption).await.unwrap()["xfCode"], 0);
    let (_, page) = w.admin.get("/admin/v1/transactions?limit=500").await;
    let transaction = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["idempotency_key"] == format!("mqtt:{dev}:7"))
        .expect("the consumption")["id"]
        .clone();

    // A dish record linked to its consumption; one whose consumption never came is not.
    d.upload("menu_rec", &dish_record(7)).await.unwrap();
    d.upload("menu_rec", &dish_record(8)).await.unwrap();
    let records = w.wait_for(t, "dish-records", 2).await;
    let seven = records.iter().find(|r| r["pos_num"] == 7).unwrap();
    assert_eq!(seven["consumption_key"], format!("mqtt:{dev}:7"));
    assert_eq!(seven["transaction_id"], transaction);
    assert_eq!(seven["pay_time"], "2026-11-24 12:00:00");
    assert_eq!(seven["group"], 2);
    assert_eq!(
        seven["lines"],
        json!([{"id": "45895", "num": 25}, {"id": "A7", "num": 1}])
    );
    let eight = records.iter().find(|r| r["pos_num"] == 8).unwrap();
    assert_eq!(eight["transaction_id"], Value::Null);

    // Every kind once, then redelivered (QoS 1 resends the same bytes): stored once.
    let bytes = photo_bytes(5_000);
    d.upload("message", &notice("-4001")).await.unwrap();
    d.upload("frame_imgup", &photo_upload("2026-11-24/p7.jpg", &bytes))
        .await
        .unwrap();
    w.wait_for(t, "notices", 1).await;
    w.wait_for(t, "photos", 1).await;
    let duplicates_before = w.uploads_metric("photo", "duplicate").await
        + w.uploads_metric("notice", "duplicate").await
        + w.uploads_metric("dish_record", "duplicate").await;
    d.upload("message", &notice("-4001")).await.unwrap();
    d.upload("frame_imgup", &photo_upload("2026-11-24/p7.jpg", &bytes))
        .await
        .unwrap();
    d.upload("menu_rec", &dish_record(7)).await.unwrap();
    // Wait until the three redeliveries were handled (other tests only add to the counters).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let duplicates = w.uploads_metric("photo", "duplicate").await
            + w.uploads_metric("notice", "duplicate").await
            + w.uploads_metric("dish_record", "duplicate").await;
        if duplicates >= duplicates_before + 3.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "redeliveries not handled: {duplicates} duplicates"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(w.list(t, "notices").await.len(), 1);
    assert_eq!(w.list(t, "dish-records").await.len(), 2);
    let photos = w.list(t, "photos").await;
    assert_eq!(photos.len(), 1);
    let (_, _, body) = w.content(t, photos[0]["id"].as_i64().unwrap()).await;
    assert_eq!(body, bytes);
    assert_eq!(photos[0]["file_path"], format!("{dev}/2026-11-24/p7.jpg"));
}

/// Review 2.11: an upload whose storing failed is neither acknowledged nor lost: posgate
/// retries it (the broker's message unacknowledged meanwhile) and stores it once storage
/// works again.
async fn stored_after_a_storage_failure(w: World) {
    let _serial = PHOTO_FAILURES.lock().await;
    let (d, t) = w.device().await;
    // Storage broken: the photo table is gone.
    w.block_photos(true).await;
    // The device's messages reach the gateway and its store (a device message is stored)
    // before the photo is sent.
    d.upload("message", &notice("before the photo"))
        .await
        .unwrap();
    w.wait_for(t, "notices", 1).await;
    let world = &w;
    let attempts = move || async move {
        world.uploads_metric("photo", "retried").await
            + world.uploads_metric("photo", "failed").await
    };
    let failed_before = attempts().await;
    let bytes = photo_bytes(3_000);
    d.upload("frame_imgup", &photo_upload("2026-12-01/r1.jpg", &bytes))
        .await
        .unwrap();
    // Wait until storing it failed (at most 5 s)...
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while attempts().await <= failed_before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the photo was never attempted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...then repair storage: a retry stores it.
    w.block_photos(false).await;
    let photos = w.wait_for(t, "photos", 1).await;
    let (status, _, body) = w.content(t, photos[0]["id"].as_i64().unwrap()).await;
    assert_eq!((status, body), (200, bytes));
}

#[actix_rt::test]
async fn stored_after_a_storage_failure_embedded_broker() {
    stored_after_a_storage_failure(world(None, None).await).await;
}

#[actix_rt::test]
async fn stored_after_a_storage_failure_mosquitto() {
    if let Some(addr) = mosquitto() {
        stored_after_a_storage_failure(world(Some(addr), None).await).await;
    }
}

/// On a database of its own: renaming the photo table must not hold up, or be held up by,
/// the other tests' transactions.
#[actix_rt::test]
async fn stored_after_a_storage_failure_postgres() {
    if let Some(url) = testing::own_scratch_pg_url().await {
        stored_after_a_storage_failure(world(None, Some(url)).await).await;
    }
}

/// Review 2.11: an upload still not stored after the retries is not acknowledged: on a
/// persistent session (`mqtt.client_id`) the gateway resumes the session, the broker
/// redelivers the upload, and it is stored once storage works again.
async fn redelivered_when_not_stored(w: World) {
    let _serial = PHOTO_FAILURES.lock().await;
    let (d, t) = w.device().await;
    w.block_photos(true).await;
    let failed_before = w.uploads_metric("photo", "failed").await;
    let bytes = photo_bytes(2_000);
    d.upload("frame_imgup", &photo_upload("2026-12-01/r2.jpg", &bytes))
        .await
        .unwrap();
    // Given up once (after its retries, at most 15 s)...
    w.given_up(failed_before).await;
    // ...then storage is repaired: the redelivered upload is stored (at most 15 s).
    w.block_photos(false).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let photo = loop {
        if let Some(photo) = w.list(t, "photos").await.first() {
            break photo.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "never redelivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (_, _, body) = w.content(t, photo["id"].as_i64().unwrap()).await;
    assert_eq!(body, bytes);
}

/// Review 6.1: a clean session (the replicas' kind) never redelivers, so an upload still not
/// stored after the retries is acknowledged all the same: the acknowledgement of the
/// message behind it stays in order (the embedded broker drops a client that acknowledges
/// out of order) and later messages are served on the same connection.
async fn acknowledged_and_lost_on_a_clean_session(w: World) {
    let _serial = PHOTO_FAILURES.lock().await;
    let (d, t) = w.device().await;
    w.block_photos(true).await;
    let failed_before = w.uploads_metric("photo", "failed").await;
    d.upload(
        "frame_imgup",
        &photo_upload("2026-12-01/lost.jpg", &photo_bytes(1_000)),
    )
    .await
    .unwrap();
    d.upload("message", &notice("behind the photo"))
        .await
        .unwrap();
    // Given up (after its retries, at most 15 s)...
    w.given_up(failed_before).await;
    w.block_photos(false).await;
    // ...and the messages behind it and after it are served.
    d.upload("message", &notice("after the photo"))
        .await
        .unwrap();
    w.wait_for(t, "notices", 2).await;
    assert!(w.list(t, "photos").await.is_empty(), "not redelivered");
}

#[actix_rt::test]
async fn acknowledged_and_lost_on_a_clean_session_embedded_broker() {
    acknowledged_and_lost_on_a_clean_session(world(None, None).await).await;
}

#[actix_rt::test]
async fn acknowledged_and_lost_on_a_clean_session_mosquitto() {
    if let Some(addr) = mosquitto() {
        acknowledged_and_lost_on_a_clean_session(world(Some(addr), None).await).await;
    }
}

/// A world whose gateway keeps a persistent MQTT session.
async fn persistent_world(external: Option<(String, u16)>) -> World {
    world_with(external, |c| {
        c.mqtt.client_id = format!("posgate-test-{}", rand::random::<u32>());
    })
    .await
}

#[actix_rt::test]
async fn redelivered_when_not_stored_embedded_broker() {
    redelivered_when_not_stored(persistent_world(None).await).await;
}

#[actix_rt::test]
async fn redelivered_when_not_stored_mosquitto() {
    if let Some(addr) = mosquitto() {
        redelivered_when_not_stored(persistent_world(Some(addr)).await).await;
    }
}

#[actix_rt::test]
async fn notices_and_photos_embedded_broker() {
    notices_and_photos(world(None, None).await).await;
}

#[actix_rt::test]
async fn notices_and_photos_mosquitto() {
    if let Some(addr) = mosquitto() {
        notices_and_photos(world(Some(addr), None).await).await;
    }
}

#[actix_rt::test]
async fn dish_records_and_redelivery_embedded_broker() {
    dish_records_and_redelivery(world(None, None).await).await;
}

#[actix_rt::test]
async fn dish_records_and_redelivery_mosquitto() {
    if let Some(addr) = mosquitto() {
        dish_records_and_redelivery(world(Some(addr), None).await).await;
    }
}

#[actix_rt::test]
async fn notices_and_photos_postgres() {
    if let Some(url) = testing::scratch_pg_url() {
        notices_and_photos(world(None, Some(url)).await).await;
    }
}

#[actix_rt::test]
async fn dish_records_and_redelivery_postgres() {
    if let Some(url) = testing::scratch_pg_url() {
        dish_records_and_redelivery(world(None, Some(url)).await).await;
    }
}

/// Photos stored before images moved into the database (migration 19) have no image in their
/// row: theirs is read from its file under `mqtt.photo_dir`, and a stored name that would
/// leave that directory is refused.
#[actix_rt::test]
async fn photos_of_an_older_version_are_read_from_the_photo_directory() {
    let dir = std::env::temp_dir().join(format!("posgate-legacy-{}", rand::random::<u64>()));
    let dir_setting = dir.to_string_lossy().into_owned();
    let w = world_with(None, move |c| c.mqtt.photo_dir = dir_setting).await;
    let (d, t) = w.device().await;
    let bytes = photo_bytes(700);
    std::fs::create_dir_all(dir.join(d.id()).join("2020-01-01")).expect("photo directory");
    std::fs::write(dir.join(d.id()).join("2020-01-01/old.jpg"), &bytes).expect("old photo");
    let names = [
        format!("{}/2020-01-01/old.jpg", d.id()),
        "../escape.jpg".to_string(),
    ];
    for (i, name) in names.iter().enumerate() {
        let sql = format!(
            "INSERT INTO mqtt_photos (terminal_id, img_path, file_path, bytes, sha256, \
             received_at_ms) VALUES ({t}, 'old{i}.jpg', '{name}', 700, 'x', 1)"
        );
        w.gw.running
            .gateway
            .store
            .transaction(move |db| Box::pin(async move { db.batch(&sql).await }))
            .await
            .expect("a photo row of an older version");
    }
    let photos = w.list(t, "photos").await;
    let id_of = |name: &str| {
        photos
            .iter()
            .find(|p| p["file_path"] == name)
            .and_then(|p| p["id"].as_i64())
            .expect("listed")
    };
    let (status, kind, body) = w.content(t, id_of(&names[0])).await;
    assert_eq!((status, kind.as_str(), body), (200, "image/jpeg", bytes));
    assert_eq!(w.content(t, id_of(&names[1])).await.0, 404);
    let _ = std::fs::remove_dir_all(&dir);
}
