//! Bad input from ../shared/design/reliability.md, cases 1–5 and 15–18. Each ends "consistent":
//! integrity_check ok, the index equals a from-scratch rescan, and the project folder untouched.
//! (Case 17, files truncated, rotated or replaced while tailed, lives in `incremental`.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use runlens_core::{Index, Progress, ScanOptions};

use crate::common::*;

/// (path, size, mtime) of everything under `root`, symlinks not followed.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (u64, Option<std::time::SystemTime>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let md = e.path().symlink_metadata().unwrap();
            if md.is_dir() {
                stack.push(e.path());
            }
            out.insert(e.path(), (md.len(), md.modified().ok()));
        }
    }
    out
}

fn assert_consistent(index: &Index, project: &Path, before: &BTreeMap<PathBuf, (u64, Option<std::time::SystemTime>)>) {
    let check: String = index.connection().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    assert_eq!(dump(index), fresh_dump(project), "the index equals a from-scratch scan");
    assert_eq!(&snapshot(project), before, "the project folder was not changed");
}

fn mlflow_run(root: &Path, run_id: &str, artifact_uri: &str) -> PathBuf {
    let exp = root.join("mlruns/7");
    std::fs::create_dir_all(&exp).unwrap();
    std::fs::write(
        exp.join("meta.yaml"),
        "artifact_location: mlruns/7\nexperiment_id: '7'\nlifecycle_stage: active\nname: hostile\n",
    )
    .unwrap();
    let run = exp.join(run_id);
    std::fs::create_dir_all(run.join("metrics")).unwrap();
    std::fs::create_dir_all(run.join("artifacts")).unwrap();
    let uri = serde_json::to_string(artifact_uri).unwrap(); // a YAML-safe quoted string
    std::fs::write(
        run.join("meta.yaml"),
        format!("artifact_uri: {uri}\nexperiment_id: '7'\nlifecycle_stage: active\nrun_id: {run_id}\nrun_name: {run_id}\nstart_time: 1\nstatus: 3\nuser_id: u\n"),
    )
    .unwrap();
    std::fs::write(run.join("metrics/loss"), "1 0.5 0\n").unwrap();
    run
}

/// Cases 1 and 2: artifact locations outside the project, plain or disguised, are kept as text
/// and never read.
#[test]
fn hostile_artifact_locations_are_text_only() {
    let s = Scratch::new();
    let project = s.project();
    // A folder outside the project with a file a hostile location would try to reach.
    let outside = s.dir.path().join("secret");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("id_rsa"), "KEY").unwrap();
    let hostile = [
        "file:///etc/".to_string(),
        format!("{}", outside.display()),
        format!("file://{}", outside.display()),
        "../../..".into(),
        "mlruns/7/r05/artifacts#/../../../../secret".into(),
        "mlruns/7/r06/artifacts?x=/../../../../secret".into(),
        "mlruns/7/r07/artifacts;../../../../secret".into(),
        "mlruns/7/r08/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret".into(),
        "mlruns/7/r09/%252e%252e%252fsecret".into(),
        "mlruns\\7\\r10\\..\\..\\..\\..\\secret".into(),
        "//proc/self/root".into(),
        "dbfs:/mlruns/7/r12/artifacts".into(),
        "://mlruns/7/r13/artifacts".into(),
    ];
    for (i, uri) in hostile.iter().enumerate() {
        let run = mlflow_run(&project, &format!("r{i:02}"), uri);
        std::fs::write(run.join("artifacts/inside.txt"), "fine").unwrap();
    }
    let before = snapshot(&project);
    let (index, report) = open_and_scan(&s.data(), &project);
    assert_eq!(report.runs, hostile.len(), "every run is indexed");
    for (i, uri) in hostile.iter().enumerate() {
        let d = index.run_detail(&format!("r{i:02}")).unwrap();
        assert_eq!(d.artifact_uri.as_deref(), Some(uri.as_str()), "kept as text");
        // Either refused (nothing listed) or, for a location that only looks odd, the run's own folder.
        assert!(d.artifacts.iter().all(|a| a.path == "inside.txt"), "{uri}: {:?}", d.artifacts);
        assert!(
            d.artifact_dir.as_deref().is_none_or(|p| p == format!("mlruns/7/r{i:02}/artifacts")),
            "{uri} -> {:?}",
            d.artifact_dir
        );
        assert!(d.diagnostics.iter().any(|x| x.message.contains("outside the project")), "{uri}: {:?}", d.diagnostics);
    }
    assert_consistent(&index, &project, &before);
}

