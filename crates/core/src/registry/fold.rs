//! The state of a model: the fold of its events in one deterministic order.
//!
//! The order is topological (an event after every parent it names), ties broken by `at`, then by
//! hash. Two writers who added events at the same moment both keep them, and every reader, on any
//! machine, with the files in any directory order, computes the same state. An event that does not
//! apply (its version is unknown, or the policy refuses it) is skipped and reported.

use std::borrow::Borrow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::event::*;
use super::policy::Policy;

/// One pinned file of a version: its path inside the model (a folder's files) or its name (a file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PinnedFile {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub by: String,
    pub at: i64,
    pub comment: String,
    pub key: String,
}

/// A version: what `registry list --format json` prints ([`VersionState::to_json`]), and the rest
/// the app and the model card use. Serde gives every field (the index's cache of a fold).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionState {
    pub version: u64,
    pub run_id: Option<String>,
    pub run_path: Option<String>,
    pub stage: Option<String>,
    pub status: Option<String>,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub aliases: Vec<String>,
    pub created_at: Option<i64>,
    pub created_by: Option<String>,
    pub digest: Option<String>,
    pub files: Vec<PinnedFile>,
    pub changed_on_disk: bool,
    pub archived: bool,
    pub approvals: Vec<Approval>,
    /// The register event's hash: what later events name as their `target`.
    pub register: String,
    pub author_key: String,
    /// Project-relative path of the model's files (a file or a folder).
    pub model_path: Option<String>,
    /// The register payload's `source` and `lineage` objects, and where an import came from.
    pub source: Value,
    pub lineage: Value,
    pub imported_from: Value,
    pub rejections: Vec<Approval>,
    pub dataset: Value,
}

/// A model: what `registry list --format json` prints ([`ModelState::to_json`]) and more.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelState {
    pub name: String,
    /// "runlens", "mlflow" or "mlflow-db".
    pub source: String,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub aliases: BTreeMap<String, u64>,
    pub versions: Vec<VersionState>,
    /// The events no other event names as a parent: what the next event's `parents` will be.
    pub heads: Vec<String>,
    /// Where an MLflow registry lives (its `models/<name>` folder or its `mlflow.db`).
    pub location: Option<String>,
    /// Files in the events folder that are not valid events (edited, unsigned, unknown key), with
    /// why: left out of the fold; `registry verify` reports them.
    pub invalid_files: Vec<(String, String)>,
}

impl VersionState {
    /// The version in the shape of the CLI contract.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "version": self.version,
            "run_id": self.run_id,
            "run_path": self.run_path,
            "stage": self.stage,
            "status": self.status,
            "description": self.description,
            "tags": self.tags,
            "aliases": self.aliases,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "digest": self.digest,
            "files": self.files,
            "changed_on_disk": self.changed_on_disk,
            "archived": self.archived,
            "approvals": self.approvals.iter().map(|a| serde_json::json!({"by": a.by, "at": a.at, "comment": a.comment})).collect::<Vec<_>>(),
        })
    }
}

impl ModelState {
    pub fn new(name: &str, source: &str) -> ModelState {
        ModelState {
            name: name.to_string(),
            source: source.to_string(),
            description: None,
            tags: BTreeMap::new(),
            aliases: BTreeMap::new(),
            versions: Vec::new(),
            heads: Vec::new(),
            location: None,
            invalid_files: Vec::new(),
        }
    }

    /// The model in the shape of the CLI contract (`registry list --format json`).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "name": self.name,
            "source": self.source,
            "description": self.description,
            "tags": self.tags,
            "aliases": self.aliases,
            "versions": self.versions.iter().map(VersionState::to_json).collect::<Vec<_>>(),
        })
    }

    pub fn version(&self, n: u64) -> Option<&VersionState> {
        self.versions.iter().find(|v| v.version == n)
    }

    pub fn by_register(&self, hash: &str) -> Option<&VersionState> {
        self.versions.iter().find(|v| v.register == hash)
    }

    fn by_register_mut(&mut self, hash: &str) -> Option<&mut VersionState> {
        self.versions.iter_mut().find(|v| v.register == hash)
    }
}

