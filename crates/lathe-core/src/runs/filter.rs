//! Run filters: MLflow's `search_runs` filter strings, unchanged, extended with `or`, `not`,
//! parentheses and regular expressions.
//!
//! ```text
//! metrics.acc > 0.9 and params.optimizer = 'adam' and tags.team LIKE 'vision%'
//!   and attributes.status = 'FINISHED'
//! (params.model ~ 'resnet(18|34)' or metrics.`val/loss` < 0.3) and not tags.stage = 'debug'
//! ```
//!
//! - An identifier is `ENTITY.KEY`: `metrics`/`metric`, `params`/`param`, `tags`/`tag`,
//!   `attributes`/`attribute`/`attr`/`run`; a bare name is an attribute. A key with characters
//!   other than letters, digits, `_`, `-`, `.`, `/` and `:` is quoted with backquotes or double quotes
//!   (`` metrics.`val loss` ``, `tags."mlflow.runName"`).
//! - Attributes: `run_id`, `run_name` (or `name`), `status`, `lifecycle_stage`, `artifact_uri`,
//!   `experiment` (its name), `parent` (the parent's run id), `start_time` / `created`,
//!   `end_time` (epoch milliseconds), `id` (Lathe's run id).
//! - Operators: `=`, `!=` (or `<>`), `<`, `<=`, `>`, `>=`, `LIKE`, `ILIKE` (`%` any text, `_` one
//!   character; LIKE is case-sensitive), `~` (regular expression, found anywhere in the value),
//!   `IN (...)`, `NOT IN (...)`, `IS NULL`, `IS NOT NULL`. Keywords are case-insensitive.
//! - Values: `'text'` or `"text"`, numbers. A metric compares as a number (its last value, as in
//!   MLflow); a param or tag compared with a number compares numerically when its value is one.
//!   A run without the metric, param or tag never matches a comparison (only `IS NULL`).

use regex::Regex;

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Metric,
    Param,
    Tag,
    Attribute,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
}

#[derive(Debug, Clone)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like(Regex),
    Regex(Regex),
    In(Vec<Literal>),
    IsNull,
}

#[derive(Debug, Clone)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare {
        entity: Entity,
        key: String,
        op: Op,
        value: Option<Literal>,
        /// NOT IN, NOT LIKE: the opposite of the operator, still false for a missing value.
        negate: bool,
    },
}

/// A parsed filter, ready to test runs.
#[derive(Debug, Clone)]
pub struct Filter {
    expr: Expr,
}

