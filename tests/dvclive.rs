//! DVCLive folders and DVC pipelines' params and metrics (tests/fixtures/dvclive, written by
//! dvclive 3.49.1 under `dvc repro`; tests/fixtures/p3, a DVC pipeline without DVCLive), against
//! their truth.json; appends read incrementally; broken files.

use runlens_core::{Index, RunRow};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::common::*;

/// Flattens nested JSON numbers with `sep`, as truth.json's own `flat` maps do.
fn flatten(prefix: &str, v: &Value, sep: &str, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}{sep}{k}") };
                flatten(&key, v, sep, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

fn points(index: &Index, run: &RunRow, key: &str) -> Vec<(i64, f64, f64)> {
    index.series(run.uid, key).unwrap().iter().map(|p| (p.step, p.value, p.ts)).collect()
}

/// The DVCLive run of tests/fixtures/dvclive (or a copy of it) against truth.json.
fn check_live_run(index: &Index, truth: &Value) {
    let run = index.find_run("dvclive").unwrap();
    assert_eq!(run.source, "dvclive");
    assert_eq!(run.id, "dvclive");

    // Params: DVCLive's, then the pipeline's params.yaml for keys DVCLive does not have.
    let mut want: BTreeMap<String, String> =
        truth["params"]["flat"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), param_text(v))).collect();
    for (k, v) in truth["dvc"]["params_flat"].as_object().unwrap() {
        want.entry(k.clone()).or_insert_with(|| param_text(v));
    }
    assert_eq!(run.params, want);
    assert_eq!(run.params["run_name"], "baseline");
    assert_eq!(run.params["optim.betas"], "[0.9,0.999]");

    // Every TSV point, with its time where the file has one.
    let metrics = truth["metrics"].as_object().unwrap();
    for (key, m) in metrics {
        let got = points(index, &run, key);
        let s = &m["series"];
        let steps = s["step"].as_array().unwrap();
        let values = s["value"].as_array().unwrap();
        assert_eq!(got.len(), steps.len(), "{key}: points");
        assert_eq!(got.len() as u64, m["count"].as_u64().unwrap(), "{key}: count");
        for (i, (step, value, ts)) in got.iter().enumerate() {
            assert_eq!(*step, steps[i].as_i64().unwrap(), "{key}: step of point {i}");
            assert_eq!(*value, values[i].as_f64().unwrap(), "{key}: value of point {i}");
            match s.get("timestamp") {
                Some(t) => assert_eq!(*ts, t[i].as_f64().unwrap(), "{key}: time of point {i}"),
                None => assert!(ts.is_nan(), "{key}: point {i} has no time"),
            }
        }
        let summary = &run.metrics[key];
        assert_eq!((summary.min, summary.max), (m["min"].as_f64(), m["max"].as_f64()), "{key}");
    }
    assert!(metrics["acc"]["has_timestamp"].as_bool().unwrap(), "the fixture has a timed metric");

    // Summary values without a TSV: one point at the summary's step. Then the pipeline's
    // metrics.json (nested names joined with "/") for names DVCLive does not have.
    let summary = truth["summary"]["flat"].as_object().unwrap();
    let step = summary["step"].as_i64().unwrap();
    let mut single: BTreeMap<String, f64> = BTreeMap::new();
    for k in truth["summary_only_metrics"].as_array().unwrap() {
        let k = k.as_str().unwrap();
        single.insert(k.to_string(), summary[k].as_f64().unwrap());
    }
    let mut pipeline = BTreeMap::new();
    flatten("", &read_json(&fixture("dvclive/metrics.json")), "/", &mut pipeline);
    let dotted: Vec<String> = truth["dvc"]["metrics_flat"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        dotted.iter().map(|k| k.replace('.', "/")).collect::<Vec<_>>(),
        pipeline.keys().cloned().collect::<Vec<_>>()
    );
    for (k, v) in &pipeline {
        if !summary.contains_key(k) {
            single.insert(k.clone(), v.as_f64().unwrap());
        }
    }
    assert_eq!(single.keys().collect::<Vec<_>>(), vec!["best_acc", "epochs", "test/acc"]);
    for (k, v) in &single {
        let got = points(index, &run, k);
        assert_eq!(got.len(), 1, "{k}");
        assert_eq!((got[0].0, got[0].1), (step, *v), "{k}");
        assert!(got[0].2.is_nan(), "{k}: no time");
    }
    let mut keys: Vec<&String> = metrics.keys().chain(single.keys()).collect();
    keys.sort();
    assert_eq!(run.metrics.keys().collect::<Vec<_>>(), keys, "every metric once, nothing else");
}

