//! Run filter language: a superset of MLflow's `search_runs` filter syntax.
//!
//! A filter string is parsed into an [`Expr`] by [`parse_filter`] and compiled by
//! [`compile`] into a SQLite `WHERE` fragment over the index schema (runs table
//! aliased `r`). Sort keys are parsed by [`parse_sort`] and turned into an
//! `ORDER BY` list by [`order_by`] (one key) or [`order_by_keys`] (several keys).
//! All errors are [`ParseError`]s; [`ParseError::render`] gives a complete message
//! with the input line and a caret under the offending column.
//!
//! ```text
//! filter    := <empty>                      -> Ok(None): no condition, every run matches
//!            | or
//! or        := and ( OR and )*
//! and       := not ( AND not )*
//! not       := NOT not | primary            -- precedence: NOT > AND > OR
//! primary   := '(' or ')' | condition
//! condition := key op literal               -- op: = == != <> < <= > >= LIKE ILIKE NOT LIKE NOT ILIKE ~ !~
//!            | key [NOT] IN '(' literal (',' literal)* ')'
//!            | key IS [NOT] NULL
//! key       := entity '.' name | attribute  -- a bare identifier is an attribute
//! entity    := metric(s) | param(s) | parameter(s) | tag(s) | attribute(s) | attr | run
//! name      := [A-Za-z0-9_./:-]+ | `quoted` | "quoted"      (doubled quote char escapes itself)
//! literal   := 'text' | "text" | number     (doubled quote or \' \" \\ escape; other \ kept as is)
//! ```
//! Keywords and entity prefixes are case-insensitive; metric/param/tag key names are
//! case-sensitive; attribute names are case-insensitive.
//!
//! Semantics (the caller must call [`register_functions`] on the connection first):
//! * metrics compare the series' `last` value (NaN is stored as NULL and then matches
//!   no `=`/`<`/... comparison but does match `!=` and `NOT IN`);
//! * params/tags are text: a string literal compares as text (BINARY collation), a
//!   numeric literal compares `num(value)` numerically; text that is not a number only
//!   matches `!=` / `NOT IN` with numeric literals;
//! * `!=`, `NOT IN`, `NOT LIKE`, `NOT ILIKE`, `!~` only match runs that have the key
//!   (as in MLflow); for attributes, "has the key" means the column is not NULL;
//! * `IS NULL` means the run has no such metric/param/tag (a metric whose last value is
//!   NaN still exists), or the attribute column is NULL;
//! * `NOT x` is two-valued: it matches every run `x` does not match;
//! * `LIKE` is case-sensitive, `ILIKE` Unicode-case-insensitive; `%` and `_` are the
//!   only wildcards (no escape character); `~` is an unanchored regex-lite search;
//! * `status` compares case-insensitively (literals are lowercased; `~` gets `(?i)`).
//!
//! The fragment does not filter `r.deleted`; the caller adds that.

use std::fmt;

use regex_lite::Regex;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;

// ---------------------------------------------------------------------------
// AST
// ---------------------------------------------------------------------------

/// What a key refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    Metric,
    Param,
    Tag,
    Attribute,
}

/// A metric/param/tag key, or an attribute. For attributes `name` is the canonical
/// attribute name, e.g. `run_name` becomes `name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub entity: Entity,
    pub name: String,
}

/// A literal value in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
}

/// Comparison operators (IN and IS NULL have their own [`Expr`] variants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    ILike,
    NotLike,
    NotILike,
    Regex,
    NotRegex,
}

/// A parsed filter. `col` in `Cmp` is the 1-based character column of the literal;
/// `And`/`Or` chains are built as balanced trees (both operators are associative).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp { key: Key, op: Op, value: Literal, col: usize },
    In { key: Key, values: Vec<Literal>, negated: bool },
    IsNull { key: Key, negated: bool },
}

/// A sort key: `metrics.loss`, `-start_time`, `params.lr desc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub key: Key,
    pub descending: bool,
}

/// A SQL fragment with its bound parameters, in `?` placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    pub where_sql: String,
    pub params: Vec<Value>,
}

/// A filter/key/sort syntax or type error. `column` is the 1-based character (not byte)
/// column of the offending token in the input; the column one past the last character
/// means "at end of input". `column == 0` means unknown (errors from [`compile`] on a
/// hand-built `In`/`IsNull` expression, which carry no position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub column: usize,
}

impl Op {
    /// The operator as written in a filter.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Like => "LIKE",
            Op::ILike => "ILIKE",
            Op::NotLike => "NOT LIKE",
            Op::NotILike => "NOT ILIKE",
            Op::Regex => "~",
            Op::NotRegex => "!~",
        }
    }

    /// Operators that only make sense with a string (pattern) operand.
    fn is_text_only(self) -> bool {
        matches!(self, Op::Like | Op::ILike | Op::NotLike | Op::NotILike | Op::Regex | Op::NotRegex)
    }

    /// Splits a negated operator into its positive form and `true`.
    fn split(self) -> (Op, bool) {
        match self {
            Op::Ne => (Op::Eq, true),
            Op::NotLike => (Op::Like, true),
            Op::NotILike => (Op::ILike, true),
            Op::NotRegex => (Op::Regex, true),
            op => (op, false),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Key {
    /// Writes the key so that [`parse_key`] reads it back: `metrics.val_acc`,
    /// ``params.`a b` ``, `start_time`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.entity {
            Entity::Metric => "metrics",
            Entity::Param => "params",
            Entity::Tag => "tags",
            Entity::Attribute => return f.write_str(&self.name),
        };
        if !self.name.is_empty() && self.name.chars().all(is_key_char) {
            write!(f, "{prefix}.{}", self.name)
        } else {
            write!(f, "{prefix}.`{}`", self.name.replace('`', "``"))
        }
    }
}

impl ParseError {
    fn new(column: usize, message: impl Into<String>) -> Self {
        ParseError { message: message.into(), column }
    }

    /// A complete, self-contained error text: the [`Display`](fmt::Display) line, then
    /// the input line holding the error and a caret under its column, both indented by
    /// two spaces, with no trailing newline:
    /// ```text
    /// column 12: unterminated string: the ' here is never closed
    ///   params.a = 'abc
    ///              ^
    /// ```
    /// Tabs before the column are repeated in the caret line so the caret lines up.
    /// With `column == 0` (unknown) there is no caret line; the first input line is shown.
    pub fn render(&self, input: &str) -> String {
        let chars: Vec<char> = input.chars().collect();
        if self.column == 0 {
            let line: String = chars.iter().take_while(|c| **c != '\n').collect();
            return format!("{self}\n  {line}");
        }
        let idx = (self.column - 1).min(chars.len());
        let start = chars[..idx].iter().rposition(|c| *c == '\n').map_or(0, |i| i + 1);
        let end = chars[start..].iter().position(|c| *c == '\n').map_or(chars.len(), |i| start + i);
        let line: String = chars[start..end].iter().filter(|c| **c != '\r').collect();
        let mut caret: String = chars[start..idx].iter().map(|c| if *c == '\t' { '\t' } else { ' ' }).collect();
        caret.push('^');
        format!("{self}\n  {line}\n  {caret}")
    }
}

impl fmt::Display for ParseError {
    /// `column N: message` (just the message when the column is unknown).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "column {}: {}", self.column, self.message)
        }
    }
}

impl std::error::Error for ParseError {}

// ---------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AttrKind {
    Text,
    Number,
    Status,
}

struct AttrDef {
    name: &'static str,
    aliases: &'static [&'static str],
    sql: &'static str,
    kind: AttrKind,
}

const ATTRIBUTES: &[AttrDef] = &[
    AttrDef { name: "id", aliases: &["run_id"], sql: "r.id", kind: AttrKind::Text },
    AttrDef { name: "name", aliases: &["run_name"], sql: "r.name", kind: AttrKind::Text },
    AttrDef { name: "status", aliases: &[], sql: "r.status", kind: AttrKind::Status },
    AttrDef { name: "start_time", aliases: &[], sql: "r.start_time", kind: AttrKind::Number },
    AttrDef { name: "end_time", aliases: &[], sql: "r.end_time", kind: AttrKind::Number },
    AttrDef { name: "duration", aliases: &[], sql: "(r.end_time - r.start_time)", kind: AttrKind::Number },
    AttrDef { name: "experiment", aliases: &["experiment_name"], sql: "r.experiment", kind: AttrKind::Text },
    AttrDef { name: "experiment_id", aliases: &[], sql: "r.experiment_id", kind: AttrKind::Text },
    AttrDef { name: "source", aliases: &[], sql: "r.source", kind: AttrKind::Text },
    AttrDef { name: "path", aliases: &[], sql: "r.path", kind: AttrKind::Text },
    AttrDef { name: "parent_id", aliases: &["parent_run_id"], sql: "r.parent_id", kind: AttrKind::Text },
    AttrDef { name: "user", aliases: &["user_id"], sql: "r.user", kind: AttrKind::Text },
    AttrDef { name: "artifact_uri", aliases: &[], sql: "r.artifact_uri", kind: AttrKind::Text },
];

fn lookup_attribute(name: &str) -> Option<&'static AttrDef> {
    let lower = name.to_ascii_lowercase();
    ATTRIBUTES.iter().find(|a| a.name == lower || a.aliases.contains(&lower.as_str()))
}

fn unknown_attribute(column: usize, name: &str) -> ParseError {
    let valid: Vec<String> =
        ATTRIBUTES
            .iter()
            .map(|a| {
                if a.aliases.is_empty() {
                    a.name.to_string()
                } else {
                    format!("{} ({})", a.name, a.aliases.join(", "))
                }
            })
            .collect();
    ParseError::new(
        column,
        format!(
            "unknown attribute '{name}'; valid attributes are: {} \
             (use metrics.<key>, params.<key> or tags.<key> for anything else)",
            valid.join(", ")
        ),
    )
}

