//! What the protocol simulations (`tests/protocol_sim.rs` for MQTT POS,
//! `tests/protocol_sim_jpos.rs` for jpos) share: the run from the environment, seeds run side
//! by side, and the failure message that names the seed to replay.
//!
//! `POSGATE_SIM_SEEDS` (comma-separated, default `1,2,3`) and `POSGATE_SIM_OPS` (operations
//! per seed, default 1000) set the run.

use std::fmt::Display;
use std::future::Future;

/// The seeds of this run: `POSGATE_SIM_SEEDS`, default `1,2,3`.
pub fn seeds() -> Vec<u64> {
    std::env::var("POSGATE_SIM_SEEDS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 2, 3])
}

/// Operations per seed: `POSGATE_SIM_OPS`, default 1000.
pub fn ops() -> usize {
    std::env::var("POSGATE_SIM_OPS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000)
}

/// Runs `run(seed, ops)` for every seed of the run, side by side (each on a gateway of its
/// own): a step mostly waits on the network.
pub async fn run_seeds<F, Fut>(run: F)
where
    F: Fn(u64, usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let ops = ops();
    futures::future::join_all(seeds().into_iter().map(|s| run(s, ops))).await;
}

/// Fails the run at `step` of `seed` (while doing `op`), naming the seed to replay.
pub fn fail(seed: u64, step: usize, op: &str, what: impl Display) -> ! {
    panic!(
        "protocol simulation failed: seed {seed} step {step} ({op}): {what}\n\
         replay with POSGATE_SIM_SEEDS={seed}"
    );
}
