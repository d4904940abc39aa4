//! The Chronos storage engine (work in progress).
