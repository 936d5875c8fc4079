//! Inputs the fuzzers found (fuzz/regressions/<target>/*), replayed through the public API: the bytes
//! become files of a temporary project that is scanned, as a user's would be. The fuzz harnesses
//! (crates/core/src/fuzzing.rs, behind the `fuzzing` feature) call the readers directly; these
//! replays take the same input layout (see there) to the same readers through `Index::scan`.
//! The seeds (fuzz/seeds/<target>/*) of the targets replayed here run too, as a smoke test.
//! Replay one input in the fuzz harness: `cargo run --manifest-path fuzz/Cargo.toml --release
//! --bin TARGET < FILE` (or scripts/fuzz.sh, which keeps the crash inputs in fuzz/artifacts/).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use runlens_core::{Index, RunQuery, ScanOptions};

use crate::common::{all_runs, messages, open_and_scan, repo_path, Scratch};

/// The files of fuzz/<dir>/<target>/, sorted.
fn inputs(dir: &str, target: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(repo_path(&format!("fuzz/{dir}/{target}"))) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

/// (run path, key) → the series' (step, value bits, ts bits).
type AllSeries = BTreeMap<(String, String), Vec<(i64, u64, u64)>>;

/// Every series of the index.
fn series(index: &Index) -> AllSeries {
    let mut out = BTreeMap::new();
    for r in all_runs(index) {
        for key in r.metrics.keys() {
            let pts = index.series(r.uid, key).unwrap();
            let pts = pts.iter().map(|p| (p.step, p.value.to_bits(), p.ts.to_bits())).collect();
            out.insert((r.path.clone(), key.clone()), pts);
        }
    }
    out
}

fn try_scan(index: &mut Index) -> Result<(), String> {
    index.scan(&ScanOptions::default(), &mut |_| {}, &AtomicBool::new(false)).map(|_| ()).map_err(|e| e.to_string())
}

/// The harnesses' incremental layout: [n, cuts..., body]: `body` written to `file` in 2-4 slices,
/// a scan after each. The index then holds what a fresh index of the whole file holds, and no
/// reader panicked. Err says what went wrong.
fn incremental(project: &Path, data_dir: &Path, file: &Path, data: &[u8]) -> Result<(), String> {
    let Some((&n, rest)) = data.split_first() else { return Ok(()) };
    let n = 2 + (n % 3) as usize;
    if rest.len() < n - 1 {
        return Ok(());
    }
    let (fr, body) = rest.split_at(n - 1);
    let mut cuts: Vec<usize> = fr.iter().map(|&f| body.len() * f as usize / 255).collect();
    cuts.sort_unstable();
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, b"").unwrap();
    let mut index = Index::open(data_dir, project).map_err(|e| e.to_string())?;
    let mut at = 0;
    for cut in cuts.into_iter().chain([body.len()]) {
        use std::io::Write;
        std::fs::OpenOptions::new().append(true).open(file).unwrap().write_all(&body[at..cut]).unwrap();
        at = cut;
        try_scan(&mut index).map_err(|e| format!("a scan after {cut} bytes failed: {e}"))?;
    }
    let panics: Vec<String> = messages(&index).into_iter().filter(|m| m.contains("internal error")).collect();
    if !panics.is_empty() {
        return Err(format!("a reader panicked: {panics:?}"));
    }
    let fresh_data = data_dir.with_extension("fresh");
    let mut fresh = Index::open(&fresh_data, project).map_err(|e| e.to_string())?;
    try_scan(&mut fresh).map_err(|e| format!("a fresh scan failed: {e}"))?;
    let (a, b) = (series(&index), series(&fresh));
    if a != b {
        return Err(format!("scans after each slice hold\n  {a:?}\nbut one fresh scan holds\n  {b:?}"));
    }
    Ok(())
}

/// csv_incremental's input: [n, cuts..., mode, body]; mode 0 `log.csv`, 1 a DVCLive TSV, 2 a
/// Lightning metrics.csv.
fn csv_incremental(data: &[u8]) -> Result<(), String> {
    if data.len() < 5 {
        return Ok(());
    }
    let n = 2 + (data[0] % 3) as usize;
    let mode = data[n] % 3;
    let mut d = data[..n].to_vec();
    d.extend_from_slice(&data[n + 1..]);
    let s = Scratch::new();
    let project = s.project();
    let file = match mode {
        0 => project.join("log.csv"),
        1 => {
            std::fs::create_dir_all(project.join("dvclive")).unwrap();
            std::fs::write(project.join("dvclive/metrics.json"), "{}").unwrap();
            project.join("dvclive/plots/metrics/loss.tsv")
        }
        _ => project.join("lightning_logs/version_0/metrics.csv"),
    };
    incremental(&project, &s.data(), &file, &d)
}

/// jsonl_incremental's input: [n, cuts..., body].
fn jsonl_incremental(data: &[u8]) -> Result<(), String> {
    let s = Scratch::new();
    let project = s.project();
    incremental(&project, &s.data(), &project.join("metrics.jsonl"), data)
}

