//! History checkers for Chronos (Jepsen-style).
//!
//! This crate will own the checkers behind `chronos check`: reading histories (EDN and JSON lines),
//! the transactional checker for list-append and rw-register histories, the linearizability checker
//! and the bank checker. It depends on no other Chronos crate.
//!
//! Nothing is implemented here yet: see the `chronos check` issue.
