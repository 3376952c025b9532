//! A protocol-level randomized test in the spirit of TigerBeetle's simulator: seeded,
//! reproducible sequences of device requests through the real MQTT adapter (a device is a
//! real MQTT client on the embedded broker), on SQLite and on PostgreSQL, checked after every
//! step against a small reference model of what each answer and each account must be, and
//! by the ledger audit at the end.
//!
//! Operations: consumptions, exact retries (any earlier request resent byte for byte gets
//! its first answer), reversals after their original (a lost reply), reversals before their
//! original (the late original is refused), cancels of the device's last consumption (right
//! or wrong amount), offline records (purse first, overdraft allowed; unknown users held),
//! top-ups and loads on a granted terminal and refused on another, and two devices of one
//! account consuming at the same moment.
//!
//! `POSGATE_SIM_SEEDS` (comma-separated, default `1,2,3`) and `POSGATE_SIM_OPS` (per seed,
//! default 1000) set the run; a failing run names its seed and step, so
//! `POSGATE_SIM_SEEDS=<seed>` replays it.

mod common;

use common::mqtt::{Backend, MqttGateway};
use common::sim;
use posgate::sim::mqtt_device::SimDevice;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

const ACCOUNTS: usize = 3;
const OPENING_CASH: i64 = 20_000;
/// Device 0 is granted top-up and load; device 1 is not.
const DEVICES: usize = 2;

/// A posted transaction, for the model: the cash and purse it moved on one account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Posted {
    account: usize,
    cash: i64,
    purse: i64,
    /// The MQTT mode that posted it.
    mode: i64,
    /// What the device was answered in `dstMoney`.
    amount: i64,
    voided: bool,
}

/// What a request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Posted(Posted),
    /// Answered without posting (refused, or held for an operator).
    Nothing,
}

/// The reference model: balances per account, and what each device's posNums did.
#[derive(Clone, Default)]
struct Model {
    cash: [i64; ACCOUNTS],
    purse: [i64; ACCOUNTS],
    effects: HashMap<(usize, i64), Effect>,
    tombstones: HashSet<(usize, i64)>,
    reversed: HashSet<(usize, i64)>,
    /// Per device, the posNum of its last posted (or since voided) money transaction.
    last: [Option<i64>; DEVICES],
}

/// The answer the model expects: `xfCode`, `dstMoney` and, when the ledger answered, the
/// cash after (`xjYe`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Expect {
    xf: i64,
    dst: i64,
    cash: Option<i64>,
}

impl Expect {
    fn new(xf: i64, dst: i64, cash: Option<i64>) -> Expect {
        Expect { xf, dst, cash }
    }

    fn matches(&self, got: &Value) -> bool {
        got["xfCode"].as_i64() == Some(self.xf)
            && got["dstMoney"].as_i64() == Some(self.dst)
            && self.cash.is_none_or(|c| got["xjYe"].as_i64() == Some(c))
    }
}

impl Model {
    /// Books `p` as what `(device, pos)` did.
    fn post(&mut self, device: usize, pos: i64, p: Posted) -> Expect {
        self.cash[p.account] += p.cash;
        self.purse[p.account] += p.purse;
        self.effects.insert((device, pos), Effect::Posted(p));
        self.last[device] = Some(pos);
        Expect::new(0, p.amount, Some(self.cash[p.account]))
    }

    /// Undoes what `(device, pos)` posted.
    fn undo(&mut self, device: usize, pos: i64, p: Posted) -> Expect {
        self.cash[p.account] -= p.cash;
        self.purse[p.account] -= p.purse;
        let voided = Posted { voided: true, ..p };
        self.effects.insert((device, pos), Effect::Posted(voided));
        Expect::new(0, p.amount, Some(self.cash[p.account]))
    }

    /// `(device, pos)` posted nothing; the answer is `xf` with the account's cash, if the
    /// ledger gave it.
    fn nothing(&mut self, device: usize, pos: i64, xf: i64, account: Option<usize>) -> Expect {
        self.effects.insert((device, pos), Effect::Nothing);
        Expect::new(xf, 0, account.map(|a| self.cash[a]))
    }

    /// A new online consumption (mode 1).
    fn consume(&mut self, device: usize, pos: i64, account: usize, amount: i64) -> Expect {
        if self.tombstones.contains(&(device, pos)) {
            return self.nothing(device, pos, 6, Some(account));
        }
        if self.cash[account] < amount {
            return self.nothing(device, pos, 2, Some(account));
        }
        let p = Posted {
            account,
            cash: -amount,
            purse: 0,
            mode: 1,
            amount,
            voided: false,
        };
        self.post(device, pos, p)
    }

