//! Memory is bounded by design, not by file size: big text logs are read in pieces
//! (`tail::PIECE`), each written to the index before the next is read.

use std::io::Write;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;

use runlens_core::{Index, ScanOptions};
use serde_json::Value;

use crate::common::*;

fn value(i: u64) -> f64 {
    ((i % 9973) as f64 * 0.37).sin()
}

/// Writes `lines` lines of a CSV log (`step,loss,acc`) or a JSONL log into `path`.
fn write_log(path: &Path, lines: u64, jsonl: bool) {
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    if !jsonl {
        writeln!(f, "step,loss,acc").unwrap();
    }
    for i in 0..lines {
        if jsonl {
            writeln!(f, "{{\"step\": {i}, \"loss\": {}, \"acc\": {}}}", value(i), value(i + 1)).unwrap();
        } else {
            writeln!(f, "{i},{},{}", value(i), value(i + 1)).unwrap();
        }
    }
}

/// Peak RSS of a child process, in bytes: its `VmHWM`, read every 5 ms while it runs, once it runs
/// the program it was started for. (Not `wait4`'s `ru_maxrss`: Linux carries the high-water mark
/// of the memory a process had before `exec` into it, and Rust starts children with vfork, so that
/// would be this whole test binary's peak, which the other tests in it raise.)
#[cfg(target_os = "linux")]
fn run_and_peak_rss(cmd: &mut Command) -> (i32, u64) {
    let program = std::fs::canonicalize(cmd.get_program()).unwrap();
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let mut peak = 0u64;
    let status = loop {
        let own = std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == program);
        if own {
            if let Ok(st) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                let hwm = st
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
                if let Some(kb) = hwm {
                    peak = peak.max(kb * 1024);
                }
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    assert!(peak > 0, "the child's memory was never read");
    (status.code().unwrap_or(-1), peak)
}

/// Runs `runlens index` on `project` and returns its peak RSS (it must exit 0).
#[cfg(target_os = "linux")]
fn index_peak_rss(s: &Scratch, project: &Path) -> u64 {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runlens"));
    cmd.arg("--data-dir").arg(s.data()).args(["index", "-q"]).arg(project).stdout(std::process::Stdio::null());
    let (code, peak) = run_and_peak_rss(&mut cmd);
    assert_eq!(code, 0);
    peak
}

/// A CSV and a JSONL log of 8M rows each (925 MB together) are indexed with a peak RSS under 200 MB (the old
/// whole-file read took more than the file's size), and every summary is exact.
#[cfg(target_os = "linux")]
#[test]
fn big_logs_are_indexed_in_bounded_memory() {
    let s = Scratch::new();
    let project = s.project();
    let lines = 8_000_000;
    write_log(&project.join("big.csv"), lines, false);
    write_log(&project.join("big.jsonl"), lines, true);
    let size: u64 = ["big.csv", "big.jsonl"].iter().map(|f| std::fs::metadata(project.join(f)).unwrap().len()).sum();
    assert!(size > 700 << 20, "{size} bytes of logs");
    let peak = index_peak_rss(&s, &project);
    eprintln!("peak RSS {} MB for {} MB of logs", peak >> 20, size >> 20);
    assert!(peak < 200 << 20, "peak RSS {} MB for {} MB of logs", peak >> 20, size >> 20);
    let out = Command::new(env!("CARGO_BIN_EXE_runlens"))
        .arg("--data-dir")
        .arg(s.data())
        .args(["runs", "--no-refresh", "--format", "json"])
        .arg(&project)
        .output()
        .unwrap();
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for i in 0..lines {
        lo = lo.min(value(i));
        hi = hi.max(value(i));
    }
    for r in runs.as_array().unwrap() {
        let loss = &r["metrics"]["loss"];
        assert_eq!(loss["count"], lines, "{}", r["path"]);
        assert_eq!(loss["last_step"], lines - 1);
        assert_eq!(loss["last"].as_f64(), Some(value(lines - 1)));
        assert_eq!(loss["min"].as_f64(), Some(lo));
        assert_eq!(loss["max"].as_f64(), Some(hi));
        assert_eq!(r["metrics"]["acc"]["count"], lines);
    }
    assert_eq!(runs.as_array().unwrap().len(), 2);
}

/// A log read in several pieces, with a line longer than a piece, CRLF line ends and a line
/// completed after the first scan, equals its lines point for point, and equals a fresh index.
#[test]
fn a_log_read_in_pieces_equals_its_lines() {
    let s = Scratch::new();
    let project = s.project();
    let path = project.join("log.jsonl");
    let mut text = String::new();
    let mut expect = Vec::new();
    for i in 0..400_000u64 {
        if i == 150_000 {
            // Longer than a piece (4 MiB): the piece grows to hold it.
            text.push_str(&format!(
                "{{\"step\": {i}, \"note\": \"{}\", \"loss\": {}}}\r\n",
                "x".repeat(5 << 20),
                value(i)
            ));
        } else {
            text.push_str(&format!("{{\"step\": {i}, \"loss\": {}}}\r\n", value(i)));
        }
        expect.push((i as i64, value(i)));
    }
    assert!(text.len() > 3 * (4 << 20), "several pieces");
    // The last line is still being written.
    text.push_str("{\"step\": 400000, \"lo");
    std::fs::write(&path, &text).unwrap();
    // The scan judges the file as written just now, however long it takes: the unfinished last
    // line is left for later (a settled file would have it read as it is).
    let just_written =
        |p: &Path| ScanOptions { now: Some(std::fs::metadata(p).unwrap().modified().unwrap()), ..Default::default() };
    let mut index = Index::open(&s.data(), &project).unwrap();
    let report = index.scan(&just_written(&path), &mut |_| {}, &AtomicBool::new(false)).unwrap();
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    let row = index.find_run("log.jsonl").unwrap();
    let got: Vec<(i64, f64)> = index.series(row.uid, "loss").unwrap().iter().map(|p| (p.step, p.value)).collect();
    assert_eq!(got.len(), expect.len());
    assert!(got == expect, "every point equals its line");
    append(&path, &format!("ss\": {}}}\r\n", value(400_000)));
    index.scan(&just_written(&path), &mut |_| {}, &AtomicBool::new(false)).unwrap();
    expect.push((400_000, value(400_000)));
    let row = index.find_run("log.jsonl").unwrap();
    let got: Vec<(i64, f64)> = index.series(row.uid, "loss").unwrap().iter().map(|p| (p.step, p.value)).collect();
    assert!(got == expect, "the completed line was read exactly once");
    assert_eq!(dump(&index), fresh_dump(&project));
}

fn tb_event(step: i64, tag: &str, v: f32) -> Vec<u8> {
    use prost::Message;
    use runlens_core::formats::{Event, Summary, Value as PbValue};
    let value = PbValue { tag: tag.into(), simple_value: Some(v), ..Default::default() };
    Event { wall_time: 1.7e9 + step as f64, step, summary: Some(Summary { value: vec![value] }), ..Default::default() }
        .encode_to_vec()
}

fn tb_value(step: i64) -> f32 {
    ((step % 9973) as f32 * 0.37).sin()
}

/// Writes an event file of `steps` steps, each with `loss` and `acc` scalars.
fn write_events(path: &Path, steps: std::ops::Range<i64>, restart_at: Option<i64>) {
    use prost::Message;
    use runlens_core::formats::{frame, Event, SessionLog, SESSION_START};
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    f.write_all(&frame(
        &Event { wall_time: 1.7e9, file_version: Some("brain.Event:2".into()), ..Default::default() }.encode_to_vec(),
    ))
    .unwrap();
    if let Some(s) = restart_at {
        let start = Event {
            wall_time: 1.8e9,
            step: s,
            session_log: Some(SessionLog { status: SESSION_START }),
            ..Default::default()
        };
        f.write_all(&frame(&start.encode_to_vec())).unwrap();
    }
    for s in steps {
        f.write_all(&frame(&tb_event(s, "loss", tb_value(s)))).unwrap();
        f.write_all(&frame(&tb_event(s, "acc", tb_value(s + 1)))).unwrap();
    }
}

/// A 500 MB TensorBoard event file is indexed in pieces with a peak RSS under 200 MB, and exactly.
#[cfg(target_os = "linux")]
#[test]
fn a_big_event_file_is_indexed_in_bounded_memory() {
    let s = Scratch::new();
    let project = s.project();
    std::fs::create_dir_all(project.join("tb/run")).unwrap();
    let steps = 6_000_000;
    let file = project.join("tb/run/events.out.tfevents.1700000000.host");
    write_events(&file, 0..steps, None);
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size > 450 << 20, "{size} bytes");
    let peak = index_peak_rss(&s, &project);
    eprintln!("peak RSS {} MB for a {} MB event file", peak >> 20, size >> 20);
    assert!(peak < 200 << 20, "peak RSS {} MB for a {} MB event file", peak >> 20, size >> 20);
    let index = Index::open(&s.data(), &project).unwrap();
    let run = index.find_run("tb/run").unwrap();
    let loss = &run.metrics["loss"];
    assert_eq!((loss.count, loss.last_step, loss.last), (steps as u64, steps - 1, tb_value(steps - 1) as f64));
    assert_eq!(run.metrics["acc"].count, steps as u64);
}

