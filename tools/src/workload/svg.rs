//! The picture of a run, as a hand-written SVG: latency of every operation over time (one point
//! per op at its invocation time, log scale, colored by outcome) above throughput over time
//! (completions per second per outcome), with nemesis intervals shaded in both.
//!
//! It reads only a history (ops with `:time` in ns), so it can draw any recorded history, not
//! just our runs. Ops without `:time` are skipped. At most [`MAX_POINTS`] points are drawn
//! (evenly thinned beyond that) so the file stays small.

use std::collections::HashMap;
use std::fmt::Write as _;

use chronos_check::edn::Value;
use chronos_check::history::{Op, OpType, is_nemesis};

/// Points drawn in the latency plot at most.
pub const MAX_POINTS: usize = 20_000;
/// Time buckets of the throughput plot.
const BUCKETS: usize = 60;

const WIDTH: f64 = 960.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 150.0;
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const LAT_TOP: f64 = 50.0;
const LAT_H: f64 = 260.0;
const TP_TOP: f64 = LAT_TOP + LAT_H + 60.0;
const TP_H: f64 = 180.0;
const HEIGHT: f64 = TP_TOP + TP_H + 50.0;

/// One completed op: invoked at `start_ns`, took `latency_ns`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub start_ns: i64,
    pub end_ns: i64,
    pub op_type: OpType,
    pub f: String,
}

/// Completed ops of a history (invocation paired with the next completion of its process), and
/// nemesis intervals `(start_ns, end_ns)`.
pub fn samples(history: &[Op]) -> (Vec<Sample>, Vec<(i64, i64)>) {
    let mut pending: HashMap<Option<&Value>, i64> = HashMap::new();
    let mut out = Vec::new();
    let mut intervals: Vec<(i64, i64)> = Vec::new();
    let mut open: Option<i64> = None;
    let mut last_was_stop = false;
    let mut max_t = 0;
    for op in history {
        let Some(t) = op.time else { continue };
        max_t = max_t.max(t);
        if is_nemesis(op) {
            let f = op.f.as_deref().unwrap_or("");
            if f.starts_with("start") {
                open.get_or_insert(t);
                last_was_stop = false;
            } else if f.starts_with("stop") {
                if let Some(s) = open.take() {
                    intervals.push((s, t));
                } else if let (true, Some(last)) = (last_was_stop, intervals.last_mut()) {
                    last.1 = t;
                }
                last_was_stop = true;
            }
            continue;
        }
        if op.op_type == OpType::Invoke {
            pending.insert(op.process.as_ref(), t);
        } else if let Some(start) = pending.remove(&op.process.as_ref()) {
            out.push(Sample {
                start_ns: start,
                end_ns: t,
                op_type: op.op_type,
                f: op.f.clone().unwrap_or_default(),
            });
        }
    }
    if let Some(s) = open {
        intervals.push((s, max_t));
    }
    (out, intervals)
}

