use std::time::Instant;

use super::*;

fn harsh() -> SimOptions {
    SimOptions {
        nodes: 3,
        spare_nodes: 0,
        max_batch_entries: 2,
        fault_intensity_pct: 400,
        ..SimOptions::default()
    }
}

#[test]
fn simulate_seeds() {
    run_many(SimOptions::default(), DEFAULT_SEEDS);
}

/// The schedule the bug-injection test uses, without the bug: it must pass, so what that test
/// catches is the bug and not noise.
#[test]
fn simulate_seeds_harsh_faults() {
    run_many(harsh(), DEFAULT_SEEDS);
}

fn run_many(opts: SimOptions, default: u64) {
    let seeds = seeds(default);
    let started = Instant::now();
    let mut total = Stats::default();
    for &seed in &seeds {
        match run_seed(seed, opts.clone()) {
            Ok(s) => {
                total.messages += s.messages;
                total.acked_writes += s.acked_writes;
                total.reads += s.reads;
                total.crashes += s.crashes;
                total.snapshots_installed += s.snapshots_installed;
                total.max_term = total.max_term.max(s.max_term);
                total.transfers += s.transfers;
                total.conf_changes += s.conf_changes;
                total.liveness_commit_ticks =
                    total.liveness_commit_ticks.max(s.liveness_commit_ticks);
            }
            Err(e) => panic!(
                "simulation failed for seed {seed}: {e}\nreplay with CHRONOS_SIM_SEED={seed}"
            ),
        }
    }
    let lease_reads = crate::leader::LEASE_READS.with(|c| c.get());
    eprintln!("reads served from a leader lease: {lease_reads}");
    eprintln!(
        "simulated {} seeds ({opts:?}) in {:.1?}: {} messages, {} acknowledged writes, {} linearizable reads, {} crashes, {} snapshots installed, {} transfers started, {} membership changes proposed, slowest convergence after healing {} ticks",
        seeds.len(),
        started.elapsed(),
        total.messages,
        total.acked_writes,
        total.reads,
        total.crashes,
        total.snapshots_installed,
        total.transfers,
        total.conf_changes,
        total.liveness_commit_ticks
    );
}

/// The simulator must catch the classic Figure 8 mistake: committing an entry of an earlier term
/// by counting its replicas.
#[test]
fn simulator_catches_commit_of_earlier_term_entries() {
    // Defaults chosen so the bug shows quickly: three nodes, one entry per append, faults four
    // times as frequent as in `simulate_seeds`. Each can be overridden from the environment.
    let h = harsh();
    let opts = SimOptions {
        bug_commit_earlier_terms: true,
        nodes: env_u64("CHRONOS_SIM_BUG_NODES").unwrap_or(h.nodes),
        max_batch_entries: env_u64("CHRONOS_SIM_BUG_BATCH").unwrap_or(h.max_batch_entries),
        fault_intensity_pct: env_u64("CHRONOS_SIM_BUG_FAULTS").unwrap_or(h.fault_intensity_pct),
        ..h
    };
    let limit = env_u64("CHRONOS_SIM_BUG_SEEDS").unwrap_or(2000);
    let started = Instant::now();
    if env_u64("CHRONOS_SIM_BUG_COUNT") == Some(1) {
        // Survey mode: how many seeds catch it, and how.
        let mut caught = 0;
        for seed in 1..=limit {
            if let Err(e) = run_seed(seed, opts.clone()) {
                caught += 1;
                eprintln!("seed {seed}: {e}");
            }
        }
        eprintln!(
            "bug caught by {caught} of {limit} seeds in {:.1?}",
            started.elapsed()
        );
        assert!(caught > 0);
        return;
    }
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
    let hits = crate::leader::BUG_HITS.with(|c| c.get());
    panic!("the injected Figure 8 bug went undetected in {limit} seeds ({hits} early commits)");
}

/// A seed reproduces its run exactly: same messages, same client history, same outcome.
#[test]
fn a_seed_replays_identically() {
    for seed in [7, 42] {
        let run = |seed| {
            let mut sim = Sim::new(seed, SimOptions::default());
            let result = sim.run();
            (
                result,
                format!("{:?}", sim.stats),
                sim.history_fingerprint(),
            )
        };
        assert_eq!(run(seed), run(seed), "seed {seed} is not deterministic");
    }
}
