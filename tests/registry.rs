//! The model registry, through the real CLI and the engine: MLflow's registries listed as
//! MlflowClient lists them and imported, pinned files and lineage, history at any moment, policy
//! refusals, tampering named by `verify`, concurrent writers, a kill -9 mid-write, a full or
//! read-only disk, minisign's own check of a signature, and model cards.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use runlens_core::{Identity, Index, RegistryChange};
use serde_json::{json, Value};

use crate::common::*;

/// A copy of the MLflow registry fixture, a data dir, and one config dir (signing key) per user.
struct Reg {
    dir: tempfile::TempDir,
    project: PathBuf,
}

impl Reg {
    fn new() -> Reg {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        copy_dir(&fixture("mlflow_registry/project"), &project);
        Reg { dir, project }
    }

    fn p(&self) -> &str {
        self.project.to_str().unwrap()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn config(&self, user: &str) -> PathBuf {
        self.dir.path().join("users").join(user)
    }

    /// The CLI as `user` (their own key, git identity and no real ~/.gitconfig), at time `now` (ms).
    fn cli(&self, user: &str, now: Option<i64>, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_runlens"));
        c.arg("--data-dir").arg(self.data()).arg("--config-dir").arg(self.config(user)).args(args);
        c.env("USER", user)
            .env("HOME", self.config(user))
            .env_remove("XDG_CONFIG_HOME")
            .env("GIT_AUTHOR_NAME", format!("{user} tester"))
            .env("GIT_AUTHOR_EMAIL", format!("{user}@example.org"))
            .env_remove("RUNLENS_NOW");
        if let Some(t) = now {
            c.env("RUNLENS_NOW", t.to_string());
        }
        c.output().expect("run runlens")
    }

    fn ok(&self, user: &str, now: Option<i64>, args: &[&str]) -> String {
        let o = self.cli(user, now, args);
        assert!(o.status.success(), "{args:?}: exit {:?}: {}", o.status, String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }

    fn json(&self, user: &str, now: Option<i64>, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        serde_json::from_str(&self.ok(user, now, &a)).unwrap()
    }

    /// A refusal: non-zero exit, one `error:` line, and nothing written.
    fn refused(&self, user: &str, args: &[&str]) -> String {
        let before = self.all_event_files();
        let o = self.cli(user, None, args);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!o.status.success(), "{args:?} should be refused");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(err.starts_with("error: "), "{err}");
        assert_eq!(self.all_event_files(), before, "{args:?}: a refusal writes nothing");
        err
    }

    fn all_event_files(&self) -> Vec<PathBuf> {
        let dir = self.project.join(".runlens/registry");
        if !dir.exists() {
            return Vec::new();
        }
        let mut v = walk(&dir);
        v.sort();
        v
    }

    fn events(&self, model: &str) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.project.join(".runlens/registry").join(model).join("events"))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    fn model(&self, name: &str, source: &str) -> Value {
        let list = self.json("ana", None, &["registry", "list", self.p()]);
        list.as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name && m["source"] == source)
            .cloned()
            .unwrap_or_else(|| panic!("no model {name} from {source} in {list}"))
    }

    fn verify(&self, name: Option<&str>) -> (bool, String) {
        let mut args = vec!["registry", "verify", self.p()];
        args.extend(name);
        let o = self.cli("ana", None, &args);
        (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned())
    }

    fn key_id(&self, user: &str) -> String {
        self.json(user, None, &["registry", "key"])["id"].as_str().unwrap().to_string()
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn truth() -> Value {
    read_json(&fixture("mlflow_registry/truth.json"))
}

/// The run id and logged model id of a run of the fixture's file store, by name.
fn run_of(name: &str) -> (String, String) {
    let r = &truth()["file"]["runs"][name];
    (r["run_id"].as_str().unwrap().to_string(), r["logged_model_id"].as_str().unwrap().to_string())
}

fn sha256sum(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut c = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = c.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
}

#[test]
fn mlflow_registries_are_listed_as_mlflowclient_lists_them() {
    let r = Reg::new();
    let t = truth();
    for (store, source) in [("file", "mlflow"), ("db", "mlflow-db")] {
        for tm in t[store]["registered_models"].as_array().unwrap() {
            let name = tm["name"].as_str().unwrap();
            let m = r.model(name, source);
            assert_eq!(m["description"], tm["description"], "{source} {name}");
            assert_eq!(m["tags"], tm["tags"], "{source} {name}");
            assert_eq!(m["aliases"], tm["aliases"], "{source} {name}: aliases as integers");
            let tv: Vec<&Value> =
                t[store]["model_versions"].as_array().unwrap().iter().filter(|v| v["name"] == name).collect();
            let versions = m["versions"].as_array().unwrap();
            assert_eq!(versions.len(), tv.len(), "{source} {name}");
            for want in tv {
                let got = versions.iter().find(|v| v["version"] == want["version"]).unwrap();
                let what = format!("{source} {name}@{}", want["version"]);
                assert_eq!(got["run_id"], want["run_id"], "{what}");
                assert_eq!(got["stage"], want["current_stage"], "{what}");
                assert_eq!(got["status"], want["status"], "{what}");
                assert_eq!(got["description"], want["description"], "{what}");
                assert_eq!(got["tags"], want["tags"], "{what}");
                // get_model_version's aliases: search_model_versions drops them for the SQL store.
                assert_eq!(got["aliases"], want["get_model_version"]["aliases"], "{what}");
                assert_eq!(got["created_at"], want["creation_timestamp"], "{what}");
                let run_path = got["run_path"].as_str().unwrap();
                assert!(run_path.contains(want["run_id"].as_str().unwrap()), "{what}: {run_path}");
                assert_eq!(got["digest"], Value::Null);
                assert_eq!(got["files"], json!([]));
            }
        }
    }
}

#[test]
fn import_mlflow_turns_a_registry_into_events_and_a_second_import_adds_nothing() {
    let r = Reg::new();
    let report = r.json("ana", Some(1_800_000_000_000), &["registry", "import-mlflow", r.p(), "churn"]);
    let first = &report[0];
    assert_eq!(first["source"], "mlflow");
    assert_eq!(first["versions"], json!([1, 2, 3]));
    assert!(report[1]["skipped"][0].as_str().unwrap().contains("not mixing"), "the db's churn is not merged: {report}");
    let ours = r.model("churn", "runlens");
    let t = truth();
    let tm = t["file"]["registered_models"].as_array().unwrap().iter().find(|m| m["name"] == "churn").unwrap();
    assert_eq!(ours["description"], tm["description"]);
    assert_eq!(ours["tags"], tm["tags"]);
    assert_eq!(ours["aliases"], tm["aliases"], "champion 1, challenger 3, as MLflow holds them");
    for want in t["file"]["model_versions"].as_array().unwrap().iter().filter(|v| v["name"] == "churn") {
        let got = ours["versions"].as_array().unwrap().iter().find(|v| v["version"] == want["version"]).unwrap();
        assert_eq!(got["stage"], want["current_stage"]);
        assert_eq!(got["tags"], want["tags"]);
        assert_eq!(got["run_id"], want["run_id"]);
        assert_eq!(got["description"], want["description"]);
        assert_eq!(got["created_at"], 1_800_000_000_000i64, "our event's time");
        assert!(got["digest"].as_str().is_some_and(|d| d.len() == 64), "the version's files are pinned: {got}");
        assert!(got["files"].as_array().unwrap().iter().any(|f| f["path"] == "MLmodel"));
    }
    let n = r.events("churn").len();
    let again = r.json("ana", None, &["registry", "import-mlflow", r.p(), "churn"]);
    assert_eq!(again[0]["versions"], json!([]));
    assert_eq!(r.events("churn").len(), n, "importing again writes nothing");
    assert_eq!(r.verify(None), (true, "ok: every event, signature and pinned file checks out\n".into()));
    // MLflow's own registry is still listed beside ours.
    assert_eq!(r.model("churn", "mlflow")["versions"].as_array().unwrap().len(), 3);
}

#[test]
fn a_registered_version_pins_its_files_and_records_its_lineage() {
    let r = Reg::new();
    let (run, model_id) = run_of("wide-C10");
    let w = r.json("ana", None, &["registry", "register", r.p(), &run[..8], &model_id, "--name", "churn-rl"]);
    assert_eq!(w["name"], "churn-rl");
    assert_eq!(w["version"], 1);
    let v = &r.model("churn-rl", "runlens")["versions"][0];
    assert_eq!(v["digest"], w["digest"]);
    assert_eq!(v["run_id"], run.as_str());
    assert_eq!(v["created_by"], "ana tester <ana@example.org>");
    // Every file of the logged model's folder, hashed as sha256sum hashes it; the digest is the
    // SHA-256 of that manifest.
    let exp = truth()["file"]["experiment"]["experiment_id"].as_str().unwrap().to_string();
    let dir = r.project.join("mlruns").join(&exp).join("models").join(&model_id).join("artifacts");
    let mut manifest = String::new();
    let mut files: Vec<(String, PathBuf)> =
        walk(&dir).into_iter().map(|p| (p.strip_prefix(&dir).unwrap().to_str().unwrap().to_string(), p)).collect();
    files.sort();
    let pinned = v["files"].as_array().unwrap();
    assert_eq!(pinned.len(), files.len());
    for ((rel, p), f) in files.iter().zip(pinned) {
        let bytes = std::fs::read(p).unwrap();
        assert_eq!(f["path"], rel.as_str());
        assert_eq!(f["size"], bytes.len());
        assert_eq!(f["sha256"], sha256sum(&bytes).as_str());
        manifest.push_str(&format!("{}  {rel}\n", sha256sum(&bytes)));
    }
    assert_eq!(v["digest"], sha256sum(manifest.as_bytes()).as_str());
    // Lineage, from metadata only.
    let h = r.json("ana", None, &["registry", "history", r.p(), "churn-rl"]);
    let lin = &h[0]["payload"]["lineage"];
    assert_eq!(lin["params"]["C"], "10.0");
    assert_eq!(lin["code"]["commit"], "c0ffee1234567890abcdef0123456789abcdef01");
    assert_eq!(lin["code"]["from"], "run tag mlflow.source.git.commit");
    assert!(lin["metrics"]["accuracy"].as_f64().is_some());
    assert!(lin["model"]["flavors"]["sklearn"].is_object(), "{lin}");
    assert!(lin["model"]["signature"]["inputs"].is_array(), "{lin}");
    assert_eq!(h[0]["payload"]["source"]["kind"], "logged-model");
    // A file inside the run's artifact folder, relative to it, and a path that is not there.
    let (run2, _) = run_of("tuned-C1.0");
    let o = r.cli("ana", None, &["registry", "register", r.p(), &run2, "no/such/file", "--name", "churn-rl"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a file or folder of run"));
    // The file changes on disk: flagged.
    std::fs::write(dir.join("requirements.txt"), "tampered\n").unwrap();
    assert_eq!(r.model("churn-rl", "runlens")["versions"][0]["changed_on_disk"], true);
}

#[test]
fn an_alias_moved_1_2_1_is_known_at_every_moment() {
    let r = Reg::new();
    let (run1, m1) = run_of("baseline-C0.1");
    let (run2, m2) = run_of("tuned-C1.0");
    let t0 = 1_772_539_200_000i64; // 2026-03-03T12:00:00Z
    r.ok("ana", Some(t0), &["registry", "register", r.p(), &run1, &m1, "--name", "churn"]);
    r.ok("ana", Some(t0 + 1000), &["registry", "register", r.p(), &run2, &m2, "--name", "churn"]);
    r.ok("ana", Some(t0 + 2000), &["registry", "alias", r.p(), "churn@1", "champion"]);
    r.ok("bob", Some(t0 + 3000), &["registry", "alias", r.p(), "churn@2", "champion"]);
    r.ok("ana", Some(t0 + 4000), &["registry", "alias", r.p(), "churn@1", "champion"]);
    let at = |t: String| r.json("ana", None, &["registry", "history", r.p(), "churn", "--at", &t])["aliases"].clone();
    assert_eq!(at((t0 + 1500).to_string()), json!({}));
    assert_eq!(at((t0 + 2500).to_string()), json!({"champion": 1}));
    assert_eq!(at((t0 + 3500).to_string()), json!({"champion": 2}));
    assert_eq!(at("2026-03-03T12:00:04.500Z".into()), json!({"champion": 1}), "RFC 3339 too");
    assert_eq!(at("2026-03-03T12:00:03Z".into()), json!({"champion": 2}), "an event at exactly that time counts");
    let h = r.json("ana", None, &["registry", "history", r.p(), "churn"]);
    let h = h.as_array().unwrap();
    assert_eq!(h.len(), 5);
    for e in h {
        let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["actor", "at", "hash", "host", "kind", "parents", "payload", "signed_by", "version"]);
    }
    let kinds: Vec<(&str, i64, Option<u64>)> = h
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["at"].as_i64().unwrap() - t0, e["version"].as_u64()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("register", 0, Some(1)),
            ("register", 1000, Some(2)),
            ("set_alias", 2000, Some(1)),
            ("set_alias", 3000, Some(2)),
            ("set_alias", 4000, Some(1))
        ]
    );
    assert_eq!(h[3]["actor"], json!({"user": "bob", "name": "bob tester", "email": "bob@example.org"}));
    assert_eq!(h[3]["signed_by"], r.key_id("bob").as_str());
    assert_eq!(h[3]["parents"], json!([h[2]["hash"]]), "each event names the head it saw");
    // Every file is named by the SHA-256 of its bytes.
    for f in r.events("churn") {
        assert_eq!(f.file_stem().unwrap().to_str().unwrap(), sha256sum(&std::fs::read(&f).unwrap()));
    }
    assert_eq!(r.model("churn", "runlens")["aliases"], json!({"champion": 1}));
}

