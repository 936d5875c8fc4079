//! The CLI contract, through the real binary: exit codes, the JSON shapes scripts rely on, and
//! one-line errors.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::*;

fn runlens(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runlens")).arg("--data-dir").arg(data).args(args).output().expect("run runlens")
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "exit {:?}: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn index_prints_counts_and_runs_json_follows_the_contract() {
    let s = Scratch::new();
    let p3 = fixture("p3");
    let p = p3.to_str().unwrap();
    let out = stdout(&runlens(&s.data(), &["index", p]));
    assert!(
        out.starts_with("23 runs (dvc 1, keras 1, lightning 2, mlflow 8, mlflow-db 8, tensorboard 3), 0 warnings"),
        "{out}"
    );

    let runs: Value = serde_json::from_str(&stdout(&runlens(&s.data(), &["runs", p, "--format", "json"]))).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 21, "deleted runs are left out");
    let keys = [
        "end_time",
        "experiment",
        "id",
        "metrics",
        "name",
        "params",
        "parent_id",
        "path",
        "source",
        "start_time",
        "status",
        "tags",
    ];
    for r in runs {
        let mut got: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        got.sort();
        assert_eq!(got, keys);
        let source = r["source"].as_str().unwrap();
        assert!(["mlflow", "mlflow-db", "lightning", "keras", "tensorboard", "dvc"].contains(&source));
        if source.starts_with("mlflow") {
            assert_ne!(r["id"], r["path"]);
        } else {
            assert_eq!(r["id"], r["path"], "non-MLflow ids are paths");
        }
        if source == "mlflow-db" {
            assert!(r["path"].as_str().unwrap().starts_with("mlflow.db#"));
        }
        for m in r["metrics"].as_object().unwrap().values() {
            let mut mk: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
            mk.sort();
            assert_eq!(mk, ["count", "last", "last_step", "max", "min"]);
        }
    }
    // Non-finite values are strings; the crashed run's loss ends in NaN.
    let truth = read_json(&p3.join("truth.json"));
    let crashed = truth["mlflow"]["runs"].as_array().unwrap().iter().find(|r| r["run_name"] == "crashed").unwrap();
    let r = runs.iter().find(|r| r["id"] == crashed["run_id"]).unwrap();
    assert_eq!(r["metrics"]["train/loss"]["last"], crashed["metrics"]["train/loss"]["last"]["value"]);
    assert_eq!(r["status"], "failed");

    let all: Value =
        serde_json::from_str(&stdout(&runlens(&s.data(), &["runs", p, "--format", "json", "--include-deleted"])))
            .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 23);
}

