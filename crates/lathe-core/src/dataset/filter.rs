//! The row filter language of `lathe dataset rows --filter` and the app's table.
//!
//! ```text
//! expr    := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" unary | "(" expr ")" | test
//! test    := column op literal
//!          | column "is" ["not"] "null"
//!          | column ["not"] "contains" text
//! op      := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//! column  := name | `any name`             (backquotes for names with spaces or symbols)
//! literal := number | 'text' | "text" | true | false
//! ```
//!
//! Keywords are case-insensitive; `and` binds tighter than `or`. Numbers compare with numeric
//! columns, text with text, date and time columns (as ISO text, so `day >= '2012-06-01'`
//! works), `true`/`false` with boolean columns. Every comparison with a missing value (null or
//! NaN) is false, so `x is null` finds them and `not (x = 1)` includes them. `contains` is a
//! case-sensitive substring test on the value's text.

use polars::prelude::*;

use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare {
        column: String,
        op: Op,
        value: Literal,
    },
    IsNull {
        column: String,
        negated: bool,
    },
    Contains {
        column: String,
        needle: String,
        negated: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Number(f64),
    Text(String),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Column(String),
    Text(String),
    Number(f64),
    Op(Op),
    Open,
    Close,
}

fn bad(detail: String) -> Error {
    Error::BadArgument {
        argument: "filter",
        detail,
    }
}