/// Case 3: a symlink in a run's artifacts, to a secret file and to '/', is not followed; reported.
#[cfg(unix)]
#[test]
fn symlinks_in_artifacts_are_not_followed() {
    let s = Scratch::new();
    let project = s.project();
    let outside = s.dir.path().join("home/.ssh");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("id_rsa"), "KEY").unwrap();
    let run = mlflow_run(&project, "sym", "mlruns/7/sym/artifacts");
    std::fs::write(run.join("artifacts/real.txt"), "ok").unwrap();
    std::os::unix::fs::symlink(outside.join("id_rsa"), run.join("artifacts/id_rsa")).unwrap();
    std::os::unix::fs::symlink("/", run.join("artifacts/root")).unwrap();
    let before = snapshot(&project);
    let (index, _) = open_and_scan(&s.data(), &project);
    let d = index.run_detail("sym").unwrap();
    assert_eq!(d.artifacts.iter().map(|a| a.path.as_str()).collect::<Vec<_>>(), vec!["real.txt"]);
    let msgs: Vec<String> = d.diagnostics.iter().map(|x| x.to_string()).collect();
    assert!(msgs.iter().any(|m| m.contains("symlink not followed") && m.ends_with("id_rsa")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("symlink not followed") && m.ends_with("root")), "{msgs:?}");
    assert_consistent(&index, &project, &before);
}

/// Case 4: a symlink loop and very deep nesting end the walk with a bounded error. The walk is a
/// loop over an explicit stack, so depth never reaches the call stack; nesting far beyond the
/// bound cannot even be built with full paths (PATH_MAX), so 300 levels stand for 10,000.
#[cfg(unix)]
#[test]
fn symlink_loops_and_deep_nesting_end_with_a_bounded_error() {
    let s = Scratch::new();
    let project = s.project();
    std::os::unix::fs::symlink("..", project.join("loop")).unwrap();
    let mut deep = project.join("deep");
    for _ in 0..300 {
        deep.push("d");
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("log.jsonl"), "{\"step\": 1, \"x\": 1}\n").unwrap();
    let run = mlflow_run(&project, "nest", "mlruns/7/nest/artifacts");
    let mut a = run.join("artifacts");
    for _ in 0..200 {
        a.push("a");
    }
    std::fs::create_dir_all(&a).unwrap();
    std::fs::write(a.join("f.txt"), "x").unwrap();
    let before = snapshot(&project);
    let (index, report) = open_and_scan(&s.data(), &project);
    assert_eq!(report.runs, 1, "the run is indexed; the log 300 folders down is beyond the walk's bound");
    let msgs: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(msgs.iter().any(|m| m.contains("loop: symlink not followed")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("nested deeper than")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("nesting deeper than")), "artifacts too: {msgs:?}");
    assert_consistent(&index, &project, &before);
}

/// Case 5: odd names are indexed or reported, never a crash.
#[cfg(unix)]
#[test]
fn odd_names_are_indexed_or_reported() {
    use std::os::unix::ffi::OsStrExt;
    let s = Scratch::new();
    let project = s.project();
    let run = mlflow_run(&project, "names", "mlruns/7/names/artifacts");
    let long = "k".repeat(255);
    let keys = ["glob*?[]{}", "new\nline", "caf\u{e9}", "cafe\u{301}", "Case", "case", long.as_str()];
    for k in keys {
        std::fs::write(run.join("params").join(k), "v").unwrap_or_else(|_| {
            std::fs::create_dir_all(run.join("params")).unwrap();
            std::fs::write(run.join("params").join(k), "v").unwrap();
        });
        std::fs::write(run.join("metrics").join(k), "1 2.0 0\n").unwrap();
    }
    let bad = std::ffi::OsStr::from_bytes(b"bad\xff\xfename");
    std::fs::write(run.join("params").join(bad), "v").unwrap();
    std::fs::write(run.join("metrics").join(bad), "1 2.0 0\n").unwrap();
    std::fs::write(project.join(std::ffi::OsStr::from_bytes(b"log\xff.jsonl")), "{\"step\":1,\"a\":1}\n").unwrap();
    std::fs::write(project.join("weird [1] {x}*?.jsonl"), "{\"step\":1,\"a\":1}\n").unwrap();
    let before = snapshot(&project);
    let (index, report) = open_and_scan(&s.data(), &project);
    let row = index.find_run("names").unwrap();
    for k in keys {
        assert_eq!(row.params.get(k).map(String::as_str), Some("v"), "param {k:?}");
        assert_eq!(row.metrics.get(k).map(|m| m.count), Some(1), "metric {k:?}");
    }
    assert!(index.find_run("weird [1] {x}*?.jsonl").is_ok());
    let msgs: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(msgs.iter().filter(|m| m.contains("not valid UTF-8")).count() >= 3, "{msgs:?}");
    assert_consistent(&index, &project, &before);
}