#[test]
fn filter_sort_and_errors() {
    let s = Scratch::new();
    let p = fixture("p3");
    let p = p.to_str().unwrap();
    let filtered: Value = serde_json::from_str(&stdout(&runlens(
        &s.data(),
        &[
            "runs",
            p,
            "--format",
            "json",
            "--filter",
            "metrics.val_acc > 0.5 and attributes.source = 'mlflow'",
            "--sort",
            "-metrics.val_acc",
        ],
    )))
    .unwrap();
    let accs: Vec<f64> =
        filtered.as_array().unwrap().iter().map(|r| r["metrics"]["val_acc"]["last"].as_f64().unwrap()).collect();
    assert_eq!(accs.len(), 2);
    assert!(accs[0] >= accs[1], "sorted descending: {accs:?}");

    let bad = runlens(&s.data(), &["runs", p, "--filter", "metrics.val_acc > 'high'"]);
    assert!(!bad.status.success());
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(err.starts_with("error: column 19:"), "{err}");
    assert!(err.contains("^"), "the caret points at the problem: {err}");

    let missing = runlens(&s.data(), &["index", "/definitely/not/here"]);
    assert!(!missing.status.success());
    let err = String::from_utf8(missing.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/definitely/not/here"), "{err}");
}

#[test]
fn metric_prints_every_point_or_m4() {
    let s = Scratch::new();
    let p3 = fixture("p3");
    let p = p3.to_str().unwrap();
    let truth = read_json(&p3.join("truth.json"));
    let long = truth["mlflow"]["runs"].as_array().unwrap().iter().find(|r| r["run_name"] == "long-run-5k").unwrap();
    let id = long["run_id"].as_str().unwrap();
    let full: Value =
        serde_json::from_str(&stdout(&runlens(&s.data(), &["metric", p, id, "grad_norm", "--format", "json"])))
            .unwrap();
    let t = &long["metrics"]["grad_norm"]["series"];
    assert_eq!(full["step"], t["step"]);
    assert_eq!(full["value"], t["value"], "values exact, non-finite as strings");
    assert_eq!(full["timestamp"], t["timestamp"]);

    let small: Value = serde_json::from_str(&stdout(&runlens(
        &s.data(),
        &["metric", p, id, "grad_norm", "--format", "json", "--max-points", "40"],
    )))
    .unwrap();
    let n = small["step"].as_array().unwrap().len();
    assert!((10..=40).contains(&n), "{n}");
    let max = t["value"].as_array().unwrap().iter().filter_map(|v| v.as_f64()).fold(f64::MIN, f64::max);
    assert!(small["value"].as_array().unwrap().iter().any(|v| v.as_f64() == Some(max)), "the max survives");
}

#[test]
fn show_and_diff_read_like_a_report() {
    let s = Scratch::new();
    let p3 = fixture("p3");
    let p = p3.to_str().unwrap();
    let truth = read_json(&p3.join("truth.json"));
    let trials: Vec<&Value> = truth["mlflow"]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["run_name"].as_str().unwrap().starts_with("trial-"))
        .collect();
    let (a, b) = (trials[0]["run_id"].as_str().unwrap(), trials[1]["run_id"].as_str().unwrap());
    let show = stdout(&runlens(&s.data(), &["show", p, a]));
    for want in ["PARAM", "solver", "METRIC", "val_acc", "ARTIFACT", "DATASET", "train-v2", "MODEL", "python_function"]
    {
        assert!(show.contains(want), "show lacks {want}:\n{show}");
    }
    let diff = stdout(&runlens(&s.data(), &["diff", p, a, b]));
    assert!(diff.contains("params.C"), "{diff}");
    assert!(!diff.contains("params.solver"), "equal params are hidden by default:\n{diff}");
    assert!(diff.contains("metrics.val_acc"), "{diff}");
    let json: Value =
        serde_json::from_str(&stdout(&runlens(&s.data(), &["diff", p, a, b, "--format", "json"]))).unwrap();
    assert!(json["differences"].as_array().unwrap().iter().any(|d| d["key"] == "params.C"));
}