fn color(t: OpType) -> &'static str {
    match t {
        OpType::Ok => "#2f9e44",
        OpType::Fail => "#e03131",
        OpType::Info => "#f59f00",
        OpType::Invoke => "#868e96",
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the picture. `title` names the run.
pub fn render(history: &[Op], title: &str) -> String {
    let (samples, intervals) = samples(history);
    let end_ns = history
        .iter()
        .filter_map(|o| o.time)
        .max()
        .unwrap_or(0)
        .max(1);
    let secs = end_ns as f64 / 1e9;
    let x = |ns: i64| LEFT + PLOT_W * (ns as f64 / end_ns as f64);

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/><text x="{LEFT}" y="24" font-size="16">{}</text>"#,
        escape(title)
    );
    // Nemesis intervals, shaded across both plots.
    for (a, b) in &intervals {
        let (xa, xb) = (x(*a), x(*b));
        for (top, h) in [(LAT_TOP, LAT_H), (TP_TOP, TP_H)] {
            let _ = writeln!(
                s,
                r##"<rect class="nemesis" x="{xa:.1}" y="{top}" width="{:.1}" height="{h}" fill="#adb5bd" fill-opacity="0.35"/>"##,
                (xb - xa).max(1.0)
            );
        }
    }

    // Latency: log10 of milliseconds, whole decades.
    let lat_ms = |sm: &Sample| ((sm.end_ns - sm.start_ns).max(1) as f64) / 1e6;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for sm in &samples {
        lo = lo.min(lat_ms(sm).log10());
        hi = hi.max(lat_ms(sm).log10());
    }
    if samples.is_empty() {
        (lo, hi) = (-1.0, 1.0);
    }
    let (lo, hi) = (lo.floor(), hi.ceil().max(lo.floor() + 1.0));
    let y_lat = |ms: f64| LAT_TOP + LAT_H * (1.0 - (ms.log10() - lo) / (hi - lo));
    axes(&mut s, LAT_TOP, LAT_H, secs, "latency (ms, log)");
    let mut decade = lo;
    while decade <= hi {
        let y = y_lat(10f64.powf(decade));
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e9ecef"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + PLOT_W,
            LEFT - 6.0,
            y + 4.0,
            fmt_ms(10f64.powf(decade))
        );
        decade += 1.0;
    }
    let stride = samples.len().div_ceil(MAX_POINTS).max(1);
    for sm in samples.iter().step_by(stride) {
        let _ = writeln!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="1.6" fill="{}" fill-opacity="0.7"/>"#,
            x(sm.start_ns),
            y_lat(lat_ms(sm)),
            color(sm.op_type)
        );
    }

    // Throughput: completions per second in each bucket, per outcome.
    let bucket_ns = (end_ns as f64 / BUCKETS as f64).max(1.0);
    let types = [OpType::Ok, OpType::Fail, OpType::Info];
    let mut counts = [[0u64; BUCKETS]; 3];
    for sm in &samples {
        let b = ((sm.end_ns as f64 / bucket_ns) as usize).min(BUCKETS - 1);
        if let Some(i) = types.iter().position(|t| *t == sm.op_type) {
            counts[i][b] += 1;
        }
    }
    let rate = |c: u64| c as f64 / (bucket_ns / 1e9);
    let max_rate = counts
        .iter()
        .flatten()
        .map(|c| rate(*c))
        .fold(1.0, f64::max);
    axes(&mut s, TP_TOP, TP_H, secs, "throughput (ops/s)");
    for frac in [0.0, 0.5, 1.0] {
        let y = TP_TOP + TP_H * (1.0 - frac);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e9ecef"/><text x="{:.1}" y="{:.1}" text-anchor="end">{:.0}</text>"##,
            LEFT + PLOT_W,
            LEFT - 6.0,
            y + 4.0,
            max_rate * frac
        );
    }
    for (i, t) in types.iter().enumerate() {
        if counts[i].iter().all(|c| *c == 0) {
            continue;
        }
        let points: Vec<String> = counts[i]
            .iter()
            .enumerate()
            .map(|(b, c)| {
                let px = LEFT + PLOT_W * ((b as f64 + 0.5) / BUCKETS as f64);
                let py = TP_TOP + TP_H * (1.0 - rate(*c) / max_rate);
                format!("{px:.1},{py:.1}")
            })
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>"#,
            color(*t),
            points.join(" ")
        );
    }

    // Legend.
    let lx = LEFT + PLOT_W + 20.0;
    for (i, (t, name)) in [
        (OpType::Ok, "ok"),
        (OpType::Fail, "fail"),
        (OpType::Info, "info (indeterminate)"),
    ]
    .iter()
    .enumerate()
    {
        let y = LAT_TOP + 10.0 + 18.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<circle cx="{lx}" cy="{y}" r="4" fill="{}"/><text x="{}" y="{}">{name}</text>"#,
            color(*t),
            lx + 10.0,
            y + 4.0
        );
    }
    if !intervals.is_empty() {
        let y = LAT_TOP + 64.0;
        let _ = writeln!(
            s,
            r##"<rect x="{}" y="{}" width="10" height="10" fill="#adb5bd" fill-opacity="0.6"/><text x="{}" y="{}">nemesis</text>"##,
            lx - 5.0,
            y - 5.0,
            lx + 10.0,
            y + 4.0
        );
    }
    s.push_str("</svg>\n");
    s
}