#[test]
fn refusals_exit_non_zero_with_one_error_line_and_write_nothing() {
    let r = Reg::new();
    let (run, m) = run_of("baseline-C0.1");
    r.ok("ana", None, &["registry", "register", r.p(), &run, &m, "--name", "churn"]);
    let p = r.p();
    assert!(r.refused("ana", &["registry", "stage", p, "churn@1", "Production"]).contains("needs a comment"));
    assert!(r.refused("ana", &["registry", "approve", p, "churn@1", "--comment", " "]).contains("needs a comment"));
    assert!(r.refused("ana", &["registry", "alias", p, "churn@7", "champion"]).contains("no version 7"));
    assert!(r.refused("ana", &["registry", "alias", p, "churn@nope", "x"]).contains("no version or alias"));
    assert!(r.refused("ana", &["registry", "alias", p, "nosuch@1", "x"]).contains("no model named"));
    assert!(r.refused("ana", &["registry", "alias", p, "churn@1", "42"]).contains("cannot be an alias"));
    assert!(r.refused("ana", &["registry", "alias", p, "churn@1", "champion", "--remove"]).contains("no alias"));
    assert!(r.refused("ana", &["registry", "approve", p, "churn@1", "--comment", "mine"]).contains("author"));
    assert!(r.refused("ana", &["registry", "restore", p, "churn@1"]).contains("not archived"));
    assert!(r.refused("ana", &["registry", "tag", p, "churn", "--remove", "k"]).contains("no tag"));
    assert!(r.refused("ana", &["registry", "alias", p, "churn", "x"]).contains("give a version"));
    assert!(r
        .refused("ana", &["registry", "register", p, &run, &m, "--name", "a@b"])
        .contains("cannot be a model name"));
    assert!(r
        .refused("ana", &["registry", "register", p, &run, &m, "--name", "Churn"])
        .contains("differ only in case"));
    assert!(
        r.refused("ana", &["registry", "alias", p, "ranker@1", "x"]).contains("import-mlflow"),
        "MLflow's are read-only"
    );
    r.ok("ana", None, &["registry", "archive", p, "churn@1"]);
    assert!(r.refused("ana", &["registry", "alias", p, "churn@1", "champion"]).contains("archived"));
}

