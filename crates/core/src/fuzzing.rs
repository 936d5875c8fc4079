//! Fuzz harnesses: one function per target of `fuzz/` (cargo-fuzz), each taking the fuzzer's bytes.
//! A harness panics when the code under test panics or when a property it checks fails.
//!
//! Compiled into the engine only with the `fuzzing` feature (the fuzz crate turns it on), so the
//! harnesses can reach the readers, which are not public. The inputs the fuzzers found are kept in
//! fuzz/regressions/<target>/ and replayed through public API (scans) by tests/fuzz_regressions.rs.
//!
//! Input layout: targets that need choices (where to cut a file, which file the bytes go to)
//! take them from the first byte(s); the rest is the file. The seeds in fuzz/seeds/ follow this.

use crate as rl;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use prost::Message;

use rl::files::ProjectFs;
use rl::model::Point;
use rl::readers::{self, Ctx, Diags, UnitOut};
use rl::tail::FileState;

/// A fuzz target's body: the fuzzer's bytes in, a panic on a bug.
pub type Harness = fn(&[u8]);

/// Every target: (name, harness). Names are the [[bin]] names of fuzz/Cargo.toml.
pub const TARGETS: &[(&str, Harness)] = &[
    ("tfrecord", tfrecord),
    ("wandb_log", wandb_log),
    ("mlflow_metrics", mlflow_metrics),
    ("mlflow_meta", mlflow_meta),
    ("csv_incremental", csv_incremental),
    ("jsonl_incremental", jsonl_incremental),
    ("sacred_json", sacred_json),
    ("dvclive_json", dvclive_json),
    ("iso_ms", iso_ms),
    ("filter", filter),
    ("resolve_in_project", resolve_in_project),
    ("table_scan", table_scan),
    ("parquet_pages", parquet_pages),
];

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

thread_local! {
    static MADE: std::cell::RefCell<HashMap<String, PathBuf>> = Default::default();
}

/// A scratch folder of this process (canonical, as `ProjectFs` wants), made empty once per name.
fn scratch(name: &str) -> PathBuf {
    MADE.with(|m| {
        m.borrow_mut()
            .entry(name.to_string())
            .or_insert_with(|| {
                let d = std::env::temp_dir().join(format!(
                    "runlens-fuzz-{}-{:?}-{name}",
                    std::process::id(),
                    std::thread::current().id()
                ));
                let _ = std::fs::remove_dir_all(&d);
                std::fs::create_dir_all(&d).expect("scratch dir");
                d.canonicalize().expect("canonical scratch dir")
            })
            .clone()
    })
}

/// Removes this thread's scratch folders (the regression test calls it when done).
pub fn clean_scratch() {
    MADE.with(|m| {
        for (_, d) in m.borrow_mut().drain() {
            let _ = std::fs::remove_dir_all(d);
        }
    });
}

fn write(path: &Path, bytes: &[u8]) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    std::fs::write(path, bytes).expect("write");
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().append(true).create(true).open(path).expect("open for append");
    f.write_all(bytes).expect("append");
}

fn same_f64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn same_points(a: &[Point], b: &[Point]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| x.step == y.step && same_f64(x.value, y.value) && same_f64(x.ts, y.ts))
}

type KeyedSeries = Vec<(String, Vec<Point>)>;

/// What the index would hold after applying reads: (run, file) → key → points.
#[derive(Default)]
struct Held {
    series: BTreeMap<(String, String), KeyedSeries>,
    prev: HashMap<String, FileState>,
}

impl Held {
    /// Applies a reader's output as the index does: a replacing update drops the file's series,
    /// series of files no longer listed are dropped, states replace the remembered ones.
    fn apply(&mut self, out: UnitOut) {
        for (file, st) in out.states {
            if let Some(st) = st {
                self.prev.insert(file, st);
            }
        }
        if out.untouched {
            return;
        }
        for run in out.runs {
            for f in run.files {
                let slot = self.series.entry((run.path.clone(), f.file.clone())).or_default();
                if f.replace {
                    slot.clear();
                }
                for (k, pts) in f.series {
                    match slot.iter_mut().find(|(x, _)| *x == k) {
                        Some((_, v)) => v.extend(pts),
                        None => slot.push((k, pts)),
                    }
                }
            }
            let keep = &run.series_files;
            self.series.retain(|(r, f), _| r != &run.path || keep.contains(f));
        }
    }

