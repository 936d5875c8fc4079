//! S12's generator and Runlens's in-process side: writes a model with N signed registry events
//! through the public API, then times the reads an open index answers (the app's case).
//!
//! ```sh
//! cargo run --release -p runlens-core --example registry_bench -- PROJECT DATA_DIR [EVENTS]
//! ```
//! The project gets one JSONL run and a 1 MiB model file; events are 1 register per 100, the rest
//! alias moves, tags, approvals (three users, three keys). Prints one JSON line:
//! `{"events", "write_s", "first_at", "last_at", "list_ms", "at_ms"}` (warm, median of 20).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use runlens_core::{Identity, Index, RegistryChange, ScanOptions};

fn who(user: &str, dir: &Path) -> Identity {
    Identity { user: user.into(), name: None, email: None, host: "bench".into(), key_dir: dir.join("keys").join(user) }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let project = PathBuf::from(&args[1]);
    let data = PathBuf::from(&args[2]);
    let n: usize = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(10_000);
    std::fs::create_dir_all(&project).unwrap();
    let mut log = String::new();
    for i in 0..100 {
        log.push_str(&format!(
            "{{\"step\": {i}, \"loss\": {}, \"acc\": {}}}\n",
            1.0 / (i + 1) as f64,
            i as f64 / 100.0
        ));
    }
    std::fs::write(project.join("train.jsonl"), log).unwrap();
    let model: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(project.join("model.bin"), model).unwrap();
    let mut index = Index::open(&data, &project).unwrap();
    index.scan(&ScanOptions::default(), &mut |_| {}, &AtomicBool::new(false)).unwrap();
    let users = [who("ana", &data), who("bob", &data), who("carol", &data)];
    let t0 = 1_767_225_600_000i64; // 2026-01-01
    let started = Instant::now();
    let mut versions = 0u64;
    for i in 0..n {
        let at = t0 + i as i64 * 60_000;
        let by = &users[i % 3];
        if i % 100 == 0 {
            versions = index
                .registry_register("train.jsonl", "model.bin", "big", None, &users[0], at)
                .unwrap()
                .version
                .unwrap();
            continue;
        }
        let v = 1 + (i as u64 * 7919) % versions;
        let (target, change) = match i % 4 {
            0 => (format!("big@{v}"), RegistryChange::SetAlias(["champion", "challenger", "shadow"][i % 3].into())),
            1 => ("big".to_string(), RegistryChange::SetTag { key: format!("k{}", i % 50), value: i.to_string() }),
            2 if i % 3 != 0 => (format!("big@{v}"), RegistryChange::Approve { comment: format!("looked at run {i}") }),
            _ => (format!("big@{v}"), RegistryChange::SetTag { key: "note".into(), value: i.to_string() }),
        };
        let by = if matches!(change, RegistryChange::Approve { .. }) { &users[1 + i % 2] } else { by };
        index.registry_change(&target, change, by, at).unwrap();
    }
    let write_s = started.elapsed().as_secs_f64();
    let last_at = t0 + (n as i64 - 1) * 60_000;
    // Warm reads on a freshly opened index (its SQLite cache filled, its memory empty), then on
    // the same open index again (the app's case).
    let index = Index::open(&data, &project).unwrap();
    let mut list = Vec::new();
    let mut at = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let m = index.registry_models().unwrap();
        list.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(m.iter().find(|m| m.name == "big").unwrap().versions.len() as u64, versions);
        let t = Instant::now();
        index.registry_model_at("big", t0 + (n as i64 / 2) * 60_000).unwrap();
        at.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "{{\"events\": {n}, \"versions\": {versions}, \"write_s\": {write_s:.1}, \"first_at\": {t0}, \"last_at\": {last_at}, \"list_first_ms\": {:.1}, \"list_ms\": {:.1}, \"at_ms\": {:.1}}}",
        list[0],
        median(list[1..].to_vec()),
        median(at)
    );
}
