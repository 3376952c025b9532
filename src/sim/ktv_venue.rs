//! A simulated KTV venue system (ktv-merchant-link.txt): it holds a generated data set
//! (opening hours, realtime room states, bills of business dates, member and card records,
//! payment settings, bookings), answers WJ091 requests from RabbitMQ out of it (paging,
//! `zip` 1 as base64 gzip), and uploads realtime snapshots and bills over HTTP, sealed with
//! the venue's AES key (or plain, for a venue configured unencrypted).

use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicPublishOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use posgate_protocols::ktv::{
    decode_request, seal_with, zip_encode, AesKey, AesMode, CompanyCode, WireReply, Wj091Query,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// RabbitMQ.
    #[error("amqp: {0}")]
    Amqp(String),
    /// HTTP.
    #[error("http: {0}")]
    Http(String),
}

/// One generated bill (JSON as the venue system sends it). Balanced unless made otherwise.
pub fn bill(date: &str, n: u64) -> Value {
    let room = 10_000 + (n % 7) as i64 * 1_000;
    let drinks = 2_500 + (n % 5) as i64 * 300;
    let service = if n % 3 == 0 { 1_000 } else { 0 };
    let reduction = (n % 4) as i64 * 100;
    let total = room + drinks + service - reduction;
    let member = if n % 2 == 0 { total / 2 } else { 0 };
    let cash = total - member;
    let mut payments = vec![json!({
        "payment_type_id": 1, "payment_type_name": "现金", "value": cash, "by_member_card": 0,
        "rate": 1, "translatemoney": cash, "coupon_id": ""
    })];
    if member > 0 {
        payments.push(json!({
            "payment_type_id": 2, "payment_type_name": "会员卡", "value": member,
            "by_member_card": 1, "rate": 1, "translatemoney": member, "coupon_id": "",
            "member_cash": member - member / 4, "member_present": member / 4
        }));
    }
    let compact = date.replace('-', "");
    json!({
        "checkout_voucher": format!("K{compact}{n:05}"),
        "open_checkout_id": n,
        "voucher": format!("R{compact}{n:05}"),
        "voucher_type": 1 + (n % 2),
        "voucher_info": if n % 2 == 0 { "包厢单" } else { "酒水单" },
        "open_datetime": format!("{date} 20:00:00"),
        "close_datetime": format!("{date} 23:00:00"),
        "checkout_datetime": format!("{date} 23:00:05"),
        "business_date": date,
        "revoke": 0,
        "modify": 0,
        "checkout_charge": total + reduction,
        "fact_charge": total,
        "room_id": (n % 40) + 1,
        "version": 1,
        "room_info": {"room_id": (n % 40) + 1, "room_name": format!("K{:02}", n % 40 + 1),
                      "room_type_id": 1, "room_type_name": "中包"},
        "charges": [
            {"name": "包厢费", "charge": room, "type": 1},
            {"name": "商品金额", "charge": drinks, "type": 2, "details": [
                {"wine_list_id": n, "type": 15, "type_name": "啤酒", "material_id": 40,
                 "material_name": "青岛啤酒", "num": 2.5, "spec": "支", "price": drinks * 2 / 5,
                 "money": drinks, "ad_money": 0, "sale_type": 0, "present_status": 0,
                 "presentman": "", "present_staffcode": ""}
            ]},
            {"name": "服务费", "charge": service, "type": 3},
            {"name": "折扣金额", "charge": reduction, "type": 6}
        ],
        "payments": payments
    })
}

