//! Reading a run's files for the desktop app's previews: only files the index lists for that run,
//! inside the project, never through a symlink; model files and pickles are never read
//! (reliability cases 7 and 9, at the engine's boundary; the app's commands call these).

use runlens_core::{Index, PreviewKind};

use crate::common::*;

fn demo() -> (Scratch, Index, String) {
    let s = Scratch::new();
    let (index, _) = open_and_scan(&s.data(), &repo_path("assets/demo"));
    let run =
        index.runs(&Default::default()).unwrap().into_iter().find(|r| r.name.as_deref() == Some("final-gbm")).unwrap();
    (s, index, run.path)
}

#[test]
fn previews_the_files_a_run_lists() {
    let (_s, index, run) = demo();
    let files = index.run_files(&run).unwrap();
    let names: Vec<&str> = files.iter().map(|(p, _)| p.rsplit('/').next().unwrap()).collect();
    assert_eq!(names, ["train.yaml", "predictions.csv", "roc_curve.png"]);
    for (path, size) in &files {
        let p = index.read_artifact(&run, path).unwrap();
        assert_eq!(p.size, *size);
        let on_disk = std::fs::read(repo_path("assets/demo").join(path)).unwrap();
        assert_eq!(p.bytes, on_disk, "{path}: the preview holds the file's bytes");
        assert!(!p.truncated);
    }
    let kinds: Vec<PreviewKind> = files.iter().map(|(p, _)| index.read_artifact(&run, p).unwrap().kind).collect();
    assert_eq!(kinds, [PreviewKind::Yaml, PreviewKind::Table, PreviewKind::Image]);
    assert_eq!(index.read_artifact(&run, &files[2].0).unwrap().mime, Some("image/png"));
}

#[test]
fn refuses_anything_the_run_does_not_list() {
    let (_s, index, run) = demo();
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let listed = index.run_files(&run).unwrap()[0].0.clone();
    for bad in [
        "/etc/passwd".to_string(),
        "../../../../../../etc/passwd".to_string(),
        format!("{home}/.ssh/id_rsa"),
        format!("{listed}/../../../meta.yaml"),
        "mlruns/806791757245860034/meta.yaml".to_string(), // inside the project, but not an artifact
        format!("./{listed}"),
        String::new(),
    ] {
        let e = index.read_artifact(&run, &bad).unwrap_err();
        assert_eq!(e.code(), "not_found", "{bad:?}: {e}");
    }
    // A listed path of another run does not belong to this one.
    let other = index
        .runs(&Default::default())
        .unwrap()
        .into_iter()
        .find(|r| r.name.as_deref() == Some("trial-3-adamw-lr0.001"))
        .unwrap();
    assert_eq!(index.read_artifact(&other.path, &listed).unwrap_err().code(), "not_found");
}

