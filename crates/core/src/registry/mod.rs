//! The model registry: versions, aliases, tags, stages and approvals kept as plain files in the
//! project (`.runlens/registry/`), one signed, content-addressed event per change, never edited.
//! The state of a model is the fold of its events (`fold.rs`); the index only caches the events.
//! MLflow's registries (file store and `mlflow.db`) are read beside ours, read-only (`mlflow.rs`).

pub(crate) mod card;
pub(crate) mod event;
pub(crate) mod fold;
pub(crate) mod keys;
pub(crate) mod lineage;
pub(crate) mod mlflow;
pub(crate) mod pin;
pub(crate) mod policy;
pub(crate) mod store;
pub(crate) mod verify;

use std::path::PathBuf;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::files::ProjectFs;
use crate::index::Index;
use crate::Error;
pub use event::Actor;
use event::*;
pub use fold::{Approval, ModelState, PinnedFile, VersionState};
pub use policy::Policy as RegistryPolicy;
use store::Draft;
pub use verify::Problem;

/// Who is making a change: passed in by the shell, so results are reproducible.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The OS user.
    pub user: String,
    /// The git identity, when one is configured.
    pub name: Option<String>,
    pub email: Option<String>,
    pub host: String,
    /// The folder holding the user's signing key pair (made there on first use).
    pub key_dir: PathBuf,
}

impl Identity {
    pub fn actor(&self) -> Actor {
        Actor { user: self.user.clone(), name: self.name.clone(), email: self.email.clone() }
    }

    /// The identity of the person running this process: the OS user (`USER`/`USERNAME`), the git
    /// identity (`GIT_AUTHOR_NAME`/`GIT_AUTHOR_EMAIL`, else `user.name`/`user.email` of the global git
    /// config: `~/.gitconfig`, `$XDG_CONFIG_HOME/git/config`), the host name; keys in `key_dir`.
    /// The environment comes in through `env`, so callers (and tests) decide what it holds.
    pub fn discover(key_dir: PathBuf, env: impl Fn(&str) -> Option<String>) -> Identity {
        let user = ["USER", "USERNAME", "LOGNAME"]
            .iter()
            .find_map(|k| env(k).filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "unknown".into());
        let (mut name, mut email) = (env("GIT_AUTHOR_NAME"), env("GIT_AUTHOR_EMAIL"));
        let home = env("HOME").or_else(|| env("USERPROFILE")).map(PathBuf::from);
        let xdg = env("XDG_CONFIG_HOME").map(PathBuf::from).or_else(|| home.as_ref().map(|h| h.join(".config")));
        for file in
            [xdg.map(|x| x.join("git").join("config")), home.map(|h| h.join(".gitconfig"))].into_iter().flatten()
        {
            if let Ok(text) = std::fs::read_to_string(&file) {
                let (n, e) = lineage::git_user(&text);
                name = name.or(n);
                email = email.or(e);
            }
        }
        let host =
            env("COMPUTERNAME").or_else(hostname).or_else(|| env("HOSTNAME")).unwrap_or_else(|| "unknown".into());
        Identity { user, name: name.filter(|n| !n.is_empty()), email: email.filter(|e| !e.is_empty()), host, key_dir }
    }
}

fn hostname() -> Option<String> {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            return Some(String::from_utf8_lossy(&buf[..end]).into_owned()).filter(|h| !h.is_empty());
        }
    }
    None
}

/// The default folder for the user's Runlens settings and signing key (`~/.config/runlens`, ...).
pub fn default_config_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("runlens"))
}

/// One change to a model or version (registering is [`Index::registry_register`]).
#[derive(Clone, Debug)]
pub enum RegistryChange {
    SetAlias(String),
    RemoveAlias(String),
    SetTag {
        key: String,
        value: String,
    },
    DeleteTag(String),
    SetDescription(String),
    Transition {
        stage: String,
        comment: String,
    },
    RequestApproval {
        comment: String,
    },
    Approve {
        comment: String,
    },
    Reject {
        comment: String,
    },
    Archive,
    Restore,
    /// The reference dataset of a version (for drift monitoring): any JSON object.
    SetDataset(Value),
}

/// What a write did.
#[derive(Clone, Debug, Serialize)]
pub struct Written {
    pub name: String,
    pub version: Option<u64>,
    pub digest: Option<String>,
    /// The new event's hash.
    pub event: String,
}

/// What `import-mlflow` did for one MLflow model.
#[derive(Clone, Debug, Serialize)]
pub struct Imported {
    pub name: String,
    /// "mlflow" or "mlflow-db".
    pub source: String,
    pub location: String,
    /// Our version numbers made by this import.
    pub versions: Vec<u64>,
    /// What was not imported, and why.
    pub skipped: Vec<String>,
}

