//! How the CLI prints: aligned tables for people, JSON and CSV for scripts. The JSON shapes are the
//! CLI contract (README, "CLI contract").

use serde_json::{json, Value};

use runlens_core::{MetricSummary, Point, RunRow};

pub use runlens_core::json_num as num;

/// A timestamp in ms: an integer when it is one, null when missing.
pub fn ts(v: f64) -> Value {
    if v.is_nan() {
        Value::Null
    } else if v.fract() == 0.0 && v.abs() < 9.0e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

pub fn metric_json(m: &MetricSummary) -> Value {
    json!(m)
}

pub fn run_json(r: &RunRow) -> Value {
    r.to_json()
}

pub fn series_json(points: &[Point]) -> Value {
    json!({
        "step": points.iter().map(|p| p.step).collect::<Vec<_>>(),
        "value": points.iter().map(|p| num(p.value)).collect::<Vec<_>>(),
        "timestamp": points.iter().map(|p| ts(p.ts)).collect::<Vec<_>>(),
    })
}

/// A number for a table cell: short, and exact enough to compare by eye.
pub fn fmt_num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else if v == 0.0 || (v.abs() >= 1e-4 && v.abs() < 1e9) {
        let s = format!("{v:.6}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".into()
        } else {
            s.to_string()
        }
    } else {
        format!("{v:.4e}")
    }
}

pub use runlens_core::format_utc as fmt_time;

/// Prints rows as an aligned table; cells wider than `max` are cut with '…'.
pub fn table(headers: &[String], rows: &[Vec<String>], max: usize) -> String {
    let cut = |s: &str| -> String {
        let s = s.replace(['\n', '\r', '\t'], " ");
        if s.chars().count() > max {
            let mut t: String = s.chars().take(max - 1).collect();
            t.push('…');
            t
        } else {
            s
        }
    };
    let headers: Vec<String> = headers.iter().map(|h| cut(h)).collect();
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| cut(c)).collect()).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(widths[i] - c.chars().count()));
            }
        }
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(&headers);
    for r in &rows {
        out.push_str(&line(r));
    }
    out
}

pub fn csv_line(cells: &[String]) -> String {
    let quoted: Vec<String> = cells
        .iter()
        .map(|c| if c.contains([',', '"', '\n', '\r']) { format!("\"{}\"", c.replace('"', "\"\"")) } else { c.clone() })
        .collect();
    format!("{}\n", quoted.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_and_numbers() {
        assert_eq!(fmt_time(0), "1970-01-01 00:00:00");
        assert_eq!(fmt_time(1_795_749_441_022), "2026-11-27 03:17:21");
        assert_eq!(fmt_num(0.1), "0.1");
        assert_eq!(fmt_num(f64::NAN), "NaN");
        assert_eq!(fmt_num(1e-7), "1.0000e-7");
        assert_eq!(num(f64::NEG_INFINITY), Value::from("-Infinity"));
        assert_eq!(ts(1.5e12), json!(1_500_000_000_000i64));
    }
}