fn run_with_artifacts(s: &Scratch, files: &[(&str, &[u8])]) -> (Index, String) {
    let root = s.project();
    let run = root.join("mlruns/3/0123456789abcdef0123456789abcdef");
    std::fs::create_dir_all(run.join("metrics")).unwrap();
    std::fs::write(
        root.join("mlruns/3/meta.yaml"),
        "artifact_location: mlruns/3\nexperiment_id: '3'\nlifecycle_stage: active\nname: e\n",
    )
    .unwrap();
    std::fs::write(
        run.join("meta.yaml"),
        "artifact_uri: mlruns/3/0123456789abcdef0123456789abcdef/artifacts\nexperiment_id: '3'\nlifecycle_stage: active\nrun_id: 0123456789abcdef0123456789abcdef\nrun_name: r\nstart_time: 1\nstatus: 3\nuser_id: u\n",
    )
    .unwrap();
    for (name, bytes) in files {
        let p = run.join("artifacts").join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let (index, _) = open_and_scan(&s.data(), &root);
    let id = index.runs(&Default::default()).unwrap()[0].path.clone();
    (index, id)
}

#[test]
fn model_files_are_named_never_read() {
    let s = Scratch::new();
    // A pickle whose bytes would run code if unpickled; torch and joblib files alike.
    let pickle: &[u8] = b"cos\nsystem\n(S'touch /tmp/pwned'\ntR.";
    let (index, run) = run_with_artifacts(
        &s,
        &[
            ("model.pkl", pickle),
            ("model.pkl.gz", pickle),
            ("weights.pt", pickle),
            ("m.joblib", pickle),
            ("notes.txt", b"hello"),
        ],
    );
    let prefix = "mlruns/3/0123456789abcdef0123456789abcdef/artifacts";
    for name in ["model.pkl", "model.pkl.gz", "weights.pt", "m.joblib"] {
        let p = index.read_artifact(&run, &format!("{prefix}/{name}")).unwrap();
        assert_eq!(p.kind, PreviewKind::Binary, "{name}");
        assert!(p.bytes.is_empty(), "{name}: not a byte is read");
        assert_eq!(p.size, pickle.len() as u64);
    }
    let t = index.read_artifact(&run, &format!("{prefix}/notes.txt")).unwrap();
    assert_eq!((t.kind, t.bytes.as_slice()), (PreviewKind::Text, &b"hello"[..]));
}

#[test]
fn long_text_is_cut_on_a_character_boundary_and_unknown_binary_is_not_shown() {
    let s = Scratch::new();
    let mut long = "é".repeat(runlens_core::TEXT_LIMIT); // 2 bytes each: twice the limit
    long.push('\n');
    let (index, run) = run_with_artifacts(&s, &[("train.log", long.as_bytes()), ("blob", &[0u8, 1, 2, 255, 0, 7])]);
    let prefix = "mlruns/3/0123456789abcdef0123456789abcdef/artifacts";
    let p = index.read_artifact(&run, &format!("{prefix}/train.log")).unwrap();
    assert!(p.truncated);
    assert_eq!(p.bytes.len(), runlens_core::TEXT_LIMIT);
    assert!(std::str::from_utf8(&p.bytes).is_ok());
    let b = index.read_artifact(&run, &format!("{prefix}/blob")).unwrap();
    assert_eq!(b.kind, PreviewKind::Binary);
    assert!(b.bytes.is_empty());
}

#[cfg(unix)]
#[test]
fn a_symlinked_artifact_is_not_read() {
    let s = Scratch::new();
    let (mut index, run) = run_with_artifacts(&s, &[("ok.txt", b"fine")]);
    let dir = s.project().join("mlruns/3/0123456789abcdef0123456789abcdef/artifacts");
    // Swap a listed file for a symlink to a secret after indexing: the read must refuse it.
    let secret = s.dir.path().join("secret.txt");
    std::fs::write(&secret, "secret").unwrap();
    std::fs::remove_file(dir.join("ok.txt")).unwrap();
    std::os::unix::fs::symlink(&secret, dir.join("ok.txt")).unwrap();
    let e = index.read_artifact(&run, "mlruns/3/0123456789abcdef0123456789abcdef/artifacts/ok.txt").unwrap_err();
    assert_eq!(e.code(), "not_found", "{e}");
    // And a rescan does not list it.
    crate::common::scan(&mut index);
    assert!(index.run_files(&run).unwrap().is_empty());
}

/// "Reveal in file manager" finds where a run lives, for an `mlflow.db` run too (its path,
/// `mlflow.db#<id>`, is no file): its artifact folder when it has one, else the database.
#[test]
fn a_runs_location_is_its_folder_or_its_database() {
    let s = Scratch::new();
    let (index, _) = open_and_scan(&s.data(), &fixture("p3"));
    let root = index.root().to_path_buf();
    let mut seen_db = false;
    for r in all_runs(&index) {
        let at = index.run_location(&r.path).unwrap();
        assert!(at.starts_with(&root) && at.exists(), "{}: {}", r.path, at.display());
        if let Some((db, _)) = r.path.split_once('#') {
            let detail = index.run_detail(&r.path).unwrap();
            match detail.artifact_dir.filter(|d| root.join(d).is_dir()) {
                Some(d) => assert_eq!(at, root.join(d)),
                None => assert_eq!(at, root.join(db)),
            }
            seen_db = true;
        } else {
            assert_eq!(at, root.join(&r.path));
        }
    }
    assert!(seen_db);
}
