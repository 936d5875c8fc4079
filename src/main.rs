//! `runlens`: the command line over the engine. Parsing arguments and printing are all it does.

mod bundle;
mod data;
mod output;
mod registry;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};

use output::{csv_line, fmt_num, fmt_time, metric_json, num, run_json, series_json, table};
use runlens_core::{Change, Index, Progress, RunQuery, RunRow, ScanOptions, ScanReport, WatchEvent, WatchOptions};

#[derive(Parser)]
#[command(name = "runlens", version, about = "See, compare and query the ML runs already in a project folder.")]
struct Cli {
    /// Where indexes live (one SQLite file per project). Default: the OS's app-data dir.
    #[arg(long, global = true, env = "RUNLENS_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Where your settings and registry signing key live. Default: the OS's config dir + runlens.
    #[arg(long, global = true, env = "RUNLENS_CONFIG_DIR", value_name = "DIR")]
    config_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Subcommand)]
enum Command {
    /// Open PROJECT in the Runlens desktop app (a running app opens it in its window).
    Open { project: PathBuf },
    /// Find and index the runs in PROJECT (incremental: only what changed is read).
    Index {
        project: PathBuf,
        /// No progress bar and no diagnostics, only the summary line.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Keep the index current while runs are written, and print each change once it can be
    /// queried: new runs, status changes, new points. With --format json, one object per line.
    Watch {
        project: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        args: WatchArgs,
    },
    /// List runs, filtered and sorted.
    Runs {
        project: PathBuf,
        /// e.g. 'metrics.val_acc > 0.9 and params.optimizer = "adam"'
        #[arg(long, short, default_value = "")]
        filter: String,
        /// A key to sort by, '-' first for descending; repeat for more keys.
        #[arg(long, short, allow_hyphen_values = true)]
        sort: Vec<String>,
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Extra table columns, e.g. metrics.val_acc,params.lr
        #[arg(long, value_delimiter = ',')]
        columns: Vec<String>,
        #[arg(long)]
        include_deleted: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        refresh: Refresh,
    },
    /// One run: params, tags, metric summaries, artifacts, datasets, models.
    Show {
        project: PathBuf,
        /// Run id or path
        run: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        refresh: Refresh,
    },
    /// Print a metric's points.
    Metric {
        project: PathBuf,
        run: String,
        key: String,
        /// Downsample to about this many points: first, last, min and max of N/4 equal step buckets.
        #[arg(long)]
        max_points: Option<usize>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        refresh: Refresh,
    },
    /// Compare two runs: the params and tags that differ, metric summaries side by side.
    Diff {
        project: PathBuf,
        run_a: String,
        run_b: String,
        /// Show equal params and tags too.
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        refresh: Refresh,
    },
    /// The model registry: versions, aliases, tags, stages and approvals, kept as signed event
    /// files under PROJECT/.runlens/registry/ (MLflow's registries are listed beside, read-only).
    #[command(subcommand)]
    Registry(registry::RegistryCmd),
    /// Export a registered version as a signed, reproducible archive (`bundle PROJECT NAME@VERSION
    /// -o DIR`), or check one (`bundle verify FILE`).
    Bundle(bundle::BundleArgs),
    /// Versioned data: what DVC and Git LFS track, its versions through git history, and the runs
    /// and model versions that used each.
    #[command(subcommand)]
    Data(data::DataCmd),
}

#[derive(clap::Args)]
struct WatchArgs {
    /// Check for changes every SECONDS instead of waiting for file events (for shares where events
    /// do not arrive; chosen on its own for NFS, SMB and FUSE).
    #[arg(long, value_name = "SECONDS")]
    poll: Option<f64>,
    /// Poll instead of watching when the project has more folders than this.
    #[arg(long, value_name = "N")]
    max_watched_dirs: Option<usize>,
}

#[derive(clap::Args)]
struct Refresh {
    /// Query the index as it is, without first picking up changes in the project.
    #[arg(long)]
    no_refresh: bool,
}

/// Big blocks (a column's values, a Parquet page) from the heap rather than each its own
/// mapping: unmapping one makes the kernel stop the other reading thread to flush its TLB. glibc
/// only; the CLI is a short process (the app keeps glibc's default, memory given back sooner).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only sets a parameter of glibc's allocator; called first thing in main,
    // before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    tune_allocator();
    runlens_core::install_panic_hook();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// clap has already read RUNLENS_DATA_DIR into `--data-dir`.
fn data_dir(cli: &Option<PathBuf>) -> Result<PathBuf> {
    Ok(runlens_core::choose_data_dir(cli.clone(), None)?)
}

/// One change as `runlens watch` prints it; the JSON shapes are a contract for scripts.
fn change_line(c: &Change, format: Format) -> String {
    match (c, format) {
        // Written by hand to keep the documented key order ("kind" first).
        (Change::Run { run, status }, Format::Json) => format!(
            r#"{{"kind":"run","run":{},"status":{}}}"#,
            Value::from(run.as_str()),
            status.as_deref().map_or(Value::Null, Value::from)
        ),
        (Change::Points { run, key, count, last_step }, Format::Json) => format!(
            r#"{{"kind":"points","run":{},"key":{},"count":{count},"last_step":{last_step}}}"#,
            Value::from(run.as_str()),
            Value::from(key.as_str())
        ),
        (Change::Removed { run }, Format::Json) => {
            format!(r#"{{"kind":"removed","run":{}}}"#, Value::from(run.as_str()))
        }
        (Change::Registry { model }, Format::Json) => {
            format!(r#"{{"kind":"registry","model":{}}}"#, Value::from(model.as_str()))
        }
        (Change::Registry { model }, _) if model.is_empty() => "registry: policy or keys changed".to_string(),
        (Change::Registry { model }, _) => format!("registry {model}: changed"),
        (Change::Run { run, status }, _) => format!("run {run}: {}", status.as_deref().unwrap_or("(no status)")),
        (Change::Points { run, key, count, last_step }, _) => {
            format!("{run} {key}: {count} point{}, last step {last_step}", if *count == 1 { "" } else { "s" })
        }
        (Change::Removed { run }, _) => format!("run {run}: removed"),
    }
}

/// Opens the index and, unless told not to, brings it up to date first (quietly).
fn open(data: &Path, project: &Path, refresh: &Refresh) -> Result<Index> {
    let mut index = Index::open(data, project)?;
    if !refresh.no_refresh {
        index.scan(&ScanOptions::default(), &mut |_| {}, &AtomicBool::new(false))?;
    }
    Ok(index)
}

fn run(cli: Cli) -> Result<ExitCode> {
    let data = data_dir(&cli.data_dir)?;
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Open { project } => open_in_app(&project, &data)?,
        Command::Registry(cmd) => {
            let open = |p: &Path| open(&data, p, &Refresh { no_refresh: false });
            return registry::run(cmd, &open, cli.config_dir, &mut out);
        }
        Command::Bundle(args) => {
            let open = |p: &Path| open(&data, p, &Refresh { no_refresh: false });
            return bundle::run(args, &open, cli.config_dir, &mut out);
        }
        Command::Data(cmd) => {
            let open = |p: &Path| open(&data, p, &Refresh { no_refresh: false });
            return data::run(cmd, &open, cli.config_dir, &mut out);
        }
        Command::Index { project, quiet } => {
            let mut index = Index::open(&data, &project)?;
            let report = scan_with_progress(&mut index, quiet)?;
            if !quiet {
                for d in &report.diagnostics {
                    eprintln!("warning: {d}");
                }
            }
            writeln!(out, "{}", summary(&report))?;
        }
        Command::Watch { project, format, args } => {
            let mut index = Index::open(&data, &project)?;
            let opts = WatchOptions {
                poll: args.poll.map(|s| std::time::Duration::from_secs_f64(s.max(0.05))),
                max_watched_dirs: args.max_watched_dirs,
                ..Default::default()
            };
            let mut failed: Option<std::io::Error> = None;
            let stop = AtomicBool::new(false);
            index.watch(
                &opts,
                &mut |ev| {
                    let res = match ev {
                        WatchEvent::Notice(n) => {
                            eprintln!("note: {n}");
                            Ok(())
                        }
                        WatchEvent::Ready { report, polling } => {
                            let how = match polling {
                                Some(d) => format!("checking every {} s", d.as_secs_f64()),
                                None => "on file events".to_string(),
                            };
                            eprintln!("watching {} ({how}): {}", project.display(), summary(report));
                            Ok(())
                        }
                        WatchEvent::Changes(changes) => {
                            changes.iter().try_for_each(|c| writeln!(out, "{}", change_line(c, format)))
                        }
                    };
                    if let Err(e) = res {
                        // Nobody reads our output any more (a closed pipe): stop.
                        failed = Some(e);
                        stop.store(true, Ordering::Relaxed);
                    }
                },
                &stop,
            )?;
            if let Some(e) = failed {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e.into());
                }
            }
        }
        Command::Runs { project, filter, sort, limit, offset, columns, include_deleted, format, refresh } => {
            let index = open(&data, &project, &refresh)?;
            let q = RunQuery { filter: filter.clone(), sort: sort.clone(), limit, offset, include_deleted };
            let runs = index.runs(&q)?;
            match format {
                Format::Json => writeln!(out, "{}", Value::Array(runs.iter().map(run_json).collect()))?,
                Format::Csv => out.write_all(runs_csv(&runs).as_bytes())?,
                Format::Table => {
                    let cols = table_columns(&runs, &columns, &sort, &filter);
                    out.write_all(runs_table(&runs, &cols).as_bytes())?;
                    if std::io::stdout().is_terminal() {
                        writeln!(out, "{} run{}", runs.len(), if runs.len() == 1 { "" } else { "s" })?;
                    }
                }
            }
        }
        Command::Show { project, run, format, refresh } => {
            let index = open(&data, &project, &refresh)?;
            let d = index.run_detail(&run)?;
            out.write_all(show(&d, format).as_bytes())?;
        }
        Command::Metric { project, run, key, max_points, format, refresh } => {
            let index = open(&data, &project, &refresh)?;
            let r = index.find_run(&run)?;
            let mut points = index.series(r.uid, &key)?;
            if let Some(n) = max_points {
                if let (Some(first), Some(last)) = (points.first(), points.last()) {
                    let (lo, hi) = (first.step as f64, last.step as f64);
                    points = runlens_core::m4_points(&points, (n / 4).max(1), lo, hi);
                }
            }
            match format {
                Format::Json => writeln!(out, "{}", series_json(&points))?,
                Format::Csv | Format::Table => {
                    let rows: Vec<Vec<String>> = points
                        .iter()
                        .map(|p| {
                            vec![
                                p.step.to_string(),
                                if format == Format::Csv { num_text(p.value) } else { fmt_num(p.value) },
                                if p.ts.is_nan() { String::new() } else { output::ts(p.ts).to_string() },
                            ]
                        })
                        .collect();
                    let headers = vec!["step".to_string(), "value".into(), "timestamp".into()];
                    if format == Format::Csv {
                        out.write_all(csv_line(&headers).as_bytes())?;
                        for r in &rows {
                            out.write_all(csv_line(r).as_bytes())?;
                        }
                    } else {
                        out.write_all(table(&headers, &rows, 40).as_bytes())?;
                    }
                }
            }
        }
        Command::Diff { project, run_a, run_b, all, format, refresh } => {
            let index = open(&data, &project, &refresh)?;
            let a = index.find_run(&run_a)?;
            let b = index.find_run(&run_b)?;
            out.write_all(diff(&a, &b, all, format).as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn scan_with_progress(index: &mut Index, quiet: bool) -> Result<ScanReport> {
    let bar = if quiet || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} indexing [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b
    };
    let mut on_progress = |p: &Progress| match p {
        Progress::Discovered { units } => bar.set_length(*units as u64),
        Progress::Read { done, points, .. } => {
            bar.set_position(*done as u64);
            bar.set_message(format!("{points} points"));
        }
    };
    let report = index.scan(&ScanOptions::default(), &mut on_progress, &AtomicBool::new(false))?;
    bar.finish_and_clear();
    Ok(report)
}

fn summary(r: &ScanReport) -> String {
    let by: Vec<String> = r.runs_by_source.iter().map(|(s, n)| format!("{s} {n}")).collect();
    let n = r.diagnostics.len();
    format!(
        "{} run{}{}, {} warning{} ({} of {} sources read, {} new points, {:.2} s)",
        r.runs,
        if r.runs == 1 { "" } else { "s" },
        if by.is_empty() { String::new() } else { format!(" ({})", by.join(", ")) },
        n,
        if n == 1 { "" } else { "s" },
        r.units_read,
        r.units_total,
        r.points,
        r.elapsed.as_secs_f64()
    )
}

/// Text for a CSV cell: exact shortest form.
fn num_text(v: f64) -> String {
    match num(v) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// The table's columns: fixed ones, then what the user asked for, then the keys the sort and filter
/// mention, then the most common metrics, up to six extra columns in all.
fn table_columns(runs: &[RunRow], asked: &[String], sort: &[String], filter: &str) -> Vec<String> {
    let mut cols: Vec<String> = asked.to_vec();
    cols.extend(runlens_core::mentioned_columns(filter, sort));
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in runs {
        for k in r.metrics.keys() {
            *counts.entry(k).or_default() += 1;
        }
    }
    let mut common: Vec<(&str, usize)> = counts.into_iter().collect();
    common.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (k, _) in common {
        if cols.len() >= 6.max(asked.len()) {
            break;
        }
        cols.push(format!("metrics.{k}"));
    }
    let mut seen = BTreeSet::new();
    cols.retain(|c| {
        seen.insert(c.clone())
            && !matches!(
                c.as_str(),
                "attributes.name" | "attributes.status" | "attributes.start_time" | "attributes.id"
            )
    });
    cols
}

fn cell(r: &RunRow, col: &str) -> String {
    if let Some(k) = col.strip_prefix("metrics.") {
        return r.metrics.get(k).map(|m| fmt_num(m.last)).unwrap_or_default();
    }
    if let Some(k) = col.strip_prefix("params.") {
        return r.params.get(k).cloned().unwrap_or_default();
    }
    if let Some(k) = col.strip_prefix("tags.") {
        return r.tags.get(k).cloned().unwrap_or_default();
    }
    match col.trim_start_matches("attributes.") {
        "experiment" => r.experiment.clone().unwrap_or_default(),
        "source" => r.source.clone(),
        "path" => r.path.clone(),
        "end_time" => r.end_time.map(fmt_time).unwrap_or_default(),
        "parent_id" => r.parent_id.clone().unwrap_or_default(),
        "user" => r.user.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

fn short_id(r: &RunRow) -> String {
    if r.id == r.path {
        r.path.clone()
    } else {
        r.id.chars().take(12).collect()
    }
}

fn runs_table(runs: &[RunRow], cols: &[String]) -> String {
    let mut headers: Vec<String> =
        ["ID", "NAME", "SOURCE", "STATUS", "EXPERIMENT", "START"].iter().map(|s| s.to_string()).collect();
    headers.extend(cols.iter().map(|c| c.trim_start_matches("attributes.").trim_start_matches("metrics.").to_string()));
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let mut row = vec![
                short_id(r),
                r.name.clone().unwrap_or_default(),
                r.source.clone(),
                r.status.clone().unwrap_or_default() + if r.deleted { " (deleted)" } else { "" },
                r.experiment.clone().unwrap_or_default(),
                r.start_time.map(fmt_time).unwrap_or_default(),
            ];
            row.extend(cols.iter().map(|c| cell(r, c)));
            row
        })
        .collect();
    table(&headers, &rows, 32)
}

fn runs_csv(runs: &[RunRow]) -> String {
    let params: BTreeSet<&String> = runs.iter().flat_map(|r| r.params.keys()).collect();
    let tags: BTreeSet<&String> = runs.iter().flat_map(|r| r.tags.keys()).collect();
    let metrics: BTreeSet<&String> = runs.iter().flat_map(|r| r.metrics.keys()).collect();
    let mut headers: Vec<String> =
        ["id", "source", "path", "name", "experiment", "status", "start_time", "end_time", "parent_id"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    headers.extend(params.iter().map(|k| format!("params.{k}")));
    headers.extend(tags.iter().map(|k| format!("tags.{k}")));
    headers.extend(metrics.iter().map(|k| format!("metrics.{k}")));
    let mut s = csv_line(&headers);
    for r in runs {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let mut row = vec![
            r.id.clone(),
            r.source.clone(),
            r.path.clone(),
            opt(&r.name),
            opt(&r.experiment),
            opt(&r.status),
            r.start_time.map(|t| t.to_string()).unwrap_or_default(),
            r.end_time.map(|t| t.to_string()).unwrap_or_default(),
            opt(&r.parent_id),
        ];
        row.extend(params.iter().map(|k| r.params.get(*k).cloned().unwrap_or_default()));
        row.extend(tags.iter().map(|k| r.tags.get(*k).cloned().unwrap_or_default()));
        row.extend(metrics.iter().map(|k| r.metrics.get(*k).map(|m| num_text(m.last)).unwrap_or_default()));
        s.push_str(&csv_line(&row));
    }
    s
}

fn show(d: &runlens_core::RunDetail, format: Format) -> String {
    let r = &d.run;
    if format == Format::Json {
        let mut v = run_json(r);
        v["deleted"] = json!(r.deleted);
        v["user"] = json!(r.user);
        v["artifact_uri"] = json!(d.artifact_uri);
        v["artifact_dir"] = json!(d.artifact_dir);
        v["artifacts"] = d.artifacts.iter().map(|a| json!({"path": a.path, "size": a.size})).collect();
        v["inputs"] = d
            .inputs
            .iter()
            .map(|i| json!({"name": i.name, "digest": i.digest, "source_type": i.source_type, "source": i.source, "context": i.context, "tags": i.tags}))
            .collect();
        v["models"] = d
            .models
            .iter()
            .map(|m| json!({"model_id": m.model_id, "name": m.name, "step": m.step, "dir": m.dir, "flavors": m.flavors,
                             "signature_inputs": m.signature_inputs, "signature_outputs": m.signature_outputs,
                             "files": m.files.iter().map(|f| json!({"path": f.path, "size": f.size})).collect::<Vec<_>>()}))
            .collect();
        v["diagnostics"] = d.diagnostics.iter().map(|x| json!(x.to_string())).collect();
        return format!("{v}\n");
    }
    let mut s = String::new();
    let mut kv: Vec<Vec<String>> = vec![
        vec!["id".into(), r.id.clone()],
        vec!["name".into(), r.name.clone().unwrap_or_default()],
        vec!["source".into(), r.source.clone()],
        vec!["path".into(), r.path.clone()],
        vec!["experiment".into(), r.experiment.clone().unwrap_or_default()],
        vec!["status".into(), r.status.clone().unwrap_or_default() + if r.deleted { " (deleted)" } else { "" }],
        vec!["start".into(), r.start_time.map(fmt_time).unwrap_or_default()],
        vec!["end".into(), r.end_time.map(fmt_time).unwrap_or_default()],
        vec!["user".into(), r.user.clone().unwrap_or_default()],
    ];
    if let Some(p) = &r.parent_id {
        kv.push(vec!["parent".into(), p.clone()]);
    }
    if let Some(u) = &d.artifact_uri {
        let place = d.artifact_dir.clone().unwrap_or_else(|| "outside the project or missing: not read".into());
        kv.push(vec!["artifacts".into(), place]);
        kv.push(vec!["artifact_uri".into(), u.clone()]);
    }
    s.push_str(&table(&["RUN".into(), String::new()], &kv, 120));
    let section = |s: &mut String, title: &str, headers: &[&str], rows: Vec<Vec<String>>| {
        if rows.is_empty() {
            return;
        }
        s.push('\n');
        s.push_str(&table(
            &std::iter::once(title.to_string())
                .chain(headers.iter().skip(1).map(|h| h.to_string()))
                .collect::<Vec<_>>(),
            &rows,
            60,
        ));
    };
    section(&mut s, "PARAM", &["", "VALUE"], r.params.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect());
    section(&mut s, "TAG", &["", "VALUE"], r.tags.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect());
    section(
        &mut s,
        "METRIC",
        &["", "LAST", "STEP", "MIN", "MAX", "COUNT"],
        r.metrics
            .iter()
            .map(|(k, m)| {
                vec![
                    k.clone(),
                    fmt_num(m.last),
                    m.last_step.to_string(),
                    m.min.map(fmt_num).unwrap_or_default(),
                    m.max.map(fmt_num).unwrap_or_default(),
                    m.count.to_string(),
                ]
            })
            .collect(),
    );
    section(
        &mut s,
        "ARTIFACT",
        &["", "SIZE"],
        d.artifacts.iter().map(|a| vec![a.path.clone(), a.size.to_string()]).collect(),
    );
    section(
        &mut s,
        "DATASET",
        &["", "DIGEST", "CONTEXT", "SOURCE"],
        d.inputs
            .iter()
            .map(|i| vec![i.name.clone(), i.digest.clone(), i.context.clone().unwrap_or_default(), i.source.clone()])
            .collect(),
    );
    section(
        &mut s,
        "MODEL",
        &["", "NAME", "FLAVORS", "FILES"],
        d.models
            .iter()
            .map(|m| vec![m.model_id.clone(), m.name.clone(), m.flavors.join(" "), m.files.len().to_string()])
            .collect(),
    );
    if !d.diagnostics.is_empty() {
        s.push_str("\nWARNINGS\n");
        for x in &d.diagnostics {
            s.push_str(&format!("  {x}\n"));
        }
    }
    s
}

fn diff(a: &RunRow, b: &RunRow, all: bool, format: Format) -> String {
    let rows: Vec<(String, String, String)> = runlens_core::diff_runs(&[a.clone(), b.clone()], !all, false)
        .into_iter()
        .map(|r| {
            let v = |i: usize| r.values[i].clone().unwrap_or_default();
            (format!("{}.{}", r.section, r.key), v(0), v(1))
        })
        .collect();
    let keys: BTreeSet<&String> = a.metrics.keys().chain(b.metrics.keys()).collect();
    if format == Format::Json {
        let differing: Vec<Value> = rows.iter().map(|(k, x, y)| json!({"key": k, "a": x, "b": y})).collect();
        let metrics: serde_json::Map<String, Value> = keys
            .iter()
            .map(|k| {
                (
                    (*k).clone(),
                    json!({"a": a.metrics.get(*k).map(metric_json), "b": b.metrics.get(*k).map(metric_json)}),
                )
            })
            .collect();
        return format!("{}\n", json!({"a": a.id, "b": b.id, "differences": differing, "metrics": metrics}));
    }
    let (na, nb) = (a.name.clone().unwrap_or_else(|| short_id(a)), b.name.clone().unwrap_or_else(|| short_id(b)));
    let mut s = String::new();
    let kv: Vec<Vec<String>> = rows.into_iter().map(|(k, x, y)| vec![k, x, y]).collect();
    if kv.is_empty() {
        s.push_str("params and tags: identical\n");
    } else if format == Format::Csv {
        s.push_str(&csv_line(&["key".into(), na.clone(), nb.clone()]));
        for r in &kv {
            s.push_str(&csv_line(r));
        }
        return s;
    } else {
        s.push_str(&table(&["KEY".into(), na.clone(), nb.clone()], &kv, 48));
    }
    let mrows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            let f = |m: Option<&runlens_core::MetricSummary>| {
                m.map(|m| {
                    format!(
                        "{} (min {}, max {}, n {})",
                        fmt_num(m.last),
                        m.min.map(fmt_num).unwrap_or("-".into()),
                        m.max.map(fmt_num).unwrap_or("-".into()),
                        m.count
                    )
                })
                .unwrap_or_default()
            };
            vec![format!("metrics.{k}"), f(a.metrics.get(*k)), f(b.metrics.get(*k))]
        })
        .collect();
    if !mrows.is_empty() {
        s.push('\n');
        s.push_str(&table(&["METRIC (LAST)".into(), na, nb], &mrows, 60));
    }
    s
}

/// Starts the desktop app (installed next to this binary) on a folder, and returns at once. The
/// app shares this CLI's data dir, so both use one index.
fn open_in_app(project: &std::path::Path, data: &std::path::Path) -> Result<()> {
    let project = std::fs::canonicalize(project).with_context(|| format!("{}", project.display()))?;
    if !project.is_dir() {
        bail!("{}: not a folder", project.display());
    }
    let exe = std::env::current_exe().context("cannot find this program's own path")?;
    let app = exe.with_file_name(format!("runlens-desktop{}", std::env::consts::EXE_SUFFIX));
    if !app.is_file() {
        bail!(
            "the desktop app is not installed next to this CLI ({} is missing); build it with \
             `npm --prefix ui run build && cargo build --release -p runlens-desktop`",
            app.display()
        );
    }
    std::process::Command::new(&app)
        .arg(&project)
        .env("RUNLENS_DATA_DIR", data)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", app.display()))?;
    Ok(())
}
