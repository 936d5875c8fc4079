//! S2, Runlens side: live-tail latency from a write to a point you can query.
//!
//! `--runs` TensorBoard runs each append `--tags` scalars (one event per scalar, as tensorboardX's
//! add_scalar writes them, flushed) every `--interval-ms`. `runlens watch --format json` runs
//! beside them; it prints a points line only after the transaction holding the points committed,
//! so the time from the write returning to the line arriving is the write-to-queryable latency.
//! Every step of every run is matched (a line with last_step >= s covers step s of that run).
//! Then the writers stop and the watcher's CPU time is read over `--idle-s` seconds (Linux).
//!
//!     cargo build --release -p runlens && cargo run --release -p runlens-core --example live_bench -- \
//!         --bin target/release/runlens --dir /scratch/bench/s2 [--runs 100] [--tags 16] \
//!         [--interval-ms 100] [--seconds 30] [--idle-s 10] [--out s2.json]
//!
//! `--write-only LOG` only writes (no watcher) and logs `run step unix_ms` per write to LOG, for a
//! peer measured by another program (bench/s2_peer.py: TensorBoard's data server).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prost::Message;
use runlens_core::formats::frame;
use runlens_core::formats::{Event, Summary, Value};

/// Wall time of step 0 (seconds), in every run.
const WALL0: f64 = 1.7e9;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn num(args: &[String], name: &str, default: u64) -> u64 {
    arg(args, name).map_or(default, |v| v.parse().expect("a number"))
}

fn event(step: i64, wall: f64, tag: &str, v: f32) -> Vec<u8> {
    let value = Value { tag: tag.into(), simple_value: Some(v), ..Default::default() };
    frame(
        &Event { wall_time: wall, step, summary: Some(Summary { value: vec![value] }), ..Default::default() }
            .encode_to_vec(),
    )
}

/// CPU seconds (user + system) a process used so far.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().ok()? + fields[12].parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

/// Every `interval` for `seconds`, appends one step of every tag to every run's file (one write
/// per run), then calls `wrote(run, step, bytes)`. Returns the number of steps written.
fn write_steps(
    files: &mut [std::fs::File],
    tag_names: &[String],
    interval: Duration,
    seconds: u64,
    mut wrote: impl FnMut(usize, i64, usize),
) -> i64 {
    let started = Instant::now();
    let mut step = 0i64;
    let tags = tag_names.len();
    while started.elapsed() < Duration::from_secs(seconds) {
        let tick = Instant::now();
        for (r, f) in files.iter_mut().enumerate() {
            let wall = WALL0 + step as f64 * 0.1;
            let mut buf = Vec::with_capacity(tags * 48);
            for (t, name) in tag_names.iter().enumerate() {
                let v = 1.0 / (1.0 + step as f32 * 0.01) + (r * tags + t) as f32 * 1e-4;
                buf.extend(event(step, wall, name, v));
            }
            f.write_all(&buf).unwrap();
            wrote(r, step, buf.len());
        }
        step += 1;
        if let Some(rest) = interval.checked_sub(tick.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    step
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bin = PathBuf::from(arg(&args, "--bin").unwrap_or_else(|| "target/release/runlens".into()));
    let dir = PathBuf::from(arg(&args, "--dir").expect("--dir DIR"));
    let runs = num(&args, "--runs", 100) as usize;
    let tags = num(&args, "--tags", 16) as usize;
    let interval = Duration::from_millis(num(&args, "--interval-ms", 100));
    let seconds = num(&args, "--seconds", 30);
    let idle_s = num(&args, "--idle-s", 10);
    let data = dir.with_extension("data");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&data);
    let tag_names: Vec<String> =
        (0..tags).map(|t| if t == 0 { "train/loss".into() } else { format!("m/tag{t:02}") }).collect();
    let mut files = Vec::new();
    for r in 0..runs {
        let d = dir.join(format!("run_{r:04}"));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("events.out.tfevents.1700000000.bench");
        let version = Event { wall_time: WALL0, file_version: Some("brain.Event:2".into()), ..Default::default() };
        std::fs::write(&p, frame(&version.encode_to_vec())).unwrap();
        files.push(std::fs::OpenOptions::new().append(true).open(&p).unwrap());
    }

    if let Some(log) = arg(&args, "--write-only") {
        let mut log = std::io::BufWriter::new(std::fs::File::create(log).unwrap());
        write_steps(&mut files, &tag_names, interval, seconds, |r, step, _| {
            let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64() * 1000.0;
            writeln!(log, "{r} {step} {ms:.3}").unwrap();
        });
        log.flush().unwrap();
        return;
    }
    let mut child = Command::new(&bin)
        .arg("--data-dir")
        .arg(&data)
        .args(["watch", dir.to_str().unwrap(), "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start runlens watch");
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 && !line.contains("watching ") {
        line.clear();
    }
    eprintln!("{}", line.trim());
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::stderr()));

    // (run index, step) -> when the write returned.
    let written: Arc<Mutex<HashMap<(usize, i64), Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let reader = {
        let (written, latencies) = (written.clone(), latencies.clone());
        std::thread::spawn(move || {
            let mut covered: Vec<i64> = vec![-1; runs];
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                let now = Instant::now();
                let v: serde_json::Value = serde_json::from_str(&l).expect("json line");
                if v["kind"] != "points" || v["key"] != "train/loss" {
                    continue;
                }
                let run = v["run"].as_str().unwrap();
                let r: usize = run.trim_start_matches("run_").parse().unwrap();
                let last = v["last_step"].as_i64().unwrap();
                let w = written.lock().unwrap();
                let mut lat = latencies.lock().unwrap();
                for s in covered[r] + 1..=last {
                    if let Some(t) = w.get(&(r, s)) {
                        lat.push(now.duration_since(*t).as_secs_f64() * 1000.0);
                    }
                }
                covered[r] = covered[r].max(last);
            }
        })
    };

    let cpu0 = cpu_seconds(pid);
    let started = Instant::now();
    let mut bytes = 0usize;
    let step = write_steps(&mut files, &tag_names, interval, seconds, |r, step, n| {
        bytes += n;
        written.lock().unwrap().insert((r, step), Instant::now());
    });
    let load_s = started.elapsed().as_secs_f64();
    let cpu_load = cpu_seconds(pid).zip(cpu0).map(|(a, b)| a - b);
    std::thread::sleep(Duration::from_secs(2)); // let the last writes land
    let cpu1 = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(idle_s));
    let cpu_idle = cpu_seconds(pid).zip(cpu1).map(|(a, b)| (a - b) / idle_s as f64 * 100.0);
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();

    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_by(f64::total_cmp);
    let expected = runs * step as usize;
    let result = serde_json::json!({
        "runs": runs, "tags": tags, "interval_ms": interval.as_millis() as u64, "seconds": load_s,
        "steps_per_run": step, "points_written": expected * tags, "bytes_written": bytes,
        "steps_matched": lat.len(), "steps_expected": expected,
        "latency_ms": {"p50": pct(&lat, 0.5), "p95": pct(&lat, 0.95), "p99": pct(&lat, 0.99), "max": lat.last().copied()},
        "watcher_cpu_percent_under_load": cpu_load.map(|c| c / load_s * 100.0),
        "watcher_cpu_percent_idle": cpu_idle,
        "load": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
    });
    println!("{}", serde_json::to_string_pretty(&result).unwrap());
    if let Some(out) = arg(&args, "--out") {
        std::fs::write(out, serde_json::to_string_pretty(&result).unwrap()).unwrap();
    }
}
