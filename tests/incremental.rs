//! Incremental indexing: a rescan reads only new bytes, re-reads rewritten files without
//! duplicates, forgets what is gone, and always ends equal to a from-scratch index.

use std::path::Path;

use proptest::prelude::*;

use crate::common::*;

fn mlflow_project(root: &Path) -> std::path::PathBuf {
    let run = root.join("mlruns/1/abc123");
    std::fs::create_dir_all(run.join("metrics/train")).unwrap();
    std::fs::create_dir_all(run.join("params")).unwrap();
    std::fs::write(
        root.join("mlruns/1/meta.yaml"),
        "artifact_location: file:///elsewhere/mlruns/1\nexperiment_id: '1'\nlifecycle_stage: active\nname: exp\n",
    )
    .unwrap();
    std::fs::write(
        run.join("meta.yaml"),
        "artifact_uri: file:///elsewhere/mlruns/1/abc123/artifacts\nend_time: null\nexperiment_id: '1'\nlifecycle_stage: active\nrun_id: abc123\nrun_name: r1\nstart_time: 1700000000000\nstatus: 1\nuser_id: me\n",
    )
    .unwrap();
    std::fs::write(run.join("params/lr"), "0.01").unwrap();
    std::fs::write(run.join("metrics/train/loss"), "1700000000000 1.0 0\n1700000001000 0.5 1\n").unwrap();
    run
}

#[test]
fn append_reads_only_new_points_and_equals_a_fresh_index() {
    let s = Scratch::new();
    let project = s.project();
    let run = mlflow_project(&project);
    let (mut index, r1) = open_and_scan(&s.data(), &project);
    assert_eq!(r1.points, 2);
    let unchanged = scan(&mut index);
    assert_eq!((unchanged.points, unchanged.units_read), (0, 0), "nothing changed, nothing read");
    append(&run.join("metrics/train/loss"), "1700000002000 0.25 2\n1700000003000 nan 3\n");
    let r2 = scan(&mut index);
    assert_eq!(r2.points, 2, "only the appended points are read");
    let row = index.find_run("abc123").unwrap();
    let m = &row.metrics["train/loss"];
    assert_eq!((m.count, m.last_step, m.min, m.max), (4, 3, Some(0.25), Some(1.0)));
    assert!(m.last.is_nan());
    assert_eq!(dump(&index), fresh_dump(&project));
}

#[test]
fn out_of_order_appends_keep_the_series_sorted() {
    let s = Scratch::new();
    let project = s.project();
    let run = mlflow_project(&project);
    let (mut index, _) = open_and_scan(&s.data(), &project);
    append(&run.join("metrics/train/loss"), "1700000005000 9.0 0\n1699999999000 7.0 1\n");
    scan(&mut index);
    let row = index.find_run("abc123").unwrap();
    let pts = index.series(row.uid, "train/loss").unwrap();
    let order: Vec<(i64, f64)> = pts.iter().map(|p| (p.step, p.value)).collect();
    assert_eq!(order, vec![(0, 1.0), (0, 9.0), (1, 7.0), (1, 0.5)], "ordered by (step, timestamp)");
    assert_eq!(row.metrics["train/loss"].last, 0.5, "last = greatest (step, timestamp)");
    assert_eq!(dump(&index), fresh_dump(&project));
}

#[test]
fn truncated_or_replaced_files_are_reread_without_duplicates() {
    let s = Scratch::new();
    let project = s.project();
    let run = mlflow_project(&project);
    let loss = run.join("metrics/train/loss");
    let (mut index, _) = open_and_scan(&s.data(), &project);
    // Truncated and rewritten shorter.
    std::fs::write(&loss, "1700000000000 3.0 0\n").unwrap();
    scan(&mut index);
    assert_eq!(index.find_run("abc123").unwrap().metrics["train/loss"].count, 1);
    // Rewritten in place with the same length but other content: the guard bytes notice.
    std::fs::write(&loss, "1700000000000 4.0 0\n").unwrap();
    touch_later(&loss);
    scan(&mut index);
    assert_eq!(index.find_run("abc123").unwrap().metrics["train/loss"].last, 4.0);
    // Replaced by an atomic rename (a new file id), longer than before.
    let tmp = run.join("metrics/.loss.tmp");
    std::fs::write(&tmp, "1700000000000 4.0 0\n1700000000000 5.0 1\n1700000000000 6.0 2\n").unwrap();
    std::fs::rename(&tmp, &loss).unwrap();
    scan(&mut index);
    let m = &index.find_run("abc123").unwrap().metrics["train/loss"];
    assert_eq!((m.count, m.last), (3, 6.0));
    assert_eq!(dump(&index), fresh_dump(&project));
}