#[test]
fn sort_and_pages_compose() {
    let s = Scratch::new();
    let p = fixture("p3");
    let p = p.to_str().unwrap();
    let runs = |extra: &[&str]| -> Vec<Value> {
        let mut args = vec!["runs", p, "--format", "json", "--sort", "source", "--sort", "-start_time"];
        args.extend_from_slice(extra);
        let v: Value = serde_json::from_str(&stdout(&runlens(&s.data(), &args))).unwrap();
        v.as_array().unwrap().clone()
    };
    let paths = |v: &[Value]| -> Vec<String> { v.iter().map(|r| r["path"].as_str().unwrap().to_string()).collect() };
    let all = runs(&[]);
    assert_eq!(all.len(), 21);
    assert_eq!(paths(&runs(&["--limit", "5", "--offset", "3"])), paths(&all[3..8]));
    assert_eq!(paths(&runs(&["--offset", "15"])), paths(&all[15..]));
    // Sorted by source, then newest first within a source.
    let keys: Vec<(String, i64)> = all
        .iter()
        .map(|r| (r["source"].as_str().unwrap().to_string(), -r["start_time"].as_i64().unwrap_or(i64::MIN + 1)))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn runs_as_csv_hold_every_param_tag_and_metric() {
    let s = Scratch::new();
    let p = fixture("p3");
    let out = stdout(&runlens(&s.data(), &["runs", p.to_str().unwrap(), "--format", "csv"]));
    let mut r = csv::Reader::from_reader(out.as_bytes());
    let headers: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(&headers[..3], ["id", "source", "path"]);
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 21);
    let json: Value =
        serde_json::from_str(&stdout(&runlens(&s.data(), &["runs", p.to_str().unwrap(), "--format", "json"]))).unwrap();
    for (row, run) in rows.iter().zip(json.as_array().unwrap()) {
        assert_eq!(&row[0], run["id"].as_str().unwrap());
        for (k, v) in run["params"].as_object().unwrap() {
            let col = headers.iter().position(|h| *h == format!("params.{k}")).unwrap();
            assert_eq!(&row[col], v.as_str().unwrap(), "params.{k}");
        }
        for (k, m) in run["metrics"].as_object().unwrap() {
            let col = headers.iter().position(|h| *h == format!("metrics.{k}")).unwrap();
            let want = match &m["last"] {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            assert_eq!(row[col], want, "metrics.{k}");
        }
    }
}

#[test]
fn show_as_json_holds_the_whole_run() {
    let s = Scratch::new();
    let p3 = fixture("p3");
    let truth = read_json(&p3.join("truth.json"));
    let trial = truth["mlflow"]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| !r["model_outputs"].as_array().unwrap().is_empty())
        .unwrap();
    let id = trial["run_id"].as_str().unwrap();
    let v: Value = serde_json::from_str(&stdout(&runlens(
        &s.data(),
        &["show", p3.to_str().unwrap(), &id[..10], "--format", "json"],
    )))
    .unwrap();
    assert_eq!(v["id"], id, "a unique id prefix names the run");
    assert_eq!(v["params"], trial["params"]);
    let arts: Vec<&str> = v["artifacts"].as_array().unwrap().iter().map(|a| a["path"].as_str().unwrap()).collect();
    let tarts: Vec<&str> = trial["artifacts"].as_array().unwrap().iter().map(|a| a["path"].as_str().unwrap()).collect();
    assert_eq!(arts, tarts);
    assert_eq!(v["inputs"][0]["name"], trial["dataset_inputs"][0]["name"]);
    assert_eq!(v["models"][0]["model_id"], trial["model_outputs"][0]["model_id"]);
    assert!(v["models"][0]["signature_inputs"].as_str().unwrap().contains("f0"), "the MLmodel signature, read as text");
    assert_eq!(v["diagnostics"], serde_json::json!([]));
}