/// A bill's revenue as the spec computes it: the charges, reductions (type 6) negative.
pub fn bill_net(bill: &Value) -> i64 {
    bill["charges"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .map(|c| {
            let v = c["charge"].as_i64().unwrap_or(0);
            if c["type"] == 6 {
                -v
            } else {
                v
            }
        })
        .sum()
}

/// A realtime snapshot with `rooms` rooms (in that order).
pub fn realtime(rooms: u64, revenue: i64) -> Value {
    let states: Vec<Value> = (1..=rooms)
        .map(|r| {
            let state = ["空闲", "使用", "结账"][(r % 3) as usize];
            json!({
                "room_id": r, "room_name": format!("K{r:02}"), "room_type_id": 3,
                "room_type_name": "中包", "room_state_id": 1 + (r % 3), "room_state_name":
                state, "room_avaiable": u8::from(r % 3 == 0),
                "room_in_open": u8::from(r % 3 != 0), "room_end_time": "03:00:00",
                "destine_datetime": "", "second_room_states": [{"name": "生日", "value": "0"}],
                "checkout_wine_money": 9_900, "uncheckout_wine_money": 2_100
            })
        })
        .collect();
    json!({
        "revenue": revenue, "guest": 0, "voucher": rooms / 2, "uncheckout_wine": 230_000,
        "xiao_zhang": 2_100_000, "gua_zhang": 3_400_000, "room_states": states
    })
}

/// The venue's data set.
#[derive(Clone, Debug, Default)]
pub struct VenueData {
    /// Bills by business date, in voucher order.
    pub bills: BTreeMap<String, Vec<Value>>,
    /// Type 0 data.
    pub open_time: Value,
    /// Type 1 data.
    pub realtime: Value,
    /// Type 6 rows.
    pub payment_settings: Value,
    /// `ret` to answer with instead of data (a venue that reports an error); 0 = normal.
    pub fail_ret: i64,
    /// Answers every bills page with the whole day (a venue that ignores `page_size`).
    pub ignores_page_size: bool,
    /// Each bills page after the first starts this many rows before the previous one
    /// ended (a venue whose pages overlap: repeated vouchers across pages).
    pub page_overlap: usize,
}

impl VenueData {
    /// A data set with `bills` bills on `date`.
    pub fn generate(date: &str, bills: u64) -> VenueData {
        let mut data = VenueData {
            open_time: json!({"system": "TongYu-v1.201803152201", "version_num": 1234,
                "open_time": "12:00:00", "close_time": "03:00:00", "gateway": 0}),
            realtime: realtime(12, 18_203_300),
            payment_settings: json!([
                {"payment_type_id": 1, "payment_type_name": "现金", "payment_alias_name": "人民币"},
                {"payment_type_id": 2, "payment_type_name": "会员卡", "payment_alias_name": "会员卡"}
            ]),
            ..VenueData::default()
        };
        data.bills.insert(
            date.to_string(),
            (0..bills).map(|n| bill(date, n)).collect(),
        );
        data
    }

    /// The rows of a paged type on `date`.
    fn rows(&self, kind: u8, date: &str) -> Vec<Value> {
        match kind {
            3 => (0..3)
                .map(|i| json!({"recharge_id": i, "member_id": format!("M{i}"), "money": 10_000}))
                .collect(),
            5 => (0..3)
                .map(|i| {
                    json!({"gradeid": 2, "cardnum": format!("{i}"), "memberid": format!("M{i}"),
                        "onlybusinessid": 100 + i, "quitonlybusinessid": 0, "operationtype": 0,
                        "acceptmoney": 5_000, "acceptmoneydate": format!("{date} 11:00:00"),
                        "businessitype": 0, "payments": [{"paymenttypeid": 1,
                        "paymenttypename": "现金", "value": 5_000, "rate": "1",
                        "translatemoney": 5_000}]})
                })
                .collect(),
            8 => (0..3)
                .map(|i| {
                    json!({"account_balance": 70_381, "business_type": 1,
                        "card_account_change_id": i, "cash_change_money": 11,
                        "change_integral": 9, "changed_datetime": format!("{date} 19:16:07"),
                        "voucher": format!("S{i}"), "consume_type": "超市消费",
                        "fact_accept_charge": 22, "integral_balance": 1_335_069, "km_id": "",
                        "member_id": format!("M{i}"), "note": "", "only_business_id": 8_000 + i,
                        "present_change_money": 11, "quit_only_business_id": 0, "grade_id": 1,
                        "sales_manager": "惠子", "sales_manager_code": "10071"})
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The rows `[from, to)` of bills page `num` of `size` rows, as this venue pages.
    fn page_bounds(&self, num: usize, size: usize) -> (usize, usize) {
        if self.ignores_page_size {
            return (0, usize::MAX);
        }
        let step = size.saturating_sub(self.page_overlap).max(1);
        let from = num * step;
        (from, from + size)
    }

    /// The reply to a WJ091 request (bytes), or `None` to stay silent.
    pub fn answer(&self, request_bytes: &[u8]) -> Vec<u8> {
        let request = match decode_request(request_bytes) {
            Ok(r) => r,
            Err(e) => {
                return json!({"cmdid": "WJ091", "ret": 1, "msg": e.to_string()})
                    .to_string()
                    .into_bytes()
            }
        };
        if self.fail_ret != 0 {
            return json!({"cmdid": "WJ091", "ret": self.fail_ret, "msg": "venue failure"})
                .to_string()
                .into_bytes();
        }
        let (data, total) = match &request.query {
            Wj091Query::OpenTime => (self.open_time.clone(), None),
            Wj091Query::Realtime => (self.realtime.clone(), None),
            Wj091Query::Bills {
                date,
                voucher: Some(v),
                ..
            } => {
                let rows: Vec<Value> = self
                    .bills
                    .get(date.as_str())
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .filter(|b| b["voucher"] == v.as_str())
                    .cloned()
                    .collect();
                let n = rows.len();
                (Value::Array(rows), Some(n))
            }
            Wj091Query::Bills { date, page, .. } => {
                // Sliced in place: a large day is not cloned for every page.
                let all = self.bills.get(date.as_str()).map_or(&[][..], Vec::as_slice);
                let (from, to) = self.page_bounds(page.num() as usize, page.size() as usize);
                let (from, to) = (from.min(all.len()), to.min(all.len()));
                (Value::Array(all[from..to].to_vec()), Some(all.len()))
            }
            Wj091Query::MemberRecharges { date, page }
            | Wj091Query::CardFees { date, page }
            | Wj091Query::MemberConsumption { date, page } => {
                let rows = self.rows(request.query.kind().code(), date.as_str());
                let total = rows.len();
                let from = (page.num() as usize) * (page.size() as usize);
                let slice: Vec<Value> = rows
                    .into_iter()
                    .skip(from)
                    .take(page.size() as usize)
                    .collect();
                (Value::Array(slice), Some(total))
            }
            Wj091Query::RoomConsumption { .. } => (
                json!({"room_info": [{"showtitle": "开房时间", "showvalue": "02:08"}],
                    "wine_info": [{"unit": "袋", "matername": "瓜子", "presentman": "",
                        "sellprice": 15, "sellmoney": 1_500, "mattersno": 1, "matterid": 188,
                        "ordertime": "14:41", "sellnum": 1, "orderman": "秦", "ordertype": 0,
                        "wineid": 1, "paid": 1}],
                    "pr_info": []}),
                None,
            ),
            Wj091Query::PaymentSettings => (self.payment_settings.clone(), None),
            Wj091Query::RoomOpenings { date } => (
                json!([{"room_id": "0010", "open_datetime": format!("{} 20:00:00", date.as_str())}]),
                None,
            ),
            Wj091Query::RoomBookings {
                room_id,
                begin_date,
                ..
            } => (
                json!([{"guest_name": "老刘", "guest_phone": "", "member_id": "", "remark": "",
                    "reserve_time": begin_date, "room_id": room_id.as_str(), "room_name": "小红房",
                    "room_type_id": "1", "room_type_name": "小包", "voucher": "YDD0000102",
                    "operator": "赵", "operator_staff_code": "X1", "sales_manager": "陈",
                    "sales_manager_staff_code": "X2"}]),
                None,
            ),
        };
        let data = if request.zip {
            Value::from(zip_encode(data.to_string().as_bytes()))
        } else {
            data
        };
        let mut reply = json!({"cmdid": "WJ091", "ret": 0, "msg": "OK", "data": data});
        if let Some(total) = total {
            reply["total"] = Value::from(total);
        }
        reply.to_string().into_bytes()
    }
}

/// A running simulated venue answering WJ091 on RabbitMQ.
pub struct SimVenue {
    /// The data it answers from (tests change it between calls).
    pub data: Arc<Mutex<VenueData>>,
    /// WJ091 requests received.
    pub requests: Arc<AtomicU64>,
    connection: Connection,
}

impl SimVenue {
    /// Connects to `url`, binds a queue to `exchange` with routing key `companycode`, and
    /// answers every request from `data` until dropped.
    pub async fn serve(
        url: &str,
        exchange: &str,
        companycode: &CompanyCode,
        data: VenueData,
    ) -> Result<SimVenue, SimError> {
        let amqp = |e: lapin::Error| SimError::Amqp(e.to_string());
        let connection = Connection::connect(
            url,
            ConnectionProperties::default()
                .with_connection_name(format!("sim-venue-{companycode}").into()),
        )
        .await
        .map_err(amqp)?;
        let channel = connection.create_channel().await.map_err(amqp)?;
        let queue = crate::amqp::bind_private_queue(&channel, exchange, companycode.as_str())
            .await
            .map_err(amqp)?;
        let mut consumer = channel
            .basic_consume(
                queue.clone(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(amqp)?;
        let data = Arc::new(Mutex::new(data));
        let requests = Arc::new(AtomicU64::new(0));
        let (shared, counter) = (data.clone(), requests.clone());
        tokio::spawn(async move {
            while let Some(Ok(delivery)) = consumer.next().await {
                counter.fetch_add(1, Ordering::Relaxed);
                let reply = shared
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .answer(&delivery.data);
                if let Some(reply_to) = delivery.properties.reply_to().clone() {
                    let mut props = BasicProperties::default();
                    if let Some(id) = delivery.properties.correlation_id().clone() {
                        props = props.with_correlation_id(id);
                    }
                    let _ = channel
                        .basic_publish(
                            "".into(),
                            reply_to,
                            BasicPublishOptions::default(),
                            &reply,
                            props,
                        )
                        .await;
                }
                let _ = delivery.ack(BasicAckOptions::default()).await;
            }
        });
        Ok(SimVenue {
            data,
            requests,
            connection,
        })
    }

    /// Stops answering (closes the connection).
    pub async fn stop(self) {
        let _ = self.connection.close(200, "simulator stopped".into()).await;
    }
}

/// Uploads over HTTP as the venue's gateway does.
pub struct Uploader {
    http: reqwest::Client,
    /// `http://host:port{context path}`.
    pub base: String,
    /// The venue.
    pub companycode: CompanyCode,
    /// The venue's key; `None` sends plain JSON.
    pub key: Option<AesKey>,
    /// How sealed data is encrypted (the gateway's `ktv.cipher_mode`).
    pub mode: AesMode,
}

impl Uploader {
    /// An uploader for `companycode` to `base` (`http://127.0.0.1:8080/gateway/upload`).
    pub fn new(base: impl Into<String>, companycode: CompanyCode, key: Option<AesKey>) -> Uploader {
        Uploader {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap_or_default(),
            base: base.into(),
            companycode,
            key,
            mode: AesMode::Ecb,
        }
    }

    /// The same uploader sealing with `mode` (a fresh random IV per message for CBC).
    pub fn with_mode(mut self, mode: AesMode) -> Uploader {
        self.mode = mode;
        self
    }

    /// The body of an upload: `data` sealed with the key, or inline.
    pub fn body(&self, extra: Value, data: &Value) -> Value {
        let mut body = extra;
        body["companycode"] = Value::from(self.companycode.as_str());
        body["data"] = match &self.key {
            Some(key) => Value::from(seal_with(
                self.mode,
                key,
                &rand::random(),
                data.to_string().as_bytes(),
            )),
            None => data.clone(),
        };
        body
    }

    /// POSTs `body` to `{base}/{kind}`; the `{ret, msg}` answer.
    pub async fn post(&self, kind: &str, body: &Value) -> Result<WireReply, SimError> {
        let res = self
            .http
            .post(format!("{}/{kind}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| SimError::Http(e.to_string()))?;
        let text = res
            .text()
            .await
            .map_err(|e| SimError::Http(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| SimError::Http(format!("{e}: {text}")))
    }

    /// Uploads bills (`vouchers`).
    pub async fn vouchers(&self, bills: &[Value]) -> Result<WireReply, SimError> {
        let body = self.body(json!({"version": "1.0"}), &Value::Array(bills.to_vec()));
        self.post("vouchers", &body).await
    }

    /// Uploads a realtime snapshot.
    pub async fn realtime(&self, date: &str, snapshot: &Value) -> Result<WireReply, SimError> {
        let body = self.body(json!({"version": "1.0", "date": date}), snapshot);
        self.post("realtime", &body).await
    }
}
