//! `data show` (issue 12): column statistics over every row, against pandas and numpy on the same
//! files (tests/fixtures/tables: make.py, truth.json).

use std::process::Command;

use serde_json::Value;

use crate::common::*;

fn show(file: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::copy(fixture(&format!("tables/{file}")), project.join(file)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_runlens"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["data", "show"])
        .arg(&project)
        .arg(file)
        .args(["--rows", "5", "--format", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn close(got: &Value, want: &Value, what: &str) {
    match (got.as_f64(), want.as_f64()) {
        (Some(g), Some(w)) => {
            assert!((g - w).abs() <= 1e-12 * w.abs().max(1e-300), "{what}: {g} vs pandas {w}");
        }
        // pandas' NaN (written as null by make.py) is our "NaN" or null.
        _ if want.is_null() => assert!(got.is_null() || got == "NaN", "{what}: {got} vs pandas NaN"),
        _ => assert_eq!(got, want, "{what}"),
    }
}

fn check(file: &str) {
    let truth = read_json(&fixture("tables/truth.json"));
    let t = &truth[file];
    let got = show(file);
    assert_eq!(got["rows"], t["rows"], "{file}: rows");
    assert_eq!(got["head"].as_array().unwrap().len(), 5);
    for (name, want) in t["columns"].as_object().unwrap() {
        let c = got["columns"].as_array().unwrap().iter().find(|c| c["name"] == *name).unwrap();
        let what = |k: &str| format!("{file} {name} {k}");
        for k in ["count", "nulls", "distinct"] {
            assert_eq!(c[k], want[k], "{}", what(k));
        }
        let numeric = want.get("mean").is_some();
        if numeric && c["type"] != "boolean" {
            assert!(c["type"] == "integer" || c["type"] == "float", "{}: {}", what("type"), c["type"]);
            for k in ["min", "max", "mean", "std", "q25", "q50", "q75"] {
                close(&c[k], &want[k], &what(k));
            }
            match want.get("histogram") {
                Some(h) => {
                    assert_eq!(c["histogram"]["counts"], h["counts"], "{}", what("histogram"));
                    for (g, w) in c["histogram"]["edges"].as_array().unwrap().iter().zip(h["edges"].as_array().unwrap())
                    {
                        close(g, w, &what("histogram edges"));
                    }
                }
                None => assert!(c["histogram"].is_null(), "{}: numpy cannot bin infinities", what("histogram")),
            }
        }
        // The most frequent values: their counts as pandas counts them.
        let counts: Vec<u64> = c["top"].as_array().unwrap().iter().map(|p| p[1].as_u64().unwrap()).collect();
        let want_counts: Vec<u64> =
            want["top_counts"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        assert_eq!(counts, want_counts, "{}", what("top"));
        if let Some(vc) = want.get("value_counts").and_then(Value::as_object) {
            for p in c["top"].as_array().unwrap() {
                let key = match &p[0] {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
                    v if c["type"] == "float" => format!("{:?}", v.as_f64().unwrap()),
                    v => v.to_string(),
                };
                // pandas' read_json turns a boolean column with nulls into floats 1.0 and 0.0.
                let as_float = match key.as_str() {
                    "True" => "1.0".to_string(),
                    "False" => "0.0".to_string(),
                    k => format!("{k}.0"),
                };
                let found = vc.get(&key).or_else(|| vc.get(&as_float));
                assert_eq!(found.and_then(Value::as_u64), p[1].as_u64(), "{}: {key}", what("top value"));
            }
        }
    }
}

#[test]
fn csv_statistics_equal_pandas() {
    check("tricky.csv");
}

#[test]
fn jsonl_statistics_equal_pandas() {
    check("events.jsonl");
}

#[test]
fn parquet_statistics_equal_pandas() {
    check("tricky.parquet");
}

/// `Index::data_head`: the first rows at once, the same rows `data show` reports after reading all.
#[test]
fn the_first_rows_come_without_reading_the_rest() {
    for file in ["tricky.csv", "tricky.parquet", "events.jsonl"] {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::copy(fixture(&format!("tables/{file}")), project.join(file)).unwrap();
        let index = runlens_core::Index::open(&dir.path().join("data"), &project).unwrap();
        let (names, head) = index.data_head(file, 4).unwrap();
        let never = std::sync::atomic::AtomicBool::new(false);
        let full = index.data_show(file, 4, &mut |_, _| {}, &never).unwrap();
        assert_eq!(names, full.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(), "{file}");
        assert_eq!(head, full.head, "{file}");
    }
}
