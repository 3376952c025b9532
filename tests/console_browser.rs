//! The operators' console in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) against an in-process gateway with the embedded MQTT broker, a
//! simulated consumption machine, a DS50 speaker (a raw MQTT subscriber) and KTV uploads.
//!
//! The journeys: log in (a wrong token refused; the right one typed and sent with the
//! keyboard only); watch the machine come online on the merchant's terminal list; send it
//! a command and see its acknowledgement; see a consumption appear in the account's
//! transactions and refund part of it; write off an offline exception; read a venue's day
//! report; turn on `announce_payments` and hear the next payment on the speaker. Then every
//! page is captured at desktop and phone width in `target/console-screenshots/`.

mod common;

use common::browser::{Browser, DESKTOP, PHONE};
use common::mqtt::{next_publish, subscriber, MqttGateway};
use common::TOKEN;
use fantoccini::key::Key;
use posgate::sim::ktv_venue::{bill, Uploader};
use posgate::sim::mqtt_device::{consumption, SimDevice};
use posgate_protocols::ktv::CompanyCode;
use serde_json::{json, Value};
use std::time::Duration;

/// What the journeys share: the gateway, the browser, the merchant's machine and user.
struct World {
    gw: MqttGateway,
    browser: Browser,
    device: SimDevice,
    terminal: i64,
    user: String,
    account: i64,
}

