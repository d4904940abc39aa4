//! Cross-crate integration and fault tests for Chronos.
//!
//! The tests live in `tests/tests/`; each one drives real components (and, where it says so, real
//! processes that it kills) rather than mocks. This library holds what several of them share:
//! finding the `chronos` binary and running a local cluster of `chronos start` processes.

pub mod processes;
