//! `runlens watch`, the real binary on real files: each change is printed once it can be queried,
//! in the documented JSON shapes; polling and its fallbacks; event storms and queue overflows end
//! with the index equal to a fresh one (reliability.md cases 19-22).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use prost::Message;
use runlens_core::formats::frame;
use runlens_core::formats::{Event, Summary, Value as PbValue};
use runlens_core::Index;
use serde_json::Value;

use crate::common::*;

/// A running `runlens watch`: its JSON lines arrive on a channel; stderr is kept.
struct Watcher {
    child: Child,
    lines: Receiver<Value>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Watcher {
    fn start(data: &Path, project: &Path, extra: &[&str]) -> Watcher {
        let mut child = Command::new(env!("CARGO_BIN_EXE_runlens"))
            .arg("--data-dir")
            .arg(data)
            .args(["watch", project.to_str().unwrap(), "--format", "json"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start runlens watch");
        let (tx, lines) = std::sync::mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (mut err, sink) = (child.stderr.take().unwrap(), stderr.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let w = Watcher { child, lines, stderr };
        w.wait_stderr("watching ", Duration::from_secs(30));
        w
    }

    fn wait_stderr(&self, needle: &str, within: Duration) {
        let end = Instant::now() + within;
        while !self.stderr.lock().unwrap().contains(needle) {
            assert!(Instant::now() < end, "no {needle:?} on stderr: {}", self.stderr.lock().unwrap());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The next line matching `pred`, skipping others; panics after `within`.
    fn next(&self, within: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + within;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) if pred(&v) => return v,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!("no matching change within {within:?}"),
                Err(e) => panic!("watch ended: {e}; stderr: {}", self.stderr.lock().unwrap()),
            }
        }
    }

    /// Waits until no line has come for `quiet`; returns what came.
    fn settle(&self, quiet: Duration) -> Vec<Value> {
        let mut got = Vec::new();
        while let Ok(v) = self.lines.recv_timeout(quiet) {
            got.push(v);
        }
        got
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn points_of(v: &Value, run: &str, key: &str) -> bool {
    v["kind"] == "points" && v["run"] == run && v["key"] == key
}

/// What the index answers right now, from another connection (as another process would).
fn count_in_index(data: &Path, project: &Path, run: &str, key: &str) -> u64 {
    let index = Index::open(data, project).unwrap();
    index.find_run(run).map(|r| r.metrics.get(key).map_or(0, |m| m.count)).unwrap_or(0)
}

fn tb_event(step: i64, v: f32) -> Vec<u8> {
    let value = PbValue { tag: "loss".into(), simple_value: Some(v), ..Default::default() };
    frame(
        &Event {
            wall_time: 1.7e9 + step as f64,
            step,
            summary: Some(Summary { value: vec![value] }),
            ..Default::default()
        }
        .encode_to_vec(),
    )
}

fn mlflow_run(root: &Path, status: u8) -> std::path::PathBuf {
    let run = root.join("mlruns/1/0123456789abcdef0123456789abcdef");
    std::fs::create_dir_all(run.join("metrics")).unwrap();
    std::fs::write(root.join("mlruns/1/meta.yaml"), "experiment_id: '1'\nlifecycle_stage: active\nname: exp\n")
        .unwrap();
    std::fs::write(
        run.join("meta.yaml"),
        format!("run_id: 0123456789abcdef0123456789abcdef\nrun_name: r\nexperiment_id: '1'\nlifecycle_stage: active\nstart_time: 1700000000000\nstatus: {status}\n"),
    )
    .unwrap();
    run
}

#[test]
fn watch_prints_each_change_once_it_can_be_queried() {
    let s = Scratch::new();
    let project = s.project();
    std::fs::write(project.join("train.jsonl"), "{\"step\": 0, \"loss\": 1.0}\n").unwrap();
    std::fs::create_dir_all(project.join("tb/run1")).unwrap();
    let events = project.join("tb/run1/events.out.tfevents.1700000000.host");
    std::fs::write(&events, [tb_event(0, 1.0), tb_event(1, 0.5)].concat()).unwrap();
    let w = Watcher::start(&s.data(), &project, &[]);

    append(&project.join("train.jsonl"), "{\"step\": 1, \"loss\": 0.5}\n{\"step\": 2, \"loss\": 0.25}\n");
    let v = w.next(Duration::from_secs(5), |v| points_of(v, "train.jsonl", "loss"));
    assert_eq!(
        v,
        serde_json::json!({"kind": "points", "run": "train.jsonl", "key": "loss", "count": 3, "last_step": 2})
    );
    assert_eq!(count_in_index(&s.data(), &project, "train.jsonl", "loss"), 3, "queryable when printed");

    std::fs::OpenOptions::new()
        .append(true)
        .open(&events)
        .map(|mut f| std::io::Write::write_all(&mut f, &tb_event(2, 0.1)))
        .unwrap()
        .unwrap();
    let v = w.next(Duration::from_secs(5), |v| points_of(v, "tb/run1", "loss"));
    assert_eq!((v["count"].as_u64(), v["last_step"].as_i64()), (Some(3), Some(2)));
    assert_eq!(count_in_index(&s.data(), &project, "tb/run1", "loss"), 3);

    // A new run, then its status changing when it finishes.
    let run = mlflow_run(&project, 1);
    let v = w.next(Duration::from_secs(5), |v| v["kind"] == "run" && v["run"] == "0123456789abcdef0123456789abcdef");
    assert_eq!(v, serde_json::json!({"kind": "run", "run": "0123456789abcdef0123456789abcdef", "status": "running"}));
    std::fs::write(run.join("metrics/acc"), "1700000000000 0.5 0\n").unwrap();
    w.next(Duration::from_secs(5), |v| points_of(v, "0123456789abcdef0123456789abcdef", "acc"));
    let meta = std::fs::read_to_string(run.join("meta.yaml")).unwrap().replace("status: 1", "status: 3");
    std::fs::write(run.join("meta.yaml"), meta).unwrap();
    let v = w.next(Duration::from_secs(5), |v| v["kind"] == "run");
    assert_eq!(v["status"], "finished");

    // Gone runs are reported; the index ends equal to a fresh one.
    std::fs::remove_file(project.join("train.jsonl")).unwrap();
    let v = w.next(Duration::from_secs(5), |v| v["kind"] == "removed");
    assert_eq!(v["run"], "train.jsonl");
    w.settle(Duration::from_millis(500));
    assert_eq!(dump(&Index::open(&s.data(), &project).unwrap()), fresh_dump(&project));
}

#[test]
fn polling_finds_the_same_changes() {
    let s = Scratch::new();
    let project = s.project();
    std::fs::write(project.join("train.jsonl"), "{\"step\": 0, \"loss\": 1.0}\n").unwrap();
    let w = Watcher::start(&s.data(), &project, &["--poll", "0.2"]);
    assert!(w.stderr.lock().unwrap().contains("checking every 0.2 s"));
    append(&project.join("train.jsonl"), "{\"step\": 1, \"loss\": 0.5}\n");
    let v = w.next(Duration::from_secs(5), |v| points_of(v, "train.jsonl", "loss"));
    assert_eq!(v["count"], 2);
}

/// Case 19: more folders than the watch may use: it says so once and polls; changes still show.
#[test]
fn over_the_watch_limit_it_says_so_once_and_polls() {
    let s = Scratch::new();
    let project = s.project();
    for i in 0..20 {
        std::fs::create_dir_all(project.join(format!("runs/r{i}"))).unwrap();
        std::fs::write(project.join(format!("runs/r{i}/log.jsonl")), "{\"step\": 0, \"loss\": 1.0}\n").unwrap();
    }
    let w = Watcher::start(&s.data(), &project, &["--max-watched-dirs", "5"]);
    let err = w.stderr.lock().unwrap().clone();
    assert_eq!(err.matches("note: ").count(), 1, "{err}");
    assert!(err.contains("more than 5 folders") && err.contains("checking every 1 s"), "{err}");
    append(&project.join("runs/r7/log.jsonl"), "{\"step\": 1, \"loss\": 0.5}\n");
    let v = w.next(Duration::from_secs(5), |v| points_of(v, "runs/r7/log.jsonl", "loss"));
    assert_eq!(v["count"], 2);
}

/// Cases 20 and 22: a storm of files no reader wants (a pip install), and a burst big enough to
/// overflow the OS's event queue, while a log grows: the log's points arrive, every change is
/// picked up, and the index ends equal to a fresh one.
#[test]
fn an_event_storm_is_batched_and_the_index_ends_equal_to_a_fresh_one() {
    let s = Scratch::new();
    let project = s.project();
    std::fs::write(project.join("train.jsonl"), "{\"step\": 0, \"loss\": 1.0}\n").unwrap();
    let w = Watcher::start(&s.data(), &project, &[]);
    // 30,000 files in 300 folders: far past inotify's default queue of 16,384 events.
    let pkg = project.join("env/lib/python3.11/site-packages");
    for d in 0..300 {
        let dir = pkg.join(format!("pkg{d}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..100 {
            std::fs::write(dir.join(format!("m{f}.py")), "x = 1\n").unwrap();
        }
        if d % 100 == 50 {
            append(&project.join("train.jsonl"), &format!("{{\"step\": {}, \"loss\": 0.5}}\n", d / 100 + 1));
        }
    }
    // A new run written mid-storm must not be lost either.
    std::fs::write(project.join("late.jsonl"), "{\"step\": 0, \"acc\": 0.9}\n").unwrap();
    let v = w.next(Duration::from_secs(30), |v| points_of(v, "train.jsonl", "loss") && v["count"] == 4);
    assert_eq!(v["last_step"], 3);
    w.next(Duration::from_secs(30), |v| v["kind"] == "run" && v["run"] == "late.jsonl");
    w.settle(Duration::from_millis(800));
    assert_eq!(dump(&Index::open(&s.data(), &project).unwrap()), fresh_dump(&project));
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string(format!("/proc/{}/status", w.child.id())).unwrap();
        let hwm_kb: u64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert!(hwm_kb < 200 * 1024, "peak memory {hwm_kb} kB for a 30,000-file storm");
    }
}

/// Case 23: `kill -9` at random points of indexing and watching, many times, while the logs grow:
/// after each kill the index passes SQLite's integrity check, and in the end it equals a fresh one.
#[test]
fn kill_9_at_random_points_leaves_a_consistent_index_that_resumes() {
    let s = Scratch::new();
    let project = s.project();
    copy_dir(&fixture("p3/tb"), &project.join("tb"));
    copy_dir(&fixture("p3/mlruns"), &project.join("mlruns"));
    let mut lines = String::new();
    for step in 0..20_000 {
        lines.push_str(&format!(
            "{{\"step\": {step}, \"loss\": {}, \"acc\": {}}}\n",
            1.0 / (1.0 + step as f64),
            step as f64 * 1e-5
        ));
    }
    for r in 0..24 {
        std::fs::write(project.join(format!("run{r:02}.jsonl")), &lines).unwrap();
    }
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let mut x = seed | 1;
    let mut rand = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let bin = env!("CARGO_BIN_EXE_runlens");
    let data = s.data();
    let db = runlens_core::index_path(&data, &std::fs::canonicalize(&project).unwrap());
    for i in 0..30 {
        if i % 5 == 0 {
            // Drop the cache now and then, so that kills land in cold indexing too.
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
        }
        let watch = i % 3 == 2;
        let mut cmd = Command::new(bin);
        cmd.arg("--data-dir").arg(&data);
        if watch {
            cmd.args(["watch", project.to_str().unwrap()]);
        } else {
            cmd.args(["index", project.to_str().unwrap(), "--quiet"]);
        }
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(rand(600)));
        // Training goes on meanwhile.
        append(
            &project.join(format!("run{:02}.jsonl", rand(24))),
            &format!("{{\"step\": {}, \"loss\": 0.1}}\n", 20_000 + i),
        );
        std::thread::sleep(Duration::from_millis(rand(200)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if db.exists() {
            let c = rusqlite::Connection::open(&db).unwrap();
            let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
            assert_eq!(ok, "ok", "seed {seed}, kill {i}");
        }
    }
    let (index, _) = open_and_scan(&data, &project);
    assert_eq!(dump(&index), fresh_dump(&project), "seed {seed}");
}

/// Idle means idle: a watcher whose own reads of the files it indexes woke it again (open and
/// close events) would spin. With nothing written, it uses next to no CPU.
#[cfg(target_os = "linux")]
#[test]
fn an_idle_watcher_uses_no_cpu() {
    let s = Scratch::new();
    let project = s.project();
    copy_dir(&fixture("p3/tb"), &project.join("tb"));
    std::fs::write(project.join("train.jsonl"), "{\"step\": 0, \"loss\": 1.0}\n").unwrap();
    let w = Watcher::start(&s.data(), &project, &[]);
    // Changes, so the watcher has read files (and listed run folders) since it started.
    append(&project.join("train.jsonl"), "{\"step\": 1, \"loss\": 0.5}\n");
    w.next(Duration::from_secs(5), |v| points_of(v, "train.jsonl", "loss"));
    let events = std::fs::read_dir(project.join("tb/run_a"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().contains("tfevents"))
        .unwrap()
        .path();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&events)
        .map(|mut f| std::io::Write::write_all(&mut f, &tb_event(5000, 0.5)))
        .unwrap()
        .unwrap();
    w.next(Duration::from_secs(5), |v| points_of(v, "tb/run_a", "loss"));
    std::thread::sleep(Duration::from_millis(500));
    let ticks = || -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", w.child.id())).unwrap();
        let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split_whitespace().collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    };
    let before = ticks();
    std::thread::sleep(Duration::from_secs(3));
    let used = ticks() - before;
    assert!(used <= 4, "{used} CPU ticks (1/100 s) in 3 s of idling");
    assert!(w.settle(Duration::from_millis(100)).is_empty(), "no changes reported while idle");
}

/// A registry change written by someone else (here the CLI, as a second person) is reported as
/// `{"kind":"registry","model":...}`, with file events and when polling; it does not rescan runs.
#[test]
fn a_registry_change_is_reported_with_events_and_when_polling() {
    let s = Scratch::new();
    let p = s.project();
    copy_dir(&fixture("mlflow_registry/project"), &p);
    let truth = read_json(&fixture("mlflow_registry/truth.json"));
    let run = truth["file"]["runs"]["wide-C10"]["run_id"].as_str().unwrap().to_string();
    let model = truth["file"]["runs"]["wide-C10"]["logged_model_id"].as_str().unwrap().to_string();
    let config = s.dir.path().join("bob");
    let registry = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_runlens"))
            .arg("--data-dir")
            .arg(s.dir.path().join("bob-data"))
            .arg("--config-dir")
            .arg(&config)
            .arg("registry")
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    for extra in [&[][..], &["--poll", "0.3"][..]] {
        let w = Watcher::start(&s.data(), &p, extra);
        w.settle(Duration::from_millis(300));
        let name = if extra.is_empty() { "churn" } else { "churn-polled" };
        registry(&["register", p.to_str().unwrap(), &run, &model, "--name", name]);
        // (The first write also publishes bob's key: a change to every model, "".)
        let got = w.next(Duration::from_secs(10), |v| v["kind"] == "registry" && v["model"] == name);
        assert_eq!(got, serde_json::json!({"kind": "registry", "model": name}), "{extra:?}");
        let rest = w.settle(Duration::from_millis(800));
        assert!(rest.iter().all(|v| v["kind"] == "registry"), "no run changes from a registry write: {rest:?}");
        std::fs::write(p.join(".runlens/registry/policy.yaml"), format!("author_may_approve: {}\n", extra.is_empty()))
            .unwrap();
        let got = w.next(Duration::from_secs(10), |v| v["kind"] == "registry");
        assert_eq!(got["model"], "", "the policy can change every model: {extra:?}");
    }
}

/// `data watch` writing monitor scores: the watcher reports the monitor run, a new model's folder
/// included (it is found by a walk), so the app charts each batch as it is scored.
#[test]
fn monitor_scores_are_reported_as_a_run_while_watching() {
    let s = Scratch::new();
    let p = s.project();
    std::fs::rename(unpack_data_versions(&s.dir.path().join("unpacked")), &p).unwrap();
    let truth = read_json(&fixture("data_versions/truth.json"));
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_runlens"))
            .arg("--data-dir")
            .arg(s.dir.path().join("ana-data"))
            .arg("--config-dir")
            .arg(s.dir.path().join("ana"))
            .args(args)
            .output()
            .unwrap()
    };
    let pp = p.to_str().unwrap();
    assert!(cli(&[
        "registry",
        "register",
        pp,
        truth["runs"]["v2"].as_str().unwrap(),
        "models/model.json",
        "--name",
        "churn"
    ])
    .status
    .success());
    assert!(cli(&["data", "reference", pp, "churn@1", "data/train.csv@data-v2"]).status.success());
    let landing = s.dir.path().join("landing");
    std::fs::create_dir_all(&landing).unwrap();
    let md5 = truth["versions"]["data/train.csv"][1]["md5"].as_str().unwrap().to_string();
    std::fs::copy(p.join(".dvc/cache/files/md5").join(&md5[..2]).join(&md5[2..]), landing.join("march.csv")).unwrap();
    let w = Watcher::start(&s.data(), &p, &[]);
    w.settle(Duration::from_millis(300));
    let o = cli(&["data", "watch", pp, "--model", "churn@1", landing.to_str().unwrap(), "--once"]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let got = w.next(Duration::from_secs(10), |v| v["kind"] == "run" && v["run"] == "monitor:churn@1");
    assert_eq!(got["run"], "monitor:churn@1");
}