/// Case 15: CSV and JSONL with a malformed line in the middle, CRLF, a BOM, quoted newlines and
/// invalid UTF-8: a warning naming file and line, the rest indexed.
#[test]
fn broken_csv_and_jsonl_lines_are_reported_by_file_and_line() {
    let s = Scratch::new();
    let project = s.project();
    std::fs::write(
        project.join("train.csv"),
        b"\xEF\xBB\xBFstep,loss,acc,note\r\n0,1.0,0.1,\r\n1,oops,0.2,\r\n2,0.5,0.3,\"multi\r\nline\"\r\n3,0.4,0.4,,extra\r\n4,0.35,\xff,\r\nfive,0.3,0.6,\r\n6,0.2,0.7,\r\n",
    )
    .unwrap();
    std::fs::write(
        project.join("train.jsonl"),
        b"\xEF\xBB\xBF{\"step\": 0, \"loss\": 1.0}\r\n{\"step\": 1, \"loss\": \r\n\xff\xfe\n[1, 2]\n{\"step\": 4, \"loss\": 0.5}\n",
    )
    .unwrap();
    let before = snapshot(&project);
    let (index, report) = open_and_scan(&s.data(), &project);
    let msgs: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
    let has = |prefix: &str| msgs.iter().any(|m| m.starts_with(prefix));
    assert!(has("train.csv:3: column \"loss\" holds text"), "{msgs:?}");
    assert!(has("train.csv:4: column \"note\" holds text"), "{msgs:?}");
    assert!(has("train.csv:6: 5 fields, the header has 4"), "{msgs:?}");
    assert!(has("train.csv:7: acc: not valid UTF-8"), "{msgs:?}");
    assert!(has("train.csv:8: step is not an integer"), "{msgs:?}");
    assert!(has("train.jsonl:2: invalid JSON"), "{msgs:?}");
    assert!(has("train.jsonl:3: not valid UTF-8"), "{msgs:?}");
    assert!(has("train.jsonl:4: not a JSON object"), "{msgs:?}");
    let csv = index.find_run("train.csv").unwrap();
    // loss turned out to be text at line 3, so only its first value is a point; acc reads on.
    assert_eq!(csv.metrics["loss"].count, 1, "{:?}", csv.metrics);
    let acc = index.series(csv.uid, "acc").unwrap();
    assert_eq!(acc.iter().map(|p| (p.step, p.value)).collect::<Vec<_>>(), vec![(0, 0.1), (1, 0.2), (2, 0.3), (6, 0.7)]);
    let jl = index.find_run("train.jsonl").unwrap();
    assert_eq!(
        index.series(jl.uid, "loss").unwrap().iter().map(|p| (p.step, p.value)).collect::<Vec<_>>(),
        vec![(0, 1.0), (4, 0.5)]
    );
    assert_consistent(&index, &project, &before);
}

