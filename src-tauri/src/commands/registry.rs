//! The model registry: models and versions (ours and MLflow's), a model's history, registering a
//! version from a run, changes to a model or version (signed as this user), MLflow import,
//! verify, and model cards. Every rule (policy, refusals, the fold) is the engine's: a refusal
//! reaches the page as `{code: "refused", message}` and is shown as it is.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use tauri::{AppHandle, Manager};

use runlens_core::{Identity, Index};

use super::{blocking, now_ms, Res};
use crate::state::AppState;
use crate::wire::{
    self, CardImage, HistoryItem, Imported, Me, ModelCard, Policy, Problem, RegModel, RegistryChange, WireError,
    Written,
};

/// The folder holding this user's signing key: `RUNLENS_CONFIG_DIR` (as the CLI), else the
/// system's config dir.
fn config_dir() -> Res<PathBuf> {
    std::env::var_os("RUNLENS_CONFIG_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(runlens_core::default_config_dir)
        .ok_or_else(|| {
            WireError::new("io", "no config dir on this system for your signing key: set RUNLENS_CONFIG_DIR")
        })
}

/// Who the app writes as: this OS user (and git identity), this host, the key in the config dir.
pub(super) fn identity() -> Res<Identity> {
    Ok(Identity::discover(config_dir()?, |k| std::env::var(k).ok()))
}

/// Runs `f` with the open project's index on a blocking thread.
pub(super) async fn with_index<T: Send + 'static>(
    app: AppHandle,
    f: impl FnOnce(&Index) -> Res<T> + Send + 'static,
) -> Res<T> {
    blocking(move || {
        let project = app.state::<AppState>().current()?;
        let index = project.reader.lock().expect("lock");
        f(&index)
    })
    .await
}

/// A registry path from the page: a path relative to the run's artifact folder or the project,
/// or a logged model id. Absolute paths and `..` are refused here; the engine then accepts only
/// what lies inside the project.
fn check_model_path(path: &str) -> Res<()> {
    let p = Path::new(path);
    let bad = path.trim().is_empty()
        || path.contains('\0')
        || p.is_absolute()
        || path.starts_with('\\')
        || p.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        || path.split(['/', '\\']).any(|c| c == "..");
    if bad {
        return Err(WireError::new(
            "invalid",
            format!("{path:?}: give a file or folder of the run, or a logged model id"),
        ));
    }
    Ok(())
}

/// This user, this machine and the signing key's id (null before the first signed change: the key
/// is made on first use, not by looking).
#[tauri::command]
pub async fn registry_me() -> Res<Me> {
    blocking(move || {
        let who = identity()?;
        let key_id = Index::registry_key_id(&who);
        Ok(Me {
            display: who.actor().display(),
            user: who.user,
            name: who.name,
            email: who.email,
            host: who.host,
            key_id,
        })
    })
    .await
}

/// Every model, ours and MLflow's, with its versions; each version's files checked against their
/// pins, its approvals counted as the project's policy counts them.
#[tauri::command]
pub async fn registry_models(app: AppHandle) -> Res<Vec<RegModel>> {
    with_index(app, |index| {
        let policy = index.registry_policy()?;
        Ok(index.registry_models()?.into_iter().map(|m| RegModel::new(m, &policy)).collect())
    })
    .await
}

/// One of our models as it was at `at` (ms): the fold of the events written until then (its
/// approvals counted by today's policy).
#[tauri::command]
pub async fn registry_model_at(app: AppHandle, name: String, at: i64) -> Res<RegModel> {
    with_index(app, move |index| {
        let policy = index.registry_policy()?;
        Ok(RegModel::new(index.registry_model_at(&name, at)?, &policy))
    })
    .await
}

/// The project's registry policy: what it protects, whose approvals count (each approver named
/// by the latest event their key signed, in any of our models' histories).
#[tauri::command]
pub async fn registry_policy(app: AppHandle) -> Res<Policy> {
    with_index(app, |index| {
        let policy = index.registry_policy()?;
        let mut signers: BTreeMap<String, (i64, String)> = BTreeMap::new();
        if !policy.approvers.is_empty() {
            for m in index.registry_models()?.into_iter().filter(|m| m.source == "runlens") {
                for e in index.registry_history(&m.name)? {
                    if policy.approvers.contains(&e.signed_by) {
                        let latest = signers.get(&e.signed_by).is_none_or(|(at, _)| e.at >= *at);
                        if latest {
                            signers.insert(e.signed_by.clone(), (e.at, e.actor.display()));
                        }
                    }
                }
            }
        }
        let names = signers.into_iter().map(|(k, (_, who))| (k, who)).collect();
        Ok(Policy::new(policy, &names))
    })
    .await
}