/// Event files read in pieces, then a restart (`purge_step`) in a second file: TensorBoard's rule
/// still holds (the first file's points at or after the restart step are dropped), and the index
/// equals a fresh one.
#[test]
fn a_restart_after_pieces_purges_exactly() {
    let s = Scratch::new();
    let project = s.project();
    let dir = project.join("tb/run");
    std::fs::create_dir_all(&dir).unwrap();
    write_events(&dir.join("events.out.tfevents.1700000000.host"), 0..200_000, None);
    assert!(std::fs::metadata(dir.join("events.out.tfevents.1700000000.host")).unwrap().len() > 3 * (4 << 20));
    let (mut index, _) = open_and_scan(&s.data(), &project);
    assert_eq!(index.find_run("tb/run").unwrap().metrics["loss"].count, 200_000);
    write_events(&dir.join("events.out.tfevents.1700000500.host"), 150_000..160_000, Some(150_000));
    scan(&mut index);
    let run = index.find_run("tb/run").unwrap();
    let pts = index.series(run.uid, "loss").unwrap();
    let steps: Vec<i64> = pts.iter().map(|p| p.step).collect();
    assert_eq!(steps, (0..160_000).collect::<Vec<_>>(), "steps 150,000 on come from the restart only");
    assert_eq!(dump(&index), fresh_dump(&project));
}

