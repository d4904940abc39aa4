//! The fault-injection hook. A [`Nemesis`] starts and stops a fault; the runner calls it on a
//! [`Schedule`] from its own thread and records each call as Jepsen does: an `:info` op of
//! process `:nemesis` before the call (value `nil`) and another after it (value: what was done,
//! or the error), with `:f :start` or `:f :stop`. Checkers ignore these ops; the picture shades
//! the time between a start and the following stop.
//!
//! The embedded database has no faults to inject ([`Noop`] only records the schedule); the
//! cluster nemesis ([`super::nemesis_cluster::ClusterNemesis`]: SIGKILL/restart the leader,
//! SIGSTOP/SIGCONT it, isolate it through fault-injecting proxies) implements the same trait
//! for a cluster the run started itself (`chronos check run --cluster N --nemesis ...`).

use std::time::Duration;

use chronos_check::edn::Value;

/// Injects and heals one kind of fault.
pub trait Nemesis: Send {
    /// What it does, for summaries (`"kill leader"`, `"partition majorities"`).
    fn name(&self) -> String;

    /// Injects the fault. The value says what was done (`"n2"`, `{:isolated ["n1"]}`) and is
    /// recorded as the `:start` completion's `:value`; an error is recorded as a string value.
    fn start(&mut self) -> Result<Value, String>;

    /// Heals every fault injected so far (restart killed nodes, resume paused ones, heal the
    /// network). Called after each `start`, and once more at the end of a run if a fault is
    /// still active.
    fn stop(&mut self) -> Result<Value, String>;
}

/// When faults happen: after `quiet`, a fault for `fault`, then `quiet` again, and so on until
/// the workload ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub quiet: Duration,
    pub fault: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            quiet: Duration::from_secs(5),
            fault: Duration::from_secs(5),
        }
    }
}

/// A nemesis that injects nothing: it exercises the schedule, the recording and the shading.
#[derive(Debug, Default)]
pub struct Noop {
    faults: u64,
}

impl Nemesis for Noop {
    fn name(&self) -> String {
        "noop (records the schedule, injects nothing)".into()
    }

    fn start(&mut self) -> Result<Value, String> {
        self.faults += 1;
        Ok(Value::Str(format!("noop fault {}", self.faults)))
    }

    fn stop(&mut self) -> Result<Value, String> {
        Ok(Value::Str("healed".into()))
    }
}