fn entity_from_prefix(prefix: &str) -> Option<Entity> {
    match prefix.to_ascii_lowercase().as_str() {
        "metric" | "metrics" => Some(Entity::Metric),
        "param" | "params" | "parameter" | "parameters" => Some(Entity::Param),
        "tag" | "tags" => Some(Entity::Tag),
        "attribute" | "attributes" | "attr" | "run" => Some(Entity::Attribute),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Type rules (shared by the parser and `compile`)
// ---------------------------------------------------------------------------

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The regex actually sent to SQLite for `key ~ pattern`.
fn regex_pattern(key: &Key, pattern: &str) -> String {
    let status =
        key.entity == Entity::Attribute && lookup_attribute(&key.name).is_some_and(|a| a.kind == AttrKind::Status);
    if status {
        format!("(?i){pattern}")
    } else {
        pattern.to_string()
    }
}

/// Checks that `key op value` is well-typed; errors point at `col` (the literal).
fn check_cmp(key: &Key, op: Op, value: &Literal, col: usize) -> Result<(), ParseError> {
    match key.entity {
        Entity::Metric => {
            if op.is_text_only() {
                return Err(ParseError::new(
                    col,
                    format!("{op} does not apply to metric '{key}': metrics are numeric"),
                ));
            }
            if let Literal::Str(s) = value {
                return Err(ParseError::new(
                    col,
                    format!("metric '{key}' is numeric: compare it with a number, not the string {s:?}"),
                ));
            }
        }
        Entity::Param | Entity::Tag => {
            if let (true, Literal::Num(v)) = (op.is_text_only(), value) {
                return Err(ParseError::new(
                    col,
                    format!("{op} needs a quoted string pattern, e.g. '{}'", fmt_num(*v)),
                ));
            }
        }
        Entity::Attribute => {
            let def = lookup_attribute(&key.name).ok_or_else(|| unknown_attribute(col, &key.name))?;
            match (def.kind, value) {
                (AttrKind::Number, _) if op.is_text_only() => {
                    return Err(ParseError::new(col, format!("{op} does not apply to '{}': it is numeric", def.name)));
                }
                (AttrKind::Number, Literal::Str(s)) => {
                    return Err(ParseError::new(
                        col,
                        format!(
                            "attribute '{}' is numeric (milliseconds): compare it with a number, \
                             not the string {s:?}",
                            def.name
                        ),
                    ));
                }
                (AttrKind::Text | AttrKind::Status, Literal::Num(v)) => {
                    return Err(ParseError::new(
                        col,
                        format!("attribute '{}' is text: quote the value, e.g. '{}'", def.name, fmt_num(*v)),
                    ));
                }
                _ => {}
            }
        }
    }
    if let (Op::Regex | Op::NotRegex, Literal::Str(pattern)) = (op, value) {
        if let Err(e) = Regex::new(&regex_pattern(key, pattern)) {
            let msg = e.to_string().replace('\n', " ");
            return Err(ParseError::new(col, format!("invalid regular expression {pattern:?}: {msg}")));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

/// Maximum nesting of parentheses and NOTs; deeper input is rejected (no stack overflow).
const MAX_DEPTH: usize = 64;

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | ':' | '-')
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

/// Builds a balanced tree of `mk` over `items` (None when empty).
fn balance(mut items: Vec<Expr>, mk: fn(Box<Expr>, Box<Expr>) -> Expr) -> Option<Expr> {
    match items.len() {
        0 | 1 => items.pop(),
        n => {
            let right = items.split_off(n / 2);
            Some(mk(Box::new(balance(items, mk)?), Box::new(balance(right, mk)?)))
        }
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn new(input: &str) -> Self {
        Parser { chars: input.chars().collect(), pos: 0, depth: 0 }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    fn col(&self) -> usize {
        self.pos + 1
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn error_here(&self, message: impl Into<String>) -> ParseError {
        ParseError::new(self.col(), message)
    }

    /// A short description of the token at the cursor, for messages.
    fn describe_here(&self) -> String {
        match self.peek() {
            None => "end of input".to_string(),
            Some(c) if is_key_char(c) => {
                let word: String = self.chars[self.pos..].iter().take_while(|c| is_key_char(**c)).take(40).collect();
                format!("'{word}'")
            }
            Some('\'') => "\"'\"".to_string(),
            Some(c) => format!("'{c}'"),
        }
    }

    /// Consumes the exact symbol `s` if it is next.
    fn eat_symbol(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        if s.chars().enumerate().all(|(i, c)| self.peek_at(i) == Some(c)) {
            self.pos += n;
            true
        } else {
            false
        }
    }

    /// Skips whitespace, then consumes keyword `kw` (case-insensitive, whole word).
    fn eat_keyword(&mut self, kw: &str) -> bool {
        self.skip_ws();
        let n = kw.chars().count();
        let matches = kw.chars().enumerate().all(|(i, k)| self.peek_at(i).is_some_and(|c| c.eq_ignore_ascii_case(&k)))
            && !self.peek_at(n).is_some_and(is_key_char);
        if matches {
            self.pos += n;
        }
        matches
    }

    fn read_word(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_key_char) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn enter(&mut self, col: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                col,
                format!("filter is nested too deeply (more than {MAX_DEPTH} levels of parentheses/NOT)"),
            ));
        }
        Ok(())
    }

    fn expect_end(&mut self, what: &str) -> Result<(), ParseError> {
        self.skip_ws();
        if self.at_end() {
            Ok(())
        } else {
            Err(self.error_here(format!("unexpected {} after the {what}", self.describe_here())))
        }
    }

    fn parse_or(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.parse_and()?];
        while self.eat_keyword("OR") {
            items.push(self.parse_and()?);
        }
        balance(items, Expr::Or).ok_or_else(|| self.error_here("internal error: empty OR"))
    }

    fn parse_and(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.parse_not()?];
        while self.eat_keyword("AND") {
            items.push(self.parse_not()?);
        }
        balance(items, Expr::And).ok_or_else(|| self.error_here("internal error: empty AND"))
    }

    fn parse_not(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        let col = self.col();
        if self.eat_keyword("NOT") {
            self.enter(col)?;
            let inner = self.parse_not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.parse_primary()
    }

    fn parse_primary(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        match self.peek() {
            None => Err(self.error_here("expected a condition, found end of input")),
            Some('(') => {
                let open = self.col();
                self.enter(open)?;
                self.pos += 1;
                let inner = self.parse_or()?;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return Err(self.error_here(format!(
                        "expected ')' to close the '(' at column {open}, found {}",
                        self.describe_here()
                    )));
                }
                self.pos += 1;
                self.depth -= 1;
                Ok(inner)
            }
            Some(')') => Err(self.error_here("expected a condition, found ')'")),
            Some(_) => self.parse_condition(),
        }
    }

    fn parse_condition(&mut self) -> Result<Expr, ParseError> {
        let key = self.parse_key_here()?;
        self.skip_ws();
        let op_col = self.col();
        const SYMBOLS: [(&str, Op); 10] = [
            ("!=", Op::Ne),
            ("<>", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!~", Op::NotRegex),
            ("=", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
            ("~", Op::Regex),
        ];
        for (sym, op) in SYMBOLS {
            if self.eat_symbol(sym) {
                return self.finish_cmp(key, op, &format!("'{sym}'"));
            }
        }
        if self.eat_keyword("LIKE") {
            return self.finish_cmp(key, Op::Like, "LIKE");
        }
        if self.eat_keyword("ILIKE") {
            return self.finish_cmp(key, Op::ILike, "ILIKE");
        }
        if self.eat_keyword("IN") {
            return self.finish_in(key, false);
        }
        if self.eat_keyword("NOT") {
            if self.eat_keyword("LIKE") {
                return self.finish_cmp(key, Op::NotLike, "NOT LIKE");
            }
            if self.eat_keyword("ILIKE") {
                return self.finish_cmp(key, Op::NotILike, "NOT ILIKE");
            }
            if self.eat_keyword("IN") {
                return self.finish_in(key, true);
            }
            return Err(
                self.error_here(format!("expected LIKE, ILIKE or IN after NOT, found {}", self.describe_here()))
            );
        }
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            if self.eat_keyword("NULL") {
                return Ok(Expr::IsNull { key, negated });
            }
            let is = if negated { "IS NOT" } else { "IS" };
            return Err(self.error_here(format!("expected NULL after {is}, found {}", self.describe_here())));
        }
        Err(ParseError::new(
            op_col,
            format!(
                "expected an operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS NULL, ~, !~) \
                 after {key}, found {}",
                self.describe_here()
            ),
        ))
    }

    fn finish_cmp(&mut self, key: Key, op: Op, after: &str) -> Result<Expr, ParseError> {
        let (value, col) = self.parse_literal(after)?;
        check_cmp(&key, op, &value, col)?;
        Ok(Expr::Cmp { key, op, value, col })
    }

    fn finish_in(&mut self, key: Key, negated: bool) -> Result<Expr, ParseError> {
        let what = if negated { "NOT IN" } else { "IN" };
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(self.error_here(format!("expected '(' after {what}, found {}", self.describe_here())));
        }
        let open = self.col();
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(')') {
            return Err(self.error_here(format!("empty {what} list")));
        }
        let mut values = Vec::new();
        loop {
            let (value, col) = self.parse_literal(&format!("'(' or ',' in the {what} list"))?;
            check_cmp(&key, Op::Eq, &value, col)?;
            values.push(value);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    break;
                }
                _ => {
                    return Err(self.error_here(format!(
                        "expected ',' or ')' in the {what} list opened at column {open}, found {}",
                        self.describe_here()
                    )))
                }
            }
        }
        Ok(Expr::In { key, values, negated })
    }

    /// Parses `entity.name`, `entity.`quoted``, or a bare attribute at the cursor.
    fn parse_key_here(&mut self) -> Result<Key, ParseError> {
        self.skip_ws();
        let col = self.col();
        match self.peek() {
            Some(c) if is_word_start(c) => {}
            Some('`' | '"') => {
                return Err(
                    self.error_here("a quoted key needs an entity prefix, e.g. metrics.`val/loss` or params.\"a b\"")
                )
            }
            _ => {
                return Err(self.error_here(format!(
                    "expected a key (metrics.<name>, params.<name>, tags.<name> or an attribute \
                     such as status), found {}",
                    self.describe_here()
                )))
            }
        }
        let word = self.read_word();
        // `word` is ASCII (key chars only), so byte offsets are character offsets.
        let Some(dot) = word.find('.') else {
            return match lookup_attribute(&word) {
                Some(def) => Ok(Key { entity: Entity::Attribute, name: def.name.to_string() }),
                None if entity_from_prefix(&word).is_some() => {
                    Err(ParseError::new(col, format!("'{word}' needs a key name, e.g. {word}.<name>")))
                }
                None => Err(unknown_attribute(col, &word)),
            };
        };
        let (prefix, rest) = (&word[..dot], &word[dot + 1..]);
        let Some(entity) = entity_from_prefix(prefix) else {
            return Err(ParseError::new(
                col,
                format!("unknown key type '{prefix}': expected metrics., params., tags. or attributes."),
            ));
        };
        let name_col = col + dot + 1;
        let name = if !rest.is_empty() {
            rest.to_string()
        } else {
            match self.peek() {
                Some(q @ ('`' | '"')) => self.parse_quoted(q, false)?,
                _ => {
                    return Err(self
                        .error_here(format!("expected a key name after '{prefix}.', found {}", self.describe_here())))
                }
            }
        };
        if name.is_empty() {
            return Err(ParseError::new(name_col, "empty key name"));
        }
        if entity == Entity::Attribute {
            let def = lookup_attribute(&name).ok_or_else(|| unknown_attribute(name_col, &name))?;
            return Ok(Key { entity, name: def.name.to_string() });
        }
        Ok(Key { entity, name })
    }

    /// Parses a quoted string or key starting at the quote char `q` under the cursor.
    /// A doubled quote char stands for itself; with `backslash`, `\'` `\"` `\\` are
    /// escapes too (any other backslash is kept literally, so regexes like `\d` work).
    fn parse_quoted(&mut self, q: char, backslash: bool) -> Result<String, ParseError> {
        let start = self.col();
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    let what = if backslash { "string" } else { "quoted key" };
                    return Err(ParseError::new(start, format!("unterminated {what}: the {q} here is never closed")));
                }
                Some(c) if c == q => {
                    if self.peek_at(1) == Some(q) {
                        out.push(q);
                        self.pos += 2;
                    } else {
                        self.pos += 1;
                        return Ok(out);
                    }
                }
                Some('\\') if backslash => match self.peek_at(1) {
                    Some(e @ ('\'' | '"' | '\\')) => {
                        out.push(e);
                        self.pos += 2;
                    }
                    _ => {
                        out.push('\\');
                        self.pos += 1;
                    }
                },
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn parse_literal(&mut self, after: &str) -> Result<(Literal, usize), ParseError> {
        self.skip_ws();
        let col = self.col();
        match self.peek() {
            None => Err(self.error_here(format!("expected a value after {after}, found end of input"))),
            Some(q @ ('\'' | '"')) => Ok((Literal::Str(self.parse_quoted(q, true)?), col)),
            Some(c) if c.is_ascii_digit() || matches!(c, '.' | '-' | '+') => {
                Ok((Literal::Num(self.parse_number()?), col))
            }
            Some(c) if is_word_start(c) => {
                let word = self.read_word();
                let hint = if word.eq_ignore_ascii_case("null") {
                    "to test for a missing value use IS NULL or IS NOT NULL".to_string()
                } else {
                    format!("text values must be quoted: '{word}'")
                };
                Err(ParseError::new(
                    col,
                    format!("expected a quoted string or a number after {after}, found '{word}'; {hint}"),
                ))
            }
            Some(_) => Err(self.error_here(format!(
                "expected a value (a quoted string or a number) after {after}, found {}",
                self.describe_here()
            ))),
        }
    }

    /// `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`, not followed by a key char.
    fn parse_number(&mut self) -> Result<f64, ParseError> {
        let start = self.pos;
        let col = self.col();
        let is_digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
        if matches!(self.peek(), Some('+' | '-')) {
            self.pos += 1;
        }
        let mut digits = 0;
        while is_digit(self.peek()) {
            self.pos += 1;
            digits += 1;
        }
        if self.peek() == Some('.') {
            self.pos += 1;
            while is_digit(self.peek()) {
                self.pos += 1;
                digits += 1;
            }
        }
        if digits > 0 && matches!(self.peek(), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek_at(1), Some('+' | '-')));
            if is_digit(self.peek_at(1 + sign)) {
                self.pos += 1 + sign;
                while is_digit(self.peek()) {
                    self.pos += 1;
                }
            }
        }
        let malformed = digits == 0 || self.peek().is_some_and(is_key_char);
        while self.peek().is_some_and(is_key_char) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if malformed {
            return Err(ParseError::new(col, format!("invalid number '{text}'")));
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            Ok(_) => Err(ParseError::new(col, format!("number out of range '{text}'"))),
            Err(_) => Err(ParseError::new(col, format!("invalid number '{text}'"))),
        }
    }
}

