//! The jpos half of the protocol-level randomized test (the MQTT half is
//! `tests/protocol_sim.rs`): seeded, reproducible sequences of terminal requests through the
//! real jpos HTTP adapter, on SQLite and on PostgreSQL, with several cards and two terminals
//! of one merchant, checked after every step against a small reference model of what each
//! answer and each card's points must be, and by the ledger audit at the end.
//!
//! Operations: consumes (points and cash, so the merchant's earn rule matters), exact
//! retries (any earlier request resent gets its first answer), reversals after their
//! original (a lost reply), reversals before their original (the late original is refused
//! `12`), requests and reversals whose figures differ from the request at their trace
//! (`94`, never a success code), cancels and cancel reversals, partial and full refunds from
//! either terminal and refund cancels, two terminals on one card at the same moment (two
//! consumes, two refunds, a cancel and a refund: the answers must fit one serial order), and
//! lost replies resolved by the pending-row sweeper (the answer of a request is forgotten
//! in the database, as a crash after its postings would leave it).
//!
//! Not raced: a partial refund and another posting on the same card (another partial
//! refund, a consume). A refund's points and its grant taken back are two ledger
//! transactions and its reply reads the balance after them, so its `pointBalance` may
//! include the other terminal's posting: the money is right, the answers need not fit one
//! serial order (racing full refunds, or a cancel and a refund, post for one side only).
//!
//! The model restates the rules of `docs/protocols.md` (jpos) and `docs/error-codes.md`
//! (jpos `status`); it shares no code with the gateway. `POSGATE_SIM_SEEDS` and
//! `POSGATE_SIM_OPS` set the run (see `common/sim.rs`); a failing run names its seed and
//! step, so `POSGATE_SIM_SEEDS=<seed>` replays it.

mod common;
#[path = "common/jpos.rs"]
mod fixture;

use common::sim;
use fixture::{
    forget_answer_at, random_pan, resolved_by_sweeper_at, with_store, Form, Jpos, Reply,
};
use posgate_actors::store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};

const CARDS: usize = 3;
const TERMINALS: usize = 2;
/// Points each card opens with, hundredths.
const OPENING_POINTS: i64 = 20_000;
/// The merchant's earn rule: points granted per yuan of cash, in basis points (rounded down).
const EARN_RATE_BP: i64 = 3_333;

const CONSUME: &str = "/v1/jpos/trans/consume";
const CONSUME_REVERSAL: &str = "/v1/jpos/trans/consumeReversal";
const CANCEL: &str = "/v1/jpos/trans/cancel";
const CANCEL_REVERSAL: &str = "/v1/jpos/trans/cancelReversal";
const REFUND: &str = "/v1/jpos/refunds";
const REFUND_CANCEL: &str = "/v1/jpos/refunds/cancel";

/// A place in a terminal's journal: terminal index, trace number (all in batch 1).
type Key = (usize, u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Standing,
    Cancelled,
    Reversed,
}

/// A consume, for the model.
#[derive(Clone, Debug)]
struct Sale {
    card: usize,
    point: i64,
    cash: i64,
    /// Points granted by the earn rule.
    grant: i64,
    /// Answered `00` (a consume reversed while pending is answered `12` instead).
    approved: bool,
    state: State,
    /// Refunded so far: points, cash, and granted points taken back (or asked in cash).
    refunded: [i64; 3],
    /// Its reversal was refused `96` (it was refunded); the simulation then never cancels
    /// its refunds, so that the reversal the gateway keeps pending stays refused.
    reversal_refused: bool,
    serial: String,
    time_ms: i64,
}

/// An approved refund, for the model.
#[derive(Clone, Debug)]
struct Refunded {
    sale: Key,
    card: usize,
    point: i64,
    cash: i64,
    /// Granted points given back (`returnPersentPoint`).
    back: i64,
    /// Of `back`, what the card gave (the rest is `supplyCash`).
    take: i64,
    cancelled: bool,
    serial: String,
    time_ms: i64,
}

/// What stands at a trace.
#[derive(Clone, Debug)]
enum Row {
    Sale(Sale),
    /// A cancel of the consume at `sale`.
    Cancel {
        sale: Key,
        approved: bool,
    },
    Refund(Refunded),
    /// Anything else answered: a refused refund, a refund cancel.
    Other,
    /// Reversed before it arrived.
    Tombstone,
}

/// The reference model: each card's points and what stands at each trace.
#[derive(Clone)]
struct Model {
    points: [i64; CARDS],
    rows: HashMap<Key, Row>,
    /// Traces whose reversal was answered (and so stored).
    reversed: HashSet<Key>,
}

/// The answer the model expects: `status` and the amounts that matter, in hundredths.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Expect {
    status: &'static str,
    fields: Vec<(&'static str, i64)>,
}

impl Expect {
    fn code(status: &'static str) -> Expect {
        Expect {
            status,
            fields: Vec::new(),
        }
    }

    fn matches(&self, got: &Value) -> bool {
        got["status"] == self.status
            && self
                .fields
                .iter()
                .all(|(name, want)| got[*name].as_str().and_then(hundredths) == Some(*want))
    }
}

/// `"12.34"` or `"-0.50"` as hundredths.
fn hundredths(text: &str) -> Option<i64> {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text),
    };
    let (whole, frac) = digits.split_once('.')?;
    if frac.len() != 2 {
        return None;
    }
    Some(sign * (whole.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?))
}

