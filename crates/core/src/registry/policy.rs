//! `.runlens/registry/policy.yaml`: which aliases and stages need approvals, and whose approvals count.
//!
//! ```yaml
//! approvers:                # key ids (as `runlens registry key` prints) or minisign public keys
//!   - 5C3A1F0E9B2D4A11
//! author_may_approve: false # the default: a version's author may not approve it
//! since: 2026-01-01T00:00:00Z   # optional: events before this are not checked
//! protect:
//!   aliases: { champion: { approvals: 1 } }
//!   stages: { Production: { approvals: 2 } }
//! ```
//! Stage names match case-insensitively ("production" is "Production"); alias names exactly.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::event::{Event, APPROVE, SET_ALIAS, TRANSITION};
use super::fold::VersionState;

pub const FILE: &str = "policy.yaml";

/// The project's registry policy, as `policy.yaml` says it (an empty one when there is none).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Policy {
    /// Key ids whose approvals count; empty = every key's.
    pub approvers: Vec<String>,
    pub author_may_approve: bool,
    /// Events before this time (ms) are not judged by the policy.
    pub since: Option<i64>,
    /// Protected aliases: approvals needed.
    pub aliases: BTreeMap<String, u32>,
    /// Protected stages, as written (matched case-insensitively): approvals needed.
    pub stages: BTreeMap<String, u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    approvers: Vec<String>,
    #[serde(default)]
    author_may_approve: bool,
    #[serde(default)]
    since: Option<serde_json::Value>,
    #[serde(default)]
    protect: Protect,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Protect {
    #[serde(default)]
    aliases: BTreeMap<String, Rule>,
    #[serde(default)]
    stages: BTreeMap<String, Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    approvals: u32,
}

impl Policy {
    /// Parses a policy file's text; the error names the line where YAML says it is.
    pub fn parse(text: &str) -> Result<Policy, String> {
        if text.trim().is_empty() {
            return Ok(Policy::default());
        }
        let raw: Raw = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let mut approvers = Vec::new();
        for a in raw.approvers {
            let a = a.trim();
            if super::keys::is_key_id(&a.to_ascii_uppercase()) {
                approvers.push(a.to_ascii_uppercase());
            } else if let Some((_, id)) = super::keys::parse_public(a) {
                approvers.push(id);
            } else {
                return Err(format!("approver {a:?} is neither a key id (16 hex digits) nor a minisign public key"));
            }
        }
        let since = match raw.since {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Number(n)) => n.as_i64(),
            Some(serde_json::Value::String(s)) => {
                Some(crate::readers::iso_ms(&s).ok_or_else(|| format!("since: {s:?} is not an RFC 3339 time"))? as i64)
            }
            Some(other) => return Err(format!("since: {other} is not a time")),
        };
        Ok(Policy {
            approvers,
            author_may_approve: raw.author_may_approve,
            since,
            aliases: raw.protect.aliases.into_iter().map(|(k, r)| (k, r.approvals)).collect(),
            stages: raw.protect.stages.into_iter().map(|(k, r)| (k, r.approvals)).collect(),
        })
    }

    /// The approvals a stage needs, if the policy protects it (names match case-insensitively).
    pub fn stage_approvals(&self, stage: &str) -> Option<u32> {
        self.stages.iter().find(|(k, _)| k.to_lowercase() == stage.to_lowercase()).map(|(_, n)| *n)
    }

    /// Whose approvals of `v` count now: distinct listed keys (any key when none is listed), the
    /// author's only when the policy allows it.
    pub fn counted_approvals(&self, v: &VersionState) -> usize {
        v.approvals
            .iter()
            .filter(|a| self.approvers.is_empty() || self.approvers.contains(&a.key))
            .filter(|a| self.author_may_approve || a.key != v.author_key)
            .count()
    }

    /// Why the policy refuses `ev` on `v` (the version as it is before `ev`), or None.
    pub fn refuses(&self, ev: &Event, v: Option<&VersionState>) -> Option<String> {
        if self.since.is_some_and(|s| ev.at < s) {
            return None;
        }
        let v = v?;
        let need = match ev.kind.as_str() {
            SET_ALIAS => self.aliases.get(ev.text("alias")).map(|n| (*n, format!("alias {:?}", ev.text("alias")))),
            TRANSITION => self.stage_approvals(ev.text("stage")).map(|n| (n, format!("stage {:?}", ev.text("stage")))),
            APPROVE => {
                if !self.approvers.is_empty() && !self.approvers.contains(&ev.key) {
                    return Some(format!(
                        "key {} is not one of the approvers listed in .runlens/registry/policy.yaml",
                        ev.key
                    ));
                }
                if !self.author_may_approve && ev.key == v.author_key {
                    return Some(format!(
                        "the author of version {} may not approve it (`author_may_approve: true` in .runlens/registry/policy.yaml allows it)",
                        v.version
                    ));
                }
                None
            }
            _ => None,
        };
        let (n, what) = need?;
        let have = self.counted_approvals(v);
        (have < n as usize).then(|| {
            format!(
                "{what} is protected by .runlens/registry/policy.yaml: version {} needs {n} approval{} from {}, it has {have}",
                v.version,
                if n == 1 { "" } else { "s" },
                if self.approvers.is_empty() { "anyone but its author".to_string() } else { "listed approvers other than its author".to_string() }
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_parses_and_a_bad_one_names_its_line() {
        let p = Policy::parse(
            "approvers:\n  - 5c3a1f0e9b2d4a11\nprotect:\n  stages:\n    Production: {approvals: 2}\n  aliases:\n    champion: {approvals: 1}\n",
        )
        .unwrap();
        assert_eq!(p.approvers, ["5C3A1F0E9B2D4A11"]);
        assert_eq!(p.stage_approvals("production"), Some(2));
        assert_eq!(p.stages.keys().collect::<Vec<_>>(), ["Production"]);
        assert_eq!(p.aliases.get("champion"), Some(&1));
        let e = Policy::parse("protect:\n  stages:\n    Production: {approvals: many}\n").unwrap_err();
        assert!(e.contains("line 3") || e.contains("3:"), "{e}");
        assert!(Policy::parse("approvers: [nobody]\n").unwrap_err().contains("nobody"));
    }
}