    /// run → key → points (files merged in file order), empty series left out.
    fn flat(&self) -> BTreeMap<(String, String), Vec<Point>> {
        let mut out: BTreeMap<(String, String), Vec<Point>> = BTreeMap::new();
        for ((run, _), series) in &self.series {
            for (k, pts) in series {
                if !pts.is_empty() {
                    out.entry((run.clone(), k.clone())).or_default().extend(pts.iter().cloned());
                }
            }
        }
        out
    }
}

fn assert_same_series(what: &str, inc: &Held, fresh: &Held) {
    let (a, b) = (inc.flat(), fresh.flat());
    let ka: Vec<_> = a.keys().collect();
    let kb: Vec<_> = b.keys().collect();
    assert_eq!(ka, kb, "{what}: incremental reads hold other series than one fresh read");
    for (k, pa) in &a {
        let pb = &b[k];
        assert!(same_points(pa, pb), "{what}: series {k:?} differs:\n incremental {pa:?}\n fresh       {pb:?}");
    }
}

/// Cut points for `n` slices of `len` bytes, from the fractions in `fr` (each /255), sorted.
fn cuts(len: usize, fr: &[u8]) -> Vec<usize> {
    let mut c: Vec<usize> = fr.iter().map(|&f| len * f as usize / 255).collect();
    c.sort_unstable();
    c
}

/// Writes `body` to `file` in slices (the first byte picks 2-4 slices, the next ones where to cut),
/// running `read` after each, then checks the series equal those of one fresh read of the result.
/// `data` is the whole fuzz input: [n, cut fractions..., body...].
fn incremental(what: &str, root: &Path, file: &Path, data: &[u8], read: &dyn Fn(&Ctx) -> UnitOut) {
    let Some((&n, rest)) = data.split_first() else { return };
    let n = 2 + (n % 3) as usize;
    if rest.len() < n - 1 {
        return;
    }
    let (fr, body) = rest.split_at(n - 1);
    let _ = std::fs::remove_file(file);
    write(file, b"");
    let fs = ProjectFs::new(root);
    let mut inc = Held::default();
    let mut at = 0;
    for cut in cuts(body.len(), fr).into_iter().chain([body.len()]) {
        append(file, &body[at..cut]);
        at = cut;
        // A read that stops at a piece's end (`more`) is followed by another, as the scan does.
        loop {
            let out = read(&Ctx { root, prev: &inc.prev, fs: &fs, now: std::time::SystemTime::now() });
            let more = out.more;
            inc.apply(out);
            if !more {
                break;
            }
        }
    }
    let mut fresh = Held::default();
    let fs2 = ProjectFs::new(root);
    loop {
        let out = read(&Ctx { root, prev: &fresh.prev, fs: &fs2, now: std::time::SystemTime::now() });
        let more = out.more;
        fresh.apply(out);
        if !more {
            break;
        }
    }
    assert_same_series(what, &inc, &fresh);
}

/// Reads a whole unit once, from nothing, as a first scan would.
fn read_fresh(root: &Path, read: &dyn Fn(&Ctx) -> UnitOut) -> UnitOut {
    let fs = ProjectFs::new(root);
    read(&Ctx { root, prev: &HashMap::new(), fs: &fs, now: std::time::SystemTime::now() })
}

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

