//! One registry event: its canonical bytes, its name (the SHA-256 of those bytes) and its fields.
//!
//! An event file holds the event's canonical JSON: objects with their keys sorted by bytes, no
//! whitespace, strings and numbers as serde_json writes them. The signature covers the same
//! canonical JSON without the `signature` field, so anyone can check it with `minisign -V` (see
//! ARCHITECTURE.md). Canonical bytes do not depend on how serde_json was built (its
//! `preserve_order` feature is on in the desktop's dependency graph): the writer here sorts keys
//! itself.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The format version written in every event (`"v"`).
pub const FORMAT: u64 = 1;

/// Every kind of event, as written in `"kind"`.
pub const KINDS: &[&str] = &[
    REGISTER,
    SET_ALIAS,
    REMOVE_ALIAS,
    SET_TAG,
    DELETE_TAG,
    SET_DESCRIPTION,
    TRANSITION,
    REQUEST_APPROVAL,
    APPROVE,
    REJECT,
    ARCHIVE,
    RESTORE,
    SET_DATASET,
];
pub const REGISTER: &str = "register";
pub const SET_ALIAS: &str = "set_alias";
pub const REMOVE_ALIAS: &str = "remove_alias";
pub const SET_TAG: &str = "set_tag";
pub const DELETE_TAG: &str = "delete_tag";
pub const SET_DESCRIPTION: &str = "set_description";
pub const TRANSITION: &str = "transition";
pub const REQUEST_APPROVAL: &str = "request_approval";
pub const APPROVE: &str = "approve";
pub const REJECT: &str = "reject";
pub const ARCHIVE: &str = "archive";
pub const RESTORE: &str = "restore";
pub const SET_DATASET: &str = "set_dataset";

/// Who wrote an event: the OS user, and the git identity when one is configured.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize)]
pub struct Actor {
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Actor {
    /// "Ana Lima <ana@example.org>" when a git identity is known, else the OS user.
    pub fn display(&self) -> String {
        match (&self.name, &self.email) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (Some(n), None) => n.clone(),
            (None, Some(e)) => format!("{} <{e}>", self.user),
            (None, None) => self.user.clone(),
        }
    }
}

/// A parsed event. `hash` is the name it was read under (checked against its bytes when read).
#[derive(Clone, Debug)]
pub struct Event {
    pub hash: String,
    pub kind: String,
    pub model: String,
    /// The version number as its writer saw it (the number a register event claims).
    pub version: Option<u64>,
    /// For an event about a version: the hash of that version's register event.
    pub target: Option<String>,
    pub payload: Map<String, Value>,
    pub at: i64,
    pub actor: Actor,
    pub host: String,
    pub parents: Vec<String>,
    /// The signing key's id (16 hex digits, as minisign prints it).
    pub key: String,
    /// The minisign signature file's text.
    pub signature: String,
}

impl Event {
    /// The payload's string field `name`, or "".
    pub fn text(&self, name: &str) -> &str {
        self.payload.get(name).and_then(Value::as_str).unwrap_or("")
    }

    /// The event as JSON without its signature: the bytes that are signed.
    pub fn unsigned(&self) -> Value {
        let mut m = Map::new();
        m.insert("v".into(), FORMAT.into());
        m.insert("kind".into(), self.kind.clone().into());
        m.insert("model".into(), self.model.clone().into());
        if let Some(v) = self.version {
            m.insert("version".into(), v.into());
        }
        if let Some(t) = &self.target {
            m.insert("target".into(), t.clone().into());
        }
        m.insert("payload".into(), Value::Object(self.payload.clone()));
        m.insert("at".into(), self.at.into());
        m.insert("actor".into(), serde_json::to_value(&self.actor).unwrap_or(Value::Null));
        m.insert("host".into(), self.host.clone().into());
        m.insert("parents".into(), self.parents.clone().into());
        m.insert("key".into(), self.key.clone().into());
        Value::Object(m)
    }

    /// The file's bytes: the canonical JSON of the event with its signature.
    pub fn file_bytes(&self) -> Vec<u8> {
        let mut v = self.unsigned();
        v.as_object_mut().expect("an object").insert("signature".into(), self.signature.clone().into());
        canonical(&v)
    }