#[test]
fn a_dvclive_folder_is_one_run_equal_to_the_truth() {
    let s = Scratch::new();
    let project = fixture("dvclive");
    let truth = read_json(&project.join("truth.json"));
    let (index, report) = open_and_scan(&s.data(), &project);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    // One run: the TSVs are not CSV logs of their own, the pipeline's files are part of it.
    let by: Vec<(String, usize)> = report.runs_by_source.into_iter().collect();
    assert_eq!(by, vec![("dvclive".to_string(), 1)]);
    check_live_run(&index, &truth);
    // The fixture's own folder is named `dvclive` too: a DVC project, not a DVCLive folder.
    assert_eq!(index.find_run("dvclive").unwrap().name.as_deref(), Some("dvclive"));
}

#[test]
fn a_dvc_pipeline_without_dvclive_is_a_run_of_its_own() {
    let s = Scratch::new();
    let project = fixture("p3");
    let truth = read_json(&project.join("truth.json"));
    let (index, _) = open_and_scan(&s.data(), &project);
    let run = index.find_run("dvc.yaml").unwrap();
    assert_eq!((run.source.as_str(), run.name.as_deref()), ("dvc", Some("p3")));
    // The working tree's params.yaml and metrics.json are those of the last commit.
    let last = truth["dvc"]["commits"].as_array().unwrap().last().unwrap();
    let mut params = BTreeMap::new();
    flatten("", &last["params"], ".", &mut params);
    let want: BTreeMap<String, String> = params.iter().map(|(k, v)| (k.clone(), param_text(v))).collect();
    assert_eq!(run.params, want);
    let mut metrics = BTreeMap::new();
    flatten("", &last["metrics"], "/", &mut metrics);
    assert_eq!(run.metrics.keys().collect::<Vec<_>>(), metrics.keys().collect::<Vec<_>>());
    for (k, v) in &metrics {
        let got = points(&index, &run, k);
        assert_eq!(got.len(), 1, "{k}");
        assert_eq!((got[0].0, got[0].1), (0, v.as_f64().unwrap()), "{k}: one point at step 0");
    }
}

fn live_copy(s: &Scratch) -> std::path::PathBuf {
    let project = s.project();
    copy_dir(&fixture("dvclive"), &project);
    project
}

/// DVCLive appends a row per step to each TSV: a rescan reads only the new rows.
#[test]
fn appended_rows_are_read_incrementally_and_equal_a_fresh_index() {
    let s = Scratch::new();
    let project = live_copy(&s);
    let truth = read_json(&project.join("truth.json"));
    let plots = project.join("dvclive/plots/metrics");
    let (mut index, first) = open_and_scan(&s.data(), &project);
    assert_eq!(first.points, 213);
    let again = scan(&mut index);
    assert_eq!((again.units_read, again.points), (0, 0), "nothing changed, nothing read");

    append(&plots.join("train/loss.tsv"), "100\t0.15\n");
    let r = scan(&mut index);
    assert_eq!((r.units_read, r.points), (1, 1), "only the new row is read");
    let run = index.find_run("dvclive").unwrap();
    assert_eq!(run.metrics["train/loss"].count, 101);
    assert_eq!(points(&index, &run, "train/loss").last().unwrap().0, 100);
    append(&plots.join("acc.tsv"), "1795790702000\t100\t0.95\n");
    assert_eq!(scan(&mut index).points, 1);
    let acc = points(&index, &index.find_run("dvclive").unwrap(), "acc");
    assert_eq!(*acc.last().unwrap(), (100, 0.95, 1795790702000.0));
    assert_eq!(dump(&index), fresh_dump(&project));

    // A summary-only value that gets its own TSV is read from the TSV only: never twice.
    std::fs::write(plots.join("best_acc.tsv"), "step\tbest_acc\n0\t0.5\n1\t0.6\n").unwrap();
    scan(&mut index);
    let run = index.find_run("dvclive").unwrap();
    let best: Vec<(i64, f64)> = points(&index, &run, "best_acc").iter().map(|p| (p.0, p.1)).collect();
    assert_eq!(best, vec![(0, 0.5), (1, 0.6)]);
    assert_eq!(dump(&index), fresh_dump(&project));
    // ... and back to the summary when the TSV goes.
    std::fs::remove_file(plots.join("best_acc.tsv")).unwrap();
    scan(&mut index);
    let run = index.find_run("dvclive").unwrap();
    let best: Vec<(i64, f64)> = points(&index, &run, "best_acc").iter().map(|p| (p.0, p.1)).collect();
    assert_eq!(best, vec![(99, truth["summary"]["flat"]["best_acc"].as_f64().unwrap())]);
    assert_eq!(dump(&index), fresh_dump(&project));

    // The DVCLive folder removed: the pipeline's params and metrics become a run of their own.
    std::fs::remove_dir_all(project.join("dvclive")).unwrap();
    scan(&mut index);
    let runs: Vec<(String, String)> = all_runs(&index).into_iter().map(|r| (r.path, r.source)).collect();
    assert_eq!(runs, vec![("dvc.yaml".to_string(), "dvc".to_string())]);
    let run = index.find_run("dvc.yaml").unwrap();
    assert_eq!(run.metrics.keys().collect::<Vec<_>>(), vec!["best_acc", "epochs", "test/acc"]);
    assert_eq!(run.metrics["epochs"].last_step, 0);
    assert_eq!(dump(&index), fresh_dump(&project));
}