/// filter's input: the text; a filter (or sort key) either is refused as a filter error or runs.
fn filter(data: &[u8]) -> Result<(), String> {
    let s = Scratch::new();
    let (index, _) = open_and_scan(&s.data(), &s.project());
    let text = String::from_utf8_lossy(data).into_owned();
    for q in [
        RunQuery { filter: text.clone(), ..Default::default() },
        RunQuery { sort: vec![text.clone()], ..Default::default() },
    ] {
        match index.runs(&q) {
            Ok(_) | Err(runlens_core::Error::Filter(_)) => {}
            Err(e) => return Err(format!("{text:?}: {e}")),
        }
    }
    Ok(())
}

/// parquet_pages's input: a Parquet file's bytes; `data show` (page by page) and the rows (the
/// `parquet` crate's record reader, which a damaged dictionary index once made panic) read it or
/// say why not.
fn parquet_pages(data: &[u8]) -> Result<(), String> {
    let s = Scratch::new();
    std::fs::write(s.project().join("t.parquet"), data).unwrap();
    let (index, _) = open_and_scan(&s.data(), &s.project());
    let shown = index.data_show("t.parquet", 5, &mut |_, _| {}, &AtomicBool::new(false)).map(|_| ());
    for answer in [shown, index.data_head("t.parquet", 1 << 20).map(|_| ())] {
        match answer {
            Ok(()) | Err(runlens_core::Error::Project(_)) => {}
            Err(e) => return Err(format!("neither read nor refused as damaged: {e}")),
        }
    }
    Ok(())
}

type Replay = fn(&[u8]) -> Result<(), String>;
const REPLAYED: &[(&str, Replay)] = &[
    ("csv_incremental", csv_incremental),
    ("jsonl_incremental", jsonl_incremental),
    ("filter", filter),
    ("parquet_pages", parquet_pages),
];

fn replay(dir: &str) -> (usize, Vec<String>) {
    let mut failed = Vec::new();
    let mut count = 0;
    for (target, run) in REPLAYED {
        for f in inputs(dir, target) {
            count += 1;
            let bytes = std::fs::read(&f).unwrap();
            match std::panic::catch_unwind(|| run(&bytes)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failed.push(format!("{target}: {}: {e}", f.display())),
                Err(_) => failed.push(format!("{target}: {}: panicked", f.display())),
            }
        }
    }
    (count, failed)
}

#[test]
fn fuzz_regressions_stay_fixed() {
    let (_, failed) = replay("regressions");
    assert!(failed.is_empty(), "inputs the fuzzers found still fail:\n{}", failed.join("\n"));
}

#[test]
fn fuzz_seeds_scan_clean() {
    let (count, failed) = replay("seeds");
    assert!(count > 0, "no seeds under fuzz/seeds");
    assert!(failed.is_empty(), "seeds fail:\n{}", failed.join("\n"));
}

/// The csv_incremental find, end to end: a Lightning metrics.csv (found by name, not by its
/// header) that is empty, or holds part of its header, when a scan reads it is remembered at
/// offset 0 with no layout; the next scan then takes the whole file as an append to a header-less
/// layout and every row is dropped ("N fields, the header has 0").
#[test]
fn csv_log_without_header_at_first_scan_is_read_later() {
    use crate::common::{append, dump, fresh_dump, scan};
    for first in ["", "ste"] {
        let s = Scratch::new();
        let project = s.project();
        let dir = project.join("lightning_logs/version_0");
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("metrics.csv");
        std::fs::write(&csv, first).unwrap();
        let (mut index, _) = open_and_scan(&s.data(), &project);
        append(&csv, &"step,loss\n0,1.5\n1,0.5\n"[first.len()..]);
        scan(&mut index);
        assert_eq!(dump(&index), fresh_dump(&project), "first scan saw {first:?}");
    }
}

/// From the csv_incremental find `repeated_column_name`: a run whose readers give the same metric
/// key twice (a CSV header naming a column twice; a DVCLive TSV's extra column named like another
/// TSV) makes the first scan of the project fail as a whole with "UNIQUE constraint failed:
/// series.run, series.key" (series::append is told the key is new for every file of a new unit).
#[test]
fn a_metric_key_given_twice_does_not_fail_the_scan() {
    let csv = Scratch::new();
    std::fs::write(csv.project().join("log.csv"), "step,loss,loss\n0,1,2\n1,3,4\n").unwrap();
    let dvc = Scratch::new();
    let pm = dvc.project().join("dvclive/plots/metrics/train");
    std::fs::create_dir_all(&pm).unwrap();
    std::fs::write(dvc.project().join("dvclive/metrics.json"), "{\"step\": 0}\n").unwrap();
    std::fs::write(pm.join("loss.tsv"), "step\tloss\tacc\n0\t1\t2\n").unwrap();
    std::fs::write(pm.join("acc.tsv"), "step\tacc\n0\t3\n").unwrap();
    for s in [csv, dvc] {
        let project = s.project();
        std::fs::write(project.join("other.jsonl"), "{\"step\": 0, \"x\": 1}\n").unwrap();
        let mut index = Index::open(&s.data(), &project).unwrap();
        let r = try_scan(&mut index);
        assert!(r.is_ok(), "the scan of {} failed: {r:?}", project.display());
    }
}