fn write_policy(r: &Reg, approvers: &[String], extra: &str) {
    let list: String = approvers.iter().map(|a| format!("  - {a}\n")).collect();
    std::fs::write(
        r.project.join(".runlens/registry/policy.yaml"),
        format!("approvers:\n{list}protect:\n  stages:\n    Production: {{approvals: 2}}\n  aliases:\n    champion: {{approvals: 1}}\n{extra}"),
    )
    .unwrap();
}

#[test]
fn production_needs_two_approvals_from_listed_keys_other_than_the_author() {
    let r = Reg::new();
    let (run, m) = run_of("tuned-C1.0");
    r.ok("ana", None, &["registry", "register", r.p(), &run, &m, "--name", "churn"]);
    let (bob, carol) = (r.key_id("bob"), r.key_id("carol"));
    write_policy(&r, &[bob.clone(), carol.clone(), r.key_id("ana")], "");
    let p = r.p();
    let e = r.refused("ana", &["registry", "stage", p, "churn@1", "Production", "--comment", "ship it"]);
    assert!(e.contains("needs 2 approvals") && e.contains("it has 0"), "{e}");
    assert!(r.refused("ana", &["registry", "alias", p, "churn@1", "champion"]).contains("needs 1 approval"));
    assert!(r.refused("ana", &["registry", "approve", p, "churn@1", "--comment", "mine"]).contains("author"));
    assert!(r
        .refused("dave", &["registry", "approve", p, "churn@1", "--comment", "lgtm"])
        .contains("not one of the approvers"));
    r.ok("bob", Some(1_800_000_000_000), &["registry", "approve", p, "churn@1", "--comment", "metrics hold"]);
    r.ok("bob", None, &["registry", "alias", p, "churn@1", "champion"]);
    let e = r.refused("ana", &["registry", "stage", p, "churn@1", "production", "--comment", "ship it"]);
    assert!(e.contains("it has 1"), "stage names match case-insensitively: {e}");
    r.ok("carol", Some(1_800_000_001_000), &["registry", "approve", p, "churn@1", "--comment", "data checked"]);
    r.ok("ana", None, &["registry", "stage", p, "churn@1", "Production", "--comment", "ship it"]);
    let v = &r.model("churn", "runlens")["versions"][0];
    assert_eq!(v["stage"], "Production");
    assert_eq!(
        v["approvals"],
        json!([
            {"by": "bob tester <bob@example.org>", "at": 1_800_000_000_000i64, "comment": "metrics hold"},
            {"by": "carol tester <carol@example.org>", "at": 1_800_000_001_000i64, "comment": "data checked"}
        ])
    );
    // A rejection withdraws that approver's approval.
    r.ok("carol", None, &["registry", "reject", p, "churn@1", "--comment", "found a leak"]);
    assert_eq!(r.model("churn", "runlens")["versions"][0]["approvals"].as_array().unwrap().len(), 1);
    assert!(r.verify(None).0);
}