fn err(detail: String) -> Error {
    Error::BadArgument {
        argument: "run filter",
        detail,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Quoted(String), // '...' or "..."
    Backquoted(String),
    Number(f64),
    Symbol(&'static str),
    LParen,
    RParen,
    Comma,
    Dot,
}

fn tokens(text: &str) -> Result<Vec<(usize, Token)>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = match c {
            '(' => Token::LParen,
            ')' => Token::RParen,
            ',' => Token::Comma,
            '.' if !chars.get(i + 1).is_some_and(|(_, d)| d.is_ascii_digit()) => Token::Dot,
            '\'' | '"' | '`' => {
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    let Some(&(_, d)) = chars.get(j) else {
                        return Err(err(format!(
                            "the quote at character {} is never closed",
                            at + 1
                        )));
                    };
                    if d == c {
                        // A doubled quote inside is one quote character, as in SQL.
                        if chars.get(j + 1).is_some_and(|&(_, e)| e == c) {
                            s.push(c);
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    s.push(d);
                    j += 1;
                }
                i = j + 1;
                out.push((
                    at,
                    if c == '`' {
                        Token::Backquoted(s)
                    } else {
                        Token::Quoted(s)
                    },
                ));
                continue;
            }
            '=' | '!' | '<' | '>' | '~' => {
                let next = chars.get(i + 1).map(|&(_, d)| d);
                let (sym, len) = match (c, next) {
                    ('!', Some('=')) => ("!=", 2),
                    ('<', Some('>')) => ("!=", 2),
                    ('<', Some('=')) => ("<=", 2),
                    ('>', Some('=')) => (">=", 2),
                    ('=', Some('=')) => ("=", 2),
                    ('=', _) => ("=", 1),
                    ('<', _) => ("<", 1),
                    ('>', _) => (">", 1),
                    ('~', _) => ("~", 1),
                    _ => return Err(err(format!("unexpected {c:?} at character {}", at + 1))),
                };
                i += len;
                out.push((at, Token::Symbol(sym)));
                continue;
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let mut j = i + 1;
                while chars.get(j).is_some_and(|&(_, d)| {
                    d.is_ascii_alphanumeric()
                        || d == '.'
                        || ((d == '-' || d == '+') && matches!(chars[j - 1].1, 'e' | 'E'))
                }) {
                    j += 1;
                }
                let end = chars.get(j).map_or(text.len(), |&(p, _)| p);
                let word = &text[at..end];
                let n = super::parse_value(word).ok_or_else(|| {
                    err(format!("{word:?} at character {} is not a number", at + 1))
                })?;
                i = j;
                out.push((at, Token::Number(n)));
                continue;
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut j = i + 1;
                while chars.get(j).is_some_and(|&(_, d)| {
                    d.is_alphanumeric() || matches!(d, '_' | '-' | '/' | ':')
                }) {
                    j += 1;
                }
                let end = chars.get(j).map_or(text.len(), |&(p, _)| p);
                i = j;
                out.push((at, Token::Ident(text[at..end].to_owned())));
                continue;
            }
            other => {
                return Err(err(format!("unexpected {other:?} at character {}", at + 1)));
            }
        };
        out.push((at, tok));
        i += 1;
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<(usize, Token)>,
    pos: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }
    fn at(&self) -> String {
        match self.toks.get(self.pos) {
            Some((p, _)) => format!("character {}", p + 1),
            None => format!("the end (character {})", self.text.chars().count() + 1),
        }
    }
    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(w)) if w.eq_ignore_ascii_case(word))
    }
    fn or(&mut self) -> Result<Expr> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Expr> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Expr> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let e = self.or()?;
            if self.peek() != Some(&Token::RParen) {
                return Err(err(format!("expected `)` at {}", self.at())));
            }
            self.pos += 1;
            return Ok(e);
        }
        self.comparison()
    }
    fn name_part(&mut self) -> Option<String> {
        let t = match self.peek()? {
            Token::Ident(s) | Token::Quoted(s) | Token::Backquoted(s) => s.clone(),
            _ => return None,
        };
        self.pos += 1;
        Some(t)
    }
    fn comparison(&mut self) -> Result<Expr> {
        let where_ = self.at();
        let first = self
            .name_part()
            .ok_or_else(|| err(format!("expected a name such as metrics.acc at {where_}")))?;
        let (entity, key) = if self.peek() == Some(&Token::Dot) {
            let entity = match first.to_ascii_lowercase().as_str() {
                "metrics" | "metric" => Entity::Metric,
                "params" | "param" | "parameters" => Entity::Param,
                "tags" | "tag" => Entity::Tag,
                "attributes" | "attribute" | "attr" | "run" => Entity::Attribute,
                other => {
                    return Err(err(format!(
                        "{other:?} at {where_} is not metrics, params, tags or attributes"
                    )));
                }
            };
            self.pos += 1;
            let mut key = self
                .name_part()
                .ok_or_else(|| err(format!("expected a key after `{first}.` at {}", self.at())))?;
            // Unquoted keys may hold dots: tags.mlflow.runName.
            while self.peek() == Some(&Token::Dot) {
                self.pos += 1;
                let part = self
                    .name_part()
                    .ok_or_else(|| err(format!("expected a key part at {}", self.at())))?;
                key = format!("{key}.{part}");
            }
            (entity, key)
        } else {
            (Entity::Attribute, first)
        };
        let key = if entity == Entity::Attribute {
            attribute(&key).map(str::to_owned).ok_or_else(|| {
                err(format!(
                    "unknown attribute {key:?} at {where_}: use run_id, run_name, status, lifecycle_stage, \
                     artifact_uri, experiment, parent, start_time, end_time or id (or metrics., params., tags.)"
                ))
            })?
        } else {
            key
        };
        let op_at = self.at();
        let op = match self.peek().cloned() {
            Some(Token::Symbol(s)) => {
                self.pos += 1;
                s.to_owned()
            }
            Some(Token::Ident(w)) => {
                self.pos += 1;
                let w = w.to_ascii_uppercase();
                match w.as_str() {
                    "NOT" if self.keyword("in") => {
                        self.pos += 1;
                        "NOT IN".to_owned()
                    }
                    "NOT" if self.keyword("like") => {
                        self.pos += 1;
                        "NOT LIKE".to_owned()
                    }
                    "NOT" if self.keyword("ilike") => {
                        self.pos += 1;
                        "NOT ILIKE".to_owned()
                    }
                    "IS" => {
                        let not = self.keyword("not");
                        if not {
                            self.pos += 1;
                        }
                        if !self.keyword("null") {
                            return Err(err(format!("expected NULL at {}", self.at())));
                        }
                        self.pos += 1;
                        let e = Expr::Compare {
                            entity,
                            key,
                            op: Op::IsNull,
                            value: None,
                            negate: false,
                        };
                        return Ok(if not { Expr::Not(Box::new(e)) } else { e });
                    }
                    _ => w,
                }
            }
            _ => {
                return Err(err(format!(
                    "expected an operator (=, !=, <, >, LIKE, ~, IN, IS) at {op_at}"
                )));
            }
        };
        let value_at = self.at();
        let literal = |p: &mut Self| -> Result<Literal> {
            let v = match p.peek() {
                Some(Token::Quoted(s)) => Literal::Text(s.clone()),
                Some(Token::Number(n)) => Literal::Number(*n),
                _ => {
                    return Err(err(format!(
                        "expected a quoted text or a number at {}",
                        p.at()
                    )));
                }
            };
            p.pos += 1;
            Ok(v)
        };
        let (negate, op, value) = match op.as_str() {
            "IN" | "NOT IN" => {
                if self.peek() != Some(&Token::LParen) {
                    return Err(err(format!("expected `(` after IN at {value_at}")));
                }
                self.pos += 1;
                let mut values = vec![literal(self)?];
                while self.peek() == Some(&Token::Comma) {
                    self.pos += 1;
                    values.push(literal(self)?);
                }
                if self.peek() != Some(&Token::RParen) {
                    return Err(err(format!("expected `)` closing IN at {}", self.at())));
                }
                self.pos += 1;
                (op == "NOT IN", Op::In(values), None)
            }
            "LIKE" | "ILIKE" | "NOT LIKE" | "NOT ILIKE" | "~" => {
                let Literal::Text(pattern) = literal(self)? else {
                    return Err(err(format!("{op} takes a quoted pattern at {value_at}")));
                };
                let re = if op == "~" {
                    Regex::new(&pattern)
                        .map_err(|e| err(format!("bad regular expression at {value_at}: {e}")))?
                } else {
                    like(&pattern, op.contains("ILIKE"))?
                };
                let o = if op == "~" {
                    Op::Regex(re)
                } else {
                    Op::Like(re)
                };
                (op.starts_with("NOT"), o, None)
            }
            "=" | "!=" | "<" | "<=" | ">" | ">=" => {
                let v = literal(self)?;
                if entity == Entity::Metric && !matches!(v, Literal::Number(_)) {
                    return Err(err(format!(
                        "metrics.{key} compares with a number, not text, at {value_at}"
                    )));
                }
                let o = match op.as_str() {
                    "=" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    _ => Op::Ge,
                };
                (false, o, Some(v))
            }
            other => {
                return Err(err(format!("unknown operator {other:?} at {op_at}")));
            }
        };
        Ok(Expr::Compare {
            entity,
            key,
            op,
            value,
            negate,
        })
    }
}

