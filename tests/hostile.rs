//! Crafted projects through the real binary (reliability cases 1-5, 9, 13, 18, 24 and 26). Each
//! project sits beside a folder of canary files. Every command must exit cleanly, no canary may
//! appear in any output or in any file of the data dir, and the good runs of the same project must
//! stay exact.

#![cfg(unix)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Written into every file outside the project, and into the names of some.
const CANARY: &str = "CANARY-7f3a9e";

struct Crafted {
    dir: tempfile::TempDir,
}

fn write(path: &Path, text: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

impl Crafted {
    /// A project with two good runs, beside `outside/` full of canaries.
    fn new() -> Crafted {
        let c = Crafted { dir: tempfile::tempdir().unwrap() };
        let o = c.outside();
        write(&o.join(format!("{CANARY}.txt")), CANARY);
        write(&o.join("id_rsa"), format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{CANARY}\n-----END\n"));
        write(&o.join("meta.yaml"), format!("name: {CANARY}\ndigest: {CANARY}\nsource_type: {CANARY}\nsource: x\n"));
        write(&o.join("MLmodel"), format!("flavors:\n  {CANARY}: {{}}\nmodel_id: {CANARY}\n"));
        write(&o.join("metrics.csv"), format!("step,{CANARY}\n0,1\n"));
        write(&o.join("hparams.yaml"), format!("{CANARY}: 1\n"));
        write(&o.join(format!("{CANARY}-metric")), "1 0.5 0\n");
        write(&o.join("log.jsonl"), format!("{{\"step\": 0, \"{CANARY}\": 1}}\n"));
        write(
            &o.join("run.json"),
            format!("{{\"experiment\": {{\"name\": \"{CANARY}\"}}, \"status\": \"COMPLETED\"}}"),
        );
        // Something that looks like an MLflow run, for a linked run folder.
        write(
            &o.join("fake_run/meta.yaml"),
            format!("run_id: {CANARY}\nexperiment_id: '1'\nstatus: 3\nstart_time: 1\nlifecycle_stage: active\n"),
        );
        write(&o.join(format!("fake_run/params/{CANARY}")), CANARY);
        write(&o.join("models/m/meta.yaml"), format!("name: {CANARY}\n"));
        write(&o.join("models/m/artifacts/MLmodel"), format!("flavors:\n  {CANARY}: {{}}\n"));
        write(&o.join("datasets/d/meta.yaml"), format!("name: {CANARY}\ndigest: {CANARY}\n"));

        let p = c.project();
        write(&p.join("good/train.jsonl"), "{\"step\": 0, \"loss\": 0.5}\n{\"step\": 1, \"loss\": 0.25}\n");
        write(
            &p.join("mlruns/1/meta.yaml"),
            "experiment_id: '1'\nname: exp\nlifecycle_stage: active\nartifact_location: mlruns/1\n",
        );
        let run = p.join("mlruns/1/goodrun");
        write(
            &run.join("meta.yaml"),
            "run_id: goodrun\nrun_name: good\nexperiment_id: '1'\nstatus: 3\nstart_time: 1\nend_time: 2\n\
             lifecycle_stage: active\nartifact_uri: mlruns/1/goodrun/artifacts\nuser_id: u\n",
        );
        write(&run.join("params/lr"), "0.1");
        write(&run.join("metrics/loss"), "1 0.5 0\n2 0.25 1\n");
        write(&run.join("artifacts/notes.txt"), "fine");
        c
    }

    fn outside(&self) -> PathBuf {
        self.dir.path().join("outside")
    }
    fn project(&self) -> PathBuf {
        self.dir.path().join("project")
    }
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn runlens(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_runlens"))
            .arg("--data-dir")
            .arg(self.data())
            .args(args)
            .output()
            .expect("run runlens")
    }

    /// Runs what a user would (index, runs, show and metric for every run and key), checks that
    /// each command exits 0, that no canary shows anywhere, and that the good runs are exact.
    /// Returns everything printed.
    fn check(&self) -> String {
        let p = self.project();
        let p = p.to_str().unwrap();
        let mut all = String::new();
        let mut run = |args: &[&str]| -> String {
            let o = self.runlens(args);
            let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
            assert_eq!(o.status.code(), Some(0), "runlens {args:?} failed: {text}");
            all.push_str(&text);
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        run(&["index", p]);
        let runs: Value = serde_json::from_str(&run(&["runs", p, "--include-deleted", "--format", "json"])).unwrap();
        for r in runs.as_array().unwrap() {
            let path = r["path"].as_str().unwrap();
            run(&["show", p, path, "--format", "json"]);
            for key in r["metrics"].as_object().unwrap().keys() {
                run(&["metric", p, path, key, "--format", "json"]);
            }
        }
        assert!(!all.contains(CANARY), "a canary reached the output:\n{all}");
        for f in walk(&self.data()) {
            let bytes = std::fs::read(&f).unwrap();
            assert!(
                !bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
                "a canary reached the index file {}",
                f.display()
            );
        }
        // The good runs, exactly.
        let runs = runs.as_array().unwrap();
        let by_path = |path: &str| runs.iter().find(|r| r["path"] == path).unwrap_or_else(|| panic!("no run {path}"));
        let jsonl = by_path("good/train.jsonl");
        assert_eq!(jsonl["metrics"]["loss"]["last"], 0.25);
        assert_eq!(jsonl["metrics"]["loss"]["count"], 2);
        let ml = by_path("mlruns/1/goodrun");
        assert_eq!(ml["params"]["lr"], "0.1");
        assert_eq!(ml["metrics"]["loss"]["last"], 0.25);
        assert_eq!(ml["metrics"]["loss"]["min"], 0.25);
        all
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}

fn mlflow_run(c: &Crafted, id: &str, artifact_uri: &str) -> PathBuf {
    let run = c.project().join("mlruns/1").join(id);
    let uri = serde_json::to_string(artifact_uri).unwrap();
    write(
        &run.join("meta.yaml"),
        format!(
            "run_id: {id}\nexperiment_id: '1'\nstatus: 3\nstart_time: 1\nlifecycle_stage: active\nartifact_uri: {uri}\n"
        ),
    );
    write(&run.join("metrics/m"), "1 1.0 0\n");
    run
}

/// Cases 1 and 2: artifact locations and model sources outside the project, plain or disguised.
#[test]
fn locations_outside_the_project_are_text_only() {
    let c = Crafted::new();
    let o = c.outside();
    let locations = [
        format!("file://{}", o.display()),
        o.display().to_string(),
        "../../../../outside".to_string(),
        "../outside".to_string(),
        format!("file://{}/#/../", o.display()),
        format!("file://{}?x", o.display()),
        "mlruns/1;../../../outside".to_string(),
        "%2e%2e%2f%2e%2e%2f%2e%2e%2foutside".to_string(),
        "%252e%252e%252foutside".to_string(),
        "..\\..\\..\\..\\outside".to_string(),
        format!("//proc/self/root{}", o.display()),
        "dbfs:/outside".to_string(),
        "://outside".to_string(),
    ];
    for (i, loc) in locations.iter().enumerate() {
        mlflow_run(&c, &format!("loc{i}"), loc);
    }
    let out = c.check();
    assert!(out.contains("is outside the project or missing: not read"), "{out}");
}

/// Case 3 (and the issue's own findings): links inside runs, to files and folders outside, are
/// never followed, and ids from metadata are never joined into paths.
#[test]
fn links_and_ids_never_lead_outside() {
    let c = Crafted::new();
    let (o, p) = (c.outside(), c.project());
    // MLflow: params/, metrics/ and tags/ are links; artifacts hold links; ids climb out.
    let run = mlflow_run(&c, "linked", "mlruns/1/linked/artifacts");
    std::fs::remove_dir_all(run.join("metrics")).unwrap();
    symlink(&o, run.join("params")).unwrap();
    symlink(&o, run.join("metrics")).unwrap();
    symlink(&o, run.join("tags")).unwrap();
    std::fs::create_dir_all(run.join("artifacts")).unwrap();
    symlink(o.join("id_rsa"), run.join("artifacts/key")).unwrap();
    symlink(&o, run.join("artifacts/all")).unwrap();
    write(&run.join("inputs/i1/meta.yaml"), "source_type: DATASET\nsource_id: ../../../../outside\n");
    write(&run.join("inputs/i2/meta.yaml"), "source_type: DATASET\nsource_id: ../../../outside/datasets/d\n");
    write(&run.join("outputs/o1/meta.yaml"), "source_type: RUN_OUTPUT\nsource_id: ../../../outside/models/m\n");
    // A whole run folder, an experiment and the project's own subfolder as links.
    symlink(o.join("fake_run"), p.join("mlruns/1/fake")).unwrap();
    symlink(&o, p.join("mlruns/9")).unwrap();
    symlink(&o, p.join("elsewhere")).unwrap();
    // Lightning: metrics.csv or hparams.yaml linked out.
    std::fs::create_dir_all(p.join("lightning_logs/version_0")).unwrap();
    symlink(o.join("metrics.csv"), p.join("lightning_logs/version_0/metrics.csv")).unwrap();
    write(&p.join("lightning_logs/version_1/metrics.csv"), "step,loss\n0,1\n");
    symlink(o.join("hparams.yaml"), p.join("lightning_logs/version_1/hparams.yaml")).unwrap();
    // Logs, Sacred, DVCLive, TensorBoard and W&B files linked out.
    symlink(o.join("log.jsonl"), p.join("linked.jsonl")).unwrap();
    symlink(o.join("metrics.csv"), p.join("linked.csv")).unwrap();
    write(&p.join("sacred/1/config.json"), "{}");
    symlink(o.join("run.json"), p.join("sacred/1/run.json")).unwrap();
    write(&p.join("dvclive/metrics.json"), "{\"acc\": 1}");
    symlink(o.join("hparams.yaml"), p.join("dvclive/params.yaml")).unwrap();
    std::fs::create_dir_all(p.join("tb/run1")).unwrap();
    symlink(o.join("id_rsa"), p.join("tb/run1/events.out.tfevents.1.host")).unwrap();
    std::fs::create_dir_all(p.join("wandb/offline-run-20240101_000000-abc123")).unwrap();
    symlink(o.join("id_rsa"), p.join("wandb/offline-run-20240101_000000-abc123/run-abc123.wandb")).unwrap();
    let out = c.check();
    for named in [
        "mlruns/1/linked/params",
        "mlruns/1/linked/metrics",
        "mlruns/1/linked/artifacts/key",
        "lightning_logs/version_1/hparams.yaml",
        "sacred/1/run.json",
        "elsewhere",
    ] {
        assert!(out.contains(named), "the link {named} is named in a diagnostic:\n{out}");
    }
    assert!(out.contains("is not a plain name: not read"), "{out}");
}

/// Case 4: a link loop and nesting 10,000 folders deep end with a bounded error.
#[test]
fn loops_and_deep_nesting_are_bounded() {
    let c = Crafted::new();
    let p = c.project();
    symlink("..", p.join("loop")).unwrap();
    symlink("self", p.join("self")).unwrap();
    // 10,000 levels: longer than PATH_MAX, so built one level at a time from inside.
    let mut fd = std::fs::File::open(&p).unwrap();
    for _ in 0..10_000 {
        use std::os::fd::AsRawFd;
        let name = c"d";
        // SAFETY: a valid directory fd and a NUL-terminated name.
        unsafe {
            assert_eq!(libc::mkdirat(fd.as_raw_fd(), name.as_ptr(), 0o755), 0);
            let next = libc::openat(fd.as_raw_fd(), name.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
            assert!(next >= 0);
            fd = std::os::fd::FromRawFd::from_raw_fd(next);
        }
    }
    let out = c.check();
    assert!(out.contains("nested deeper than"), "{out}");
    assert!(out.contains("loop: symlink not followed"), "{out}");
}

/// Case 5: names with glob characters, newlines, invalid UTF-8, 255 bytes, NFC/NFD and case twins.
#[test]
fn odd_names_never_crash() {
    use std::os::unix::ffi::OsStrExt;
    let c = Crafted::new();
    let run = mlflow_run(&c, "names", "mlruns/1/names/artifacts");
    let long = "k".repeat(255);
    for k in ["glob*?[]{}", "new\nline", "caf\u{e9}", "cafe\u{301}", "Case", "case", long.as_str()] {
        write(&run.join("params").join(k), "v");
        write(&run.join("metrics").join(k), "1 2.0 0\n");
    }
    let bad = std::ffi::OsStr::from_bytes(b"bad\xff\xfename");
    write(&run.join("params").join(bad), "v");
    write(&c.project().join(std::ffi::OsStr::from_bytes(b"log\xff.jsonl")), "{\"step\":1,\"a\":1}\n");
    let out = c.check();
    assert!(out.contains("not valid UTF-8"), "{out}");
}

/// Case 9: model files are never read; a YAML alias bomb and a 1 GB YAML file get a clear error.
#[test]
fn model_files_and_yaml_bombs_are_not_read() {
    let c = Crafted::new();
    let p = c.project();
    let run = mlflow_run(&c, "model", "mlruns/1/model/artifacts");
    write(&run.join("artifacts/model/model.pkl"), format!("\u{80}\u{4}{CANARY}cos\nsystem\n"));
    write(&run.join("artifacts/model/model.pt"), CANARY);
    write(
        &run.join("artifacts/model/MLmodel"),
        "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n    model_path: model.pkl\n",
    );
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for i in 0..12 {
        let prev = if i == 0 { "a".to_string() } else { format!("b{}", i - 1) };
        bomb.push_str(&format!(
            "b{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
    }
    write(&p.join("lightning_logs/version_0/metrics.csv"), "step,loss\n0,1\n");
    write(&p.join("lightning_logs/version_0/hparams.yaml"), bomb);
    write(&p.join("lightning_logs/version_1/metrics.csv"), "step,loss\n0,1\n");
    // 1 GB, sparse: costs no disk.
    let big = std::fs::File::create(p.join("lightning_logs/version_1/hparams.yaml")).unwrap();
    big.set_len(1 << 30).unwrap();
    let started = std::time::Instant::now();
    let out = c.check();
    assert!(out.contains("lightning_logs/version_1/hparams.yaml") && out.contains("limit for metadata"), "{out}");
    assert!(out.contains("lightning_logs/version_0/hparams.yaml"), "the alias bomb is reported: {out}");
    assert!(started.elapsed().as_secs() < 60, "no parser ran away");
}

/// Case 13: a TFRecord length of 2^63 is an error, not an allocation; earlier records are kept.
#[test]
fn a_huge_record_length_is_an_error() {
    let c = Crafted::new();
    let dir = c.project().join("tb/run");
    std::fs::create_dir_all(&dir).unwrap();
    // One real record (from a TensorBoard fixture), then a header claiming 2^63 bytes.
    let fixture = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tb"))
        .unwrap()
        .flatten()
        .flat_map(|e| walk(&e.path()))
        .find(|f| f.file_name().unwrap().to_string_lossy().contains("tfevents"))
        .expect("a fixture event file");
    let mut bytes = std::fs::read(fixture).unwrap();
    let first_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    bytes.truncate(8 + 4 + first_len + 4);
    let mut header = (1u64 << 63).to_le_bytes().to_vec();
    let crc = crc32c_masked(&header);
    header.extend_from_slice(&crc.to_le_bytes());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&[0u8; 64]);
    std::fs::write(dir.join("events.out.tfevents.1.host"), bytes).unwrap();
    let out = c.check();
    assert!(out.contains("tb/run/events.out.tfevents.1.host"), "the file is named: {out}");
}

fn crc32c_masked(b: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in b {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
        }
    }
    let crc = !crc;
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Case 18: run folders created and deleted while the binary scans: every scan ends cleanly, and
/// once the churn stops the index equals a fresh one.
#[test]
fn runs_vanishing_mid_scan_never_stop_a_scan() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let c = Crafted::new();
    let p = c.project();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let run = p.join("mlruns/1").join(format!("churn{}", i % 20));
                if run.exists() {
                    let _ = std::fs::remove_dir_all(&run);
                } else {
                    let _ = std::fs::create_dir_all(run.join("metrics"));
                    let _ = std::fs::write(run.join("metrics/m"), "1 1.0 0\n");
                    let _ = std::fs::write(
                        run.join("meta.yaml"),
                        "run_id: churn\nexperiment_id: '1'\nstatus: 3\nstart_time: 1\nlifecycle_stage: active\n",
                    );
                    let _ = std::fs::write(p.join(format!("churn{}.jsonl", i % 7)), "{\"step\":1,\"a\":1}\n");
                    let _ = std::fs::remove_file(p.join(format!("churn{}.jsonl", (i + 3) % 7)));
                }
                i += 1;
            }
        });
        for _ in 0..8 {
            let o = c.runlens(&["index", p.to_str().unwrap()]);
            assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        }
        stop.store(true, Ordering::Relaxed);
    });
    c.check();
    let fresh = tempfile::tempdir().unwrap();
    let runs = |data: &Path| -> String {
        let o = Command::new(env!("CARGO_BIN_EXE_runlens"))
            .arg("--data-dir")
            .arg(data)
            .args(["runs", p.to_str().unwrap(), "--include-deleted", "--format", "json"])
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap()
    };
    assert_eq!(runs(&c.data()), runs(fresh.path()), "the index equals a fresh one once the churn stopped");
}

