//! Hostile input: the readers and checkers return errors, never panic.

use chronos_check::{CheckOptions, Format, Workload, check_history};
use proptest::prelude::*;

const WORKLOADS: [Workload; 5] = [
    Workload::ListAppend,
    Workload::RwRegister,
    Workload::Register,
    Workload::Kv,
    Workload::Bank,
];

fn run_all(text: &str) {
    for format in [Format::Edn, Format::Json, Format::Auto] {
        for workload in WORKLOADS {
            let mut opts = CheckOptions::new(workload);
            opts.format = format;
            opts.limits.max_steps = 10_000;
            let _ = check_history(text, &opts);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text(text in "\\PC{0,200}") {
        run_all(&text);
    }

    #[test]
    fn edn_like_text(text in "[\\[\\]{}()#:;\"\\\\ ,a-z0-9\\-.\n]{0,200}") {
        run_all(&text);
    }

    #[test]
    fn op_shaped_text(
        ty in prop::sample::select(vec![":invoke", ":ok", ":fail", ":info", ":bogus", "1", "nil"]),
        f in prop::sample::select(vec![":txn", ":read", ":write", ":cas", ":get", ":put", ":append", ":transfer", "7"]),
        value in prop::sample::select(vec![
            "nil", "1", "[1 2]", "[[:append :x 1]]", "[[:r :x [1 2]]]", "[[:r :x 1] [:w :y 2]]", "[[:r]]",
            "[[:append]]", "[[1 2 3]]", "{:a 1}", "{0 10 1 -3}", "\"s\"", "[:k [1 2]]", "[[:x :y]]",
        ]),
        process in prop::sample::select(vec!["0", "1", ":nemesis", "nil", "\"p\""]),
        n in 1usize..6,
    ) {
        let line = format!("{{:type {ty} :f {f} :value {value} :process {process}}}\n");
        run_all(&line.repeat(n));
    }
}