/// Reliability case 23 for pieces: `kill -9` in the middle of a big log, five times at different
/// moments, then one scan to the end: the index is whole, every point once, equal to a fresh one.
#[cfg(unix)]
#[test]
fn killed_between_pieces_the_next_scan_resumes_exactly() {
    let s = Scratch::new();
    let project = s.project();
    write_log(&project.join("big.jsonl"), 1_000_000, true);
    let index_cmd = |data: &Path| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_runlens"));
        c.arg("--data-dir").arg(data).args(["index", "-q"]).arg(&project);
        c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        c
    };
    for i in 0..5u64 {
        let mut child = index_cmd(&s.data()).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200 + 300 * i));
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
    }
    assert!(index_cmd(&s.data()).status().unwrap().success());
    let fresh = Scratch::new();
    assert!(index_cmd(&fresh.data()).status().unwrap().success());
    let runs = |data: &Path| -> String {
        let o = Command::new(env!("CARGO_BIN_EXE_runlens"))
            .arg("--data-dir")
            .arg(data)
            .args(["runs", "--no-refresh", "--format", "json"])
            .arg(&project)
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap()
    };
    let got = runs(&s.data());
    assert!(got.contains("\"count\":1000000"), "{got}");
    assert_eq!(got, runs(&fresh.data()));
    let index = Index::open(&s.data(), &project).unwrap();
    let check: String = index.connection().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}