const HELP: &str = "write e.g. `age >= 30 and name contains 'an' or city is null`";

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        let column = pos + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((column, Token::Open));
                i += 1;
            }
            ')' => {
                out.push((column, Token::Close));
                i += 1;
            }
            '\'' | '"' | '`' => {
                let mut value = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => {
                            return Err(bad(format!(
                                "the quote {c} at character {column} is never closed"
                            )));
                        }
                        // A doubled quote stands for itself: 'it''s'.
                        Some((_, q)) if *q == c => {
                            if chars.get(j + 1).map(|(_, n)| *n) == Some(c) {
                                value.push(c);
                                j += 2;
                            } else {
                                break;
                            }
                        }
                        Some((_, ch)) => {
                            value.push(*ch);
                            j += 1;
                        }
                    }
                }
                out.push((
                    column,
                    if c == '`' {
                        Token::Column(value)
                    } else {
                        Token::Text(value)
                    },
                ));
                i = j + 1;
            }
            '=' | '!' | '<' | '>' => {
                let next = chars.get(i + 1).map(|(_, n)| *n);
                let (op, width) = match (c, next) {
                    ('=', Some('=')) => (Op::Eq, 2),
                    ('=', _) => (Op::Eq, 1),
                    ('!', Some('=')) => (Op::Ne, 2),
                    ('<', Some('>')) => (Op::Ne, 2),
                    ('<', Some('=')) => (Op::Le, 2),
                    ('<', _) => (Op::Lt, 1),
                    ('>', Some('=')) => (Op::Ge, 2),
                    ('>', _) => (Op::Gt, 1),
                    _ => {
                        return Err(bad(format!(
                            "unexpected '!' at character {column}; use != for 'not equal'"
                        )));
                    }
                };
                out.push((column, Token::Op(op)));
                i += width;
            }
            _ => {
                let mut j = i;
                while j < chars.len() {
                    let ch = chars[j].1;
                    if ch.is_whitespace() || "()'\"`=!<>".contains(ch) {
                        break;
                    }
                    j += 1;
                }
                let end = chars.get(j).map_or(text.len(), |(p, _)| *p);
                let word = &text[pos..end];
                let starts_numeric =
                    c.is_ascii_digit() || ((c == '-' || c == '+' || c == '.') && word.len() > 1);
                let token = match word.parse::<f64>() {
                    Ok(n) if starts_numeric => Token::Number(n),
                    _ if starts_numeric
                        && !word.chars().all(|c| c.is_alphanumeric() || c == '_') =>
                    {
                        return Err(bad(format!(
                            "'{word}' at character {column} is not a number"
                        )));
                    }
                    _ => Token::Word(word.to_owned()),
                };
                out.push((column, token));
                i = j;
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    len: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(_, t)| t)
    }

    fn position(&self) -> String {
        match self.tokens.get(self.at) {
            Some((p, _)) => format!("at character {p}"),
            None => format!("at the end (character {})", self.len + 1),
        }
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let hit = self.keyword(word);
        if hit {
            self.at += 1;
        }
        hit
    }

    fn or(&mut self) -> Result<Expr> {
        let mut left = self.and()?;
        while self.eat_keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr> {
        let mut left = self.unary()?;
        while self.eat_keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.eat_keyword("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            let inner = self.or()?;
            if self.peek() != Some(&Token::Close) {
                return Err(bad(format!("expected ')' {}", self.position())));
            }
            self.at += 1;
            return Ok(inner);
        }
        self.test()
    }

    fn test(&mut self) -> Result<Expr> {
        let column = match self.tokens.get(self.at).cloned() {
            Some((_, Token::Column(name))) => name,
            Some((_, Token::Word(w)))
                if !["and", "or", "not", "is", "null", "contains"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                w
            }
            _ => {
                return Err(bad(format!(
                    "expected a column name {}; {HELP}",
                    self.position()
                )));
            }
        };
        self.at += 1;
        if self.eat_keyword("is") {
            let negated = self.eat_keyword("not");
            if !self.eat_keyword("null") {
                return Err(bad(format!(
                    "expected 'null' after 'is' {}",
                    self.position()
                )));
            }
            return Ok(Expr::IsNull { column, negated });
        }
        let negated = self.eat_keyword("not");
        if self.eat_keyword("contains") {
            return match self.tokens.get(self.at).cloned() {
                Some((_, Token::Text(needle))) => {
                    self.at += 1;
                    Ok(Expr::Contains {
                        column,
                        needle,
                        negated,
                    })
                }
                _ => Err(bad(format!(
                    "expected quoted text after 'contains' {}",
                    self.position()
                ))),
            };
        }
        if negated {
            return Err(bad(format!(
                "expected 'contains' after 'not' {}",
                self.position()
            )));
        }
        let op = match self.peek() {
            Some(Token::Op(op)) => *op,
            _ => {
                return Err(bad(format!(
                    "expected a comparison (= != < <= > >=), 'is null' or 'contains' after '{column}' {}",
                    self.position()
                )));
            }
        };
        self.at += 1;
        let value = match self.tokens.get(self.at).cloned() {
            Some((_, Token::Number(n))) => Literal::Number(n),
            Some((_, Token::Text(t))) => Literal::Text(t),
            Some((_, Token::Word(w))) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Some((_, Token::Word(w))) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Some((_, Token::Word(w))) => {
                return Err(bad(format!(
                    "expected a value {}; quote text ('{w}'), or use backquotes for a column name",
                    self.position()
                )));
            }
            _ => {
                return Err(bad(format!(
                    "expected a value (a number, 'text', true or false) {}",
                    self.position()
                )));
            }
        };
        self.at += 1;
        Ok(Expr::Compare { column, op, value })
    }
}

/// Parses a filter expression.
pub fn parse(text: &str) -> Result<Expr> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err(bad(format!("the filter is empty; {HELP}")));
    }
    let mut parser = Parser {
        tokens,
        at: 0,
        len: text.chars().count(),
    };
    let expr = parser.or()?;
    if parser.at < parser.tokens.len() {
        return Err(bad(format!(
            "unexpected text {}; join conditions with 'and' or 'or'",
            parser.position()
        )));
    }
    Ok(expr)
}

impl Expr {
    /// The columns the expression reads, in order of first mention.
    pub fn columns(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_columns(&mut out);
        out
    }

    fn collect_columns(&self, out: &mut Vec<String>) {
        match self {
            Expr::Or(a, b) | Expr::And(a, b) => {
                a.collect_columns(out);
                b.collect_columns(out);
            }
            Expr::Not(a) => a.collect_columns(out),
            Expr::Compare { column, .. }
            | Expr::IsNull { column, .. }
            | Expr::Contains { column, .. } => {
                if !out.contains(column) {
                    out.push(column.clone());
                }
            }
        }
    }

