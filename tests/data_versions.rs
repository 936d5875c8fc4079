//! Data versions (issue 12) against what the real `git`, `dvc` and `git lfs` report about a
//! project they made (tests/fixtures/data_versions: make.py, truth.json, project.tar.gz).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::*;

/// The fixture project unpacked into a temp dir: (dir, project path).
fn unpack() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let project = unpack_data_versions(dir.path());
    (dir, project)
}

fn data_ls(data: &Path, project: &Path) -> (Value, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_runlens"))
        .arg("--data-dir")
        .arg(data)
        .args(["data", "ls"])
        .arg(project)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (serde_json::from_slice(&o.stdout).unwrap(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn item<'a>(items: &'a Value, path: &str) -> &'a Value {
    items.as_array().unwrap().iter().find(|i| i["path"] == path).unwrap_or_else(|| panic!("no {path} in {items}"))
}

#[test]
fn data_ls_lists_every_version_git_and_dvc_know() {
    let (dir, project) = unpack();
    let truth = read_json(&fixture("data_versions/truth.json"));
    let (items, notes) = data_ls(&dir.path().join("data"), &project);
    assert!(notes.is_empty(), "{notes}");
    for (path, versions) in truth["versions"].as_object().unwrap() {
        let ours = item(&items, path);
        let want: Vec<Value> = versions.as_array().unwrap().clone();
        let got = ours["versions"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{path}: {got:?}");
        for (g, w) in got.iter().zip(&want) {
            for k in ["rev", "at", "message", "md5", "size", "nfiles"] {
                assert_eq!(g[k], w[k], "{path} {}: {k}", w["rev"]);
            }
            assert_eq!(g["in_cache"], true, "{path} {}", w["rev"]);
        }
        let kind = if want[0]["md5"].as_str().unwrap().ends_with(".dir") { "dir" } else { "file" };
        assert_eq!(ours["kind"], kind);
    }
    // The legacy (DVC 2.x) file is tracked with the md5 DVC 3 itself accepts.
    assert_eq!(truth["legacy_status"], "Data and pipelines are up to date.");
    assert_eq!(item(&items, "data/legacy.txt")["versions"][0]["md5"], truth["legacy_md5"]);
    // A file both a .dvc file and a stage name, and a stage output.
    assert_eq!(
        item(&items, "data/train.csv")["tracked_by"],
        serde_json::json!(["data/train.csv.dvc", "dvc.lock:train"])
    );
    assert_eq!(item(&items, "models/model.json")["tracked_by"], serde_json::json!(["dvc.lock:train"]));
    // Git LFS: the pointer's oid, as `git lfs ls-files --long` gives it.
    let lfs = item(&items, truth["lfs"]["path"].as_str().unwrap());
    assert_eq!(lfs["versions"][0]["md5"], format!("sha256:{}", truth["lfs"]["oid"].as_str().unwrap()));
    assert_eq!(lfs["tracked_by"], serde_json::json!(["git-lfs"]));
    // Runs are linked to the version their commit had.
    let train = item(&items, "data/train.csv")["versions"].as_array().unwrap().clone();
    let runs_of = |rev: &str| -> Vec<Value> {
        train.iter().find(|v| v["rev"] == rev).unwrap()["runs"].as_array().unwrap().clone()
    };
    assert!(runs_of(truth["commits"]["data-v1"].as_str().unwrap()).contains(&truth["runs"]["v1"]));
    assert!(runs_of(truth["commits"]["data-v2"].as_str().unwrap()).contains(&truth["runs"]["v2"]));
    assert!(!runs_of(truth["commits"]["data-v2"].as_str().unwrap()).contains(&truth["runs"]["v1"]));
    // Only to the data they used: each run logged data/train.csv as its MLflow input, and the
    // train stage of dvc.lock uses it and makes models/model.json; the images folder and the
    // notes at the same commits are not theirs.
    for path in ["data/images", "data/legacy.txt"] {
        for v in item(&items, path)["versions"].as_array().unwrap() {
            assert_eq!(v["runs"], serde_json::json!([]), "{path} {}", v["rev"]);
        }
    }
    let model = item(&items, "models/model.json")["versions"].as_array().unwrap().clone();
    assert!(model.iter().any(|v| v["runs"].as_array().unwrap().contains(&truth["runs"]["v2"])), "{model:?}");
    // --check: every cached version hashes to what DVC recorded (the 2.x one the 2.x way, the
    // folders by their listing, the LFS object by its oid); a changed cache object is named.
    let check = |data: &str| {
        Command::new(env!("CARGO_BIN_EXE_runlens"))
            .arg("--data-dir")
            .arg(dir.path().join(data))
            .args(["data", "ls"])
            .arg(&project)
            .arg("--check")
            .output()
            .unwrap()
    };
    let o = check("data");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v2 = truth["versions"]["data/train.csv"][2]["md5"].as_str().unwrap();
    let obj = project.join(".dvc/cache/files/md5").join(&v2[..2]).join(&v2[2..]);
    let mut bytes = std::fs::read(&obj).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&obj, bytes).unwrap();
    let o = check("data");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "data/train.csv@{}",
            &truth["versions"]["data/train.csv"][2]["rev"].as_str().unwrap()[..8]
        )) && err.contains(v2),
        "{err}"
    );
}