/// TFRecord framing and TensorBoard events, from a byte slice. [cut, file...]: the framing read in
/// one pass gives the same steps as a read of the first `cut` part that resumes at its offset.
/// The events are decoded and their values taken as tensorboard.rs takes them.
pub fn tfrecord(data: &[u8]) {
    use rl::readers::tb_proto::{Event, HParamsPluginData};
    use rl::readers::tfrecord::{Records, Step};
    let Some((&c, file)) = data.split_first() else { return };

    #[derive(Debug, PartialEq)]
    enum S {
        Rec(u64, Vec<u8>),
        Corrupt(u64, u64),
        Broken(u64, String),
    }
    // Steps from `from` to End/Broken; the offset where it stopped.
    let run = |bytes: &[u8], from: u64, out: &mut Vec<S>| -> (u64, bool) {
        let mut r = Records::new(bytes, from, from + bytes.len() as u64);
        loop {
            let before = r.offset;
            match r.next_record().expect("reading a slice cannot fail") {
                Step::Record { at, data } => {
                    assert_eq!(at, before);
                    out.push(S::Rec(at, data.to_vec()))
                }
                Step::Corrupt { at, len } => {
                    assert_eq!(at, before);
                    out.push(S::Corrupt(at, len))
                }
                Step::End => return (r.offset, false),
                Step::Broken { at, why } => {
                    out.push(S::Broken(at, why));
                    return (r.offset, true);
                }
            }
            assert_eq!(
                r.offset,
                before
                    + 16
                    + match out.last() {
                        Some(S::Rec(_, d)) => d.len() as u64,
                        Some(S::Corrupt(_, l)) => *l,
                        _ => unreachable!(),
                    }
            );
        }
    };
    let mut one = Vec::new();
    let (end, _) = run(file, 0, &mut one);
    assert!(end as usize <= file.len());
    let cut = file.len() * c as usize / 255;
    let mut two = Vec::new();
    let (mid, broken) = run(&file[..cut], 0, &mut two);
    if !broken {
        let (end2, _) = run(&file[mid as usize..], mid, &mut two);
        assert_eq!(end2, end, "resumed framing ends elsewhere");
    }
    assert_eq!(one, two, "framing read in two parts differs from one pass (cut at {cut})");

    if c % 32 == 0 {
        tensorboard_files(&files_input(c, file));
    }
    let mut series = readers::KeyedPoints::default();
    for s in &one {
        let S::Rec(_, data) = s else { continue };
        let Ok(ev) = Event::decode(&data[..]) else { continue };
        if ev.wall_time.is_nan() {
            continue;
        }
        if ev.session_log.as_ref().is_some_and(|s| s.status == 1) {
            series.retain_before(ev.step);
        }
        let Some(summary) = ev.summary else { continue };
        for v in summary.value {
            if let Some(pd) = v.metadata.as_ref().and_then(|m| m.plugin_data.as_ref()) {
                if let Some(start) = HParamsPluginData::decode(&pd.content[..]).ok().and_then(|h| h.session_start_info)
                {
                    for (_, val) in start.hparams {
                        let _ = val.as_param();
                    }
                }
            }
            let value = match (v.simple_value, &v.tensor) {
                (Some(x), _) => x as f64,
                (None, Some(t)) => match t.scalar() {
                    Some(x) => x,
                    None => continue,
                },
                _ => continue,
            };
            series.push(&v.tag, Point { step: ev.step, value, ts: ev.wall_time * 1000.0 });
        }
    }
}

/// The TensorBoard reader on an event file, whole and appended to in slices: [n, cuts..., file...].
/// Slower (files); run by the regression test and by `tfrecord` for one input in 16.
pub fn tensorboard_files(data: &[u8]) {
    let root = scratch("tensorboard");
    let dir = root.join("logs");
    let file = dir.join("events.out.tfevents.1700000000.fuzz");
    std::fs::create_dir_all(&dir).expect("mkdir");
    incremental("tensorboard", &root, &file, data, &|ctx| readers::tensorboard::read(ctx, &dir));
}

