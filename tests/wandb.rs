//! W&B runs (offline and online run folders) against wandb's own reader of the `.wandb` log
//! (tests/fixtures/wandb/truth.json, from wandb's DataStore), and the growing, cut and damaged
//! logs a live or killed run leaves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use prost::Message;
use runlens_core::formats::Record;
use runlens_core::{Index, Point};
use serde_json::Value;

use crate::common::*;

fn truth() -> Value {
    read_json(&fixture("wandb/truth.json"))
}

/// A project holding a copy of the fixture's `wandb/` folder (only `runs`, when given).
fn project_with(s: &Scratch, runs: &[&str]) -> PathBuf {
    let project = s.project();
    let from = fixture("wandb/wandb");
    for e in std::fs::read_dir(&from).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if runs.is_empty() || runs.iter().any(|r| name.ends_with(r)) {
            copy_dir(&from.join(&name), &project.join("wandb").join(&name));
        }
    }
    project
}

/// Sets a file's modification time `secs` into the past.
fn age(path: &Path, secs: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs)).unwrap();
}

/// The 75 000-char config value of run b, as make_wandb.py builds it (truth.json has its hash).
fn long_text() -> String {
    (0..1500).map(|i| format!("{i:05} the quick brown fox jumps over the lazy dog\n")).collect()
}

/// A number as truth.json writes it (non-finite values are strings); None for other values.
fn truth_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if ["NaN", "Infinity", "-Infinity"].contains(&s.as_str()) => Some(tnum(v)),
        _ => None,
    }
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                flatten(&format!("{prefix}.{k}"), v, out);
            }
        }
        Value::String(s) if s.starts_with("<75000 chars, sha256 ") => {
            out.insert(prefix.to_string(), long_text());
        }
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// What Runlens should show of one truth run.
struct Expected {
    params: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    start: i64,
    end: Option<i64>,
    /// Metric key (nested keys joined with "/") -> (step, value, ts ms).
    series: BTreeMap<String, Vec<(i64, f64, f64)>>,
}

fn expected(tr: &Value, status: &str) -> Expected {
    let run = &tr["run"];
    let mut params = BTreeMap::new();
    for (k, v) in tr["config"].as_object().unwrap() {
        if !k.starts_with("_wandb") {
            flatten(k, v, &mut params);
        }
    }
    let mut tags = BTreeMap::new();
    let s = |v: &Value| v.as_str().unwrap().to_string();
    let run_tags: Vec<String> = run["tags"].as_array().unwrap().iter().map(s).collect();
    if !run_tags.is_empty() {
        tags.insert("wandb.tags".into(), run_tags.join(", "));
    }
    for (tag, field) in [
        ("mlflow.note.content", "notes"),
        ("wandb.group", "run_group"),
        ("wandb.job_type", "job_type"),
        ("wandb.sweep_id", "sweep_id"),
        ("wandb.entity", "entity"),
        ("wandb.host", "host"),
    ] {
        if !s(&run[field]).is_empty() {
            tags.insert(tag.into(), s(&run[field]));
        }
    }
    tags.insert("wandb.mode".into(), "offline".into());
    if !tr["exit"].is_null() {
        tags.insert("wandb.exit_code".into(), tr["exit"]["exit_code"].to_string());
    }
    let start = run["start_time"]["seconds"].as_i64().unwrap() * 1000
        + run["start_time"]["nanos"].as_i64().unwrap() / 1_000_000;
    let history = tr["history"].as_array().unwrap();
    let last = history.last().unwrap();
    let last_ts = (last["_timestamp"].as_f64().unwrap() * 1000.0) as i64;
    let end = match status {
        "running" => None,
        "killed" => Some(last_ts),
        _ => Some((start + tr["exit"]["runtime"].as_i64().unwrap() * 1000).max(last_ts)),
    };
    // Truth names a key as wandb shows it ("eval.top1"); Runlens joins nested keys with "/".
    let mut ours: BTreeMap<String, String> = BTreeMap::new();
    for row in history {
        for item in row["items"].as_array().unwrap() {
            let nested: Vec<String> = item[1].as_array().unwrap().iter().map(s).collect();
            let (dotted, slashed) =
                if s(&item[0]).is_empty() { (nested.join("."), nested.join("/")) } else { (s(&item[0]), s(&item[0])) };
            ours.insert(dotted, slashed);
        }
    }
    let mut series = BTreeMap::new();
    for (dotted, ts) in tr["series"].as_object().unwrap() {
        let pts: Vec<(i64, f64, f64)> = ts["steps"]
            .as_array()
            .unwrap()
            .iter()
            .zip(ts["values"].as_array().unwrap())
            .zip(ts["timestamps"].as_array().unwrap())
            .filter_map(|((st, v), t)| Some((st.as_i64().unwrap(), truth_number(v)?, t.as_f64().unwrap() * 1000.0)))
            .collect();
        if !pts.is_empty() {
            series.insert(ours[dotted].clone(), pts);
        }
    }
    // A numeric summary key that no history row has: one point at the last step, no time.
    let last_step = last["_step"].as_i64().unwrap();
    for (k, v) in tr["summary"].as_object().unwrap() {
        let in_history = tr["series"].as_object().unwrap().keys().any(|d| d == k || d.starts_with(&format!("{k}.")));
        if !k.starts_with('_') && !in_history {
            if let Some(x) = truth_number(v) {
                series.insert(k.clone(), vec![(last_step, x, f64::NAN)]);
            }
        }
    }
    Expected { params, tags, start, end, series }
}