/// A time given as ms since the epoch or as RFC 3339 (`2026-03-03T12:00:00Z`), in ms.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    crate::readers::iso_ms(s).map(|f| f as i64)
}

/// One event as `registry history --format json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryEntry {
    pub hash: String,
    pub kind: String,
    pub version: Option<u64>,
    pub at: i64,
    pub actor: Actor,
    pub host: String,
    pub parents: Vec<String>,
    pub signed_by: String,
    pub payload: Map<String, Value>,
    /// Why the event does not count (the policy refused it, its version is unknown), if it does not.
    #[serde(skip)]
    pub skipped: Option<String>,
}

/// NAME, NAME@VERSION or NAME@ALIAS.
struct Target<'a> {
    name: &'a str,
    version: Option<&'a str>,
}

fn parse_target(s: &str) -> Target<'_> {
    match s.split_once('@') {
        Some((name, v)) => Target { name, version: Some(v) },
        None => Target { name: s, version: None },
    }
}

fn refused(msg: impl Into<String>) -> Error {
    Error::Refused(msg.into())
}

/// An alias is a word: not empty, no whitespace or `@`, not only digits (it would read as a
/// version), not `latest` (MLflow's reserved alias).
fn check_alias(alias: &str) -> Result<(), Error> {
    if alias.is_empty()
        || alias.len() > 255
        || alias.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@')
        || alias.chars().all(|c| c.is_ascii_digit())
        || alias.eq_ignore_ascii_case("latest")
    {
        return Err(refused(format!(
            "{alias:?} cannot be an alias: use a word without spaces or '@', not only digits, not \"latest\""
        )));
    }
    Ok(())
}

fn need_comment(comment: &str, what: &str) -> Result<(), Error> {
    if comment.trim().is_empty() {
        return Err(refused(format!("{what} needs a comment (--comment TEXT): it is kept in the model's history")));
    }
    Ok(())
}