/// W&B's leveldb-style log framing and its records, from a byte slice: [cut, file...]. The file
/// starts with the 7-byte header (not checked here, so the fuzzer need not find it).
/// Property: reading to a cut, then resuming at the offset reached, gives the same records.
pub fn wandb_log(data: &[u8]) {
    use rl::readers::wandb_log::{Log, Next};
    use rl::readers::wandb_proto::Record;
    let Some((&c, file)) = data.split_first() else { return };
    if file.len() < 7 {
        return;
    }
    let run = |end: usize, from: usize, out: &mut Vec<(u64, Vec<u8>)>| -> u64 {
        let mut log = Log::new(&file[from..end], from as u64, end as u64);
        while let Next::Record { at, data } = log.next_record().expect("a slice is never short") {
            out.push((at, data.to_vec()));
        }
        let _ = log.take_skips();
        assert!(log.offset as usize <= end, "offset {} past the end {end}", log.offset);
        log.offset
    };
    let mut one = Vec::new();
    let end = run(file.len(), 7, &mut one);
    let cut = 7 + (file.len() - 7) * c as usize / 255;
    let mut two = Vec::new();
    let mid = run(cut, 7, &mut two);
    let end2 = run(file.len(), mid as usize, &mut two);
    assert_eq!(end, end2, "resumed log ends elsewhere (cut at {cut}, resumed at {mid})");
    // Records are the same, but a record cut off across the resume point is lost in neither.
    assert_eq!(one, two, "log read in two parts differs from one pass (cut at {cut}, resumed at {mid})");
    for (_, rec) in &one {
        if let Ok(r) = Record::decode(&rec[..]) {
            let _ = format!("{r:?}");
        }
    }
    if c % 32 == 0 {
        wandb_files(&files_input(c, file));
    }
}

/// The input of [`incremental`] for a file: 2-4 slices, cut where `c` says.
fn files_input(c: u8, file: &[u8]) -> Vec<u8> {
    let n = 2 + (c / 32) % 3;
    let mut v = vec![n];
    v.extend_from_slice(&[c.wrapping_mul(37), 255 - c, c / 2][..n as usize - 1]);
    v.extend_from_slice(file);
    v
}

/// The W&B reader on a run folder's log, whole and appended to in slices: [n, cuts..., file...].
pub fn wandb_files(data: &[u8]) {
    let root = scratch("wandb");
    let dir = root.join("wandb").join("offline-run-20261127_144612-fuzz0001");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join("run-fuzz0001.wandb");
    incremental("wandb", &root, &file, data, &|ctx| readers::wandb::read(ctx, &dir));
}

/// MLflow metric files: [cut, file...]. Consumed ≤ length; a settled read takes the same points
/// and maybe one more; a read to a cut at a line end followed by a read of the rest gives the
/// same points as one read.
pub fn mlflow_metrics(data: &[u8]) {
    use rl::readers::mlflow_files::parse_metric_file;
    let Some((&c, bytes)) = data.split_first() else { return };
    let mut d = Diags::new("m");
    let (one, used, lines, pending) = parse_metric_file(bytes, 1, false, &mut d);
    assert!(used <= bytes.len());
    assert!(!pending);
    assert_eq!(lines as usize, bytes[..used].iter().filter(|&&b| b == b'\n').count());
    let (set, used_s, lines_s, pending_s) = parse_metric_file(bytes, 1, true, &mut d);
    assert!(used_s <= bytes.len());
    assert_eq!(used_s, used);
    assert_eq!(lines_s, lines);
    assert_eq!(pending_s, used < bytes.len());
    assert!(
        set.len() >= one.len() && set.len() <= one.len() + 1,
        "settled read took {} points, not {}",
        set.len(),
        one.len()
    );
    assert!(same_points(&set[..one.len()], &one), "a settled read changed the points before the last line");

    let mut cut = bytes.len() * c as usize / 255;
    // Move the cut to the end of its line, so it falls at a line end.
    while cut < bytes.len() && (cut == 0 || bytes[cut - 1] != b'\n') {
        cut += 1;
    }
    if cut == bytes.len() && !bytes.is_empty() && bytes[cut - 1] != b'\n' {
        cut = used;
    }
    let (a, used_a, lines_a, _) = parse_metric_file(&bytes[..cut], 1, false, &mut d);
    assert_eq!(used_a, cut, "a cut at a line end is consumed whole");
    let (b, used_b, _, _) = parse_metric_file(&bytes[used_a..], 1 + lines_a, false, &mut d);
    assert_eq!(used_a + used_b, used);
    let joined: Vec<Point> = a.into_iter().chain(b).collect();
    assert!(same_points(&joined, &one), "two reads (cut at {cut}) differ from one");
}