/// Hundredths as a wire amount, `"12.34"`.
fn yuan(v: i64) -> String {
    format!("{}.{:02}", v / 100, v % 100)
}

/// The business date (UTC+8, the default `ledger.utc_offset_minutes`) of an instant, as a
/// refund names it.
fn business_date(ms: i64) -> String {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .with_timezone(&offset)
        .format("%Y%m%d")
        .to_string()
}

impl Model {
    fn new() -> Model {
        Model {
            points: [OPENING_POINTS; CARDS],
            rows: HashMap::new(),
            reversed: HashSet::new(),
        }
    }

    /// An approval: `fields`, and the card's balance and what it may spend.
    fn ok(&self, card: usize, mut fields: Vec<(&'static str, i64)>) -> Expect {
        let balance = self.points[card];
        fields.extend([
            ("pointBalance", balance),
            ("avaiablePointBalance", balance.max(0)),
        ]);
        Expect {
            status: "00",
            fields,
        }
    }

    fn refused(&mut self, key: Key, row: Row, status: &'static str) -> Expect {
        self.rows.insert(key, row);
        Expect::code(status)
    }

    /// The late original of a reversal: refused `12`, for good.
    fn late(&self, key: Key) -> bool {
        matches!(self.rows.get(&key), Some(Row::Tombstone))
    }

    fn sale(&mut self, key: Key) -> &mut Sale {
        match self.rows.get_mut(&key) {
            Some(Row::Sale(s)) => s,
            other => panic!("no consume at {key:?}: {other:?}"),
        }
    }

    fn sale_ref(&self, key: Key) -> &Sale {
        match self.rows.get(&key) {
            Some(Row::Sale(s)) => s,
            other => panic!("no consume at {key:?}: {other:?}"),
        }
    }

    /// A consume: points are debited (never below zero: `51`), cash earns points.
    fn consume(&mut self, key: Key, card: usize, point: i64, cash: i64) -> Expect {
        if self.late(key) {
            return Expect::code("12");
        }
        let mut sale = Sale {
            card,
            point,
            cash,
            grant: cash * EARN_RATE_BP / 10_000,
            approved: false,
            state: State::Standing,
            refunded: [0; 3],
            reversal_refused: false,
            serial: String::new(),
            time_ms: 0,
        };
        if point == 0 && cash == 0 {
            return self.refused(key, Row::Sale(sale), "13");
        }
        if point > 0 && self.points[card] < point {
            return self.refused(key, Row::Sale(sale), "51");
        }
        self.points[card] += sale.grant - point;
        sale.approved = true;
        let grant = sale.grant;
        self.rows.insert(key, Row::Sale(sale));
        self.ok(card, vec![("usePoint", point), ("persentPoint", grant)])
    }

    /// The reversal of the consume at `key` (its own body): a tombstone when it never
    /// arrived (`25`); nothing to undo when refused or reversed (`00`); `12` when cancelled;
    /// `96`, not stored, when refunded (it cannot be voided); else undone, always, even
    /// below zero (`00`).
    fn consume_reversal(&mut self, key: Key) -> Expect {
        let Some(row) = self.rows.get_mut(&key) else {
            self.rows.insert(key, Row::Tombstone);
            self.reversed.insert(key);
            return Expect::code("25");
        };
        let Row::Sale(s) = row else {
            panic!("a consume reversal of {row:?}");
        };
        let status = match s.state {
            _ if !s.approved => "00",
            State::Cancelled => "12",
            State::Reversed => "00",
            State::Standing if s.refunded[0] + s.refunded[1] > 0 => {
                s.reversal_refused = true;
                return Expect::code("96");
            }
            State::Standing => {
                s.state = State::Reversed;
                self.points[s.card] += s.point - s.grant;
                "00"
            }
        };
        self.reversed.insert(key);
        Expect::code(status)
    }

    /// Why the consume at `named` cannot be cancelled by `card` naming `time_ms`.
    fn cancel_refusal(&self, card: usize, named: Key, time_ms: i64) -> Option<&'static str> {
        let Some(Row::Sale(s)) = self.rows.get(&named) else {
            return Some("25");
        };
        if !s.approved || s.card != card || s.time_ms / 1000 != time_ms / 1000 {
            return Some("25");
        }
        if s.state != State::Standing || s.refunded[0] + s.refunded[1] > 0 {
            return Some("12");
        }
        // Points back, grant taken back: never below zero for a cancel.
        let delta = s.point - s.grant;
        let posted = s.point > 0 || s.grant > 0;
        if posted && delta < 0 && self.points[card] + delta < 0 {
            return Some("51");
        }
        None
    }

    /// A cancel (same terminal) of the consume at `named`.
    fn cancel(&mut self, key: Key, card: usize, named: Key, time_ms: i64) -> Expect {
        if self.late(key) {
            return Expect::code("12");
        }
        if let Some(status) = self.cancel_refusal(card, named, time_ms) {
            let row = Row::Cancel {
                sale: named,
                approved: false,
            };
            return self.refused(key, row, status);
        }
        let s = self.sale(named);
        s.state = State::Cancelled;
        let (point, grant) = (s.point, s.grant);
        self.points[card] += point - grant;
        let row = Row::Cancel {
            sale: named,
            approved: true,
        };
        self.rows.insert(key, row);
        self.ok(card, vec![("usePoint", point), ("persentPoint", grant)])
    }

