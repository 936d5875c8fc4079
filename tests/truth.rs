//! The index against the ground truth that the tools' own readers computed (tests/fixtures/*/truth.json):
//! every run, param, tag, metric summary and full series.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::*;

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                flatten(&if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, v, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.into(), s.clone());
        }
        other => {
            out.insert(prefix.into(), other.to_string());
        }
    }
}

fn str_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default()
}

fn check_metric(what: &str, index: &runlens_core::Index, run: &runlens_core::RunRow, key: &str, stats: &Value) {
    let m = run.metrics.get(key).unwrap_or_else(|| panic!("{what}: metric {key} missing"));
    assert_eq!(m.count, stats["count"].as_u64().unwrap(), "{what} {key}: count");
    assert!(same(m.last, tnum(&stats["last"]["value"])), "{what} {key}: last {} vs {}", m.last, stats["last"]["value"]);
    assert_eq!(m.last_step, stats["last"]["step"].as_i64().unwrap(), "{what} {key}: last step");
    assert_eq!(m.first_step, stats["first"]["step"].as_i64().unwrap(), "{what} {key}: first step");
    assert_eq!(m.min, stats["min"].as_f64(), "{what} {key}: min");
    assert_eq!(m.max, stats["max"].as_f64(), "{what} {key}: max");
    let series = index.series(run.uid, key).unwrap();
    assert_series(&format!("{what} {key}"), &series, &stats["series"]);
}