#[test]
fn verify_names_each_kind_of_tampering() {
    let r = Reg::new();
    let (run, m) = run_of("baseline-C0.1");
    let p = r.p();
    r.ok("ana", Some(1_000), &["registry", "register", p, &run, &m, "--name", "churn"]);
    r.ok("bob", Some(2_000), &["registry", "approve", p, "churn@1", "--comment", "ok"]);
    r.ok("ana", Some(3_000), &["registry", "tag", p, "churn", "team=ml"]);
    r.ok("ana", Some(4_000), &["registry", "tag", p, "churn", "step=4"]);
    assert!(r.verify(Some("churn")).0);
    let h = r.json("ana", None, &["registry", "history", p, "churn"]);
    let hash = |i: usize| h[i]["hash"].as_str().unwrap().to_string();
    let file = |i: usize| r.project.join(".runlens/registry/churn/events").join(format!("{}.json", hash(i)));

    // An edited byte.
    let original = std::fs::read(file(2)).unwrap();
    let edited = String::from_utf8(original.clone()).unwrap().replace("team", "tean");
    std::fs::write(file(2), edited).unwrap();
    let (ok, out) = r.verify(None);
    assert!(!ok && out.contains(&hash(2)) && out.contains("do not match its name"), "{out}");
    let list = r.model("churn", "runlens");
    assert_eq!(list["tags"], json!({"step": "4"}), "an edited event does not count");
    std::fs::write(file(2), &original).unwrap();
    assert!(r.verify(None).0);

    // A deleted event that was not a head.
    std::fs::remove_file(file(2)).unwrap();
    let (ok, out) = r.verify(None);
    assert!(!ok && out.contains(&hash(3)) && out.contains(&format!("names parent {}", hash(2))), "{out}");
    std::fs::write(file(2), &original).unwrap();

    // A forged event: signed by a key the project does not have.
    r.ok("mallory", Some(5_000), &["registry", "tag", p, "churn", "owner=mallory"]);
    let mallory = r.key_id("mallory");
    std::fs::remove_file(r.project.join(format!(".runlens/registry/keys/{mallory}.pub"))).unwrap();
    let (ok, out) = r.verify(None);
    assert!(!ok && out.contains(&format!("signed by key {mallory}, which is not in .runlens/registry/keys")), "{out}");
    let forged: Vec<&str> = out.lines().collect();
    assert_eq!(forged.len(), 1, "{out}");
    let forged_hash = forged[0].split("event ").nth(1).unwrap().split(':').next().unwrap().to_string();
    std::fs::remove_file(r.project.join(format!(".runlens/registry/churn/events/{forged_hash}.json"))).unwrap();
    assert!(r.verify(None).0);

    // An approval the policy forbids: bob approved, then a policy lists only carol.
    write_policy(&r, &[r.key_id("carol")], "");
    let (ok, out) = r.verify(None);
    assert!(!ok && out.contains(&hash(1)) && out.contains("not one of the approvers"), "{out}");
    assert_eq!(r.model("churn", "runlens")["versions"][0]["approvals"], json!([]), "it does not count");
    std::fs::remove_file(r.project.join(".runlens/registry/policy.yaml")).unwrap();

    // A version's file changed on disk.
    let exp = truth()["file"]["experiment"]["experiment_id"].as_str().unwrap().to_string();
    let mlmodel = r.project.join("mlruns").join(&exp).join("models").join(&m).join("artifacts/MLmodel");
    let mut bytes = std::fs::read(&mlmodel).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&mlmodel, bytes).unwrap();
    let (ok, out) = r.verify(None);
    assert!(!ok && out.contains(&format!("{m}/artifacts/MLmodel: version 1: changed on disk")), "{out}");
}