    /// The reversal of the cancel at `key`: a tombstone when it never arrived (`25`);
    /// nothing when refused; else the consume is posted again (below zero if it must) and
    /// stands again (`00`).
    fn cancel_reversal(&mut self, key: Key) -> Expect {
        let status = match self.rows.get(&key).cloned() {
            None => {
                self.rows.insert(key, Row::Tombstone);
                "25"
            }
            Some(Row::Cancel {
                sale,
                approved: true,
            }) => {
                self.rows.insert(
                    key,
                    Row::Cancel {
                        sale,
                        approved: false,
                    },
                );
                let s = self.sale(sale);
                s.state = State::Standing;
                let (card, delta) = (s.card, s.grant - s.point);
                self.points[card] += delta;
                "00"
            }
            Some(Row::Cancel { .. }) => "00",
            Some(other) => panic!("a cancel reversal of {other:?}"),
        };
        self.reversed.insert(key);
        Expect::code(status)
    }

    /// A refund of the consume `named` (by its serial number and date), of `amounts`
    /// (points, cash) or of what is left.
    fn refund(&mut self, key: Key, card: usize, named: Key, amounts: Option<(i64, i64)>) -> Expect {
        let s = match self.rows.get(&named) {
            Some(Row::Sale(s)) if s.approved && s.card == card => s.clone(),
            _ => return self.refused(key, Row::Other, "25"),
        };
        if s.state != State::Standing {
            return self.refused(key, Row::Other, "12");
        }
        let left = (s.point - s.refunded[0], s.cash - s.refunded[1]);
        let (point, cash) = amounts.unwrap_or(left);
        if point > left.0 || cash > left.1 {
            return self.refused(key, Row::Other, "64");
        }
        if point + cash == 0 {
            return self.refused(key, Row::Other, "12");
        }
        // Granted points go back in proportion, cumulatively; what the card no longer
        // holds is asked in cash.
        let after = s.refunded[0] + s.refunded[1] + point + cash;
        let target = i128::from(s.grant) * i128::from(after) / i128::from(s.point + s.cash);
        let back = i64::try_from(target).unwrap() - s.refunded[2];
        let take = back.clamp(0, (self.points[card] + point).max(0));
        self.points[card] += point - take;
        let sold = self.sale(named);
        sold.refunded = [
            sold.refunded[0] + point,
            sold.refunded[1] + cash,
            sold.refunded[2] + back,
        ];
        let refund = Refunded {
            sale: named,
            card,
            point,
            cash,
            back,
            take,
            cancelled: false,
            serial: String::new(),
            time_ms: 0,
        };
        self.rows.insert(key, Row::Refund(refund));
        let fields = vec![
            ("returnPoint", point),
            ("returnPersentPoint", back),
            ("returnCash", cash),
            ("supplyCash", back - take),
        ];
        self.ok(card, fields)
    }

    /// A refund cancel (same terminal) of the refund at `named`, naming it right or not.
    fn refund_cancel(&mut self, key: Key, card: usize, named: Key, names_it: bool) -> Expect {
        let refund = match self.rows.get(&named) {
            Some(Row::Refund(r)) if names_it && r.card == card => r.clone(),
            _ => return self.refused(key, Row::Other, "25"),
        };
        if refund.cancelled {
            return self.refused(key, Row::Other, "12");
        }
        if refund.point > 0 && self.points[card] < refund.point {
            return self.refused(key, Row::Other, "51");
        }
        self.points[card] += refund.take - refund.point;
        if let Some(Row::Refund(r)) = self.rows.get_mut(&named) {
            r.cancelled = true;
        }
        let s = self.sale(refund.sale);
        s.refunded = [
            s.refunded[0] - refund.point,
            s.refunded[1] - refund.cash,
            s.refunded[2] - refund.back,
        ];
        self.rows.insert(key, Row::Other);
        self.ok(
            card,
            vec![("usePoint", refund.point), ("persentPoint", refund.take)],
        )
    }

    /// The sweeper resolved the request at `key`, whose answer was lost: a consume or a
    /// cancel is reversed (and answered `12`), a refund completed as it was.
    fn swept(&mut self, key: Key) -> &'static str {
        match self.rows.get(&key).cloned() {
            Some(Row::Sale(_)) => {
                self.consume_reversal(key);
                self.sale(key).approved = false;
                "12"
            }
            Some(Row::Cancel { .. }) => {
                self.cancel_reversal(key);
                "12"
            }
            _ => "00",
        }
    }
}

/// A request sent, with its first answer, for exact retries.
struct Sent {
    terminal: usize,
    path: &'static str,
    form: Form,
    text: String,
    /// The answer is stored (byte for byte); else only its status is the same (the late
    /// original of a reversal is refused with the time of the refusal).
    exact: bool,
}

/// One seed's run: its gateway, terminals and cards, the model, what was sent.
struct Sim {
    seed: u64,
    rng: StdRng,
    j: Jpos,
    /// A second handle on the gateway's database, to forget answers.
    store: Store,
    terminals: [String; TERMINALS],
    cards: Vec<(String, i64)>,
    model: Model,
    next_trace: [u32; TERMINALS],
    /// The request at each trace, for its reversal.
    forms: HashMap<Key, Form>,
    sent: Vec<Sent>,
    step: usize,
    op: String,
    /// Answers checked, by operation and status, for the run's summary.
    tally: BTreeMap<String, usize>,
    /// The cards the step's requests named, a bit each.
    touched: Cell<u32>,
}