#[actix_rt::test]
async fn operator_journeys_in_chromium() {
    let gw = MqttGateway::start(None, |_| {}).await;
    let Some(browser) = Browser::open(&format!("http://{}", gw.running.addr)).await else {
        gw.running.stop().await;
        return;
    };
    login(&browser).await;
    let (device, terminal) = gw.device().await;
    let user = format!("{}", 200_000 + rand::random::<u32>() % 100_000);
    let (status, a) = gw
        .admin
        .post(
            "/admin/v1/accounts",
            json!({"merchant_id": gw.merchant, "user_id": user, "name": "Li Lei",
                   "initial_balances": {"cash": 10_000}}),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let mut w = World {
        account: a["id"].as_i64().unwrap(),
        gw,
        browser,
        device,
        terminal,
        user,
    };
    device_comes_online(&w).await;
    command_is_acknowledged(&mut w).await;
    consumption_appears(&mut w).await;
    exception_written_off(&mut w).await;
    let venue = venue_day_report(&w).await;
    payment_announced(&mut w).await;
    language_is_remembered(&w).await;
    money_is_exact(&w.browser).await;
    screenshots(&w, &venue).await;
    read_only_and_logout(&w).await;
    w.browser.close().await;
    w.gw.running.stop().await;
}

/// The login page refuses a wrong token with the API's message, then opens a session
/// with the right one typed and submitted with the keyboard only (Tab, keys, Enter).
async fn login(b: &Browser) {
    b.goto("/overview").await;
    b.find_text("#page h1", "Log in").await;
    b.size(PHONE).await;
    b.screenshot("login-phone").await;
    b.size(DESKTOP).await;
    b.screenshot("login-desktop").await;
    b.fill("#login input[name=token]", "not-the-admin-token")
        .await;
    b.click("#login button[type=submit]").await;
    b.said("401").await;
    assert_eq!(b.text("#nav").await, "", "no navigation without a session");

    b.client.refresh().await.unwrap();
    b.find("#login").await;
    let token = b.tab_to("#login input[name=token]").await;
    token.send_keys(TOKEN).await.unwrap();
    b.press(Key::Enter).await;
    b.find_text("#who", "admin").await;
    b.rendered("Overview").await;
    let page = b.text("body").await;
    assert!(!page.contains(TOKEN), "the token is never shown");
}

/// The merchant's terminal list shows the machine offline, then online once it said so.
async fn device_comes_online(w: &World) {
    let b = &w.browser;
    let code = w.device.id().to_string();
    b.goto("/merchants").await;
    b.rendered("Merchants").await;
    b.find_text("#page table", &code_of(w).await).await;
    b.goto(&format!("/merchants/{}", w.gw.merchant)).await;
    b.rendered("Merchant").await;
    b.find_text("#terminals tr", &code).await;
    w.device.online().await.expect("online message");
    w.gw.admin.last_seen(w.terminal).await;
    b.refresh_until("#terminals-refresh", "#terminals tbody .badge.online", "")
        .await;
    let row = b.find_text("#terminals tbody tr", &code).await;
    assert!(row.text().await.unwrap().contains("mqtt_pos"));
}

/// The merchant's code (the list's link text).
async fn code_of(w: &World) -> String {
    let (_, m) =
        w.gw.admin
            .get(&format!("/admin/v1/merchants/{}", w.gw.merchant))
            .await;
    m["code"].as_str().unwrap().to_string()
}

/// From the terminal list to the terminal; an open-door command sent with the form is
/// received by the machine and shown acknowledged.
async fn command_is_acknowledged(w: &mut World) {
    let b = &w.browser;
    b.click(&format!("#terminals a[href='#/terminals/{}']", w.terminal))
        .await;
    b.rendered("Terminal").await;
    b.find("#send-command select[name=type]")
        .await
        .select_by_value("open_door")
        .await
        .unwrap();
    b.fill("#send-command input[name=keep_ms]", "3000").await;
    b.click("#send-command button[type=submit]").await;
    b.said("sent").await;
    let command = w
        .device
        .next_command(Duration::from_secs(10))
        .await
        .expect("the machine receives the command");
    assert_eq!(command["api"], "/pos/cmd", "{command}");
    b.find_text("#commands tbody tr", "acknowledged").await;
}

/// A consumption at the machine appears in the account's transactions with its device
/// fields; part of it is refunded from the console (yuan typed, fen sent).
async fn consumption_appears(w: &mut World) {
    let paid = w
        .device
        .consume(&consumption(1, 1, &w.user, 1_234))
        .await
        .unwrap();
    assert_eq!(paid["xfCode"], 0, "{paid}");
    let b = &w.browser;
    b.goto(&format!("/accounts?merchant_id={}", w.gw.merchant))
        .await;
    b.rendered("Accounts").await;
    b.click(&format!("#page a[href='#/accounts/{}']", w.account))
        .await;
    b.rendered("Account").await;
    let row = b.find_text("#transactions tbody tr", "12.34").await;
    let text = row.text().await.unwrap();
    assert!(text.contains("payMoney"), "device fields shown: {text}");
    b.click("#transactions button[data-action=refund]").await;
    b.fill("#refund-form input[name=amount]", "2.34").await;
    b.fill("#refund-form input[name=reason]", "one dish missing")
        .await;
    b.click("#refund-form button[type=submit]").await;
    b.said("posted").await;
    b.find_text("#page table", "90.00").await;
    let (_, balances) =
        w.gw.admin
            .get(&format!("/admin/v1/accounts/{}/balances", w.account))
            .await;
    assert_eq!(balances["cash"], 10_000 - 1_234 + 234, "{balances}");
}

/// An offline record of an unknown user waits in the exception queue; the console writes
/// it off with a note.
async fn exception_written_off(w: &mut World) {
    let mut record = consumption(51, 2, "999999", 500);
    record["offlineDz"] = json!(100);
    record["offlineMoney"] = json!(500);
    assert_eq!(w.device.consume(&record).await.unwrap()["xfCode"], 0);
    let b = &w.browser;
    b.goto(&format!("/exceptions?merchant_id={}", w.gw.merchant))
        .await;
    b.rendered("Offline exceptions").await;
    b.find_text("#exceptions tbody tr", "999999").await;
    b.click("#exceptions button[data-action=write-off]").await;
    b.fill(
        "#write-off-form input[name=note]",
        "guest meal, merchant pays",
    )
    .await;
    b.click("#write-off-form button[type=submit]").await;
    b.said("written_off").await;
    let (_, page) =
        w.gw.admin
            .get(&format!(
                "/admin/v1/offline-exceptions?merchant_id={}&status=written_off",
                w.gw.merchant
            ))
            .await;
    assert_eq!(page["items"][0]["user_id"], "999999", "{page}");
}

/// A venue uploads a day of bills; the console's venue page shows the day's revenue and
/// its bills. Returns the venue's code.
async fn venue_day_report(w: &World) -> String {
    let code = format!("{:08}", rand::random::<u32>() % 100_000_000);
    let admin = &w.gw.admin;
    let (status, v) = admin
        .post(
            "/admin/v1/venues",
            json!({"companycode": code, "merchant_id": w.gw.merchant, "name": "KTV"}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let (status, s) = admin
        .put(
            &format!("/admin/v1/venues/{code}/ktv"),
            json!({"key": "0123456789abcdef", "encrypted": false}),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let bills: Vec<Value> = (1..=3).map(|n| bill(&date, n)).collect();
    let uploader = Uploader::new(
        format!("{}/gateway/upload", w.gw.admin.base),
        CompanyCode::parse(&code).unwrap(),
        None,
    );
    let reply = uploader.vouchers(&bills).await.expect("upload");
    assert_eq!(reply.ret, 0, "{reply:?}");

    let b = &w.browser;
    b.goto("/venues").await;
    b.rendered("Venues").await;
    b.click(&format!("#page a[href='#/venues/{code}']")).await;
    b.rendered("Venue").await;
    let (status, report) = admin
        .get(&format!(
            "/admin/v1/venues/{code}/report?from={date}&to={date}"
        ))
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report[0]["summary"]["bills"], 3, "{report}");
    let revenue = report[0]["summary"]["revenue"].as_i64().unwrap();
    assert!(revenue > 0, "{report}");
    b.find_text("#report", &date).await;
    b.find_text("#report", &yuan(revenue)).await;
    b.find_text(
        "#bills tbody",
        bills[0]["voucher"].as_str().unwrap_or_default(),
    )
    .await;
    code
}

/// `fen` (not negative) as the console shows yuan.
fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// `announce_payments` turned on in the merchant's settings: the next payment at the
/// machine is announced on the merchant's speaker (`transType` 99, the amount in cents).
async fn payment_announced(w: &mut World) {
    let sn = format!("S20A{:010}", rand::random::<u32>());
    w.gw.admin.terminal("ds50", &sn, w.gw.merchant).await;
    let topic = format!("pos/message/{sn}");
    let (_speaker, mut heard) = subscriber(&w.gw.host, w.gw.port, &topic).await;
    let b = &w.browser;
    b.goto(&format!("/merchants/{}", w.gw.merchant)).await;
    b.rendered("Merchant").await;
    let toggle = b
        .find("#merchant-settings input[name=announce_payments]")
        .await;
    assert!(!toggle.is_selected().await.unwrap(), "off by default");
    toggle.click().await.unwrap();
    b.click("#merchant-settings button[type=submit]").await;
    b.said("Saved").await;
    let (_, m) =
        w.gw.admin
            .get(&format!("/admin/v1/merchants/{}", w.gw.merchant))
            .await;
    assert_eq!(m["announce_payments"], true, "{m}");

    let paid = w
        .device
        .consume(&consumption(1, 3, &w.user, 500))
        .await
        .unwrap();
    assert_eq!(paid["xfCode"], 0, "{paid}");
    let (_, said) = next_publish(&mut heard).await;
    assert_eq!(said["transType"], "99", "{said}");
    assert_eq!(said["amount"], "500", "{said}");
}

/// Chinese chosen in the header is remembered across a reload; every label has both
/// languages.
async fn language_is_remembered(w: &World) {
    let b = &w.browser;
    let missing = b
        .run_async(
            "const done = arguments[arguments.length - 1];
             import('/console/assets/i18n.js').then((m) => done(m.missingLabels()));",
        )
        .await;
    assert_eq!(missing, json!([]), "labels without a translation");
    b.goto("/overview").await;
    b.find("#lang").await.select_by_value("zh").await.unwrap();
    b.find_text("#nav", "概览").await;
    b.client.refresh().await.unwrap();
    b.find_text("#page h1", "概览").await;
    b.find("#lang").await.select_by_value("en").await.unwrap();
    b.find_text("#nav", "Overview").await;
}

/// The console's money module shows fen as yuan and reads yuan as fen exactly, refusing
/// what is not an amount.
async fn money_is_exact(b: &Browser) {
    let results = b
        .run_async(
            "const done = arguments[arguments.length - 1];
             import('/console/assets/money.js').then((m) => done({
               shown: [0, 5, -5, 1234, 100, 999999999999].map(m.yuan),
               read: ['12.34', '0.1', '7', ' 3.05 ', '1.234', '-1', '1e3', '', '10000000000.00']
                 .map(m.fen),
             }));",
        )
        .await;
    assert_eq!(
        results,
        json!({
            "shown": ["0.00", "0.05", "-0.05", "12.34", "1.00", "9999999999.99"],
            "read": [1234, 10, 700, 305, null, null, null, null, null],
        })
    );
}

/// Logging out brings the login page back; a read-only credential then sees the pages
/// without any form that changes something (the API would refuse it).
async fn read_only_and_logout(w: &World) {
    let b = &w.browser;
    b.click("#logout").await;
    b.find_text("#page h1", "Log in").await;
    b.said("Logged out").await;
    let (status, credential) =
        w.gw.admin
            .post(
                "/admin/v1/credentials",
                json!({"name": "auditor", "role": "read_only", "expires_in_days": 1}),
            )
            .await;
    assert_eq!(status, 201, "{credential}");
    b.fill(
        "#login input[name=token]",
        credential["token"].as_str().unwrap(),
    )
    .await;
    b.click("#login button[type=submit]").await;
    b.find_text("#who", "read_only").await;
    b.goto(&format!("/merchants/{}", w.gw.merchant)).await;
    b.rendered("Merchant").await;
    let settings = b.find("#merchant-settings").await;
    assert!(!settings.is_displayed().await.unwrap(), "no settings form");
    b.goto(&format!("/terminals/{}", w.terminal)).await;
    b.rendered("Terminal").await;
    let send = b.find("#send-command").await;
    assert!(!send.is_displayed().await.unwrap(), "no command form");
    b.click("#logout").await;
    b.find_text("#page h1", "Log in").await;
}

/// Every page at desktop and phone width, in `target/console-screenshots/`.
async fn screenshots(w: &World, venue: &str) {
    let m = w.gw.merchant;
    let pages = [
        ("overview", "/overview".to_string(), "Overview"),
        ("merchants", "/merchants".into(), "Merchants"),
        ("merchant", format!("/merchants/{m}"), "Merchant"),
        ("terminal", format!("/terminals/{}", w.terminal), "Terminal"),
        ("accounts", format!("/accounts?merchant_id={m}"), "Accounts"),
        ("account", format!("/accounts/{}", w.account), "Account"),
        (
            "exceptions",
            "/exceptions?status=written_off".into(),
            "Offline",
        ),
        (
            "dead-letters",
            "/dead-letters?status=all".into(),
            "Dead letters",
        ),
        ("venues", "/venues".into(), "Venues"),
        ("venue", format!("/venues/{venue}"), "Venue"),
        ("pospal", format!("/pospal?merchant_id={m}"), "Pospal"),
        ("audit", "/audit".into(), "Audit log"),
    ];
    let b = &w.browser;
    for (name, route, heading) in pages {
        for (size, label) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
            b.size(size).await;
            b.goto(&route).await;
            b.client.refresh().await.unwrap();
            b.rendered(heading).await;
            b.screenshot(&format!("{name}-{label}")).await;
        }
    }
    // The audit log shows the console's own change, by the session's principal.
    b.size(DESKTOP).await;
    b.goto("/audit").await;
    b.find_text("#audit tbody tr", "announce_payments").await;
}
