//! `runlens data drift` (issue 12): with `--rules evidently`, Evidently's own DataDriftPreset
//! answers on tables that reach every branch of its rules (tests/fixtures/drift_rules: make.py,
//! truth.json); with the default rules, the drifted version of the data_versions fixture.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::*;

fn runlens(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runlens")).arg("--data-dir").arg(data).args(args).output().expect("run runlens")
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("{e}: {} / {}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    })
}

fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "NaN" => f64::NAN,
        Value::String(s) if s == "Infinity" => f64::INFINITY,
        Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
        v => v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")),
    }
}

/// The value Evidently reports as a column's drift score, for its test.
fn score(c: &Value) -> f64 {
    match c["method"].as_str().unwrap() {
        "ks" => num(&c["ks"]["p_value"]),
        "chisquare" => num(&c["chi2"]["p_value"]),
        "z" => num(&c["z"]["p_value"]),
        "wasserstein" => num(&c["wasserstein_norm"]),
        "jensenshannon" => num(&c["js"]),
        m => panic!("{m}: not one of Evidently's default tests"),
    }
}

#[test]
fn evidently_rules_agree_with_evidently() {
    let truth = read_json(&fixture("drift_rules/truth.json"));
    assert_eq!(truth["versions"]["evidently"], "0.7.23");
    let s = Scratch::new();
    let mut branches = std::collections::BTreeSet::new();
    for (case, want) in truth["cases"].as_object().unwrap() {
        let dir = fixture(&format!("drift_rules/{case}"));
        // The reference in the project, the current by an absolute path.
        let current = dir.join("current.csv");
        let o = runlens(
            &s.data(),
            &[
                "data",
                "drift",
                dir.to_str().unwrap(),
                "--reference",
                "reference.csv",
                current.to_str().unwrap(),
                "--rules",
                "evidently",
                "--format",
                "json",
            ],
        );
        let got = json(&o);
        let cols = got["columns"].as_array().unwrap();
        let wanted = want["columns"].as_object().unwrap();
        assert_eq!(cols.len(), wanted.len(), "{case}: {got}");
        for c in cols {
            let name = c["name"].as_str().unwrap();
            let w = &wanted[name];
            assert_eq!(c["method"], w["method"], "{case}/{name}");
            let (ours, theirs) = (score(c), num(&w["score"]));
            assert!(
                ours == theirs || (ours - theirs).abs() <= 1e-9 * theirs.abs(),
                "{case}/{name}: ours {ours:e}, Evidently {theirs:e}"
            );
            assert_eq!(c["drift"], w["drift"], "{case}/{name}");
            branches.insert(format!("{}:{}", w["method"], c["type"]));
        }
        let share = num(&got["share_drifted"]);
        assert!((share - num(&want["dataset"]["share"])).abs() < 1e-15, "{case}: share {share}");
        assert_eq!(got["drift"], want["dataset"]["drift"], "{case}");
        let code = if want["dataset"]["drift"] == true { 1 } else { 0 };
        assert_eq!(o.status.code(), Some(code), "{case}: {}", String::from_utf8_lossy(&o.stderr));
    }
    // Every branch of Evidently's choice was reached.
    for b in [
        "\"ks\":\"float\"",
        "\"ks\":\"integer\"",
        "\"chisquare\":\"float\"",
        "\"chisquare\":\"integer\"",
        "\"chisquare\":\"string\"",
        "\"z\":\"float\"",
        "\"z\":\"string\"",
        "\"z\":\"boolean\"",
        "\"wasserstein\":\"float\"",
        "\"jensenshannon\":\"float\"",
        "\"jensenshannon\":\"string\"",
        "\"jensenshannon\":\"integer\"",
    ] {
        assert!(branches.contains(b), "{b} not reached: {branches:?}");
    }
}

#[test]
fn exit_codes_are_those_of_diff() {
    let s = Scratch::new();
    let dir = fixture("drift_rules/large");
    let p = dir.to_str().unwrap();
    let run = |args: &[&str]| runlens(&s.data(), &[&["data", "drift", p][..], args].concat());
    // The same table: no drift.
    assert_eq!(run(&["--reference", "reference.csv", "reference.csv"]).status.code(), Some(0));
    assert_eq!(run(&["--reference", "reference.csv", "reference.csv", "--rules", "evidently"]).status.code(), Some(0));
    // Several files: a JSON array, exit 1 when one drifted.
    let o = run(&["--reference", "reference.csv", "reference.csv", "../small/current.csv", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2), "a column the reference lacks is trouble");
    let small = fixture("drift_rules/small");
    let o = runlens(
        &s.data(),
        &[
            "data",
            "drift",
            small.to_str().unwrap(),
            "--reference",
            "reference.csv",
            "reference.csv",
            "current.csv",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["drift"], false);
    assert_eq!(v[1]["drift"], true);
    // Trouble: a missing file, a missing reference, a file that is not a table.
    let o = run(&["--reference", "reference.csv", "nope.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("error: "));
    assert_eq!(run(&["--reference", "nope.csv", "current.csv"]).status.code(), Some(2));
    assert_eq!(run(&["--reference", "reference.csv", "/definitely/not/here.csv"]).status.code(), Some(2));
    let tmp = tempfile::tempdir().unwrap();
    let notes = tmp.path().join("notes.txt");
    std::fs::write(&notes, "hello\n").unwrap();
    assert_eq!(run(&["--reference", "reference.csv", notes.to_str().unwrap()]).status.code(), Some(2));
}

/// The data_versions fixture unpacked: (dir, project).
fn unpack() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let project = unpack_data_versions(dir.path());
    (dir, project)
}

fn drifted(v: &Value) -> Vec<String> {
    v["columns"].as_array().unwrap().iter().filter(|c| c["drift"] == true).map(|c| c["name"].to_string()).collect()
}

#[test]
fn default_rules_flag_the_drifted_version_only() {
    let (dir, project) = unpack();
    let data = dir.path().join("data");
    let p = project.to_str().unwrap();
    let o = runlens(
        &data,
        &["data", "drift", p, "--reference", "data/train.csv@data-v2", "data/train.csv@data-v3", "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    assert_eq!(drifted(&v), ["\"monthly_charges\"", "\"plan\""]);
    assert_eq!(v["drift"], true);
    assert!((num(&v["share_drifted"]) - 0.4).abs() < 1e-15);
    let plan = v["columns"].as_array().unwrap().iter().find(|c| c["name"] == "plan").unwrap();
    assert_eq!(plan["method"], "chi2_contingency");
    let id = v["columns"].as_array().unwrap().iter().find(|c| c["name"] == "id").unwrap();
    assert_eq!(id["method"], "id", "a key column is not a distribution");

    // Five labels fixed and 60 rows added: nothing drifted (the new ids are a key column's).
    let o = runlens(
        &data,
        &["data", "drift", p, "--reference", "data/train.csv@data-v1", "data/train.csv@data-v2", "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    let v = json(&o);
    assert!(drifted(&v).is_empty(), "{v}");
    assert_eq!(v["drift"], false);
}