#[test]
fn lightning_rewrite_with_a_wider_header_is_reread() {
    let s = Scratch::new();
    let project = s.project();
    let v = project.join("lightning_logs/version_0");
    std::fs::create_dir_all(&v).unwrap();
    std::fs::write(v.join("hparams.yaml"), "lr: 0.1\n").unwrap();
    std::fs::write(v.join("metrics.csv"), "epoch,step,train_loss\r\n0,9,1.5\r\n0,19,1.25\r\n").unwrap();
    let (mut index, _) = open_and_scan(&s.data(), &project);
    assert_eq!(index.find_run("lightning_logs/version_0").unwrap().metrics["train_loss"].count, 2);
    // Lightning rewrites the whole file when a new key appears.
    std::fs::write(
        v.join("metrics.csv"),
        "epoch,step,train_loss,val_loss\r\n0,9,1.5,\r\n0,19,1.25,\r\n0,19,,2.5\r\n1,29,1.0,\r\n",
    )
    .unwrap();
    touch_later(&v.join("metrics.csv"));
    scan(&mut index);
    let row = index.find_run("lightning_logs/version_0").unwrap();
    assert_eq!(row.metrics["train_loss"].count, 3, "no duplicated points");
    assert_eq!(row.metrics["val_loss"].count, 1);
    assert_eq!(row.params.get("lr").map(String::as_str), Some("0.1"));
    // A plain append under the same header is read incrementally again.
    append(&v.join("metrics.csv"), "1,39,0.9,\r\n");
    assert_eq!(scan(&mut index).points, 1, "only the appended row is read");
    assert_eq!(dump(&index), fresh_dump(&project));
}

#[test]
fn deleted_runs_and_files_disappear() {
    let s = Scratch::new();
    let project = s.project();
    let run = mlflow_project(&project);
    std::fs::write(project.join("log.jsonl"), "{\"step\": 1, \"loss\": 2.0}\n").unwrap();
    let (mut index, r) = open_and_scan(&s.data(), &project);
    assert_eq!(r.runs, 2);
    std::fs::remove_file(run.join("metrics/train/loss")).unwrap();
    scan(&mut index);
    assert!(index.find_run("abc123").unwrap().metrics.is_empty(), "a removed metric file takes its series along");
    std::fs::remove_dir_all(&run).unwrap();
    std::fs::remove_file(project.join("log.jsonl")).unwrap();
    let r = scan(&mut index);
    assert_eq!(r.runs, 0);
    let files: i64 = index.connection().query_row("SELECT count(*) FROM files", [], |r| r.get(0)).unwrap();
    let series: i64 = index.connection().query_row("SELECT count(*) FROM series", [], |r| r.get(0)).unwrap();
    let chunks: i64 = index.connection().query_row("SELECT count(*) FROM chunks", [], |r| r.get(0)).unwrap();
    assert_eq!((files, series, chunks), (0, 0, 0), "nothing of the gone runs is left behind");
}

#[test]
fn a_last_line_without_newline_is_read_exactly_once() {
    let s = Scratch::new();
    let project = s.project();
    let log = project.join("train.jsonl");
    let csv = project.join("metrics.csv");
    std::fs::write(&log, "{\"step\": 0, \"loss\": 1.0}\n{\"step\": 1, \"lo").unwrap();
    std::fs::write(&csv, "step,loss\n0,1.0\n1,0.").unwrap();
    let (mut index, _) = open_and_scan(&s.data(), &project);
    assert_eq!(index.find_run("train.jsonl").unwrap().metrics["loss"].count, 1, "the half-written line waits");
    assert_eq!(index.find_run("metrics.csv").unwrap().metrics["loss"].count, 1);
    append(&log, "ss\": 0.5}\n");
    append(&csv, "5\n");
    scan(&mut index);
    for run in ["train.jsonl", "metrics.csv"] {
        let m = &index.find_run(run).unwrap().metrics["loss"];
        assert_eq!((m.count, m.last, m.last_step), (2, 0.5, 1), "{run}");
    }
    assert_eq!(dump(&index), fresh_dump(&project));
}

/// The contents a property test appends in slices: each format's own line shapes, with repeated
/// and out-of-order steps, NaN, CRLF, and a quoted field holding a newline.
const MLFLOW_TEXT: &str = "1700000000000 1.0 0\n1700000001000 0.5 1\n1700000001000 0.5 1\n1700000000500 nan 1\n1700000002000 inf 3\n1700000003000 -0.25 2\n1700000004000 1e-300 4\n";
const CSV_TEXT: &str =
    "step,loss,acc,note\r\n0,1.0,,\"a\r\nb\"\r\n1,0.5,0.1,x\r\n1,0.4,,\r\n3,nan,0.2,\r\n2,0.3,0.3,\"q,\"\"r\"\"\"\r\n";
