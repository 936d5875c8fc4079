//! Sacred's FileStorageObserver (tests/fixtures/sacred, written by sacred 0.8.7) against its
//! truth.json; rewrites at heartbeats; broken files.

use std::path::Path;

use runlens_core::Index;
use serde_json::Value;

use crate::common::*;

/// An ISO 8601 naive-UTC time as milliseconds, computed apart from the reader: whole seconds by
/// SQLite's date functions, the fraction from the text.
fn utc_ms(iso: &str) -> f64 {
    let c = rusqlite::Connection::open_in_memory().unwrap();
    let secs: i64 = c.query_row("SELECT CAST(strftime('%s', ?1) AS INTEGER)", [iso], |r| r.get(0)).unwrap();
    let frac = iso.split_once('.').map_or(0.0, |(_, f)| format!("0.{f}").parse::<f64>().unwrap());
    secs as f64 * 1000.0 + frac * 1000.0
}

fn check_against_truth(index: &Index, project: &Path) {
    let truth = read_json(&project.join("truth.json"));
    let runs = truth["runs"].as_object().unwrap();
    for (path, t) in runs {
        let detail = index.run_detail(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let run = &detail.run;
        assert_eq!(run.source, "sacred", "{path}");
        assert_eq!(run.id, *path);
        let exp = t["experiment_name"].as_str().unwrap();
        assert_eq!(run.experiment.as_deref(), Some(exp), "{path}");
        assert_eq!(run.name, Some(format!("{exp} #{}", t["run_id"].as_str().unwrap())), "{path}");
        let status = match t["status"].as_str().unwrap() {
            "COMPLETED" => "finished",
            "FAILED" => "failed",
            other => panic!("the fixture has no {other} run"),
        };
        assert_eq!(run.status.as_deref(), Some(status), "{path}");
        assert_eq!(run.start_time, Some(utc_ms(t["start_time"].as_str().unwrap()).floor() as i64), "{path}: start");
        assert_eq!(run.end_time, Some(utc_ms(t["stop_time"].as_str().unwrap()).floor() as i64), "{path}: stop");

        // Params: config.json flattened with ".", seed included, lists and null as JSON text.
        let config = t["config"].as_object().unwrap();
        let want: Vec<(String, String)> = config.iter().map(|(k, v)| (k.clone(), param_text(v))).collect();
        let got: Vec<(String, String)> = run.params.clone().into_iter().collect();
        let mut want_sorted = want.clone();
        want_sorted.sort();
        assert_eq!(got, want_sorted, "{path}: params");
        assert_eq!(run.params["seed"], "42");
        assert_eq!(run.params["optim.betas"], "[0.9,0.999]");

        // Tags.
        assert_eq!(run.tags.get("sacred.command").map(String::as_str), t["command"].as_str(), "{path}");
        assert_eq!(run.tags.get("sacred.host").map(String::as_str), t["host"]["hostname"].as_str(), "{path}");
        match &t["result"] {
            Value::Null => assert!(!run.tags.contains_key("sacred.result"), "{path}"),
            r => assert_eq!(run.tags["sacred.result"], r.to_string(), "{path}"),
        }
        assert_eq!(run.tags.get("sacred.error").map(String::as_str), t["fail_trace_last_line"].as_str(), "{path}");

        // Every point of every metric: step, value and time.
        let metrics = t["metrics"].as_object().unwrap();
        assert_eq!(run.metrics.keys().collect::<Vec<_>>(), metrics.keys().collect::<Vec<_>>(), "{path}: metric keys");
        for (key, m) in metrics {
            let s = &run.metrics[key];
            assert_eq!(s.count, m["count"].as_u64().unwrap(), "{path} {key}");
            assert_eq!(s.last, m["last"]["value"].as_f64().unwrap(), "{path} {key}: last");
            assert_eq!(s.min, m["min"].as_f64(), "{path} {key}: min");
            assert_eq!(s.max, m["max"].as_f64(), "{path} {key}: max");
            let pts = index.series(run.uid, key).unwrap();
            let series = &m["series"];
            let (steps, values, stamps) = (
                series["step"].as_array().unwrap(),
                series["value"].as_array().unwrap(),
                series["timestamp"].as_array().unwrap(),
            );
            assert_eq!(pts.len(), steps.len(), "{path} {key}: points");
            for (i, p) in pts.iter().enumerate() {
                assert_eq!(p.step, steps[i].as_i64().unwrap(), "{path} {key}: step of point {i}");
                assert_eq!(p.value, values[i].as_f64().unwrap(), "{path} {key}: value of point {i}");
                let want = utc_ms(stamps[i].as_str().unwrap());
                assert!((p.ts - want).abs() < 1e-3, "{path} {key}: time of point {i}: {} vs {want}", p.ts);
            }
        }

        // The run folder's files are the run's files (cout.txt, the JSON files), with their sizes.
        let files: Vec<String> = t["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().into()).collect();
        let listed: Vec<String> = detail.artifacts.iter().map(|a| a.path.clone()).collect();
        assert_eq!(listed, files, "{path}: files");
        for a in &detail.artifacts {
            assert_eq!(a.size, std::fs::metadata(project.join(path).join(&a.path)).unwrap().len(), "{path}/{}", a.path);
        }
        assert_eq!(detail.artifact_dir.as_deref(), Some(path.as_str()));
    }
}

#[test]
fn sacred_runs_equal_the_files_sacred_wrote() {
    let s = Scratch::new();
    let project = fixture("sacred");
    let (index, report) = open_and_scan(&s.data(), &project);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    // Two runs and nothing else: `_sources` holds a copy of the source, not a run.
    let by: Vec<(String, usize)> = report.runs_by_source.into_iter().collect();
    assert_eq!(by, vec![("sacred".to_string(), 2)]);
    check_against_truth(&index, &project);
    let failed = index.run_detail("runs/2").unwrap();
    assert_eq!(failed.run.tags["sacred.error"], "RuntimeError: simulated divergence at step 50");
    assert_eq!(failed.run.metrics["train.loss"].count, 50, "the points logged before the failure");
    // cout.txt can be previewed, as a file of the run.
    let cout = index.read_artifact("runs/1", "runs/1/cout.txt").unwrap();
    assert!(String::from_utf8_lossy(&cout.bytes).starts_with("start: model=mlp"), "{cout:?}");
}

fn edit_json(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// Sacred rewrites run.json and metrics.json whole at every heartbeat: each rewrite replaces what
/// was read, nothing is duplicated, and unchanged runs are not read again.
#[test]
fn heartbeat_rewrites_replace_and_equal_a_fresh_index() {
    let s = Scratch::new();
    let project = s.project();
    copy_dir(&fixture("sacred"), &project);
    let run1 = project.join("runs/1");
    let (final_run, final_metrics) =
        (std::fs::read(run1.join("run.json")).unwrap(), std::fs::read(run1.join("metrics.json")).unwrap());
    // Mid-run: status RUNNING, no stop_time, the first 30 loss points and 3 accuracy points.
    edit_json(&run1.join("run.json"), |v| {
        v["status"] = "RUNNING".into();
        v.as_object_mut().unwrap().remove("stop_time");
        v["result"] = Value::Null;
    });
    edit_json(&run1.join("metrics.json"), |v| {
        for (_, m) in v.as_object_mut().unwrap() {
            let n = if m["steps"].as_array().unwrap().len() == 100 { 30 } else { 3 };
            for k in ["steps", "values", "timestamps"] {
                m[k].as_array_mut().unwrap().truncate(n);
            }
        }
    });
    let (mut index, _) = open_and_scan(&s.data(), &project);
    let r = index.find_run("runs/1").unwrap();
    assert_eq!((r.status.as_deref(), r.end_time), (Some("running"), None));
    assert_eq!((r.metrics["train.loss"].count, r.metrics["val.acc"].count), (30, 3));
    assert_eq!(dump(&index), fresh_dump(&project));

    let again = scan(&mut index);
    assert_eq!((again.units_read, again.points), (0, 0), "nothing changed, nothing read");

    // The last heartbeat and the end of the run.
    std::fs::write(run1.join("metrics.json"), &final_metrics).unwrap();
    std::fs::write(run1.join("run.json"), &final_run).unwrap();
    touch_later(&run1.join("metrics.json"));
    touch_later(&run1.join("run.json"));
    let r2 = scan(&mut index);
    assert_eq!(r2.units_read, 1, "only the changed run is read");
    assert_eq!(r2.points, 110, "metrics.json is read whole and replaces the series");
    check_against_truth(&index, &project);
    assert_eq!(dump(&index), fresh_dump(&project));

    // Only run.json changed (a heartbeat with no new metrics): metadata read, series kept.
    edit_json(&run1.join("run.json"), |v| v["meta"]["comment"] = "tuned".into());
    let r3 = scan(&mut index);
    assert_eq!((r3.units_read, r3.points), (1, 0));
    let r = index.find_run("runs/1").unwrap();
    assert_eq!(r.tags["sacred.comment"], "tuned");
    assert_eq!(r.metrics["train.loss"].count, 100);
    assert_eq!(dump(&index), fresh_dump(&project));

    // metrics.json removed: its series go; the run stays.
    std::fs::remove_file(run1.join("metrics.json")).unwrap();
    scan(&mut index);
    assert!(index.find_run("runs/1").unwrap().metrics.is_empty());
    assert_eq!(dump(&index), fresh_dump(&project));
}

#[test]
fn broken_sacred_files_give_diagnostics_not_failures() {
    let s = Scratch::new();
    let project = s.project();
    copy_dir(&fixture("sacred"), &project);
    let (run1, run2) = (project.join("runs/1"), project.join("runs/2"));
    // run 1: metrics.json cut mid-write, config.json not an object.
    let m = std::fs::read(run1.join("metrics.json")).unwrap();
    std::fs::write(run1.join("metrics.json"), &m[..m.len() / 2]).unwrap();
    std::fs::write(run1.join("config.json"), "[1, 2]").unwrap();
    // run 2: an unknown status, a bad time, bare NaN values (as Python's json writes them),
    // arrays of different lengths, and a value that is not a number.
    edit_json(&run2.join("run.json"), |v| {
        v["status"] = "PAUSED".into();
        v["start_time"] = "yesterday".into();
    });
    std::fs::write(
        run2.join("metrics.json"),
        r#"{"loss": {"steps": [0, 1, 2, 3], "values": [NaN, Infinity, "x", 1.5], "timestamps": ["2026-01-01T00:00:00", "2026-01-01T00:00:01", "2026-01-01T00:00:02", "2026-01-01T00:00:03"]},
 "acc": {"steps": [0, 1, 2], "values": [0.5, 0.6], "timestamps": []}}"#,
    )
    .unwrap();
    // A third run whose run.json is not JSON, and a CSV log among the copied sources.
    std::fs::create_dir_all(project.join("runs/3")).unwrap();
    std::fs::write(project.join("runs/3/run.json"), "{\"status\": \"COMPLETED\",\n oops").unwrap();
    std::fs::write(project.join("runs/3/config.json"), "{}").unwrap();
    std::fs::write(project.join("runs/_sources/log.csv"), "step,loss\n0,1.0\n").unwrap();
    std::fs::create_dir_all(project.join("runs/_resources")).unwrap();
    std::fs::write(project.join("runs/_resources/data.csv"), "step,x\n0,1.0\n").unwrap();

    let (index, report) = open_and_scan(&s.data(), &project);
    let by: Vec<(String, usize)> = report.runs_by_source.into_iter().collect();
    assert_eq!(by, vec![("sacred".to_string(), 3)], "every run kept; _sources and _resources are not read");
    let msgs: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
    let has = |prefix: &str, text: &str| msgs.iter().any(|m| m.starts_with(prefix) && m.contains(text));
    assert!(has("runs/1/metrics.json: ", "invalid JSON (EOF while parsing"), "{msgs:#?}");
    assert!(has("runs/1/config.json: ", "not a JSON object"), "{msgs:#?}");
    assert!(has("runs/2/run.json: ", "unknown status \"PAUSED\""), "{msgs:#?}");
    assert!(has("runs/2/run.json: ", "start_time is not an ISO 8601 time: \"yesterday\""), "{msgs:#?}");
    assert!(has("runs/2/metrics.json: ", "loss: 1 value(s) that are not numbers"), "{msgs:#?}");
    assert!(has("runs/2/metrics.json: ", "acc: 3 steps, 2 values, 0 timestamps"), "{msgs:#?}");
    assert!(has("runs/3/run.json: ", "line 2"), "{msgs:#?}");
    assert_eq!(msgs.len(), 7, "{msgs:#?}");

    let r1 = index.find_run("runs/1").unwrap();
    assert!(r1.metrics.is_empty() && r1.params.is_empty());
    assert_eq!(r1.status.as_deref(), Some("finished"), "run.json still read");
    let r2 = index.run_detail("runs/2").unwrap().run;
    assert_eq!((r2.status, r2.start_time), (None, None));
    assert!(r2.end_time.is_some());
    let loss = index.series(r2.uid, "loss").unwrap();
    let got: Vec<(i64, u64)> = loss.iter().map(|p| (p.step, p.value.to_bits())).collect();
    assert_eq!(got, vec![(0, f64::NAN.to_bits()), (1, f64::INFINITY.to_bits()), (3, 1.5f64.to_bits())]);
    assert_eq!(loss[2].ts, utc_ms("2026-01-01T00:00:03"));
    let acc = index.series(r2.uid, "acc").unwrap();
    assert_eq!(acc.iter().map(|p| (p.step, p.value)).collect::<Vec<_>>(), vec![(0, 0.5), (1, 0.6)]);
    assert!(acc[0].ts.is_nan());
    let r3 = index.find_run("runs/3").unwrap();
    assert_eq!((r3.name.as_deref(), r3.status), (Some("3"), None));
}