fn fmt_ms(ms: f64) -> String {
    if ms >= 1.0 {
        format!("{ms:.0}")
    } else {
        format!("{ms}")
    }
}

/// A plot's frame, time ticks and label.
fn axes(s: &mut String, top: f64, h: f64, secs: f64, label: &str) {
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{top}" width="{PLOT_W}" height="{h}" fill="none" stroke="#495057"/><text x="{LEFT}" y="{:.1}">{label}</text>"##,
        top - 8.0
    );
    let ticks = 6;
    for i in 0..=ticks {
        let frac = i as f64 / ticks as f64;
        let px = LEFT + PLOT_W * frac;
        let _ = writeln!(
            s,
            r##"<line x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{:.1}" stroke="#495057"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{:.1}s</text>"##,
            top + h,
            top + h + 4.0,
            top + h + 16.0,
            secs * frac
        );
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use chronos_check::history::{Format, parse};

    const HISTORY: &str = "\
{:time 0, :type :invoke, :process 0, :f :read, :value nil}
{:time 1000000, :type :invoke, :process 1, :f :write, :value 1}
{:time 2000000, :type :info, :process :nemesis, :f :start, :value nil}
{:time 2500000, :type :info, :process :nemesis, :f :start, :value \"n1\"}
{:time 3000000, :type :ok, :process 0, :f :read, :value nil}
{:time 9000000, :type :info, :process 1, :f :write, :value 1}
{:time 9500000, :type :invoke, :process 2, :f :cas, :value [1 2]}
{:time 10000000, :type :info, :process :nemesis, :f :stop, :value nil}
{:time 11000000, :type :info, :process :nemesis, :f :stop, :value \"healed\"}
{:time 12000000, :type :fail, :process 2, :f :cas, :value [1 2]}
";

    #[test]
    fn samples_pair_by_process_and_nemesis_intervals_span_start_to_stop() {
        let ops = parse(HISTORY, Format::Edn).unwrap();
        let (samples, intervals) = samples(&ops);
        let got: Vec<(i64, i64, OpType)> = samples
            .iter()
            .map(|s| (s.start_ns, s.end_ns, s.op_type))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 3_000_000, OpType::Ok),
                (1_000_000, 9_000_000, OpType::Info),
                (9_500_000, 12_000_000, OpType::Fail),
            ]
        );
        assert_eq!(intervals, vec![(2_000_000, 11_000_000)]);
    }

    #[test]
    fn picture_has_a_point_per_op_shading_and_throughput_lines() {
        let ops = parse(HISTORY, Format::Edn).unwrap();
        let svg = render(&ops, "register <embedded> & co");
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches(r#"r="1.6""#).count(), 3);
        assert_eq!(svg.matches(r#"class="nemesis""#).count(), 2);
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(svg.contains("register &lt;embedded&gt; &amp; co"));
        // Tags balance: every opened element is closed or self-closed.
        assert_eq!(svg.matches('<').count(), svg.matches('>').count());
        // Empty history still renders.
        assert!(render(&[], "empty").contains("</svg>"));
    }

    #[test]
    fn large_histories_are_thinned() {
        let mut text = String::new();
        for i in 0..(MAX_POINTS as i64 + 5000) {
            text.push_str(&format!(
                "{{:time {}, :type :invoke, :process 0, :f :read}}\n{{:time {}, :type :ok, :process 0, :f :read}}\n",
                i * 10,
                i * 10 + 5
            ));
        }
        let ops = parse(&text, Format::Edn).unwrap();
        let svg = render(&ops, "big");
        assert!(svg.matches(r#"r="1.6""#).count() <= MAX_POINTS);
    }
}
