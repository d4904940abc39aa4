//! The sqllogictest suites the test suite runs: our own golden files (`sql/tests/slt`) and,
//! where the shared data folder exists, SQLite's `select1..5.test` and the evidence files
//! within Chronos's features. Each file prints `N passed, M failed, K skipped`.

use std::path::{Path, PathBuf};

use super::run_file;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `CHRONOS_SHARED_DATA`, else `../shared/data` beside the checkout.
fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("CHRONOS_SHARED_DATA")
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .unwrap_or_else(|| workspace().join("../shared/data"));
    dir.exists().then_some(dir)
}

fn run_all(files: &[PathBuf]) {
    let mut failed = Vec::new();
    for file in files {
        let summary = run_file(file).unwrap_or_else(|e| panic!("{}: {e:#}", file.display()));
        println!("{}: {summary}", file.display());
        for f in summary.failures.iter().take(5) {
            print!("{}", f.report(&file.display().to_string()));
        }
        if summary.failed > 0 || summary.passed == 0 {
            failed.push(format!("{}: {summary}", file.display()));
        }
    }
    assert!(
        failed.is_empty(),
        "sqllogictest failures:\n{}",
        failed.join("\n")
    );
}

#[test]
fn golden_sql_files() {
    let dir = workspace().join("sql/tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "golden files missing from {}",
        dir.display()
    );
    run_all(&files);
}

fn sqlite_files(names: &[&str]) -> Option<Vec<PathBuf>> {
    let Some(data) = shared_data() else {
        println!(
            "skipped: no shared data folder (set CHRONOS_SHARED_DATA or place ../shared/data)"
        );
        return None;
    };
    let base = data.join("sqllogictest/test");
    Some(names.iter().map(|n| base.join(Path::new(n))).collect())
}

#[test]
fn sqlite_select_files() {
    if let Some(files) = sqlite_files(&[
        "select1.test",
        "select2.test",
        "select3.test",
        "select4.test",
        "select5.test",
    ]) {
        run_all(&files);
    }
}

/// Evidence files within Chronos's features (triggers, views, REINDEX and REPLACE are not).
#[test]
fn sqlite_evidence_files() {
    if let Some(files) = sqlite_files(&[
        "evidence/in1.test",
        "evidence/in2.test",
        "evidence/slt_lang_aggfunc.test",
        "evidence/slt_lang_dropindex.test",
        "evidence/slt_lang_droptable.test",
        "evidence/slt_lang_update.test",
    ]) {
        run_all(&files);
    }
}
