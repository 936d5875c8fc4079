//! Deployment bundles (issue 11, first step), through the real CLI: stock tools check them, two
//! exports in different environments are the same bytes (case 29), `bundle verify` names what was
//! changed, and a failed export leaves nothing behind (case 28).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

pub(crate) struct B {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) project: PathBuf,
}

impl B {
    /// The MLflow registry fixture with one version registered by "ana".
    pub(crate) fn new() -> B {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        copy_dir(&fixture("mlflow_registry/project"), &project);
        let b = B { dir, project };
        let truth = read_json(&fixture("mlflow_registry/truth.json"));
        let run = &truth["file"]["runs"]["wide-C10"];
        let out = b.cli(
            &[],
            &[
                "registry",
                "register",
                b.p(),
                run["run_id"].as_str().unwrap(),
                run["logged_model_id"].as_str().unwrap(),
                "--name",
                "churn",
            ],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        b
    }

    pub(crate) fn p(&self) -> &str {
        self.project.to_str().unwrap()
    }

    /// `runlens` as ana with extra environment variables.
    pub(crate) fn cli(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_runlens"));
        c.arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .arg("--config-dir")
            .arg(self.dir.path().join("ana"))
            .args(args);
        c.env("USER", "ana").env("GIT_AUTHOR_NAME", "Ana").env("GIT_AUTHOR_EMAIL", "ana@example.org");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    pub(crate) fn export(&self, out: &Path) -> PathBuf {
        let o = self.cli(&[], &["bundle", self.p(), "churn@1", "-o", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        out.join("churn-1.tar")
    }

    pub(crate) fn verify(&self, file: &Path) -> (bool, String) {
        let o = self.cli(&[], &["bundle", "verify", file.to_str().unwrap()]);
        (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned())
    }
}

pub(crate) fn run(cmd: &mut Command) -> Output {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

#[test]
fn a_bundle_checks_with_sha256sum_minisign_and_bundle_verify() {
    let b = B::new();
    let tar = b.export(&b.dir.path().join("out"));
    let (ok, said) = b.verify(&tar);
    assert!(ok && said.starts_with("ok: tar bundle of churn@1: "), "{said}");
    let x = b.dir.path().join("x");
    std::fs::create_dir_all(&x).unwrap();
    run(Command::new("tar").arg("xf").arg(&tar).arg("-C").arg(&x));
    let folder = x.join("churn-1");
    let sums = run(Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&folder));
    let sums = String::from_utf8_lossy(&sums.stdout);
    assert!(
        sums.contains("model/MLmodel: OK") && sums.contains("bundle.json: OK") && !sums.contains("FAILED"),
        "{sums}"
    );
    let m = run(Command::new("minisign").args(["-V", "-m", "SHA256SUMS", "-p", "runlens.pub"]).current_dir(&folder));
    let m = String::from_utf8_lossy(&m.stdout).into_owned() + &String::from_utf8_lossy(&m.stderr);
    assert!(m.contains("Trusted comment: runlens bundle churn@1 "), "{m}");
    // The model's files are the registered ones, byte for byte.
    let info = read_json(&folder.join("bundle.json"));
    assert_eq!(info["model"], "churn");
    assert_eq!(info["version"], 1);
    for f in info["files"].as_array().unwrap() {
        let p = folder.join("model").join(f["path"].as_str().unwrap());
        assert_eq!(std::fs::metadata(&p).unwrap().len(), f["size"].as_u64().unwrap());
    }
    assert!(std::fs::read_to_string(folder.join("MODEL_CARD.md")).unwrap().contains("# churn version 1"));
    // serve/: MLflow's scoring server offline, a Dockerfile, MLServer's settings, a README.
    let script = std::fs::read_to_string(folder.join("serve/serve.sh")).unwrap();
    assert!(script.contains("mlflow models serve -m ../model --env-manager local"), "{script}");
    let docker = std::fs::read_to_string(folder.join("serve/Dockerfile")).unwrap();
    assert!(docker.contains("pip install --no-cache-dir -r /srv/model/requirements.txt"), "{docker}");
    let settings = read_json(&folder.join("serve/model-settings.json"));
    assert_eq!(settings["implementation"], "mlserver_mlflow.MLflowRuntime");
    assert_eq!(settings["parameters"]["uri"], "../model");
    // provenance.json: an in-toto statement whose subjects are the model's files as SHA256SUMS has them.
    let prov = read_json(&folder.join("provenance.json"));
    assert_eq!(prov["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(prov["predicateType"], "https://slsa.dev/provenance/v1");
    let sums_text = std::fs::read_to_string(folder.join("SHA256SUMS")).unwrap();
    for s in prov["subject"].as_array().unwrap() {
        let line = format!("{}  {}", s["digest"]["sha256"].as_str().unwrap(), s["name"].as_str().unwrap());
        assert!(sums_text.contains(&line), "{line}");
    }
    let deps = prov["predicate"]["buildDefinition"]["resolvedDependencies"].as_array().unwrap();
    assert!(deps.iter().any(|d| d["annotations"]["kind"] == "register"), "the register event is a dependency");
    assert!(
        deps.iter().any(|d| d["uri"].as_str().unwrap().ends_with("/meta.yaml")),
        "the run's files are dependencies"
    );
    let listing = run(Command::new("tar").arg("tvf").arg(&tar));
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.lines().all(|l| l.contains(" 0/0 ")), "owned by 0/0: {listing}");
    assert!(listing.lines().any(|l| l.starts_with("-rwxr-xr-x") && l.ends_with("churn-1/serve/serve.sh")), "{listing}");
}

/// Case 29: the same version exported again under another clock, time zone, umask, locale, working
/// directory, data dir and copy of the project (its folders listed in another order) is the same
/// bytes.
#[test]
fn two_exports_in_different_environments_are_byte_identical() {
    let b = B::new();
    let first = b.export(&b.dir.path().join("one"));
    // A second copy of the project, its files created in reverse order.
    let other = b.dir.path().join("other");
    let mut files: Vec<PathBuf> = Vec::new();
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    walk(&b.project, &mut files);
    files.sort();
    files.reverse();
    for f in &files {
        let to = other.join(f.strip_prefix(&b.project).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(f, &to).unwrap();
    }
    // The same in every format: plain tar, zstd, OCI.
    let formats: [&[&str]; 3] = [&[], &["--compress", "zstd"], &["--format", "oci"]];
    let one = b.dir.path().join("one");
    for f in &formats[1..] {
        let mut args = vec!["bundle", b.p(), "churn@1", "-o", one.to_str().unwrap()];
        args.extend_from_slice(f);
        assert!(b.cli(&[], &args).status.success());
    }
    let out2 = b.dir.path().join("two");
    for f in formats {
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask 077; cd / && exec '{}' --data-dir '{}' --config-dir '{}' bundle '{}' churn@1 -o '{}' {}",
                env!("CARGO_BIN_EXE_runlens"),
                b.dir.path().join("data2").display(),
                b.dir.path().join("ana").display(),
                other.display(),
                out2.display(),
                f.join(" ")
            ))
            .env("USER", "ana")
            .env("GIT_AUTHOR_NAME", "Ana")
            .env("GIT_AUTHOR_EMAIL", "ana@example.org")
            .env("TZ", "Pacific/Kiritimati")
            .env("LC_ALL", "tr_TR.UTF-8")
            .env("RUNLENS_NOW", "2031-01-01T00:00:00Z")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(first, one.join("churn-1.tar"));
    for name in ["churn-1.tar", "churn-1.tar.zst", "churn-1.oci.tar"] {
        let cmp = Command::new("cmp").arg(one.join(name)).arg(out2.join(name)).output().unwrap();
        assert!(cmp.status.success(), "{name}: byte-identical archives: {}", String::from_utf8_lossy(&cmp.stdout));
    }
}

#[test]
fn verify_names_a_changed_a_missing_and_an_extra_file_and_a_bad_signature() {
    let b = B::new();
    let tar = b.export(&b.dir.path().join("out"));
    let x = b.dir.path().join("x");
    let repack = |edit: &dyn Fn(&Path), name: &str| -> (bool, String) {
        let _ = std::fs::remove_dir_all(&x);
        std::fs::create_dir_all(&x).unwrap();
        run(Command::new("tar").arg("xf").arg(&tar).arg("-C").arg(&x));
        edit(&x.join("churn-1"));
        let t = b.dir.path().join(format!("{name}.tar"));
        run(Command::new("tar").arg("cf").arg(&t).arg("-C").arg(&x).arg("churn-1"));
        b.verify(&t)
    };
    let (ok, said) = repack(
        &|d| {
            let p = d.join("model/MLmodel");
            let mut bytes = std::fs::read(&p).unwrap();
            bytes[0] ^= 1;
            std::fs::write(&p, bytes).unwrap();
        },
        "flipped",
    );
    assert!(!ok && said.contains("model/MLmodel: differs"), "{said}");
    let (ok, said) = repack(&|d| std::fs::remove_file(d.join("model/conda.yaml")).unwrap(), "missing");
    assert!(!ok && said.contains("model/conda.yaml: missing"), "{said}");
    let (ok, said) = repack(&|d| std::fs::write(d.join("model/backdoor.py"), "import os\n").unwrap(), "extra");
    assert!(!ok && said.contains("model/backdoor.py: extra"), "{said}");
    // Changing a file and its line in SHA256SUMS together breaks the signature.
    let (ok, said) = repack(
        &|d| {
            std::fs::write(d.join("model/requirements.txt"), "evil==1.0\n").unwrap();
            let sums = std::fs::read_to_string(d.join("SHA256SUMS")).unwrap();
            let new: String = sums
                .lines()
                .map(|l| {
                    if l.ends_with("  model/requirements.txt") {
                        "b4b6a7a8e1c1c2f0d1b3c7c2a3f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2  model/requirements.txt"
                            .to_string()
                    } else {
                        l.to_string()
                    }
                })
                .map(|l| l + "\n")
                .collect();
            std::fs::write(d.join("SHA256SUMS"), new).unwrap();
        },
        "resigned",
    );
    assert!(!ok && said.contains("SHA256SUMS.minisig: does not verify"), "{said}");
}

/// Case 28: a version whose files changed since registration is refused; a full or read-only
/// target leaves no archive and no `.partial` behind.
#[test]
fn a_failed_export_says_why_and_leaves_nothing() {
    let b = B::new();
    let truth = read_json(&fixture("mlflow_registry/truth.json"));
    let exp = truth["file"]["experiment"]["experiment_id"].as_str().unwrap();
    let m = truth["file"]["runs"]["wide-C10"]["logged_model_id"].as_str().unwrap();
    let req = b.project.join("mlruns").join(exp).join("models").join(m).join("artifacts/requirements.txt");
    let original = std::fs::read(&req).unwrap();
    std::fs::write(&req, "changed\n").unwrap();
    let out = b.dir.path().join("out");
    let o = b.cli(&[], &["bundle", b.p(), "churn@1", "-o", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("changed on disk") && err.lines().count() == 1, "{err}");
    assert!(!out.join("churn-1.tar").exists() && !out.join("churn-1.tar.partial").exists());
    std::fs::write(&req, original).unwrap();

    let disk = b.dir.path().join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    if !Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&disk)
        .status()
        .is_ok_and(|s| s.success())
    {
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
    let o = b.cli(&[], &["bundle", b.p(), "churn@1", "-o", disk.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("is full") && err.contains("not written"), "{err}");
    assert_eq!(std::fs::read_dir(&disk).unwrap().count(), 0, "nothing left behind");
    assert!(Command::new("mount").args(["-o", "remount,ro,size=64m"]).arg(&disk).status().unwrap().success());
    let o = b.cli(&[], &["bundle", b.p(), "churn@1", "-o", disk.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("read-only"), "{err}");
}

/// The engine's export reports progress up to its totals, and a cancel stops it with nothing left.
#[test]
fn an_export_reports_progress_and_a_cancel_leaves_nothing() {
    let b = B::new();
    let index = runlens_core::Index::open(&b.dir.path().join("data"), &b.project).unwrap();
    let who = runlens_core::Identity {
        user: "ana".into(),
        name: Some("Ana".into()),
        email: Some("ana@example.org".into()),
        host: "h".into(),
        key_dir: b.dir.path().join("ana"),
    };
    let out = b.dir.path().join("out");
    let mut seen = Vec::new();
    let never = std::sync::atomic::AtomicBool::new(false);
    let done =
        index.bundle_export_with("churn@1", &out, &who, Default::default(), &mut |p| seen.push(p), &never).unwrap();
    let last = seen.last().unwrap();
    assert_eq!((last.files_done, last.bytes_done), (last.files_total, last.bytes_total));
    assert_eq!(last.files_total, done.files);
    assert!(seen.windows(2).all(|w| w[0].bytes_done <= w[1].bytes_done), "progress only grows");
    // Cancelled after the first file: an error, and no archive or .partial.
    let out2 = b.dir.path().join("out2");
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let e = index
        .bundle_export_with(
            "churn@1",
            &out2,
            &who,
            Default::default(),
            &mut |_| cancel.store(true, std::sync::atomic::Ordering::Relaxed),
            &cancel,
        )
        .unwrap_err();
    assert!(e.to_string().contains("cancelled"), "{e}");
    assert_eq!(std::fs::read_dir(&out2).unwrap().count(), 0, "nothing left behind");
}

/// Flips one byte of the archive entry `name`'s contents, in place (an uncompressed tar).
fn flip_in_tar(tar: &Path, name: &str) {
    let mut bytes = std::fs::read(tar).unwrap();
    let at = (0..bytes.len())
        .step_by(512)
        .find(|&i| bytes[i..].starts_with(name.as_bytes()) && bytes[i + name.len()] == 0)
        .unwrap_or_else(|| panic!("{name} not in {}", tar.display()));
    bytes[at + 512 + 10] ^= 1;
    std::fs::write(tar, bytes).unwrap();
}

/// `--format oci`: an OCI image layout whose manifest uses the ModelPack media types; skopeo
/// inspects and copies it keeping its digest, and refuses it once a blob is corrupted.
#[test]
fn an_oci_bundle_copies_with_skopeo_and_keeps_its_digest() {
    let b = B::new();
    let out = b.dir.path().join("out");
    let o = b.cli(&[], &["bundle", b.p(), "churn@1", "-o", out.to_str().unwrap(), "--format", "oci", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = out.join("churn-1.oci.tar");
    let (ok, said) = b.verify(&file);
    assert!(ok && said.starts_with("ok: oci bundle of churn@1: "), "{said}");
    let archive = format!("oci-archive:{}", file.display());
    // Its manifest, as skopeo reads it: ModelPack's artifact type, config and layer media types.
    let raw = run(Command::new("skopeo").args(["inspect", "--raw", &archive]));
    let manifest: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(manifest["artifactType"], "application/vnd.cncf.model.manifest.v1+json");
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.cncf.model.config.v1+json");
    let layer = |path: &str| {
        manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["annotations"]["org.cncf.model.filepath"] == path)
            .unwrap_or_else(|| panic!("no layer for {path}: {manifest}"))
            .clone()
    };
    assert_eq!(layer("model/model.skops")["mediaType"], "application/vnd.cncf.model.weight.v1.raw");
    assert_eq!(layer("model/MLmodel")["mediaType"], "application/vnd.cncf.model.weight.config.v1.raw");
    assert_eq!(layer("serve/serve.sh")["mediaType"], "application/vnd.cncf.model.code.v1.raw");
    assert_eq!(layer("SHA256SUMS.minisig")["mediaType"], "application/vnd.cncf.model.doc.v1.raw");
    // A model file's layer digest is the SHA-256 it was registered with.
    let info: serde_json::Value = serde_json::from_slice(
        &run(Command::new("tar").arg("xOf").arg(&file).arg(format!(
            "blobs/sha256/{}",
            layer("bundle.json")["digest"].as_str().unwrap().trim_start_matches("sha256:")
        )))
        .stdout,
    )
    .unwrap();
    let pinned = info["files"].as_array().unwrap().iter().find(|f| f["path"] == "model.skops").unwrap();
    assert_eq!(layer("model/model.skops")["digest"], format!("sha256:{}", pinned["sha256"].as_str().unwrap()));
    let config = run(Command::new("skopeo").args(["inspect", "--config", "--raw", &archive]));
    let config: serde_json::Value = serde_json::from_slice(&config.stdout).unwrap();
    assert_eq!(config["descriptor"]["name"], "churn");
    assert_eq!(config["descriptor"]["version"], "1");
    assert_eq!(config["config"]["format"], "sklearn");
    assert_eq!(config["modelfs"]["diff_ids"].as_array().unwrap().len(), manifest["layers"].as_array().unwrap().len());
    // skopeo copy keeps the manifest's digest.
    let index: serde_json::Value =
        serde_json::from_slice(&run(Command::new("tar").arg("xOf").arg(&file).arg("index.json")).stdout).unwrap();
    let digest = index["manifests"][0]["digest"].as_str().unwrap().to_string();
    let copied = b.dir.path().join("copied");
    run(Command::new("skopeo").arg("copy").arg(&archive).arg(format!("oci:{}:1", copied.display())));
    let copied_index = read_json(&copied.join("index.json"));
    assert_eq!(copied_index["manifests"][0]["digest"], digest.as_str());
    // A corrupted weight blob: skopeo refuses to copy it and `bundle verify` names it.
    let weight = layer("model/model.skops")["digest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
    flip_in_tar(&file, &format!("blobs/sha256/{weight}"));
    let refused = Command::new("skopeo")
        .arg("copy")
        .arg(&archive)
        .arg(format!("oci:{}:1", b.dir.path().join("copied2").display()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && err.contains("Digest did not match"),
        "skopeo accepted a corrupted blob: {err}"
    );
    let (ok, said) = b.verify(&file);
    assert!(!ok && said.contains(&format!("blobs/sha256/{weight}: differs")), "{said}");
    assert!(said.contains("model/model.skops: missing"), "{said}");
}

/// `--compress zstd`: a `.tar.zst` that `zstd -t`, `tar --zstd` and `sha256sum -c` accept, whose
/// contents are exactly the plain bundle's bytes, and that `bundle verify` checks.
#[test]
fn a_zstd_bundle_is_the_plain_bundle_compressed() {
    let b = B::new();
    let plain = b.export(&b.dir.path().join("plain"));
    let out = b.dir.path().join("zst");
    let o = b.cli(&[], &["bundle", b.p(), "churn@1", "-o", out.to_str().unwrap(), "--compress", "zstd"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let zst = out.join("churn-1.tar.zst");
    run(Command::new("zstd").arg("-q").arg("-t").arg(&zst));
    let unpacked = run(Command::new("zstd").arg("-q").arg("-d").arg("-c").arg(&zst));
    assert!(unpacked.stdout == std::fs::read(&plain).unwrap(), "the same tar, compressed");
    assert!(std::fs::metadata(&zst).unwrap().len() < std::fs::metadata(&plain).unwrap().len());
    let x = b.dir.path().join("x");
    std::fs::create_dir_all(&x).unwrap();
    run(Command::new("tar").arg("--zstd").arg("-xf").arg(&zst).arg("-C").arg(&x));
    run(Command::new("sha256sum").args(["-c", "--quiet", "SHA256SUMS"]).current_dir(x.join("churn-1")));
    let (ok, said) = b.verify(&zst);
    assert!(ok && said.starts_with("ok: tar+zstd bundle of churn@1: "), "{said}");
    // OCI layers stay uncompressed: the two options together are refused.
    let o =
        b.cli(&[], &["bundle", b.p(), "churn@1", "-o", out.to_str().unwrap(), "--format", "oci", "--compress", "zstd"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("uncompressed"));
}

/// Exporting into the model's own folder takes only the registered files (no archive inside an
/// archive), and a pinned file replaced by a symlink is refused and named, never followed.
#[test]
fn an_export_into_the_model_folder_never_recurses_and_a_link_is_refused() {
    let b = B::new();
    let truth = read_json(&fixture("mlflow_registry/truth.json"));
    let exp = truth["file"]["experiment"]["experiment_id"].as_str().unwrap();
    let m = truth["file"]["runs"]["wide-C10"]["logged_model_id"].as_str().unwrap();
    let model = b.project.join("mlruns").join(exp).join("models").join(m).join("artifacts");
    let first = b.export(&model);
    let bytes = std::fs::read(&first).unwrap();
    let again = b.export(&model);
    assert_eq!(std::fs::read(&again).unwrap(), bytes, "the first archive did not go into the second");
    let (ok, said) = b.verify(&again);
    assert!(ok, "{said}");
    // A pinned file swapped for a link to a copy of itself: same bytes, still refused.
    let req = model.join("requirements.txt");
    let elsewhere = b.dir.path().join("requirements.txt");
    std::fs::copy(&req, &elsewhere).unwrap();
    std::fs::remove_file(&req).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &req).unwrap();
    let out = b.dir.path().join("out");
    let o = b.cli(&[], &["bundle", b.p(), "churn@1", "-o", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("model/requirements.txt"), "the link is named: {err}");
    assert!(!out.join("churn-1.tar").exists());
}

/// A cancel in the middle of a big file stops the copy there (progress comes every 8 MiB).
#[test]
fn a_cancel_in_the_middle_of_a_big_file_stops_there() {
    let b = B::new();
    let truth = read_json(&fixture("mlflow_registry/truth.json"));
    let exp = truth["file"]["experiment"]["experiment_id"].as_str().unwrap();
    let run_id = truth["file"]["runs"]["tuned-C1.0"]["run_id"].as_str().unwrap();
    let artifacts = b.project.join("mlruns").join(exp).join(run_id).join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let mut x: u64 = 1;
    let weights: Vec<u8> = (0..40 << 20)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect();
    std::fs::write(artifacts.join("weights.bin"), &weights).unwrap();
    let o = b.cli(&[], &["registry", "register", b.p(), run_id, "weights.bin", "--name", "big"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let index = runlens_core::Index::open(&b.dir.path().join("data"), &b.project).unwrap();
    let who = runlens_core::Identity {
        user: "ana".into(),
        name: Some("Ana".into()),
        email: Some("ana@example.org".into()),
        host: "h".into(),
        key_dir: b.dir.path().join("ana"),
    };
    let out = b.dir.path().join("out");
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let mut seen = Vec::new();
    let e = index
        .bundle_export_with(
            "big@1",
            &out,
            &who,
            Default::default(),
            &mut |p| {
                seen.push(p);
                if p.bytes_done >= 8 << 20 {
                    cancel.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            },
            &cancel,
        )
        .unwrap_err();
    assert!(e.to_string().contains("cancelled"), "{e}");
    let last = seen.last().unwrap();
    assert!(last.bytes_done < 40 << 20 && last.bytes_done >= 8 << 20, "stopped inside the file: {last:?}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "nothing left behind");
}
