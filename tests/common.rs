//! Shared helpers: fixture paths, a fresh index in a temp data dir, truth.json values.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use runlens_core::{Index, Point, RunQuery, RunRow, ScanOptions, ScanReport};
use serde_json::Value;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A project to index and a data dir outside it, both temporary.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch { dir: tempfile::tempdir().expect("temp dir") }
    }
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    pub fn project(&self) -> PathBuf {
        let p = self.dir.path().join("project");
        std::fs::create_dir_all(&p).unwrap();
        p
    }
}

pub fn scan(index: &mut Index) -> ScanReport {
    index.scan(&ScanOptions::default(), &mut |_| {}, &AtomicBool::new(false)).expect("scan")
}

pub fn open_and_scan(data: &Path, project: &Path) -> (Index, ScanReport) {
    let mut index = Index::open(data, project).expect("open index");
    let report = scan(&mut index);
    (index, report)
}

pub fn all_runs(index: &Index) -> Vec<RunRow> {
    index.runs(&RunQuery { include_deleted: true, ..Default::default() }).expect("runs")
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read json")).expect("parse json")
}

/// A number from truth.json, where NaN and ±inf are strings.
pub fn tnum(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "NaN" => f64::NAN,
        Value::String(s) if s == "Infinity" => f64::INFINITY,
        Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
        other => other.as_f64().unwrap_or_else(|| panic!("not a number: {other}")),
    }
}

/// Bit-exact equality, with every NaN equal to every NaN.
pub fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits() || (a == 0.0 && b == 0.0)
}

/// Every point of a series against truth's {step, value, timestamp} lists.
pub fn assert_series(what: &str, got: &[Point], truth: &Value) {
    let steps = truth["step"].as_array().expect("steps");
    let values = truth["value"].as_array().expect("values");
    assert_eq!(got.len(), steps.len(), "{what}: point count");
    for (i, p) in got.iter().enumerate() {
        assert_eq!(p.step, steps[i].as_i64().unwrap(), "{what}: step of point {i}");
        assert!(same(p.value, tnum(&values[i])), "{what}: value of point {i}: {} vs {}", p.value, values[i]);
        if let Some(ts) = truth.get("timestamp").and_then(|t| t.as_array()) {
            match ts[i].as_f64() {
                Some(t) => assert_eq!(p.ts, t, "{what}: timestamp of point {i}"),
                None => assert!(p.ts.is_nan(), "{what}: point {i} should have no timestamp"),
            }
        }
    }
}

/// Everything a user can see in the index, as text: two indexes with equal dumps are equal.
pub fn dump(index: &Index) -> String {
    let mut out = String::new();
    for mut r in all_runs(index) {
        let uid = r.uid;
        r.uid = 0;
        out.push_str(&format!("{r:?}\n"));
        let detail = index.run_detail(&r.path).expect("detail");
        out.push_str(&format!(
            "  artifacts {:?}\n  inputs {:?}\n  models {:?}\n",
            detail.artifacts, detail.inputs, detail.models
        ));
        for key in r.metrics.keys() {
            let pts: Vec<(i64, u64, u64)> =
                index.series(uid, key).unwrap().iter().map(|p| (p.step, p.value.to_bits(), p.ts.to_bits())).collect();
            out.push_str(&format!("  {key}: {pts:?}\n"));
        }
    }
    for d in index.diagnostics().unwrap() {
        out.push_str(&format!("diag {d}\n"));
    }
    out
}

/// The dump of a fresh index of `project` built in one scan.
pub fn fresh_dump(project: &Path) -> String {
    let s = Scratch::new();
    let (index, _) = open_and_scan(&s.data(), project);
    dump(&index)
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

pub fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Makes an mtime change visible even on file systems with coarse timestamps.
pub fn touch_later(path: &Path) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    let t = std::fs::metadata(path).unwrap().modified().unwrap() + std::time::Duration::from_secs(1);
    f.set_modified(t).unwrap();
}

/// A param as Runlens shows it: strings as they are, anything else as JSON text.
pub fn param_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every diagnostic of the index as it is printed (`file:line: message`).
pub fn messages(index: &Index) -> Vec<String> {
    index.diagnostics().unwrap().iter().map(|d| d.to_string()).collect()
}

/// A Python with `packages` installed from PyPI, in a virtualenv cached across runs under
/// `$RUNLENS_TEST_CACHE` (default `~/.cache/runlens-tests`), made on first use. `None`, after
/// saying so on stderr, only where PyPI cannot be reached; any other install failure fails the test.
pub fn python_venv(name: &str, packages: &[&str]) -> Option<PathBuf> {
    let base = std::env::var_os("RUNLENS_TEST_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/runlens-tests")))
        .unwrap_or_else(|| std::env::temp_dir().join("runlens-tests"));
    let dir = base.join(name);
    let python = dir.join("bin/python");
    let spec = packages.join("\n");
    let marker = dir.join("runlens-packages.txt");
    if std::fs::read_to_string(&marker).is_ok_and(|s| s == spec) && python.exists() {
        return Some(python);
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&base).unwrap();
    let made = std::process::Command::new("python3").args(["-m", "venv"]).arg(&dir).status();
    assert!(made.is_ok_and(|s| s.success()), "python3 -m venv {} failed", dir.display());
    let pip = std::process::Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(packages)
        .output()
        .unwrap();
    if !pip.status.success() {
        let reachable = std::process::Command::new(&python)
            .args(["-m", "pip", "index", "versions", "pip", "--disable-pip-version-check"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !reachable {
            eprintln!("SKIPPED: PyPI cannot be reached, so {} cannot be installed", packages.join(" "));
            return None;
        }
        panic!("pip install {} failed: {}", packages.join(" "), String::from_utf8_lossy(&pip.stderr));
    }
    std::fs::write(&marker, spec).unwrap();
    Some(python)
}

/// The data_versions fixture (a git + DVC project, packed since a nested .git cannot live in our
/// repository) unpacked into `into`: its project folder.
pub fn unpack_data_versions(into: &Path) -> PathBuf {
    std::fs::create_dir_all(into).unwrap();
    let ok = std::process::Command::new("tar")
        .arg("xzf")
        .arg(fixture("data_versions/project.tar.gz"))
        .arg("-C")
        .arg(into)
        .status()
        .unwrap();
    assert!(ok.success(), "tar xzf data_versions/project.tar.gz");
    into.join("project")
}