/// MLflow YAML: [which, text...]. The text through `readers::yaml` and `flatten_into`, then as
/// one of the store's YAML files (0: experiment meta.yaml, 1: run meta.yaml, 2: a logged model's
/// meta.yaml, 3: MLmodel) read by `list_store` and `read_run`.
pub fn mlflow_meta(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(bytes);
    if let Ok(v) = readers::yaml(&text) {
        let mut m = BTreeMap::new();
        readers::flatten_into("", &v, &mut m);
    }
    if which & 0x80 != 0 {
        return; // YAML only: the fast half
    }
    let root = scratch("mlflow");
    let store = root.join("mlruns");
    let exp = store.join("1");
    let run = exp.join("0123456789abcdef0123456789abcdef");
    let fixed: [(PathBuf, &[u8]); 4] = [
        (exp.join("meta.yaml"), b"experiment_id: '1'\nname: fuzz\nlifecycle_stage: active\n"),
        (
            run.join("meta.yaml"),
            b"run_id: 0123456789abcdef0123456789abcdef\nexperiment_id: '1'\nstatus: 3\nstart_time: 1700000000000\n",
        ),
        (run.join("outputs/m-1/meta.yaml"), b"source_id: m-1\nstep: 3\n"),
        (exp.join("models/m-1/artifacts/MLmodel"), b"flavors:\n  python_function: {}\nmodel_id: m-1\n"),
    ];
    for (i, (p, t)) in fixed.iter().enumerate() {
        write(p, if i == (which % 4) as usize { bytes } else { t });
    }
    write(&run.join("metrics/loss"), b"1700000000000 0.5 0\n");
    write(&run.join("params/lr"), b"0.1");
    let fs = ProjectFs::new(&root);
    let mut d = Diags::new("mlruns");
    for (e, dir) in readers::mlflow_files::list_store(&fs, &store, &mut d) {
        let prev = HashMap::new();
        let _ = readers::mlflow_files::read_run(
            &Ctx { root: &root, prev: &prev, fs: &fs, now: std::time::SystemTime::now() },
            &e,
            &dir,
        );
    }
}

/// A CSV log appended to in 2-4 slices and read after each: [n, cuts..., mode, file...]; mode 0:
/// `log.csv` (if it sniffs as a log), 1: a DVCLive `dvclive/plots/metrics/loss.tsv`, 2: Lightning's
/// `lightning_logs/version_0/metrics.csv`. The series equal those of one fresh read.
pub fn csv_incremental(data: &[u8]) {
    use rl::model::Source;
    if data.len() < 5 {
        return;
    }
    // The mode byte comes after the slice bytes: move it out of the body.
    let n = 2 + (data[0] % 3) as usize;
    let mode = data[n] % 3;
    let mut d = data[..n].to_vec();
    d.extend_from_slice(&data[n + 1..]);
    let root = scratch("csv");
    let dir = root.join("lightning_logs").join("version_0");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = match mode {
        0 => root.join("log.csv"),
        1 => root.join("dvclive/plots/metrics/loss.tsv"),
        _ => dir.join("metrics.csv"),
    };
    // The source as a scan would sniff it, from the whole file.
    let body = &d[n..];
    write(&file, body);
    let fs = ProjectFs::new(&root);
    let source = match mode {
        0 => readers::csv_log::sniff(&fs, &file),
        1 => Some(Source::Csv), // dvclive.rs reads its TSVs so, never sniffed
        _ => Some(Source::Lightning),
    };
    let Some(source) = source else { return };
    let lightning = (mode == 2).then_some(dir.as_path());
    incremental("csv", &root, &file, &d, &|ctx| readers::csv_log::read(ctx, &file, lightning, source));
}

