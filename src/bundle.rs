//! `runlens bundle ...`: export a registered version as a signed, reproducible archive, and check
//! one. Parsing and printing only.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use crate::registry::{identity, Fmt};
use runlens_core::{BundleFormat, BundleOptions, Compression, Index};

/// `--format`: the archive to write.
#[derive(Clone, Copy, ValueEnum)]
enum Archive {
    /// A tar archive holding one folder <name>-<version>/ (<name>-<version>.tar)
    Tar,
    /// An OCI image layout archive with ModelPack media types (<name>-<version>.oci.tar)
    Oci,
}

#[derive(Clone, Copy, ValueEnum)]
enum Compress {
    None,
    /// zstd, for text-heavy models (<name>-<version>.tar.zst)
    Zstd,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BundleArgs {
    #[command(subcommand)]
    check: Option<BundleCmd>,
    /// The project holding the registry
    project: Option<PathBuf>,
    /// NAME@VERSION or NAME@ALIAS
    target: Option<String>,
    /// The folder to write the archive into
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// The archive: tar, or an OCI image layout for `skopeo copy oci-archive:FILE ...`
    #[arg(long, value_enum, default_value_t = Archive::Tar)]
    format: Archive,
    /// Compress a tar bundle (weights barely compress: none by default)
    #[arg(long, value_enum, default_value_t = Compress::None)]
    compress: Compress,
    /// Print what was written as one JSON line
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum BundleCmd {
    /// Check every file of a bundle against its SHA256SUMS and the signature; exit 1 on a problem.
    Verify {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
}

pub fn run(
    args: BundleArgs,
    open: &dyn Fn(&Path) -> Result<Index>,
    config_dir: Option<PathBuf>,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    if let Some(BundleCmd::Verify { file, format }) = args.check {
        let c = runlens_core::verify_bundle(&file)?;
        match format {
            Fmt::Json => writeln!(out, "{}", serde_json::to_value(&c)?)?,
            Fmt::Table => {
                for p in &c.problems {
                    writeln!(out, "{p}")?;
                }
                if c.problems.is_empty() {
                    writeln!(
                        out,
                        "ok: {} bundle of {}@{}: {} files match SHA256SUMS; signed by key {}",
                        c.format,
                        c.model.as_deref().unwrap_or("?"),
                        c.version.map(|v| v.to_string()).unwrap_or_else(|| "?".into()),
                        c.checked,
                        c.signed_by.as_deref().unwrap_or("?")
                    )?;
                }
            }
        }
        return Ok(if c.problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    let (Some(project), Some(target), Some(dir)) = (args.project, args.target, args.output) else {
        bail!("usage: runlens bundle PROJECT NAME@VERSION -o DIR [--format tar|oci] [--compress zstd], or runlens bundle verify FILE");
    };
    let index = open(&project)?;
    let who = identity(config_dir)?;
    let options = BundleOptions {
        format: match args.format {
            Archive::Tar => BundleFormat::Tar,
            Archive::Oci => BundleFormat::Oci,
        },
        compress: match args.compress {
            Compress::None => Compression::None,
            Compress::Zstd => Compression::Zstd,
        },
    };
    let never = std::sync::atomic::AtomicBool::new(false);
    let b = index.bundle_export_with(&target, &dir, &who, options, &mut |_| {}, &never)?;
    match if args.json { Fmt::Json } else { Fmt::Table } {
        Fmt::Json => writeln!(
            out,
            "{}",
            json!({"path": b.path, "model": b.model, "version": b.version, "digest": b.digest, "files": b.files, "bytes": b.bytes})
        )?,
        Fmt::Table => writeln!(
            out,
            "wrote {} ({}@{}, {} files, {} bytes, digest {})",
            b.path.display(),
            b.model,
            b.version,
            b.files,
            b.bytes,
            b.digest
        )?,
    }
    Ok(ExitCode::SUCCESS)
}
