//! Running a workload: N worker threads (one client each), an optional nemesis thread, and a
//! progress reporter, all stopped by the `ops` bound (total over all workers) or the time bound,
//! whichever comes first; then the final reads.

use std::io::{IsTerminal, Write as _};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chronos_check::edn::Value;
use chronos_check::history::{Op, OpType};

use super::nemesis::{Nemesis, Schedule};
use super::recorder::Recorder;
use super::{Client, Connector, Rng, Workload, completion};

/// How progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Nothing (tests).
    Quiet,
    /// A line per second.
    Lines,
    /// One line rewritten in place (a terminal).
    Bar,
    /// `Bar` when stderr is a terminal, else `Lines`.
    Auto,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub clients: usize,
    /// Operations over all workers (the final reads come on top).
    pub ops: u64,
    pub duration: Duration,
    pub seed: u64,
    pub progress: Progress,
    pub schedule: Schedule,
}

/// Attempts at the final reads before giving up on them.
const FINAL_READ_ATTEMPTS: usize = 5;
/// Wait between attempts to open a client.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(100);

/// A run's outcome.
#[derive(Debug)]
pub struct RunResult {
    pub history: Vec<Op>,
    pub recorder: Recorder,
    /// From the first invocation to the end of the final reads.
    pub elapsed: Duration,
    /// Problems that are not ops (a client that could not connect, final reads that failed).
    pub warnings: Vec<String>,
}

/// A stop flag that sleepers wake up on.
#[derive(Debug, Default)]
struct StopSignal {
    stopped: Mutex<bool>,
    cv: Condvar,
}

impl StopSignal {
    fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.cv.notify_all();
    }

    /// Sleeps up to `d`; true when stopped.
    fn wait(&self, d: Duration) -> bool {
        let guard = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = self
            .cv
            .wait_timeout_while(guard, d, |stopped| !*stopped)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }
}

/// Opens a client, retrying until `deadline`.
fn connect(
    connector: &dyn Connector,
    process: u64,
    deadline: Instant,
    warnings: &Mutex<Vec<String>>,
) -> Option<Box<dyn Client>> {
    loop {
        match connector.connect(process) {
            Ok(c) => return Some(c),
            Err(e) => {
                if Instant::now() >= deadline {
                    warnings
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(format!("process {process}: could not connect: {e}"));
                    return None;
                }
                std::thread::sleep(RECONNECT_BACKOFF);
            }
        }
    }
}

/// Runs `workload` (already set up) through `connector`, with `nemesis` on the config's
/// schedule when given.
pub fn run(
    workload: &dyn Workload,
    connector: &dyn Connector,
    cfg: &RunConfig,
    nemesis: Option<&mut dyn Nemesis>,
) -> RunResult {
    let recorder = Recorder::new();
    let start = recorder.start();
    let deadline = start + cfg.duration;
    let issued = AtomicU64::new(0);
    let next_process = AtomicU64::new(cfg.clients as u64);
    let warnings = Mutex::new(Vec::new());
    let done = StopSignal::default();
    let workers_done = AtomicBool::new(false);
    let progress_shown = AtomicBool::new(false);

    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cfg.clients)
            .map(|i| {
                let (recorder, issued, next_process, warnings) =
                    (&recorder, &issued, &next_process, &warnings);
                scope.spawn(move || {
                    let mut rng =
                        Rng::new(cfg.seed ^ (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
                    let mut process = i as u64;
                    let Some(mut client) = connect(connector, process, deadline, warnings) else {
                        return;
                    };
                    while Instant::now() < deadline
                        && issued.fetch_add(1, Ordering::Relaxed) < cfg.ops
                    {
                        let inv = workload.next_op(&mut rng);
                        recorder.invoke(process, &inv);
                        let result = workload.execute(client.as_mut(), &inv);
                        let reconnect = matches!(&result, Err(e) if e.reconnect);
                        let c = completion(&inv, result);
                        recorder.complete(process, &inv, &c);
                        if c.op_type == OpType::Info {
                            // The op may still be in flight: this process never invokes again.
                            process = next_process.fetch_add(1, Ordering::Relaxed);
                        }
                        if reconnect {
                            match connect(connector, process, deadline, warnings) {
                                Some(c) => client = c,
                                None => return,
                            }
                        }
                    }
                })
            })
            .collect();

        if let Some(nemesis) = nemesis {
            let (done, recorder, schedule) = (&done, &recorder, cfg.schedule);
            scope.spawn(move || run_nemesis(nemesis, schedule, recorder, done));
        }
        if cfg.progress != Progress::Quiet {
            let (done, recorder, workers_done, shown) =
                (&done, &recorder, &workers_done, &progress_shown);
            scope.spawn(move || show_progress(cfg, recorder, done, workers_done, shown));
        }
        for w in workers {
            if w.join().is_err() {
                warnings
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push("a worker panicked".into());
            }
        }
        workers_done.store(true, Ordering::Relaxed);
        done.stop();
    });

    // Final reads, after faults are healed (the nemesis thread has stopped its fault).
    let process = next_process.fetch_add(1, Ordering::Relaxed);
    let final_deadline = Instant::now() + Duration::from_secs(10);
    if let Some(mut client) = connect(connector, process, final_deadline, &warnings) {
        let mut process = process;
        for inv in workload.final_reads() {
            for attempt in 1..=FINAL_READ_ATTEMPTS {
                recorder.invoke(process, &inv);
                let result = workload.execute(client.as_mut(), &inv);
                let reconnect = matches!(&result, Err(e) if e.reconnect);
                let c = completion(&inv, result);
                recorder.complete(process, &inv, &c);
                if c.op_type == OpType::Ok {
                    break;
                }
                if c.op_type == OpType::Info {
                    process = next_process.fetch_add(1, Ordering::Relaxed);
                }
                if reconnect {
                    match connect(connector, process, final_deadline, &warnings) {
                        Some(c) => client = c,
                        None => break,
                    }
                }
                if attempt == FINAL_READ_ATTEMPTS {
                    warnings
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(format!(
                            "final read {} failed {FINAL_READ_ATTEMPTS} times",
                            inv.value
                        ));
                }
            }
        }
    }
    let elapsed = start.elapsed();
    if progress_shown.load(Ordering::Relaxed) && show_bar(cfg.progress) {
        // End the bar's line.
        errln!();
    }
    RunResult {
        history: recorder.ops(),
        recorder,
        elapsed,
        warnings: warnings
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner),
    }
}