/// A JSONL log appended to in 2-4 slices and read after each: [n, cuts..., file...].
pub fn jsonl_incremental(data: &[u8]) {
    let root = scratch("jsonl");
    let file = root.join("metrics.jsonl");
    incremental("jsonl", &root, &file, data, &|ctx| readers::jsonl::read(ctx, &file));
}

/// Sacred's JSON: [which, text...]. The text through `json_lenient` and `number`, then as the
/// run folder's metrics.json (which 0), run.json (1) or config.json (2), read by `sacred::read`.
pub fn sacred_json(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else { return };
    json_values(bytes);
    let root = scratch("sacred");
    let dir = root.join("runs").join("1");
    let fixed: [(&str, &[u8]); 3] = [
        ("metrics.json", b"{\"loss\": {\"steps\": [0, 1], \"values\": [1.5, NaN], \"timestamps\": [\"2026-01-01T00:00:00.5\", null]}}"),
        ("run.json", b"{\"status\": \"COMPLETED\", \"start_time\": \"2026-01-01T00:00:00.000001\", \"stop_time\": \"2026-01-01T01:00:00\", \"heartbeat\": \"2026-01-01T01:00:00\", \"experiment\": {\"name\": \"e\"}, \"result\": 0.5}"),
        ("config.json", b"{\"lr\": 0.1, \"seed\": 1}"),
    ];
    for (i, (name, t)) in fixed.iter().enumerate() {
        write(&dir.join(name), if i == (which % 3) as usize { bytes } else { t });
    }
    let _ = read_fresh(&root, &|ctx| readers::sacred::read(ctx, &dir));
}

/// DVCLive's JSON and YAML: [which, text...]. The text through `json_lenient`, then as the DVCLive
/// folder's metrics.json (which 0) or params.yaml (1), the pipeline's metrics.json (2) or
/// params.yaml (3), or a metric plot TSV (4), read by `dvclive::read_live`.
pub fn dvclive_json(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else { return };
    json_values(bytes);
    let root = scratch("dvclive");
    let live = root.join("dvclive");
    let fixed: [(PathBuf, &[u8]); 5] = [
        (live.join("metrics.json"), b"{\"step\": 2, \"train\": {\"loss\": 0.5}, \"acc\": NaN}"),
        (live.join("params.yaml"), b"lr: 0.1\nmodel: {depth: 2}\n"),
        (root.join("metrics.json"), b"{\"f1\": 0.25, \"acc\": 1}"),
        (root.join("params.yaml"), b"seed: 3\n"),
        (live.join("plots/metrics/train/loss.tsv"), b"timestamp\tstep\tloss\n1700000000000\t0\t1.5\n"),
    ];
    for (i, (p, t)) in fixed.iter().enumerate() {
        write(p, if i == (which % 5) as usize { bytes } else { t });
    }
    let _ = read_fresh(&root, &|ctx| readers::dvclive::read_live(ctx, &live, Some(&root)));
}

/// JSON as the readers parse it, every value through `number`.
fn json_values(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(v) = readers::json_lenient(&text) {
        fn walk(v: &serde_json::Value) {
            let _ = readers::number(v);
            match v {
                serde_json::Value::Array(a) => a.iter().for_each(walk),
                serde_json::Value::Object(o) => o.values().for_each(walk),
                serde_json::Value::String(s) => {
                    let _ = readers::iso_ms(s);
                }
                _ => {}
            }
        }
        walk(&v);
        let mut m = BTreeMap::new();
        readers::flatten_into("", &v, &mut m);
    }
}

/// ISO 8601 times: never a panic; a time it accepts is finite.
pub fn iso_ms(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    if let Some(ms) = readers::iso_ms(&s) {
        assert!(ms.is_finite(), "iso_ms({s:?}) = {ms}");
    }
}