impl Sim {
    fn fail(&self, what: impl std::fmt::Display) -> ! {
        sim::fail(self.seed, self.step, &self.op, what)
    }

    fn check(&mut self, expect: &Expect, got: &Reply) {
        if !expect.matches(&got.json) {
            self.fail(format!("expected {expect:?}, got {}", got.text));
        }
        let kind = self.op.split([' ', '(']).next().unwrap_or("").to_string();
        *self
            .tally
            .entry(format!("{kind} {}", expect.status))
            .or_default() += 1;
    }

    fn new_trace(&mut self, t: usize) -> Key {
        self.next_trace[t] += 1;
        (t, self.next_trace[t])
    }

    fn head(&self, (t, trace): Key, card: usize) -> Form {
        vec![
            ("storeNo", self.j.store_no.clone()),
            ("terminalNo", self.terminals[t].clone()),
            ("cardNo", self.cards[card].0.clone()),
            ("traceNo", format!("{trace:06}")),
            ("batchNo", "000001".to_string()),
        ]
    }

    fn consume_form(&self, key: Key, card: usize, point: i64, cash: i64) -> Form {
        let mut form = self.head(key, card);
        form.extend([
            ("track2", format!("{}=49122011519", self.cards[card].0)),
            ("password", "0123456789ABCDEF".to_string()),
            ("consumeType", "01".to_string()),
            ("pointAmount", yuan(point)),
            ("cashAmount", yuan(cash)),
            ("registerTraceNo", format!("R{}", key.1)),
        ]);
        form
    }

    fn cancel_form(&self, key: Key, card: usize, named: u32, time_ms: i64) -> Form {
        let mut form = self.head(key, card);
        form.extend([
            ("oriBatchNo", "000001".to_string()),
            ("oriTraceNo", format!("{named:06}")),
            ("oriTransTime", time_ms.to_string()),
        ]);
        form
    }

    /// Sends a request (noting its card as touched by the step); any answer but HTTP 200
    /// fails the run.
    async fn send(&self, path: &str, form: &Form) -> Reply {
        let card = form.iter().find(|(k, _)| *k == "cardNo").map(|(_, v)| v);
        if let Some(i) = self.cards.iter().position(|(pan, _)| Some(pan) == card) {
            self.touched.set(self.touched.get() | 1 << i);
        }
        let reply = self.j.post(path, form).await;
        if reply.http != 200 {
            self.fail(format!("HTTP {}: {}", reply.http, reply.text));
        }
        reply
    }

    /// Keeps the request at `key` and its answer for exact retries, unless the answer is
    /// not stored (`94`, `96`).
    fn remember(&mut self, key: Key, path: &'static str, form: Form, got: &Reply) {
        if matches!(got.status(), "94" | "96") {
            return;
        }
        let reversal = path == CONSUME_REVERSAL || path == CANCEL_REVERSAL;
        self.sent.push(Sent {
            terminal: key.0,
            path,
            form,
            text: got.text.clone(),
            exact: reversal || !self.model.late(key),
        });
    }

    /// Sends, checks against the model's expectation, keeps it for retries.
    async fn exchange(
        &mut self,
        key: Key,
        path: &'static str,
        form: Form,
        expect: Expect,
    ) -> Reply {
        let got = self.send(path, &form).await;
        self.check(&expect, &got);
        self.remember(key, path, form, &got);
        got
    }

    /// Records an approved consume's or refund's serial number and time, which cancels,
    /// refunds and refund cancels name.
    fn note(&mut self, key: Key, got: &Reply) {
        if got.status() != "00" {
            return;
        }
        let serial = got.json["serialNo"].as_str().unwrap_or("").to_string();
        let time_ms = got.json["transTime"].as_i64().unwrap_or(0);
        match self.model.rows.get_mut(&key) {
            Some(Row::Sale(s)) if s.approved => (s.serial, s.time_ms) = (serial, time_ms),
            Some(Row::Refund(r)) => (r.serial, r.time_ms) = (serial, time_ms),
            _ => {}
        }
    }

    /// Compares the points in the gateway of every card the step touched (`all`: of every
    /// card) with the model's.
    async fn balances_match(&self, all: bool) {
        let touched = self.touched.replace(0);
        for (i, (_, id)) in self.cards.iter().enumerate() {
            if !all && touched & 1 << i == 0 {
                continue;
            }
            let (_, b) = self
                .j
                .admin
                .get(&format!("/admin/v1/accounts/{id}/balances"))
                .await;
            if b["points"].as_i64() != Some(self.model.points[i]) || b["cash"] != 0 {
                self.fail(format!(
                    "card {i}: balances {b}, model points {}",
                    self.model.points[i]
                ));
            }
        }
    }
}