/// Every event of one of our models, in fold order; events that do not count say why.
#[tauri::command]
pub async fn registry_history(app: AppHandle, name: String) -> Res<Vec<HistoryItem>> {
    with_index(app, move |index| Ok(index.registry_history(&name)?.into_iter().map(HistoryItem::from).collect())).await
}

/// Registers a file or folder of run `run` (relative to its artifact folder or the project), or
/// one of its logged models (`m-...`), as a new version of model `name`.
#[tauri::command]
pub async fn registry_register(
    app: AppHandle,
    run: String,
    path: String,
    name: String,
    description: Option<String>,
) -> Res<Written> {
    check_model_path(&path)?;
    let who = identity()?;
    with_index(app, move |index| {
        let desc = description.as_deref().map(str::trim).filter(|d| !d.is_empty());
        Ok(index.registry_register(&run, &path, name.trim(), desc, &who, now_ms())?.into())
    })
    .await
}

/// One change to `target` (NAME, NAME@VERSION or NAME@ALIAS), checked by the engine against the
/// model as it is and the project's policy.
#[tauri::command]
pub async fn registry_change(app: AppHandle, target: String, change: RegistryChange) -> Res<Written> {
    let who = identity()?;
    with_index(app, move |index| Ok(index.registry_change(&target, change.into(), &who, now_ms())?.into())).await
}

/// Turns MLflow registry models (the one named, or all) into Runlens models.
#[tauri::command]
pub async fn registry_import(app: AppHandle, name: Option<String>) -> Res<Vec<Imported>> {
    let who = identity()?;
    with_index(app, move |index| {
        Ok(index.registry_import_mlflow(name.as_deref(), &who, now_ms())?.into_iter().map(Imported::from).collect())
    })
    .await
}

/// Checks every event and every pinned file of one model (or all) from the files themselves.
#[tauri::command]
pub async fn registry_verify(app: AppHandle, name: Option<String>) -> Res<Vec<Problem>> {
    with_index(app, move |index| Ok(index.registry_verify(name.as_deref())?.into_iter().map(Problem::from).collect()))
        .await
}

/// A file name made of the safe characters of `s`.
fn safe_name(s: &str) -> String {
    let out: String =
        s.chars().take(120).map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    out.trim_start_matches('.').to_string()
}

/// The model card of `target` (NAME@VERSION or NAME@ALIAS), generated into the app's data dir
/// (`cards/<project>/`), with its training curves.
#[tauri::command]
pub async fn registry_card(app: AppHandle, target: String) -> Res<ModelCard> {
    blocking(move || {
        let state = app.state::<AppState>();
        let project = state.current()?;
        let root = project.root.to_string_lossy().into_owned();
        let folder = format!(
            "{}-{:08x}",
            safe_name(&project.root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()),
            fnv(root.as_bytes())
        );
        let dir = state.data_dir.join("cards").join(folder);
        std::fs::create_dir_all(&dir).map_err(|e| WireError::new("io", format!("{}: {e}", dir.display())))?;
        let output = dir.join(format!("{}.md", safe_name(&target.replace('@', "-v"))));
        let written = project.reader.lock().expect("lock").registry_card(&target, &output)?;
        let read = |p: &Path| std::fs::read(p).map_err(|e| WireError::new("io", format!("{}: {e}", p.display())));
        let markdown = String::from_utf8_lossy(&read(&output)?).into_owned();
        let mut images = Vec::new();
        for p in written.iter().filter(|p| p.extension().is_some_and(|e| e == "png")) {
            images.push(CardImage {
                name: p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                data_url: format!("data:image/png;base64,{}", wire::base64(&read(p)?)),
            });
        }
        Ok(ModelCard { path: output.to_string_lossy().into_owned(), markdown, images })
    })
    .await
}

/// FNV-1a, 32 bits: a stable short name for a project's folder of cards.
fn fnv(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c9dc5u32, |h, b| (h ^ *b as u32).wrapping_mul(0x01000193))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_paths_stay_relative() {
        for ok in ["model", "model/MLmodel", "m-0123abcd", "./weights.onnx", "checkpoints/epoch=3.ckpt"] {
            assert!(check_model_path(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../secret", "a/../../b", "\\\\host\\share", "a\0b", "..\\x"] {
            assert!(check_model_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn card_names_are_plain() {
        assert_eq!(safe_name("churn-v3"), "churn-v3");
        assert_eq!(safe_name("../../etc/x y"), "_.._etc_x_y");
        assert_eq!(fnv(b""), 0x811c9dc5);
    }
}