/// The filter language: parse, compile, render errors, sort keys; a filter that compiles runs as
/// SQL against an empty index without an SQL error.
pub fn filter(data: &[u8]) {
    use rl::filter::{compile_filter, order_by, parse_filter, parse_key, parse_sort};
    let s = String::from_utf8_lossy(data);
    let compiled = match compile_filter(&s) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.render(&s);
            None
        }
    };
    if let Ok(Some(expr)) = parse_filter(&s) {
        assert!(compiled.is_some() || rl::filter::compile(&expr).is_err());
    }
    match parse_key(&s) {
        Ok(k) => {
            let _ = format!("{k:?}");
        }
        Err(e) => {
            let _ = e.render(&s);
        }
    }
    match parse_sort(&s) {
        Ok(k) => {
            let _ = order_by(&k);
        }
        Err(e) => {
            let _ = e.render(&s);
        }
    }
    if compiled.is_some() {
        thread_local! {
            static INDEX: rl::Index = {
                let d = scratch("filter");
                std::fs::create_dir_all(d.join("project")).expect("mkdir");
                rl::Index::open(&d.join("data"), &d.join("project")).expect("index")
            };
        }
        INDEX.with(|ix| {
            let q = rl::RunQuery { filter: s.to_string(), sort: vec![s.to_string()], ..Default::default() };
            match ix.runs(&q) {
                Ok(_) | Err(rl::Error::Filter(_)) => {}
                Err(e) => panic!("filter {s:?} compiles to SQL that fails: {e}"),
            }
            let q = rl::RunQuery { filter: s.to_string(), ..Default::default() };
            if let Err(e) = ix.runs(&q) {
                panic!("filter {s:?} compiles but the query fails: {e}");
            }
        });
    }
}

/// `paths::resolve_in_project` over a fixed tree holding links to outside and inside:
/// [base, location...]. Whatever it returns is under the root, reached without a link.
pub fn resolve_in_project(data: &[u8]) {
    let Some((&b, loc)) = data.split_first() else { return };
    thread_local! {
        static TREE: (PathBuf, PathBuf) = {
            let d = scratch("paths");
            let root = d.join("proj");
            for p in ["mlruns/1/r/artifacts/model", "a/b/c", "x y/é", ".hidden"] {
                std::fs::create_dir_all(root.join(p)).expect("mkdir");
            }
            std::fs::create_dir_all(d.join("outside/mlruns/1/r")).expect("mkdir");
            write(&root.join("a/b/file.txt"), b"x");
            write(&d.join("outside/secret"), b"s");
            #[cfg(unix)]
            {
                use std::os::unix::fs::symlink;
                symlink(d.join("outside"), root.join("out")).expect("link");
                symlink("../mlruns", root.join("a/in")).expect("link");
                symlink("/", root.join("mlruns/1/r/artifacts/rootlink")).expect("link");
                symlink(d.join("outside/secret"), root.join("a/b/secret")).expect("link");
            }
            (d, root)
        };
    }
    TREE.with(|(_, root)| {
        let bases = [root.clone(), root.join("mlruns/1/r"), root.join("a/b"), root.join("a/in"), root.join("out")];
        let base = &bases[b as usize % bases.len()];
        let location = String::from_utf8_lossy(loc);
        if let Some(p) = rl::paths::resolve_in_project(root, base, &location) {
            assert!(p.starts_with(root), "{location:?} from {base:?} resolved outside the root: {p:?}");
            let rel = p.strip_prefix(root).expect("under root");
            let mut q = root.clone();
            for c in rel.components() {
                assert!(matches!(c, std::path::Component::Normal(_)), "{location:?} resolved to {p:?} with {c:?}");
                q.push(c);
                let md = std::fs::symlink_metadata(&q).unwrap_or_else(|e| panic!("{location:?} → {p:?}: {q:?}: {e}"));
                assert!(!md.file_type().is_symlink(), "{location:?} from {base:?} resolved through the link {q:?}");
            }
        }
    });
}