/// Writes the registry through real signatures, then checks one with the real `minisign`.
#[test]
fn minisign_itself_verifies_an_event_signature() {
    let r = Reg::new();
    let (run, m) = run_of("baseline-C0.1");
    r.ok("ana", None, &["registry", "register", r.p(), &run, &m, "--name", "churn"]);
    r.ok("ana", None, &["registry", "alias", r.p(), "churn@1", "champion"]);
    let h = r.json("ana", None, &["registry", "history", r.p(), "churn"]);
    let hash = h[1]["hash"].as_str().unwrap();
    let text = std::fs::read(r.project.join(format!(".runlens/registry/churn/events/{hash}.json"))).unwrap();
    let mut ev: Value = serde_json::from_slice(&text).unwrap();
    let sig = ev.as_object_mut().unwrap().remove("signature").unwrap();
    // The signed bytes: the event without its signature, keys sorted, no spaces (written here
    // independently of the engine).
    fn canonical(v: &Value, out: &mut String) {
        match v {
            Value::Object(o) => {
                let sorted: BTreeMap<&String, &Value> = o.iter().collect();
                out.push('{');
                for (i, (k, v)) in sorted.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(k).unwrap());
                    out.push(':');
                    canonical(v, out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical(v, out);
                }
                out.push(']');
            }
            other => out.push_str(&serde_json::to_string(other).unwrap()),
        }
    }
    let mut msg = String::new();
    canonical(&ev, &mut msg);
    let work = r.dir.path();
    std::fs::write(work.join("event.msg"), &msg).unwrap();
    std::fs::write(work.join("event.msg.minisig"), sig.as_str().unwrap()).unwrap();
    let key = r.project.join(format!(".runlens/registry/keys/{}.pub", h[1]["signed_by"].as_str().unwrap()));
    let run_minisign = || {
        Command::new("minisign")
            .arg("-V")
            .arg("-p")
            .arg(&key)
            .arg("-m")
            .arg(work.join("event.msg"))
            .output()
            .expect("minisign is installed (scripts/setup.sh --tests installs it)")
    };
    let o = run_minisign();
    let said = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{said}");
    assert!(said.contains("Signature and comment signature verified"), "{said}");
    assert!(said.contains("Trusted comment: runlens registry event"), "{said}");
    std::fs::write(work.join("event.msg"), msg.replace("champion", "champiom")).unwrap();
    assert!(!run_minisign().status.success(), "a changed event fails minisign's check");
    // The secret key stays private to its owner.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(r.config("ana").join("runlens.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the secret key is readable by its owner only");
    }
}