    /// An offline amount record (mode 51): purse first, then cash, overdraft allowed. An
    /// unknown user's record, or the late original of a reversal, is held and acknowledged.
    fn offline(&mut self, device: usize, pos: i64, account: Option<usize>, amount: i64) -> Expect {
        let Some(account) = account else {
            return self.nothing(device, pos, 0, None);
        };
        if self.tombstones.contains(&(device, pos)) {
            return self.nothing(device, pos, 0, Some(account));
        }
        let from_purse = self.purse[account].clamp(0, amount);
        let p = Posted {
            account,
            cash: -(amount - from_purse),
            purse: -from_purse,
            mode: 51,
            amount,
            voided: false,
        };
        self.post(device, pos, p)
    }

    /// A top-up (2) or load (12): only device 0 holds the grants (no ceilings).
    fn money_moving(
        &mut self,
        device: usize,
        pos: i64,
        account: usize,
        mode: i64,
        amount: i64,
    ) -> Expect {
        if device != 0 {
            return self.nothing(device, pos, 20, None);
        }
        if mode == 12 && self.cash[account] < amount {
            return self.nothing(device, pos, 2, Some(account));
        }
        let (cash, purse) = if mode == 2 {
            (amount, 0)
        } else {
            (-amount, amount)
        };
        let p = Posted {
            account,
            cash,
            purse,
            mode,
            amount,
            voided: false,
        };
        self.post(device, pos, p)
    }

    /// A reversal (mode 10) of `pos`, sent once per posNum by `account`'s user.
    fn reversal(&mut self, device: usize, pos: i64, account: usize) -> Expect {
        self.reversed.insert((device, pos));
        match self.effects.get(&(device, pos)).copied() {
            None => {
                self.tombstones.insert((device, pos));
                Expect::new(0, 0, Some(self.cash[account]))
            }
            Some(Effect::Nothing) => Expect::new(0, 0, Some(self.cash[account])),
            Some(Effect::Posted(p)) if p.voided => Expect::new(6, 0, Some(self.cash[account])),
            // A reversal always completes, even when undoing a spent top-up takes the account
            // below zero.
            Some(Effect::Posted(p)) => self.undo(device, pos, p),
        }
    }

    /// A cancel (mode 31) of the device's last transaction, claiming it charged `amount`.
    fn cancel(&mut self, device: usize, pos: i64, account: usize, amount: i64) -> Expect {
        self.effects.insert((device, pos), Effect::Nothing);
        let last = self.last[device].map(|p| (p, self.effects[&(device, p)]));
        let Some((last_pos, Effect::Posted(p))) = last else {
            return Expect::new(6, 0, None);
        };
        if p.mode != 1 {
            return Expect::new(7, 0, None);
        }
        if p.account != account || p.voided || p.amount != amount {
            return Expect::new(6, 0, None);
        }
        self.undo(device, last_pos, p)
    }
}

struct Sim {
    seed: u64,
    rng: StdRng,
    gw: MqttGateway,
    devices: Vec<SimDevice>,
    users: Vec<(String, i64)>,
    model: Model,
    next_pos: [i64; DEVICES],
    /// Every request sent with its first answer, for exact retries.
    sent: Vec<(usize, Value, Value)>,
    step: usize,
    op: String,
}

fn body(mode: i64, pos: i64, user: &str, pay_money: i64, second: usize) -> Value {
    json!({
        "mode": mode, "posNum": pos, "userId": user, "payMoney": pay_money,
        "payTime": format!("2026-11-24 {:02}:{:02}:{:02}", 8 + second / 3600 % 12, second / 60 % 60, second % 60),
        "idenType": "reqCard", "imgPath": format!("sim/{pos}.jpg"), "msgType": "api_ret"
    })
}

impl Sim {
    fn fail(&self, what: String) -> ! {
        sim::fail(self.seed, self.step, &self.op, what)
    }

    fn check(&self, expect: Expect, got: &Value) {
        if !expect.matches(got) {
            self.fail(format!("expected {expect:?}, got {got}"));
        }
    }

    /// Sends a request and keeps it for exact retries, unless its answer was decided before
    /// the ledger and so is evaluated again on a retry (a missing grant, a refused cancel).
    async fn send(&mut self, device: usize, request: Value) -> Value {
        let answer = match self.devices[device].consume(&request).await {
            Ok(answer) => answer,
            Err(e) => self.fail(format!("no answer: {e}")),
        };
        let decided_before_ledger =
            answer["xfCode"] == 20 || (request["mode"] == 31 && answer["xfCode"] != 0);
        if !decided_before_ledger {
            self.sent.push((device, request, answer.clone()));
        }
        answer
    }

    fn new_pos(&mut self, device: usize) -> i64 {
        self.next_pos[device] += 1;
        self.next_pos[device]
    }

