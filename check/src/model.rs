//! Consistency models and the anomaly types they forbid (after Adya, and Elle's naming).
//!
//! Cycle anomalies are classified by the edges of the cycle:
//! - `G0`: write cycle (ww edges only);
//! - `G1c`: ww and wr edges, at least one wr;
//! - `G-single-item`: exactly one rw edge (read skew);
//! - `G-nonadjacent-item`: several rw edges, no two adjacent (forbidden by snapshot isolation);
//! - `G2-item`: any other cycle with rw edges (write skew; allowed by snapshot isolation).
//!
//! A cycle that needs a process-order edge gets the suffix `-process`, one that needs a real-time
//! edge `-realtime`. All our rw edges are item anti-dependencies (no predicates), hence `-item`.

use std::fmt;

use serde::Serialize;

/// A consistency model a transactional history is judged against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Model {
    /// Adya PL-1: no G0.
    ReadUncommitted,
    /// Adya PL-2: no G0, G1a, G1b, G1c (nor dirty updates).
    ReadCommitted,
    /// Adya PL-2.99: read committed plus no item cycles with anti-dependencies, no lost updates.
    RepeatableRead,
    /// Read committed plus no G-single, no G-nonadjacent, no lost update; write skew allowed.
    SnapshotIsolation,
    /// Snapshot isolation that also respects each process's order.
    StrongSessionSnapshotIsolation,
    /// Snapshot isolation that also respects real-time order.
    StrongSnapshotIsolation,
    /// Adya PL-3: no dependency cycle at all.
    Serializable,
    /// Serializable that also respects each process's order.
    StrongSessionSerializable,
    /// Serializable and respecting real-time order (the default, as in Elle).
    StrictSerializable,
}

impl Model {
    pub const ALL: [Model; 9] = [
        Model::ReadUncommitted,
        Model::ReadCommitted,
        Model::RepeatableRead,
        Model::SnapshotIsolation,
        Model::StrongSessionSnapshotIsolation,
        Model::StrongSnapshotIsolation,
        Model::Serializable,
        Model::StrongSessionSerializable,
        Model::StrictSerializable,
    ];

    fn name(self) -> &'static str {
        match self {
            Model::ReadUncommitted => "read-uncommitted",
            Model::ReadCommitted => "read-committed",
            Model::RepeatableRead => "repeatable-read",
            Model::SnapshotIsolation => "snapshot-isolation",
            Model::StrongSessionSnapshotIsolation => "strong-session-snapshot-isolation",
            Model::StrongSnapshotIsolation => "strong-snapshot-isolation",
            Model::Serializable => "serializable",
            Model::StrongSessionSerializable => "strong-session-serializable",
            Model::StrictSerializable => "strict-serializable",
        }
    }

    /// Whether this model forbids the anomaly.
    pub fn forbids(self, a: AnomalyType) -> bool {
        use AnomalyType as A;
        use CycleClass as C;
        let rc = self >= Model::ReadCommitted;
        let si_like = matches!(
            self,
            Model::SnapshotIsolation
                | Model::StrongSessionSnapshotIsolation
                | Model::StrongSnapshotIsolation
        );
        let ser_like = matches!(
            self,
            Model::Serializable | Model::StrongSessionSerializable | Model::StrictSerializable
        );
        match a {
            A::Cycle(class, via) => {
                let via_ok = match via {
                    Via::Data => true,
                    Via::Process => matches!(
                        self,
                        Model::StrongSessionSnapshotIsolation
                            | Model::StrongSnapshotIsolation
                            | Model::StrongSessionSerializable
                            | Model::StrictSerializable
                    ),
                    Via::Realtime => matches!(
                        self,
                        Model::StrongSnapshotIsolation | Model::StrictSerializable
                    ),
                };
                let class_ok = match class {
                    C::G0 => true,
                    C::G1c => rc,
                    C::GSingle | C::GNonadjacent => {
                        self == Model::RepeatableRead || si_like || ser_like
                    }
                    C::G2Item => self == Model::RepeatableRead || ser_like,
                };
                via_ok && class_ok
            }
            A::G1a | A::G1b | A::DirtyUpdate => rc,
            A::LostUpdate => self == Model::RepeatableRead || si_like || ser_like,
            // Integrity violations no model allows.
            A::Internal
            | A::FutureRead
            | A::DuplicateElements
            | A::IncompatibleOrder
            | A::CyclicVersions
            | A::GarbageRead => true,
            A::EmptyTransactionGraph | A::CycleSearchTimeout => false,
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Model {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        let alias = match s {
            "rc" => "read-committed",
            "ru" => "read-uncommitted",
            "rr" => "repeatable-read",
            "si" => "snapshot-isolation",
            "ser" | "serializability" => "serializable",
            "strict-1sr" | "strict" | "strict-serializability" | "linearizable" => {
                "strict-serializable"
            }
            other => other,
        };
        Model::ALL
            .into_iter()
            .find(|m| m.name() == alias)
            .ok_or_else(|| {
                let names: Vec<_> = Model::ALL.iter().map(|m| m.name()).collect();
                crate::Error::BadOption(format!(
                    "unknown consistency model {s:?} (one of {})",
                    names.join(", ")
                ))
            })
    }
}

/// The shape of a dependency cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CycleClass {
    G0,
    G1c,
    GSingle,
    GNonadjacent,
    G2Item,
}

