//! Card probing by jpos terminals: a stolen or scripted terminal that tries card number
//! after card number. Each terminal may present at most
//! `jpos.card_probes_per_terminal_minute_max` distinct cards in a sliding minute; a further
//! new card is refused (`65`, nothing journaled) until older ones leave the window, while
//! the cards already in it still pass. Counted per replica, in memory.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The sliding window.
const WINDOW: Duration = Duration::from_secs(60);
/// Terminals remembered before those with an empty window are forgotten (unknown terminal
/// codes sprayed by a prober cannot grow the map without bound).
const TERMINALS_KEPT: usize = 100_000;

/// The distinct cards each terminal presented in the last minute, stored as app data.
pub struct CardProbes {
    max: usize,
    seen: Mutex<HashMap<String, VecDeque<(Instant, String)>>>,
}

impl CardProbes {
    /// At most `max` distinct cards per terminal a minute; 0 = no limit.
    pub fn new(max: u32) -> CardProbes {
        CardProbes {
            max: usize::try_from(max).unwrap_or(usize::MAX),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `terminal` may present `card` (a digest of the number) at `now`; records it.
    pub fn admit(&self, terminal: &str, card: &str, now: Instant) -> bool {
        if self.max == 0 {
            return true;
        }
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        if seen.len() > TERMINALS_KEPT {
            seen.retain(|_, cards| cards.back().is_some_and(|(t, _)| now - *t < WINDOW));
        }
        let cards = seen.entry(terminal.to_string()).or_default();
        while cards.front().is_some_and(|(t, _)| now - *t >= WINDOW) {
            cards.pop_front();
        }
        if let Some(i) = cards.iter().position(|(_, c)| c == card) {
            cards.remove(i);
        } else if cards.len() >= self.max {
            return false;
        }
        cards.push_back((now, card.to_string()));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_cards_per_terminal_in_a_sliding_minute() {
        let probes = CardProbes::new(2);
        let t0 = Instant::now();
        assert!(probes.admit("a", "c1", t0) && probes.admit("a", "c2", t0));
        assert!(!probes.admit("a", "c3", t0), "a third new card");
        assert!(probes.admit("a", "c1", t0), "a card already seen passes");
        assert!(
            probes.admit("b", "c3", t0),
            "another terminal has its own window"
        );
        let later = t0 + Duration::from_secs(61);
        assert!(probes.admit("a", "c3", later), "the minute passed");
    }

    #[test]
    fn zero_is_no_limit() {
        let probes = CardProbes::new(0);
        let now = Instant::now();
        assert!((0..1000).all(|i| probes.admit("a", &i.to_string(), now)));
    }
}