const JSONL_TEXT: &str = "{\"params\": {\"lr\": 0.1, \"opt\": {\"name\": \"adam\"}}}\n{\"step\": 0, \"loss\": 1.0, \"val\": {\"acc\": 0.5}}\n{\"loss\": 0.9}\n{\"step\": 5, \"loss\": NaN, \"timestamp\": 1700000000.5}\n{\"step\": 2, \"loss\": -Infinity}\nnot json\n{\"step\": 7, \"loss\": 0.1}\n";

fn write_project(root: &Path, mlflow: &str, csv: &str, jsonl: &str) {
    let run = mlflow_project(root);
    std::fs::write(run.join("metrics/train/loss"), mlflow).unwrap();
    std::fs::write(root.join("log.csv"), csv).unwrap();
    std::fs::write(root.join("log.jsonl"), jsonl).unwrap();
}

fn cuts(len: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0..=len, 0..6).prop_map(move |mut v| {
        v.push(len);
        v.sort();
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24), .. ProptestConfig::default() })]

    /// Appending each file in random slices, indexing after every slice, gives the same index as
    /// indexing the whole files once.
    #[test]
    fn appending_in_slices_equals_indexing_once(
        a in cuts(MLFLOW_TEXT.len()), b in cuts(CSV_TEXT.len()), c in cuts(JSONL_TEXT.len()),
    ) {
        let s = Scratch::new();
        let project = s.project();
        write_project(&project, "", "", "");
        let mut index = runlens_core::Index::open(&s.data(), &project).unwrap();
        let steps = a.len().max(b.len()).max(c.len());
        let at = |v: &Vec<usize>, i: usize| v[i.min(v.len() - 1)];
        let run = project.join("mlruns/1/abc123/metrics/train/loss");
        for i in 0..steps {
            std::fs::write(&run, &MLFLOW_TEXT.as_bytes()[..at(&a, i)]).unwrap();
            std::fs::write(project.join("log.csv"), &CSV_TEXT.as_bytes()[..at(&b, i)]).unwrap();
            std::fs::write(project.join("log.jsonl"), &JSONL_TEXT.as_bytes()[..at(&c, i)]).unwrap();
            scan(&mut index);
        }
        let whole = Scratch::new();
        let p2 = whole.project();
        write_project(&p2, MLFLOW_TEXT, CSV_TEXT, JSONL_TEXT);
        prop_assert_eq!(dump(&index), fresh_dump(&p2));
    }
}

/// Ages every file and folder under `root` by an hour, so folder mtimes are trusted again (a
/// rescan then stats instead of listing).
fn age(root: &Path) {
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                std::fs::File::options().write(true).open(e.path()).unwrap().set_modified(past).unwrap();
            }
        }
        std::fs::File::open(&d).unwrap().set_modified(past).unwrap();
    }
}

/// The quick path of a rescan (stat only, no listing) sees every kind of change an MLflow run gets.
#[test]
fn quick_rescans_of_aged_mlflow_runs_see_every_change() {
    let s = Scratch::new();
    let project = s.project();
    let run = mlflow_project(&project);
    std::fs::create_dir_all(run.join("tags")).unwrap();
    std::fs::write(run.join("tags/stage"), "dev").unwrap();
    std::fs::create_dir_all(run.join("artifacts")).unwrap();
    age(&project);
    let (mut index, _) = open_and_scan(&s.data(), &project);
    let quiet = scan(&mut index);
    assert_eq!(quiet.units_read, 0);
    let changes: Vec<(&str, Box<dyn Fn()>)> = vec![
        ("tag overwritten in place", Box::new(|| std::fs::write(run.join("tags/stage"), "prd").unwrap())),
        ("metric appended", Box::new(|| append(&run.join("metrics/train/loss"), "1700000009000 0.1 9\n"))),
        (
            "metric file added in a nested folder",
            Box::new(|| std::fs::write(run.join("metrics/train/acc"), "1 0.5 0\n").unwrap()),
        ),
        ("metric file removed", Box::new(|| std::fs::remove_file(run.join("metrics/train/acc")).unwrap())),
        ("artifact added", Box::new(|| std::fs::write(run.join("artifacts/model.txt"), "m").unwrap())),
        ("tag added", Box::new(|| std::fs::write(run.join("tags/owner"), "me").unwrap())),
        (
            "status changed",
            Box::new(|| {
                let meta = std::fs::read_to_string(run.join("meta.yaml")).unwrap().replace("status: 1", "status: 3");
                std::fs::write(run.join("meta.yaml"), meta).unwrap()
            }),
        ),
        ("inputs folder created", Box::new(|| std::fs::create_dir_all(run.join("inputs")).unwrap())),
    ];
    for (what, change) in changes {
        age(&project);
        scan(&mut index); // trusted folder mtimes again
        change();
        let r = scan(&mut index);
        assert!(r.units_read >= 1, "{what}: the change was noticed");
        assert_eq!(dump(&index), fresh_dump(&project), "{what}");
    }
    let row = index.find_run("abc123").unwrap();
    assert_eq!(row.tags.get("stage").map(String::as_str), Some("prd"));
    assert_eq!(row.status.as_deref(), Some("finished"));
}