/// `runlens open` names what is wrong before it starts anything.
#[test]
fn open_refuses_a_missing_folder_and_a_file() {
    let s = Scratch::new();
    let missing = s.dir.path().join("no-such-project");
    let out = runlens(&s.data(), &["open", missing.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-project"), "{err}");
    let file = s.dir.path().join("a-file.txt");
    std::fs::write(&file, "x").unwrap();
    let out = runlens(&s.data(), &["open", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a folder"));
}

/// `runlens registry ...` and `runlens bundle ...`: the JSON shapes of `register`, `list`, `history`,
/// `bundle` and `bundle verify`, exactly; refusals and `verify`'s exit codes.
#[test]
fn registry_and_bundle_commands_follow_the_contract() {
    let s = Scratch::new();
    let project = s.dir.path().join("p");
    copy_dir(&fixture("mlflow_registry/project"), &project);
    let p = project.to_str().unwrap();
    let config = s.dir.path().join("config");
    let reg_top = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_runlens"))
            .arg("--data-dir")
            .arg(s.data())
            .arg("--config-dir")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };
    let reg = |args: &[&str]| reg_top(&[&["registry"], args].concat());
    let truth = read_json(&fixture("mlflow_registry/truth.json"));
    let run = &truth["file"]["runs"]["wide-C10"];
    let (run_id, model_id) = (run["run_id"].as_str().unwrap(), run["logged_model_id"].as_str().unwrap());
    let w: Value =
        serde_json::from_str(&stdout(&reg(&["register", p, run_id, model_id, "--name", "churn", "--format", "json"])))
            .unwrap();
    let mut keys: Vec<&str> = w.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["digest", "name", "version"]);
    assert_eq!((w["name"].as_str(), w["version"].as_u64()), (Some("churn"), Some(1)));
    let list: Value = serde_json::from_str(&stdout(&reg(&["list", p, "--format", "json"]))).unwrap();
    let list = list.as_array().unwrap();
    let sources: Vec<&str> = list.iter().map(|m| m["source"].as_str().unwrap()).collect();
    assert!(
        sources.contains(&"runlens") && sources.contains(&"mlflow") && sources.contains(&"mlflow-db"),
        "{sources:?}"
    );
    for m in list {
        let mut keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["aliases", "description", "name", "source", "tags", "versions"]);
        for v in m["versions"].as_array().unwrap() {
            let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort();
            assert_eq!(
                keys,
                [
                    "aliases",
                    "approvals",
                    "archived",
                    "changed_on_disk",
                    "created_at",
                    "created_by",
                    "description",
                    "digest",
                    "files",
                    "run_id",
                    "run_path",
                    "stage",
                    "status",
                    "tags",
                    "version"
                ]
            );
            for f in v["files"].as_array().unwrap() {
                let mut keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
                keys.sort();
                assert_eq!(keys, ["path", "sha256", "size"]);
            }
        }
    }
    // history: every event, in fold order, with exactly these fields.
    let h: Value = serde_json::from_str(&stdout(&reg(&["history", p, "churn", "--format", "json"]))).unwrap();
    for e in h.as_array().unwrap() {
        let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["actor", "at", "hash", "host", "kind", "parents", "payload", "signed_by", "version"]);
    }
    // history --at: the model in list's shape.
    let at: Value = serde_json::from_str(&stdout(&reg(&[
        "history",
        p,
        "churn",
        "--at",
        "2100-01-01T00:00:00Z",
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(at["name"], "churn");
    assert_eq!(at["versions"][0]["version"], 1);
    // A refusal: exit 1, one error line.
    let refused = reg(&["stage", p, "churn@1", "Production"]);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.starts_with("error: ") && err.lines().count() == 1, "{err}");
    // bundle: its JSON line, and verify's exit code.
    let out = s.dir.path().join("bundles");
    let b: Value =
        serde_json::from_str(&stdout(&reg_top(&["bundle", p, "churn@1", "-o", out.to_str().unwrap(), "--json"])))
            .unwrap();
    let mut keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["bytes", "digest", "files", "model", "path", "version"]);
    let checked = reg_top(&["bundle", "verify", b["path"].as_str().unwrap(), "--format", "json"]);
    assert_eq!(checked.status.code(), Some(0));
    let c: Value = serde_json::from_slice(&checked.stdout).unwrap();
    let mut keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["checked", "format", "model", "problems", "signed_by", "version"]);
    assert_eq!(c["format"], "tar");
    let ok = reg(&["verify", p]);
    assert_eq!(ok.status.code(), Some(0));
    let events = project.join(".runlens/registry/churn/events");
    let f = std::fs::read_dir(&events).unwrap().next().unwrap().unwrap().path();
    std::fs::write(&f, std::fs::read_to_string(&f).unwrap().replace("churn", "chumn")).unwrap();
    let bad = reg(&["verify", p]);
    assert_eq!(bad.status.code(), Some(1));
    let name = f.file_stem().unwrap().to_str().unwrap();
    assert!(String::from_utf8_lossy(&bad.stdout).contains(name));
}

/// `runlens data ls PROJECT --format json`: the fields of an item and of a version, exactly.
#[test]
fn data_ls_follows_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let project = unpack_data_versions(dir.path());
    let o = runlens(&dir.path().join("data"), &["data", "ls", project.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let items: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let first = &items[0];
    assert_eq!(keys(first), ["kind", "path", "tracked_by", "versions"]);
    assert_eq!(
        keys(&first["versions"][0]),
        ["at", "in_cache", "md5", "message", "models", "nfiles", "rev", "runs", "size"]
    );
    let train = items.as_array().unwrap().iter().find(|i| i["path"] == "data/train.csv").unwrap();
    assert_eq!(train["kind"], "file");
    assert_eq!(train["versions"][0]["rev"], "workspace");
    assert!(train["versions"][0]["at"].is_null() && train["versions"][1]["at"].is_i64());
    let at: Vec<i64> = train["versions"].as_array().unwrap()[1..].iter().map(|v| v["at"].as_i64().unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] >= w[1]), "newest first: {at:?}");
}