/// Mounts a small tmpfs at `at` (root only, as CI runs); false when that is not possible here.
fn mount_tmpfs(at: &Path, size: &str) -> bool {
    std::fs::create_dir_all(at).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: cannot mount a tmpfs here (not root?); CI runs this as root");
    }
    ok
}

fn umount(at: &Path) {
    let _ = Command::new("umount").arg(at).status();
}

fn integrity(data: &Path) -> String {
    let db = walk(data).into_iter().find(|f| f.extension().is_some_and(|e| e == "sqlite")).expect("an index file");
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
}

/// Case 24: the disk fills up (ENOSPC) or turns read-only (EROFS) under the index: one clear error,
/// exit 1 (not a crash), the index consistent, and a later scan with room finishes the job.
#[test]
fn a_full_or_read_only_disk_gives_one_clear_error() {
    let c = Crafted::new();
    let p = c.project();
    // Enough points that the index outgrows a 1 MiB disk.
    let mut big = String::new();
    for i in 0..60_000 {
        big.push_str(&format!("{{\"step\": {i}, \"a\": {}, \"b\": {}}}\n", (i as f64).sin(), (i as f64).cos()));
    }
    write(&p.join("big.jsonl"), big);
    let data = c.data();
    if !mount_tmpfs(&data, "1m") {
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            umount(self.0);
        }
    }
    let _guard = Unmount(&data);
    let o = c.runlens(&["index", p.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "a clean failure, not a crash: {err}");
    assert!(err.contains("full"), "the error says the disk is full: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert_eq!(integrity(&data), "ok");
    // More room: the next scan completes and the index is exact.
    assert!(Command::new("mount").args(["-o", "remount,size=64m"]).arg(&data).status().unwrap().success());
    c.check();
    // Read-only: a scan that has something to write fails cleanly too.
    write(&p.join("more.jsonl"), "{\"step\": 0, \"x\": 1}\n");
    assert!(Command::new("mount").args(["-o", "remount,ro"]).arg(&data).status().unwrap().success());
    let o = c.runlens(&["index", p.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("read-only") || err.contains("readonly"), "{err}");
    assert!(Command::new("mount").args(["-o", "remount,rw"]).arg(&data).status().unwrap().success());
    assert_eq!(integrity(&data), "ok");
    c.check();
}

/// Case 26: a data dir on a FUSE (or network) file system is refused with a message that says how
/// to choose another. Uses bindfs (FUSE), which setup installs for the tests.
#[test]
fn a_data_dir_on_fuse_is_refused() {
    let c = Crafted::new();
    let (src, mnt) = (c.dir.path().join("backing"), c.dir.path().join("fuse"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("bindfs").arg(&src).arg(&mnt).status().is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED: bindfs cannot mount here (no /dev/fuse, not root, or not installed); CI runs it");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("fusermount").arg("-u").arg(self.0).status();
            umount(self.0);
        }
    }
    let _guard = Unmount(&mnt);
    let o = Command::new(env!("CARGO_BIN_EXE_runlens"))
        .arg("--data-dir")
        .arg(mnt.join("data"))
        .args(["index", c.project().to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("fuse file system") && err.contains("--data-dir") && err.contains("RUNLENS_DATA_DIR"),
        "{err}"
    );
    assert!(walk(&src).is_empty(), "nothing was written there");
}
