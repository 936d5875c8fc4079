//! TensorBoard event files against TensorBoard's own reader (EventMultiplexer with every point
//! kept, tests/fixtures/{p3,tb}/truth.json), and the broken-file cases 10-13 of reliability.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prost::Message;
use runlens_core::formats::frame;
use runlens_core::formats::{Event, SessionLog, Summary, Value as PbValue, SESSION_START};
use runlens_core::Index;
use serde_json::Value;

use crate::common::*;

/// Every point against truth, timestamps as wall_time seconds (stored as milliseconds).
fn assert_tb_series(what: &str, got: &[runlens_core::Point], truth: &Value) {
    let steps = truth["step"].as_array().unwrap();
    let values = truth["value"].as_array().unwrap();
    let stamps = truth["timestamp"].as_array().unwrap();
    assert_eq!(got.len(), steps.len(), "{what}: point count");
    for (i, p) in got.iter().enumerate() {
        assert_eq!(p.step, steps[i].as_i64().unwrap(), "{what}: step of point {i}");
        assert!(same(p.value, tnum(&values[i])), "{what}: value of point {i}: {} vs {}", p.value, values[i]);
        assert_eq!(p.ts, stamps[i].as_f64().unwrap() * 1000.0, "{what}: time of point {i}");
    }
}

fn check_scalars(what: &str, index: &Index, run: &runlens_core::RunRow, scalars: &serde_json::Map<String, Value>) {
    for (key, stats) in scalars {
        let m = run.metrics.get(key).unwrap_or_else(|| panic!("{what}: metric {key} missing"));
        assert_eq!(m.count, stats["count"].as_u64().unwrap(), "{what} {key}: count");
        assert_eq!(m.first_step, stats["first"]["step"].as_i64().unwrap(), "{what} {key}: first step");
        assert_eq!(m.last_step, stats["last"]["step"].as_i64().unwrap(), "{what} {key}: last step");
        assert!(same(m.last, tnum(&stats["last"]["value"])), "{what} {key}: last");
        assert_eq!(m.min, stats["min"].as_f64(), "{what} {key}: min");
        assert_eq!(m.max, stats["max"].as_f64(), "{what} {key}: max");
        assert_tb_series(&format!("{what} {key}"), &index.series(run.uid, key).unwrap(), &stats["series"]);
    }
}

/// A param as Runlens shows it against the hparam TensorBoard read (a number is a double there).
fn same_hparam(got: &str, truth: &Value) -> bool {
    match truth {
        Value::Number(n) => got.parse::<f64>().ok() == n.as_f64(),
        Value::Bool(b) => got == b.to_string(),
        // tensorboardX's truth gives Python's str() of the value: "64.0", "True".
        Value::String(s) => match (got.parse::<f64>(), s.parse::<f64>()) {
            (Ok(a), Ok(b)) => a == b,
            _ => got.eq_ignore_ascii_case(s),
        },
        _ => false,
    }
}

#[test]
fn tensorboardx_runs_equal_tensorboards_reader() {
    let s = Scratch::new();
    let project = fixture("p3");
    let truth = read_json(&project.join("truth.json"));
    let (index, _) = open_and_scan(&s.data(), &project);
    let runs = truth["tensorboard"]["runs"].as_object().unwrap();
    // add_hparams subfolders ("run_a/1795769632.9573932") are TensorBoard runs of their own; in
    // Runlens they are part of the run they belong to.
    let mut expected: BTreeMap<String, (serde_json::Map<String, Value>, serde_json::Map<String, Value>)> =
        BTreeMap::new();
    for (name, tr) in runs {
        let owner = match name.split_once('/') {
            Some((parent, _)) => format!("tb/{parent}"),
            None => format!("tb/{name}"),
        };
        let e = expected.entry(owner).or_default();
        e.0.extend(tr["scalars"].as_object().unwrap().clone());
        e.1.extend(tr["hparams"].as_object().unwrap().clone());
    }
    assert_eq!(expected.len(), 3);
    for (path, (scalars, hparams)) in &expected {
        let run = index.run_detail(path).unwrap_or_else(|e| panic!("{path}: {e}")).run;
        assert_eq!(run.source, "tensorboard");
        assert_eq!(run.metrics.keys().collect::<Vec<_>>(), scalars.keys().collect::<Vec<_>>(), "{path}: metric keys");
        check_scalars(path, &index, &run, scalars);
        assert_eq!(run.params.len(), hparams.len(), "{path}: params {:?}", run.params);
        for (k, v) in hparams {
            assert!(same_hparam(&run.params[k], v), "{path}: hparam {k}: {} vs {v}", run.params[k]);
        }
    }
    // run_b restarted at step 1000: TensorBoard's purge keeps exactly one point per step.
    let b = index.run_detail("tb/run_b").unwrap().run;
    assert_eq!(b.metrics["loss/train"].count, 2000);
}