impl Index {
    fn reg_fs(&self) -> ProjectFs<'_> {
        ProjectFs::new(&self.root)
    }

    /// Every model: ours (folded from `.runlens/registry/`) and MLflow's (read-only), by name then
    /// source. Each version's files are checked against their pins (`changed_on_disk`).
    pub fn registry_models(&self) -> Result<Vec<ModelState>, Error> {
        let fs = self.reg_fs();
        let policy = store::load_policy(&fs, &self.root)?;
        let mut out = Vec::new();
        for name in store::model_names(&fs, &self.root) {
            out.push(self.fold_model(&fs, &name, &policy, None)?.state);
        }
        out.extend(mlflow::models(self, &fs));
        out.sort_by(|a, b| (a.name.to_lowercase(), &a.source).cmp(&(b.name.to_lowercase(), &b.source)));
        Ok(out)
    }

    /// One model: ours when we have it, else MLflow's.
    pub fn registry_model(&self, name: &str) -> Result<ModelState, Error> {
        let fs = self.reg_fs();
        if store::model_names(&fs, &self.root).iter().any(|n| n == name) {
            let policy = store::load_policy(&fs, &self.root)?;
            return Ok(self.fold_model(&fs, name, &policy, None)?.state);
        }
        mlflow::models(self, &fs).into_iter().find(|m| m.name == name).ok_or_else(|| self.no_model(&fs, name))
    }

    /// The model as `registry_model` would have shown it at `at` (ms): the fold of the events
    /// written until then.
    pub fn registry_model_at(&self, name: &str, at: i64) -> Result<ModelState, Error> {
        let fs = self.reg_fs();
        self.ours(&fs, name)?;
        let policy = store::load_policy(&fs, &self.root)?;
        Ok(self.fold_model(&fs, name, &policy, Some(at))?.state)
    }

    /// Every event of one of our models, in fold order.
    pub fn registry_history(&self, name: &str) -> Result<Vec<HistoryEntry>, Error> {
        let fs = self.reg_fs();
        self.ours(&fs, name)?;
        let policy = store::load_policy(&fs, &self.root)?;
        let listing = store::list_events(&fs, &self.root, name)?;
        let loaded = store::load(&self.conn, &self.registry_memo, &fs, &self.root, name, &listing)?;
        let order = fold::order(&loaded.events);
        let folded = fold::fold(name, &loaded.events, &order, &policy, None);
        let skipped: std::collections::HashMap<&str, &str> =
            folded.skipped.iter().map(|(h, w)| (h.as_str(), w.as_str())).collect();
        Ok(order
            .into_iter()
            .map(|i| {
                let e = &loaded.events[i];
                HistoryEntry {
                    hash: e.hash.clone(),
                    kind: e.kind.clone(),
                    version: folded.versions.get(&e.hash).copied().or(e.version),
                    at: e.at,
                    actor: e.actor.clone(),
                    host: e.host.clone(),
                    parents: e.parents.clone(),
                    signed_by: e.key.clone(),
                    payload: e.payload.clone(),
                    skipped: skipped.get(e.hash.as_str()).map(|w| w.to_string()),
                }
            })
            .collect())
    }

    fn fold_model(
        &self,
        fs: &ProjectFs,
        name: &str,
        policy: &policy::Policy,
        until: Option<i64>,
    ) -> Result<fold::Folded, Error> {
        self.fold_model_checking(fs, name, policy, until, until.is_none())
    }

    /// The fold, and when `check_files`, each version's files checked against their pins (writes
    /// skip that: they need the state, not the disk's verdict).
    fn fold_model_checking(
        &self,
        fs: &ProjectFs,
        name: &str,
        policy: &policy::Policy,
        until: Option<i64>,
        check_files: bool,
    ) -> Result<fold::Folded, Error> {
        let mut folded = match until {
            Some(_) => {
                let listing = store::list_events(fs, &self.root, name)?;
                let loaded = store::load(&self.conn, &self.registry_memo, fs, &self.root, name, &listing)?;
                let mut f = fold::fold(name, &loaded.events, &fold::order(&loaded.events), policy, until);
                f.state.invalid_files = loaded.bad;
                f
            }
            None => self.fold_listed(fs, name, policy)?.0,
        };
        if check_files {
            for v in &mut folded.state.versions {
                v.changed_on_disk = pin::changed_on_disk(&self.conn, fs, &self.root, v);
            }
        }
        Ok(folded)
    }

    /// The fold of the model as its events folder lists now, and that listing: the fold the index
    /// keeps when the listing (names, sizes, times) and the policy are the ones it was made from,
    /// else one made from the events (read through the caches) and kept.
    fn fold_listed(
        &self,
        fs: &ProjectFs,
        name: &str,
        policy: &policy::Policy,
    ) -> Result<(fold::Folded, store::Listing), Error> {
        let listing = store::list_events(fs, &self.root, name)?;
        let key = listing.key(policy);
        if let Some(f) = store::saved_fold(&self.conn, name, &key) {
            return Ok((f, listing));
        }
        let loaded = store::load(&self.conn, &self.registry_memo, fs, &self.root, name, &listing)?;
        let mut f = fold::fold(name, &loaded.events, &fold::order(&loaded.events), policy, None);
        f.state.invalid_files = loaded.bad;
        store::save_fold(&self.conn, name, &key, &f);
        Ok((f, listing))
    }

    /// After this index wrote `ev` onto `folded` (made from `listing`): the fold with `ev`, kept
    /// for the listing with its file, so the next read (another process's too) reads no event.
    /// With `recheck`, the folder is listed again first, and anything another writer added
    /// meanwhile makes it a full fold (a register's number depends on it).
    fn record_write(
        &self,
        fs: &ProjectFs,
        name: &str,
        policy: &policy::Policy,
        (folded, mut listing): (fold::Folded, store::Listing),
        ev: &Event,
        recheck: bool,
    ) -> Result<fold::Folded, Error> {
        let path = store::events_dir(&self.root, name).join(format!("{}.json", ev.hash));
        let md = fs.stat_file(&path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
        listing.files.insert(ev.hash.clone(), (md.len() as i64, pin::mtime_ns(&md)));
        if recheck {
            let now = store::list_events(fs, &self.root, name)?;
            if now.files != listing.files {
                return Ok(self.fold_listed(fs, name, policy)?.0);
            }
        }
        match fold::extend(&folded, &[ev], policy) {
            Some(f) => {
                store::save_fold(&self.conn, name, &listing.key(policy), &f);
                Ok(f)
            }
            None => Ok(self.fold_listed(fs, name, policy)?.0),
        }
    }

    fn ours(&self, fs: &ProjectFs, name: &str) -> Result<(), Error> {
        if store::model_names(fs, &self.root).iter().any(|n| n == name) {
            return Ok(());
        }
        if mlflow::models(self, fs).iter().any(|m| m.name == name) {
            return Err(refused(format!(
                "{name:?} is an MLflow model, read-only here: `runlens registry import-mlflow PROJECT {name:?}` makes it a Runlens model"
            )));
        }
        Err(self.no_model(fs, name))
    }

    fn no_model(&self, fs: &ProjectFs, name: &str) -> Error {
        let names = store::model_names(fs, &self.root);
        Error::NotFound(if names.is_empty() {
            format!("no model named {name:?}: the registry has no models yet")
        } else {
            format!("no model named {name:?}; the registry has: {}", names.join(", "))
        })
    }

    /// Registers the model at `path` of run `run` (an id, id prefix or path) as a new version of
    /// model `name` (made on first use). `path` is a file or folder inside the run (relative to its
    /// artifact folder, or to the project) or a logged model's id (`m-...`). The files are pinned
    /// (size and SHA-256 each, a digest over them), never copied, never loaded.
    pub fn registry_register(
        &self,
        run: &str,
        path: &str,
        name: &str,
        description: Option<&str>,
        who: &Identity,
        now: i64,
    ) -> Result<Written, Error> {
        store::check_name(name).map_err(Error::Refused)?;
        let fs = self.reg_fs();
        let existing = store::model_names(&fs, &self.root);
        if let Some(other) = existing.iter().find(|n| n.as_str() != name && n.eq_ignore_ascii_case(name)) {
            return Err(refused(format!(
                "a model named {other:?} exists: names that differ only in case would share a folder on macOS and Windows"
            )));
        }
        let detail = self.run_detail(run)?;
        let (model_path, kind, model_id) = lineage::resolve_model_path(&fs, &self.root, &detail, path)?;
        let (files, digest) = pin::pin(&self.conn, &fs, &self.root, &model_path, kind == "file")?;
        let lineage = lineage::lineage(&fs, &self.root, &detail, &model_path);
        let run_row = &detail.run;
        let mut payload = Map::new();
        payload.insert(
            "source".into(),
            json!({
                "format": run_row.source,
                "run_id": run_row.id,
                "run_path": run_row.path,
                "run_name": run_row.name,
                "experiment": run_row.experiment,
                "path": model_path,
                "kind": kind,
                "model_id": model_id,
            }),
        );
        payload.insert("files".into(), serde_json::to_value(&files).unwrap_or_default());
        payload.insert("digest".into(), digest.clone().into());
        if let Some(d) = description.filter(|d| !d.trim().is_empty()) {
            payload.insert("description".into(), d.into());
        }
        payload.insert("lineage".into(), lineage);
        let (hash, version) = self.write_register(&fs, name, None, payload, who, now)?;
        Ok(Written { name: name.to_string(), version: Some(version), digest: Some(digest), event: hash })
    }

    /// Writes a register event claiming `claim` (else the next number) and returns its hash and
    /// the number the fold gives it (another writer may have claimed the same one at once).
    fn write_register(
        &self,
        fs: &ProjectFs,
        name: &str,
        claim: Option<u64>,
        payload: Map<String, Value>,
        who: &Identity,
        now: i64,
    ) -> Result<(String, u64), Error> {
        let policy = store::load_policy(fs, &self.root)?;
        let (folded, listing) = self.fold_listed(fs, name, &policy)?;
        let state = &folded.state;
        let next = state.versions.iter().map(|v| v.version).max().unwrap_or(0) + 1;
        let version = claim.filter(|c| *c > 0 && state.version(*c).is_none()).unwrap_or(next);
        let draft = Draft {
            model: name.to_string(),
            parents: state.heads.clone(),
            kind: REGISTER,
            version: Some(version),
            target: None,
            payload,
        };
        let signer = keys::Signer::load_or_create(&who.key_dir)?;
        let ev = store::write(&self.conn, fs, &self.root, draft, who, &signer, now)?;
        let after = self.record_write(fs, name, &policy, (folded, listing), &ev, true)?;
        Ok((ev.hash.clone(), after.versions.get(&ev.hash).copied().unwrap_or(version)))
    }

    /// Turns MLflow registry models (all, or the one named) into Runlens models: one register event
    /// per version (its files pinned where they lie in the project, its MLflow number kept when
    /// free), then its tags, stage, the model's description, tags and aliases. Versions imported
    /// before (same store, model and number) are skipped, so importing again only adds what is new.
    /// A change the policy refuses is reported, not written.
    pub fn registry_import_mlflow(&self, only: Option<&str>, who: &Identity, now: i64) -> Result<Vec<Imported>, Error> {
        let fs = self.reg_fs();
        let found: Vec<ModelState> =
            mlflow::models(self, &fs).into_iter().filter(|m| only.is_none_or(|n| m.name == n)).collect();
        if let (Some(n), true) = (only, found.is_empty()) {
            return Err(Error::NotFound(format!("no MLflow registry model named {n:?} in this project")));
        }
        let mut report = Vec::new();
        for m in found {
            let location = m.location.clone().unwrap_or_default();
            let mut r = Imported {
                name: m.name.clone(),
                source: m.source.clone(),
                location: location.clone(),
                versions: Vec::new(),
                skipped: Vec::new(),
            };
            if let Err(why) = store::check_name(&m.name) {
                r.skipped.push(why);
                report.push(r);
                continue;
            }
            let origin =
                |number: u64| json!({"source": m.source, "location": location, "name": m.name, "version": number});
            let same_store = |v: &VersionState| {
                v.imported_from.get("source") == Some(&json!(m.source))
                    && v.imported_from.get("location") == Some(&json!(location))
                    && v.imported_from.get("name") == Some(&json!(m.name))
            };
            let mut ours = self.registry_model(&m.name).ok().filter(|s| s.source == "runlens");
            // A Runlens model takes versions from one MLflow model only: never two stores merged
            // into one numbering, never MLflow's versions mixed into a model of ours.
            if let Some(o) = &ours {
                if let Some(other) = o.versions.iter().find(|v| !v.imported_from.is_null() && !same_store(v)) {
                    r.skipped.push(format!(
                        "the Runlens model {:?} holds versions imported from {} {}: not mixing in this one",
                        m.name,
                        other.imported_from.get("source").and_then(Value::as_str).unwrap_or("?"),
                        other.imported_from.get("location").and_then(Value::as_str).unwrap_or("?")
                    ));
                    report.push(r);
                    continue;
                }
                if !o.versions.is_empty() && o.versions.iter().all(|v| v.imported_from.is_null()) {
                    r.skipped.push(format!(
                        "a Runlens model named {:?} exists, not imported from MLflow: not mixing in this one",
                        m.name
                    ));
                    report.push(r);
                    continue;
                }
            }
            // MLflow's version number -> ours.
            let mut map: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
            for v in ours.iter().flat_map(|s| &s.versions) {
                if let Some(n) = v.imported_from.get("version").and_then(Value::as_u64) {
                    if same_store(v) {
                        map.insert(n, v.version);
                    }
                }
            }
            for v in &m.versions {
                if map.contains_key(&v.version) {
                    continue;
                }
                match self.import_version(&fs, &m, v, origin(v.version), who, now) {
                    Ok((n, mut skipped)) => {
                        map.insert(v.version, n);
                        r.versions.push(n);
                        r.skipped.append(&mut skipped);
                    }
                    Err(e) => r.skipped.push(format!("version {}: {e}", v.version)),
                }
            }
            ours = self.registry_model(&m.name).ok().filter(|s| s.source == "runlens");
            let Some(ours) = ours else {
                report.push(r);
                continue;
            };
            let apply = |target: String, c: RegistryChange, r: &mut Imported| {
                if let Err(e) = self.registry_change(&target, c, who, now) {
                    r.skipped.push(format!("{target}: {e}"));
                }
            };
            if m.description.is_some() && ours.description != m.description {
                apply(
                    m.name.clone(),
                    RegistryChange::SetDescription(m.description.clone().unwrap_or_default()),
                    &mut r,
                );
            }
            for (k, val) in &m.tags {
                if ours.tags.get(k) != Some(val) {
                    apply(m.name.clone(), RegistryChange::SetTag { key: k.clone(), value: val.clone() }, &mut r);
                }
            }
            for (alias, n) in &m.aliases {
                match map.get(n) {
                    Some(our) if ours.aliases.get(alias) != Some(our) => {
                        apply(format!("{}@{our}", m.name), RegistryChange::SetAlias(alias.clone()), &mut r)
                    }
                    Some(_) => {}
                    None => r.skipped.push(format!("alias {alias}: MLflow version {n} was not imported")),
                }
            }
            report.push(r);
        }
        Ok(report)
    }

    fn import_version(
        &self,
        fs: &ProjectFs,
        m: &ModelState,
        v: &VersionState,
        origin: Value,
        who: &Identity,
        now: i64,
    ) -> Result<(u64, Vec<String>), Error> {
        let mut skipped = Vec::new();
        let (mut files, mut digest, mut kind) = (Vec::new(), None, "unresolved");
        if let Some(p) = &v.model_path {
            let full = self.root.join(p);
            let is_file = fs.stat(&full).map(|m| m.is_file()).unwrap_or(false);
            match pin::pin(&self.conn, fs, &self.root, p, is_file) {
                Ok((f, d)) => {
                    files = f;
                    digest = Some(d);
                    kind = if is_file {
                        "file"
                    } else if fs.is_file(&full.join("MLmodel")) {
                        "mlflow-model"
                    } else {
                        "folder"
                    };
                }
                Err(e) => skipped.push(format!("version {}: files not pinned: {e}", v.version)),
            }
        } else {
            skipped.push(format!(
                "version {}: its files ({}) are not in the project: nothing pinned",
                v.version,
                v.source.get("uri").and_then(Value::as_str).unwrap_or("no source")
            ));
        }
        let uri = v.source.get("uri").and_then(Value::as_str).unwrap_or("");
        let model_id = uri.strip_prefix("models:/").filter(|id| id.starts_with("m-")).map(str::to_string);
        let detail = v.run_path.as_deref().and_then(|p| self.run_detail(p).ok());
        let lineage = match (&detail, &v.model_path) {
            (Some(d), Some(p)) => lineage::lineage(fs, &self.root, d, p),
            _ => Value::Null,
        };
        let mut payload = Map::new();
        payload.insert(
            "source".into(),
            json!({
                "format": m.source,
                "run_id": v.run_id,
                "run_path": v.run_path,
                "run_name": detail.as_ref().and_then(|d| d.run.name.clone()),
                "experiment": detail.as_ref().and_then(|d| d.run.experiment.clone()),
                "path": v.model_path,
                "kind": kind,
                "model_id": model_id,
            }),
        );
        payload.insert("files".into(), serde_json::to_value(&files).unwrap_or_default());
        payload.insert("digest".into(), digest.into());
        if let Some(d) = &v.description {
            payload.insert("description".into(), d.clone().into());
        }
        payload.insert("lineage".into(), lineage);
        let mut origin = origin;
        if let Some(o) = origin.as_object_mut() {
            o.insert("stage".into(), v.stage.clone().into());
            o.insert("status".into(), v.status.clone().into());
            o.insert("created_at".into(), v.created_at.into());
            o.insert("created_by".into(), v.created_by.clone().into());
            o.insert("uri".into(), uri.into());
        }
        payload.insert("imported_from".into(), origin);
        let (_, n) = self.write_register(fs, &m.name, Some(v.version), payload, who, now)?;
        let target = format!("{}@{n}", m.name);
        for (k, val) in &v.tags {
            if let Err(e) =
                self.registry_change(&target, RegistryChange::SetTag { key: k.clone(), value: val.clone() }, who, now)
            {
                skipped.push(format!("{target}: tag {k}: {e}"));
            }
        }
        if let Some(stage) = v.stage.as_deref().filter(|s| !s.is_empty() && *s != "None") {
            let comment = format!(
                "imported from MLflow ({} {}, version {})",
                m.source,
                m.location.as_deref().unwrap_or(""),
                v.version
            );
            // MLflow's "Archived" is a stage like the others (an alias may point at it): kept as one.
            let c = RegistryChange::Transition { stage: stage.to_string(), comment };
            if let Err(e) = self.registry_change(&target, c, who, now) {
                skipped.push(format!("{target}: stage {stage}: {e}"));
            }
        }
        Ok((n, skipped))
    }

    /// Applies one change to `target` (NAME, NAME@VERSION or NAME@ALIAS), after checking it against
    /// the model as it is and the project's policy: a refusal writes nothing and says why.
    pub fn registry_change(
        &self,
        target: &str,
        change: RegistryChange,
        who: &Identity,
        now: i64,
    ) -> Result<Written, Error> {
        let fs = self.reg_fs();
        let t = parse_target(target);
        self.ours(&fs, t.name)?;
        let policy = store::load_policy(&fs, &self.root)?;
        let (folded, listing) = self.fold_listed(&fs, t.name, &policy)?;
        let state = &folded.state;
        let version = match t.version {
            None => None,
            Some(v) => Some(resolve_version(state, v)?),
        };
        let needs_version = !matches!(
            change,
            RegistryChange::SetTag { .. } | RegistryChange::DeleteTag(_) | RegistryChange::SetDescription(_)
        );
        if needs_version && version.is_none() {
            return Err(refused(format!("give a version: {}@VERSION (or @ALIAS)", t.name)));
        }
        let (kind, payload) = self.precheck(state, version, &change)?;
        let draft = Draft {
            model: t.name.to_string(),
            parents: state.heads.clone(),
            kind,
            version: version.map(|v| v.version),
            target: version.map(|v| v.register.clone()),
            payload: payload.as_object().cloned().unwrap_or_default(),
        };
        // The policy's verdict on this change, as every reader's fold will judge it.
        let signer = keys::Signer::load_or_create(&who.key_dir)?;
        let probe = draft.event(who, &signer.id, now);
        fold::apply(&mut state.clone(), &probe, &policy).map_err(Error::Refused)?;
        let ev = store::write(&self.conn, &fs, &self.root, draft, who, &signer, now)?;
        let version = version.cloned();
        self.record_write(&fs, t.name, &policy, (folded, listing), &ev, false)?;
        let version = version.as_ref();
        Ok(Written {
            name: t.name.to_string(),
            version: version.map(|v| v.version),
            digest: version.and_then(|v| v.digest.clone()),
            event: ev.hash,
        })
    }

    /// Refuses a change that makes no sense on the model as it is; else its kind and payload.
    fn precheck(
        &self,
        state: &ModelState,
        version: Option<&VersionState>,
        change: &RegistryChange,
    ) -> Result<(&'static str, Value), Error> {
        let vname = |v: Option<&VersionState>| v.map(|v| format!("{}@{}", state.name, v.version)).unwrap_or_default();
        let live = |what: &str| -> Result<(), Error> {
            match version {
                Some(v) if v.archived => Err(refused(format!(
                    "{} is archived: restore it before you {what} (runlens registry restore PROJECT {})",
                    vname(version),
                    vname(version)
                ))),
                _ => Ok(()),
            }
        };
        Ok(match change {
            RegistryChange::SetAlias(a) => {
                check_alias(a)?;
                live("give it an alias")?;
                (SET_ALIAS, json!({ "alias": a }))
            }
            RegistryChange::RemoveAlias(a) => {
                let v = version.expect("checked");
                match state.aliases.get(a) {
                    Some(n) if *n == v.version => {}
                    Some(n) => {
                        return Err(refused(format!("alias {a:?} points at version {n}, not {}", v.version)));
                    }
                    None => return Err(refused(format!("{} has no alias {a:?}", state.name))),
                }
                (REMOVE_ALIAS, json!({ "alias": a }))
            }
            RegistryChange::SetTag { key, value } => {
                if key.trim().is_empty() {
                    return Err(refused("a tag needs a key: KEY=VALUE"));
                }
                (SET_TAG, json!({ "key": key, "value": value }))
            }
            RegistryChange::DeleteTag(key) => {
                let tags = version.map(|v| &v.tags).unwrap_or(&state.tags);
                if !tags.contains_key(key) {
                    let on = if version.is_some() { vname(version) } else { state.name.clone() };
                    return Err(refused(format!("{on} has no tag {key:?}")));
                }
                (DELETE_TAG, json!({ "key": key }))
            }
            RegistryChange::SetDescription(d) => (SET_DESCRIPTION, json!({ "description": d })),
            RegistryChange::Transition { stage, comment } => {
                need_comment(comment, "a stage transition")?;
                if stage.trim().is_empty() || stage.chars().any(char::is_control) {
                    return Err(refused("a stage needs a name, e.g. Staging or Production"));
                }
                live("move it to a stage")?;
                (TRANSITION, json!({ "stage": stage, "comment": comment }))
            }
            RegistryChange::RequestApproval { comment } => {
                need_comment(comment, "an approval request")?;
                (REQUEST_APPROVAL, json!({ "comment": comment }))
            }
            RegistryChange::Approve { comment } => {
                need_comment(comment, "an approval")?;
                live("approve it")?;
                (APPROVE, json!({ "comment": comment }))
            }
            RegistryChange::Reject { comment } => {
                need_comment(comment, "a rejection")?;
                (REJECT, json!({ "comment": comment }))
            }
            RegistryChange::Archive => {
                let v = version.expect("checked");
                if v.archived {
                    return Err(refused(format!("{} is archived already", vname(version))));
                }
                if let Some((a, _)) = state.aliases.iter().find(|(_, n)| **n == v.version) {
                    return Err(refused(format!(
                        "{} holds alias {a:?}: move or remove the alias before archiving it",
                        vname(version)
                    )));
                }
                (ARCHIVE, json!({}))
            }
            RegistryChange::Restore => {
                if !version.expect("checked").archived {
                    return Err(refused(format!("{} is not archived", vname(version))));
                }
                (RESTORE, json!({}))
            }
            RegistryChange::SetDataset(d) => {
                if !d.is_object() {
                    return Err(refused("a reference dataset is a JSON object"));
                }
                (SET_DATASET, json!({ "dataset": d }))
            }
        })
    }

    /// Checks every event (name against bytes, parents, signature, policy) and every pinned file
    /// of one model, or of all; returns the problems, none when everything holds. Reads the files
    /// themselves, never the index's cache.
    pub fn registry_verify(&self, name: Option<&str>) -> Result<Vec<Problem>, Error> {
        let fs = self.reg_fs();
        if let Some(n) = name {
            self.ours(&fs, n)?;
        }
        verify::verify(&fs, &self.root, name)
    }

    /// Writes the model card of `target` (NAME@VERSION or NAME@ALIAS, ours or MLflow's) to
    /// `output`, and its training curves as PNG files beside it; a card already there keeps the
    /// user's own sections. Returns the files written.
    pub fn registry_card(&self, target: &str, output: &std::path::Path) -> Result<Vec<PathBuf>, Error> {
        let (m, v) = self.registry_version(target)?;
        let stem = output.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "card".into());
        let (generated, images) = self.card_of(&m, &v, &stem)?;
        let old = std::fs::read_to_string(output).ok();
        let text = card::merge(&generated, old.as_deref());
        let io = |p: &std::path::Path, e: std::io::Error| Error::Io(format!("{}: {e}", p.display()));
        let mut written = Vec::new();
        for (name, png) in images {
            let p = card::image_path(output, &name);
            crate::files::write_file_atomic(&p, &png).map_err(|e| io(&p, e))?;
            written.push(p);
        }
        crate::files::write_file_atomic(output, text.as_bytes()).map_err(|e| io(output, e))?;
        written.insert(0, output.to_path_buf());
        Ok(written)
    }

    /// The model and version `target` names (NAME@VERSION or NAME@ALIAS, ours or MLflow's).
    pub(crate) fn registry_version(&self, target: &str) -> Result<(ModelState, VersionState), Error> {
        let t = parse_target(target);
        let m = self.registry_model(t.name)?;
        let Some(v) = t.version else {
            return Err(refused(format!("give a version: {}@VERSION (or @ALIAS)", t.name)));
        };
        let v = resolve_version(&m, v)?.clone();
        Ok((m, v))
    }

    /// The generated part of a version's model card and its curve images (named `<stem>-<metric>.png`).
    pub(crate) fn card_of(
        &self,
        m: &ModelState,
        v: &VersionState,
        stem: &str,
    ) -> Result<(String, card::Images), Error> {
        let history = if m.source == "runlens" { self.registry_history(&m.name)? } else { Vec::new() };
        let mut curves = Vec::new();
        if let Some(run) = v.run_path.as_deref().and_then(|p| self.find_run(p).ok()) {
            // A curve needs more than one step (a metric logged once, even twice at one step, is a number).
            let mut keys: Vec<&String> =
                run.metrics.iter().filter(|(_, s)| s.last_step > s.first_step).map(|(k, _)| k).collect();
            keys.sort();
            for key in keys.into_iter().take(6) {
                let points = self.series(run.uid, key)?;
                let (lo, hi) = match (points.first(), points.last()) {
                    (Some(a), Some(b)) => (a.step as f64, b.step as f64),
                    _ => continue,
                };
                let points = crate::series::m4_points(&points, 400, lo, hi);
                curves.push((key.clone(), points.iter().map(|p| (p.step as f64, p.value)).collect()));
            }
        }
        card::generate(m, v, &history, &curves, stem, &crate::model::format_utc)
    }

    /// The project's registry policy (`.runlens/registry/policy.yaml`; empty when there is none),
    /// so a shell can say what is protected before anyone is refused.
    pub fn registry_policy(&self) -> Result<policy::Policy, Error> {
        store::load_policy(&self.reg_fs(), &self.root)
    }

    /// The key id of `who`, if they have a key pair yet (never makes one).
    pub fn registry_key_id(who: &Identity) -> Option<String> {
        keys::Signer::existing_id(&who.key_dir)
    }

    /// The public key of `who` (made on first use): its id and its minisign public key file text,
    /// for a colleague's policy.yaml.
    pub fn registry_key(who: &Identity) -> Result<(String, String), Error> {
        let s = keys::Signer::load_or_create(&who.key_dir)?;
        Ok((s.id.clone(), s.public_file(&who.actor().display())))
    }
}

/// VERSION (a number) or ALIAS of `state`.
fn resolve_version<'a>(state: &'a ModelState, v: &str) -> Result<&'a VersionState, Error> {
    let n = match v.parse::<u64>() {
        Ok(n) => n,
        Err(_) => *state
            .aliases
            .get(v)
            .ok_or_else(|| Error::NotFound(format!("{} has no version or alias {v:?}", state.name)))?,
    };
    state.version(n).ok_or_else(|| {
        let have: Vec<String> = state.versions.iter().map(|v| v.version.to_string()).collect();
        Error::NotFound(format!(
            "{} has no version {n}; it has {}",
            state.name,
            if have.is_empty() { "none".into() } else { have.join(", ") }
        ))
    })
}
