//! Checks one history file: `cargo run -p chronos-check --example check_file -- FILE WORKLOAD [MODEL]`.
use chronos_check::{CheckOptions, check_history};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(workload)) = (args.get(1), args.get(2)) else {
        return Err("usage: check_file FILE WORKLOAD [MODEL] [--json]".into());
    };
    let mut opts = CheckOptions::new(workload.parse()?);
    if let Some(m) = args.get(3).filter(|a| !a.starts_with("--")) {
        opts = opts.with_model(m.parse()?);
    }
    let report = check_history(&std::fs::read_to_string(path)?, &opts)?;
    if args.iter().any(|a| a == "--json") {
        println!("{}", report.to_json());
    } else {
        print!("{report}");
    }
    Ok(())
}