fn run_nemesis(
    nemesis: &mut dyn Nemesis,
    schedule: Schedule,
    recorder: &Recorder,
    done: &StopSignal,
) {
    let result_value = |r: Result<Value, String>| r.unwrap_or_else(Value::Str);
    loop {
        if done.wait(schedule.quiet) {
            return;
        }
        recorder.nemesis("start", Value::Nil);
        recorder.nemesis("start", result_value(nemesis.start()));
        let stopped = done.wait(schedule.fault);
        recorder.nemesis("stop", Value::Nil);
        recorder.nemesis("stop", result_value(nemesis.stop()));
        if stopped {
            return;
        }
    }
}

fn show_bar(p: Progress) -> bool {
    match p {
        Progress::Bar => true,
        Progress::Auto => std::io::stderr().is_terminal(),
        Progress::Lines | Progress::Quiet => false,
    }
}

fn show_progress(
    cfg: &RunConfig,
    recorder: &Recorder,
    done: &StopSignal,
    workers_done: &AtomicBool,
    shown: &AtomicBool,
) {
    let bar = show_bar(cfg.progress);
    let start = recorder.start();
    let mut last_total = 0;
    let mut last_at = start;
    while !done.wait(Duration::from_secs(1)) && !workers_done.load(Ordering::Relaxed) {
        let now = Instant::now();
        let c = &recorder.counts;
        let total = c.total();
        let rate = (total - last_total) as f64 / now.duration_since(last_at).as_secs_f64();
        (last_total, last_at) = (total, now);
        let elapsed = now.duration_since(start);
        let frac = (total as f64 / cfg.ops.max(1) as f64)
            .max(elapsed.as_secs_f64() / cfg.duration.as_secs_f64().max(1e-9))
            .min(1.0);
        let line = format!(
            "{:5.1}s {total} ops (ok {}, fail {}, info {}) {rate:.0} ops/s",
            elapsed.as_secs_f64(),
            c.ok.load(Ordering::Relaxed),
            c.fail.load(Ordering::Relaxed),
            c.info.load(Ordering::Relaxed),
        );
        shown.store(true, Ordering::Relaxed);
        let mut err = std::io::stderr().lock();
        let _ = if bar {
            const WIDTH: usize = 30;
            let filled = (frac * WIDTH as f64) as usize;
            write!(
                err,
                "\r[{}{}] {:3.0}% {line}\x1b[K",
                "#".repeat(filled),
                " ".repeat(WIDTH - filled),
                frac * 100.0
            )
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }
}
