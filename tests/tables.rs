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

/// A damaged Parquet file (a fuzzer's find) is an error naming the file and its version, with no
/// panic on the way.
#[test]
fn a_damaged_parquet_file_is_named_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    std::fs::create_dir_all(&project).unwrap();
    let damaged = repo_path("fuzz/regressions/parquet_pages/crash-f73d2f87059b2a65f956c1b0b0c0d43655e1a636");
    std::fs::copy(&damaged, project.join("t.parquet")).unwrap();
    std::fs::copy(&damaged, project.join("u.parquet")).unwrap();
    // `data show` reads it page by page; `data diff` row by row, through the `parquet` crate,
    // which panics on it (caught, and not printed).
    for args in [&["show", "t.parquet", "--format", "json"][..], &["diff", "t.parquet", "u.parquet"][..]] {
        let o = Command::new(env!("CARGO_BIN_EXE_runlens"))
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["data", args[0]])
            .arg(&project)
            .args(&args[1..])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        // An error: 1 for `data show`, 2 ("trouble", as diff(1)) for `data diff`.
        assert_eq!(o.status.code(), Some(if args[0] == "diff" { 2 } else { 1 }), "{args:?}: {err}");
        assert!(err.contains("t.parquet@workspace: not a readable Parquet file"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn parquet_statistics_equal_pandas() {
    check("tricky.parquet");
    check("pages.parquet");
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

/// A CSV big enough for two threads, against the same table as JSONL (read row by row): quoted
/// fields holding a line end at and just past the middle; once with a stray quote early on (a
/// quote inside an unquoted field is a plain byte, so the quotes' parity lies and the cut found by
/// it falls inside the second such field: the first thread must notice and read on alone); a
/// column past the count limit.
#[test]
fn a_big_csv_scanned_by_two_threads_equals_its_rows() {
    for stray in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p");
        std::fs::create_dir_all(&project).unwrap();
        let n = 450_000usize;
        let mut csv = String::from("id,v,k,note\n");
        let mut jsonl = String::new();
        for i in 0..n {
            let v = (i * 7919 % 70_001) as f64 / 8.0;
            let k = (i % 13) as i64 - 6;
            let note = if i == 10 && stray {
                "ab\"c".to_string()
            } else if i == n / 2 + 5 || i == n * 53 / 100 {
                "line one\nline two, \"quoted\"".to_string()
            } else {
                format!("n{}", i % 5)
            };
            let quoted =
                if note.contains(['\n', ',']) { format!("\"{}\"", note.replace('"', "\"\"")) } else { note.clone() };
            let kcell = if i % 11 == 0 { String::new() } else { k.to_string() };
            csv.push_str(&format!("{i},{v:.3},{kcell},{quoted}\n"));
            let kjson = if i % 11 == 0 { Value::Null } else { Value::from(k) };
            jsonl.push_str(&serde_json::json!({"id": i, "v": v, "k": kjson, "note": note}).to_string());
            jsonl.push('\n');
        }
        assert!(csv.len() > 8 << 20);
        std::fs::write(project.join("t.csv"), &csv).unwrap();
        std::fs::write(project.join("t.jsonl"), &jsonl).unwrap();
        let index = runlens_core::Index::open(&dir.path().join("data"), &project).unwrap();
        let never = std::sync::atomic::AtomicBool::new(false);
        let mut last = 0;
        let a = index.data_show("t.csv", 3, &mut |done, _| last = done, &never).unwrap();
        assert_eq!(last, csv.len() as u64);
        let b = index.data_show("t.jsonl", 3, &mut |_, _| {}, &never).unwrap();
        assert_eq!(a.rows, n as u64);
        assert_eq!(a.rows, b.rows);
        for x in &a.columns {
            let y = b.columns.iter().find(|c| c.name == x.name).unwrap();
            let close = |p: Option<f64>, q: Option<f64>| match (p, q) {
                (Some(p), Some(q)) => (p - q).abs() <= 1e-12 * q.abs(),
                (p, q) => p == q,
            };
            assert!(close(x.mean, y.mean) && close(x.std, y.std), "{}: {x:?} vs {y:?}", x.name);
            let strip =
                |c: &runlens_core::ColumnStats| runlens_core::ColumnStats { mean: None, std: None, ..c.clone() };
            assert_eq!(strip(x), strip(y), "stray quote: {stray}");
        }
        assert_eq!(a.columns.iter().find(|c| c.name == "v").unwrap().distinct, 70_001);
        assert_eq!(a.head.len(), 3);
    }
}

/// Every run gives the same digits: a column with more distinct values than a count map keeps
/// (it becomes its values mid-file, in a seeded hash's order, in each of the two threads' parts)
/// has the same mean and std in every process.
#[test]
fn statistics_are_the_same_on_every_run() {
    let s = Scratch::new();
    let project = s.project();
    let mut csv = String::from("x,k\n");
    let mut seed = 7u64;
    for i in 0..600_000u64 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        // Both signs and six orders of magnitude: a sum whose rounding depends on its order.
        let u = (seed >> 11) as f64 / (1u64 << 53) as f64;
        let x = (u - 0.5) * 10f64.powi((seed % 7) as i32);
        csv.push_str(&format!("{x:.6},{}\n", i % 7));
    }
    std::fs::write(project.join("t.csv"), csv).unwrap();
    let run = || {
        let o = Command::new(env!("CARGO_BIN_EXE_runlens"))
            .arg("--data-dir")
            .arg(s.data())
            .args(["data", "show", project.to_str().unwrap(), "t.csv", "--rows", "0", "--format", "json"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    let first = run();
    let v: Value = serde_json::from_slice(&first).unwrap();
    assert!(v["columns"][0]["distinct"].as_u64().unwrap() > 65_536, "{}", v["columns"][0]);
    for _ in 0..4 {
        assert_eq!(run(), first);
    }
}

/// Each column's statistics are handed over as soon as they are finished (the app shows them as
/// they come): once per column, equal to the profile's, with the table's row count.
#[test]
fn each_column_is_handed_over_as_it_finishes() {
    for file in ["tricky.csv", "tricky.parquet", "events.jsonl"] {
        let s = Scratch::new();
        let project = s.project();
        std::fs::copy(fixture(&format!("tables/{file}")), project.join(file)).unwrap();
        let index = runlens_core::Index::open(&s.data(), &project).unwrap();
        let mut got: Vec<(u64, usize, runlens_core::ColumnStats)> = Vec::new();
        let profile = index
            .data_show_with(
                file,
                5,
                &mut |_, _| {},
                &mut |rows, i, c| got.push((rows, i, c.clone())),
                &std::sync::atomic::AtomicBool::new(false),
            )
            .unwrap();
        assert_eq!(got.len(), profile.columns.len(), "{file}");
        got.sort_by_key(|g| g.1);
        for ((rows, i, c), want) in got.iter().zip(&profile.columns) {
            assert_eq!(*rows, profile.rows, "{file}");
            // Debug's text: NaN (a std over inf) equals itself there.
            assert_eq!(format!("{c:?}"), format!("{want:?}"), "{file}: column {i}");
        }
    }
}
