//! Runs every history under the shared data folder and asserts the known answers, history by
//! history (and, for Elle's minimal cases, check by check, in both the EDN and the JSON form).
//!
//! The folder is `$CHRONOS_SHARED_DATA` if that exists, else `<workspace root>/../shared/data`;
//! when neither exists the test prints that it is skipped and passes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chronos_check::{CheckOptions, Format, Limits, Model, Verdict, Workload, check_history};
use serde_json::Value as Json;

fn data_dir() -> Option<PathBuf> {
    let from_env = std::env::var_os("CHRONOS_SHARED_DATA").map(PathBuf::from);
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    from_env
        .into_iter()
        .chain([default])
        .find(|d| d.join("histories").is_dir())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn json(path: &Path) -> Json {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

fn expected_verdict(v: &Json) -> Verdict {
    match v {
        Json::Bool(true) => Verdict::Valid,
        Json::Bool(false) => Verdict::Invalid,
        Json::String(s) if s == "unknown" => Verdict::Unknown,
        other => panic!("unexpected valid? {other}"),
    }
}

/// Translates Elle checker options into ours.
fn options(workload: Workload, elle: &Json) -> CheckOptions {
    let mut opts = CheckOptions::new(workload);
    match elle.get("consistency-models") {
        None => {}
        Some(Json::Null) => opts.txn.models.clear(),
        Some(Json::Array(models)) => {
            opts.txn.models = models
                .iter()
                .map(|m| {
                    m.as_str()
                        .and_then(|m| m.parse::<Model>().ok())
                        .unwrap_or_else(|| panic!("model {m}"))
                })
                .collect();
        }
        Some(other) => panic!("consistency-models {other}"),
    }
    if let Some(Json::Array(names)) = elle.get("anomalies") {
        opts.txn.anomalies = names
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect();
    }
    let flag = |name: &str| elle.get(name).and_then(Json::as_bool).unwrap_or(false);
    opts.txn.sequential_keys = flag("sequential-keys?");
    opts.txn.linearizable_keys = flag("linearizable-keys?");
    opts.txn.wfr_keys = flag("wfr-keys?");
    // Elle does not report reads of never-written rw-register values; we do by default. To compare
    // with Elle's answers, turn that off for rw-register (see `rw_register_garbage_reads` below).
    opts.txn.garbage_reads = workload != Workload::RwRegister;
    opts
}

fn workload_of(name: &str) -> Workload {
    name.parse().unwrap_or_else(|e| panic!("{e}"))
}

/// Compares one report with an expectation; returns a failure message.
fn judge(
    label: &str,
    report: &chronos_check::Report,
    verdict: Verdict,
    types: &[String],
) -> Option<String> {
    let missing: Vec<&String> = types
        .iter()
        .filter(|t| !report.anomaly_types.contains(t))
        .collect();
    if report.verdict != verdict || !missing.is_empty() {
        return Some(format!(
            "{label}: expected {verdict:?} with {types:?}, got {:?} with {:?}\n{report}",
            report.verdict, report.anomaly_types
        ));
    }
    None
}

/// Elle's `:not` names the weakest models a history rules out; check those we also model.
fn ruled_out(label: &str, report: &chronos_check::Report, not: &[String]) -> Vec<String> {
    not.iter()
        .filter_map(|name| name.parse::<Model>().ok())
        .filter(|m| !report.ruled_out.contains(m))
        .map(|m| {
            format!(
                "{label}: expected {m} ruled out, got {:?}",
                report.ruled_out
            )
        })
        .collect()
}

fn strings(v: Option<&Json>) -> Vec<String> {
    v.and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn elle_minimal_cases() {
    let Some(data) = data_dir() else {
        println!("skipped: no shared data folder (set CHRONOS_SHARED_DATA)");
        return;
    };
    let dir = data.join("histories/elle-minimal");
    let answers = json(&dir.join("known-answers.json"));
    let cases = answers["cases"].as_array().expect("cases");
    let mut failures = Vec::new();
    let (mut histories, mut checks) = (0, 0);
    for case in cases {
        let id = case["id"].as_str().expect("id");
        let workload = workload_of(case["workload"].as_str().expect("workload"));
        for form in ["edn", "json"] {
            let text = read(&dir.join(case[form].as_str().expect("path")));
            histories += 1;
            for check in case["checks"].as_array().expect("checks") {
                checks += 1;
                let mut opts = options(workload, &check["options"]);
                opts.format = if form == "edn" {
                    Format::Edn
                } else {
                    Format::Json
                };
                let label = format!("{id}.{form} {}", check["options"]);
                let report = match check_history(&text, &opts) {
                    Ok(r) => r,
                    Err(e) => {
                        failures.push(format!("{label}: {e}"));
                        continue;
                    }
                };
                let want = expected_verdict(&check["valid?"]);
                failures.extend(judge(
                    &label,
                    &report,
                    want,
                    &strings(check.get("anomaly-types")),
                ));
                failures.extend(ruled_out(&label, &report, &strings(check.get("not"))));
            }
        }
    }
    println!(
        "elle-minimal: {histories} histories (EDN and JSON), {checks} checks, {} mismatches",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Elle's own test says its `valid` answer for this history "represents a bug": the read of 2
/// returns a value nobody wrote. With garbage-read detection on (our default), we say invalid.
#[test]
fn rw_register_garbage_reads() {
    let Some(data) = data_dir() else {
        println!("skipped: no shared data folder (set CHRONOS_SHARED_DATA)");
        return;
    };
    let text = read(&data.join("histories/elle-minimal/cases/rw-read-unwritten-value.edn"));
    let mut opts = CheckOptions::new(Workload::RwRegister);
    opts.txn.linearizable_keys = true;
    let report = check_history(&text, &opts).expect("check");
    assert_eq!(report.verdict, Verdict::Invalid, "{report}");
    assert_eq!(report.anomaly_types, vec!["garbage-read"], "{report}");
}

#[test]
fn elle_examples() {
    let Some(data) = data_dir() else {
        println!("skipped: no shared data folder (set CHRONOS_SHARED_DATA)");
        return;
    };
    let dir = data.join("histories/elle-examples");
    let answers = json(&dir.join("known-answers.json"));
    let mut failures = Vec::new();
    let mut histories = 0;
    for (file, answer) in answers["files"].as_object().expect("files") {
        let path = dir.join(file);
        if !path.exists() {
            println!(
                "elle-examples: {file} not present ({})",
                answer.get("note").unwrap_or(&Json::Null)
            );
            continue;
        }
        histories += 1;
        let workload = workload_of(answer["workload"].as_str().expect("workload"));
        let mut opts = options(workload, &answer["options"]);
        // huge-scc is a performance case whose exact types depend on the search bound.
        opts.limits = Limits {
            max_steps: 5_000_000,
            max_duration: Some(Duration::from_secs(20)),
        };
        let expected = &answer["expected"];
        let types: Vec<String> = strings(expected.get("anomaly-types"))
            .into_iter()
            .filter(|t| !file.contains("huge-scc") || t == "G2-item-realtime")
            .collect();
        let want = expected.get("valid?").map_or(
            if types.is_empty() {
                Verdict::Valid
            } else {
                Verdict::Invalid
            },
            expected_verdict,
        );
        let started = Instant::now();
        match check_history(&read(&path), &opts) {
            Ok(report) => {
                println!(
                    "elle-examples: {file}: {} in {:?}",
                    report.verdict,
                    started.elapsed()
                );
                failures.extend(judge(file, &report, want, &types));
                failures.extend(ruled_out(file, &report, &strings(expected.get("not"))));
            }
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    // The meaning of si-without-g-single: snapshot isolation alone must accept it.
    let si = read(&dir.join("histories/si-without-g-single.edn"));
    let report = check_history(
        &si,
        &CheckOptions::new(Workload::ListAppend).with_model(Model::SnapshotIsolation),
    )
    .expect("check");
    failures.extend(judge(
        "si-without-g-single under snapshot-isolation",
        &report,
        Verdict::Valid,
        &[],
    ));
    println!(
        "elle-examples: {histories} histories, {} mismatches",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn porcupine_kv() {
    let Some(data) = data_dir() else {
        println!("skipped: no shared data folder (set CHRONOS_SHARED_DATA)");
        return;
    };
    let dir = data.join("histories/porcupine-kv");
    let answers = json(&dir.join("known-answers.json"));
    let mut failures = Vec::new();
    let mut histories = 0;
    for (file, linearizable) in answers["files"].as_object().expect("files") {
        histories += 1;
        let want = if linearizable.as_bool() == Some(true) {
            Verdict::Valid
        } else {
            Verdict::Invalid
        };
        let started = Instant::now();
        match check_history(&read(&dir.join(file)), &CheckOptions::new(Workload::Kv)) {
            Ok(report) => {
                println!(
                    "porcupine-kv: {file}: {} in {:?}",
                    report.verdict,
                    started.elapsed()
                );
                failures.extend(judge(file, &report, want, &[]));
            }
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    println!(
        "porcupine-kv: {histories} histories, {} mismatches",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