/// The operations.
impl Sim {
    async fn one_step(&mut self) {
        let t = self.rng.random_range(0..TERMINALS);
        let card = self.rng.random_range(0..CARDS);
        match self.rng.random_range(0..100) {
            0..=21 => drop(self.consume(t, card).await),
            22..=33 => self.retry().await,
            34..=41 => self.consume_then_reverse(t, card).await,
            42..=45 => self.reverse_first(t, card).await,
            46..=49 => self.differing(t).await,
            50..=58 => drop(self.cancel(t).await),
            59..=63 => self.cancel_then_reverse(t).await,
            64..=73 => drop(self.refund(t).await),
            74..=78 => self.refund_cancel(t).await,
            79..=84 => self.reverse_earlier(t).await,
            85..=98 => self.concurrent(card).await,
            // Rare: the sweeper takes seconds.
            _ if self.rng.random_bool(0.5) => self.lost_reply(t, card).await,
            _ => drop(self.consume(t, card).await),
        }
        self.balances_match(false).await;
    }

    /// Points (none a fifth of the time) and cash (likewise): rarely neither.
    fn amounts(&mut self) -> (i64, i64) {
        let point = if self.rng.random_bool(0.2) {
            0
        } else {
            self.rng.random_range(1..=2_500)
        };
        let cash = if self.rng.random_bool(0.2) {
            0
        } else {
            self.rng.random_range(1..=6_000)
        };
        (point, cash)
    }

    async fn consume(&mut self, t: usize, card: usize) -> Key {
        let key = self.new_trace(t);
        let (point, cash) = self.amounts();
        self.op = format!("consume {key:?} card {card} {point}/{cash}");
        let form = self.consume_form(key, card, point, cash);
        self.forms.insert(key, form.clone());
        let expect = self.model.consume(key, card, point, cash);
        let got = self.exchange(key, CONSUME, form, expect).await;
        self.note(key, &got);
        key
    }

    async fn retry(&mut self) {
        if self.sent.is_empty() {
            return;
        }
        let i = self.rng.random_range(0..self.sent.len());
        let sent = &self.sent[i];
        self.op = format!("retry {} {:?}", sent.path, sent.form);
        let got = self.send(sent.path, &sent.form).await;
        let first: Value = serde_json::from_str(&sent.text).unwrap();
        let same = if sent.exact {
            got.text == sent.text
        } else {
            got.json["status"] == first["status"]
        };
        if !same {
            self.fail(format!(
                "retry from terminal {} answered {}, first answer {}",
                sent.terminal, got.text, sent.text
            ));
        }
    }

    /// A lost reply: the terminal reverses the consume it sent.
    async fn consume_then_reverse(&mut self, t: usize, card: usize) {
        let key = self.consume(t, card).await;
        self.reverse(key).await;
    }

    /// Reverses the consume or cancel at `key` with its own body.
    async fn reverse(&mut self, key: Key) {
        let form = self.forms[&key].clone();
        let cancel = matches!(self.model.rows.get(&key), Some(Row::Cancel { .. }));
        self.op = format!("reverse {key:?}: {:?}", self.model.rows.get(&key));
        let (path, expect) = if cancel {
            (CANCEL_REVERSAL, self.model.cancel_reversal(key))
        } else {
            (CONSUME_REVERSAL, self.model.consume_reversal(key))
        };
        self.exchange(key, path, form, expect).await;
    }

    /// A reversal before its original (a consume or a cancel); the late original, if it
    /// comes, is refused.
    async fn reverse_first(&mut self, t: usize, card: usize) {
        let key = self.new_trace(t);
        let (point, cash) = self.amounts();
        let cancel = self.rng.random_bool(0.3);
        let (path, late, form) = if cancel {
            let form = self.cancel_form(key, card, key.1 - 1, 1_700_000_000_000);
            (CANCEL_REVERSAL, CANCEL, form)
        } else {
            let form = self.consume_form(key, card, point, cash);
            (CONSUME_REVERSAL, CONSUME, form)
        };
        self.op = format!("reverse-first {key:?} {path}");
        let expect = if cancel {
            self.model.cancel_reversal(key)
        } else {
            self.model.consume_reversal(key)
        };
        self.exchange(key, path, form.clone(), expect).await;
        if self.rng.random_bool(0.7) {
            self.op = format!("late-original {key:?} {late}");
            self.exchange(key, late, form, Expect::code("12")).await;
        }
    }

    /// A consume, or a consume reversal, at a used trace with other figures: `94`, and
    /// nothing changes.
    async fn differing(&mut self, t: usize) {
        let keys = self.keys(t, |r| matches!(r, Row::Sale(_)));
        if keys.is_empty() {
            return;
        }
        let key = keys[self.rng.random_range(0..keys.len())];
        let mut form = self.forms[&key].clone();
        for (k, v) in form.iter_mut() {
            if *k == "pointAmount" {
                *v = yuan(hundredths(v).unwrap() + 1);
            }
        }
        let path = if self.rng.random_bool(0.6) {
            CONSUME_REVERSAL
        } else {
            CONSUME
        };
        self.op = format!("differing {path} at {key:?}");
        let got = self.send(path, &form).await;
        self.check(&Expect::code("94"), &got);
    }

    /// This terminal's traces whose rows pass `keep`, in order.
    fn keys(&self, t: usize, keep: impl Fn(&Row) -> bool) -> Vec<Key> {
        let mut keys: Vec<Key> = self
            .model
            .rows
            .iter()
            .filter(|(k, r)| k.0 == t && keep(r))
            .map(|(k, _)| *k)
            .collect();
        keys.sort();
        keys
    }

