//! Cross-crate integration and fault tests for Chronos.
//!
//! The tests live in `tests/tests/`; each one drives real components (and, where it says so, real
//! processes that it kills) rather than mocks. This library is empty on purpose.
