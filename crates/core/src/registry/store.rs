//! The registry's files in the project, and their cache in the index.
//!
//! ```text
//! .runlens/registry/policy.yaml                 optional: protected aliases and stages
//! .runlens/registry/keys/<KEY ID>.pub           public keys, minisign's format, published by their first event
//! .runlens/registry/<model>/events/<sha256>.json  one event per file, created exclusively, never edited
//! ```
//! Reading a model lists its events folder and reads only the files the index has not seen; each
//! new file's name is checked against its bytes and its signature against its key once, and the
//! verdict is cached with it (`registry_events`). Deleting the index loses nothing: the next read
//! checks every file again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minisign::PublicKey;
use rusqlite::{params, Connection};
use serde_json::{Map, Value};

use super::event::{canonical, is_hash, sha256_hex, Actor, Event};
use super::keys::{self, Signer};
use super::policy::{self, Policy};
use super::Identity;
use crate::files::{Kind, ProjectFs};
use crate::Error;

pub const DIR: &str = ".runlens/registry";
pub const KEYS: &str = "keys";
pub const EVENTS: &str = "events";
/// An event file is small; anything bigger is not one.
const EVENT_CAP: u64 = 1 << 20;
const KEY_CAP: u64 = 4 << 10;
const POLICY_CAP: u64 = 256 << 10;

pub fn registry_dir(root: &Path) -> PathBuf {
    root.join(".runlens").join("registry")
}

pub fn events_dir(root: &Path, model: &str) -> PathBuf {
    registry_dir(root).join(model).join(EVENTS)
}

/// A model name is one folder name on every OS: no separators or characters Windows refuses, no
/// `@` (it separates NAME@VERSION), no leading dot or space, no trailing dot or space, not a
/// device name, at most 100 bytes, and not `keys`.
pub fn check_name(name: &str) -> Result<(), String> {
    let bad_char = |c: char| c.is_control() || "/\\:*?\"<>|@".contains(c);
    let stem = name.split('.').next().unwrap_or("").to_ascii_uppercase();
    let device = ["CON", "PRN", "AUX", "NUL"].contains(&stem.as_str())
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if name.is_empty()
        || name.len() > 100
        || name.chars().any(bad_char)
        || name.starts_with(['.', ' '])
        || name.ends_with(['.', ' '])
        || device
        || name.eq_ignore_ascii_case(KEYS)
    {
        return Err(format!(
            "{name:?} cannot be a model name: use letters, digits, spaces, '-', '_' and '.', up to 100 bytes, without '@', \
             a leading dot or a trailing dot or space"
        ));
    }
    Ok(())
}

/// The models that have an events folder, by name.
pub fn model_names(fs: &ProjectFs, root: &Path) -> Vec<String> {
    let Ok(entries) = fs.list(&registry_dir(root)) else { return Vec::new() };
    entries
        .into_iter()
        .filter(|e| e.kind == Kind::Dir && check_name(&e.name).is_ok())
        .filter(|e| fs.is_dir(&e.path.join(EVENTS)))
        .map(|e| e.name)
        .collect()
}

/// Public keys by id, read from `keys/` once each.
#[derive(Default)]
pub struct Keys(HashMap<String, Result<PublicKey, String>>);

impl Keys {
    pub fn get(&mut self, fs: &ProjectFs, root: &Path, id: &str) -> Result<&PublicKey, String> {
        if !self.0.contains_key(id) {
            let found = if !keys::is_key_id(id) {
                Err(format!("its key id {id:?} is not 16 hex digits"))
            } else {
                let path = registry_dir(root).join(KEYS).join(format!("{id}.pub"));
                match fs.read_text(&path, KEY_CAP, "a public key") {
                    Ok(text) => match keys::parse_public(&text) {
                        Some((pk, found)) if found == id => Ok(pk),
                        Some((_, found)) => Err(format!("keys/{id}.pub holds key {found}, not {id}")),
                        None => Err(format!("keys/{id}.pub is not a minisign public key")),
                    },
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        Err(format!("it is signed by key {id}, which is not in .runlens/registry/keys/"))
                    }
                    Err(e) => Err(format!("keys/{id}.pub: {e}")),
                }
            };
            self.0.insert(id.to_string(), found);
        }
        self.0[id].as_ref().map_err(Clone::clone)
    }
}