#[test]
fn tf2_tensor_scalars_equal_tensorboards_reader() {
    let s = Scratch::new();
    let project = fixture("tb");
    let truth = read_json(&project.join("truth.json"));
    let (index, report) = open_and_scan(&s.data(), &project);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    let runs = truth["runs"].as_object().unwrap();
    assert_eq!(report.runs_by_source.get("tensorboard"), Some(&runs.len()));
    for (path, tr) in runs {
        let run = index.run_detail(path).unwrap_or_else(|e| panic!("{path}: {e}")).run;
        let scalars = tr["scalars"].as_object().unwrap();
        assert_eq!(run.metrics.keys().collect::<Vec<_>>(), scalars.keys().collect::<Vec<_>>(), "{path}: metric keys");
        check_scalars(path, &index, &run, scalars);
        let hparams = tr["hparams"].as_object().unwrap();
        assert_eq!(run.params.len(), hparams.len(), "{path}: params {:?}", run.params);
        for (k, v) in hparams {
            assert!(same_hparam(&run.params[k], v), "{path}: hparam {k}: {} vs {v}", run.params[k]);
        }
    }
    let train = index.run_detail("logs/fit/train").unwrap().run;
    assert_eq!(train.name.as_deref(), Some("fit/train"), "a split folder is named with its parent");
    assert_eq!(train.params["batch_size"], "64");
}

// ---- Broken and growing files (reliability.md cases 10-13) ----

fn event(step: i64, wall: f64, tag: &str, v: f32) -> Vec<u8> {
    let value = PbValue { tag: tag.into(), simple_value: Some(v), ..Default::default() };
    Event { wall_time: wall, step, summary: Some(Summary { value: vec![value] }), ..Default::default() }.encode_to_vec()
}

fn version_event(wall: f64) -> Vec<u8> {
    Event { wall_time: wall, file_version: Some("brain.Event:2".into()), ..Default::default() }.encode_to_vec()
}

/// An event file of `n` loss points (steps 0..n), framed.
fn event_file(n: i64) -> Vec<u8> {
    let mut out = frame(&version_event(1.7e9));
    for s in 0..n {
        out.extend(frame(&event(s, 1.7e9 + s as f64, "loss", 1.0 / (1.0 + s as f32))));
    }
    out
}