impl CycleClass {
    pub const ALL: [CycleClass; 5] = [
        CycleClass::G0,
        CycleClass::G1c,
        CycleClass::GSingle,
        CycleClass::GNonadjacent,
        CycleClass::G2Item,
    ];
}

/// Which orders beyond data dependencies a cycle needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Via {
    Data,
    Process,
    Realtime,
}

/// Every kind of anomaly the checkers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnomalyType {
    Cycle(CycleClass, Via),
    /// Aborted read: a committed transaction saw a write of a failed one.
    G1a,
    /// Intermediate read: a transaction saw a write that another transaction later overwrote itself.
    G1b,
    /// Two committed transactions read the same version of a key and both wrote it.
    LostUpdate,
    /// A transaction's reads disagree with its own earlier reads and writes.
    Internal,
    /// A transaction read its own write before performing it.
    FutureRead,
    /// A failed transaction's write is followed by a committed write to the same object.
    DirtyUpdate,
    /// A read of a list shows the same element twice.
    DuplicateElements,
    /// Two reads of a list are not prefixes of one another.
    IncompatibleOrder,
    /// The inferred version order of a register has a cycle.
    CyclicVersions,
    /// A read saw a value no operation ever wrote.
    GarbageRead,
    /// No dependency between any two transactions: nothing can be concluded.
    EmptyTransactionGraph,
    /// The cycle search hit its bound before it was complete.
    CycleSearchTimeout,
}

impl AnomalyType {
    /// True for types that make a verdict unknown rather than invalid.
    pub fn is_unknown(self) -> bool {
        matches!(
            self,
            AnomalyType::EmptyTransactionGraph | AnomalyType::CycleSearchTimeout
        )
    }

    /// True for violations of the data's own integrity, which every model forbids and which are
    /// always reported, whatever anomalies were asked for.
    pub fn is_integrity(self) -> bool {
        use AnomalyType as A;
        matches!(
            self,
            A::Internal
                | A::FutureRead
                | A::DuplicateElements
                | A::IncompatibleOrder
                | A::CyclicVersions
                | A::GarbageRead
        )
    }

    /// Elle's name for the type.
    pub fn name(self) -> String {
        let base = match self {
            AnomalyType::Cycle(c, via) => {
                let c = match c {
                    CycleClass::G0 => "G0",
                    CycleClass::G1c => "G1c",
                    CycleClass::GSingle => "G-single-item",
                    CycleClass::GNonadjacent => "G-nonadjacent-item",
                    CycleClass::G2Item => "G2-item",
                };
                return match via {
                    Via::Data => c.to_string(),
                    Via::Process => format!("{c}-process"),
                    Via::Realtime => format!("{c}-realtime"),
                };
            }
            AnomalyType::G1a => "G1a",
            AnomalyType::G1b => "G1b",
            AnomalyType::LostUpdate => "lost-update",
            AnomalyType::Internal => "internal",
            AnomalyType::FutureRead => "future-read",
            AnomalyType::DirtyUpdate => "dirty-update",
            AnomalyType::DuplicateElements => "duplicate-elements",
            AnomalyType::IncompatibleOrder => "incompatible-order",
            AnomalyType::CyclicVersions => "cyclic-versions",
            AnomalyType::GarbageRead => "garbage-read",
            AnomalyType::EmptyTransactionGraph => "empty-transaction-graph",
            AnomalyType::CycleSearchTimeout => "cycle-search-timeout",
        };
        base.to_string()
    }
}