/// The fold order: indices into `events`, parents first, then by `at`, then by hash. A parent that
/// is not among `events` does not hold its children back (`verify` reports it).
pub fn order<E: Borrow<Event>>(events: &[E]) -> Vec<usize> {
    let events: Vec<&Event> = events.iter().map(Borrow::borrow).collect();
    let pos: HashMap<&str, usize> = events.iter().enumerate().map(|(i, e)| (e.hash.as_str(), i)).collect();
    let mut waiting = vec![0usize; events.len()];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); events.len()];
    for (i, e) in events.iter().enumerate() {
        let mut seen = Vec::new();
        for p in &e.parents {
            if let Some(&j) = pos.get(p.as_str()) {
                if j != i && !seen.contains(&j) {
                    seen.push(j);
                    waiting[i] += 1;
                    children[j].push(i);
                }
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<(i64, &str, usize)>> = events
        .iter()
        .enumerate()
        .filter(|(i, _)| waiting[*i] == 0)
        .map(|(i, e)| Reverse((e.at, e.hash.as_str(), i)))
        .collect();
    let mut out = Vec::with_capacity(events.len());
    while let Some(Reverse((_, _, i))) = ready.pop() {
        out.push(i);
        for &c in &children[i] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.push(Reverse((events[c].at, events[c].hash.as_str(), c)));
            }
        }
    }
    if out.len() < events.len() {
        // A cycle cannot be made with real hashes; a hand-made one is folded in (at, hash) order.
        let mut rest: Vec<usize> = (0..events.len()).filter(|i| waiting[*i] > 0).collect();
        rest.sort_by(|a, b| (events[*a].at, &events[*a].hash).cmp(&(events[*b].at, &events[*b].hash)));
        out.extend(rest);
    }
    out
}

/// What folding gave: the state, and the events that did not apply with why.
#[derive(Clone, Serialize, Deserialize)]
pub struct Folded {
    pub state: ModelState,
    pub skipped: Vec<(String, String)>,
    /// The version number each event touched (its target's, or the one a register got).
    pub versions: HashMap<String, u64>,
}

/// Folds `events` (in `order`) into the state of model `name`, stopping after `until` (ms) when
/// given: the model as it was then.
pub fn fold<E: Borrow<Event>>(
    name: &str,
    events: &[E],
    order: &[usize],
    policy: &Policy,
    until: Option<i64>,
) -> Folded {
    let events: Vec<&Event> = events.iter().map(Borrow::borrow).collect();
    let mut st = ModelState::new(name, "runlens");
    let mut skipped = Vec::new();
    let mut versions = HashMap::new();
    for &i in order {
        let ev = &events[i];
        if until.is_some_and(|t| ev.at > t) {
            continue;
        }
        match apply(&mut st, ev, policy) {
            Ok(v) => {
                if let Some(v) = v {
                    versions.insert(ev.hash.clone(), v);
                }
            }
            Err(why) => skipped.push((ev.hash.clone(), why)),
        }
    }
    let referenced: std::collections::HashSet<&str> =
        events.iter().flat_map(|e| e.parents.iter().map(String::as_str)).collect();
    st.heads = events
        .iter()
        .filter(|e| until.is_none_or(|t| e.at <= t))
        .map(|e| e.hash.clone())
        .filter(|h| !referenced.contains(h.as_str()))
        .collect();
    st.heads.sort();
    finish_aliases(&mut st);
    Folded { state: st, skipped, versions }
}

/// Folds `new` onto `prev` when each new event descends from every event before it (its parents
/// are exactly the heads so far, as when one writer adds to what it saw): the order can then only
/// put it last, so the fold is `prev` plus these events applied. None when one does not (another
/// writer added at the same time): the caller folds everything again.
pub fn extend<E: Borrow<Event>>(prev: &Folded, new: &[E], policy: &Policy) -> Option<Folded> {
    let mut next = prev.clone();
    let mut rest: Vec<&Event> = new.iter().map(Borrow::borrow).collect();
    while !rest.is_empty() {
        let mut heads = next.state.heads.clone();
        heads.sort();
        let i = rest.iter().position(|e| {
            let mut p = e.parents.clone();
            p.sort();
            p.dedup();
            p == heads
        })?;
        let ev = rest.swap_remove(i);
        match apply(&mut next.state, ev, policy) {
            Ok(Some(v)) => {
                next.versions.insert(ev.hash.clone(), v);
            }
            Ok(None) => {}
            Err(why) => next.skipped.push((ev.hash.clone(), why)),
        }
        next.state.heads = vec![ev.hash.clone()];
    }
    finish_aliases(&mut next.state);
    Some(next)
}