fn run_dir(project: &Path) -> PathBuf {
    let d = project.join("runs/exp1");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn loss(index: &Index) -> (u64, i64) {
    let r = index.run_detail("runs/exp1").unwrap().run;
    r.metrics.get("loss").map_or((0, -1), |m| (m.count, m.last_step))
}

#[test]
fn a_file_cut_anywhere_in_its_last_record_resumes_to_the_whole_file() {
    let whole = event_file(20);
    let last_start = whole.len() - frame(&event(19, 0.0, "loss", 0.0)).len();
    let s = Scratch::new();
    let project = s.project();
    let file = run_dir(&project).join("events.out.tfevents.1700000000.host");
    let complete = fresh_dump(&{
        let p = s.dir.path().join("whole");
        std::fs::create_dir_all(p.join("runs/exp1")).unwrap();
        std::fs::write(p.join("runs/exp1/events.out.tfevents.1700000000.host"), &whole).unwrap();
        p
    });
    let mut index = Index::open(&s.data(), &project).unwrap();
    for cut in last_start..whole.len() {
        std::fs::write(&file, &whole[..cut]).unwrap();
        touch_later(&file);
        scan(&mut index);
        assert_eq!(loss(&index), (19, 18), "cut at byte {cut}: the 19 whole records, no more");
        assert!(messages(&index).is_empty(), "cut at byte {cut}: a cut record is not an error");
        common_append(&file, &whole[cut..]);
        let r = scan(&mut index);
        assert_eq!(r.points, 1, "cut at byte {cut}: only the completed record is read");
        assert_eq!(dump(&index), complete, "cut at byte {cut}");
        // Start the next cut from a fresh file state: the file is rewritten shorter.
        std::fs::write(&file, b"").unwrap();
        touch_later(&file);
        scan(&mut index);
    }
}

fn common_append(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    std::fs::OpenOptions::new().append(true).open(path).unwrap().write_all(bytes).unwrap();
}

#[test]
fn a_bad_length_checksum_or_zero_tail_stops_the_file_with_a_warning() {
    for (name, tail) in [
        ("zeros", vec![0u8; 64]),
        ("bad length crc", {
            let mut r = frame(&event(99, 1.7e9, "loss", 9.0));
            r[9] ^= 0x40;
            r
        }),
    ] {
        let s = Scratch::new();
        let project = s.project();
        let file = run_dir(&project).join("events.out.tfevents.1700000000.host");
        let mut bytes = event_file(10);
        bytes.extend(&tail);
        bytes.extend(frame(&event(10, 1.7e9, "loss", 0.5))); // after the break: never read
        std::fs::write(&file, &bytes).unwrap();
        let (mut index, _) = open_and_scan(&s.data(), &project);
        assert_eq!(loss(&index), (10, 9), "{name}: earlier data kept");
        let msgs = messages(&index);
        assert_eq!(msgs.len(), 1, "{name}: {msgs:?}");
        let at = event_file(10).len();
        assert!(msgs[0].starts_with("runs/exp1/events.out.tfevents.1700000000.host: "), "{msgs:?}");
        assert!(msgs[0].contains(&format!("at byte {at}: the rest of the file is not read")), "{msgs:?}");
        // Nothing changed: nothing is read again, and the warning is not repeated.
        let again = scan(&mut index);
        assert_eq!((again.units_read, again.points), (0, 0), "{name}: no busy loop");
        common_append(&file, &frame(&event(11, 1.7e9, "loss", 0.25)));
        scan(&mut index);
        assert_eq!(messages(&index), msgs, "{name}: one warning, not one per change");
        assert_eq!(loss(&index), (10, 9));
        assert_eq!(dump(&index), fresh_dump(&project), "{name}");
    }
}

#[test]
fn a_bad_record_is_skipped_and_counted() {
    let s = Scratch::new();
    let project = s.project();
    let file = run_dir(&project).join("events.out.tfevents.1700000000.host");
    let mut bytes = frame(&version_event(1.7e9));
    bytes.extend(frame(&event(0, 1.7e9, "loss", 1.0)));
    let bad_at = bytes.len();
    let mut bad = frame(&event(1, 1.7e9, "loss", 2.0));
    let n = bad.len();
    bad[n - 6] ^= 0x01; // data checksum fails
    bytes.extend(bad);
    bytes.extend(frame(b"\xff\xff\xff\xff not a protobuf"));
    bytes.extend(frame(&event(3, f64::NAN, "loss", 4.0)));
    bytes.extend(frame(&event(4, 1.7e9, "loss", 5.0)));
    std::fs::write(&file, &bytes).unwrap();
    let (index, _) = open_and_scan(&s.data(), &project);
    let pts: Vec<(i64, f64)> = {
        let r = index.run_detail("runs/exp1").unwrap().run;
        index.series(r.uid, "loss").unwrap().iter().map(|p| (p.step, p.value)).collect()
    };
    assert_eq!(pts, vec![(0, 1.0), (4, 5.0)]);
    let msgs = messages(&index);
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(
        msgs[0].contains(&format!(
            "3 record(s) skipped; the first: a record of {} bytes at byte {bad_at} fails its data checksum",
            n - 16
        )),
        "{msgs:?}"
    );
}

#[test]
fn an_absurd_record_length_is_an_error_not_an_allocation() {
    let s = Scratch::new();
    let project = s.project();
    let file = run_dir(&project).join("events.out.tfevents.1700000000.host");
    let mut bytes = event_file(3);
    let len = (1u64 << 63).to_le_bytes();
    bytes.extend(len);
    bytes.extend(runlens_core::formats::masked_crc(&len).to_le_bytes());
    bytes.extend([0u8; 32]);
    std::fs::write(&file, &bytes).unwrap();
    let (index, _) = open_and_scan(&s.data(), &project);
    assert_eq!(loss(&index), (3, 2));
    let msgs = messages(&index);
    assert!(msgs[0].contains("a record length of 9223372036854775808 bytes, over the 256 MiB limit"), "{msgs:?}");
}

#[test]
fn appends_read_only_new_records_and_a_restart_purges_like_tensorboard() {
    let s = Scratch::new();
    let project = s.project();
    let dir = run_dir(&project);
    let first = dir.join("events.out.tfevents.1700000000.host");
    std::fs::write(&first, event_file(50)).unwrap();
    let (mut index, r1) = open_and_scan(&s.data(), &project);
    assert_eq!(r1.points, 50);
    let mut more = Vec::new();
    for s in 50..60 {
        more.extend(frame(&event(s, 1.7e9 + s as f64, "loss", 0.1)));
    }
    common_append(&first, &more);
    let r2 = scan(&mut index);
    assert_eq!((r2.points, loss(&index)), (10, (60, 59)), "only the appended records");
    // A restart from a checkpoint at step 40, in a new file (tensorboardX's purge_step).
    let mut restart = frame(&version_event(1.8e9));
    restart.extend(frame(
        &Event {
            wall_time: 1.8e9,
            step: 40,
            session_log: Some(SessionLog { status: SESSION_START }),
            ..Default::default()
        }
        .encode_to_vec(),
    ));
    for s in 40..45 {
        restart.extend(frame(&event(s, 1.8e9 + s as f64, "loss", 0.01)));
    }
    std::fs::write(dir.join("events.out.tfevents.1700000500.host"), &restart).unwrap();
    scan(&mut index);
    let r = index.run_detail("runs/exp1").unwrap().run;
    let pts = index.series(r.uid, "loss").unwrap();
    assert_eq!(pts.len(), 45, "steps 40..59 of the first file are purged");
    assert!(pts[40..].iter().all(|p| p.value == 0.01f32 as f64));
    assert_eq!(dump(&index), fresh_dump(&project));
}

/// A run folder opened as the project itself: its files are named without a leading "/", and
/// appends are read incrementally like anywhere else.
#[test]
fn a_run_folder_opened_as_the_project_reads_incrementally() {
    let s = Scratch::new();
    let project = s.project();
    let file = project.join("events.out.tfevents.1700000000.host");
    std::fs::write(&file, event_file(10)).unwrap();
    let (mut index, r1) = open_and_scan(&s.data(), &project);
    assert_eq!((r1.runs, r1.points), (1, 10));
    common_append(&file, &frame(&event(10, 1.7e9, "loss", 0.5)));
    let r2 = scan(&mut index);
    assert_eq!(r2.points, 1, "only the appended record");
    let mut bad = frame(&event(11, 1.7e9, "loss", 0.25));
    let n = bad.len();
    bad[n - 6] ^= 1;
    common_append(&file, &bad);
    scan(&mut index);
    let msgs = messages(&index);
    assert!(
        msgs.len() == 1 && msgs[0].starts_with("events.out.tfevents.1700000000.host: 1 record(s) skipped"),
        "{msgs:?}"
    );
    assert_eq!(dump(&index), fresh_dump(&project));
}