fn check_run(index: &Index, id: &str, tr: &Value, status: &str) {
    let path = tr["dir"].as_str().unwrap();
    let e = expected(tr, status);
    let run = index.run_detail(path).unwrap_or_else(|err| panic!("{path}: {err}")).run;
    assert_eq!(run.source, "wandb");
    assert_eq!(run.id, id);
    assert_eq!(run.name.as_deref(), tr["run"]["display_name"].as_str(), "{id}: name");
    assert_eq!(run.experiment.as_deref(), tr["run"]["project"].as_str(), "{id}: experiment");
    assert_eq!(run.status.as_deref(), Some(status), "{id}: status");
    assert_eq!(run.start_time, Some(e.start), "{id}: start");
    assert_eq!(run.end_time, e.end, "{id}: end");
    assert_eq!(run.params, e.params, "{id}: params");
    assert_eq!(run.tags, e.tags, "{id}: tags");
    assert_eq!(run.metrics.keys().collect::<Vec<_>>(), e.series.keys().collect::<Vec<_>>(), "{id}: metric keys");
    for (key, want) in &e.series {
        let got = index.series(run.uid, key).unwrap();
        assert_eq!(got.len(), want.len(), "{id} {key}: point count");
        for (i, (p, w)) in got.iter().zip(want).enumerate() {
            assert_eq!(p.step, w.0, "{id} {key}: step of point {i}");
            assert!(same(p.value, w.1), "{id} {key}: value of point {i}: {} vs {}", p.value, w.1);
            assert!(same(p.ts, w.2), "{id} {key}: time of point {i}: {} vs {}", p.ts, w.2);
        }
        assert_eq!(run.metrics[key].count, want.len() as u64);
    }
}