fn check_mlflow(section: &str) {
    let s = Scratch::new();
    let project = fixture("p3");
    let truth = read_json(&project.join("truth.json"));
    let (index, report) = open_and_scan(&s.data(), &project);
    let t = &truth[section];
    let exps: BTreeMap<String, String> = t["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["experiment_id"].as_str().unwrap().to_string(), e["name"].as_str().unwrap().to_string()))
        .collect();
    let source = if section == "mlflow" { "mlflow" } else { "mlflow-db" };
    let truth_runs = t["runs"].as_array().unwrap();
    assert_eq!(report.runs_by_source.get(source).copied(), Some(truth_runs.len()), "{section}: run count");
    for tr in truth_runs {
        let path = tr["run_dir"].as_str().unwrap();
        let what = format!("{section} {path}");
        let detail = index.run_detail(path).unwrap_or_else(|e| panic!("{what}: {e}"));
        let run = &detail.run;
        assert_eq!(run.path, path);
        assert_eq!(run.source, source);
        assert_eq!(run.id, tr["run_id"].as_str().unwrap(), "{what}: id");
        assert_eq!(run.name.as_deref(), tr["run_name"].as_str(), "{what}: name");
        assert_eq!(
            run.status.as_deref(),
            Some(tr["status"].as_str().unwrap().to_ascii_lowercase().as_str()),
            "{what}: status"
        );
        assert_eq!(run.start_time, tr["start_time"].as_i64(), "{what}: start");
        assert_eq!(run.end_time, tr["end_time"].as_i64(), "{what}: end");
        assert_eq!(run.parent_id.as_deref(), tr["parent_run_id"].as_str(), "{what}: parent");
        assert_eq!(run.deleted, tr["lifecycle_stage"] == "deleted", "{what}: deleted");
        assert_eq!(
            run.experiment.as_deref(),
            exps.get(tr["experiment_id"].as_str().unwrap()).map(String::as_str),
            "{what}: experiment"
        );
        assert_eq!(run.params, str_map(&tr["params"]), "{what}: params");
        assert_eq!(run.tags, str_map(&tr["tags"]), "{what}: tags");
        let tm = tr["metrics"].as_object().unwrap();
        assert_eq!(run.metrics.keys().collect::<Vec<_>>(), tm.keys().collect::<Vec<_>>(), "{what}: metric keys");
        for (key, stats) in tm {
            let stats = stats.get("if_dblmax_read_as_inf").unwrap_or(stats);
            check_metric(&what, &index, run, key, stats);
        }
        let arts: Vec<(String, u64)> = detail.artifacts.iter().map(|a| (a.path.clone(), a.size)).collect();
        let tarts: Vec<(String, u64)> = tr["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["path"].as_str().unwrap().into(), a["size"].as_u64().unwrap()))
            .collect();
        assert_eq!(arts, tarts, "{what}: artifacts");
        let inputs: Vec<(String, String, String, String, BTreeMap<String, String>)> = detail
            .inputs
            .iter()
            .map(|i| (i.name.clone(), i.digest.clone(), i.source_type.clone(), i.source.clone(), i.tags.clone()))
            .collect();
        let tinputs: Vec<(String, String, String, String, BTreeMap<String, String>)> = tr["dataset_inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["name"].as_str().unwrap().into(),
                    i["digest"].as_str().unwrap().into(),
                    i["source_type"].as_str().unwrap().into(),
                    i["source"].as_str().unwrap().into(),
                    str_map(&i["tags"]),
                )
            })
            .collect();
        assert_eq!(inputs, tinputs, "{what}: dataset inputs");
        let models: Vec<(String, Option<i64>)> = detail.models.iter().map(|m| (m.model_id.clone(), m.step)).collect();
        let tmodels: Vec<(String, Option<i64>)> = tr["model_outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["model_id"].as_str().unwrap().into(), m["step"].as_i64()))
            .collect();
        assert_eq!(models, tmodels, "{what}: logged models");
        for m in &detail.models {
            assert!(m.files.iter().any(|f| f.path == "MLmodel"), "{what}: model {} lists its MLmodel", m.model_id);
            assert!(
                m.flavors.iter().any(|f| f == "python_function"),
                "{what}: model {} flavors {:?}",
                m.model_id,
                m.flavors
            );
        }
    }
}

#[test]
fn mlflow_file_store_equals_mlflow() {
    check_mlflow("mlflow");
}

#[test]
fn mlflow_sqlite_store_equals_mlflow() {
    check_mlflow("mlflow_db");
}

#[test]
fn lightning_csv_equals_truth() {
    let s = Scratch::new();
    let project = fixture("p3");
    let truth = read_json(&project.join("truth.json"));
    let (index, _) = open_and_scan(&s.data(), &project);
    let versions = truth["lightning"].as_object().unwrap();
    assert!(versions.len() >= 2);
    for (v, t) in versions {
        let path = t["path"].as_str().unwrap();
        let run = index.find_run(path).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(run.source, "lightning");
        assert_eq!(run.id, path);
        assert_eq!(run.name.as_deref(), Some(v.as_str()));
        let mut params = BTreeMap::new();
        flatten("", &t["hparams"], &mut params);
        assert_eq!(run.params, params, "{v}: hparams");
        let tm = t["metrics"].as_object().unwrap();
        assert_eq!(
            run.metrics.keys().collect::<Vec<_>>(),
            tm.keys().collect::<Vec<_>>(),
            "{v}: metric keys (epoch is not a metric)"
        );
        for (key, stats) in tm {
            check_metric(v, &index, &run, key, stats);
        }
    }
}

#[test]
fn keras_csv_equals_truth() {
    let s = Scratch::new();
    let project = fixture("keras");
    let truth = read_json(&project.join("truth.json"));
    let (index, report) = open_and_scan(&s.data(), &project);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    for (file, t) in truth.as_object().unwrap().iter().filter(|(k, _)| !k.starts_with('_')) {
        let run = index.find_run(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(run.source, "keras", "{file}");
        let tm = t["metrics"].as_object().unwrap();
        let logged: Vec<&String> = tm.iter().filter(|(_, m)| m["count"].as_u64() != Some(0)).map(|(k, _)| k).collect();
        assert_eq!(
            run.metrics.keys().collect::<Vec<_>>(),
            logged,
            "{file}: metric keys (all-NA columns were never logged)"
        );
        for key in logged {
            check_metric(file, &index, &run, key, &tm[key]);
        }
    }
}

/// Keras's CSVLogger writes whatever name it is given (its docs use `training.log`): a file of any
/// name starting with a Keras header is a Keras run, and the run is the file. A CSV whose header
/// starts with `epoch` but pads its names (YOLOv5's results.csv) is a plain CSV log, keys trimmed.
#[test]
fn keras_logs_of_any_name_and_padded_csv_headers() {
    let s = Scratch::new();
    let project = s.project();
    let history = std::fs::read(fixture("keras/history.csv")).unwrap();
    std::fs::write(project.join("training.log"), &history).unwrap();
    std::fs::create_dir_all(project.join("logs")).unwrap();
    std::fs::write(project.join("logs/fit.txt"), &history).unwrap();
    std::fs::write(project.join("notes.txt"), "epoch 1 went well, epoch 2 less so\n").unwrap();
    std::fs::write(project.join("stdout.log"), "INFO epoch=1 loss=0.5\n").unwrap();
    std::fs::write(
        project.join("results.csv"),
        "               epoch,      train/box_loss,      metrics/mAP_0.5\n                   0,            0.11,        0.25\n                   1,            0.09,        0.5\n",
    )
    .unwrap();
    let (index, report) = open_and_scan(&s.data(), &project);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    let keys = ["accuracy", "loss", "val_accuracy", "val_loss"];
    for file in ["training.log", "logs/fit.txt"] {
        let run = index.find_run(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!((run.source.as_str(), run.path.as_str()), ("keras", file));
        assert_eq!(run.metrics.keys().map(String::as_str).collect::<Vec<_>>(), keys);
    }
    let yolo = index.find_run("results.csv").unwrap();
    assert_eq!(yolo.source, "csv");
    assert_eq!(yolo.metrics.keys().map(String::as_str).collect::<Vec<_>>(), ["metrics/mAP_0.5", "train/box_loss"]);
    assert_eq!(yolo.metrics["metrics/mAP_0.5"].last, 0.5);
    assert_eq!(report.runs, 3, "notes.txt and stdout.log are not runs");
}

/// Lightning's metrics.csv is read by Lightning's rules wherever it lies: in `version_N`, beside
/// hparams.yaml, or alone in any folder (as in a Hydra job): `epoch` is never a metric.
#[test]
fn lightning_metrics_csv_follows_one_rule_everywhere() {
    let s = Scratch::new();
    let project = s.project();
    let csv = "epoch,loss,step\n0,0.5,0\n0,0.4,1\n1,0.3,2\n";
    for dir in ["lightning_logs/version_0", "with_hparams", "alone", "job/.hydra"] {
        std::fs::create_dir_all(project.join(dir)).unwrap();
    }
    std::fs::write(project.join("lightning_logs/version_0/metrics.csv"), csv).unwrap();
    std::fs::write(project.join("with_hparams/metrics.csv"), csv).unwrap();
    std::fs::write(project.join("with_hparams/hparams.yaml"), "{}\n").unwrap();
    std::fs::write(project.join("alone/metrics.csv"), csv).unwrap();
    std::fs::write(project.join("job/.hydra/config.yaml"), "lr: 0.1\n").unwrap();
    std::fs::write(project.join("job/metrics.csv"), csv).unwrap();
    let (index, report) = open_and_scan(&s.data(), &project);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    for path in ["lightning_logs/version_0", "with_hparams", "alone/metrics.csv", "job"] {
        let run = index.find_run(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(run.metrics.keys().collect::<Vec<_>>(), ["loss"], "{path}");
        assert_eq!(run.metrics["loss"].count, 3, "{path}");
        assert!(!run.params.contains_key(""), "{path}: `{{}}` is no params");
    }
}

/// Runs logged through `mlflow server` name their artifacts `mlflow-artifacts:/...`; the server's
/// default store is `mlartifacts/` beside `mlruns/` or `mlflow.db`. Found there: listed, no
/// warning. Not there: one warning for the store, not one per run.
#[test]
fn mlflow_server_artifacts_are_found_in_mlartifacts() {
    let s = Scratch::new();
    let project = s.project();
    // The file store.
    std::fs::create_dir_all(project.join("mlruns/1")).unwrap();
    std::fs::write(
        project.join("mlruns/1/meta.yaml"),
        "artifact_location: mlflow-artifacts:/1\nexperiment_id: '1'\nlifecycle_stage: active\nname: served\n",
    )
    .unwrap();
    for id in ["r1", "r2"] {
        let run = project.join("mlruns/1").join(id);
        std::fs::create_dir_all(run.join("metrics")).unwrap();
        std::fs::write(
            run.join("meta.yaml"),
            format!("artifact_uri: mlflow-artifacts:/1/{id}/artifacts\nexperiment_id: '1'\nlifecycle_stage: active\nrun_id: {id}\nstart_time: 1\nstatus: 3\n"),
        )
        .unwrap();
        std::fs::create_dir_all(project.join(format!("mlartifacts/1/{id}/artifacts"))).unwrap();
        std::fs::write(project.join(format!("mlartifacts/1/{id}/artifacts/model.txt")), id).unwrap();
    }
    // mlflow.db: p3's, its artifact URIs turned into the server's form.
    std::fs::copy(fixture("p3/mlflow.db"), project.join("mlflow.db")).unwrap();
    copy_dir(&fixture("p3/mlartifacts"), &project.join("mlartifacts"));
    let db = rusqlite::Connection::open(project.join("mlflow.db")).unwrap();
    let n = db
        .execute(
            "UPDATE runs SET artifact_uri = replace(artifact_uri, 'file:///scratch/jobs/p3/mlartifacts/', 'mlflow-artifacts:/')",
            [],
        )
        .unwrap();
    assert!(n > 0);
    drop(db);
    let (index, report) = open_and_scan(&s.data(), &project);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    for id in ["r1", "r2"] {
        let d = index.run_detail(id).unwrap();
        assert_eq!(d.artifacts.iter().map(|a| a.path.as_str()).collect::<Vec<_>>(), ["model.txt"], "{id}");
    }
    let with_files = all_runs(&index)
        .into_iter()
        .filter(|r| r.source == "mlflow-db")
        .filter(|r| !index.run_detail(&r.path).unwrap().artifacts.is_empty())
        .count();
    assert!(with_files > 0, "the database's runs find their artifacts too");
    // Without mlartifacts/: one warning per store.
    std::fs::remove_dir_all(project.join("mlartifacts")).unwrap();
    let (_, report) = open_and_scan(&Scratch::new().data(), &project);
    let msgs: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
    assert_eq!(msgs.len(), 2, "one for the file store's experiment, one for mlflow.db: {msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("experiment served") && m.contains("no mlartifacts/ folder")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("mlflow.db") && m.contains("no mlartifacts/ folder")), "{msgs:?}");
}

#[test]
fn p3_holds_exactly_the_expected_runs() {
    let s = Scratch::new();
    let project = fixture("p3");
    let (index, report) = open_and_scan(&s.data(), &project);
    // MLflow 8 + 8, two Lightning versions, the DVC pipeline's params.yaml and metrics.json (a run
    // of its own: no DVCLive folder), DVC's plots/loss.csv (a Keras-format log), and three
    // TensorBoard runs (their add_hparams subfolders belong to them). data/train.csv has no step
    // column: not a log. The truncated event file of tb/run_c is not an error.
    let by: Vec<(String, usize)> = report.runs_by_source.clone().into_iter().collect();
    assert_eq!(
        by,
        vec![
            ("dvc".into(), 1),
            ("keras".into(), 1),
            ("lightning".into(), 2),
            ("mlflow".into(), 8),
            ("mlflow-db".into(), 8),
            ("tensorboard".into(), 3)
        ]
    );
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    let visible = index.runs(&runlens_core::RunQuery::default()).unwrap();
    assert_eq!(visible.len(), 21, "deleted runs are hidden by default");
}

/// An mlflow.db from a schema revision Runlens has not seen still reads, with one warning; the
/// database file is opened read-only and left exactly as it was.
#[test]
fn mlflow_db_of_an_unknown_revision_reads_with_a_warning_and_is_not_touched() {
    let s = Scratch::new();
    let project = s.project();
    std::fs::copy(fixture("p3/mlflow.db"), project.join("mlflow.db")).unwrap();
    {
        let c = rusqlite::Connection::open(project.join("mlflow.db")).unwrap();
        c.execute_batch(
            "UPDATE alembic_version SET version_num = 'ffffffffffff';
             ALTER TABLE runs ADD COLUMN future_column TEXT;
             ALTER TABLE runs DROP COLUMN source_version;",
        )
        .unwrap();
    }
    let before = std::fs::read(project.join("mlflow.db")).unwrap();
    let listing = |p: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(p).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
    };
    let files_before = listing(&project);
    let (index, report) = open_and_scan(&s.data(), &project);
    assert_eq!(report.runs_by_source.get("mlflow-db"), Some(&8));
    let msgs: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(msgs[0].starts_with("mlflow.db: unknown MLflow schema revision ffffffffffff"), "{msgs:?}");
    let truth = read_json(&fixture("p3/truth.json"));
    let first = &truth["mlflow_db"]["runs"][0];
    let run = index.find_run(first["run_id"].as_str().unwrap()).unwrap();
    assert_eq!(run.params, str_map(&first["params"]));
    assert_eq!(std::fs::read(project.join("mlflow.db")).unwrap(), before, "the database is unchanged");
    assert_eq!(listing(&project), files_before, "no journal or WAL file was left beside it");
}