/// Parses a filter. Empty or whitespace-only input gives `Ok(None)` (no condition:
/// every run matches). Type errors (e.g. a string compared with a metric, an invalid
/// regex) are reported here too, at the literal's column.
pub fn parse_filter(input: &str) -> Result<Option<Expr>, ParseError> {
    let mut p = Parser::new(input);
    p.skip_ws();
    if p.at_end() {
        return Ok(None);
    }
    let expr = p.parse_or()?;
    p.skip_ws();
    match p.peek() {
        None => Ok(Some(expr)),
        Some(')') => Err(p.error_here("unmatched ')'")),
        Some(_) => Err(p.error_here(format!("expected AND, OR or end of input, found {}", p.describe_here()))),
    }
}

/// Parses a single key: `metrics.val_acc`, ``params.`a b` ``, `tags."x"`, `start_time`.
/// Surrounding whitespace is allowed.
#[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))] // tests and fuzz targets
pub fn parse_key(input: &str) -> Result<Key, ParseError> {
    let mut p = Parser::new(input);
    let key = p.parse_key_here()?;
    p.expect_end("key")?;
    Ok(key)
}

/// The columns (`metrics.loss`, `params.lr`, `attributes.name`) that sort keys and a filter mention,
/// in order: what a table shows beside the fixed ones. Keys that do not parse are left out.
pub fn mentioned_columns(filter: &str, sort: &[String]) -> Vec<String> {
    fn column(k: &Key) -> String {
        let prefix = match k.entity {
            Entity::Metric => "metrics",
            Entity::Param => "params",
            Entity::Tag => "tags",
            Entity::Attribute => "attributes",
        };
        format!("{prefix}.{}", k.name)
    }
    fn collect(e: &Expr, out: &mut Vec<String>) {
        match e {
            Expr::And(a, b) | Expr::Or(a, b) => {
                collect(a, out);
                collect(b, out);
            }
            Expr::Not(a) => collect(a, out),
            Expr::Cmp { key, .. } | Expr::In { key, .. } | Expr::IsNull { key, .. } => out.push(column(key)),
        }
    }
    let mut out: Vec<String> = sort.iter().filter_map(|s| parse_sort(s).ok()).map(|k| column(&k.key)).collect();
    if let Ok(Some(expr)) = parse_filter(filter) {
        collect(&expr, &mut out);
    }
    out
}

/// Parses a sort key: a key with an optional leading `-` (descending) or `+`, and an
/// optional trailing `asc`/`desc` (case-insensitive). `-key asc` is an error.
pub fn parse_sort(input: &str) -> Result<SortKey, ParseError> {
    let mut p = Parser::new(input);
    p.skip_ws();
    let sign_col = p.col();
    let mut descending = false;
    match p.peek() {
        Some('-') => {
            descending = true;
            p.pos += 1;
        }
        Some('+') => p.pos += 1,
        _ => {}
    }
    let key = p.parse_key_here()?;
    p.skip_ws();
    let dir_col = p.col();
    if p.eat_keyword("DESC") {
        descending = true;
    } else if p.eat_keyword("ASC") && descending {
        return Err(ParseError::new(
            dir_col,
            format!("conflicting sort direction: '-' at column {sign_col} means descending"),
        ));
    }
    p.expect_end("sort key")?;
    Ok(SortKey { key, descending })
}

/// [`parse_filter`] followed by [`compile`]; `Ok(None)` for an empty filter.
#[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))] // tests and fuzz targets
pub fn compile_filter(input: &str) -> Result<Option<Sql>, ParseError> {
    parse_filter(input)?.as_ref().map(compile).transpose()
}

// ---------------------------------------------------------------------------
// SQL generation
// ---------------------------------------------------------------------------

