//! Golden tests: each `tests/golden/<behaviour>.txt` holds options (`workload:`, `model:`), a
//! history, `---`, and the report as `Display` prints it (timing masked). Regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p chronos-check --test golden` and review the diff.

use std::path::Path;

use chronos_check::{CheckOptions, Format, check_history};

fn mask_timing(report: &str) -> String {
    report
        .lines()
        .map(|l| {
            match l
                .strip_suffix(" ms")
                .and_then(|head| head.rsplit_once("; "))
            {
                Some((head, _)) => format!("{head}; <elapsed> ms"),
                None => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn run(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).expect("read golden file");
    let (input, expected) = text.split_once("\n---\n").expect("--- separator");
    let mut workload = None;
    let mut model = None;
    let mut history = String::new();
    for line in input.lines() {
        if let Some(w) = line.strip_prefix("workload: ") {
            workload = Some(w.parse().expect("workload"));
        } else if let Some(m) = line.strip_prefix("model: ") {
            model = Some(m.parse().expect("model"));
        } else if !line.starts_with('#') {
            history.push_str(line);
            history.push('\n');
        }
    }
    let mut opts = CheckOptions::new(workload.expect("workload: line"));
    if let Some(m) = model {
        opts = opts.with_model(m);
    }
    opts.format = Format::Edn;
    let actual = match check_history(&history, &opts) {
        Ok(report) => mask_timing(&report.to_string()),
        Err(e) => format!("error: {e}"),
    };
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, format!("{input}\n---\n{actual}\n")).expect("write golden file");
        return None;
    }
    (expected.trim_end() != actual.trim_end()).then(|| {
        format!(
            "{}:\n--- expected\n{}\n--- actual\n{actual}",
            path.display(),
            expected.trim_end()
        )
    })
}

#[test]
fn golden_reports() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    let failures: Vec<String> = paths.iter().filter_map(|p| run(p)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