/// `data show`'s byte-level scanner against the row reader: where the scanner finishes, the row
/// reader reads the same table, and every column's statistics are the same. First byte: odd for
/// TSV; the rest is the file.
pub fn table_scan(data: &[u8]) {
    use rl::table::{self, stats, Cell, Rows};
    struct Cols {
        names: Vec<String>,
        cols: Vec<stats::Column>,
        rows: u64,
    }
    impl Rows for Cols {
        fn columns(&mut self, names: &[String]) {
            self.names = names.to_vec();
            self.cols = names.iter().map(|_| stats::Column::new()).collect();
        }
        fn row(&mut self, cells: &[Cell]) -> bool {
            self.rows += 1;
            for (c, cell) in self.cols.iter_mut().zip(cells) {
                c.push(cell);
            }
            true
        }
    }
    let Some((&mode, body)) = data.split_first() else { return };
    let d = if mode & 1 == 1 { b'\t' } else { b',' };
    let Ok(fast) = table::scan::scan_stream(body, d) else { return };
    let mut slow = Cols { names: Vec::new(), cols: Vec::new(), rows: 0 };
    let read = table::read(body, table::Format::Delimited(d), &mut slow);
    assert!(read.is_ok(), "the scanner read what the row reader refused: {read:?}");
    assert_eq!(fast.names, slow.names);
    assert_eq!(fast.rows, slow.rows);
    let a = stats::finish_all_with(fast.cols, &fast.names, &mut |_, _| {});
    let b = stats::finish_all_with(slow.cols, &slow.names, &mut |_, _| {});
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

/// `data show`'s Parquet page reader on pages made from the fuzzer's bytes (the `parquet` crate's
/// own parsers, which panic on some damaged files, are left out: `table::parquet_guarded` turns
/// those panics into errors, but a fuzzer aborts on any). Properties: no panic; a chunk read
/// gives statistics that finish.
///
/// Input: byte 0 picks the physical type (low 3 bits: INT32, INT64, FLOAT, DOUBLE, BYTE_ARRAY)
/// and whether the column is optional (bit 3). Then pages, each: a kind byte (0 dictionary, 1
/// data v1, 2 data v2; its high bits pick the values' encoding: PLAIN, PLAIN_DICTIONARY,
/// RLE_DICTIONARY or RLE), the number of values (u16), for v2 the number of nulls and the levels'
/// length (a byte each), the payload's length (u16) and the payload.
pub fn parquet_pages(data: &[u8]) {
    use parquet::basic::{Encoding, Type};
    use parquet::column::page::Page;
    use rl::table::{parquet_pages, stats};
    let Some((&head, mut rest)) = data.split_first() else { return };
    let ty = [Type::INT32, Type::INT64, Type::FLOAT, Type::DOUBLE, Type::BYTE_ARRAY][(head & 7) as usize % 5];
    let max_def = ((head >> 3) & 1) as i16;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (a, b) = (rest.get(..n)?, rest.get(n..)?);
        rest = b;
        Some(a)
    };
    let mut pages = Vec::new();
    while let Some(k) = take(1) {
        let kind = k[0];
        let encoding = [Encoding::PLAIN, Encoding::PLAIN_DICTIONARY, Encoding::RLE_DICTIONARY, Encoding::RLE]
            [(kind >> 4) as usize % 4];
        let Some(n) = take(2).map(|b| u16::from_le_bytes([b[0], b[1]]) as u32) else { break };
        let Some(extra) = take(2) else { break };
        let Some(len) = take(2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize) else { break };
        let Some(payload) = take(len) else { break };
        let buf = bytes::Bytes::copy_from_slice(payload);
        pages.push(Ok(match kind & 3 {
            0 => Page::DictionaryPage { buf, num_values: n, encoding, is_sorted: false },
            1 => Page::DataPage {
                buf,
                num_values: n,
                encoding,
                def_level_encoding: Encoding::RLE,
                rep_level_encoding: Encoding::RLE,
                statistics: None,
            },
            _ => Page::DataPageV2 {
                buf,
                num_values: n,
                encoding,
                num_nulls: extra[0] as u32,
                num_rows: n,
                def_levels_byte_len: extra[1] as u32,
                rep_levels_byte_len: 0,
                is_compressed: false,
                statistics: None,
            },
        }));
    }
    let mut col = stats::Column::new();
    if parquet_pages::read_chunk(&mut pages.into_iter(), ty, max_def, &mut col) {
        col.finish("x");
    }
}