/// The attribute a name (or one of its aliases, any case) stands for.
/// A key as filters and sort keys take it: backquoted unless plain (`` `val loss` ``).
pub fn quote_key(key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':'));
    if plain {
        key.to_owned()
    } else {
        format!("`{key}`")
    }
}

/// The condition that selects the runs whose `entity.key` (`params`, `tags`, `attributes`) is
/// `value`, or that lack it (`IS NULL`) when `value` is `None`.
pub fn equals(entity: &str, key: &str, value: Option<&str>) -> String {
    let column = format!("{entity}.{}", quote_key(key));
    match value {
        None => format!("{column} IS NULL"),
        Some(v) => format!("{column} = '{}'", v.replace('\'', "''")),
    }
}

/// `current` (a filter, blank: every run) narrowed by `condition`.
pub fn narrowed(current: Option<&str>, condition: &str) -> String {
    match current.map(str::trim).filter(|c| !c.is_empty()) {
        None => condition.to_owned(),
        Some(c) => format!("({c}) and {condition}"),
    }
}

pub(crate) fn attribute(key: &str) -> Option<&'static str> {
    Some(match key.to_ascii_lowercase().as_str() {
        "run_id" | "run_uuid" | "source_run_id" => "run_id",
        "run_name" | "name" | "runname" => "run_name",
        "status" => "status",
        "lifecycle_stage" => "lifecycle_stage",
        "artifact_uri" => "artifact_uri",
        "experiment" | "experiment_name" => "experiment",
        "parent" => "parent",
        "start_time" | "created" => "start_time",
        "end_time" => "end_time",
        "id" => "id",
        _ => return None,
    })
}