/// Reads one event file and checks it: its name is the SHA-256 of its bytes, it parses, and its
/// signature verifies with its key.
pub fn read_event(fs: &ProjectFs, root: &Path, keys: &mut Keys, path: &Path) -> Result<(Event, Vec<u8>), String> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let hash = name.strip_suffix(".json").filter(|h| is_hash(h)).ok_or("not an event file name")?;
    let bytes = fs.read(path, EVENT_CAP, "a registry event").map_err(|e| e.to_string())?;
    check_bytes(fs, root, keys, hash, &bytes).map(|ev| (ev, bytes))
}

fn check_bytes(fs: &ProjectFs, root: &Path, keys: &mut Keys, hash: &str, bytes: &[u8]) -> Result<Event, String> {
    let actual = sha256_hex(bytes);
    if actual != hash {
        return Err(format!("its bytes do not match its name (SHA-256 {actual}): the file was edited"));
    }
    let (ev, unsigned) = Event::parse(hash, bytes)?;
    let pk = keys.get(fs, root, &ev.key)?;
    keys::verify(pk, &ev.signature, &canonical(&unsigned))
        .map_err(|e| format!("its signature does not verify with key {}: {e}", ev.key))?;
    Ok(ev)
}

/// A cached event file: its (size, mtime), its bytes when it checked out, else why not.
type Cached = ((i64, i64), Option<Vec<u8>>, Option<String>);

/// A cached event's hash, (size, mtime) and bytes, before and after parsing.
type Unparsed = (String, (i64, i64), Vec<u8>);
type Parsed = (String, (i64, i64), Result<Event, String>);

/// Parsed events kept in memory by an open index: model -> hash -> ((size, mtime), event).
pub type Memo = HashMap<String, HashMap<String, ((i64, i64), Arc<Event>)>>;

/// A model's events, read through the index's cache, and the files that are not valid events
/// (with why).
pub struct Loaded {
    pub events: Vec<Arc<Event>>,
    pub bad: Vec<(String, String)>,
}

/// A model's events folder as listed: each event file's (size, mtime) by hash, and the names that
/// are not event files.
pub struct Listing {
    pub files: HashMap<String, (i64, i64)>,
    pub bad: Vec<(String, String)>,
}

impl Listing {
    /// What a fold of this listing under `policy` depends on: the event files (name, size, mtime)
    /// and the policy. Equal keys, equal folds.
    pub fn key(&self, policy: &super::policy::Policy) -> String {
        let mut names: Vec<(&String, &(i64, i64))> = self.files.iter().collect();
        names.sort();
        let mut text = format!("{policy:?}\n");
        for (h, (size, mtime)) in names {
            text.push_str(&format!("{h} {size} {mtime}\n"));
        }
        sha256_hex(text.as_bytes())
    }
}

/// Lists a model's events folder; each file's metadata is read relative to the folder.
pub fn list_events(fs: &ProjectFs, root: &Path, model: &str) -> Result<Listing, Error> {
    let dir = events_dir(root, model);
    let entries = match fs.list_with_metadata(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::Io(format!("{}: {e}", dir.display()))),
    };
    let mut bad = Vec::new();
    // Each event file with its size and mtime: a file edited in place is checked again.
    let mut files: HashMap<String, (i64, i64)> = HashMap::with_capacity(entries.len());
    for (e, md) in &entries {
        if e.name.starts_with('.') {
            continue; // a writer's temporary file, never an event
        }
        match e.name.strip_suffix(".json").filter(|h| is_hash(h)) {
            Some(h) if e.kind == Kind::File => {
                let stamp = md.as_ref().map(|m| (m.len() as i64, crate::registry::pin::mtime_ns(m))).unwrap_or((-1, 0));
                files.insert(h.to_string(), stamp);
            }
            _ => bad.push((e.name.clone(), "not an event file (events are <sha256>.json files)".into())),
        }
    }
    Ok(Listing { files, bad })
}