#[test]
fn a_dvclive_folder_of_another_name_is_found() {
    let s = Scratch::new();
    let project = s.project();
    let live = project.join("results/live");
    std::fs::create_dir_all(live.join("plots/metrics/eval")).unwrap();
    std::fs::write(live.join("metrics.json"), "{\"eval\": {\"f1\": 0.5}, \"step\": 1}").unwrap();
    std::fs::write(live.join("plots/metrics/eval/f1.tsv"), "step\tf1\n0\t0.25\n1\t0.5\n").unwrap();
    let (index, report) = open_and_scan(&s.data(), &project);
    let by: Vec<(String, usize)> = report.runs_by_source.into_iter().collect();
    assert_eq!(by, vec![("dvclive".to_string(), 1)]);
    let run = index.find_run("results/live").unwrap();
    assert_eq!(run.name.as_deref(), Some("live"));
    let f1: Vec<(i64, f64)> = points(&index, &run, "eval/f1").iter().map(|p| (p.0, p.1)).collect();
    assert_eq!(f1, vec![(0, 0.25), (1, 0.5)]);
    assert_eq!(run.metrics.len(), 1);
}

#[test]
fn broken_dvclive_files_give_diagnostics_naming_file_and_line() {
    let s = Scratch::new();
    let project = live_copy(&s);
    let plots = project.join("dvclive/plots/metrics");
    std::fs::write(project.join("dvclive/params.yaml"), "seed: [1, 2\n").unwrap();
    std::fs::write(project.join("dvclive/metrics.json"), "{\"acc\": 0.5,\n \"step\": }").unwrap();
    append(&plots.join("val/loss.tsv"), "109\tnot-a-number\n119\t0.2\n");
    std::fs::write(project.join("params.yaml"), b"seed: \xff\n").unwrap();
    let (index, report) = open_and_scan(&s.data(), &project);
    let msgs: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
    let has = |prefix: &str, text: &str| msgs.iter().any(|m| m.starts_with(prefix) && m.contains(text));
    assert!(has("dvclive/params.yaml: ", ""), "{msgs:#?}");
    assert!(has("dvclive/metrics.json: ", "line 2"), "{msgs:#?}");
    assert!(has("dvclive/plots/metrics/val/loss.tsv:12: ", "holds text"), "{msgs:#?}");
    assert!(has("params.yaml: ", "not valid UTF-8"), "{msgs:#?}");
    assert_eq!(msgs.len(), 4, "{msgs:#?}");
    // Everything else is read.
    let run = index.find_run("dvclive").unwrap();
    assert_eq!(run.metrics["train/loss"].count, 100);
    assert!(run.params.is_empty(), "both params files are unreadable");
    // Without a summary step, the pipeline's metrics sit at step 0.
    assert_eq!(run.metrics["epochs"].last_step, 0);
    assert_eq!(dump(&index), fresh_dump(&project));
}