    /// The rows of `frame` the expression selects.
    pub fn evaluate(&self, frame: &DataFrame) -> Result<BooleanChunked> {
        Ok(match self {
            Expr::Or(a, b) => a.evaluate(frame)? | b.evaluate(frame)?,
            Expr::And(a, b) => a.evaluate(frame)? & b.evaluate(frame)?,
            Expr::Not(a) => !a.evaluate(frame)?,
            Expr::IsNull { column, negated } => {
                let series = find(frame, column)?;
                let mut mask = series.is_null();
                if series.dtype().is_float() {
                    let nan = series
                        .cast(&DataType::Float64)
                        .map_err(compute)?
                        .f64()
                        .map_err(compute)?
                        .iter()
                        .map(|v| v.is_some_and(f64::is_nan))
                        .collect::<BooleanChunked>();
                    mask = mask | nan;
                }
                if *negated { !mask } else { mask }
            }
            Expr::Contains {
                column,
                needle,
                negated,
            } => {
                let series = find(frame, column)?;
                let text = series.cast(&DataType::String).map_err(compute)?;
                text.str()
                    .map_err(compute)?
                    .iter()
                    .map(|v| v.is_some_and(|s| s.contains(needle.as_str()) != *negated))
                    .collect()
            }
            Expr::Compare { column, op, value } => compare(find(frame, column)?, *op, value)?,
        }
        .with_name(PlSmallStr::from_static("filter")))
    }
}

fn compute(e: PolarsError) -> Error {
    Error::Compute {
        context: "cannot filter the rows",
        detail: e.to_string(),
    }
}

fn find<'a>(frame: &'a DataFrame, column: &str) -> Result<&'a Series> {
    frame
        .column(column)
        .map(|c| c.as_materialized_series())
        .map_err(|_| {
            bad(format!(
                "no column named '{column}'; the columns are {}",
                column_list(frame.get_column_names().as_slice())
            ))
        })
}

/// At most 30 quoted names, then how many more.
pub(crate) fn column_list<S: AsRef<str>>(names: &[S]) -> String {
    let listed: Vec<String> = names
        .iter()
        .take(30)
        .map(|n| format!("'{}'", n.as_ref()))
        .collect();
    match names.len().saturating_sub(30) {
        0 => listed.join(", "),
        more => format!("{} and {more} more", listed.join(", ")),
    }
}

fn holds<T: PartialOrd + ?Sized>(a: &T, op: Op, b: &T) -> bool {
    match op {
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
    }
}