/// `runlens data show PROJECT PATH[@REV] --format json`: `{"rows", "columns", "head"}`, and each
/// column's fields, exactly.
#[test]
fn data_show_follows_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::copy(fixture("tables/tricky.csv"), project.join("t.csv")).unwrap();
    let o = runlens(
        &dir.path().join("data"),
        &["data", "show", project.to_str().unwrap(), "t.csv", "--rows", "3", "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&v), ["columns", "head", "rows"]);
    let score = v["columns"].as_array().unwrap().iter().find(|c| c["name"] == "score").unwrap();
    assert_eq!(
        keys(score),
        [
            "count",
            "distinct",
            "histogram",
            "max",
            "mean",
            "min",
            "name",
            "nulls",
            "q25",
            "q50",
            "q75",
            "std",
            "top",
            "type"
        ]
    );
    assert_eq!(keys(&score["histogram"]), ["counts", "edges"]);
    assert_eq!(v["head"].as_array().unwrap().len(), 3);
    let ratio = v["columns"].as_array().unwrap().iter().find(|c| c["name"] == "ratio").unwrap();
    assert_eq!(ratio["max"], "Infinity", "non-finite numbers are strings");
    let plan = v["columns"].as_array().unwrap().iter().find(|c| c["name"] == "plan").unwrap();
    assert!(plan["q50"].is_null() && plan["histogram"].is_null(), "fields that do not apply are null");
}

/// `runlens data diff PROJECT A B [--key COL] --format json`: its fields, exactly, and diff(1)'s
/// exit codes (0 same, 1 different, 2 trouble).
#[test]
fn data_diff_follows_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("a.csv"), "id,x\n1,a\n2,b\n").unwrap();
    std::fs::write(project.join("b.csv"), "id,x,y\n1,a,0\n2,c,0\n3,d,1\n").unwrap();
    let p = project.to_str().unwrap();
    let o =
        runlens(&dir.path().join("data"), &["data", "diff", p, "a.csv", "b.csv", "--key", "id", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let d: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "a",
            "b",
            "changed_cells",
            "columns_added",
            "columns_removed",
            "columns_retyped",
            "files",
            "key",
            "kind",
            "rows_added",
            "rows_changed",
            "rows_removed",
            "warnings"
        ]
    );
    assert_eq!(d["columns_added"], serde_json::json!(["y"]));
    assert_eq!((d["rows_added"].as_u64(), d["rows_changed"].as_u64()), (Some(1), Some(1)));
    assert_eq!(d["changed_cells"][0], serde_json::json!({"key": 2, "column": "x", "a": "b", "b": "c"}));
    let same = runlens(&dir.path().join("data"), &["data", "diff", p, "a.csv", "a.csv"]);
    assert_eq!(same.status.code(), Some(0));
    let bad = runlens(&dir.path().join("data"), &["data", "diff", p, "a.csv", "missing.csv"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// `runlens data drift PROJECT --reference PATH[@REV] FILE... [--rules runlens|evidently] --format
/// json`: per FILE `{"columns", "share_drifted", "drift"}` (an array for several FILEs), each
/// column's fields exactly, null where they do not apply, non-finite numbers as strings, and the
/// exit status of diff(1): 0 no drift, 1 drift, 2 trouble.
#[test]
fn data_drift_follows_the_contract() {
    let s = Scratch::new();
    let small = fixture("drift_rules/small");
    let p = small.to_str().unwrap();
    let current = small.join("current.csv");
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let column_keys = [
        "chi2",
        "drift",
        "js",
        "ks",
        "method",
        "name",
        "null_share",
        "psi",
        "type",
        "wasserstein",
        "wasserstein_norm",
        "z",
    ];
    for rules in ["runlens", "evidently"] {
        let o = runlens(
            &s.data(),
            &[
                "data",
                "drift",
                p,
                "--reference",
                "reference.csv",
                current.to_str().unwrap(),
                "--rules",
                rules,
                "--format",
                "json",
            ],
        );
        assert_eq!(o.status.code(), Some(1), "{rules}: {}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(keys(&v), ["columns", "drift", "share_drifted"]);
        assert_eq!(v["drift"], true);
        let cols = v["columns"].as_array().unwrap();
        assert_eq!(cols.len(), 10);
        for c in cols {
            assert_eq!(keys(c), column_keys, "{rules}");
            assert_eq!(keys(&c["null_share"]), ["current", "reference"]);
            assert!(c["drift"].is_boolean());
        }
        let col = |name: &str| cols.iter().find(|c| c["name"] == name).unwrap();
        let x = col("x_shift");
        assert_eq!(x["type"], "float");
        assert_eq!(x["method"], "ks");
        assert_eq!(keys(&x["ks"]), ["p_value", "statistic"]);
        assert!(x["wasserstein"].is_number() && x["wasserstein_norm"].is_number() && x["psi"].is_number());
        assert!(x["chi2"].is_null() && x["z"].is_null(), "fields that do not apply are null");
        let plan = col("plan");
        assert_eq!(plan["type"], "string");
        assert!(plan["ks"].is_null() && plan["wasserstein"].is_null() && plan["z"].is_null());
        assert_eq!(keys(&plan["chi2"]), ["p_value", "statistic"]);
        let yesno = col("yesno");
        assert_eq!(keys(&yesno["z"]), ["p_value", "statistic"], "two values: the z test");
        let noisy = col("noisy");
        assert!(noisy["null_share"]["current"].as_f64().unwrap() > noisy["null_share"]["reference"].as_f64().unwrap());
        if rules == "evidently" {
            // A category new in the current: Evidently's chi-squared statistic is infinite.
            assert_eq!(plan["chi2"]["statistic"], "Infinity", "non-finite numbers are strings");
            assert_eq!(plan["method"], "chisquare");
        } else {
            assert_eq!(plan["method"], "chi2_contingency");
        }
    }
    // Several FILEs: an array, one report each, in order.
    let o = runlens(
        &s.data(),
        &["data", "drift", p, "--reference", "reference.csv", "reference.csv", "current.csv", "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!((&v[0]["drift"], &v[1]["drift"]), (&Value::Bool(false), &Value::Bool(true)));
    // No drift: 0. Trouble: 2 and a one-line error.
    let o = runlens(&s.data(), &["data", "drift", p, "--reference", "reference.csv", "reference.csv"]);
    assert_eq!(o.status.code(), Some(0));
    let o = runlens(&s.data(), &["data", "drift", p, "--reference", "reference.csv", "missing.csv"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with("error: ") && err.trim_end().lines().count() == 1, "{err}");
}
