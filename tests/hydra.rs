//! Hydra jobs (tests/fixtures/hydra, written by hydra-core 1.3.8: a single run and a 4-job
//! multirun whose jobs log with Lightning's CSV format, tensorboardX, or nothing) against its
//! truth.json; the logs inside a job are the job's; appends and moves read incrementally.

use std::collections::BTreeMap;
use std::path::Path;

use runlens_core::Index;

use crate::common::*;

fn check_against_truth(index: &Index, project: &Path) {
    let truth = read_json(&project.join("truth.json"));
    let jobs = truth["jobs"].as_object().unwrap();
    // Every job is exactly one run, and nothing else is: its logs are not runs of their own.
    let mut paths: Vec<String> = all_runs(index).into_iter().map(|r| r.path).collect();
    paths.sort();
    assert_eq!(paths, jobs.keys().cloned().collect::<Vec<_>>());
    let sweeps = truth["sweeps"].as_object().unwrap();
    for (path, t) in jobs {
        let detail = index.run_detail(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let run = &detail.run;
        assert_eq!((run.source.as_str(), run.id.as_str()), ("hydra", path.as_str()));

        // Params: .hydra/config.yaml flattened with ".", lists and null as JSON text.
        let want: BTreeMap<String, String> =
            t["config"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), param_text(v))).collect();
        assert_eq!(run.params, want, "{path}: params");

        // Tags: the overrides as on the command line, the job number, the group choices.
        let overrides: Vec<&str> = t["overrides"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
        let mut tags = BTreeMap::new();
        if !overrides.is_empty() {
            tags.insert("hydra.overrides".to_string(), overrides.join(" "));
        }
        if let Some(n) = t["job_num"].as_i64() {
            tags.insert("hydra.job.num".to_string(), n.to_string());
        }
        for (group, choice) in t["choices"].as_object().unwrap() {
            tags.insert(format!("hydra.choices.{group}"), choice.as_str().unwrap().to_string());
        }
        assert_eq!(run.tags, tags, "{path}: tags");

        // A multirun job is `<job> #<num>` in its sweep; a single run is named by its folder.
        let job_name = t["job_name"].as_str().unwrap();
        match t["mode"].as_str().unwrap() {
            "MULTIRUN" => {
                let sweep = sweeps.iter().find(|(_, s)| s["jobs"].as_array().unwrap().iter().any(|j| j == path));
                let sweep = sweep.unwrap_or_else(|| panic!("{path}: no sweep")).0;
                assert_eq!(run.experiment.as_deref(), Some(sweep.as_str()), "{path}");
                assert_eq!(run.name, Some(format!("{job_name} #{}", t["job_num"].as_i64().unwrap())), "{path}");
            }
            _ => {
                assert_eq!(run.experiment.as_deref(), Some(job_name), "{path}");
                assert_eq!(run.name.as_deref(), Some(path.as_str()), "{path}");
            }
        }

        // Every point of every metric, whichever tool logged it.
        let metrics = t["metrics"].as_object().unwrap();
        assert_eq!(run.metrics.keys().collect::<Vec<_>>(), metrics.keys().collect::<Vec<_>>(), "{path}: metrics");
        for (key, m) in metrics {
            assert_series(&format!("{path} {key}"), &index.series(run.uid, key).unwrap(), &m["series"]);
            let s = &run.metrics[key];
            assert_eq!((s.min, s.max), (m["min"].as_f64(), m["max"].as_f64()), "{path} {key}");
        }

        // The job folder's own files (not the logs') are the run's files.
        let files: Vec<&str> = t["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .filter(|f| (!f.contains('/') || f.starts_with(".hydra/")) && !f.contains("tfevents"))
            .collect();
        let listed: Vec<&str> = detail.artifacts.iter().map(|a| a.path.as_str()).collect();
        assert_eq!(listed, files, "{path}: files");
        assert!(listed.contains(&"train.log"));
    }
}

#[test]
fn every_hydra_job_is_one_run_equal_to_the_truth() {
    let s = Scratch::new();
    let project = fixture("hydra");
    let (index, report) = open_and_scan(&s.data(), &project);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    let by: Vec<(String, usize)> = report.runs_by_source.into_iter().collect();
    assert_eq!(by, vec![("hydra".to_string(), 5)], "multirun.yaml is not a run; the logs are the jobs'");
    check_against_truth(&index, &project);
    // The job that logged nothing is a run with its config and no metrics.
    assert!(index.find_run("multirun/2026-01-02/11-00-00/3").unwrap().metrics.is_empty());
    // train.log can be previewed as a file of the run.
    let log = index.read_artifact("outputs/2026-01-02/10-00-00", "outputs/2026-01-02/10-00-00/train.log").unwrap();
    assert!(String::from_utf8_lossy(&log.bytes).contains("[INFO]"), "{log:?}");
}

fn copy(s: &Scratch) -> std::path::PathBuf {
    let project = s.project();
    copy_dir(&fixture("hydra"), &project);
    project
}

const JOB0: &str = "multirun/2026-01-02/11-00-00/0";

#[test]
fn an_append_to_a_jobs_metrics_csv_is_read_incrementally() {
    let s = Scratch::new();
    let project = copy(&s);
    let csv = project.join(JOB0).join("lightning_logs/version_0/metrics.csv");
    let (mut index, first) = open_and_scan(&s.data(), &project);
    assert_eq!(first.points, 56);
    let again = scan(&mut index);
    assert_eq!((again.units_read, again.points), (0, 0), "nothing changed, nothing read");

    append(&csv, "4,109,0.2,\r\n");
    let r = scan(&mut index);
    assert_eq!((r.units_read, r.points), (1, 1), "only the new row of the one job is read");
    let run = index.find_run(JOB0).unwrap();
    assert_eq!((run.metrics["train_loss"].count, run.metrics["train_loss"].last_step), (11, 109));
    assert_eq!(run.metrics["train_loss"].last, 0.2);
    assert_eq!(dump(&index), fresh_dump(&project));

    // The TensorBoard job: an appended event is read alone too.
    let tb_dir = project.join("multirun/2026-01-02/11-00-00/2/tb");
    let event = std::fs::read_dir(&tb_dir).unwrap().next().unwrap().unwrap().path();
    let whole = std::fs::read(&event).unwrap();
    std::fs::write(&event, &whole[..whole.len() - 1]).unwrap(); // the last record cut short
    touch_later(&event);
    scan(&mut index);
    assert_eq!(index.find_run("multirun/2026-01-02/11-00-00/2").unwrap().metrics["val/loss"].count, 3);
    std::fs::write(&event, &whole).unwrap();
    let r = scan(&mut index);
    assert_eq!((r.units_read, r.points), (1, 1), "only the completed record is read");
    assert_eq!(dump(&index), fresh_dump(&project));

    // The job's log grows: its size as a file of the run follows, no points are read.
    append(&project.join(JOB0).join("train.log"), "[2026-01-02 11:00:09,000][__main__][INFO] - more\n");
    let r = scan(&mut index);
    assert_eq!((r.units_read, r.points), (1, 0));
    assert_eq!(dump(&index), fresh_dump(&project));
}

/// With two logs in one job, every key is prefixed by its log's path (two logs never share a
/// series); with one again, keys are as logged. Either way the index equals a fresh one.
#[test]
fn a_second_log_in_a_job_prefixes_its_keys() {
    let s = Scratch::new();
    let project = copy(&s);
    let (mut index, _) = open_and_scan(&s.data(), &project);
    // The job without metrics gets a JSONL log: its only log, keys as logged.
    let job3 = project.join("multirun/2026-01-02/11-00-00/3");
    std::fs::write(job3.join("metrics.jsonl"), "{\"step\": 0, \"train_loss\": 2.5}\n").unwrap();
    scan(&mut index);
    let run3 = index.find_run("multirun/2026-01-02/11-00-00/3").unwrap();
    assert_eq!(run3.metrics.keys().collect::<Vec<_>>(), vec!["train_loss"]);
    assert_eq!(dump(&index), fresh_dump(&project));

    // Job 0 gets a second log beside its Lightning CSV, logging a key the CSV has too.
    std::fs::write(project.join(JOB0).join("extra.csv"), "step,train_loss\n0,9.0\n1,8.0\n").unwrap();
    scan(&mut index);
    let run0 = index.find_run(JOB0).unwrap();
    assert_eq!(
        run0.metrics.keys().collect::<Vec<_>>(),
        vec!["extra.csv/train_loss", "lightning_logs/version_0/train_loss", "lightning_logs/version_0/val_loss"]
    );
    assert_eq!(run0.metrics["extra.csv/train_loss"].count, 2);
    assert_eq!(run0.metrics["lightning_logs/version_0/train_loss"].count, 10);
    assert_eq!(dump(&index), fresh_dump(&project));
    append(&project.join(JOB0).join("extra.csv"), "2,7.0\n");
    assert_eq!(scan(&mut index).points, 1, "still incremental");
    assert_eq!(dump(&index), fresh_dump(&project));

    std::fs::remove_file(project.join(JOB0).join("extra.csv")).unwrap();
    scan(&mut index);
    let run0 = index.find_run(JOB0).unwrap();
    assert_eq!(run0.metrics.keys().collect::<Vec<_>>(), vec!["train_loss", "val_loss"]);
    assert_eq!(run0.metrics["train_loss"].count, 10);
    assert_eq!(dump(&index), fresh_dump(&project));
    std::fs::remove_file(job3.join("metrics.jsonl")).unwrap();
    scan(&mut index);
    check_against_truth(&index, &project);
}

/// A folder that becomes a Hydra job takes its logs' runs over, and gives them back.
#[test]
fn a_folder_that_becomes_a_job_and_back() {
    let s = Scratch::new();
    let project = copy(&s);
    let job = project.join("outputs/2026-01-02/10-00-00");
    std::fs::rename(job.join(".hydra"), project.join("hydra-aside")).unwrap();
    let (mut index, _) = open_and_scan(&s.data(), &project);
    let lightning = index.find_run("outputs/2026-01-02/10-00-00/lightning_logs/version_0").unwrap();
    assert_eq!(lightning.source, "lightning");
    assert_eq!(lightning.metrics["train_loss"].count, 10);

    std::fs::rename(project.join("hydra-aside"), job.join(".hydra")).unwrap();
    scan(&mut index);
    assert!(index.find_run("outputs/2026-01-02/10-00-00/lightning_logs/version_0").is_err(), "not twice");
    let run = index.find_run("outputs/2026-01-02/10-00-00").unwrap();
    assert_eq!((run.source.as_str(), run.metrics["train_loss"].count), ("hydra", 10));
    assert_eq!(dump(&index), fresh_dump(&project));
    check_against_truth(&index, &project);

    std::fs::rename(job.join(".hydra"), project.join("hydra-aside")).unwrap();
    scan(&mut index);
    assert_eq!(
        index.find_run("outputs/2026-01-02/10-00-00/lightning_logs/version_0").unwrap().metrics["train_loss"].count,
        10
    );
    assert_eq!(dump(&index), fresh_dump(&project));
}

#[test]
fn broken_hydra_files_give_diagnostics_and_keep_the_run() {
    let s = Scratch::new();
    let project = copy(&s);
    let job = project.join(JOB0);
    std::fs::write(job.join(".hydra/config.yaml"), "model: {layers: 2\n").unwrap();
    std::fs::write(job.join(".hydra/hydra.yaml"), b"hydra: \xff\n").unwrap();
    append(&job.join("lightning_logs/version_0/metrics.csv"), "4,x,0.2,\r\n");
    let (index, report) = open_and_scan(&s.data(), &project);
    let msgs: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
    let has = |prefix: &str, text: &str| msgs.iter().any(|m| m.starts_with(prefix) && m.contains(text));
    assert!(has(&format!("{JOB0}/.hydra/config.yaml: "), "line"), "{msgs:#?}");
    assert!(has(&format!("{JOB0}/.hydra/hydra.yaml: "), "not valid UTF-8"), "{msgs:#?}");
    assert!(has(&format!("{JOB0}/lightning_logs/version_0/metrics.csv:16: "), "step is not an integer"), "{msgs:#?}");
    assert_eq!(msgs.len(), 3, "{msgs:#?}");
    let run = index.find_run(JOB0).unwrap();
    assert!(run.params.is_empty());
    assert_eq!(run.tags["hydra.overrides"], "optim.lr=0.1 model.layers=2", "overrides.yaml still read");
    assert_eq!(run.name.as_deref(), Some(JOB0), "without hydra.yaml (no job number): named by its path");
    assert_eq!(run.metrics["train_loss"].count, 10);
    assert_eq!(all_runs(&index).len(), 5);
}

/// The project opened is a job folder itself (`runlens open outputs/<date>/<time>`): one run, and
/// the index stays equal to a fresh one as the job's files change, stop being a job, or are broken.
#[test]
fn a_job_folder_opened_as_the_project() {
    let s = Scratch::new();
    let project = s.project();
    copy_dir(&fixture("hydra/outputs/2026-01-02/10-00-00"), &project);
    let (mut index, report) = open_and_scan(&s.data(), &project);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    let runs = all_runs(&index);
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].source.as_str(), runs[0].metrics["train_loss"].count), ("hydra", 10));
    let files: Vec<String> = index.run_detail(&runs[0].path).unwrap().artifacts.into_iter().map(|a| a.path).collect();
    assert_eq!(files, vec![".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml", "train.log"]);
    append(&project.join("lightning_logs/version_0/metrics.csv"), "4,109,0.2,\r\n");
    assert_eq!(scan(&mut index).points, 1);
    assert_eq!(dump(&index), fresh_dump(&project));
    std::fs::write(project.join(".hydra/overrides.yaml"), "[unclosed\n").unwrap();
    scan(&mut index);
    assert_eq!(index.diagnostics().unwrap().len(), 1, "the broken file is reported");
    assert_eq!(dump(&index), fresh_dump(&project));
    std::fs::remove_dir_all(project.join(".hydra")).unwrap();
    scan(&mut index);
    let runs: Vec<String> = all_runs(&index).into_iter().map(|r| r.source).collect();
    assert_eq!(runs, vec!["lightning"], "no longer a job: the Lightning log is a run of its own");
    assert_eq!(dump(&index), fresh_dump(&project));
}