fn compare(series: &Series, op: Op, value: &Literal) -> Result<BooleanChunked> {
    let dtype = series.dtype();
    let kind = if dtype.is_primitive_numeric() {
        "numeric"
    } else if dtype == &DataType::Boolean {
        "boolean"
    } else if dtype.is_temporal() {
        "a date/time column"
    } else {
        "text"
    };
    let mismatch = |expected: &str| {
        bad(format!(
            "column '{}' is {kind}; compare it with {expected}",
            series.name()
        ))
    };
    Ok(match value {
        Literal::Number(n) => {
            if !dtype.is_primitive_numeric() {
                return Err(mismatch(if kind == "boolean" {
                    "true or false"
                } else {
                    "quoted text, e.g. '2024-01-31'"
                }));
            }
            let floats = series.cast(&DataType::Float64).map_err(compute)?;
            floats
                .f64()
                .map_err(compute)?
                .iter()
                .map(|v| v.is_some_and(|v| !v.is_nan() && holds(&v, op, n)))
                .collect()
        }
        Literal::Bool(b) => {
            if dtype != &DataType::Boolean {
                return Err(mismatch(if kind == "numeric" {
                    "a number"
                } else {
                    "quoted text"
                }));
            }
            series
                .bool()
                .map_err(compute)?
                .iter()
                .map(|v| v.is_some_and(|v| holds(&v, op, b)))
                .collect()
        }
        Literal::Text(t) => {
            if dtype.is_primitive_numeric() || dtype == &DataType::Boolean {
                return Err(mismatch(if kind == "numeric" {
                    "a number (without quotes)"
                } else {
                    "true or false"
                }));
            }
            let text = series.cast(&DataType::String).map_err(compute)?;
            text.str()
                .map_err(compute)?
                .iter()
                .map(|v| v.is_some_and(|v| holds(v, op, t.as_str())))
                .collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DataFrame {
        df!(
            "age" => [Some(25i64), Some(40), None, Some(31)],
            "name" => [Some("Ana"), Some("Bo"), Some("Cid"), None],
            "score x" => [Some(0.5f64), Some(f64::NAN), Some(2.0), Some(-1.0)],
            "ok" => [true, false, true, false],
        )
        .unwrap()
    }

    fn rows(filter: &str) -> Vec<bool> {
        parse(filter)
            .unwrap()
            .evaluate(&frame())
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or(false))
            .collect()
    }

    fn error(filter: &str) -> String {
        match parse(filter).and_then(|e| e.evaluate(&frame())) {
            Ok(_) => panic!("{filter} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn comparisons_and_logic() {
        assert_eq!(rows("age >= 31"), [false, true, false, true]);
        assert_eq!(rows("age != 40"), [true, false, false, true]);
        assert_eq!(rows("age < 30 or name = 'Cid'"), [true, false, true, false]);
        assert_eq!(
            rows(
                "AGE > 20 and not (name = \"Bo\")"
                    .replace("AGE", "age")
                    .as_str()
            ),
            [true, false, false, true]
        );
        assert_eq!(rows("ok = true and age > 30"), [false, false, false, false]);
        assert_eq!(rows("`score x` > 0"), [true, false, true, false]);
        assert_eq!(
            rows("age > 0 or age < 0 and ok = false"),
            [true, true, false, true]
        );
        assert_eq!(rows("age <> 25"), [false, true, false, true]);
    }

    #[test]
    fn missing_values_match_only_is_null() {
        assert_eq!(rows("age is null"), [false, false, true, false]);
        assert_eq!(rows("age IS NOT NULL"), [true, true, false, true]);
        assert_eq!(rows("`score x` is null"), [false, true, false, false]);
        assert_eq!(rows("name contains 'i'"), [false, false, true, false]);
        assert_eq!(rows("name not contains 'i'"), [true, true, false, false]);
        assert_eq!(rows("not age = 25"), [false, true, true, true]);
    }

    #[test]
    fn errors_say_where_and_what() {
        assert!(error("").contains("empty"));
        assert!(error("age >").contains("expected a value"));
        assert!(error("age > 3 4").contains("character 9"));
        assert!(error("name = Ana").contains("quote text ('Ana')"));
        assert!(error("nope = 1").contains("no column named 'nope'"));
        assert!(error("age = '3'").contains("compare it with a number"));
        assert!(error("name > 3").contains("quoted text"));
        assert!(error("(age = 1").contains("expected ')'"));
        assert!(error("name = 'x").contains("never closed"));
        assert!(error("age ! 3").contains("!="));
        assert!(error("age is 3").contains("expected 'null'"));
        assert!(error("age 3").contains("expected a comparison"));
        assert!(error("and").contains("expected a column name"));
        assert!(error("age > 1.2.3").contains("not a number"));
    }

    #[test]
    fn quoted_quotes_and_negative_numbers() {
        let expr = parse("name = 'it''s' or age > -5.5e0").unwrap();
        assert_eq!(
            expr,
            Expr::Or(
                Box::new(Expr::Compare {
                    column: "name".into(),
                    op: Op::Eq,
                    value: Literal::Text("it's".into())
                }),
                Box::new(Expr::Compare {
                    column: "age".into(),
                    op: Op::Gt,
                    value: Literal::Number(-5.5)
                })
            )
        );
        assert_eq!(expr.columns(), ["name", "age"]);
    }
}
