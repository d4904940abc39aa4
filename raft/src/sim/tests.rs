use std::time::Instant;

use super::*;

#[test]
fn simulate_seeds() {
    let seeds = seeds(DEFAULT_SEEDS);
    let started = Instant::now();
    let mut total = Stats::default();
    for &seed in &seeds {
        match run_seed(seed, SimOptions::default()) {
            Ok(s) => {
                total.messages += s.messages;
                total.acked_writes += s.acked_writes;
                total.reads += s.reads;
                total.crashes += s.crashes;
                total.snapshots_installed += s.snapshots_installed;
                total.max_term = total.max_term.max(s.max_term);
            }
            Err(e) => panic!(
                "simulation failed for seed {seed}: {e}\nreplay with CHRONOS_SIM_SEED={seed}"
            ),
        }
    }
    eprintln!(
        "simulated {} seeds in {:.1?}: {} messages, {} acknowledged writes, {} linearizable reads, {} crashes, {} snapshots installed",
        seeds.len(),
        started.elapsed(),
        total.messages,
        total.acked_writes,
        total.reads,
        total.crashes,
        total.snapshots_installed
    );
}

/// The simulator must catch the classic Figure 8 mistake: committing an entry of an earlier term
/// by counting its replicas.
#[test]
#[ignore = "work in progress: the random schedule does not reach the Figure 8 shape yet"]
fn simulator_catches_commit_of_earlier_term_entries() {
    let opts = SimOptions {
        bug_commit_earlier_terms: true,
        ..SimOptions::default()
    };
    let limit = env_u64("CHRONOS_SIM_BUG_SEEDS").unwrap_or(400);
    let started = Instant::now();
    for seed in 1..=limit {
        match run_seed(seed, opts.clone()) {
            // Only a safety violation counts as catching it.
            Err(e) if !e.starts_with("liveness") => {
                eprintln!(
                    "injected bug caught by seed {seed} after {:.1?}: {e}",
                    started.elapsed()
                );
                return;
            }
            _ => {}
        }
    }
    panic!("the injected Figure 8 bug went undetected in {limit} seeds");
}