#[test]
fn jsonl_declarations_and_points_may_share_a_line() {
    let s = Scratch::new();
    let project = s.project();
    std::fs::write(
        project.join("run.jsonl"),
        "{\"name\": \"warmup\", \"params\": {\"lr\": 0.1}}\n{\"loss\": 3.0}\n{\"step\": 10, \"loss\": 2.0, \"tags\": {\"phase\": \"a\"}}\n{\"loss\": 1.0, \"note\": \"text is ignored\", \"ok\": true}\n",
    )
    .unwrap();
    let (index, report) = open_and_scan(&s.data(), &project);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    let run = index.find_run("run.jsonl").unwrap();
    assert_eq!(run.name.as_deref(), Some("warmup"));
    assert_eq!(run.params.get("lr").map(String::as_str), Some("0.1"));
    assert_eq!(run.tags.get("phase").map(String::as_str), Some("a"));
    let pts: Vec<(i64, f64)> = index.series(run.uid, "loss").unwrap().iter().map(|p| (p.step, p.value)).collect();
    assert_eq!(pts, vec![(0, 3.0), (10, 2.0), (11, 1.0)], "a declaration line does not take a step");
    assert_eq!(run.metrics.keys().collect::<Vec<_>>(), vec!["loss"]);
}

/// A file that moves from one unit to another (here a CSV log that becomes a Lightning folder's
/// metrics.csv when hparams.yaml appears beside it, and back) is read again by its new unit: a
/// state remembered by the old unit does not count.
#[test]
fn a_file_that_changes_units_is_read_by_its_new_unit() {
    let s = Scratch::new();
    let project = s.project();
    let dir = project.join("logs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("metrics.csv"), "step,loss\n0,1.5\n1,1.25\n").unwrap();
    let (mut index, _) = open_and_scan(&s.data(), &project);
    assert_eq!(index.find_run("logs/metrics.csv").unwrap().metrics["loss"].count, 2);
    std::fs::write(dir.join("hparams.yaml"), "lr: 0.1\n").unwrap();
    scan(&mut index);
    let runs: Vec<(String, String)> = all_runs(&index).into_iter().map(|r| (r.path, r.source)).collect();
    assert_eq!(runs, vec![("logs".to_string(), "lightning".to_string())]);
    assert_eq!(index.find_run("logs").unwrap().metrics["loss"].count, 2, "the points moved with the file");
    assert_eq!(dump(&index), fresh_dump(&project));
    std::fs::remove_file(dir.join("hparams.yaml")).unwrap();
    scan(&mut index);
    assert_eq!(index.find_run("logs/metrics.csv").unwrap().metrics["loss"].count, 2);
    assert_eq!(dump(&index), fresh_dump(&project));
}

/// A JSONL run starts at its first line's time (seconds or milliseconds), also after appends.
#[test]
fn a_jsonl_run_starts_at_its_first_timestamp() {
    let s = Scratch::new();
    let project = s.project();
    let log = project.join("train.jsonl");
    std::fs::write(&log, "{\"params\": {\"lr\": 0.1}}\n{\"step\": 0, \"loss\": 1.0}\n").unwrap();
    let (mut index, _) = open_and_scan(&s.data(), &project);
    assert_eq!(index.find_run("train.jsonl").unwrap().start_time, None, "no time logged yet");
    append(&log, "{\"step\": 1, \"timestamp\": 1717433039.5, \"loss\": 0.5}\n{\"step\": 2, \"timestamp\": 1717433040.5, \"loss\": 0.25}\n");
    scan(&mut index);
    assert_eq!(index.find_run("train.jsonl").unwrap().start_time, Some(1_717_433_039_500));
    assert_eq!(dump(&index), fresh_dump(&project));
}
