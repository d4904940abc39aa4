//! Collecting samples across runs and printing the final tables: medians, Chronos/peer ratios,
//! the durable-write ratios with their targets, and peak memory.

use std::collections::BTreeMap;
use std::fmt::Write;

/// Samples of every run, keyed by workload then engine, in the order they were first seen.
#[derive(Debug, Default)]
pub struct Results {
    workloads: Vec<String>,
    engines: Vec<String>,
    rates: BTreeMap<(String, String), Vec<f64>>,
    /// (VmHWM, peak anonymous RSS) in KiB per (engine, group).
    rss: BTreeMap<(String, String), Vec<(u64, u64)>>,
    pub notes: Vec<String>,
    pub failures: Vec<String>,
}

impl Results {
    pub fn add_rate(&mut self, workload: &str, engine: &str, ops_per_sec: f64) {
        if !self.workloads.iter().any(|w| w == workload) {
            self.workloads.push(workload.to_string());
        }
        if !self.engines.iter().any(|e| e == engine) {
            self.engines.push(engine.to_string());
        }
        self.rates
            .entry((workload.to_string(), engine.to_string()))
            .or_default()
            .push(ops_per_sec);
    }

    pub fn add_rss(&mut self, engine: &str, group: &str, kib: (u64, u64)) {
        self.rss
            .entry((engine.to_string(), group.to_string()))
            .or_default()
            .push(kib);
    }

    /// The median rate of `workload` on `engine`, if any run completed.
    pub fn median(&self, workload: &str, engine: &str) -> Option<f64> {
        let samples = self
            .rates
            .get(&(workload.to_string(), engine.to_string()))?;
        median(samples)
    }

    /// The throughput table: one row per workload and engine.
    pub fn throughput_table(&self) -> String {
        let mut rows = Vec::new();
        for w in &self.workloads {
            let chronos = self.median(w, "chronos");
            for e in &self.engines {
                let Some(samples) = self.rates.get(&(w.clone(), e.clone())) else {
                    continue;
                };
                let Some(med) = median(samples) else { continue };
                let lo = samples.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = samples.iter().copied().fold(0.0, f64::max);
                let ratio = match chronos {
                    Some(c) if e != "chronos" && e != "disk" => format!("{:.2}x", c / med),
                    _ => String::new(),
                };
                rows.push(vec![
                    w.clone(),
                    e.clone(),
                    rate(med),
                    format!("{} – {}", rate(lo), rate(hi)),
                    samples.len().to_string(),
                    ratio,
                ]);
            }
        }
        render(
            &[
                "workload",
                "engine",
                "ops/s (median)",
                "min – max",
                "runs",
                "chronos/engine",
            ],
            &rows,
        )
    }

    /// Peak memory per engine and workload group (the largest over runs).
    pub fn memory_table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .rss
            .iter()
            .map(|((engine, group), v)| {
                let hwm = v.iter().map(|r| r.0).max().unwrap_or(0);
                let anon = v.iter().map(|r| r.1).max().unwrap_or(0);
                vec![engine.clone(), group.clone(), mib(hwm), mib(anon)]
            })
            .collect();
        render(
            &[
                "engine",
                "workload group",
                "peak RSS (VmHWM)",
                "peak anon RSS",
            ],
            &rows,
        )
    }
}

/// The median of `samples` (the mean of the middle two for an even count).
pub fn median(samples: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// A rate with three significant digits and a k/M suffix.
pub fn rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e4 {
        format!("{:.0}k", x / 1e3)
    } else if x >= 1e3 {
        format!("{:.2}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

pub fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// A plain-text table: left-aligned text, columns padded to their widest cell.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        let padded: Vec<String> = cells
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect();
        let _ = writeln!(out, "| {} |", padded.join(" | "));
    };
    line(&mut out, &mut headers.iter().copied());
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let _ = writeln!(out, "|-{}-|", rule.join("-|-"));
    for row in rows {
        line(&mut out, &mut row.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[5.0]), Some(5.0));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 1.0]), Some(1.0));
    }

    #[test]
    fn formats_rates_and_tables() {
        assert_eq!(rate(712_345.0), "712k");
        assert_eq!(rate(4_812.0), "4.81k");
        assert_eq!(rate(2_800_000.0), "2.80M");
        let t = render(&["a", "bb"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "| a   | bb |\n|-----|----|\n| xyz | 1  |\n");
    }
}
