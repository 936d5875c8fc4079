//! `runlens registry ...`: the model registry's commands. Parsing and printing only; every rule
//! lives in the core.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Subcommand, ValueEnum};
use serde_json::{json, Value};

use crate::output::{fmt_time, table};
use runlens_core::{HistoryEntry, Identity, Index, ModelState, RegistryChange, Written};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Fmt {
    Table,
    Json,
}

#[derive(Subcommand)]
pub enum RegistryCmd {
    /// Every model, ours and MLflow's, with its versions.
    List {
        project: PathBuf,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Register a file or folder of a run (or a logged model, m-...) as a new version of NAME.
    Register {
        project: PathBuf,
        /// Run id, id prefix or path
        run: String,
        /// A file or folder inside the run (relative to its artifact folder or to the project), or a logged model id
        path: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Point ALIAS at NAME@VERSION (moving it from where it was); --remove takes it away.
    Alias {
        project: PathBuf,
        target: String,
        alias: String,
        #[arg(long)]
        remove: bool,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Set a tag KEY=VALUE on NAME or NAME@VERSION, or --remove KEY.
    Tag {
        project: PathBuf,
        target: String,
        #[arg(value_name = "KEY=VALUE")]
        pair: Option<String>,
        #[arg(long, value_name = "KEY", conflicts_with = "pair")]
        remove: Option<String>,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Set the description of NAME or NAME@VERSION ("" clears it).
    Describe {
        project: PathBuf,
        target: String,
        text: String,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Move NAME@VERSION to STAGE (e.g. Staging, Production), with a comment.
    Stage {
        project: PathBuf,
        target: String,
        stage: String,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Ask for approval of NAME@VERSION, with a comment.
    Request {
        project: PathBuf,
        target: String,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Approve NAME@VERSION, with a comment (signed with your key).
    Approve {
        project: PathBuf,
        target: String,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Reject NAME@VERSION, with a comment (withdraws your approval if you gave one).
    Reject {
        project: PathBuf,
        target: String,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Archive NAME@VERSION.
    Archive {
        project: PathBuf,
        target: String,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Restore an archived NAME@VERSION.
    Restore {
        project: PathBuf,
        target: String,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Every event of NAME in fold order; with --at TIME, the model as it was then.
    History {
        project: PathBuf,
        name: String,
        /// RFC 3339 (2026-03-03T12:00:00Z) or ms since the epoch
        #[arg(long)]
        at: Option<String>,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Check every event (hash, parents, signature, policy) and every pinned file; exit 1 on a problem.
    Verify {
        project: PathBuf,
        name: Option<String>,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Turn MLflow registry models (file store or mlflow.db) into Runlens models.
    ImportMlflow {
        project: PathBuf,
        name: Option<String>,
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Write the model card of NAME@VERSION (Markdown; training curves as PNG beside it).
    Card {
        project: PathBuf,
        target: String,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Print your signing key's id and public key (for a policy's approvers).
    Key {
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
}

/// The time of a change: `RUNLENS_NOW` (ms or RFC 3339) when set, for reproducible demos and
/// tests, else the clock.
pub fn now() -> Result<i64> {
    if let Some(v) = std::env::var("RUNLENS_NOW").ok().filter(|v| !v.is_empty()) {
        return runlens_core::parse_time(&v).ok_or_else(|| anyhow::anyhow!("RUNLENS_NOW={v:?} is not a time"));
    }
    Ok(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0))
}

pub fn identity(config_dir: Option<PathBuf>) -> Result<Identity> {
    let dir = match config_dir {
        Some(d) => d,
        None => runlens_core::default_config_dir().ok_or_else(|| {
            anyhow::anyhow!("no config dir on this system: pass --config-dir or set RUNLENS_CONFIG_DIR")
        })?,
    };
    Ok(Identity::discover(dir, |k| std::env::var(k).ok()))
}

fn comment(c: Option<String>, what: &str) -> Result<String> {
    match c {
        Some(c) if !c.trim().is_empty() => Ok(c),
        _ => bail!("{what} needs a comment (--comment TEXT): it is kept in the model's history"),
    }
}

pub fn run(
    cmd: RegistryCmd,
    open: &dyn Fn(&Path) -> Result<Index>,
    config_dir: Option<PathBuf>,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    use RegistryCmd::*;
    let change = |project: &Path, target: &str, c: RegistryChange, format: Fmt, out: &mut dyn Write| -> Result<()> {
        let index = open(project)?;
        let who = identity(config_dir.clone())?;
        let w = index.registry_change(target, c.clone(), &who, now()?)?;
        print_written(&w, &c, format, out)
    };
    match cmd {
        List { project, format } => {
            let models = open(&project)?.registry_models()?;
            match format {
                Fmt::Json => writeln!(out, "{}", Value::Array(models.iter().map(ModelState::to_json).collect()))?,
                Fmt::Table => out.write_all(list_table(&models).as_bytes())?,
            }
        }
        Register { project, run, path, name, description, format } => {
            let index = open(&project)?;
            let who = identity(config_dir)?;
            let w = index.registry_register(&run, &path, &name, description.as_deref(), &who, now()?)?;
            match format {
                Fmt::Json => writeln!(out, "{}", json!({"name": w.name, "version": w.version, "digest": w.digest}))?,
                Fmt::Table => writeln!(
                    out,
                    "registered {}@{} (digest {})",
                    w.name,
                    w.version.unwrap_or(0),
                    w.digest.as_deref().unwrap_or("")
                )?,
            }
        }
        Alias { project, target, alias, remove, format } => {
            let c = if remove { RegistryChange::RemoveAlias(alias) } else { RegistryChange::SetAlias(alias) };
            change(&project, &target, c, format, out)?;
        }
        Tag { project, target, pair, remove, format } => {
            let c = match (pair, remove) {
                (_, Some(key)) => RegistryChange::DeleteTag(key),
                (Some(p), None) => match p.split_once('=') {
                    Some((k, v)) => RegistryChange::SetTag { key: k.to_string(), value: v.to_string() },
                    None => bail!("a tag is KEY=VALUE (or --remove KEY): {p:?} has no '='"),
                },
                (None, None) => bail!("give KEY=VALUE, or --remove KEY"),
            };
            change(&project, &target, c, format, out)?;
        }
        Describe { project, target, text, format } => {
            change(&project, &target, RegistryChange::SetDescription(text), format, out)?
        }
        Stage { project, target, stage, comment: c, format } => {
            let comment = comment(c, "a stage transition")?;
            change(&project, &target, RegistryChange::Transition { stage, comment }, format, out)?;
        }
        Request { project, target, comment: c, format } => {
            let comment = comment(c, "an approval request")?;
            change(&project, &target, RegistryChange::RequestApproval { comment }, format, out)?;
        }
        Approve { project, target, comment: c, format } => {
            let comment = comment(c, "an approval")?;
            change(&project, &target, RegistryChange::Approve { comment }, format, out)?;
        }
        Reject { project, target, comment: c, format } => {
            let comment = comment(c, "a rejection")?;
            change(&project, &target, RegistryChange::Reject { comment }, format, out)?;
        }
        Archive { project, target, format } => change(&project, &target, RegistryChange::Archive, format, out)?,
        Restore { project, target, format } => change(&project, &target, RegistryChange::Restore, format, out)?,
        History { project, name, at, format } => {
            let index = open(&project)?;
            match at {
                Some(t) => {
                    let ms = runlens_core::parse_time(&t)
                        .ok_or_else(|| anyhow::anyhow!("--at {t:?} is not a time: give RFC 3339 or ms"))?;
                    let m = index.registry_model_at(&name, ms)?;
                    match format {
                        Fmt::Json => writeln!(out, "{}", m.to_json())?,
                        Fmt::Table => out.write_all(list_table(std::slice::from_ref(&m)).as_bytes())?,
                    }
                }
                None => {
                    let h = index.registry_history(&name)?;
                    match format {
                        Fmt::Json => writeln!(out, "{}", serde_json::to_value(&h)?)?,
                        Fmt::Table => out.write_all(history_table(&h).as_bytes())?,
                    }
                }
            }
        }
        Verify { project, name, format } => {
            let index = open(&project)?;
            let problems = index.registry_verify(name.as_deref())?;
            match format {
                Fmt::Json => writeln!(out, "{}", serde_json::to_value(&problems)?)?,
                Fmt::Table => {
                    for p in &problems {
                        writeln!(out, "{p}")?;
                    }
                    if problems.is_empty() {
                        writeln!(out, "ok: every event, signature and pinned file checks out")?;
                    }
                }
            }
            if !problems.is_empty() {
                return Ok(ExitCode::FAILURE);
            }
        }
        ImportMlflow { project, name, format } => {
            let index = open(&project)?;
            let who = identity(config_dir)?;
            let report = index.registry_import_mlflow(name.as_deref(), &who, now()?)?;
            match format {
                Fmt::Json => writeln!(out, "{}", serde_json::to_value(&report)?)?,
                Fmt::Table => {
                    for m in &report {
                        let vs: Vec<String> = m.versions.iter().map(|v| v.to_string()).collect();
                        writeln!(
                            out,
                            "{} (from {} {}): {}",
                            m.name,
                            m.source,
                            m.location,
                            if vs.is_empty() {
                                "nothing new".to_string()
                            } else {
                                format!("imported version {}", vs.join(", "))
                            }
                        )?;
                        for s in &m.skipped {
                            writeln!(out, "  not imported: {s}")?;
                        }
                    }
                    if report.is_empty() {
                        writeln!(out, "no MLflow registry models found")?;
                    }
                }
            }
        }
        Card { project, target, output } => {
            let index = open(&project)?;
            let written = index.registry_card(&target, &output)?;
            for p in written {
                writeln!(out, "wrote {}", p.display())?;
            }
        }
        Key { format } => {
            let who = identity(config_dir)?;
            let (id, text) = Index::registry_key(&who)?;
            match format {
                Fmt::Json => writeln!(out, "{}", json!({"id": id, "public_key": text.lines().nth(1), "file": text}))?,
                Fmt::Table => write!(out, "key id {id}\n{text}")?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_written(w: &Written, c: &RegistryChange, format: Fmt, out: &mut dyn Write) -> Result<()> {
    let at = match w.version {
        Some(v) => format!("{}@{v}", w.name),
        None => w.name.clone(),
    };
    match format {
        Fmt::Json => writeln!(out, "{}", json!({"name": w.name, "version": w.version, "event": w.event}))?,
        Fmt::Table => {
            let what = match c {
                RegistryChange::SetAlias(a) => format!("alias {a} -> {at}"),
                RegistryChange::RemoveAlias(a) => format!("alias {a} removed from {at}"),
                RegistryChange::SetTag { key, value } => format!("{at}: tag {key}={value}"),
                RegistryChange::DeleteTag(k) => format!("{at}: tag {k} removed"),
                RegistryChange::SetDescription(_) => format!("{at}: description set"),
                RegistryChange::Transition { stage, .. } => format!("{at} -> stage {stage}"),
                RegistryChange::RequestApproval { .. } => format!("{at}: approval requested"),
                RegistryChange::Approve { .. } => format!("{at}: approved"),
                RegistryChange::Reject { .. } => format!("{at}: rejected"),
                RegistryChange::Archive => format!("{at}: archived"),
                RegistryChange::Restore => format!("{at}: restored"),
                RegistryChange::SetDataset(_) => format!("{at}: reference dataset set"),
            };
            writeln!(out, "{what} (event {})", &w.event[..12.min(w.event.len())])?;
        }
    }
    Ok(())
}

fn list_table(models: &[ModelState]) -> String {
    let headers: Vec<String> =
        ["MODEL", "SOURCE", "VERSION", "ALIASES", "STAGE", "APPROVALS", "CREATED", "BY", "RUN", "NOTE"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    let mut rows = Vec::new();
    for m in models {
        if m.versions.is_empty() {
            rows.push(vec![m.name.clone(), m.source.clone(), "-".into()]);
            rows.last_mut().expect("pushed").resize(headers.len(), String::new());
        }
        for v in &m.versions {
            let mut note = Vec::new();
            if v.archived {
                note.push("archived".to_string());
            }
            if v.changed_on_disk {
                note.push("CHANGED ON DISK".to_string());
            }
            rows.push(vec![
                m.name.clone(),
                m.source.clone(),
                v.version.to_string(),
                v.aliases.join(","),
                v.stage.clone().unwrap_or_default(),
                if v.approvals.is_empty() { String::new() } else { v.approvals.len().to_string() },
                v.created_at.map(fmt_time).unwrap_or_default(),
                v.created_by.clone().unwrap_or_default(),
                v.run_path.clone().or_else(|| v.run_id.clone()).unwrap_or_default(),
                note.join(", "),
            ]);
        }
    }
    if rows.is_empty() {
        return "no models: register one with `runlens registry register PROJECT RUN PATH --name NAME`\n".into();
    }
    table(&headers, &rows, 48)
}

fn history_table(h: &[HistoryEntry]) -> String {
    let headers: Vec<String> =
        ["AT", "WHO", "HOST", "KIND", "VERSION", "DETAIL", "EVENT"].iter().map(|s| s.to_string()).collect();
    let rows: Vec<Vec<String>> = h
        .iter()
        .map(|e| {
            let p = &e.payload;
            let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let mut detail = match e.kind.as_str() {
                "set_alias" | "remove_alias" => s("alias"),
                "set_tag" => format!("{}={}", s("key"), s("value")),
                "delete_tag" => s("key"),
                "set_description" => s("description"),
                "transition" => format!("{}: {}", s("stage"), s("comment")),
                "request_approval" | "approve" | "reject" => s("comment"),
                "register" => {
                    p.get("source").and_then(|x| x.get("path")).and_then(Value::as_str).unwrap_or("").to_string()
                }
                _ => String::new(),
            };
            if let Some(why) = &e.skipped {
                detail = format!("NOT APPLIED ({why}) {detail}");
            }
            vec![
                fmt_time(e.at),
                e.actor.display(),
                e.host.clone(),
                e.kind.clone(),
                e.version.map(|v| v.to_string()).unwrap_or_default(),
                detail,
                e.hash[..12.min(e.hash.len())].to_string(),
            ]
        })
        .collect();
    table(&headers, &rows, 60)
}