enum Target {
    /// A metric/param/tag row in a side table.
    Sub {
        table: &'static str,
        alias: &'static str,
        value: &'static str,
    },
    Attr(&'static AttrDef),
}

fn target(key: &Key, col: usize) -> Result<Target, ParseError> {
    Ok(match key.entity {
        Entity::Metric => Target::Sub { table: "series", alias: "s", value: "s.last" },
        Entity::Param => Target::Sub { table: "params", alias: "p", value: "p.value" },
        Entity::Tag => Target::Sub { table: "tags", alias: "t", value: "t.value" },
        Entity::Attribute => {
            Target::Attr(lookup_attribute(&key.name).ok_or_else(|| unknown_attribute(col, &key.name))?)
        }
    })
}

fn num_value(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        Value::Integer(v as i64)
    } else {
        Value::Real(v)
    }
}

fn literal_value(lit: &Literal, lowercase: bool) -> Value {
    match lit {
        Literal::Str(s) if lowercase => Value::Text(s.to_lowercase()),
        Literal::Str(s) => Value::Text(s.clone()),
        Literal::Num(v) => num_value(*v),
    }
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Positive predicate on SQL expression `v` with one `?` for the operand.
fn predicate(op: Op, v: &str) -> String {
    match op {
        Op::Eq | Op::Ne => format!("{v} = ?"),
        Op::Lt => format!("{v} < ?"),
        Op::Le => format!("{v} <= ?"),
        Op::Gt => format!("{v} > ?"),
        Op::Ge => format!("{v} >= ?"),
        Op::Like | Op::NotLike => format!("like_cs(?, {v})"),
        Op::ILike | Op::NotILike => format!("like_ci(?, {v})"),
        Op::Regex | Op::NotRegex => format!("regexp(?, {v})"),
    }
}

impl Sql {
    fn push_exists(&mut self, table: &str, alias: &str, key: &str) {
        self.where_sql
            .push_str(&format!("EXISTS (SELECT 1 FROM {table} {alias} WHERE {alias}.run = r.uid AND {alias}.key = ?"));
        self.params.push(Value::Text(key.to_string()));
    }
}

/// Compiles an expression to a WHERE fragment (runs table aliased `r`) and its
/// parameters. The fragment uses the SQL functions from [`register_functions`].
/// Re-checks the type rules, so hand-built expressions get the same errors as parsed ones.
pub fn compile(expr: &Expr) -> Result<Sql, ParseError> {
    let mut out = Sql { where_sql: String::new(), params: Vec::new() };
    compile_into(expr, &mut out)?;
    Ok(out)
}

fn compile_into(expr: &Expr, out: &mut Sql) -> Result<(), ParseError> {
    match expr {
        Expr::And(a, b) | Expr::Or(a, b) => {
            let joiner = if matches!(expr, Expr::And(..)) { " AND " } else { " OR " };
            out.where_sql.push('(');
            compile_into(a, out)?;
            out.where_sql.push_str(joiner);
            compile_into(b, out)?;
            out.where_sql.push(')');
        }
        Expr::Not(inner) => {
            // IFNULL makes NOT two-valued: a NULL (unknown) condition counts as false.
            out.where_sql.push_str("NOT IFNULL(");
            compile_into(inner, out)?;
            out.where_sql.push_str(", 0)");
        }
        Expr::Cmp { key, op, value, col } => {
            check_cmp(key, *op, value, *col)?;
            compile_cmp(key, *op, value, *col, out)?;
        }
        Expr::In { key, values, negated } => {
            for v in values {
                check_cmp(key, Op::Eq, v, 0)?;
            }
            compile_in(key, values, *negated, out)?;
        }
        Expr::IsNull { key, negated } => match target(key, 0)? {
            Target::Sub { table, alias, .. } => {
                if !*negated {
                    out.where_sql.push_str("NOT ");
                }
                out.push_exists(table, alias, &key.name);
                out.where_sql.push(')');
            }
            Target::Attr(def) => {
                let not = if *negated { "NOT " } else { "" };
                out.where_sql.push_str(&format!("{} IS {not}NULL", def.sql));
            }
        },
    }
    Ok(())
}

fn compile_cmp(key: &Key, op: Op, value: &Literal, col: usize, out: &mut Sql) -> Result<(), ParseError> {
    let (positive, negated) = op.split();
    match target(key, col)? {
        Target::Sub { table, alias, value: column } => {
            let v = match (key.entity, value) {
                (Entity::Param | Entity::Tag, Literal::Num(_)) => format!("num({column})"),
                _ => column.to_string(),
            };
            let pred = predicate(positive, &v);
            out.push_exists(table, alias, &key.name);
            if negated {
                out.where_sql.push_str(&format!(" AND NOT IFNULL({pred}, 0))"));
            } else {
                out.where_sql.push_str(&format!(" AND {pred})"));
            }
            out.params.push(match (positive, value) {
                (Op::Regex, Literal::Str(s)) => Value::Text(regex_pattern(key, s)),
                _ => literal_value(value, false),
            });
        }
        Target::Attr(def) => {
            let status = def.kind == AttrKind::Status;
            let positive = if status && positive == Op::Like { Op::ILike } else { positive };
            let pred = predicate(positive, def.sql);
            if negated {
                out.where_sql.push_str(&format!("NOT ({pred})"));
            } else {
                out.where_sql.push_str(&pred);
            }
            out.params.push(match (positive, value) {
                (Op::Regex, Literal::Str(s)) => Value::Text(regex_pattern(key, s)),
                _ => literal_value(value, status),
            });
        }
    }
    Ok(())
}

fn compile_in(key: &Key, values: &[Literal], negated: bool, out: &mut Sql) -> Result<(), ParseError> {
    match target(key, 0)? {
        Target::Sub { table, alias, value: column } => {
            let strs: Vec<&Literal> = values.iter().filter(|v| matches!(v, Literal::Str(_))).collect();
            let nums: Vec<&Literal> = values.iter().filter(|v| matches!(v, Literal::Num(_))).collect();
            let mut parts = Vec::new();
            if !strs.is_empty() {
                parts.push(format!("{column} IN ({})", placeholders(strs.len())));
            }
            if !nums.is_empty() {
                let v = if key.entity == Entity::Metric { column.to_string() } else { format!("num({column})") };
                parts.push(format!("{v} IN ({})", placeholders(nums.len())));
            }
            let body = if parts.is_empty() { "0".to_string() } else { parts.join(" OR ") };
            out.push_exists(table, alias, &key.name);
            if negated {
                out.where_sql.push_str(&format!(" AND NOT IFNULL(({body}), 0))"));
            } else {
                out.where_sql.push_str(&format!(" AND ({body}))"));
            }
            out.params.extend(strs.into_iter().chain(nums).map(|v| literal_value(v, false)));
        }
        Target::Attr(def) => {
            let status = def.kind == AttrKind::Status;
            let sql = match (values.is_empty(), negated) {
                (true, false) => "0".to_string(),
                (true, true) => format!("{} IS NOT NULL", def.sql),
                (false, false) => format!("{} IN ({})", def.sql, placeholders(values.len())),
                (false, true) => format!("NOT ({} IN ({}))", def.sql, placeholders(values.len())),
            };
            out.where_sql.push_str(&sql);
            out.params.extend(values.iter().map(|v| literal_value(v, status)));
        }
    }
    Ok(())
}

/// An `ORDER BY` expression list (without the words `ORDER BY`) and its parameters,
/// which come after the WHERE parameters. NULLs (missing values, NaN metrics) sort
/// last in both directions; metrics sort by their last value; params and tags sort
/// numbers first (numerically), then non-numeric text (BINARY), in both directions;
/// `r.path` ascending is the final tie-breaker. An unknown attribute in a hand-built
/// key contributes nothing (sorts by `r.path` only).
///
/// Because of the tie-breaker, joining several `order_by` lists makes every key after
/// the first irrelevant: use [`order_by_keys`] for multi-key sorts.
#[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))] // tests and fuzz targets
pub fn order_by(sort: &SortKey) -> Sql {
    order_by_keys(std::slice::from_ref(sort))
}

/// Like [`order_by`] for several keys (most significant first), with one `r.path`
/// tie-breaker at the end. An empty slice gives just `r.path ASC`.
pub fn order_by_keys(sorts: &[SortKey]) -> Sql {
    let mut terms = Vec::new();
    let mut params = Vec::new();
    for sort in sorts {
        let dir = if sort.descending { "DESC" } else { "ASC" };
        let key = Value::Text(sort.key.name.clone());
        match target(&sort.key, 0) {
            Ok(Target::Sub { table, alias, value }) => {
                let sub =
                    format!("(SELECT {value} FROM {table} {alias} WHERE {alias}.run = r.uid AND {alias}.key = ?)");
                if sort.key.entity == Entity::Metric {
                    terms.push(format!("{sub} {dir} NULLS LAST"));
                    params.push(key);
                } else {
                    terms.push(format!("num({sub}) {dir} NULLS LAST, {sub} {dir} NULLS LAST"));
                    params.extend([key.clone(), key]);
                }
            }
            Ok(Target::Attr(def)) => terms.push(format!("{} {dir} NULLS LAST", def.sql)),
            Err(_) => {}
        }
    }
    terms.push("r.path ASC".to_string());
    Sql { where_sql: terms.join(", "), params }
}

// ---------------------------------------------------------------------------
// SQL functions
// ---------------------------------------------------------------------------

/// `num()`: a trimmed, full-string f64 parse; NaN and non-numbers are NULL.
fn sql_num(v: ValueRef<'_>) -> Option<f64> {
    let n = match v {
        ValueRef::Integer(i) => i as f64,
        ValueRef::Real(f) => f,
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse::<f64>().ok()?,
        ValueRef::Null | ValueRef::Blob(_) => return None,
    };
    (!n.is_nan()).then_some(n)
}

fn sql_text(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

/// MLflow LIKE: `%` matches any run of characters, `_` exactly one; no escapes.
fn like_match(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('%') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '_' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '%')
}

fn sql_like(pattern: ValueRef<'_>, text: ValueRef<'_>, fold: bool) -> Option<bool> {
    let (mut pattern, mut text) = (sql_text(pattern)?, sql_text(text)?);
    if fold {
        pattern = pattern.to_lowercase();
        text = text.to_lowercase();
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    Some(like_match(&pattern, &text))
}

/// Registers the deterministic SQL functions the compiled filters use:
/// `num(x)` → REAL or NULL; `regexp(pattern, text)` → 0/1 (regex-lite, unanchored,
/// compiled pattern cached per statement; an invalid pattern is an SQL error naming
/// it); `like_cs(pattern, text)` / `like_ci(pattern, text)` → 0/1 (MLflow LIKE,
/// case-sensitive / Unicode-lowercase-insensitive). NULL arguments give NULL.
pub fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("num", 1, flags, |ctx| Ok(sql_num(ctx.get_raw(0))))?;
    conn.create_scalar_function("regexp", 2, flags, |ctx| {
        if matches!(ctx.get_raw(0), ValueRef::Null) || matches!(ctx.get_raw(1), ValueRef::Null) {
            return Ok(None);
        }
        let re = ctx.get_or_create_aux(0, |v| -> Result<Regex, String> {
            let pattern = sql_text(v).unwrap_or_default();
            Regex::new(&pattern)
                .map_err(|e| format!("invalid regular expression {pattern:?}: {}", e.to_string().replace('\n', " ")))
        })?;
        Ok(sql_text(ctx.get_raw(1)).map(|text| re.is_match(&text)))
    })?;
    conn.create_scalar_function("like_cs", 2, flags, |ctx| Ok(sql_like(ctx.get_raw(0), ctx.get_raw(1), false)))?;
    conn.create_scalar_function("like_ci", 2, flags, |ctx| Ok(sql_like(ctx.get_raw(0), ctx.get_raw(1), true)))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = "
        CREATE TABLE runs(uid INTEGER PRIMARY KEY, id TEXT NOT NULL, source TEXT NOT NULL,
            path TEXT NOT NULL UNIQUE, name TEXT, experiment TEXT, experiment_id TEXT, status TEXT,
            start_time INTEGER, end_time INTEGER, parent_id TEXT, user TEXT, artifact_uri TEXT,
            deleted INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE params(run INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY(run, key));
        CREATE TABLE tags(run INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY(run, key));
        CREATE TABLE series(sid INTEGER PRIMARY KEY, run INTEGER NOT NULL, key TEXT NOT NULL,
            count INTEGER NOT NULL, last REAL, last_step INTEGER, min REAL, max REAL,
            UNIQUE(run, key));";

    struct Run {
        id: &'static str,
        name: Option<&'static str>,
        experiment: &'static str,
        experiment_id: &'static str,
        status: &'static str,
        start: Option<i64>,
        end: Option<i64>,
        user: Option<&'static str>,
        parent: Option<&'static str>,
        params: &'static [(&'static str, &'static str)],
        tags: &'static [(&'static str, &'static str)],
        metrics: &'static [(&'static str, f64)],
    }

    const RUNS: &[Run] = &[
        Run {
            id: "r1",
            name: Some("trial-1"),
            experiment: "exp-a",
            experiment_id: "1",
            status: "finished",
            start: Some(1_700_000_000_000),
            end: Some(1_700_000_060_000),
            user: Some("alice"),
            parent: None,
            params: &[("lr", "0.01"), ("optimizer", "adam"), ("model", "resnet50"), ("batch", "32")],
            tags: &[("team", "vision"), ("note", "baseline run")],
            metrics: &[("val_acc", 0.95), ("train/loss", 0.2), ("val/loss", 0.0005)],
        },
        Run {
            id: "r2",
            name: Some("trial-2"),
            experiment: "exp-a",
            experiment_id: "1",
            status: "running",
            start: Some(1_700_000_100_000),
            end: None,
            user: Some("bob"),
            parent: Some("r1"),
            params: &[("lr", "0.1"), ("optimizer", "sgd"), ("model", "ResNet18"), ("batch", "128")],
            tags: &[("team", "x")],
            metrics: &[("val_acc", 0.85), ("train/loss", 0.7)],
        },
        Run {
            id: "r3",
            name: Some("Trial-3"),
            experiment: "exp-b",
            experiment_id: "2",
            status: "failed",
            start: Some(1_690_000_000_000),
            end: Some(1_690_000_001_000),
            user: Some("alice"),
            parent: None,
            params: &[("lr", "1e-3"), ("optimizer", "Adam"), ("model", "vit"), ("batch", "auto")],
            tags: &[("team", "nlp"), ("note", "Ünïcode ÄB")],
            metrics: &[("val_acc", f64::NAN), ("train/loss", 0.4), ("val/loss", 0.002)],
        },
        Run {
            id: "r4",
            name: Some("baseline"),
            experiment: "exp-b",
            experiment_id: "2",
            status: "killed",
            start: Some(1_700_000_200_000),
            end: Some(1_700_000_300_000),
            user: Some("carol"),
            parent: None,
            params: &[("optimizer", "adamw"), ("a b", "x y"), ("lr", "auto")],
            tags: &[("quote", "it's \"q\"")],
            metrics: &[("loss", 2.0), ("val_acc", 0.91)],
        },
        Run {
            id: "r5",
            name: None,
            experiment: "exp-b",
            experiment_id: "2",
            status: "scheduled",
            start: None,
            end: None,
            user: None,
            parent: None,
            params: &[],
            tags: &[("team", "vision")],
            metrics: &[],
        },
        Run {
            id: "r6",
            name: Some("trial-10"),
            experiment: "exp-a",
            experiment_id: "1",
            status: "finished",
            start: Some(1_700_000_400_000),
            end: Some(1_700_000_401_000),
            user: Some("bob"),
            parent: Some("r1"),
            params: &[("lr", "0.001"), ("optimizer", "sgd"), ("batch", "64"), ("model", "résnet")],
            tags: &[("team", "Vision"), ("note", "100% done")],
            metrics: &[("val_acc", 0.99), ("loss", 0.5), ("train/loss", 0.1)],
        },
    ];

    fn db() -> Connection {
        let conn = Connection::open_in_memory().expect("open");
        register_functions(&conn).expect("register");
        conn.execute_batch(SCHEMA).expect("schema");
        for (i, r) in RUNS.iter().enumerate() {
            let uid = i as i64 + 1;
            conn.execute(
                "INSERT INTO runs(uid, id, source, path, name, experiment, experiment_id, status,
                    start_time, end_time, parent_id, user)
                 VALUES (?1, ?2, 'mlflow', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                rusqlite::params![
                    uid,
                    r.id,
                    format!("/runs/{}", r.id),
                    r.name,
                    r.experiment,
                    r.experiment_id,
                    r.status,
                    r.start,
                    r.end,
                    r.parent,
                    r.user
                ],
            )
            .expect("insert run");
            for (k, v) in r.params {
                conn.execute("INSERT INTO params VALUES (?1, ?2, ?3)", rusqlite::params![uid, k, v])
                    .expect("insert param");
            }
            for (k, v) in r.tags {
                conn.execute("INSERT INTO tags VALUES (?1, ?2, ?3)", rusqlite::params![uid, k, v]).expect("insert tag");
            }
            for (k, v) in r.metrics {
                let last = if v.is_nan() { None } else { Some(*v) };
                conn.execute(
                    "INSERT INTO series(run, key, count, last, last_step) VALUES (?1, ?2, 1, ?3, 0)",
                    rusqlite::params![uid, k, last],
                )
                .expect("insert series");
            }
        }
        conn
    }

    fn ids(conn: &Connection, sql: &str, params: &[Value]) -> rusqlite::Result<Vec<String>> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |row| row.get(0))?;
        rows.collect()
    }

    fn matching(conn: &Connection, filter: &str) -> Result<Vec<String>, String> {
        let sql = compile_filter(filter).map_err(|e| e.to_string())?;
        let (where_sql, params) = match sql {
            Some(s) => (s.where_sql, s.params),
            None => ("1".to_string(), Vec::new()),
        };
        ids(conn, &format!("SELECT r.id FROM runs r WHERE {where_sql} ORDER BY r.id"), &params)
            .map_err(|e| format!("{e} in {where_sql}"))
    }

    #[test]
    fn filters_select_expected_runs() {
        let conn = db();
        let cases: &[(&str, &[&str])] = &[
            ("", &["r1", "r2", "r3", "r4", "r5", "r6"]),
            ("metrics.val_acc > 0.9 and params.optimizer = \"adam\"", &["r1"]),
            ("metrics.`train/loss` < 0.5 OR (params.lr = '0.01' AND tags.team != 'x')", &["r1", "r3", "r6"]),
            ("metrics.`train/loss` > 0.5 OR (params.lr = '0.01' AND tags.team != 'x')", &["r1", "r2"]),
            ("metrics.\"val/loss\" <= 1e-3", &["r1"]),
            ("metrics.train/loss > 0", &["r1", "r2", "r3", "r6"]),
            // numeric literal on a param: numeric comparison (text would also match r3's "1e-3")
            ("params.lr > 0.001", &["r1", "r2"]),
            ("params.lr = 0.001", &["r3", "r6"]),
            ("params.lr = '0.001'", &["r6"]),
            ("params.lr != 0.001", &["r1", "r2", "r4"]),
            ("params.lr <> '0.1'", &["r1", "r3", "r4", "r6"]),
            ("params.lr > 1e-4 AND params.lr < 5E-2", &["r1", "r3", "r6"]),
            ("params.batch >= 64", &["r2", "r6"]),
            ("params.batch IN (32, 64)", &["r1", "r6"]),
            ("params.batch NOT IN (32, 64)", &["r2", "r3"]),
            ("params.batch IN ('auto', 128)", &["r2", "r3"]),
            ("params.optimizer IN ('adam', \"sgd\")", &["r1", "r2", "r6"]),
            ("params.optimizer not in ('adam', 'sgd')", &["r3", "r4"]),
            ("params.model LIKE 'res%'", &["r1"]),
            ("params.model ILIKE 'res%'", &["r1", "r2"]),
            ("params.model ILIKE 'RÉS%'", &["r6"]),
            ("params.model NOT LIKE 'res%'", &["r2", "r3", "r6"]),
            ("params.model NOT ILIKE 'res%'", &["r3", "r6"]),
            ("params.model LIKE 'resnet__'", &["r1"]),
            ("params.`a b` = 'x y'", &["r4"]),
            ("params.\"a b\" = \"x y\"", &["r4"]),
            ("tags.note IS NULL", &["r2", "r4", "r5"]),
            ("tags.note IS NOT NULL", &["r1", "r3", "r6"]),
            ("tags.note LIKE '100%'", &["r6"]),
            ("tags.note ~ 'Ü'", &["r3"]),
            ("tags.team = 'vision'", &["r1", "r5"]),
            ("tags.team LIKE 'vision'", &["r1", "r5"]),
            ("tags.team ILIKE 'vision'", &["r1", "r5", "r6"]),
            ("tags.team != 'x'", &["r1", "r3", "r5", "r6"]),
            ("tags.quote = 'it''s \"q\"'", &["r4"]),
            ("tags.quote = \"it's \"\"q\"\"\"", &["r4"]),
            ("tags.quote = 'it\\'s \\\"q\\\"'", &["r4"]),
            ("metrics.val_acc IS NULL", &["r5"]),
            ("metrics.val_acc IS NOT NULL", &["r1", "r2", "r3", "r4", "r6"]),
            ("metrics.val_acc = 0.95", &["r1"]),
            ("metrics.val_acc != 0.95", &["r2", "r3", "r4", "r6"]),
            ("metrics.val_acc < 2", &["r1", "r2", "r4", "r6"]),
            ("metrics.val_acc > -1 AND metrics.val_acc < +1", &["r1", "r2", "r4", "r6"]),
            ("metrics.val_acc IN (0.85, 0.99)", &["r2", "r6"]),
            ("NOT (metrics.loss > 1)", &["r1", "r2", "r3", "r5", "r6"]),
            ("attributes.status = 'FINISHED'", &["r1", "r6"]),
            ("status = 'running'", &["r2"]),
            ("((status = 'running'))", &["r2"]),
            ("attributes.status != 'finished'", &["r2", "r3", "r4", "r5"]),
            ("status IN ('FAILED', 'killed')", &["r3", "r4"]),
            ("status LIKE 'FIN%'", &["r1", "r6"]),
            ("attributes.status ILIKE 'fin%'", &["r1", "r6"]),
            ("status ~ '^RUN'", &["r2"]),
            ("attributes.run_name ~ '^trial-[0-9]+$'", &["r1", "r2", "r6"]),
            ("attributes.run_name ~ '^trial-\\d+$'", &["r1", "r2", "r6"]),
            ("attributes.run_name !~ '^trial-'", &["r3", "r4"]),
            ("NOT (attributes.run_name = 'baseline')", &["r1", "r2", "r3", "r5", "r6"]),
            ("attributes.start_time >= 1700000000000", &["r1", "r2", "r4", "r6"]),
            ("duration <= 1000", &["r3", "r6"]),
            ("attributes.end_time IS NULL", &["r2", "r5"]),
            ("user IS NULL", &["r5"]),
            ("experiment = 'exp-a' and user = 'bob'", &["r2", "r6"]),
            ("attributes.experiment_id = '2'", &["r3", "r4", "r5"]),
            ("attributes.parent_run_id = 'r1'", &["r2", "r6"]),
            ("run.id IN ('r1','r4')", &["r1", "r4"]),
            ("run_id NOT IN ('r1','r4')", &["r2", "r3", "r5", "r6"]),
            ("METRICS.val_acc > 0.9 AnD Params.optimizer LIKE 'adam%'", &["r1", "r4"]),
            // precedence: NOT > AND > OR
            ("NOT tags.team = 'x' AND NOT status = 'scheduled'", &["r1", "r3", "r4", "r6"]),
            ("status = 'killed' OR status = 'finished' AND params.optimizer = 'sgd'", &["r4", "r6"]),
            ("(status = 'killed' OR status = 'finished') AND params.optimizer = 'sgd'", &["r6"]),
            ("NOT NOT status = 'killed'", &["r4"]),
            (
                "params.x = 'a' OR params.x = 'b' OR params.x = 'c' OR status = 'killed' OR user = 'bob'",
                &["r2", "r4", "r6"],
            ),
        ];
        let mut failures = Vec::new();
        for (filter, expected) in cases {
            match matching(&conn, filter) {
                Ok(got) if got == *expected => {}
                other => failures.push(format!("{filter:?}: expected {expected:?}, got {other:?}")),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn parse_errors_point_at_the_offending_column() {
        let cases: &[(&str, usize, &str)] = &[
            ("metrics.acc > 'x'", 15, "numeric"),
            ("params.a = ", 12, "end of input"),
            ("attributes.bogus = 1", 12, "start_time"),
            ("bogus = 1", 1, "unknown attribute 'bogus'"),
            ("(metrics.a > 1", 15, "')'"),
            ("metrics.a > 1)", 14, "unmatched ')'"),
            ("((metrics.a > 1)", 17, "column 1"),
            ("params.a = 'abc", 12, "unterminated string"),
            ("params.a = \"abc", 12, "unterminated string"),
            ("metrics.`abc = 1", 9, "unterminated quoted key"),
            ("metrics.a > 1 params.b = 'x'", 15, "expected AND, OR"),
            ("metrics.a >> 1", 12, "expected a value"),
            ("params.a = adam", 12, "'adam'"),
            ("params.a = null", 12, "IS NULL"),
            ("metrics.a 5", 11, "expected an operator"),
            ("foo.a = 1", 1, "unknown key type 'foo'"),
            ("metrics. = 1", 9, "expected a key name"),
            ("metrics > 1", 1, "metrics.<name>"),
            ("start_time > '2020'", 14, "numeric"),
            ("experiment_id = 0", 17, "quote the value"),
            ("metrics.a LIKE 'x%'", 16, "metrics are numeric"),
            ("params.a LIKE 5", 15, "quoted string pattern"),
            ("attributes.run_name ~ '('", 23, "regular expression"),
            ("params.a IN ()", 14, "empty IN list"),
            ("params.a IN ('x' 'y')", 18, "','"),
            ("params.a IN 'x'", 13, "'('"),
            ("metrics.a IN (1, 'x')", 18, "numeric"),
            ("params.a IS 'x'", 13, "NULL"),
            ("params.a NOT BETWEEN 1", 14, "LIKE, ILIKE or IN"),
            ("metrics.a > 1 AND", 18, "end of input"),
            ("NOT", 4, "expected a condition"),
            ("()", 2, "expected a condition"),
            ("metrics.a > 1x", 13, "invalid number"),
            ("metrics.a > 1e999", 13, "out of range"),
            ("metrics.a > -", 13, "invalid number"),
            ("status = 'running' && x", 20, "'&'"),
            ("\"status\" = 'x'", 1, "entity prefix"),
            ("params.é = 'x'", 8, "expected a key name"),
            // columns count characters, not bytes ('é' is two bytes)
            ("params.a = 'é' AND bogus = 1", 20, "bogus"),
            ("params.a = 1\n  AND ?", 20, "expected a key"),
        ];
        let mut failures = Vec::new();
        for (input, column, needle) in cases {
            match parse_filter(input) {
                Err(e) if e.column == *column && e.to_string().contains(needle) => {}
                other => failures.push(format!("{input:?}: expected column {column} with {needle:?}, got {other:?}")),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}status = 'x'{}", "(".repeat(100_000), ")".repeat(100_000));
        let e = parse_filter(&deep).expect_err("too deep");
        assert!(e.message.contains("nested too deeply"), "{e}");
        let nots = format!("{}status = 'x'", "NOT ".repeat(10_000));
        assert!(parse_filter(&nots).is_err());
        // long flat chains are fine (balanced trees keep compile shallow)
        let conn = db();
        let long = vec!["status = 'killed'"; 5_000].join(" OR ");
        assert_eq!(matching(&conn, &long), Ok(vec!["r4".to_string()]));
        let ok = format!("{}status = 'killed'{}", "(".repeat(60), ")".repeat(60));
        assert_eq!(matching(&conn, &ok), Ok(vec!["r4".to_string()]));
    }

    #[test]
    fn error_display_and_render() {
        let input = "params.a = 'abc";
        let e = parse_filter(input).expect_err("unterminated");
        assert_eq!(e.to_string(), format!("column 12: {}", e.message));
        assert_eq!(
            e.render(input),
            "column 12: unterminated string: the ' here is never closed\n  params.a = 'abc\n             ^"
        );
        let input = "params.a = ";
        let e = parse_filter(input).expect_err("end");
        assert_eq!(e.render(input), format!("{e}\n  params.a = \n             ^"));
        let input = "status = 'x'\n\tAND bogus = 1";
        let e = parse_filter(input).expect_err("bogus");
        assert_eq!(e.column, 19);
        assert_eq!(e.render(input), format!("{e}\n  \tAND bogus = 1\n  \t    ^"));
        let e = ParseError { message: "m".into(), column: 0 };
        assert_eq!(e.to_string(), "m");
        assert_eq!(e.render("a\nb"), "m\n  a");
        let e = ParseError { message: "m".into(), column: 99 };
        assert_eq!(e.render("ab"), "column 99: m\n  ab\n    ^");
    }

    #[test]
    fn parse_builds_the_expected_ast() {
        let metric = |n: &str| Key { entity: Entity::Metric, name: n.into() };
        let attr = |n: &str| Key { entity: Entity::Attribute, name: n.into() };
        assert_eq!(parse_filter(""), Ok(None));
        assert_eq!(parse_filter("  \n\t "), Ok(None));
        // string escapes: doubled quote, \' \" \\; any other backslash is kept (regexes)
        let value = |f: &str| match parse_filter(f) {
            Ok(Some(Expr::Cmp { value, .. })) => value,
            other => panic!("{f}: {other:?}"),
        };
        assert_eq!(value(r#"tags.t = 'a\\b\d\'x''y'"#), Literal::Str(r#"a\b\d'x'y"#.into()));
        assert_eq!(value(r#"tags.t = "\"q\" ""r""""#), Literal::Str(r#""q" "r""#.into()));
        assert_eq!(value("metrics.m >= -.5e-1"), Literal::Num(-0.05));
        assert_eq!(value("metrics.m >= 3."), Literal::Num(3.0));
        assert_eq!(
            parse_filter("metrics.`train/loss` < 0.5"),
            Ok(Some(Expr::Cmp { key: metric("train/loss"), op: Op::Lt, value: Literal::Num(0.5), col: 24 }))
        );
        let a = Expr::Cmp { key: attr("status"), op: Op::Eq, value: Literal::Str("a".into()), col: 10 };
        let b = Expr::IsNull { key: metric("m"), negated: true };
        let c = Expr::In {
            key: Key { entity: Entity::Param, name: "p".into() },
            values: vec![Literal::Str("x".into()), Literal::Num(-2.0)],
            negated: true,
        };
        assert_eq!(
            parse_filter("status = 'a' OR NOT metrics.m IS NOT NULL AND params.p NOT IN ('x', -2)"),
            Ok(Some(Expr::Or(Box::new(a), Box::new(Expr::And(Box::new(Expr::Not(Box::new(b))), Box::new(c))))))
        );
        let ops = [
            ("=", Op::Eq),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<>", Op::Ne),
            ("<", Op::Lt),
            ("<=", Op::Le),
            (">", Op::Gt),
            (">=", Op::Ge),
            ("like", Op::Like),
            ("ILIKE", Op::ILike),
            ("not like", Op::NotLike),
            ("Not ILike", Op::NotILike),
            ("~", Op::Regex),
            ("!~", Op::NotRegex),
        ];
        for (text, op) in ops {
            match parse_filter(&format!("params.p {text} 'v'")) {
                Ok(Some(Expr::Cmp { op: got, .. })) => assert_eq!(got, op, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn keys_parse_and_display_round_trip() {
        let cases: &[(&str, Entity, &str)] = &[
            ("metrics.val_acc", Entity::Metric, "val_acc"),
            ("metric.train/loss", Entity::Metric, "train/loss"),
            ("params.`a b`", Entity::Param, "a b"),
            ("parameters.\"x\"\"y\"", Entity::Param, "x\"y"),
            ("param.`a``b`", Entity::Param, "a`b"),
            ("Tags.mlflow.runName", Entity::Tag, "mlflow.runName"),
            ("tag.a:b-c", Entity::Tag, "a:b-c"),
            ("start_time", Entity::Attribute, "start_time"),
            ("  RUN_NAME ", Entity::Attribute, "name"),
            ("attr.run_id", Entity::Attribute, "id"),
            ("run.`experiment_name`", Entity::Attribute, "experiment"),
            ("attributes.parent_run_id", Entity::Attribute, "parent_id"),
            ("user_id", Entity::Attribute, "user"),
        ];
        for (input, entity, name) in cases {
            let key = parse_key(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!((key.entity, key.name.as_str()), (*entity, *name), "{input}");
            assert_eq!(parse_key(&key.to_string()), Ok(key.clone()), "{input} -> {key}");
        }
        for bad in ["", "metrics.", "metrics.a b", "bogus", "x.y", "params.`a", "1abc"] {
            assert!(parse_key(bad).is_err(), "{bad:?} should fail");
        }
        assert_eq!(parse_key("metrics.a b").map_err(|e| e.column), Err(11));
    }

    #[test]
    fn sort_keys_parse() {
        let s = |input: &str| parse_sort(input).map(|s| (s.key.to_string(), s.descending));
        assert_eq!(s("-metrics.val_acc"), Ok(("metrics.val_acc".into(), true)));
        assert_eq!(s("metrics.val_acc DESC"), Ok(("metrics.val_acc".into(), true)));
        assert_eq!(s("start_time asc"), Ok(("start_time".into(), false)));
        assert_eq!(s("+params.`a b`"), Ok(("params.`a b`".into(), false)));
        assert_eq!(s(" - run_name desc "), Ok(("name".into(), true)));
        assert_eq!(s("tags.x"), Ok(("tags.x".into(), false)));
        assert_eq!(s("-x asc").map_err(|e| e.column), Err(2));
        assert_eq!(s("-start_time asc").map_err(|e| e.column), Err(13));
        assert_eq!(s("metrics.a desc extra").map_err(|e| e.column), Err(16));
        assert_eq!(s("").map_err(|e| e.column), Err(1));
    }

    fn sorted(conn: &Connection, sort: &str) -> Vec<String> {
        let key = parse_sort(sort).unwrap_or_else(|e| panic!("{sort}: {e}"));
        let order = order_by(&key);
        ids(conn, &format!("SELECT r.id FROM runs r ORDER BY {}", order.where_sql), &order.params)
            .unwrap_or_else(|e| panic!("{sort}: {e} in {}", order.where_sql))
    }

    #[test]
    fn sort_orders_numbers_numerically_and_nulls_last() {
        let conn = db();
        let cases: &[(&str, &[&str])] = &[
            // batch: 32 (r1), 128 (r2), "auto" (r3), 64 (r6); r4 and r5 have none
            ("params.batch", &["r1", "r6", "r2", "r3", "r4", "r5"]),
            ("-params.batch", &["r2", "r6", "r1", "r3", "r4", "r5"]),
            // lr: 0.01, 0.1, 1e-3, auto, -, 0.001 (1e-3 and 0.001 tie numerically; text breaks it)
            ("params.lr", &["r6", "r3", "r1", "r2", "r4", "r5"]),
            // val_acc: r3 is NaN (NULL), r5 has none
            ("metrics.val_acc", &["r2", "r4", "r1", "r6", "r3", "r5"]),
            ("metrics.val_acc desc", &["r6", "r1", "r4", "r2", "r3", "r5"]),
            ("start_time", &["r3", "r1", "r2", "r4", "r6", "r5"]),
            ("-start_time", &["r6", "r4", "r2", "r1", "r3", "r5"]),
            ("-duration", &["r4", "r1", "r3", "r6", "r2", "r5"]),
            ("tags.team", &["r6", "r3", "r1", "r5", "r2", "r4"]),
            ("-tags.team", &["r2", "r1", "r5", "r3", "r6", "r4"]),
            ("status", &["r3", "r1", "r6", "r4", "r2", "r5"]),
        ];
        let mut failures = Vec::new();
        for (sort, expected) in cases {
            let got = sorted(&conn, sort);
            if got != *expected {
                failures.push(format!("{sort:?}: expected {expected:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        let unknown = SortKey { key: Key { entity: Entity::Attribute, name: "nope".into() }, descending: true };
        assert_eq!(order_by(&unknown).where_sql, "r.path ASC");
        // several keys: the second one breaks ties of the first
        let keys = [parse_sort("experiment"), parse_sort("-metrics.val_acc")];
        let keys: Vec<SortKey> = keys.into_iter().map(|k| k.expect("sort key")).collect();
        let order = order_by_keys(&keys);
        let q = format!("SELECT r.id FROM runs r ORDER BY {}", order.where_sql);
        assert_eq!(ids(&conn, &q, &order.params), Ok(["r6", "r1", "r2", "r4", "r3", "r5"].map(String::from).to_vec()));
        assert_eq!(order_by_keys(&[]).where_sql, "r.path ASC");
    }

    #[test]
    fn sql_functions() {
        let conn = db();
        let q = |sql: &str| -> rusqlite::Result<Value> { conn.query_row(sql, [], |r| r.get(0)) };
        let cases: &[(&str, Value)] = &[
            ("num('1.5')", Value::Real(1.5)),
            ("num(' 2 ')", Value::Real(2.0)),
            ("num('-1e3')", Value::Real(-1000.0)),
            ("num(7)", Value::Real(7.0)),
            ("num('abc')", Value::Null),
            ("num('1.5x')", Value::Null),
            ("num('nan')", Value::Null),
            ("num('')", Value::Null),
            ("num(NULL)", Value::Null),
            ("like_cs('a_c', 'abc')", Value::Integer(1)),
            ("like_cs('a%', 'A')", Value::Integer(0)),
            ("like_ci('a%', 'A')", Value::Integer(1)),
            ("like_ci('É%', 'été')", Value::Integer(1)),
            ("like_cs('%', '')", Value::Integer(1)),
            ("like_cs('a%b%c', 'aXbYc')", Value::Integer(1)),
            ("like_cs('a%b', 'abc')", Value::Integer(0)),
            ("like_cs('%a%a', 'banana')", Value::Integer(1)),
            ("like_cs('_', '')", Value::Integer(0)),
            ("like_cs('x', NULL)", Value::Null),
            ("regexp('^a.c$', 'abc')", Value::Integer(1)),
            ("regexp('b', 'abc')", Value::Integer(1)),
            ("regexp('^b', 'abc')", Value::Integer(0)),
            ("regexp('a', NULL)", Value::Null),
            ("'xyz' REGEXP 'y'", Value::Integer(1)),
        ];
        let mut failures = Vec::new();
        for (expr, expected) in cases {
            match q(&format!("SELECT {expr}")) {
                Ok(v) if v == *expected => {}
                other => failures.push(format!("{expr}: expected {expected:?}, got {other:?}")),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        let err = q("SELECT regexp('(oops', 'x')").expect_err("invalid regex");
        assert!(err.to_string().contains("(oops"), "{err}");
    }

    #[test]
    fn user_text_is_always_bound_never_inlined() {
        let evil = "x'); DROP TABLE runs; --";
        let filter = format!("params.`{evil}` = \"{evil}\" OR tags.t LIKE \"{evil}\" OR name IN (\"{evil}\")");
        let sql = compile_filter(&filter).expect("parses").expect("non-empty");
        assert!(!sql.where_sql.contains("DROP"), "{}", sql.where_sql);
        assert_eq!(sql.where_sql.matches('?').count(), sql.params.len());
        assert!(sql.params.contains(&Value::Text(evil.to_string())));
        let conn = db();
        assert_eq!(matching(&conn, &filter), Ok(vec![]));
        assert_eq!(matching(&conn, "status = 'finished'").map(|v| v.len()), Ok(2));
    }

    #[test]
    fn compile_checks_hand_built_expressions() {
        let bad = Expr::Cmp {
            key: Key { entity: Entity::Metric, name: "m".into() },
            op: Op::Gt,
            value: Literal::Str("x".into()),
            col: 7,
        };
        assert_eq!(compile(&bad).map_err(|e| e.column), Err(7));
        let bad_attr = Expr::IsNull { key: Key { entity: Entity::Attribute, name: "nope".into() }, negated: false };
        assert!(compile(&bad_attr).is_err());
        let bad_in = Expr::In {
            key: Key { entity: Entity::Attribute, name: "start_time".into() },
            values: vec![Literal::Str("x".into())],
            negated: false,
        };
        assert_eq!(compile(&bad_in).map_err(|e| e.column), Err(0));
        // empty IN lists (not parseable, but constructible) behave like SQL
        let conn = db();
        for (negated, entity, name, expected) in [
            (false, Entity::Param, "lr", vec![]),
            (true, Entity::Param, "lr", vec!["r1", "r2", "r3", "r4", "r6"]),
            (true, Entity::Attribute, "name", vec!["r1", "r2", "r3", "r4", "r6"]),
        ] {
            let e = Expr::In { key: Key { entity, name: name.into() }, values: vec![], negated };
            let sql = compile(&e).expect("compiles");
            let got =
                ids(&conn, &format!("SELECT r.id FROM runs r WHERE {} ORDER BY r.id", sql.where_sql), &sql.params);
            assert_eq!(got, Ok(expected.iter().map(|s| s.to_string()).collect::<Vec<_>>()), "{e:?}");
        }
    }

    #[test]
    fn odd_inputs_never_panic_and_valid_ones_run() {
        const FRAGMENTS: &[&str] = &[
            "metrics.",
            "params.",
            "tags.",
            "attributes.",
            "status",
            "start_time",
            "duration",
            "val_acc",
            "lr",
            "`",
            "\"",
            "'",
            "(",
            ")",
            " ",
            "AND",
            "or",
            "NOT",
            "IN",
            "LIKE",
            "ILIKE",
            "IS",
            "NULL",
            "=",
            "!=",
            "<>",
            "<",
            ">=",
            "~",
            "!~",
            "1",
            "-2.5e3",
            "1e",
            ".",
            "é",
            "日本",
            "\\",
            ",",
            "%",
            "_",
            "x",
            "\t",
            "\n",
            "-",
            "+",
            "'a'",
            "\"b\"",
            "'^t'",
            "'('",
            "0x1",
            "run",
            "\u{0}",
            "🙂",
            "''",
            "e",
            "..",
            "/",
            ":",
        ];
        let mut inputs: Vec<String> = [
            "",
            " ",
            "(",
            ")",
            "((",
            "))",
            "'",
            "\"",
            "`",
            "metrics",
            "metrics.",
            "metrics.`",
            "metrics.``",
            "metrics.`` = 1",
            "params.a = '\\",
            "params.a = '\\'",
            "params.a = \"\\\"",
            "NOT NOT",
            "a = 1 AND",
            "OR",
            "AND",
            "IN",
            "params.a IN (",
            "params.a IN ('x',",
            "params.a IN ('x',)",
            "params.a IS",
            "params.a IS NOT",
            "params.a NOT",
            "=",
            "== 1",
            "params.a ~ '['",
            "status ~ '*'",
            "metrics.a > .",
            "metrics.a > +",
            "metrics.a > 1.e5",
            "metrics.a > 1e+",
            "\u{feff}status = 'x'",
            "status = 'x' --",
            "status = 'x';",
            "params.日本 = 'x'",
            "params.`日本` = '語'",
            "tags.a = 'x' AND (tags.b = 'y' OR NOT tags.c IS NULL)",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        const KEYS: &[&str] = &[
            "metrics.val_acc",
            "metrics.`train/loss`",
            "params.lr",
            "params.\"a b\"",
            "tags.team",
            "status",
            "start_time",
            "attributes.run_name",
            "duration",
            "tags.note",
        ];
        const OPS: &[&str] =
            &["=", "!=", "<", ">=", "LIKE", "ILIKE", "NOT LIKE", "~", "!~", "IN", "NOT IN", "IS NULL", "IS NOT NULL"];
        const VALUES: &[&str] = &["1", "-2.5e3", "0.9", "'x'", "\"%a_\"", "'^t.*'", "'FINISHED'", "''"];
        let pick = |list: &[&'static str], r: u64| list[(r % list.len() as u64) as usize];
        for _ in 0..300 {
            // a random, mostly well-formed filter ...
            let mut filter = String::new();
            for i in 0..=(next() % 4) {
                if i > 0 {
                    filter.push_str(pick(&[" AND ", " or ", " AND NOT "], next()));
                }
                let (key, op) = (pick(KEYS, next()), pick(OPS, next()));
                let value = match op {
                    "IS NULL" | "IS NOT NULL" => String::new(),
                    "IN" | "NOT IN" => {
                        format!("({}, {})", pick(VALUES, next()), pick(VALUES, next()))
                    }
                    _ => pick(VALUES, next()).to_string(),
                };
                let cond = format!("{key} {op} {value}");
                filter.push_str(&if next() % 3 == 0 { format!("({cond})") } else { cond });
            }
            // ... and a mangled copy: cut short, or with a random fragment spliced in
            let chars: Vec<char> = filter.chars().collect();
            let at = (next() % (chars.len() as u64 + 1)) as usize;
            let head: String = chars[..at].iter().collect();
            let tail: String = chars[at..].iter().collect();
            let mangled = if next() % 2 == 0 { head } else { format!("{head}{}{tail}", pick(FRAGMENTS, next())) };
            inputs.push(filter);
            inputs.push(mangled);
            // ... and a token soup
            let n = (next() % 12) as usize;
            inputs.push((0..n).map(|_| pick(FRAGMENTS, next())).collect());
        }
        let conn = db();
        let mut parsed = 0;
        for input in &inputs {
            let len = input.chars().count();
            match parse_filter(input) {
                Ok(None) => assert!(input.trim().is_empty(), "{input:?}"),
                Ok(Some(expr)) => {
                    parsed += 1;
                    let sql = compile(&expr).unwrap_or_else(|e| panic!("{input:?} parsed but: {e}"));
                    assert_eq!(sql.where_sql.matches('?').count(), sql.params.len(), "{input:?}");
                    let q = format!("SELECT r.id FROM runs r WHERE {}", sql.where_sql);
                    if let Err(e) = ids(&conn, &q, &sql.params) {
                        panic!("{input:?} -> {q}: {e}");
                    }
                }
                Err(e) => {
                    assert!(e.column >= 1 && e.column <= len + 1, "{input:?}: {e}");
                    let _ = e.render(input);
                }
            }
            if let Ok(sort) = parse_sort(input) {
                let order = order_by(&sort);
                let q = format!("SELECT r.id FROM runs r ORDER BY {}", order.where_sql);
                assert!(ids(&conn, &q, &order.params).is_ok(), "{input:?} -> {q}");
            }
            let _ = parse_key(input);
        }
        assert!(parsed >= 80, "only {parsed} inputs parsed; the generator is too weak");
    }

    #[test]
    fn like_matcher() {
        let m = |p: &str, t: &str| like_match(&p.chars().collect::<Vec<_>>(), &t.chars().collect::<Vec<_>>());
        assert!(m("res%", "resnet"));
        assert!(!m("res%", "Resnet"));
        assert!(m("%net", "resnet"));
        assert!(m("r_s%t", "resnet"));
        assert!(!m("r_s", "resnet"));
        assert!(m("%%", ""));
        assert!(m("é_", "éa"));
        assert!(!m("", "a"));
        assert!(m("a%%b", "ab"));
    }
}