/// SQL LIKE as a regular expression over the whole value.
fn like(pattern: &str, case_insensitive: bool) -> Result<Regex> {
    let mut re = String::from(if case_insensitive { "(?is)^" } else { "(?s)^" });
    for c in pattern.chars() {
        match c {
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).map_err(|e| err(format!("bad LIKE pattern {pattern:?}: {e}")))
}

/// The value a run holds for an identifier.
pub(crate) enum Field<'a> {
    Missing,
    Text(&'a str),
    Number(f64),
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter> {
        let toks = tokens(text)?;
        if toks.is_empty() {
            return Err(err("the filter is empty".to_owned()));
        }
        let mut p = Parser { toks, pos: 0, text };
        let expr = p.or()?;
        if p.pos < p.toks.len() {
            return Err(err(format!(
                "unexpected text at {}: expected `and`, `or` or the end",
                p.at()
            )));
        }
        Ok(Filter { expr })
    }

    /// The metric, param and tag keys the filter reads: a listing loads only those for every
    /// run, and everything else for the runs it shows.
    /// The identifiers the filter reads (attributes by their canonical names).
    pub fn keys(&self) -> Vec<(Entity, String)> {
        fn walk(e: &Expr, out: &mut Vec<(Entity, String)>) {
            match e {
                Expr::And(a, b) | Expr::Or(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Expr::Not(a) => walk(a, out),
                Expr::Compare { entity, key, .. } => out.push((*entity, key.clone())),
            }
        }
        let mut out = Vec::new();
        walk(&self.expr, &mut out);
        out
    }

    pub(crate) fn matches(&self, run: &impl RunView) -> bool {
        eval(&self.expr, run)
    }
}

/// A metric's values as filters and sorts read them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MetricValues {
    /// MLflow's latest value (NaN when it was NaN).
    pub last: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// What filters and sorts read of a run: a full `RunRecord`, or the lean form a listing
/// holds for every run of a project.
pub(crate) trait RunView {
    fn param(&self, key: &str) -> Option<&str>;
    fn tag(&self, key: &str) -> Option<&str>;
    fn metric(&self, key: &str) -> Option<MetricValues>;
    /// The value of the attribute `key`, as [`attribute`] names it.
    fn attribute(&self, key: &str) -> Field<'_>;
}

pub(crate) fn text(v: &Option<String>) -> Field<'_> {
    v.as_deref().map_or(Field::Missing, Field::Text)
}

/// An epoch-milliseconds attribute as a filter reads it.
pub(crate) fn time<'a>(t: Option<i64>) -> Field<'a> {
    t.map_or(Field::Missing, |t| Field::Number(t as f64))
}

fn field<'a>(run: &'a impl RunView, entity: Entity, key: &str) -> Field<'a> {
    match entity {
        Entity::Metric => run
            .metric(key)
            .map_or(Field::Missing, |m| Field::Number(m.last)),
        Entity::Param => run.param(key).map_or(Field::Missing, Field::Text),
        Entity::Tag => run.tag(key).map_or(Field::Missing, Field::Text),
        Entity::Attribute => run.attribute(key),
    }
}