#[test]
fn without_history_or_with_a_shallow_clone_data_ls_says_what_it_cannot_see() {
    let (dir, project) = unpack();
    // A shallow clone: only its one commit's versions, and a note saying why.
    let shallow = dir.path().join("shallow");
    let o = Command::new("git")
        .args(["clone", "-q", "--depth", "1"])
        .arg(format!("file://{}", project.display()))
        .arg(&shallow)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (items, notes) = data_ls(&dir.path().join("d1"), &shallow);
    assert!(notes.contains("shallow clone"), "{notes}");
    let train = &item(&items, "data/train.csv")["versions"];
    assert_eq!(train.as_array().unwrap().len(), 1, "{train}");
    assert_eq!(train[0]["in_cache"], false, "a fresh clone has no DVC cache");
    // No repository at all: the working tree's .dvc files only.
    std::fs::remove_dir_all(project.join(".git")).unwrap();
    let (items, notes) = data_ls(&dir.path().join("d2"), &project);
    assert!(notes.contains("not a git repository"), "{notes}");
    let train = &item(&items, "data/train.csv")["versions"];
    assert_eq!(train[0]["rev"], "workspace");
    assert_eq!(train.as_array().unwrap().len(), 1);
    // A .dvc file that does not parse is named, and the rest is still listed.
    std::fs::write(project.join("data/broken.csv.dvc"), "outs: [\n").unwrap();
    let (items, notes) = data_ls(&dir.path().join("d3"), &project);
    assert!(notes.contains("data/broken.csv.dvc"), "{notes}");
    item(&items, "data/train.csv");
}

#[test]
fn data_show_reads_any_version_from_the_cache_and_names_what_it_cannot() {
    let (dir, project) = unpack();
    let truth = read_json(&fixture("data_versions/truth.json"));
    let show = |spec: &str| {
        Command::new(env!("CARGO_BIN_EXE_runlens"))
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["data", "show"])
            .arg(&project)
            .arg(spec)
            .args(["--format", "json"])
            .output()
            .unwrap()
    };
    let rows = |spec: &str| {
        let o = show(spec);
        assert!(o.status.success(), "{spec}: {}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()["rows"].as_u64().unwrap()
    };
    // make.py: 500 rows, then 560, then 560 new ones, then 40 more in the working tree.
    assert_eq!(rows("data/train.csv@data-v1"), 500);
    assert_eq!(rows("data/train.csv@data-v2"), 560);
    let v3 = truth["commits"]["data-v3"].as_str().unwrap();
    assert_eq!(rows(&format!("data/train.csv@{}", &v3[..10])), 560);
    assert_eq!(rows("data/train.csv"), 600);
    assert_eq!(rows("data/train.csv@workspace"), 600);
    // A version whose object is not in the cache: one clear error.
    let v1 = truth["versions"]["data/train.csv"][3]["md5"].as_str().unwrap();
    std::fs::remove_file(project.join(".dvc/cache/files/md5").join(&v1[..2]).join(&v1[2..])).unwrap();
    let o = show("data/train.csv@data-v1");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("not in cache") && err.contains(v1), "{err}");
    let o = show("data/train.csv@no-such-tag");
    assert!(String::from_utf8_lossy(&o.stderr).contains("no-such-tag"), "{}", String::from_utf8_lossy(&o.stderr));
    // A cached object whose bytes changed: shown, with a warning naming it.
    let v2 = truth["versions"]["data/train.csv"][2]["md5"].as_str().unwrap();
    let obj = project.join(".dvc/cache/files/md5").join(&v2[..2]).join(&v2[2..]);
    let text = std::fs::read_to_string(&obj).unwrap().replacen("basic", "BASIC", 1);
    std::fs::write(&obj, text).unwrap();
    let o = show("data/train.csv@data-v2");
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("warning: data/train.csv@") && err.contains(v2), "{err}");
}