    /// Compares the account's balances in the gateway with the model's.
    async fn balances_match(&self, i: usize) {
        let id = self.users[i].1;
        {
            let (_, b) = self
                .gw
                .admin
                .get(&format!("/admin/v1/accounts/{id}/balances"))
                .await;
            let got = (b["cash"].as_i64(), b["purse"].as_i64());
            let want = (Some(self.model.cash[i]), Some(self.model.purse[i]));
            if got != want {
                self.fail(format!(
                    "account {i}: balances {b}, model (cash, purse) {want:?}"
                ));
            }
        }
    }

    async fn one_step(&mut self) {
        let device = self.rng.random_range(0..DEVICES);
        let account = self.rng.random_range(0..ACCOUNTS);
        let user = self.users[account].0.clone();
        let amount = self.rng.random_range(1..=3_000);
        let pick = self.rng.random_range(0..100);
        let second = self.step;
        match pick {
            0..=29 => {
                let pos = self.new_pos(device);
                self.op = format!("consume d{device} #{pos} a{account} {amount}");
                let expect = self.model.consume(device, pos, account, amount);
                let got = self.send(device, body(1, pos, &user, amount, second)).await;
                self.check(expect, &got);
            }
            30..=44 if !self.sent.is_empty() => {
                let i = self.rng.random_range(0..self.sent.len());
                let (device, request, first) = self.sent[i].clone();
                self.op = format!("retry d{device} {request}");
                match self.devices[device].consume(&request).await {
                    Ok(got) if got == first => {}
                    Ok(got) => self.fail(format!("retry answered {got}, first answer {first}")),
                    Err(e) => self.fail(format!("no answer: {e}")),
                }
            }
            45..=54 => {
                // A lost reply: the device reverses what it sent (or never saw posted).
                let pos = self.new_pos(device);
                self.op = format!("consume then reverse d{device} #{pos} a{account} {amount}");
                self.model.consume(device, pos, account, amount);
                self.send(device, body(1, pos, &user, amount, second)).await;
                let expect = self.model.reversal(device, pos, account);
                let got = self.send(device, body(10, pos, &user, 0, second)).await;
                self.check(expect, &got);
            }
            55..=59 => {
                // A reversal before its original; the original comes later (or never).
                let pos = self.new_pos(device);
                self.op = format!("reverse first d{device} #{pos} a{account}");
                let expect = self.model.reversal(device, pos, account);
                let got = self.send(device, body(10, pos, &user, 0, second)).await;
                self.check(expect, &got);
                if self.rng.random_bool(0.7) {
                    let expect = self.model.consume(device, pos, account, amount);
                    let got = self
                        .send(device, body(1, pos, &user, amount, second + 1))
                        .await;
                    self.check(expect, &got);
                }
            }
            60..=69 => {
                let pos = self.new_pos(device);
                let claimed =
                    match self.model.last[device].map(|p| self.model.effects[&(device, p)]) {
                        Some(Effect::Posted(p)) if self.rng.random_bool(0.8) => p.amount,
                        _ => amount,
                    };
                self.op = format!("cancel d{device} #{pos} a{account} {claimed}");
                let expect = self.model.cancel(device, pos, account, claimed);
                let got = self
                    .send(device, body(31, pos, &user, claimed, second))
                    .await;
                self.check(expect, &got);
            }
            70..=79 => {
                let pos = self.new_pos(device);
                let known = self.rng.random_bool(0.9);
                let who = if known {
                    user.clone()
                } else {
                    "9999999".to_string()
                };
                self.op = format!("offline d{device} #{pos} {who} {amount}");
                let expect = self
                    .model
                    .offline(device, pos, known.then_some(account), amount);
                let mut record = body(51, pos, &who, amount, second);
                record["offlineDz"] = json!(100);
                record["offlineMoney"] = json!(amount);
                let got = self.send(device, record).await;
                self.check(expect, &got);
            }
            80..=86 => {
                let pos = self.new_pos(device);
                let mode = if self.rng.random_bool(0.5) { 2 } else { 12 };
                self.op = format!("mode {mode} d{device} #{pos} a{account} {amount}");
                let expect = self.model.money_moving(device, pos, account, mode, amount);
                let got = self
                    .send(device, body(mode, pos, &user, amount, second))
                    .await;
                self.check(expect, &got);
            }
            87..=91 => self.reverse_earlier(device, second).await,
            _ => self.concurrent(account, &user, amount, second).await,
        }
        // Every account a step can touch is its own; a reversal or cancel names its user.
        self.balances_match(account).await;
    }