fn finish_aliases(st: &mut ModelState) {
    for v in &mut st.versions {
        v.aliases.clear();
    }
    let aliases: Vec<(String, u64)> = st.aliases.iter().map(|(a, v)| (a.clone(), *v)).collect();
    for (a, n) in aliases {
        if let Some(v) = st.versions.iter_mut().find(|v| v.version == n) {
            v.aliases.push(a);
        }
    }
}

/// Applies one event; returns the version number it touched, or why it does not apply.
pub fn apply(st: &mut ModelState, ev: &Event, policy: &Policy) -> Result<Option<u64>, String> {
    if ev.model != st.name {
        return Err(format!("names model {:?}, but lies in the folder of {:?}", ev.model, st.name));
    }
    if ev.kind == REGISTER {
        let taken = |n: u64| st.versions.iter().any(|v| v.version == n);
        let next = st.versions.iter().map(|v| v.version).max().unwrap_or(0) + 1;
        let n = ev.version.filter(|n| *n > 0 && !taken(*n)).unwrap_or(next);
        let p = &ev.payload;
        let src = p.get("source").cloned().unwrap_or(Value::Null);
        let files: Vec<PinnedFile> =
            p.get("files").and_then(|f| serde_json::from_value(f.clone()).ok()).unwrap_or_default();
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        st.versions.push(VersionState {
            version: n,
            run_id: s(&src, "run_id"),
            run_path: s(&src, "run_path"),
            stage: None,
            status: Some("READY".into()),
            description: s(&Value::Object(p.clone()), "description"),
            tags: BTreeMap::new(),
            aliases: Vec::new(),
            created_at: Some(ev.at),
            created_by: Some(ev.actor.display()),
            digest: s(&Value::Object(p.clone()), "digest"),
            files,
            changed_on_disk: false,
            archived: false,
            approvals: Vec::new(),
            register: ev.hash.clone(),
            author_key: ev.key.clone(),
            model_path: s(&src, "path"),
            source: src,
            lineage: p.get("lineage").cloned().unwrap_or(Value::Null),
            imported_from: p.get("imported_from").cloned().unwrap_or(Value::Null),
            rejections: Vec::new(),
            dataset: Value::Null,
        });
        st.versions.sort_by_key(|v| v.version);
        return Ok(Some(n));
    }
    // An event about the model as a whole.
    let Some(target) = &ev.target else {
        match ev.kind.as_str() {
            SET_TAG => {
                st.tags.insert(ev.text("key").to_string(), ev.text("value").to_string());
            }
            DELETE_TAG => {
                st.tags.remove(ev.text("key"));
            }
            SET_DESCRIPTION => st.description = Some(ev.text("description").to_string()).filter(|d| !d.is_empty()),
            REMOVE_ALIAS => {
                st.aliases.remove(ev.text("alias"));
            }
            other => return Err(format!("a {other} event needs a version")),
        }
        return Ok(None);
    };
    let Some(v) = st.by_register(target) else {
        return Err(format!("names version {target}, which this model does not have"));
    };
    if let Some(why) = policy.refuses(ev, Some(v)) {
        return Err(why);
    }
    let n = v.version;
    let approval =
        || Approval { by: ev.actor.display(), at: ev.at, comment: ev.text("comment").to_string(), key: ev.key.clone() };
    match ev.kind.as_str() {
        SET_ALIAS => {
            st.aliases.insert(ev.text("alias").to_string(), n);
        }
        REMOVE_ALIAS => {
            if st.aliases.get(ev.text("alias")) == Some(&n) {
                st.aliases.remove(ev.text("alias"));
            }
        }
        _ => {
            let v = st.by_register_mut(target).expect("found above");
            match ev.kind.as_str() {
                SET_TAG => {
                    v.tags.insert(ev.text("key").to_string(), ev.text("value").to_string());
                }
                DELETE_TAG => {
                    v.tags.remove(ev.text("key"));
                }
                SET_DESCRIPTION => v.description = Some(ev.text("description").to_string()).filter(|d| !d.is_empty()),
                TRANSITION => v.stage = Some(ev.text("stage").to_string()).filter(|s| !s.is_empty() && s != "None"),
                REQUEST_APPROVAL => {}
                APPROVE => {
                    v.approvals.retain(|a| a.key != ev.key);
                    v.approvals.push(approval());
                }
                REJECT => {
                    v.approvals.retain(|a| a.key != ev.key);
                    v.rejections.push(approval());
                }
                ARCHIVE => v.archived = true,
                RESTORE => v.archived = false,
                SET_DATASET => v.dataset = ev.payload.get("dataset").cloned().unwrap_or(Value::Null),
                other => return Err(format!("unknown kind {other}")),
            }
        }
    }
    Ok(Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(hash: char, at: i64, parents: &[char], kind: &str, target: Option<char>, payload: Value) -> Event {
        let h = |c: char| c.to_string().repeat(64);
        Event {
            hash: h(hash),
            kind: kind.into(),
            model: "m".into(),
            version: None,
            target: target.map(h),
            payload: payload.as_object().cloned().unwrap_or_default(),
            at,
            actor: Actor { user: "u".into(), ..Default::default() },
            host: "h".into(),
            parents: parents.iter().map(|c| h(*c)).collect(),
            key: "K".into(),
            signature: String::new(),
        }
    }

    #[test]
    fn parents_come_first_then_time_then_hash_whatever_the_input_order() {
        // b's clock is behind a's, but b names a as its parent.
        let evs = vec![
            ev('b', 5, &['a'], SET_TAG, None, serde_json::json!({"key": "k", "value": "b"})),
            ev('a', 10, &[], SET_TAG, None, serde_json::json!({"key": "k", "value": "a"})),
            ev('d', 20, &['a'], SET_TAG, None, serde_json::json!({"key": "k", "value": "d"})),
            ev('c', 20, &['a'], SET_TAG, None, serde_json::json!({"key": "k", "value": "c"})),
        ];
        let names =
            |o: Vec<usize>, evs: &[Event]| o.iter().map(|i| evs[*i].hash.chars().next().unwrap()).collect::<String>();
        assert_eq!(names(order(&evs), &evs), "abcd");
        let mut rev = evs.clone();
        rev.reverse();
        assert_eq!(names(order(&rev), &rev), "abcd");
        let f = fold("m", &evs, &order(&evs), &Policy::default(), None);
        assert_eq!(f.state.tags["k"], "d", "the last in fold order wins");
        assert_eq!(f.state.heads.len(), 3);
    }

    #[test]
    fn extending_a_fold_equals_folding_again_and_refuses_a_concurrent_event() {
        let a = ev('a', 1, &[], SET_TAG, None, serde_json::json!({"key": "k", "value": "a"}));
        let b = ev('b', 9, &['a'], SET_TAG, None, serde_json::json!({"key": "k", "value": "b"}));
        let c = ev('c', 5, &['b'], SET_TAG, None, serde_json::json!({"key": "k", "value": "c"}));
        let d = ev('d', 7, &['a'], SET_TAG, None, serde_json::json!({"key": "j", "value": "d"}));
        let p = Policy::default();
        let first = fold("m", std::slice::from_ref(&a), &[0], &p, None);
        let all = vec![a.clone(), b.clone(), c.clone()];
        let whole = fold("m", &all, &order(&all), &p, None);
        let grown = extend(&first, &[c.clone(), b.clone()], &p).expect("a chain onto the heads");
        assert_eq!(grown.state, whole.state);
        assert_eq!(grown.state.tags["k"], "c", "c descends from b: last, though its clock is earlier");
        assert!(extend(&grown, &[d], &p).is_none(), "d does not descend from c: fold again");
    }

    #[test]
    fn two_registers_claiming_one_number_both_get_a_version() {
        let mut a = ev('a', 1, &[], REGISTER, None, serde_json::json!({}));
        a.version = Some(1);
        let mut b = ev('b', 1, &[], REGISTER, None, serde_json::json!({}));
        b.version = Some(1);
        let t = ev('c', 2, &['a', 'b'], SET_ALIAS, Some('b'), serde_json::json!({"alias": "x"}));
        let evs = vec![b, a, t];
        let f = fold("m", &evs, &order(&evs), &Policy::default(), None);
        assert_eq!(f.state.versions.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(f.state.aliases["x"], 2, "the alias follows the register event, not the claimed number");
    }
}