#[test]
fn a_model_card_has_front_matter_metrics_curves_and_keeps_the_users_sections() {
    let r = Reg::new();
    let (run, m) = run_of("wide-C10");
    r.ok(
        "ana",
        Some(1_800_000_000_000),
        &["registry", "register", r.p(), &run, &m, "--name", "churn", "--description", "Weekly churn scores"],
    );
    r.ok("ana", None, &["registry", "tag", r.p(), "churn", "license=apache-2.0"]);
    r.ok("ana", None, &["registry", "alias", r.p(), "churn@1", "champion"]);
    let card = r.dir.path().join("cards/churn.md");
    std::fs::create_dir_all(card.parent().unwrap()).unwrap();
    let out = r.ok("ana", None, &["registry", "card", r.p(), "churn@champion", "-o", card.to_str().unwrap()]);
    assert!(out.contains("churn-loss.png"), "{out}");
    let text = std::fs::read_to_string(&card).unwrap();
    assert!(text.starts_with("---\nlicense: \"apache-2.0\"\ntags:\n- \"runlens\"\n- \"sklearn\"\n"), "{text}");
    assert!(text.contains("model-index:\n- name: \"churn\"\n  results:\n"), "{text}");
    assert!(text.contains("    - type: \"accuracy\"\n      name: \"accuracy\"\n      value: 0.9\n"), "{text}");
    assert!(text.contains("# churn version 1") && text.contains("Weekly churn scores"), "{text}");
    assert!(text.contains("commit `c0ffee1234567890abcdef0123456789abcdef01`"), "{text}");
    assert!(text.contains("![loss](churn-loss.png)"), "{text}");
    assert!(text.contains("### Signature"), "{text}");
    let png = std::fs::read(r.dir.path().join("cards/churn-loss.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // The user's own section survives a regeneration; the generated part follows the registry.
    std::fs::write(
        &card,
        text.replace("## Intended use\n", "## Intended use\n\nScores churn weekly for the CRM team.\n"),
    )
    .unwrap();
    r.ok("ana", None, &["registry", "stage", r.p(), "churn@1", "Staging", "--comment", "try"]);
    r.ok("ana", None, &["registry", "card", r.p(), "churn@1", "-o", card.to_str().unwrap()]);
    let again = std::fs::read_to_string(&card).unwrap();
    assert!(again.contains("Scores churn weekly for the CRM team."), "{again}");
    assert!(again.contains("stage: Staging"), "{again}");
    assert_eq!(again.matches("## Intended use").count(), 1, "{again}");
}

// ---- concurrency and crashes: child processes of this test binary ----

fn child(test: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([test, "--exact", "--ignored", "--nocapture", "--test-threads=1"]);
    c
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A writer: one register, then tags and alias moves, as RL_WRITER (run by the tests below).
#[test]
#[ignore = "a child process of the concurrency and crash tests"]
fn registry_writer_child() {
    let Ok(project) = std::env::var("RL_PROJECT") else { return };
    let data = PathBuf::from(std::env::var("RL_DATA").unwrap());
    let me = std::env::var("RL_WRITER").unwrap();
    let events: usize = std::env::var("RL_EVENTS").unwrap().parse().unwrap();
    let (run, m) = run_of("tuned-C1.0");
    let who = Identity {
        user: me.clone(),
        name: None,
        email: None,
        host: format!("host-{me}"),
        key_dir: PathBuf::from(std::env::var("RL_KEYS").unwrap()),
    };
    let (index, _) = open_and_scan(&data, Path::new(&project));
    let w = index.registry_register(&run, &m, "shared", None, &who, now_ms()).unwrap();
    let mine = format!("shared@{}", w.version.unwrap());
    for i in 1..events {
        let change = if i % 5 == 0 {
            RegistryChange::SetAlias(format!("by-{me}"))
        } else {
            RegistryChange::SetTag { key: format!("{me}-{i}"), value: i.to_string() }
        };
        let target = if matches!(change, RegistryChange::SetAlias(_)) { mine.clone() } else { "shared".to_string() };
        index.registry_change(&target, change, &who, now_ms()).unwrap();
    }
}

/// 8 processes write 50 events each into one model at once, on one folder, each with its own
/// index and key (8 people on a shared drive): all 400 are there, `verify` passes, and every
/// reader computes the same state (reliability case 27).
#[test]
fn eight_concurrent_writers_lose_nothing_and_every_reader_agrees() {
    let r = Reg::new();
    // Every writer's index is ready before they start at once.
    r.ok("ana", None, &["index", r.p()]);
    let kids: Vec<std::process::Child> = (0..8)
        .map(|i| {
            let data = r.dir.path().join(format!("data-{i}"));
            copy_dir(&r.data(), &data);
            child("registry::registry_writer_child")
                .env("RL_PROJECT", &r.project)
                .env("RL_DATA", &data)
                .env("RL_WRITER", format!("w{i}"))
                .env("RL_EVENTS", "50")
                .env("RL_KEYS", r.config(&format!("w{i}")))
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for k in kids {
        let o = k.wait_with_output().unwrap();
        assert!(o.status.success(), "a writer failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(r.events("shared").len(), 400);
    assert_eq!(r.verify(Some("shared")), (true, "ok: every event, signature and pinned file checks out\n".into()));
    let state = |data: &Path| {
        let index = Index::open(data, &r.project).unwrap();
        serde_json::to_value(index.registry_model("shared").unwrap()).unwrap()
    };
    let fresh = state(&r.dir.path().join("fresh-data"));
    assert_eq!(fresh["versions"].as_array().unwrap().len(), 8, "8 registers, 8 versions, numbers resolved");
    let mut numbers: Vec<u64> =
        fresh["versions"].as_array().unwrap().iter().map(|v| v["version"].as_u64().unwrap()).collect();
    numbers.sort();
    assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
    assert_eq!(fresh["tags"].as_object().unwrap().len(), 8 * 40, "every writer's tags");
    assert_eq!(fresh["aliases"].as_object().unwrap().len(), 8, "every writer's alias");
    for i in 0..8 {
        assert_eq!(state(&r.dir.path().join(format!("data-{i}"))), fresh, "writer {i}'s index agrees");
    }
}

/// kill -9 while a writer writes: what is in the events folder is whole events only.
#[test]
fn a_writer_killed_mid_write_leaves_no_partial_event() {
    let r = Reg::new();
    r.ok("ana", None, &["index", r.p()]);
    for (round, delay) in [150u64, 400, 700].into_iter().enumerate() {
        let mut k = child("registry::registry_writer_child")
            .env("RL_PROJECT", &r.project)
            .env("RL_DATA", r.data())
            .env("RL_WRITER", format!("k{round}"))
            .env("RL_EVENTS", "100000")
            .env("RL_KEYS", r.config("killer"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay));
        k.kill().unwrap(); // SIGKILL
        k.wait().unwrap();
        let (ok, out) = r.verify(None);
        assert!(ok, "round {round}: {out}");
    }
    assert!(r.events("shared").len() > 3, "the writers got some events in");
}

/// Case 24 for the registry writer: a full disk, then a read-only one, under the project: one clear
/// error, nothing half-written, the registry as it was.
#[test]
fn a_full_or_read_only_disk_refuses_a_registry_write_cleanly() {
    let r = Reg::new();
    let disk = r.dir.path().join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&disk)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a tmpfs here (not root?); CI runs this as root");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _guard = Unmount(&disk);
    let project = disk.join("project");
    copy_dir(&r.project, &project);
    let p = project.to_str().unwrap();
    let (run, m) = run_of("baseline-C0.1");
    r.ok("ana", None, &["registry", "register", p, &run, &m, "--name", "churn"]);
    r.ok("bob", None, &["registry", "key"]);
    // Fill the disk to the last byte.
    let filler = disk.join("filler");
    let _ = Command::new("dd").arg("if=/dev/zero").arg(format!("of={}", filler.display())).args(["bs=4k"]).output();
    let events = |d: &Path| walk(&d.join(".runlens/registry"));
    let before = events(&project);
    let o = r.cli("bob", None, &["registry", "alias", p, "churn@1", "champion"]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("is full") && err.contains("the registry is as it was"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(events(&project), before, "no partial event, no temporary file left");
    std::fs::remove_file(&filler).unwrap();
    assert!(Command::new("mount").args(["-o", "remount,ro"]).arg(&disk).status().unwrap().success());
    let o = r.cli("ana", None, &["registry", "alias", p, "churn@1", "champion"]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("read-only"), "{err}");
    assert!(Command::new("mount").args(["-o", "remount,rw"]).arg(&disk).status().unwrap().success());
    r.ok("ana", None, &["registry", "alias", p, "churn@1", "champion"]);
    let o = r.cli("ana", None, &["registry", "verify", p]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

/// The demo project's registry, as the first README command shows it: it verifies, and its
/// history holds what the demo README describes.
#[test]
fn the_demo_registry_verifies_and_holds_a_moved_alias_and_an_approval() {
    let s = Scratch::new();
    let demo = repo_path("assets/demo");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_runlens"))
            .arg("--data-dir")
            .arg(s.data())
            .arg("registry")
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&["verify", demo.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let list: Value =
        serde_json::from_slice(&run(&["list", demo.to_str().unwrap(), "--format", "json"]).stdout).unwrap();
    let gbm = list.as_array().unwrap().iter().find(|m| m["name"] == "churn-gbm" && m["source"] == "runlens").unwrap();
    assert_eq!(gbm["aliases"], json!({"champion": 2}));
    assert_eq!(gbm["versions"][1]["stage"], "Production");
    assert_eq!(gbm["versions"][1]["approvals"][0]["by"], "Lee Chen <lee@example.org>");
    assert!(gbm["versions"].as_array().unwrap().iter().all(|v| v["changed_on_disk"] == false));
    let h: Value =
        serde_json::from_slice(&run(&["history", demo.to_str().unwrap(), "churn-gbm", "--format", "json"]).stdout)
            .unwrap();
    let moves: Vec<u64> = h
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "set_alias")
        .map(|e| e["version"].as_u64().unwrap())
        .collect();
    assert_eq!(moves, [1, 2], "champion moved from 1 to 2");
    assert!(list.as_array().unwrap().iter().any(|m| m["name"] == "churn-gbm" && m["source"] == "mlflow"));
    assert!(list.as_array().unwrap().iter().any(|m| m["name"] == "churn-baseline"));
}