#[test]
fn every_run_equals_wandbs_reader() {
    let truth = truth();
    let runs = truth["runs"].as_object().unwrap();
    let s = Scratch::new();
    let project = project_with(&s, &[]);
    // Run c was killed: its log has not changed for an hour.
    age(&project.join(runs["rlfixc003"]["file"].as_str().unwrap()), 3600);
    let (index, report) = open_and_scan(&s.data(), &project);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    assert_eq!(report.runs_by_source.get("wandb"), Some(&4));
    for (id, tr) in runs {
        let status = match tr["exit"]["exit_code"].as_i64() {
            Some(0) => "finished",
            Some(_) => "failed",
            None => "killed",
        };
        check_run(&index, id, tr, status);
    }
    // What the mapping decided, spelled out for run a.
    let a = index.run_detail("rlfixa001").unwrap().run;
    assert_eq!(a.params["optimizer.lr"], "0.001");
    assert_eq!(a.params["optimizer.betas"], "[0.9,0.999]");
    assert_eq!(a.params["finished_epochs"], "6", "a config update after init");
    assert!(!a.params.keys().any(|k| k.starts_with("_wandb")));
    assert_eq!(a.tags["wandb.tags"], "baseline, adam, fixture");
    assert_eq!(a.metrics["eval/top1"].count, 1);
    assert!(
        !a.metrics.contains_key("phase") && !a.metrics.contains_key("is_best"),
        "strings and bools are not metrics"
    );
    assert_eq!(a.metrics["train/grad_norm"].count, 12, "NaN and ±inf are points");
    assert_eq!(a.metrics["train/acc"].count, 300, "a hand-set summary does not add a point");
    assert_ne!(a.metrics["train/acc"].last, 0.5);
    assert_eq!((a.metrics["best_acc"].count, a.metrics["best_acc"].last_step), (1, 320), "summary only");
    assert!(!a.metrics.contains_key("val/loss/min"), "a define_metric summary is not a metric");
    let b = index.run_detail("rlfixb002").unwrap().run;
    assert_eq!(b.params["long_text"].len(), 75_000, "the record over three blocks");
    let d = index.run_detail("rlfixd004").unwrap().run;
    assert_eq!(d.metrics["big"].last, 2f64.powi(70));
    assert_eq!(d.metrics["nested/b/c"].last, 0.5);
}

#[test]
fn a_run_without_an_exit_record_is_running_until_its_log_is_quiet() {
    let truth = truth();
    let c = &truth["runs"]["rlfixc003"];
    let s = Scratch::new();
    let project = project_with(&s, &["rlfixc003"]);
    let log = project.join(c["file"].as_str().unwrap());
    let (mut index, _) = open_and_scan(&s.data(), &project);
    check_run(&index, "rlfixc003", c, "running");
    assert_eq!(index.run_detail("rlfixc003").unwrap().run.metrics["train/loss"].count, 106, "the whole records");
    let again = scan(&mut index);
    assert_eq!(again.units_read, 0, "nothing changed");
    // No file changes; the time since the last write does.
    age(&log, 3600);
    let later = scan(&mut index);
    assert_eq!((later.units_read, later.points), (1, 0));
    check_run(&index, "rlfixc003", c, "killed");
    assert_eq!(dump(&index), fresh_dump(&project));
    assert_eq!(scan(&mut index).units_read, 0);
}

/// (first chunk offset, end offset, payload) of every whole record, walked as the fixture's
/// README describes the framing.
fn records(bytes: &[u8]) -> Vec<(usize, usize, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 7;
    let mut cur: Option<(usize, Vec<u8>)> = None;
    while pos < bytes.len() {
        let left = 32768 - pos % 32768;
        if left < 7 {
            pos += left;
            continue;
        }
        if bytes.len() - pos < 7 {
            break;
        }
        let len = u16::from_le_bytes([bytes[pos + 4], bytes[pos + 5]]) as usize;
        if pos + 7 + len > bytes.len() {
            break;
        }
        let payload = &bytes[pos + 7..pos + 7 + len];
        match bytes[pos + 6] {
            1 => out.push((pos, pos + 7 + len, payload.to_vec())),
            2 => cur = Some((pos, payload.to_vec())),
            3 => cur.as_mut().unwrap().1.extend(payload),
            4 => {
                let (start, mut p) = cur.take().unwrap();
                p.extend(payload);
                out.push((start, pos + 7 + len, p));
            }
            t => panic!("chunk type {t} at {pos}"),
        }
        pos += 7 + len;
    }
    out
}

/// Whether a record is a history row with `train/loss`.
fn has_loss(payload: &[u8]) -> bool {
    Record::decode(payload).unwrap().history.is_some_and(|h| h.item.iter().any(|i| i.nested_key == ["train/loss"]))
}

fn loss_count(index: &Index, id: &str) -> u64 {
    index.run_detail(id).unwrap().run.metrics.get("train/loss").map_or(0, |m| m.count)
}

