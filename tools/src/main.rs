//! The `chronos` command.
fn main() {}
