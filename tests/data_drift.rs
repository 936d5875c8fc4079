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
    // Two of the four columns that can drift: the key column is not counted.
    assert!((num(&v["share_drifted"]) - 0.5).abs() < 1e-15);
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

/// A table of `n` rows from a small generator (x: about normal, shifted by `shift`; k: 0..5;
/// plan: three labels; r: a float, nearly all distinct, left empty on every `gap`th row when `gap` > 0).
fn table(n: usize, seed: u64, shift: f64, gap: usize) -> String {
    let mut s = seed;
    let mut u = || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut out = String::from("id,x,k,plan,r\n");
    for i in 0..n {
        let x = (0..6).map(|_| u()).sum::<f64>() - 3.0 + shift;
        let k = (u() * 5.0) as u32;
        let plan = ["basic", "plus", "pro"][(u() * 3.0) as usize];
        let r = u();
        let r = if gap > 0 && i % gap == 0 { String::new() } else { format!("{r:.7}") };
        out.push_str(&format!("{},{x:.3},{k},{plan},{r}\n", seed * 1_000_000 + i as u64));
    }
    out
}

fn kept(data: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(data.join("projects")).unwrap().flatten() {
        if d.path().extension().is_some_and(|e| e == "refs") {
            out.extend(std::fs::read_dir(d.path()).unwrap().flatten().map(|e| e.path()));
        }
    }
    out.sort();
    out
}

#[test]
fn a_kept_reference_answers_as_its_table_does() {
    let s = Scratch::new();
    let project = s.project();
    let p = project.to_str().unwrap();
    std::fs::write(project.join("reference.csv"), table(30_000, 1, 0.0, 50)).unwrap();
    std::fs::write(project.join("batch.csv"), table(2_000, 2, 0.3, 50)).unwrap();
    let drift = |data: &Path| {
        let o = runlens(data, &["data", "drift", p, "--reference", "reference.csv", "batch.csv", "--format", "json"]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{} {}",
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8(o.stdout).unwrap()
    };
    let cold = drift(&s.data());
    assert_eq!(drifted(&serde_json::from_str(&cold).unwrap()), ["\"x\""]);
    let files = kept(&s.data());
    assert_eq!(files.len(), 1, "the reference is kept once, beside the index: {files:?}");
    assert!(files[0].extension().is_some_and(|e| e == "rlref"));
    assert_eq!(drift(&s.data()), cold, "the kept reference gives the same report, byte for byte");

    // The kept copy is what the second run read: a value changed in it changes the report...
    let bytes = std::fs::read(&files[0]).unwrap();
    let n = bytes.len();
    let mut changed = bytes.clone();
    // r's largest value (its column is last, stored whole; in [0.5, 1)) made one in [2, 4).
    assert_eq!(changed[n - 1], 0x3f);
    changed[n - 1] = 0x40;
    std::fs::write(&files[0], &changed).unwrap();
    assert_ne!(drift(&s.data()), cold);
    // ...while a damaged one is not used: the table is read again, and kept anew. Truncated:
    std::fs::write(&files[0], &bytes[..n - 8]).unwrap();
    assert_eq!(drift(&s.data()), cold);
    assert_eq!(std::fs::read(&files[0]).unwrap(), bytes, "kept again, the same bytes");
    // A count of k's values (k is stored as distinct values and their counts) made huge:
    let hl = u64::from_le_bytes(bytes[16..24].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[24..24 + hl]).unwrap();
    let k = header["columns"].as_array().unwrap().iter().find(|c| c["name"] == "k").unwrap();
    let runs = k["runs"].as_u64().expect("k kept as runs") as usize;
    assert_eq!(runs, 5);
    let count_at = 24 + hl + k["offset"].as_u64().unwrap() as usize + runs * 8;
    let mut damaged = bytes.clone();
    damaged[count_at + 7] = 0x7f;
    std::fs::write(&files[0], &damaged).unwrap();
    assert_eq!(drift(&s.data()), cold);
    assert_eq!(std::fs::read(&files[0]).unwrap(), bytes);

    // A changed reference table is read again, never answered from the old copy.
    std::fs::write(project.join("reference.csv"), table(30_000, 3, -0.2, 50)).unwrap();
    let fresh = Scratch::new();
    let changed = drift(&s.data());
    assert_ne!(changed, cold);
    assert_eq!(changed, drift(&fresh.data()), "as a fresh data dir answers");
    assert_eq!(kept(&s.data()).len(), 2);
}

#[test]
fn a_reference_from_git_is_kept_too() {
    let (dir, project) = unpack();
    let data = dir.path().join("data");
    let p = project.to_str().unwrap();
    let args =
        ["data", "drift", p, "--reference", "data/train.csv@data-v2", "data/train.csv@data-v3", "--format", "json"];
    let first = runlens(&data, &args);
    assert_eq!(kept(&data).len(), 1);
    let second = runlens(&data, &args);
    assert_eq!(second.status.code(), Some(1));
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn a_column_that_starts_coming_empty_drifts() {
    let s = Scratch::new();
    let project = s.project();
    let p = project.to_str().unwrap();
    std::fs::write(project.join("reference.csv"), table(10_000, 1, 0.0, 0)).unwrap();
    // One row in ten has no r: 10 points more nulls, the values' distribution unchanged.
    std::fs::write(project.join("nulls.csv"), table(10_000, 2, 0.0, 10)).unwrap();
    // One in a hundred: significant at 10,000 rows, but under the 3-point effect.
    std::fs::write(project.join("few.csv"), table(10_000, 3, 0.0, 100)).unwrap();
    let o = runlens(
        &s.data(),
        &["data", "drift", p, "--reference", "reference.csv", "nulls.csv", "few.csv", "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    assert_eq!(drifted(&v[0]), ["\"r\""]);
    let r = v[0]["columns"].as_array().unwrap().iter().find(|c| c["name"] == "r").unwrap();
    assert_eq!(r["method"], "null_share");
    assert!(num(&r["ks"]["p_value"]) > 0.01, "the values did not move: {r}");
    assert!((num(&r["null_share"]["current"]) - 0.1).abs() < 1e-12);
    assert!(drifted(&v[1]).is_empty(), "{}", v[1]);
    assert_eq!(v[1]["drift"], false);
}
