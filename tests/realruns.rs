//! The index against real run folders taken from public repositories (tests/fixtures/real/, see its
//! README.md): every run the tool's own reader found (truth.json) is a run here, with the same
//! params and, per metric, the same count, last value, last step, min and max.
//!
//! truth.json conventions (tools of /work/realruns): NaN/±inf are the strings "NaN"/"Infinity"/
//! "-Infinity"; min/max ignore NaN and are "NaN" when every point is NaN. Runlens's min/max are over
//! finite values only and None when there is none.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use runlens_core::{Index, MetricSummary, RunRow};
use serde_json::Value;

use crate::common::*;

fn real(name: &str) -> PathBuf {
    fixture(&format!("real/{name}"))
}

/// A min or max of truth.json as Runlens reports it: over finite values, None when there is none.
fn finite_extreme(what: &str, v: &Value) -> Option<f64> {
    match v {
        Value::Null => None,
        Value::String(s) if s == "NaN" => None, // every point was NaN
        other => {
            let x = tnum(other);
            // With an infinite point, truth's min/max (NaN skipped, inf kept) is not the finite
            // extreme Runlens keeps, and truth.json cannot tell what that is.
            assert!(x.is_finite(), "{what}: truth has an infinite extreme; compare series instead");
            Some(x)
        }
    }
}

fn check_summary(what: &str, m: &MetricSummary, t: &Value) {
    assert_eq!(m.count, t["count"].as_u64().unwrap(), "{what}: count");
    let last = tnum(&t["last"]);
    assert!(same(m.last, last), "{what}: last {} vs truth {}", m.last, t["last"]);
    assert_eq!(m.last_step, t["last_step"].as_i64().unwrap(), "{what}: last step");
    let (min, max) = (finite_extreme(what, &t["min"]), finite_extreme(what, &t["max"]));
    assert!(same_opt(m.min, min), "{what}: min {:?} vs truth {min:?}", m.min);
    assert!(same_opt(m.max, max), "{what}: max {:?} vs truth {max:?}", m.max);
}

fn same_opt(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// Every metric of truth `tm` (minus `skip`) against the run, and no other metric in the run.
fn check_metrics(what: &str, run: &RunRow, tm: &Value, skip: &[&str]) {
    let tm = tm.as_object().unwrap();
    let want: BTreeSet<&String> = tm.keys().filter(|k| !skip.contains(&k.as_str())).collect();
    assert_eq!(run.metrics.keys().collect::<BTreeSet<_>>(), want, "{what}: metric keys");
    for key in want {
        let m = run.metrics.get(key).unwrap_or_else(|| panic!("{what}: metric {key} missing"));
        check_summary(&format!("{what} {key}"), m, &tm[key]);
    }
}

fn str_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect())
        .unwrap_or_default()
}

/// The truth tools render YAML values with Python's `str()` (None, True, False); Runlens shows a
/// YAML value as its JSON text (null, true, false), as tests/truth.rs checks for hparams.yaml.
fn yaml_param_from_python_str(s: &str) -> String {
    match s {
        "None" => "null".into(),
        "True" => "true".into(),
        "False" => "false".into(),
        other => other.into(),
    }
}

fn paths(index: &Index) -> BTreeSet<String> {
    all_runs(index).into_iter().map(|r| r.path).collect()
}