    /// A cancel of one of this terminal's consumes (mostly with its time; rarely another
    /// terminal's trace, or the wrong time); returns its key.
    async fn cancel(&mut self, t: usize) -> Option<Key> {
        let sales = self.keys(t, |r| matches!(r, Row::Sale(s) if !s.serial.is_empty()));
        if sales.is_empty() {
            return None;
        }
        let named = sales[self.rng.random_range(0..sales.len())];
        let s = self.model.sale(named).clone();
        let card = s.card;
        let mut time_ms = s.time_ms;
        if self.rng.random_bool(0.1) {
            time_ms -= 60_000;
        }
        let key = self.new_trace(t);
        self.op = format!("cancel {key:?} of {named:?} card {card} at {time_ms}");
        let form = self.cancel_form(key, card, named.1, time_ms);
        self.forms.insert(key, form.clone());
        let expect = self.model.cancel(key, card, named, time_ms);
        self.exchange(key, CANCEL, form, expect).await;
        Some(key)
    }

    async fn cancel_then_reverse(&mut self, t: usize) {
        if let Some(key) = self.cancel(t).await {
            self.reverse(key).await;
        }
    }

    /// A refund from terminal `t` of any consume (mostly its card; sometimes part of it,
    /// sometimes more than is left, rarely an unknown serial number).
    async fn refund(&mut self, t: usize) -> Option<(Key, Key)> {
        let named = self.pick_sale(false)?;
        let key = self.new_trace(t);
        let amounts = self.refund_amounts(named);
        let mut form = self.refund_form(key, named, amounts);
        let card = self.model.sale(named).card;
        let wrong_date = self.rng.random_bool(0.05);
        self.op = format!("refund {key:?} of {named:?} {amounts:?} (wrong date: {wrong_date})");
        let expect = if wrong_date {
            let day_before = business_date(self.model.sale(named).time_ms - 86_400_000);
            form.retain(|(k, _)| *k != "oriTransDate");
            form.push(("oriTransDate", day_before));
            self.model.refused(key, Row::Other, "25")
        } else {
            self.model.refund(key, card, named, amounts)
        };
        let got = self.exchange(key, REFUND, form, expect).await;
        self.note(key, &got);
        Some((key, named))
    }

    /// One of the consumes (of either terminal) that were approved with a serial number;
    /// with `open`, one still standing with something left to refund, if there is one.
    fn pick_sale(&mut self, open: bool) -> Option<Key> {
        let approved: Vec<Key> = (0..TERMINALS)
            .flat_map(|u| self.keys(u, |r| matches!(r, Row::Sale(s) if !s.serial.is_empty())))
            .collect();
        let standing: Vec<Key> = approved
            .iter()
            .copied()
            .filter(|k| {
                let s = self.model.sale_ref(*k);
                s.approved && s.state == State::Standing && s.refunded[0] + s.refunded[1] == 0
            })
            .collect();
        let from = if open && !standing.is_empty() {
            standing
        } else {
            approved
        };
        (!from.is_empty()).then(|| from[self.rng.random_range(0..from.len())])
    }

    /// What a refund of `named` asks: all that is left (`None`), or a part, sometimes more
    /// than is left.
    fn refund_amounts(&mut self, named: Key) -> Option<(i64, i64)> {
        if self.rng.random_bool(0.4) {
            return None;
        }
        let s = self.model.sale(named).clone();
        let left = (s.point - s.refunded[0], s.cash - s.refunded[1]);
        let part = |rng: &mut StdRng, left: i64| {
            if rng.random_bool(0.1) {
                left + 1
            } else {
                rng.random_range(0..=left.max(0))
            }
        };
        Some((part(&mut self.rng, left.0), part(&mut self.rng, left.1)))
    }

    fn refund_form(&self, key: Key, named: Key, amounts: Option<(i64, i64)>) -> Form {
        let s = match self.model.rows.get(&named) {
            Some(Row::Sale(s)) => s,
            other => panic!("no consume at {named:?}: {other:?}"),
        };
        let mut form = self.head(key, s.card);
        form.extend([
            ("oriSerialNo", s.serial.clone()),
            ("oriTransDate", business_date(s.time_ms)),
            ("oriRegisterTraceNo", format!("R{}", named.1)),
        ]);
        if let Some((point, cash)) = amounts {
            form.extend([("pointAmount", yuan(point)), ("cashAmount", yuan(cash))]);
        }
        form
    }

    /// A refund cancel of one of this terminal's refunds (not of a consume whose reversal
    /// was refused; rarely naming it with the wrong time).
    async fn refund_cancel(&mut self, t: usize) {
        let refunds = self.keys(t, |r| matches!(r, Row::Refund(_)));
        let refunds: Vec<Key> = refunds
            .into_iter()
            .filter(|k| match &self.model.rows[k] {
                Row::Refund(r) => !self.model.sale_ref(r.sale).reversal_refused,
                _ => false,
            })
            .collect();
        if refunds.is_empty() {
            return;
        }
        let named = refunds[self.rng.random_range(0..refunds.len())];
        let Row::Refund(r) = self.model.rows[&named].clone() else {
            return;
        };
        let right = self.rng.random_bool(0.9);
        let time_ms = if right { r.time_ms } else { r.time_ms - 60_000 };
        let key = self.new_trace(t);
        let mut form = self.cancel_form(key, r.card, named.1, time_ms);
        form.extend([
            ("oriSerialNo", r.serial.clone()),
            ("oriRegisterTraceNo", format!("R{}", r.sale.1)),
        ]);
        self.op = format!("refund-cancel {key:?} of {named:?} (right time: {right})");
        let expect = self.model.refund_cancel(key, r.card, named, right);
        self.exchange(key, REFUND_CANCEL, form, expect).await;
    }