    /// Parses an event file's bytes read under `name` (its hash). The caller checks the hash.
    pub fn parse(hash: &str, bytes: &[u8]) -> Result<(Event, Value), String> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let o = v.as_object().ok_or("not a JSON object")?;
        let s = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
        let need = |k: &str| s(k).ok_or_else(|| format!("no {k:?} text"));
        if o.get("v").and_then(Value::as_u64) != Some(FORMAT) {
            return Err(format!(
                "format version {} is not one this Runlens reads (1)",
                o.get("v").unwrap_or(&Value::Null)
            ));
        }
        let actor = o.get("actor").and_then(Value::as_object).ok_or("no \"actor\" object")?;
        let astr = |k: &str| actor.get(k).and_then(Value::as_str).map(str::to_string);
        let parents = o
            .get("parents")
            .and_then(Value::as_array)
            .ok_or("no \"parents\" list")?
            .iter()
            .map(|p| p.as_str().filter(|p| is_hash(p)).map(str::to_string).ok_or("a parent is not a SHA-256 hash"))
            .collect::<Result<Vec<_>, _>>()?;
        let ev = Event {
            hash: hash.to_string(),
            kind: need("kind")?,
            model: need("model")?,
            version: o.get("version").and_then(Value::as_u64),
            target: s("target"),
            payload: o.get("payload").and_then(Value::as_object).cloned().ok_or("no \"payload\" object")?,
            at: o.get("at").and_then(Value::as_i64).ok_or("no \"at\" time")?,
            actor: Actor { user: astr("user").unwrap_or_default(), name: astr("name"), email: astr("email") },
            host: s("host").unwrap_or_default(),
            parents,
            key: need("key")?,
            signature: need("signature")?,
        };
        if !KINDS.contains(&ev.kind.as_str()) {
            return Err(format!("unknown kind {:?}", ev.kind));
        }
        let mut unsigned = v;
        unsigned.as_object_mut().expect("an object").remove("signature");
        Ok((ev, unsigned))
    }
}

#[derive(serde::Deserialize)]
struct Stored {
    v: u64,
    kind: String,
    model: String,
    version: Option<u64>,
    target: Option<String>,
    payload: Map<String, Value>,
    at: i64,
    actor: StoredActor,
    #[serde(default)]
    host: String,
    parents: Vec<String>,
    key: String,
}

#[derive(serde::Deserialize)]
struct StoredActor {
    #[serde(default)]
    user: String,
    name: Option<String>,
    email: Option<String>,
}

impl Event {
    /// Parses bytes that were checked before (the index's cache: name, parse and signature held):
    /// straight into the struct, without the signature, which the fold does not need.
    pub fn parse_checked(hash: &str, bytes: &[u8]) -> Result<Event, String> {
        let e: Stored = serde_json::from_slice(bytes).map_err(|e| format!("not an event: {e}"))?;
        if e.v != FORMAT {
            return Err(format!("format version {} is not one this Runlens reads (1)", e.v));
        }
        Ok(Event {
            hash: hash.to_string(),
            kind: e.kind,
            model: e.model,
            version: e.version,
            target: e.target,
            payload: e.payload,
            at: e.at,
            actor: Actor { user: e.actor.user, name: e.actor.name, email: e.actor.email },
            host: e.host,
            parents: e.parents,
            key: e.key,
            signature: String::new(),
        })
    }
}

/// 64 lowercase hex digits.
pub fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The canonical JSON of `v`: keys sorted by their bytes at every level, no whitespace.
pub fn canonical(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, k).expect("a string serializes");
                out.push(b':');
                write_canonical(&m[k], out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(x, out);
            }
            out.push(b']');
        }
        other => serde_json::to_writer(&mut *out, other).expect("a scalar serializes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level_whatever_the_map_order() {
        let v = serde_json::json!({"b": 1, "a": {"z": [1, {"y": 2.5, "x": "é\n"}], "m": null}});
        assert_eq!(String::from_utf8(canonical(&v)).unwrap(), r#"{"a":{"m":null,"z":[1,{"x":"é\n","y":2.5}]},"b":1}"#);
        let back: Value = serde_json::from_slice(&canonical(&v)).unwrap();
        assert_eq!(canonical(&back), canonical(&v));
    }
}