#[test]
fn data_diff_of_a_folder_is_dvc_diffs_and_of_a_table_finds_the_changed_rows() {
    let (dir, project) = unpack();
    let truth = read_json(&fixture("data_versions/truth.json"));
    let diff = |a: &str, b: &str, key: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_runlens"));
        c.arg("--data-dir").arg(dir.path().join("data")).args(["data", "diff"]).arg(&project).args([a, b]);
        if let Some(k) = key {
            c.args(["--key", k]);
        }
        let o = c.args(["--format", "json"]).output().unwrap();
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        (o.status.code(), v, String::from_utf8_lossy(&o.stderr).into_owned())
    };
    // The folder: exactly `dvc diff --json --show-hash data-v1 data-v2`'s entries under it.
    let (code, d, err) = diff("data/images@data-v1", "data-v2", None);
    assert_eq!(code, Some(1), "{err}");
    let dvc = &truth["dvc_diff"]["data-v1..data-v2"];
    for k in ["added", "deleted", "modified", "renamed"] {
        let under = |e: &Value| {
            let p = match &e["path"] {
                Value::Object(p) => p["new"].as_str().unwrap().to_string(),
                p => p.as_str().unwrap().to_string(),
            };
            p.starts_with("data/images/")
        };
        let want: Vec<&Value> = dvc[k].as_array().unwrap().iter().filter(|e| under(e)).collect();
        let got: Vec<&Value> = d["files"][k].as_array().unwrap().iter().collect();
        assert_eq!(got, want, "{k}");
    }
    // The table by its key: 60 rows added and the 5 relabelled rows, each a `churned` flip.
    let (code, d, err) = diff("data/train.csv@data-v1", "data/train.csv@data-v2", Some("id"));
    assert_eq!(code, Some(1), "{err}");
    assert_eq!((d["a"]["rows"].as_u64(), d["b"]["rows"].as_u64()), (Some(500), Some(560)));
    assert_eq!(
        (d["rows_added"].as_u64(), d["rows_removed"].as_u64(), d["rows_changed"].as_u64()),
        (Some(60), Some(0), Some(5))
    );
    let cells = d["changed_cells"].as_array().unwrap();
    assert_eq!(cells.len(), 5);
    assert!(cells.iter().all(|c| c["column"] == "churned" && c["a"] != c["b"]), "{cells:?}");
    assert!(d["columns_added"].as_array().unwrap().is_empty());
    // The same version twice: exit 0. Trouble: exit 2.
    let (code, _, _) = diff("data/train.csv@data-v2", "data-v2", None);
    assert_eq!(code, Some(0));
    let (code, _, err) = diff("data/train.csv@data-v1", "data-v2", Some("no_such_column"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no_such_column"), "{err}");
}

#[test]
fn a_reference_dataset_is_a_signed_event_and_data_ls_names_the_model() {
    let (dir, project) = unpack();
    let truth = read_json(&fixture("data_versions/truth.json"));
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_runlens"))
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--config-dir")
            .arg(dir.path().join("ana"))
            .args(args)
            .env("RUNLENS_NOW", "2025-04-01T00:00:00Z")
            .output()
            .unwrap()
    };
    let p = project.to_str().unwrap();
    let run_v2 = truth["runs"]["v2"].as_str().unwrap();
    let o = cli(&["registry", "register", p, run_v2, "models/model.json", "--name", "churn"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = cli(&["data", "reference", p, "churn@1", "data/train.csv@data-v2", "--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let v2 = &truth["versions"]["data/train.csv"][2];
    assert_eq!(r["dataset"]["rev"], v2["rev"]);
    assert_eq!(r["dataset"]["dvc_md5"], v2["md5"]);
    assert_eq!(r["dataset"]["md5"], v2["md5"], "a 3.x md5 is the plain md5 of the bytes");
    let o = cli(&["registry", "history", p, "churn", "--format", "json"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("set_dataset"));
    assert!(cli(&["registry", "verify", p]).status.success(), "the event is signed and verifies");
    let (items, _) = data_ls(&dir.path().join("data"), &project);
    let train = item(&items, "data/train.csv");
    let version = train["versions"].as_array().unwrap().iter().find(|v| v["rev"] == v2["rev"]).unwrap();
    assert!(version["models"].as_array().unwrap().contains(&Value::from("churn@1")), "{version}");
    // Not a table: refused, nothing written.
    let o = cli(&["data", "reference", p, "churn@1", "data/legacy.txt"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn data_watch_scores_each_new_batch_against_the_reference_and_keeps_the_scores() {
    let (dir, project) = unpack();
    let truth = read_json(&fixture("data_versions/truth.json"));
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_runlens"))
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--config-dir")
            .arg(dir.path().join("ana"))
            .args(args)
            .output()
            .unwrap()
    };
    let p = project.to_str().unwrap();
    let landing = dir.path().join("landing");
    std::fs::create_dir_all(&landing).unwrap();
    let l = landing.to_str().unwrap();
    // No reference yet: refused, with the command that sets one.
    let o = cli(&[
        "registry",
        "register",
        p,
        truth["runs"]["v2"].as_str().unwrap(),
        "models/model.json",
        "--name",
        "churn",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = cli(&["data", "watch", p, "--model", "churn@1", l, "--once"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("data reference"), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(cli(&["data", "reference", p, "churn@1", "data/train.csv@data-v2"]).status.success());
    // Two batches land: February's data again (no drift) and March's (drifted).
    let cached = |k: usize| {
        let md5 = truth["versions"]["data/train.csv"][k]["md5"].as_str().unwrap().to_string();
        project.join(".dvc/cache/files/md5").join(&md5[..2]).join(&md5[2..])
    };
    std::fs::copy(cached(2), landing.join("2025-02.csv")).unwrap();
    std::fs::copy(cached(1), landing.join("2025-03.csv")).unwrap();
    std::fs::write(landing.join("notes.txt"), "not a table\n").unwrap();
    // A table that cannot be scored (not the reference's columns), first in the folder: named,
    // and the batches after it are scored all the same.
    std::fs::write(landing.join("2025-01.csv"), "a,b\n1,2\n").unwrap();
    let o = cli(&["data", "watch", p, "--model", "churn@1", l, "--once", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "a batch drifted: {}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("2025-01.csv") && err.contains("not in the reference"), "{err}");
    let scores: Vec<Value> =
        String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(scores.len(), 2, "{scores:?}");
    assert_eq!((scores[0]["drift"].as_bool(), scores[1]["drift"].as_bool()), (Some(false), Some(true)));
    assert_eq!(scores[1]["columns"]["monthly_charges"]["drift"], true);
    // Each score is a file in the project, written once.
    let kept: Vec<_> = std::fs::read_dir(project.join(".runlens/monitor/churn")).unwrap().collect();
    assert_eq!(kept.len(), 2);
    let record = read_json(&project.join(scores[1]["record"].as_str().unwrap()));
    assert_eq!(record["reference"]["rev"], truth["commits"]["data-v2"]);
    // Watching again scores nothing twice; the table it cannot score is trouble (exit 2) until
    // it is gone.
    let o = cli(&["data", "watch", p, "--model", "churn@1", l, "--once", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    std::fs::remove_file(landing.join("2025-01.csv")).unwrap();
    let o = cli(&["data", "watch", p, "--model", "churn@1", l, "--once", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    assert!(cli(&["registry", "verify", p]).status.success());
    // The scores are a run of the index, charted like any metric: one point per batch.
    let o = cli(&["metric", p, "monitor:churn@1", "drift/share", "--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(m["step"], serde_json::json!([0, 1]), "{m}");
    assert_eq!(m["value"][0], 0.0);
    assert!(m["value"][1].as_f64().unwrap() > 0.0);
    let share = m["value"].clone();
    let o = cli(&["metric", p, "monitor:churn@1", "drift/monthly_charges", "--format", "json"]);
    let m: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(m["value"], serde_json::json!([0.0, 1.0]), "batch 2 drifted on monthly_charges");
    // Delete the index: a rescan has the scores again, from the files.
    std::fs::remove_dir_all(dir.path().join("data")).unwrap();
    let o = cli(&["metric", p, "monitor:churn@1", "drift/share", "--format", "json"]);
    let again: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(again["value"], share);
    assert_eq!(again["step"], serde_json::json!([0, 1]));

    // A long watch (one index, many passes) reads a table it could not score again only once
    // that table changes: the same size and time are not read (here, fixed bytes are not seen).
    let index = runlens_core::Index::open(&dir.path().join("data"), &project).unwrap();
    let bad = landing.join("2025-05.csv");
    std::fs::write(&bad, "a,b\n1,2\n").unwrap();
    let pass = index.monitor_scan("churn@1", &landing, 0, false).unwrap();
    assert!(pass.scores.is_empty());
    assert_eq!(pass.problems.len(), 1, "{:?}", pass.problems);
    assert!(pass.problems[0].contains("2025-05.csv"), "{:?}", pass.problems);
    let mtime = std::fs::metadata(&bad).unwrap().modified().unwrap();
    let fixed = std::fs::read(cached(2)).unwrap();
    // A table it could score (one of the reference's columns), of the same size.
    let same_size = b"id\n1\n23\n";
    std::fs::write(&bad, same_size).unwrap();
    std::fs::File::options().write(true).open(&bad).unwrap().set_modified(mtime).unwrap();
    let pass = index.monitor_scan("churn@1", &landing, 0, false).unwrap();
    assert_eq!(pass.problems.len(), 1, "named again, not read again: {:?}", pass.problems);
    assert!(pass.scores.is_empty());
    std::fs::write(&bad, &fixed).unwrap();
    let pass = index.monitor_scan("churn@1", &landing, 0, false).unwrap();
    assert!(pass.problems.is_empty(), "{:?}", pass.problems);
    assert_eq!(pass.scores.len(), 0, "the same bytes as a batch scored before: not scored twice");
}

/// A `.gitattributes` in a subfolder sends its files through LFS too: a pointer there is listed
/// with its oid, and `data show` reads the object it names.
#[test]
fn a_nested_gitattributes_sends_its_files_through_lfs() {
    let dir = tempfile::tempdir().unwrap();
    let project = unpack_data_versions(dir.path());
    let sub = project.join("assets/raw");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join(".gitattributes"), "*.csv filter=lfs diff=lfs merge=lfs -text\n").unwrap();
    let content = b"a,b\n1,2\n3,4\n";
    let object = dir.path().join("object");
    std::fs::write(&object, content).unwrap();
    let sum = Command::new("sha256sum").arg(&object).output().unwrap();
    let oid = String::from_utf8_lossy(&sum.stdout).split_whitespace().next().unwrap().to_string();
    std::fs::write(
        sub.join("t.csv"),
        format!("version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {}\n", content.len()),
    )
    .unwrap();
    let store = project.join(".git/lfs/objects").join(&oid[..2]).join(&oid[2..4]);
    std::fs::create_dir_all(&store).unwrap();
    std::fs::copy(&object, store.join(&oid)).unwrap();
    let data = dir.path().join("data");
    let (items, _) = data_ls(&data, &project);
    let t = item(&items, "assets/raw/t.csv");
    assert_eq!(t["tracked_by"], serde_json::json!(["git-lfs"]));
    assert_eq!(t["versions"][0]["md5"], format!("sha256:{oid}"));
    assert_eq!(t["versions"][0]["in_cache"], true);
    // Not a pattern of the root's, nor of a folder beside it.
    assert!(items
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["path"] != "data/train.csv" || i["tracked_by"] != serde_json::json!(["git-lfs"])));
    let o = Command::new(env!("CARGO_BIN_EXE_runlens"))
        .arg("--data-dir")
        .arg(&data)
        .args(["data", "show"])
        .arg(&project)
        .args(["assets/raw/t.csv", "--format", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"], 2, "the object's rows, not the pointer's: {v}");
}