/// The events of `listing`: parsed ones from memory, others from the index's cache, new or changed
/// files read and checked (and cached).
pub fn load(
    conn: &Connection,
    memo: &std::cell::RefCell<Memo>,
    fs: &ProjectFs,
    root: &Path,
    model: &str,
    listing: &Listing,
) -> Result<Loaded, Error> {
    let dir = events_dir(root, model);
    let names = &listing.files;
    let mut bad = listing.bad.clone();
    let mut memo = memo.borrow_mut();
    let mine = memo.entry(model.to_string()).or_default();
    mine.retain(|h, (stamp, _)| names.get(h) == Some(stamp));
    let mut events: Vec<Arc<Event>> = Vec::with_capacity(names.len());
    if mine.len() == names.len() {
        // Nothing new since this index last read the model: no query, no parsing.
        events.extend(mine.values().map(|(_, e)| e.clone()));
        bad.sort();
        return Ok(Loaded { events, bad });
    }
    // The index's cache: bodies of files it checked before (same size and mtime), parsed on every
    // core; problems it found before; and what it holds for files that are gone.
    let mut checked: Vec<Unparsed> = Vec::new();
    let mut known: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut gone: Vec<String> = Vec::new();
    {
        let mut st =
            conn.prepare_cached("SELECT hash, size, mtime_ns, body, problem FROM registry_events WHERE model = ?1")?;
        let mut rows = st.query([model])?;
        while let Some(r) = rows.next()? {
            let h: String = r.get(0)?;
            let stamp = (r.get::<_, i64>(1)?, r.get::<_, i64>(2)?);
            match names.get(&h) {
                None => gone.push(h),
                Some(s) if *s != stamp => {} // changed since: read again below
                Some(_) if mine.contains_key(&h) => {
                    known.insert(h);
                }
                Some(_) => {
                    if let Some(problem) = r.get::<_, Option<String>>(4)? {
                        bad.push((format!("{h}.json"), problem));
                    } else if let Some(body) = r.get::<_, Option<Vec<u8>>>(3)? {
                        checked.push((h.clone(), stamp, body));
                    }
                    known.insert(h);
                }
            }
        }
    }
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4);
    let parsed: Vec<Vec<Parsed>> = if checked.len() < 256 || threads == 1 {
        vec![checked
            .into_iter()
            .map(|(h, st, b)| {
                let e = Event::parse_checked(&h, &b);
                (h, st, e)
            })
            .collect()]
    } else {
        let chunk = checked.len().div_ceil(threads);
        let mut parts: Vec<Vec<Unparsed>> = Vec::new();
        let mut it = checked.into_iter().peekable();
        while it.peek().is_some() {
            parts.push(it.by_ref().take(chunk).collect());
        }
        std::thread::scope(|sc| {
            let hs: Vec<_> = parts
                .into_iter()
                .map(|part| {
                    sc.spawn(move || {
                        part.into_iter()
                            .map(|(h, st, b)| {
                                let e = Event::parse_checked(&h, &b);
                                (h, st, e)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap_or_default()).collect()
        })
    };
    for (h, stamp, r) in parsed.into_iter().flatten() {
        match r {
            Ok(ev) => {
                let ev = Arc::new(ev);
                mine.insert(h, (stamp, ev));
            }
            Err(why) => bad.push((format!("{h}.json"), why)),
        }
    }
    let mut keys = Keys::default();
    let mut fresh: Vec<(String, Cached)> = Vec::new();
    for (h, stamp) in names {
        if let Some((_, ev)) = mine.get(h) {
            events.push(ev.clone());
            continue;
        }
        if known.contains(h) {
            continue; // a problem already reported, or a body that did not parse
        }
        let path = dir.join(format!("{h}.json"));
        match read_event(fs, root, &mut keys, &path) {
            Ok((ev, bytes)) => {
                fresh.push((h.clone(), (*stamp, Some(bytes), None)));
                let ev = Arc::new(ev);
                mine.insert(h.clone(), (*stamp, ev.clone()));
                events.push(ev);
            }
            Err(why) => {
                fresh.push((h.clone(), (*stamp, None, Some(why.clone()))));
                bad.push((format!("{h}.json"), why));
            }
        }
    }
    if !fresh.is_empty() || !gone.is_empty() {
        let tx = conn.unchecked_transaction()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT OR REPLACE INTO registry_events(model, hash, size, mtime_ns, body, problem) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (h, ((size, mtime), body, problem)) in &fresh {
                ins.execute(params![model, h, size, mtime, body, problem])?;
            }
            let mut del = tx.prepare_cached("DELETE FROM registry_events WHERE model = ?1 AND hash = ?2")?;
            for h in &gone {
                del.execute(params![model, h])?;
            }
        }
        tx.commit()?;
    }
    bad.sort();
    Ok(Loaded { events, bad })
}

/// The project's policy, or the empty one when there is no policy file.
pub fn load_policy(fs: &ProjectFs, root: &Path) -> Result<Policy, Error> {
    let path = registry_dir(root).join(policy::FILE);
    match fs.read_text(&path, POLICY_CAP, "the registry policy") {
        Ok(text) => Policy::parse(&text).map_err(|e| Error::Project(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Policy::default()),
        Err(e) => Err(Error::Project(format!("{}: {e}", path.display()))),
    }
}

/// What a new event says; the writer adds who, when, where, its parents and its signature.
pub struct Draft {
    pub model: String,
    /// The heads the writer saw: the new event's parents.
    pub parents: Vec<String>,
    pub kind: &'static str,
    pub version: Option<u64>,
    pub target: Option<String>,
    pub payload: Map<String, Value>,
}

impl Draft {
    /// The event this draft becomes when `who`, holding key `key`, writes it at `now` (unsigned).
    pub fn event(&self, who: &Identity, key: &str, now: i64) -> Event {
        Event {
            hash: String::new(),
            kind: self.kind.to_string(),
            model: self.model.clone(),
            version: self.version,
            target: self.target.clone(),
            payload: self.payload.clone(),
            at: now,
            actor: who.actor(),
            host: who.host.clone(),
            parents: self.parents.clone(),
            key: key.to_string(),
            signature: String::new(),
        }
    }
}

/// Signs and writes one event after `heads`, publishing the signer's key first if the project does
/// not have it. The event file is created exclusively through the atomic-write path.
pub fn write(
    conn: &Connection,
    fs: &ProjectFs,
    root: &Path,
    draft: Draft,
    who: &Identity,
    signer: &Signer,
    now: i64,
) -> Result<Event, Error> {
    let model = draft.model.as_str();
    let io = |what: &Path, e: std::io::Error| {
        let kept = "nothing was written, the registry is as it was";
        Error::Io(match e.kind() {
            std::io::ErrorKind::StorageFull => format!("the disk holding {} is full: {kept}", what.display()),
            std::io::ErrorKind::ReadOnlyFilesystem => format!("{} is on a read-only disk: {kept}", what.display()),
            _ => format!("{}: {e} ({kept})", what.display()),
        })
    };
    let keys_dir = registry_dir(root).join(KEYS);
    fs.create_dirs(&keys_dir).map_err(|e| io(&keys_dir, e))?;
    let key_path = keys_dir.join(format!("{}.pub", signer.id));
    let mut keys = Keys::default();
    if keys.get(fs, root, &signer.id).is_err() {
        let text = signer.public_file(&Actor::display(&who.actor()));
        if !fs.write_new(&key_path, text.as_bytes()).map_err(|e| io(&key_path, e))? {
            // Another writer published a file under this name: it must hold this key.
            let mut fresh = Keys::default();
            fresh.get(fs, root, &signer.id).map_err(|why| Error::Project(format!("{}: {why}", key_path.display())))?;
        }
    }
    let mut ev = draft.event(who, &signer.id, now);
    ev.signature = signer.sign(&canonical(&ev.unsigned()))?;
    let bytes = ev.file_bytes();
    ev.hash = sha256_hex(&bytes);
    let dir = events_dir(root, model);
    fs.create_dirs(&dir).map_err(|e| io(&dir, e))?;
    let path = dir.join(format!("{}.json", ev.hash));
    fs.write_new(&path, &bytes).map_err(|e| io(&path, e))?;
    if let Ok(md) = fs.stat_file(&path) {
        conn.execute(
            "INSERT OR REPLACE INTO registry_events(model, hash, size, mtime_ns, body, problem) VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
            params![model, ev.hash, md.len() as i64, crate::registry::pin::mtime_ns(&md), bytes],
        )?;
    }
    Ok(ev)
}

/// The fold cached in the index for `model` under `key` ([`Listing::key`]), if it is that one.
pub fn saved_fold(conn: &Connection, model: &str, key: &str) -> Option<super::fold::Folded> {
    let body: Vec<u8> = conn
        .query_row("SELECT folded FROM registry_folds WHERE model = ?1 AND key = ?2", params![model, key], |r| r.get(0))
        .ok()?;
    serde_json::from_slice(&body).ok()
}

/// Keeps `folded` as the fold of `model` under `key`, replacing the one before.
pub fn save_fold(conn: &Connection, model: &str, key: &str, folded: &super::fold::Folded) {
    if let Ok(body) = serde_json::to_vec(folded) {
        let _ = conn.execute(
            "INSERT OR REPLACE INTO registry_folds(model, key, folded) VALUES (?1, ?2, ?3)",
            params![model, key, body],
        );
    }
}