    /// The device reverses one of its earlier posted transactions (a consumption, an
    /// offline record, a top-up since spent, a load, one already cancelled), by its owner.
    async fn reverse_earlier(&mut self, device: usize, second: usize) {
        let mut candidates: Vec<(i64, Posted)> = self
            .model
            .effects
            .iter()
            .filter(|((d, pos), _)| *d == device && !self.model.reversed.contains(&(*d, *pos)))
            .filter_map(|((_, pos), e)| match e {
                Effect::Posted(p) => Some((*pos, *p)),
                Effect::Nothing => None,
            })
            .collect();
        if candidates.is_empty() {
            return;
        }
        candidates.sort_by_key(|(pos, _)| *pos);
        let (pos, p) = candidates[self.rng.random_range(0..candidates.len())];
        let user = self.users[p.account].0.clone();
        self.op = format!("reverse earlier d{device} #{pos} {p:?}");
        let expect = self.model.reversal(device, pos, p.account);
        let got = self.send(device, body(10, pos, &user, 0, second)).await;
        self.check(expect, &got);
    }

    /// Both devices consume from one account at the same moment: the answers must be those
    /// of one of the two orders.
    async fn concurrent(&mut self, account: usize, user: &str, amount: i64, second: usize) {
        let other = self.rng.random_range(1..=3_000);
        let (p0, p1) = (self.new_pos(0), self.new_pos(1));
        self.op = format!("concurrent a{account} d0 #{p0} {amount} / d1 #{p1} {other}");
        let (r0, r1) = (
            body(1, p0, user, amount, second),
            body(1, p1, user, other, second),
        );
        let (d0, rest) = self.devices.split_at_mut(1);
        let (g0, g1) = futures::join!(d0[0].consume(&r0), rest[0].consume(&r1));
        let (g0, g1) = match (g0, g1) {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => self.fail(format!("no answer: {a:?} {b:?}")),
        };
        let mut d0_first = self.model.clone();
        let e0 = d0_first.consume(0, p0, account, amount);
        let e1 = d0_first.consume(1, p1, account, other);
        let mut d1_first = self.model.clone();
        let f1 = d1_first.consume(1, p1, account, other);
        let f0 = d1_first.consume(0, p0, account, amount);
        if e0.matches(&g0) && e1.matches(&g1) {
            self.model = d0_first;
        } else if f0.matches(&g0) && f1.matches(&g1) {
            self.model = d1_first;
        } else {
            self.fail(format!(
                "answers {g0} / {g1} fit neither order: {e0:?} {e1:?} or {f0:?} {f1:?}"
            ));
        }
        self.sent.push((0, r0, g0));
        self.sent.push((1, r1, g1));
    }
}

async fn run_seed(backend: Backend, seed: u64, ops: usize) {
    let Some(gw) = MqttGateway::on(backend, |_| {}).await else {
        return;
    };
    let mut users = Vec::new();
    for _ in 0..ACCOUNTS {
        let user = format!("{}", 400_000 + rand::random::<u32>() % 100_000);
        let (status, a) = gw
            .admin
            .post(
                "/admin/v1/accounts",
                json!({"merchant_id": gw.merchant, "user_id": user,
                       "initial_balances": {"cash": OPENING_CASH}}),
            )
            .await;
        assert_eq!(status, 201, "{a}");
        users.push((user, a["id"].as_i64().unwrap()));
    }
    let mut devices = Vec::new();
    for d in 0..DEVICES {
        let (device, terminal) = gw.device().await;
        if d == 0 {
            for capability in ["top_up", "load"] {
                let (status, body) = gw
                    .admin
                    .put(
                        &format!("/admin/v1/terminals/{terminal}/capabilities/{capability}"),
                        json!({"per_transaction_max": 0, "daily_max": 0}),
                    )
                    .await;
                assert_eq!(status, 200, "{body}");
            }
        }
        devices.push(device);
    }
    let mut sim = Sim {
        seed,
        rng: StdRng::seed_from_u64(seed),
        gw,
        devices,
        users,
        model: Model {
            cash: [OPENING_CASH; ACCOUNTS],
            ..Model::default()
        },
        next_pos: [0; DEVICES],
        sent: Vec::new(),
        step: 0,
        op: String::new(),
    };
    for step in 0..ops {
        sim.step = step;
        sim.one_step().await;
    }
    for account in 0..ACCOUNTS {
        sim.balances_match(account).await;
    }
    let (_, audit) = sim.gw.admin.get("/admin/v1/ledger/audit").await;
    if audit["balance_mismatches"] != json!([]) || audit["unbalanced"] != json!([]) {
        sim.fail(format!("ledger audit: {audit}"));
    }
    eprintln!("protocol simulation: {backend:?} seed {seed}, {ops} operations, model held");
}

#[actix_rt::test]
async fn mqtt_sequences_hold_the_model_on_sqlite() {
    sim::run_seeds(|seed, ops| run_seed(Backend::Sqlite, seed, ops)).await;
}

#[actix_rt::test]
async fn mqtt_sequences_hold_the_model_on_postgres() {
    sim::run_seeds(|seed, ops| run_seed(Backend::Postgres, seed, ops)).await;
}
