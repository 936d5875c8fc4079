//! `runlens data ...`: tracked data and its versions. Parsing and printing only.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use crate::registry::Fmt;
use runlens_core::{short_rev, Index};

#[derive(Subcommand)]
pub enum DataCmd {
    /// A table's (CSV, TSV, JSONL) column statistics over every row, and its first rows. PATH@REV
    /// reads a version: a commit, a tag, a branch or `workspace`.
    Show {
        project: PathBuf,
        /// PATH or PATH@REV
        spec: String,
        /// How many of the first rows to show
        #[arg(long, default_value_t = 10)]
        rows: usize,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Two versions of a dataset, or two tables: columns added, removed and retyped, row counts,
    /// and with --key the rows added, removed and changed; for a DVC-tracked folder, its files as
    /// `dvc diff --json --show-hash` lists them. Exit 0 when they are the same, 1 when they
    /// differ, 2 on trouble (as diff(1)).
    Diff {
        project: PathBuf,
        /// PATH@REV (or PATH: the working tree)
        a: String,
        /// PATH@REV, PATH, or a REV of A's path
        b: String,
        /// A column whose values identify rows, to find rows added, removed and changed
        #[arg(long)]
        key: Option<String>,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Set the reference dataset of a model version (what its drift is measured against): a
    /// signed registry event naming the path, the commit and the bytes' md5.
    Reference {
        project: PathBuf,
        /// NAME@VERSION or NAME@ALIAS
        target: String,
        /// PATH or PATH@REV: a table
        spec: String,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Score each new table that lands in DIR against the reference dataset of the model version
    /// MODEL names (NAME@ALIAS follows the alias as it moves), keeping every score as a file under
    /// PROJECT/.runlens/monitor/. Runs until interrupted; --once scores what is there and exits 1
    /// when a batch drifted.
    Watch {
        project: PathBuf,
        /// NAME@ALIAS or NAME@VERSION
        #[arg(long)]
        model: String,
        /// The folder new batches land in
        dir: PathBuf,
        /// Score what is there now and exit
        #[arg(long)]
        once: bool,
        /// Seconds between looks at DIR
        #[arg(long, default_value_t = 2.0)]
        poll: f64,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Tracked data (DVC .dvc files and dvc.lock, Git LFS) with its versions through git history,
    /// newest first, and the runs and model versions that used each.
    Ls {
        project: PathBuf,
        /// Hash every version whose bytes are here again; exit 1 naming each that differs from
        /// what DVC or LFS recorded.
        #[arg(long)]
        check: bool,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// How each current table differs from a reference, column by column (KS, Wasserstein, chi-
    /// squared, z, PSI, Jensen-Shannon, null share), and whether that is drift. Exit 0 when no
    /// FILE drifted, 1 when one did, 2 on trouble (as diff(1)), so CI can gate on it.
    Drift {
        project: PathBuf,
        /// The reference table: PATH or PATH@REV in the project, or an absolute path
        #[arg(long)]
        reference: String,
        /// The current tables: PATH or PATH@REV in the project, or a path to a file anywhere
        #[arg(required = true)]
        files: Vec<String>,
        /// runlens: Holm-corrected significance and an effect size; evidently: Evidently's
        /// DataDriftPreset defaults
        #[arg(long, value_enum, default_value_t = DriftRulesArg::Runlens)]
        rules: DriftRulesArg,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
}

pub fn run(
    cmd: DataCmd,
    open: &dyn Fn(&Path) -> Result<Index>,
    config_dir: Option<PathBuf>,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    match cmd {
        DataCmd::Watch { project, model, dir, once, poll, format } => {
            let index = open(&project)?;
            let mut drifted = false;
            // Each table that could not be scored is named once (it is tried again every pass).
            let mut named = std::collections::BTreeSet::new();
            loop {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0);
                // --once takes every file as complete; watching waits until a file settles.
                let runlens_core::MonitorPass { scores, problems } = index.monitor_scan(&model, &dir, now, !once)?;
                for p in &problems {
                    if named.insert(p.clone()) {
                        eprintln!("runlens: {p}");
                    }
                }
                // Columns that crossed their threshold (drifting now, not in the version's batch
                // before), on stderr after the scores: stdout stays the scores' contract.
                let crossings = index.monitor_scan_crossings(&scores)?;
                for s in scores {
                    drifted |= s.drift;
                    match format {
                        Fmt::Json => writeln!(out, "{}", serde_json::to_string(&s)?)?,
                        Fmt::Table => {
                            let cols: Vec<&str> = s
                                .columns
                                .as_object()
                                .map(|c| {
                                    c.iter().filter(|(_, v)| v["drift"] == true).map(|(k, _)| k.as_str()).collect()
                                })
                                .unwrap_or_default();
                            writeln!(
                                out,
                                "{}: {}@{} {} ({:.0}% of columns{}{})",
                                s.file,
                                s.model,
                                s.version,
                                if s.drift { "DRIFT" } else { "no drift" },
                                s.share_drifted * 100.0,
                                if cols.is_empty() { "" } else { ": " },
                                cols.join(", ")
                            )?
                        }
                    }
                    out.flush()?;
                }
                for c in crossings {
                    eprintln!("crossed: {}@{} {}: {}", c.model, c.version, c.file, c.columns.join(", "));
                }
                if once {
                    // diff(1)'s codes: drift first, then trouble (a table not scored).
                    return Ok(if drifted {
                        ExitCode::from(1)
                    } else if !problems.is_empty() {
                        ExitCode::from(2)
                    } else {
                        ExitCode::SUCCESS
                    });
                }
                std::thread::sleep(std::time::Duration::from_secs_f64(poll.max(0.1)));
            }
        }
        DataCmd::Reference { project, target, spec, format } => {
            let index = open(&project)?;
            let who = crate::registry::identity(config_dir)?;
            let w = index.data_reference(&target, &spec, &who, crate::registry::now()?)?;
            let m = index.registry_model(&w.name)?;
            let v = m.versions.iter().find(|v| Some(v.version) == w.version);
            let dataset = v.map(|v| v.dataset.clone()).unwrap_or_default();
            match format {
                Fmt::Json => writeln!(
                    out,
                    "{}",
                    serde_json::json!({"name": w.name, "version": w.version, "event": w.event, "dataset": dataset})
                )?,
                Fmt::Table => writeln!(
                    out,
                    "{}@{}: reference dataset {}@{} (md5 {})",
                    w.name,
                    w.version.unwrap_or(0),
                    dataset["path"].as_str().unwrap_or(""),
                    short_rev(dataset["rev"].as_str().unwrap_or("")),
                    dataset["md5"].as_str().unwrap_or("")
                )?,
            }
        }
        DataCmd::Diff { project, a, b, key, format } => {
            let d = match open(&project).and_then(|index| Ok(index.data_diff(&a, &b, key.as_deref())?)) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    return Ok(ExitCode::from(2));
                }
            };
            for w in &d.warnings {
                eprintln!("warning: {w}");
            }
            match format {
                Fmt::Json => writeln!(out, "{}", serde_json::to_string(&d)?)?,
                Fmt::Table => print_diff(&d, out)?,
            }
            return Ok(if d.differs() { ExitCode::from(1) } else { ExitCode::SUCCESS });
        }
        DataCmd::Drift { project, reference, files, rules, format } => {
            return drift_cmd(open, &project, &reference, &files, rules, format, out);
        }
        DataCmd::Show { project, spec, rows, format } => {
            let index = open(&project)?;
            let never = std::sync::atomic::AtomicBool::new(false);
            let p = index.data_show(&spec, rows, &mut |_, _| {}, &never)?;
            for w in &p.warnings {
                eprintln!("warning: {w}");
            }
            match format {
                Fmt::Json => {
                    let columns: Vec<serde_json::Value> = p.columns.iter().map(column_json).collect();
                    writeln!(out, "{}", serde_json::json!({"rows": p.rows, "columns": columns, "head": p.head}))?
                }
                Fmt::Table => {
                    writeln!(out, "{}@{}: {} rows, {} columns", p.path, short_rev(&p.rev), p.rows, p.columns.len())?;
                    let num = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_default();
                    writeln!(
                        out,
                        "{:<20} {:<8} {:>8} {:>6} {:>12} {:>12} {:>12} {:>12} {:>8}",
                        "COLUMN", "TYPE", "COUNT", "NULLS", "MIN", "MEAN", "MEDIAN", "MAX", "DISTINCT"
                    )?;
                    for c in &p.columns {
                        writeln!(
                            out,
                            "{:<20} {:<8} {:>8} {:>6} {:>12} {:>12} {:>12} {:>12} {:>8}",
                            c.name,
                            c.kind,
                            c.count,
                            c.nulls,
                            num(c.min),
                            num(c.mean),
                            num(c.q50),
                            num(c.max),
                            c.distinct
                        )?;
                    }
                    for r in &p.head {
                        writeln!(out, "{}", serde_json::Value::Object(r.clone()))?;
                    }
                }
            }
        }
        DataCmd::Ls { project, check, format } => {
            let index = open(&project)?;
            let listing = index.data_ls(check)?;
            for n in &listing.notes {
                eprintln!("note: {n}");
            }
            match format {
                Fmt::Json => writeln!(out, "{}", serde_json::to_string(&listing.items)?)?,
                Fmt::Table => {
                    for item in &listing.items {
                        writeln!(out, "{} ({}; {})", item.path, item.kind, item.tracked_by.join(", "))?;
                        for v in &item.versions {
                            let when = v.at.map(runlens_core::format_utc).unwrap_or_default();
                            let mut used = Vec::new();
                            if !v.runs.is_empty() {
                                used.push(format!(
                                    "runs: {}",
                                    v.runs.iter().map(|r| short_rev(r)).collect::<Vec<_>>().join(" ")
                                ));
                            }
                            if !v.models.is_empty() {
                                used.push(format!("models: {}", v.models.join(" ")));
                            }
                            writeln!(
                                out,
                                "  {:<9} {:<19} {:<36} {:>10} {}{}  {}",
                                short_rev(&v.rev),
                                when,
                                v.md5,
                                v.size.map(|s| s.to_string()).unwrap_or_default(),
                                if v.in_cache { "" } else { "not in cache  " },
                                v.message.as_deref().unwrap_or(""),
                                used.join("; ")
                            )?;
                        }
                    }
                }
            }
            for p in &listing.problems {
                eprintln!("error: {p}");
            }
            if !listing.problems.is_empty() {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A column as the CLI contract has it: numbers that are not finite as strings.
fn column_json(c: &runlens_core::ColumnStats) -> serde_json::Value {
    let n = |v: Option<f64>| v.map(runlens_core::json_num).unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "name": c.name, "type": c.kind, "count": c.count, "nulls": c.nulls,
        "min": n(c.min), "max": n(c.max), "mean": n(c.mean), "std": n(c.std),
        "q25": n(c.q25), "q50": n(c.q50), "q75": n(c.q75), "distinct": c.distinct,
        "top": c.top.iter().map(|(v, k)| serde_json::json!([v, k])).collect::<Vec<_>>(),
        "histogram": c.histogram.as_ref().map(|h| serde_json::json!({
            "edges": h.edges.iter().map(|e| runlens_core::json_num(*e)).collect::<Vec<_>>(),
            "counts": h.counts,
        })),
    })
}

fn print_diff(d: &runlens_core::DataDiff, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "a: {}@{} ({} {})",
        d.a.path,
        short_rev(&d.a.rev),
        d.a.rows,
        if d.kind == "folder" { "files" } else { "rows" }
    )?;
    writeln!(
        out,
        "b: {}@{} ({} {})",
        d.b.path,
        short_rev(&d.b.rev),
        d.b.rows,
        if d.kind == "folder" { "files" } else { "rows" }
    )?;
    if let Some(files) = &d.files {
        for k in ["added", "deleted", "modified", "renamed"] {
            for e in files[k].as_array().into_iter().flatten() {
                let path = match &e["path"] {
                    serde_json::Value::Object(p) => {
                        format!("{} -> {}", p["old"].as_str().unwrap_or(""), p["new"].as_str().unwrap_or(""))
                    }
                    p => p.as_str().unwrap_or("").to_string(),
                };
                writeln!(out, "{k:<9} {path}")?;
            }
        }
        return Ok(());
    }
    for c in &d.columns_added {
        writeln!(out, "column added    {c}")?;
    }
    for c in &d.columns_removed {
        writeln!(out, "column removed  {c}")?;
    }
    for r in &d.columns_retyped {
        writeln!(out, "column retyped  {} ({} -> {})", r.name, r.from, r.to)?;
    }
    if let (Some(a), Some(r), Some(c)) = (d.rows_added, d.rows_removed, d.rows_changed) {
        writeln!(out, "rows by {}: {a} added, {r} removed, {c} changed", d.key.as_deref().unwrap_or("key"))?;
        for c in &d.changed_cells {
            writeln!(out, "  {} {}: {} -> {}", c.key, c.column, c.a, c.b)?;
        }
    }
    Ok(())
}

/// `--rules` of `data drift`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum DriftRulesArg {
    Runlens,
    Evidently,
}

/// `runlens data drift`: trouble is exit 2, drift in any FILE exit 1.
fn drift_cmd(
    open: &dyn Fn(&Path) -> Result<Index>,
    project: &Path,
    reference: &str,
    files: &[String],
    rules: DriftRulesArg,
    format: Fmt,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let rules = match rules {
        DriftRulesArg::Runlens => runlens_core::DriftRules::Runlens,
        DriftRulesArg::Evidently => runlens_core::DriftRules::Evidently,
    };
    // A relative FILE that is not in the project but is here (the current directory) is read
    // from here.
    let here = |f: &String| -> String {
        let p = Path::new(f);
        if p.is_relative() && !f.contains('@') && !project.join(p).exists() && p.is_file() {
            if let Ok(abs) = std::fs::canonicalize(p) {
                return abs.to_string_lossy().into_owned();
            }
        }
        f.clone()
    };
    let files: Vec<String> = files.iter().map(here).collect();
    let reference = here(&reference.to_string());
    let reports = match open(project).and_then(|index| Ok(index.data_drift(&reference, &files, rules)?)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    for r in &reports {
        for w in &r.warnings {
            eprintln!("warning: {}: {w}", r.path);
        }
    }
    match format {
        Fmt::Json => {
            let mut v: Vec<serde_json::Value> = reports.iter().map(drift_json).collect();
            let v = if v.len() == 1 { v.remove(0) } else { serde_json::Value::Array(v) };
            writeln!(out, "{v}")?;
        }
        Fmt::Table => {
            for r in &reports {
                print_drift(r, out)?;
            }
        }
    }
    Ok(if reports.iter().any(|r| r.drift) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// A drift report as the CLI contract has it: `{"columns", "share_drifted", "drift"}`, numbers
/// that are not finite as strings, what does not apply null.
fn drift_json(r: &runlens_core::DriftReport) -> serde_json::Value {
    use runlens_core::json_num;
    use serde_json::{json, Value};
    let n = |v: Option<f64>| v.map(json_num).unwrap_or(Value::Null);
    let t = |v: Option<runlens_core::TestValue>| {
        v.map(|t| json!({"statistic": json_num(t.statistic), "p_value": json_num(t.p_value)})).unwrap_or(Value::Null)
    };
    let columns: Vec<Value> = r
        .columns
        .iter()
        .map(|c| {
            json!({
                "name": c.name, "type": c.kind, "method": c.method, "drift": c.drift,
                "ks": t(c.ks), "wasserstein": n(c.wasserstein), "wasserstein_norm": n(c.wasserstein_norm),
                "chi2": t(c.chi2), "z": t(c.z), "psi": n(c.psi), "js": n(c.js),
                "null_share": {"reference": json_num(c.null_share.0), "current": json_num(c.null_share.1)},
            })
        })
        .collect();
    json!({"columns": columns, "share_drifted": json_num(r.share_drifted), "drift": r.drift})
}

fn print_drift(r: &runlens_core::DriftReport, out: &mut dyn Write) -> Result<()> {
    let drifted = r.columns.iter().filter(|c| c.drift).count();
    // Key columns (method "id") cannot drift and are not counted in the share.
    let keys = r.columns.iter().filter(|c| c.method == "id").count();
    writeln!(
        out,
        "{}{}: {} of {} columns drifted ({:.0}%){}{}",
        r.path,
        if r.rev == "file" { String::new() } else { format!("@{}", short_rev(&r.rev)) },
        drifted,
        r.columns.len() - keys,
        r.share_drifted * 100.0,
        match keys {
            0 => String::new(),
            1 => ", and a key column".into(),
            k => format!(", and {k} key columns"),
        },
        if r.drift { ": DRIFT" } else { "" }
    )?;
    let num = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into());
    let p = |v: Option<runlens_core::TestValue>| v.map(|t| format!("{:.3e}", t.p_value)).unwrap_or_else(|| "-".into());
    writeln!(
        out,
        "{:<20} {:<8} {:<16} {:<5} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8} {:>13}",
        "COLUMN", "TYPE", "METHOD", "DRIFT", "KS P", "W NORM", "CHI2 P", "Z P", "PSI", "JS", "NULLS REF/CUR"
    )?;
    for c in &r.columns {
        writeln!(
            out,
            "{:<20} {:<8} {:<16} {:<5} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8} {:>6.3}/{:<6.3}",
            c.name,
            c.kind,
            c.method,
            if c.drift { "yes" } else { "no" },
            p(c.ks),
            num(c.wasserstein_norm),
            p(c.chi2),
            p(c.z),
            num(c.psi),
            num(c.js),
            c.null_share.0,
            c.null_share.1
        )?;
    }
    Ok(())
}