/// Case 16: MLflow metric files with 1 or 4 fields, a `50.0` step, nan/inf, empty files, and no
/// trailing newline: a warning per bad line; every other metric and run stays visible.
#[test]
fn broken_mlflow_metric_lines_are_reported_per_line() {
    let s = Scratch::new();
    let project = s.project();
    let run = mlflow_run(&project, "broken", "mlruns/7/broken/artifacts");
    std::fs::write(
        run.join("metrics/loss"),
        "1 0.5 0\n17\n2 0.4 1 extra\n3 0.3 50.0\n4 nan 3\n5 inf 4\n6 -inf 5\n7 0.1 6",
    )
    .unwrap();
    std::fs::write(run.join("metrics/empty"), "").unwrap();
    std::fs::write(run.join("metrics/ok"), "1 1.0 0\n").unwrap();
    mlflow_run(&project, "fine", "mlruns/7/fine/artifacts");
    // The last line has no newline: it is read once the file has settled.
    let settled = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options().write(true).open(run.join("metrics/loss")).unwrap().set_modified(settled).unwrap();
    let before = snapshot(&project);
    let (index, report) = open_and_scan(&s.data(), &project);
    let msgs: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
    let loss = "mlruns/7/broken/metrics/loss";
    assert!(msgs.iter().any(|m| m.starts_with(&format!("{loss}:2: expected"))), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.starts_with(&format!("{loss}:3: expected"))), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.starts_with(&format!("{loss}:4: step is not an integer"))), "{msgs:?}");
    assert_eq!(msgs.iter().filter(|m| m.starts_with(loss)).count(), 3, "{msgs:?}");
    let row = index.find_run("broken").unwrap();
    let m = &row.metrics["loss"];
    assert_eq!((m.count, m.last, m.last_step, m.min, m.max), (5, 0.1, 6, Some(0.1), Some(0.5)));
    let vals: Vec<f64> = index.series(row.uid, "loss").unwrap().iter().map(|p| p.value).collect();
    assert!(vals[1].is_nan() && vals[2] == f64::INFINITY && vals[3] == f64::NEG_INFINITY);
    assert!(!row.metrics.contains_key("empty"), "an empty file holds no points");
    assert_eq!(row.metrics["ok"].count, 1);
    assert_eq!(index.find_run("fine").unwrap().metrics["loss"].count, 1);
    assert_consistent(&index, &project, &before);
}

/// Case 18: a run folder deleted between the walk and its reading: the run is left out, the scan
/// goes on, and the index is consistent.
#[test]
fn a_run_deleted_mid_scan_does_not_stop_the_scan() {
    let s = Scratch::new();
    let project = s.project();
    for i in 0..20 {
        mlflow_run(&project, &format!("run{i:02}"), "x");
    }
    let victim = project.join("mlruns/7/run07");
    let mut index = Index::open(&s.data(), &project).unwrap();
    let mut on_progress = |p: &Progress| {
        if let Progress::Discovered { .. } = p {
            std::fs::remove_dir_all(&victim).unwrap();
        }
    };
    let report = index.scan(&ScanOptions::default(), &mut on_progress, &AtomicBool::new(false)).unwrap();
    assert_eq!(report.runs, 19);
    assert!(index.find_run("run07").is_err());
    let before = snapshot(&project);
    assert_consistent(&index, &project, &before);
}

/// The index never lives in the project folder (SQLite is unsafe on network shares).
#[test]
fn an_index_inside_the_project_is_refused() {
    let s = Scratch::new();
    let project = s.project();
    let err = Index::open(&project.join(".runlens"), &project).err().expect("refused");
    assert!(err.to_string().contains("inside the project"), "{err}");
    assert!(!project.join(".runlens").exists());
    // Spelled through `..` it is the same folder; a sibling reached through `..` is outside.
    let name = project.file_name().unwrap().to_owned();
    let sneaky = project.join("sub").join("..").join("..").join(&name).join(".runlens");
    assert!(Index::open(&sneaky, &project).is_err(), "{}", sneaky.display());
    let sibling = project.join("..").join("runlens-data");
    Index::open(&sibling, &project).expect("a data dir beside the project is fine");
}

/// Case 25: two writers on one index (the CLI beside the app, or the app's watcher beside a
/// refresh) scanning the same appends at once: no SQLITE_BUSY, and no point indexed twice.
#[test]
fn two_writers_scanning_at_once_never_duplicate_points() {
    let s = Scratch::new();
    let project = s.project();
    for r in 0..8 {
        std::fs::write(project.join(format!("r{r}.jsonl")), "{\"step\": 0, \"loss\": 1.0}\n").unwrap();
    }
    let (mut a, _) = open_and_scan(&s.data(), &project);
    let mut b = Index::open(&s.data(), &project).unwrap();
    for round in 1..40 {
        for r in 0..8 {
            append(&project.join(format!("r{r}.jsonl")), &format!("{{\"step\": {round}, \"loss\": 0.5}}\n"));
        }
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|t| {
            t.spawn(|| {
                barrier.wait();
                scan(&mut a);
            });
            t.spawn(|| {
                barrier.wait();
                scan(&mut b);
            });
        });
        // Whoever lost a race left the unit to the other; one more scan settles anything left.
        scan(&mut a);
        for r in 0..8 {
            let run = a.find_run(&format!("r{r}.jsonl")).unwrap();
            assert_eq!(run.metrics["loss"].count, round as u64 + 1, "round {round}, r{r}");
        }
    }
    assert_eq!(dump(&a), fresh_dump(&project));
}