/// Lightning CSVLogger (16 versions upstream, 4 kept): literal `nan` cells are points (whole columns
/// of them), min/max skip them, a first value of 1.6e24, `step,epoch,…` column order, `{}` hparams,
/// and version_10 beside version_2.
#[test]
fn genrisk_lightning_csv_nan_cells_are_points_and_match_pandas() {
    let s = Scratch::new();
    let project = real("genrisk-lightning-csv");
    let truth = read_json(&project.join("truth.json"));
    let (index, report) = open_and_scan(&s.data(), &project);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    let runs = truth["runs"].as_array().unwrap();
    // A version is a run: the folder of its metrics.csv.
    let want: BTreeSet<String> =
        runs.iter().map(|r| r["id"].as_str().unwrap().strip_suffix("/metrics.csv").unwrap().to_string()).collect();
    assert_eq!(paths(&index), want, "runs");
    for t in runs {
        let path = t["id"].as_str().unwrap().strip_suffix("/metrics.csv").unwrap();
        let run = index.find_run(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!((run.source.as_str(), run.path.as_str()), ("lightning", path));
        assert_eq!(run.params, str_map(&t["params"]), "{path}: params (hparams.yaml is `{{}}`)");
        // Runlens reads Lightning's metrics.csv by `step` and does not make `epoch` a metric
        // (README: "metrics by step (not epoch)"; tests/truth.rs asserts the same). pandas
        // reports every column but the step column, `epoch` included: skipped here.
        check_metrics(path, &run, &t["metrics"], &["epoch"]);
    }
}

/// Lightning TensorBoardLogger: a version with a fit and a test event file is one run (hp_metric
/// twice at step 0), and hparams.yaml holds `!!python/name:` (safe loaders refuse it) and nulls.
#[test]
fn packt_lightning_tensorboard_merges_fit_and_test_files_and_takes_hparams_yaml() {
    let s = Scratch::new();
    let project = real("packt-lightning-tensorboard");
    let truth = read_json(&project.join("truth.json"));
    let (index, report) = open_and_scan(&s.data(), &project);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    let runs = truth["runs"].as_array().unwrap();
    // A run is the folder holding the event files (truth: one run per directory, files merged).
    let want: BTreeSet<String> = runs.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(paths(&index), want, "runs");
    let mut wrong = Vec::new();
    for t in runs {
        let path = t["id"].as_str().unwrap();
        let run = index.find_run(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!((run.source.as_str(), run.path.as_str()), ("tensorboard", path));
        check_metrics(path, &run, &t["metrics"], &[]);
        // Params are hparams.yaml's values (what truth read). Python's `str()` renderings are
        // turned into Runlens's YAML rendering (`enable_ort: false` → "false", `loss_fn: null` →
        // "null"), as for a Lightning CSVLogger run: the same model's params must not read
        // differently by logger. `optimizer: !!python/name:torch.optim.adam.Adam ''` has no
        // canonical text (truth: the expanded tag; TensorBoard's hparams: "<class '…Adam'>"): it
        // must name the class. (The event files hold torch's lossy copy of these hparams: bools
        // as numbers 0/1, None as "None".)
        let mut want = BTreeMap::new();
        for (k, v) in t["params"].as_object().unwrap() {
            want.insert(k.clone(), yaml_param_from_python_str(v.as_str().unwrap()));
        }
        let optimizer = run.params.get("optimizer").cloned().unwrap_or_default();
        if !optimizer.contains("torch.optim.adam.Adam") {
            wrong.push(format!("{path}: optimizer = {optimizer:?}, should name torch.optim.adam.Adam"));
        }
        want.remove("optimizer");
        let keys: BTreeSet<&String> = run.params.keys().chain(want.keys()).filter(|k| *k != "optimizer").collect();
        for k in keys {
            if run.params.get(k) != want.get(k) {
                let raw = t["params"].get(k.as_str()).and_then(|v| v.as_str());
                wrong.push(format!(
                    "{path}: {k} = {:?}, want {:?} (truth.json {raw:?})",
                    run.params.get(k),
                    want.get(k)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "params differ from hparams.yaml:\n{}", wrong.join("\n"));
    let both = index.find_run("chapter01/lightning_logs/version_1").unwrap();
    assert_eq!(both.metrics["hp_metric"].count, 2, "fit and test file both log hp_metric at step 0");
    assert_eq!(both.metrics["test_accuracy"].last_step, 16875, "the test file's points are in the run");
}

/// One MLflow file store of truth.json (a tracking URI `file://<EXAMPLE>/project/<store>`) against
/// the index: every run is `<store>/<experiment id>/<run id>`, with name, experiment, status,
/// times, params, tags and metrics as MlflowClient reports them, and its artifacts listed from its
/// own `artifacts/` folder whatever stale location meta.yaml gives.
fn check_mlflow_store(index: &Index, project: &std::path::Path, store: &Value, wrong: &mut Vec<String>) -> usize {
    let uri = store["tracking_uri"].as_str().unwrap();
    let rel = uri.strip_prefix("file://<EXAMPLE>/project/").unwrap_or_else(|| panic!("tracking uri {uri}"));
    let mut n = 0;
    for e in store["experiments"].as_array().unwrap() {
        let exp_id = e["experiment_id"].as_str().unwrap();
        for t in e["runs"].as_array().unwrap() {
            n += 1;
            let id = t["run_id"].as_str().unwrap();
            let path = format!("{rel}/{exp_id}/{id}");
            let what = path.clone();
            let detail = index.run_detail(&path).unwrap_or_else(|err| panic!("{what}: {err}"));
            let run = &detail.run;
            assert_eq!((run.source.as_str(), run.path.as_str(), run.id.as_str()), ("mlflow", path.as_str(), id));
            // meta.yaml has `name: ''`: the name is the mlflow.runName tag, or none.
            assert_eq!(run.name.as_deref(), t["run_name"].as_str(), "{what}: name");
            assert_eq!(run.experiment.as_deref(), e["name"].as_str(), "{what}: experiment");
            assert_eq!(run.experiment_id.as_deref(), Some(exp_id), "{what}: experiment id");
            // meta.yaml has `status: 3` (an int): FINISHED.
            assert_eq!(
                run.status.as_deref(),
                Some(t["status"].as_str().unwrap().to_ascii_lowercase().as_str()),
                "{what}: status"
            );
            assert_eq!(run.start_time, t["start_time"].as_i64(), "{what}: start");
            assert_eq!(run.end_time, t["end_time"].as_i64(), "{what}: end");
            assert_eq!(run.deleted, t["lifecycle_stage"] == "deleted", "{what}: deleted");
            assert_eq!(run.params, str_map(&t["params"]), "{what}: params");
            assert_eq!(run.tags, str_map(&t["tags"]), "{what}: tags");
            check_metrics(&what, run, &t["metrics"], &[]);
            // Not in truth.json (MlflowClient only repeats the stale artifact_uri): the files are
            // in the run's own artifacts/ folder, and that is what a user must see.
            let dir = project.join(&path).join("artifacts");
            let mut on_disk = Vec::new();
            list_files(&dir, "", &mut on_disk);
            on_disk.sort();
            let listed: Vec<(String, u64)> = detail.artifacts.iter().map(|a| (a.path.clone(), a.size)).collect();
            if listed != on_disk {
                wrong.push(format!(
                    "{what}: artifacts {listed:?}, on disk {on_disk:?} (meta.yaml: {})",
                    t["artifact_uri"]
                ));
            }
        }
    }
    n
}

fn list_files(dir: &std::path::Path, prefix: &str, out: &mut Vec<(String, u64)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = format!("{prefix}{}", e.file_name().to_string_lossy());
        if e.file_type().unwrap().is_dir() {
            list_files(&e.path(), &format!("{name}/"), out);
        } else {
            out.push((name, e.metadata().unwrap().len()));
        }
    }
}

fn check_mlflow_example(name: &str) {
    let s = Scratch::new();
    let project = real(name);
    let truth = read_json(&project.join("truth.json"));
    let (index, report) = open_and_scan(&s.data(), &project);
    let (mut n, mut wrong) = (0, Vec::new());
    for store in truth["stores"].as_array().unwrap() {
        assert!(store.get("error").is_none(), "truth: {}", store["error"]);
        n += check_mlflow_store(&index, &project, store, &mut wrong);
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(report.runs_by_source.get("mlflow").copied(), Some(n), "{name}: MLflow runs");
    assert_eq!(report.runs, n, "{name}: no other runs");
    assert!(report.diagnostics.is_empty(), "{name}: {:?}", report.diagnostics);
}

/// MLflow 1.27 file store: stale `file:///home/bwin/…` artifact URIs, `name: ''` (the name is the
/// mlflow.runName tag), `status: 3`, Python-repr params; a second store (root `mlruns/`) holding
/// only experiment 0 with the relative artifact_location `./mlruns/0` and no run.
#[test]
fn packt_mlflow_file_store_with_stale_home_paths_equals_mlflow() {
    check_mlflow_example("packt-mlflow-filestore");
}

/// An MLflow store written in a container: no experiment 0, `file:///opt/mlflow/…` locations that
/// share no folder with the project's `chapter08/mlruns`, and a run without a metrics/ folder.
#[test]
fn packt_mlflow_container_store_without_experiment_0_equals_mlflow() {
    check_mlflow_example("packt-mlflow-stale-paths");
}

/// Keras CSVLogger `*.log` files: CRLF, `loss` NaN in all 354 rows (min/max none), a first value of
/// 2.6e34, old names (`acc`), and a 0-byte training.log.
#[test]
fn braincnn_keras_logs_with_crlf_and_an_all_nan_column_equal_pandas() {
    let s = Scratch::new();
    let project = real("braincnn-keras-csvlogger");
    let truth = read_json(&project.join("truth.json"));
    let (index, report) = open_and_scan(&s.data(), &project);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    let mut want = BTreeSet::new();
    for t in truth["runs"].as_array().unwrap() {
        let file = t["id"].as_str().unwrap();
        if t["bytes"] == 0 {
            // truth lists the 0-byte training.log only because its tool was pointed at `*.log`
            // (pandas itself fails: EmptyDataError). Without a header nothing says it is a Keras
            // log (Runlens must not take every empty *.log for a run): it is no run, and the scan
            // goes on without complaint.
            assert!(t["pandas_error"].as_str().unwrap().starts_with("EmptyDataError"));
            assert!(index.find_run(file).is_err(), "{file}: an empty file is not a run");
            continue;
        }
        want.insert(file.to_string());
        let run = index.find_run(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!((run.source.as_str(), run.path.as_str()), ("keras", file));
        assert!(run.params.is_empty(), "{file}: params {:?}", run.params);
        check_metrics(file, &run, &t["metrics"], &[]);
    }
    assert_eq!(paths(&index), want, "runs");
}