    /// The terminal reverses one of its earlier consumes or cancels not reversed yet (one
    /// cancelled, refunded, or standing; a cancel approved or refused).
    async fn reverse_earlier(&mut self, t: usize) {
        let reversed = self.model.reversed.clone();
        let keys: Vec<Key> = self
            .keys(t, |r| matches!(r, Row::Sale(_) | Row::Cancel { .. }))
            .into_iter()
            .filter(|k| !reversed.contains(k))
            .collect();
        if keys.is_empty() {
            return;
        }
        let key = keys[self.rng.random_range(0..keys.len())];
        self.reverse(key).await;
    }
}

/// One of two requests applied to a model.
type Apply = Box<dyn Fn(&mut Model) -> Expect>;

/// Two terminals on one card at the same moment, and the lost replies.
impl Sim {
    async fn concurrent(&mut self, card: usize) {
        match self.rng.random_range(0..3) {
            0 => self.two_consumes(card).await,
            1 => self.racing_refunds(false).await,
            _ => self.racing_refunds(true).await,
        }
    }

    /// Sends `a` from terminal 0 and `b` from terminal 1 at the same moment: the answers
    /// must be those of one of the two serial orders, whose model is then kept.
    async fn serial_order(
        &mut self,
        a: (Key, &'static str, Form, Apply),
        b: (Key, &'static str, Form, Apply),
    ) {
        let (ra, rb) = futures::join!(self.send(a.1, &a.2), self.send(b.1, &b.2));
        let mut a_first = self.model.clone();
        let ea = (a.3)(&mut a_first);
        let eb = (b.3)(&mut a_first);
        let mut b_first = self.model.clone();
        let fb = (b.3)(&mut b_first);
        let fa = (a.3)(&mut b_first);
        if ea.matches(&ra.json) && eb.matches(&rb.json) {
            self.model = a_first;
        } else if fa.matches(&ra.json) && fb.matches(&rb.json) {
            self.model = b_first;
        } else {
            self.fail(format!(
                "answers {} / {} fit neither order: {ea:?} {eb:?} or {fa:?} {fb:?}",
                ra.text, rb.text
            ));
        }
        let kind = self.op.split(' ').next().unwrap_or("").to_string();
        let both = format!("{kind} {}/{}", ra.status(), rb.status());
        *self.tally.entry(both).or_default() += 1;
        self.remember(a.0, a.1, a.2, &ra);
        self.remember(b.0, b.1, b.2, &rb);
        self.note(a.0, &ra);
        self.note(b.0, &rb);
    }

    async fn two_consumes(&mut self, card: usize) {
        let (k0, k1) = (self.new_trace(0), self.new_trace(1));
        let ((p0, c0), (p1, c1)) = (self.amounts(), self.amounts());
        self.op = format!("concurrent consumes card {card}: {k0:?} {p0}/{c0}, {k1:?} {p1}/{c1}");
        let (f0, f1) = (
            self.consume_form(k0, card, p0, c0),
            self.consume_form(k1, card, p1, c1),
        );
        self.forms.insert(k0, f0.clone());
        self.forms.insert(k1, f1.clone());
        let a: Apply = Box::new(move |m| m.consume(k0, card, p0, c0));
        let b: Apply = Box::new(move |m| m.consume(k1, card, p1, c1));
        self.serial_order((k0, CONSUME, f0, a), (k1, CONSUME, f1, b))
            .await;
    }

    /// Two full refunds of one consume from the two terminals, or (`cancel`) its cancel
    /// from its own terminal and a full refund from the other.
    async fn racing_refunds(&mut self, cancel: bool) {
        let Some(named) = self.pick_sale(true) else {
            return;
        };
        let s = self.model.sale(named).clone();
        let (mine, other) = (named.0, 1 - named.0);
        let (km, ko) = (self.new_trace(mine), self.new_trace(other));
        self.op = format!("racing-for {named:?}: {km:?} (cancel: {cancel}), {ko:?}");
        let fo = self.refund_form(ko, named, None);
        let b: Apply = Box::new(move |m| m.refund(ko, s.card, named, None));
        let (fm, a): (Form, Apply) = if cancel {
            let form = self.cancel_form(km, s.card, named.1, s.time_ms);
            self.forms.insert(km, form.clone());
            (
                form,
                Box::new(move |m| m.cancel(km, s.card, named, s.time_ms)),
            )
        } else {
            let form = self.refund_form(km, named, None);
            (form, Box::new(move |m| m.refund(km, s.card, named, None)))
        };
        if cancel && a(&mut self.model.clone()).status != "00" {
            // A cancel that will be refused (the card cannot give its grant back) still
            // claims the consume while it runs, so a refund racing it may be refused `12`
            // although no serial order refuses both: a known gap (the claim of a request
            // that then fails is not released to its racer), left out of the race.
            return;
        }
        let pm = if cancel { CANCEL } else { REFUND };
        let ((k0, p0, f0, a0), (k1, p1, f1, a1)) = if mine == 0 {
            ((km, pm, fm, a), (ko, REFUND, fo, b))
        } else {
            ((ko, REFUND, fo, b), (km, pm, fm, a))
        };
        self.serial_order((k0, p0, f0, a0), (k1, p1, f1, a1)).await;
    }

    /// A request whose answer is lost after its postings (a crash): the row is set back to
    /// pending, and the sweeper resolves it; the terminal's retry then gets the resolution.
    async fn lost_reply(&mut self, t: usize, card: usize) {
        let key = match self.rng.random_range(0..3) {
            0 => Some(self.consume(t, card).await),
            1 => self.cancel(t).await,
            _ => self.refund(t).await.map(|(key, _)| key),
        };
        let Some(key) = key else {
            return;
        };
        let approved = match self.model.rows.get(&key) {
            Some(Row::Sale(s)) => s.approved,
            Some(Row::Cancel { approved, .. }) => *approved,
            Some(Row::Refund(_)) => true,
            _ => false,
        };
        if !approved {
            return;
        }
        let (path, form) = self.sent.pop().map(|s| (s.path, s.form)).unwrap();
        self.op = format!("lost-reply of {path} {key:?}, resolved by the sweeper");
        let terminal = self.terminals[t].clone();
        forget_answer_at(&self.j, &self.store, &terminal, key.1).await;
        let row = resolved_by_sweeper_at(&self.j, &terminal, key.1).await;
        let code = self.model.swept(key);
        if row["response_code"] != code {
            self.fail(format!("swept to {row}, model {code}"));
        }
        let retry = self.send(path, &form).await;
        if retry.status() != code {
            self.fail(format!("the retry after the sweeper got {}", retry.text));
        }
        self.remember(key, path, form, &retry);
        if path != REFUND {
            // The terminal's own reversal is the sweeper's.
            let reversal = if path == CONSUME {
                CONSUME_REVERSAL
            } else {
                CANCEL_REVERSAL
            };
            let form = self.forms[&key].clone();
            self.exchange(key, reversal, form, Expect::code("00")).await;
        }
    }
}

/// A gateway (with a second handle on its database) whose sweeper resolves rows pending
/// for two seconds, a merchant with the earn rule, two checked-in terminals and the cards.
///
/// Two seconds, not one: on PostgreSQL the seeds' gateways share a database, and any
/// replica's sweeper may resolve a row; a request of the simulation must never be slow
/// enough to be swept while its own gateway still serves it.
async fn start(pg: bool) -> Option<(Jpos, Store, Vec<(String, i64)>)> {
    let (mut c, store) = with_store(pg).await?;
    c.jpos.pending_resolve_after_seconds = 2;
    let j = Jpos::start(c).await;
    let (status, rules) = j
        .admin
        .put(
            &format!("/admin/v1/jpos/merchants/{}/rules", j.merchant),
            json!({"earn_rate_bp": EARN_RATE_BP}),
        )
        .await;
    assert_eq!(status, 200, "{rules}");
    assert_eq!(j.checkin().await.status(), "00");
    j.other_terminal("T0000002").await;
    let mut cards = Vec::new();
    for _ in 0..CARDS {
        let pan = random_pan();
        let (status, a) = j
            .admin
            .post(
                "/admin/v1/accounts",
                json!({"merchant_id": j.merchant, "user_id": format!("u{}", rand::random::<u32>()),
                       "card_number": pan, "initial_balances": {"points": OPENING_POINTS}}),
            )
            .await;
        assert_eq!(status, 201, "{a}");
        cards.push((pan, a["id"].as_i64().unwrap()));
    }
    Some((j, store, cards))
}

async fn run_seed(pg: bool, seed: u64, ops: usize) {
    let Some((j, store, cards)) = start(pg).await else {
        return;
    };
    let mut sim = Sim {
        seed,
        rng: StdRng::seed_from_u64(seed),
        terminals: [j.terminal_no.clone(), "T0000002".to_string()],
        j,
        store,
        cards,
        model: Model::new(),
        next_trace: [0; TERMINALS],
        forms: HashMap::new(),
        sent: Vec::new(),
        step: 0,
        op: String::new(),
        tally: BTreeMap::new(),
        touched: Cell::new(0),
    };
    for step in 0..ops {
        sim.step = step;
        sim.one_step().await;
    }
    sim.op = "the end".into();
    sim.balances_match(true).await;
    let (_, audit) = sim.j.admin.get("/admin/v1/ledger/audit").await;
    if audit["balance_mismatches"] != json!([]) || audit["unbalanced"] != json!([]) {
        sim.fail(format!("ledger audit: {audit}"));
    }
    let backend = if pg { "PostgreSQL" } else { "SQLite" };
    eprintln!(
        "jpos protocol simulation: {backend} seed {seed}, {ops} operations, model held; \
         answers checked: {:?}",
        sim.tally
    );
}

#[actix_rt::test]
async fn jpos_sequences_hold_the_model_on_sqlite() {
    sim::run_seeds(|seed, ops| run_seed(false, seed, ops)).await;
}

#[actix_rt::test]
async fn jpos_sequences_hold_the_model_on_postgres() {
    sim::run_seeds(|seed, ops| run_seed(true, seed, ops)).await;
}
