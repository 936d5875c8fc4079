//! Tabular metric logs: PyTorch Lightning's CSVLogger (`metrics.csv` + `hparams.yaml`), Keras's
//! CSVLogger (`epoch` first, then sorted keys, `NA` for missing) and any CSV/TSV with a step or epoch
//! column. Read incrementally; a rewritten file (Lightning widens its header by rewriting) is re-read.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::mlflow_files::{parse_f64, truncate};
use super::{flatten_into, yaml, Ctx, Diags, FileUpdate, RunOut, UnitOut};
use crate::files::ProjectFs;
use crate::model::{Point, RunMeta, Source};
use crate::tail::{self, Chunk, Consumed, FileState};

/// Column names that give the step, in order of preference.
const STEP_COLUMNS: &[&str] = &["step", "global_step", "_step", "iteration", "iter", "epoch"];
/// Column names that give a wall-clock time.
const TIME_COLUMNS: &[&str] = &["timestamp", "wall_time", "_timestamp", "time"];
/// Cells that mean "not logged in this row".
const MISSING: &[&str] = &["", "NA", "N/A", "null", "None", "<NA>"];

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
struct Layout {
    delimiter: u8,
    /// The header line exactly as in the file (after a BOM), to notice a rewrite.
    header_raw: String,
    columns: Vec<String>,
    step: usize,
    /// The step column is an epoch count (Keras): steps are epochs.
    time: Option<usize>,
    /// Columns that are metrics: (index, key).
    metrics: Vec<(usize, String)>,
    /// Columns found to hold text: not metrics, reported once.
    #[serde(default)]
    text: Vec<usize>,
}

fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
}

fn header_line(bytes: &[u8]) -> Option<&[u8]> {
    let b = strip_bom(bytes);
    let end = b.iter().position(|&c| c == b'\n')?;
    Some(b[..end].strip_suffix(b"\r").unwrap_or(&b[..end]))
}

fn guess_delimiter(path: &Path, header: &[u8]) -> u8 {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tsv")) {
        return b'\t';
    }
    [b',', b'\t', b';'].into_iter().max_by_key(|d| header.iter().filter(|c| *c == d).count()).unwrap_or(b',')
}

fn split_header(header: &[u8], delimiter: u8) -> Vec<String> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).delimiter(delimiter).from_reader(header);
    match r.records().next() {
        Some(Ok(rec)) => rec.iter().map(|s| s.trim().to_string()).collect(),
        _ => Vec::new(),
    }
}

/// What kind of log a CSV/TSV file is, from its first line; None when it is not a metric log.
pub fn sniff(fs: &ProjectFs, path: &Path) -> Option<Source> {
    use std::io::Read;
    let mut buf = vec![0u8; 64 * 1024];
    let n = fs.open(path).ok()?.read(&mut buf).ok()?;
    let header = header_line(&buf[..n])?;
    let delimiter = guess_delimiter(path, header);
    let cols = split_header(header, delimiter);
    let has = |name: &str| cols.iter().any(|c| c.eq_ignore_ascii_case(name));
    if !STEP_COLUMNS.iter().any(|s| has(s)) || cols.len() < 2 {
        return None;
    }
    // Keras's CSVLogger writes `epoch` first and never pads a name; YOLOv5's results.csv starts
    // with `epoch` too, padded with spaces: that is a plain CSV log.
    let padded = header.split(|&b| b == delimiter).any(|c| c.first() == Some(&b' ') || c.last() == Some(&b' '));
    if cols[0] == "epoch" && !has("step") && !padded {
        Some(Source::Keras)
    } else if path.file_name().is_some_and(|n| n == "metrics.csv") && has("step") && has("epoch") {
        // Lightning's CSVLogger, wherever it lies (inside a Hydra job, without hparams.yaml):
        // read by Lightning's rules, so `epoch` is never a metric in one place and not another.
        Some(Source::Lightning)
    } else {
        Some(Source::Csv)
    }
}

/// Whether a file of any name (`training.log`, as Keras's own documentation names it) is a Keras
/// CSVLogger log: its first line is a Keras header.
pub fn is_keras_log(fs: &ProjectFs, path: &Path) -> bool {
    sniff(fs, path) == Some(Source::Keras)
}