impl fmt::Display for AnomalyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Expands an anomaly name as Elle's `:anomalies` option does (`G1` means G1a, G1b and G1c, and a
/// G1c search also reports G0 cycles; `G2` means every cycle with anti-dependencies). Returns
/// `None` for unknown names.
pub fn expand_anomaly(name: &str) -> Option<Vec<AnomalyType>> {
    use AnomalyType as A;
    use CycleClass as C;
    let cyc = |c| A::Cycle(c, Via::Data);
    let g2 = || vec![cyc(C::GSingle), cyc(C::GNonadjacent), cyc(C::G2Item)];
    Some(match name {
        "G0" => vec![cyc(C::G0)],
        "G1a" => vec![A::G1a],
        "G1b" => vec![A::G1b],
        "G1c" => vec![cyc(C::G0), cyc(C::G1c)],
        "G1" => vec![A::G1a, A::G1b, cyc(C::G0), cyc(C::G1c)],
        "G-single" | "G-single-item" => vec![cyc(C::GSingle)],
        "G-nonadjacent" | "G-nonadjacent-item" => vec![cyc(C::GNonadjacent)],
        "G2" | "G2-item" => g2(),
        "lost-update" => vec![A::LostUpdate],
        "internal" => vec![A::Internal],
        "future-read" => vec![A::FutureRead],
        "dirty-update" => vec![A::DirtyUpdate],
        "duplicate-elements" => vec![A::DuplicateElements],
        "incompatible-order" => vec![A::IncompatibleOrder],
        "cyclic-versions" => vec![A::CyclicVersions],
        "garbage-read" => vec![A::GarbageRead],
        _ => {
            // Process and real-time variants, e.g. `G-single-item-realtime`.
            for (suffix, via) in [("-process", Via::Process), ("-realtime", Via::Realtime)] {
                if let Some(base) = name.strip_suffix(suffix) {
                    let classes = expand_anomaly(base)?;
                    return Some(
                        classes
                            .into_iter()
                            .filter_map(|a| match a {
                                A::Cycle(c, _) => Some(A::Cycle(c, via)),
                                _ => None,
                            })
                            .collect(),
                    );
                }
            }
            return None;
        }
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn snapshot_isolation_allows_write_skew_only() {
        let si = Model::SnapshotIsolation;
        assert!(!si.forbids(AnomalyType::Cycle(CycleClass::G2Item, Via::Data)));
        assert!(si.forbids(AnomalyType::Cycle(CycleClass::GSingle, Via::Data)));
        assert!(si.forbids(AnomalyType::Cycle(CycleClass::GNonadjacent, Via::Data)));
        assert!(si.forbids(AnomalyType::LostUpdate));
        assert!(!si.forbids(AnomalyType::Cycle(CycleClass::GSingle, Via::Realtime)));
        assert!(
            Model::StrictSerializable
                .forbids(AnomalyType::Cycle(CycleClass::G2Item, Via::Realtime))
        );
        assert!(!Model::ReadCommitted.forbids(AnomalyType::Cycle(CycleClass::GSingle, Via::Data)));
    }

    #[test]
    fn names_round_trip() {
        for m in Model::ALL {
            assert_eq!(m.to_string().parse::<Model>().unwrap(), m);
        }
        assert!("bogus".parse::<Model>().is_err());
        assert_eq!(
            expand_anomaly("G-single-item-realtime").unwrap(),
            vec![AnomalyType::Cycle(CycleClass::GSingle, Via::Realtime)]
        );
        assert_eq!(
            AnomalyType::Cycle(CycleClass::GNonadjacent, Via::Process).name(),
            "G-nonadjacent-item-process"
        );
    }
}
