//! `runlens data ...`: tracked data and its versions. Parsing and printing only.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use crate::registry::Fmt;
use runlens_core::Index;

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
}

fn short(rev: &str) -> &str {
    if rev == "workspace" {
        rev
    } else {
        &rev[..rev.len().min(8)]
    }
}

pub fn run(cmd: DataCmd, open: &dyn Fn(&Path) -> Result<Index>, out: &mut dyn Write) -> Result<ExitCode> {
    match cmd {
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
                    writeln!(out, "{}@{}: {} rows, {} columns", p.path, short(&p.rev), p.rows, p.columns.len())?;
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
                            writeln!(
                                out,
                                "  {:<9} {:<19} {:<36} {:>10} {}{}  {}",
                                short(&v.rev),
                                when,
                                v.md5,
                                v.size.map(|s| s.to_string()).unwrap_or_default(),
                                if v.in_cache { "" } else { "not in cache  " },
                                if v.runs.is_empty() { String::new() } else { format!("runs: {}", v.runs.join(" ")) },
                                v.message.as_deref().unwrap_or("")
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