fn compare(f: &Field, op: &Op, v: &Literal) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (f, v) {
        (Field::Number(x), Literal::Number(y)) => x.partial_cmp(y),
        (Field::Number(x), Literal::Text(t)) => {
            super::parse_value(t).and_then(|y| x.partial_cmp(&y))
        }
        (Field::Text(s), Literal::Number(y)) => {
            super::parse_value(s).and_then(|x| x.partial_cmp(y))
        }
        (Field::Text(s), Literal::Text(t)) => Some((*s).cmp(t.as_str())),
        (Field::Missing, _) => None,
    };
    let Some(ord) = ord else { return false };
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        _ => false,
    }
}

fn eval(e: &Expr, run: &impl RunView) -> bool {
    match e {
        Expr::And(a, b) => eval(a, run) && eval(b, run),
        Expr::Or(a, b) => eval(a, run) || eval(b, run),
        Expr::Not(a) => !eval(a, run),
        Expr::Compare {
            entity,
            key,
            op,
            value,
            negate,
        } => {
            let f = field(run, *entity, key);
            let text = |f: &Field| -> Option<String> {
                match f {
                    Field::Missing => None,
                    Field::Text(s) => Some((*s).to_owned()),
                    Field::Number(x) => Some(x.to_string()),
                }
            };
            if let Op::IsNull = op {
                return matches!(f, Field::Missing);
            }
            if let Field::Missing = f {
                return false;
            }
            let holds = match op {
                Op::Like(re) | Op::Regex(re) => text(&f).is_some_and(|s| re.is_match(&s)),
                Op::In(values) => values.iter().any(|v| compare(&f, &Op::Eq, v)),
                _ => value.as_ref().is_some_and(|v| compare(&f, op, v)),
            };
            holds != *negate
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_quoted_unless_plain() {
        assert_eq!(quote_key("acc"), "acc");
        assert_eq!(quote_key("val/loss"), "val/loss");
        assert_eq!(quote_key("val loss"), "`val loss`");
    }

    #[test]
    fn group_conditions_quote_as_the_parser_reads() {
        assert_eq!(
            equals("params", "optimizer", Some("sgd")),
            "params.optimizer = 'sgd'"
        );
        assert_eq!(
            equals("tags", "team name", Some("o'brien")),
            "tags.`team name` = 'o''brien'"
        );
        assert_eq!(
            equals("attributes", "experiment", Some("churn")),
            "attributes.experiment = 'churn'"
        );
        assert_eq!(equals("params", "lr", None), "params.lr IS NULL");
        assert_eq!(
            narrowed(
                Some("metrics.acc > 0.9 or params.x = 'a'"),
                "params.lr IS NULL"
            ),
            "(metrics.acc > 0.9 or params.x = 'a') and params.lr IS NULL"
        );
        assert_eq!(
            narrowed(Some("  "), "params.lr IS NULL"),
            "params.lr IS NULL"
        );
        for text in [
            equals("tags", "team name", Some("o'brien")),
            narrowed(Some("metrics.acc > 0.9"), &equals("params", "lr", None)),
        ] {
            assert!(Filter::parse(&text).is_ok(), "{text}");
        }
    }
}