fn layout(path: &Path, header: &[u8], source: Source) -> Option<Layout> {
    let delimiter = guess_delimiter(path, header);
    let columns = split_header(header, delimiter);
    let find = |names: &[&str]| names.iter().find_map(|n| columns.iter().position(|c| c.eq_ignore_ascii_case(n)));
    let step = find(STEP_COLUMNS)?;
    let time = find(TIME_COLUMNS);
    let epoch = columns.iter().position(|c| c == "epoch");
    let metrics = columns
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            *i != step
                && Some(*i) != time
                && !c.is_empty()
                && !(source == Source::Lightning && Some(*i) == epoch)
                && !columns[..*i].contains(c) // a repeated name: the first column is the metric
        })
        .map(|(i, c)| (i, c.clone()))
        .collect();
    Some(Layout {
        delimiter,
        header_raw: String::from_utf8_lossy(header).into_owned(),
        columns,
        step,
        time,
        metrics,
        text: Vec::new(),
    })
}

fn parse_step(s: &str) -> Option<i64> {
    let s = s.trim();
    s.parse::<i64>().ok().or_else(|| {
        let f: f64 = s.parse().ok()?;
        (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
    })
}

/// The length of the prefix of `bytes` that ends with a complete row, by the csv crate's own rules:
/// a quote opens a quoted field only at a field's start (a record starts after `\n` or a bare `\r`),
/// `""` inside one is a quote, and a newline inside one belongs to the field. A last row without its newline is left for the next read.
fn complete_rows(bytes: &[u8], delimiter: u8) -> usize {
    if !bytes.contains(&b'"') {
        return tail::complete_prefix(bytes); // no quoting at all: the common case, no state to keep
    }
    #[derive(PartialEq)]
    enum S {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut st = S::FieldStart;
    let mut end = 0;
    for (i, &b) in bytes.iter().enumerate() {
        st = match (st, b) {
            (S::Quoted, b'"') => S::QuoteInQuoted,
            (S::Quoted, _) => S::Quoted,
            (S::QuoteInQuoted, b'"') => S::Quoted, // an escaped quote
            (S::FieldStart, b'"') => S::Quoted,
            // The csv crate ends a record at a bare CR too (its default terminator): a new field.
            (_, b'\r') => S::FieldStart,
            (_, b'\n') => {
                end = i + 1;
                S::FieldStart
            }
            (_, c) if c == delimiter => S::FieldStart,
            _ => S::Unquoted,
        };
    }
    end
}

/// Seconds or milliseconds since the epoch → milliseconds.
pub fn time_ms(v: f64) -> f64 {
    if v.abs() < 1e11 {
        v * 1000.0
    } else {
        v
    }
}

/// Reads a CSV metric log. `run_dir` is the run's folder for Lightning (holding metrics.csv and
/// hparams.yaml), None for a single-file log whose run is the file itself.
pub fn read(ctx: &Ctx, csv_path: &Path, lightning_dir: Option<&Path>, source: Source) -> UnitOut {
    let run_path = ctx.rel(lightning_dir.unwrap_or(csv_path));
    let file = ctx.rel(csv_path);
    let mut out = UnitOut { unit: run_path.clone(), ..Default::default() };
    let mut diags = Diags::new(file.clone());

    // hparams.yaml (Lightning): params.
    let mut params = BTreeMap::new();
    let mut hp_changed = false;
    if let Some(dir) = lightning_dir {
        let hp = dir.join("hparams.yaml");
        let key = ctx.rel(&hp);
        hp_changed = ctx.prev.contains_key(&key);
        let found = match ctx.fs.stat_file(&hp) {
            Ok(md) => Some(md),
            Err(e) if crate::files::is_link_error(&e) => {
                let mut hd = Diags::new(key.clone());
                hd.push(None, "symlink not followed");
                out.diags.push(hd.finish(true));
                None
            }
            Err(_) => None,
        };
        if let Some(md) = found {
            let st = FileState {
                size: md.len(),
                mtime_ns: tail::mtime_ns(&md),
                file_id: tail::file_id(&md),
                ..Default::default()
            };
            hp_changed = ctx.prev.get(&key) != Some(&st);
            let mut hd = Diags::new(key.clone());
            match ctx.read_small(&hp).map_err(|e| e.to_string()).and_then(|t| yaml(&t)) {
                Ok(serde_json::Value::Null) => {}
                Ok(v) => flatten_into("", &v, &mut params),
                Err(e) => hd.push(None, e),
            }
            out.diags.push(hd.finish(true));
            out.states.push((key, Some(st)));
        }
    }

    let md = match ctx.fs.stat_file(csv_path) {
        Ok(md) => md,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return out, // gone mid-scan: the run disappears
        Err(e) => {
            diags.push(None, format!("cannot read: {e}"));
            out.diags.push(diags.finish(true));
            return out;
        }
    };
    let prev = ctx.prev.get(&file);
    let mut chunk = match tail::read_new(ctx.fs, csv_path, prev, &md) {
        Ok(c) => c,
        Err(e) => {
            diags.push(None, format!("cannot read: {e}"));
            out.diags.push(diags.finish(true));
            return out;
        }
    };
    let prev_layout: Option<Layout> = prev.and_then(|p| serde_json::from_str(&p.extra).ok());
    if matches!(chunk, Chunk::Append { .. }) && prev_layout.is_none() {
        // The last read found no whole header yet: read the file again from the start.
        chunk = match tail::read_new(ctx.fs, csv_path, None, &md) {
            Ok(c) => c,
            Err(_) => return out,
        };
    }
    if let (Chunk::Append { .. }, Some(l)) = (&chunk, &prev_layout) {
        // Lightning rewrites the file with a wider header: the header must be the same.
        // Only the first line is read: a BOM, the header, and its line end.
        let head_len = l.header_raw.len() as u64 + 5;
        let mut head = Vec::with_capacity(head_len as usize);
        let same = ctx
            .fs
            .open(csv_path)
            .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, head_len), &mut head))
            .ok()
            .and_then(|_| header_line(&head).map(|h| h == l.header_raw.as_bytes()))
            .unwrap_or(false);
        if !same {
            chunk = match tail::read_new(ctx.fs, csv_path, None, &md) {
                Ok(c) => c,
                Err(_) => return out,
            };
        }
    }
    let unchanged = matches!(chunk, Chunk::Unchanged);
    let mut run =
        RunOut { path: run_path.clone(), source, meta: None, files: Vec::new(), series_files: vec![file.clone()] };
    if unchanged && !hp_changed {
        out.states.push((file, None));
        out.untouched = true;
        out.runs.push(run);
        return out;
    }
    run.meta = Some(meta_for(&run_path, lightning_dir.unwrap_or(csv_path), params));
    if unchanged {
        out.states.push((file, None));
        out.runs.push(run);
        return out;
    }
    let (bytes, first_line, append, partial) = match chunk {
        Chunk::Append { bytes, first_line, more } => (bytes, first_line, true, more),
        Chunk::Full { bytes, more } => (bytes, 1, false, more),
        Chunk::Unchanged => unreachable!(),
    };

    // The header: remembered, or the first line of a full read.
    let (mut layout, body_start, line_no) = if append {
        (prev_layout.unwrap_or_default(), 0usize, first_line)
    } else {
        let bom = bytes.len() - strip_bom(&bytes).len();
        match header_line(&bytes) {
            Some(h) => match layout(csv_path, h, source) {
                Some(l) => {
                    for (i, c) in
                        l.columns.iter().enumerate().filter(|(i, c)| !c.is_empty() && l.columns[..*i].contains(c))
                    {
                        diags.push(Some(1), format!("column {} repeats {c:?}: only the first is read", i + 1));
                    }
                    let nl = bom + bytes[bom..].iter().position(|&c| c == b'\n').unwrap_or(0) + 1;
                    (l, nl, 2)
                }
                None => {
                    diags.push(Some(1), "no step or epoch column in the header");
                    out.diags.push(diags.finish(true));
                    out.runs.push(run);
                    return out;
                }
            },
            None => {
                // Not even a complete header yet.
                let st = tail::next_state(
                    &md,
                    prev,
                    Consumed { bytes: &bytes, append: false, consumed: 0, lines: 0, pending: false, partial: false },
                    String::new(),
                );
                out.states.push((file.clone(), Some(st)));
                out.diags.push(diags.finish(true));
                run.files.push(FileUpdate { file, replace: true, series: Vec::new() });
                out.runs.push(run);
                return out;
            }
        }
    };

    let body = &bytes[body_start..];
    let complete = complete_rows(body, layout.delimiter);
    let take_pending = !partial
        && tail::settled(&md, ctx.now)
        && complete < body.len()
        && !body[complete..].iter().all(|b| b.is_ascii_whitespace());
    let end = if take_pending { body.len() } else { complete };
    let mut series: Vec<Vec<Point>> = vec![Vec::new(); layout.metrics.len()];
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(layout.delimiter)
        .from_reader(&body[..end]);
    let mut rec = csv::ByteRecord::new();
    // Line numbers come from byte offsets: a quoted field may hold newlines.
    let (mut counted_to, mut line_at) = (0usize, line_no);
    let mut line_of = |byte: usize| -> u64 {
        let byte = byte.min(end);
        line_at += body[counted_to..byte].iter().filter(|&&b| b == b'\n').count() as u64;
        counted_to = byte;
        line_at
    };
    loop {
        let start_byte = reader.position().byte() as usize;
        match reader.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                diags.push(Some(line_of(start_byte.min(end))), format!("unreadable row: {e}"));
                continue;
            }
        }
        // The record starts after any line breaks left over from the previous one.
        let mut first = start_byte.min(end);
        while first < end && (body[first] == b'\r' || body[first] == b'\n') {
            first += 1;
        }
        let line = line_of(first);
        if rec.len() == 1 && rec.get(0).is_some_and(|c| c.iter().all(|b| b.is_ascii_whitespace())) {
            continue; // blank line
        }
        if rec.len() > layout.columns.len() {
            diags.push(
                Some(line),
                format!("{} fields, the header has {}: row skipped", rec.len(), layout.columns.len()),
            );
            continue;
        }
        let cell = |i: usize| -> Result<&str, ()> {
            std::str::from_utf8(rec.get(i).unwrap_or(b"")).map(str::trim).map_err(|_| ())
        };
        let Ok(step_text) = cell(layout.step) else {
            diags.push(Some(line), "not valid UTF-8: row skipped");
            continue;
        };
        let Some(step) = parse_step(step_text) else {
            if !MISSING.contains(&step_text) || source == Source::Lightning {
                diags.push(
                    Some(line),
                    format!(
                        "{} is not an integer: {:?}: row skipped",
                        layout.columns[layout.step],
                        truncate(step_text)
                    ),
                );
            }
            continue;
        };
        let ts = match layout.time.map(cell) {
            Some(Ok(t)) => parse_f64(t).map_or(f64::NAN, time_ms),
            _ => f64::NAN,
        };
        for (slot, (i, key)) in layout.metrics.iter().enumerate() {
            if layout.text.contains(i) {
                continue;
            }
            match cell(*i) {
                Ok(c) if MISSING.contains(&c) => {}
                Ok(c) => match parse_f64(c) {
                    Some(value) => series[slot].push(Point { step, value, ts }),
                    None => {
                        diags.push(
                            Some(line),
                            format!("column {key:?} holds text ({:?}): not read as a metric", truncate(c)),
                        );
                        layout.text.push(*i);
                    }
                },
                Err(()) => diags.push(Some(line), format!("{key}: not valid UTF-8")),
            }
        }
    }
    let body_lines = body[..complete].iter().filter(|&&b| b == b'\n').count() as u64;
    let header_lines = if append { 0 } else { 1 };
    let total_lines = if append { prev.map_or(0, |p| p.lines) + body_lines } else { header_lines + body_lines };
    let extra = serde_json::to_string(&layout).unwrap_or_default();
    let consumed = body_start + complete;
    let st = tail::next_state(
        &md,
        prev,
        Consumed { bytes: &bytes, append, consumed, lines: total_lines, pending: take_pending, partial },
        extra,
    );
    out.states.push((file.clone(), Some(st)));
    out.diags.push(diags.finish(!append));
    let series = layout.metrics.iter().zip(series).map(|((_, k), pts)| (k.clone(), pts)).collect();
    run.files.push(FileUpdate { file, replace: !append, series });
    out.more = partial;
    out.runs.push(run);
    out
}

fn meta_for(run_path: &str, p: &Path, params: BTreeMap<String, String>) -> RunMeta {
    let name = p.file_stem().map(|s| s.to_string_lossy().into_owned());
    let experiment = p.parent().and_then(|d| d.file_name()).map(|s| s.to_string_lossy().into_owned());
    RunMeta { id: run_path.to_string(), name, experiment, params, ..Default::default() }
}