/// Replaces a file (a new file id, so the next scan reads it from the start).
fn put(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn append_bytes(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    std::fs::OpenOptions::new().append(true).open(path).unwrap().write_all(bytes).unwrap();
}

/// The log of run `id` cut at each offset in `cuts`: what is whole is read, nothing is reported,
/// and once the rest arrives the index equals a fresh one.
fn cut_and_resume(id: &str, cuts: impl Iterator<Item = usize>) {
    let truth = truth();
    let rel = truth["runs"][id]["file"].as_str().unwrap().to_string();
    let s = Scratch::new();
    let whole_project = project_with(&s, &[id]);
    let whole = std::fs::read(whole_project.join(&rel)).unwrap();
    let complete = fresh_dump(&whole_project);
    let recs = records(&whole);
    let project = s.dir.path().join("growing");
    std::fs::create_dir_all(project.join(&rel).parent().unwrap()).unwrap();
    let file = project.join(&rel);
    let mut index = Index::open(&s.dir.path().join("data2"), &project).unwrap();
    for cut in cuts {
        std::fs::write(&file, &whole[..cut]).unwrap(); // in place: it grows from empty
        touch_later(&file);
        scan(&mut index);
        let want = recs.iter().filter(|r| r.1 <= cut && has_loss(&r.2)).count() as u64;
        assert_eq!(loss_count(&index, id), want, "cut at byte {cut}: the whole records, no more");
        if cut >= 7 {
            assert!(
                messages(&index).is_empty(),
                "cut at byte {cut}: a cut record is not an error: {:?}",
                messages(&index)
            );
        } else {
            // Not even the 7-byte header yet: one warning says so.
            let m = messages(&index);
            assert!(
                m.len() == 1 && (m[0].contains("the log is empty") || m[0].contains("bytes, not yet a whole")),
                "{m:?}"
            );
        }
        append_bytes(&file, &whole[cut..]);
        scan(&mut index);
        assert_eq!(dump(&index), complete, "cut at byte {cut}");
        // The next cut starts from the file truncated in place: it shrank, so it is read again.
        std::fs::write(&file, b"").unwrap();
        touch_later(&file);
        scan(&mut index);
        assert_eq!(loss_count(&index, id), 0, "cut at byte {cut}: a shrunk file is read from the start");
    }
}

#[test]
fn a_log_cut_anywhere_in_its_last_200_bytes_resumes_to_the_whole_file() {
    let len = truth()["runs"]["rlfixa001"]["file_size"].as_u64().unwrap() as usize;
    cut_and_resume("rlfixa001", len - 200..len);
}

#[test]
fn a_record_over_three_blocks_resumes_from_its_first_chunk() {
    // Run b's run record: FIRST at 92, MIDDLE at 32768, LAST at 65536 (77 KB); then its tail.
    let len = truth()["runs"]["rlfixb002"]["file_size"].as_u64().unwrap() as usize;
    let cuts = (0..80_000).step_by(4_999).chain([32_767, 32_768, 32_775, 65_536, 65_543]).chain(len - 40..len);
    cut_and_resume("rlfixb002", cuts);
}

#[test]
fn damage_is_named_with_its_byte_offset_and_the_rest_is_kept() {
    let truth = truth();
    let tr = &truth["runs"]["rlfixa001"];
    let rel = tr["file"].as_str().unwrap();
    let s = Scratch::new();
    let project = project_with(&s, &["rlfixa001"]);
    let file = project.join(rel);
    let whole = std::fs::read(&file).unwrap();
    let recs = records(&whole);
    let losses = recs.iter().filter(|r| has_loss(&r.2)).count() as u64;
    assert_eq!(losses, 300);
    // A payload byte of a history row in block 1: that row is lost.
    let (at, end, _) = recs.iter().find(|r| r.0 > 40_000 && r.1 - r.0 < 32_000 && has_loss(&r.2)).unwrap().clone();
    let mut bad = whole.clone();
    bad[at + 7 + 5] ^= 0x20;
    put(&file, &bad);
    let (mut index, _) = open_and_scan(&s.data(), &project);
    assert_eq!(loss_count(&index, "rlfixa001"), 299);
    assert_eq!(
        messages(&index),
        [format!(
            "{rel}: 1 damaged part(s) skipped; the first: a chunk of {} bytes at byte {at} fails its checksum",
            end - at - 7
        )]
    );
    assert_eq!(index.run_detail("rlfixa001").unwrap().run.status.as_deref(), Some("finished"));
    // Nothing changed: not read again.
    assert_eq!(scan(&mut index).units_read, 0);

    // An impossible chunk type in block 0: the rest of that block is lost, later blocks are read.
    let (at0, _, _) = recs.iter().find(|r| r.0 > 20_000 && r.1 < 32_768 && has_loss(&r.2)).unwrap().clone();
    let mut bad = whole.clone();
    bad[at0 + 6] = 9;
    put(&file, &bad);
    scan(&mut index);
    let kept = recs.iter().filter(|r| (r.1 <= at0 || r.0 >= 32_768) && has_loss(&r.2)).count() as u64;
    assert_eq!(loss_count(&index, "rlfixa001"), kept);
    assert!(kept > 200 && kept < 300, "{kept}");
    assert_eq!(
        messages(&index),
        [format!("{rel}: 1 damaged part(s) skipped; the first: a chunk of unknown type 9 at byte {at0}: the rest of its block is skipped")]
    );
    assert_eq!(dump(&index), fresh_dump(&project));

    // Damage found while the file grows is reported once, as a fresh read reports it.
    put(&file, &bad[..100_000]);
    scan(&mut index);
    append_bytes(&file, &bad[100_000..]);
    scan(&mut index);
    assert_eq!(messages(&index).len(), 1);
    assert_eq!(dump(&index), fresh_dump(&project));

    // Not a W&B log at all: one warning, nothing read.
    let mut bad = whole.clone();
    bad[1] = b'X';
    put(&file, &bad);
    scan(&mut index);
    assert_eq!(loss_count(&index, "rlfixa001"), 0);
    assert_eq!(
        messages(&index),
        [format!(
            "{rel}: not a W&B log: it starts with 3a582642e1be00, not 3a572642e1be00 (\":W&B\", 0xBEE1, version 0); not read"
        )]
    );
    append_bytes(&file, b"more");
    scan(&mut index);
    assert_eq!(messages(&index).len(), 1);
    assert_eq!(dump(&index), fresh_dump(&project));
}

#[test]
fn the_wandb_folders_bookkeeping_is_not_read() {
    let s = Scratch::new();
    let project = project_with(&s, &["rlfixd004"]);
    let wandb = project.join("wandb");
    let run = std::fs::read_dir(&wandb).unwrap().next().unwrap().unwrap().path();
    // What a real run folder holds besides the log (make_wandb.py deletes it from the fixture).
    std::fs::create_dir_all(run.join("logs")).unwrap();
    std::fs::write(run.join("logs/debug-internal.log"), "{\"time\":\"...\",\"level\":\"INFO\"}\n").unwrap();
    std::fs::write(run.join("logs/debug.log"), "2026-11-27 14:46:12 INFO setup\n").unwrap();
    std::fs::create_dir_all(run.join("tmp/code")).unwrap();
    // Files a script saved with wandb.save: part of the run, not runs of their own.
    std::fs::write(run.join("files/metrics.csv"), "step,loss\n0,1.0\n1,0.5\n").unwrap();
    std::fs::write(run.join("files/history.jsonl"), "{\"step\": 0, \"x\": 1}\n").unwrap();
    // wandb/ itself: settings, a sweep folder, and a run folder of a W&B before the .wandb log.
    std::fs::write(wandb.join("settings"), "[default]\n").unwrap();
    std::fs::create_dir_all(wandb.join("sweep-abc123")).unwrap();
    std::fs::write(wandb.join("sweep-abc123/config-rlfixd004.yaml"), "lr:\n  value: 0.1\n").unwrap();
    std::fs::create_dir_all(wandb.join("run-20200101_000000-old1/files")).unwrap();
    std::fs::write(wandb.join("run-20200101_000000-old1/wandb-history.jsonl"), "{\"_step\": 0, \"x\": 1}\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        symlink(&run, wandb.join("latest-run")).unwrap();
        symlink(run.join("logs/debug.log"), wandb.join("debug.log")).unwrap();
        symlink(run.join("logs/debug-internal.log"), wandb.join("debug-internal.log")).unwrap();
    }
    // A run folder copied out of wandb/ is still a W&B run.
    copy_dir(&run, &project.join("archive").join(run.file_name().unwrap()));
    let (index, report) = open_and_scan(&s.data(), &project);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    assert_eq!(report.runs_by_source, BTreeMap::from([("wandb".to_string(), 2)]));
    let paths: BTreeSet<String> = all_runs(&index).into_iter().map(|r| r.path).collect();
    let name = run.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(paths, BTreeSet::from([format!("wandb/{name}"), format!("archive/{name}")]));
}

#[test]
fn config_yaml_and_summary_json_add_what_the_log_lacks() {
    let s = Scratch::new();
    let project = project_with(&s, &["rlfixd004"]);
    let run = std::fs::read_dir(project.join("wandb")).unwrap().next().unwrap().unwrap().path();
    std::fs::write(
        run.join("files/config.yaml"),
        "wandb_version: 1\n_wandb:\n  desc: null\n  value:\n    cli_version: 0.17.0\nlr:\n  desc: null\n  value: 0.01\nmodel:\n  desc: null\n  value:\n    depth: 4\n",
    )
    .unwrap();
    let summary = run.join("files/wandb-summary.json");
    std::fs::write(&summary, r#"{"final_score": 0.75, "train/loss": 9, "_runtime": 3, "worst": -Infinity}"#).unwrap();
    let (mut index, report) = open_and_scan(&s.data(), &project);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    let r = index.run_detail("rlfixd004").unwrap().run;
    assert_eq!((r.params["lr"].as_str(), r.params["model.depth"].as_str()), ("0.01", "4"));
    assert!(!r.params.keys().any(|k| k.starts_with("_wandb") || k == "wandb_version"));
    let pts = |index: &Index, key: &str| -> Vec<Point> {
        let r = index.run_detail("rlfixd004").unwrap().run;
        index.series(r.uid, key).unwrap()
    };
    let fs = pts(&index, "final_score");
    assert_eq!((fs.len(), fs[0].step, fs[0].value), (1, 19, 0.75));
    assert!(fs[0].ts.is_nan());
    assert_eq!(pts(&index, "worst")[0].value, f64::NEG_INFINITY);
    assert_eq!(r.metrics["train/loss"].count, 20, "the history wins over the summary file");
    // The summary file changes while the log does not.
    std::fs::write(&summary, r#"{"final_score": 0.5}"#).unwrap();
    touch_later(&summary);
    scan(&mut index);
    assert_eq!(pts(&index, "final_score")[0].value, 0.5);
    assert!(!index.run_detail("rlfixd004").unwrap().run.metrics.contains_key("worst"));
    assert_eq!(dump(&index), fresh_dump(&project));
    std::fs::write(&summary, "{not json").unwrap();
    touch_later(&summary);
    scan(&mut index);
    let rel = format!("wandb/{}/files/wandb-summary.json", run.file_name().unwrap().to_string_lossy());
    assert_eq!(messages(&index), [format!("{rel}: invalid JSON")]);
    std::fs::remove_file(&summary).unwrap();
    scan(&mut index);
    assert!(messages(&index).is_empty());
    assert_eq!(dump(&index), fresh_dump(&project));
}

/// A zero-byte or headerless `.wandb` log (wandb crashed before writing, or is just starting) is a
/// run with a warning that says so, not a silent "killed" run.
#[test]
fn an_empty_or_headerless_log_is_a_run_with_a_warning() {
    let s = Scratch::new();
    let project = s.project();
    for (id, bytes) in [("empty0001", &b""[..]), ("short0001", &b":W&"[..])] {
        let dir = project.join(format!("wandb/offline-run-20260101_000000-{id}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("run-{id}.wandb")), bytes).unwrap();
    }
    let (index, report) = open_and_scan(&s.data(), &project);
    assert_eq!(report.runs, 2);
    let msgs = messages(&index);
    assert!(
        msgs.iter().any(|m| m.contains("run-empty0001.wandb") && m.contains("the log is empty (0 bytes)")),
        "{msgs:?}"
    );
    assert!(msgs.iter().any(|m| m.contains("run-short0001.wandb") && m.contains("only 3 bytes")), "{msgs:?}");
}
