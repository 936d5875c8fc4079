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
