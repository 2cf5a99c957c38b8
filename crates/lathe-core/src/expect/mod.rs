//! Data expectations: Great Expectations' expectation suites run on a table, with GX's
//! names, arguments and semantics (its pandas engine's), and its validation result's shape.
//!
//! A suite is read as GX writes it (1.x: `name`, `expectations[].type`; 0.18:
//! `expectation_suite_name`, `expectations[].expectation_type`), then every expectation is
//! checked against the table's columns and its arguments' types before any is run, so a suite
//! that cannot run is one clear error naming each problem ([`Suite::plan`]). Running it reads
//! only the columns it names.
//!
//! - [`text`]: Python's `str(float)`, `json.loads`, `strptime`, dateutil, and SQL's `LIKE`.
//! - [`report`]: the result as JUnit XML and as Markdown.
//! - [`store`]: results kept in the project (`checks`), with an audit entry.

pub mod report;
pub mod store;
pub mod text;

use std::collections::BTreeSet;

use foldhash::{HashMap, HashMapExt, HashSet};
use rayon::prelude::*;
use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::dataset::browse::TableSource;
use crate::error::{Error, Result};
use crate::job::Job;
use crate::numeric::{pairwise_sum, std_sample};

pub use store::{StoredCheck, list, load, save};
use text::{Like, Strptime, dateutil_parseable, json_parseable, py_float};

/// How many unexpected values a result lists (GX's `partial_unexpected_count`).
pub const PARTIAL_UNEXPECTED: usize = 20;

/// An expectation suite as read: its name and its expectations in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Suite {
    pub name: String,
    pub expectations: Vec<ExpectationConfig>,
}

/// One expectation as the suite gives it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExpectationConfig {
    pub expectation_type: String,
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub kwargs: Map<String, Value>,
}

/// The validation result, in GX's shape (`success`, `statistics`, `results` in the suite's
/// order).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Validation {
    pub success: bool,
    pub suite_name: String,
    pub statistics: Statistics,
    pub results: Vec<ExpectationResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ValidationStatistics"))]
pub struct Statistics {
    pub evaluated_expectations: u32,
    pub successful_expectations: u32,
    pub unsuccessful_expectations: u32,
    pub success_percent: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExpectationResult {
    pub expectation_type: String,
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub kwargs: Map<String, Value>,
    pub success: bool,
    pub result: Outcome,
}

/// What an expectation observed, with GX's field names; a field GX leaves out for the kind of
/// expectation is left out.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ExpectationOutcome"))]
pub struct Outcome {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(type = "unknown", optional))]
    pub observed_value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub element_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub unexpected_count: Option<u64>,
    /// Of the values that are not missing (GX's `unexpected_percent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub unexpected_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(type = "unknown[]", optional))]
    pub partial_unexpected_list: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub missing_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub missing_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub unexpected_percent_total: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub unexpected_percent_nonmissing: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(type = "unknown[]", optional))]
    pub partial_missing_list: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(type = "unknown", optional))]
    pub details: Option<Value>,
}

/// The expectations Lathe runs, by GX's name.
pub const SUPPORTED: &[&str] = &[
    "expect_table_row_count_to_be_between",
    "expect_table_row_count_to_equal",
    "expect_table_column_count_to_be_between",
    "expect_table_column_count_to_equal",
    "expect_table_columns_to_match_ordered_list",
    "expect_table_columns_to_match_set",
    "expect_column_to_exist",
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null",
    "expect_column_values_to_be_unique",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_increasing",
    "expect_column_values_to_be_decreasing",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex",
    "expect_column_values_to_match_regex_list",
    "expect_column_values_to_not_match_regex_list",
    "expect_column_values_to_match_like_pattern",
    "expect_column_values_to_not_match_like_pattern",
    "expect_column_values_to_match_like_pattern_list",
    "expect_column_values_to_not_match_like_pattern_list",
    "expect_column_value_lengths_to_be_between",
    "expect_column_value_lengths_to_equal",
    "expect_column_values_to_match_strftime_format",
    "expect_column_values_to_be_dateutil_parseable",
    "expect_column_values_to_be_json_parseable",
    "expect_column_values_to_be_of_type",
    "expect_column_values_to_be_in_type_list",
    "expect_column_min_to_be_between",
    "expect_column_max_to_be_between",
    "expect_column_mean_to_be_between",
    "expect_column_median_to_be_between",
    "expect_column_quantile_values_to_be_between",
    "expect_column_stdev_to_be_between",
    "expect_column_sum_to_be_between",
    "expect_column_proportion_of_unique_values_to_be_between",
    "expect_column_proportion_of_non_null_values_to_be_between",
    "expect_column_unique_value_count_to_be_between",
    "expect_column_distinct_values_to_be_in_set",
    "expect_column_distinct_values_to_contain_set",
    "expect_column_distinct_values_to_equal_set",
    "expect_column_most_common_value_to_be_in_set",
    "expect_compound_columns_to_be_unique",
    "expect_select_column_values_to_be_unique_within_record",
    "expect_multicolumn_sum_to_equal",
    "expect_column_pair_values_a_to_be_greater_than_b",
    "expect_column_pair_values_to_be_equal",
];

/// Arguments every expectation may carry that do not change what it computes.
const GENERAL_ARGS: &[&str] = &[
    "result_format",
    "include_config",
    "catch_exceptions",
    "meta",
    "notes",
    "description",
    "batch_id",
    "condition_parser",
    "severity",
    "windows",
];

fn bad(path: &Path, detail: impl Into<String>) -> Error {
    Error::BadPolicy {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

impl Suite {
    /// A GX expectation suite (1.x or 0.18 JSON). `path` names it in errors; a JSON error
    /// names the line and column; an expectation Lathe does not run is named, never skipped.
    pub fn parse(text: &str, path: &Path) -> Result<Suite> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            bad(
                path,
                format!(
                    "not valid JSON at line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        Suite::from_value(&value, path)
    }

    /// A suite from parsed JSON (or YAML turned into JSON values).
    pub fn from_value(value: &Value, path: &Path) -> Result<Suite> {
        let Some(object) = value.as_object() else {
            return Err(bad(
                path,
                "an expectation suite is a JSON object with an \"expectations\" list",
            ));
        };
        let name = object
            .get("name")
            .or_else(|| object.get("expectation_suite_name"))
            .and_then(Value::as_str)
            .unwrap_or("suite")
            .to_owned();
        let Some(list) = object.get("expectations").and_then(Value::as_array) else {
            return Err(bad(
                path,
                "no \"expectations\" list (a GX suite has one, even if empty)",
            ));
        };
        let mut expectations = Vec::with_capacity(list.len());
        let mut problems = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let kind = item
                .get("type")
                .or_else(|| item.get("expectation_type"))
                .and_then(Value::as_str);
            let Some(kind) = kind else {
                problems.push(format!(
                    "expectation {} has no \"type\" (GX 1.x) or \"expectation_type\" (GX 0.18)",
                    i + 1
                ));
                continue;
            };
            if !SUPPORTED.contains(&kind) {
                problems.push(format!(
                    "expectation {} ({kind}) is not one Lathe runs; docs/check.md lists the {} it does",
                    i + 1,
                    SUPPORTED.len()
                ));
                continue;
            }
            let kwargs = match item.get("kwargs") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(map)) => map.clone(),
                Some(_) => {
                    problems.push(format!(
                        "expectation {} ({kind}): \"kwargs\" must be an object",
                        i + 1
                    ));
                    continue;
                }
            };
            expectations.push(ExpectationConfig {
                expectation_type: kind.to_owned(),
                kwargs,
            });
        }
        if !problems.is_empty() {
            return Err(bad(path, problems.join("; ")));
        }
        Ok(Suite { name, expectations })
    }

    /// The suite as GX 1.x writes one (`name`, `expectations[].type`, `kwargs`).
    pub fn to_gx(&self) -> Value {
        serde_json::json!({
            "name": self.name,
            "expectations": self
                .expectations
                .iter()
                .map(|e| serde_json::json!({ "type": e.expectation_type, "kwargs": e.kwargs }))
                .collect::<Vec<_>>(),
        })
    }

    /// The columns the suite reads (in the order first named).
    pub fn columns(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for e in &self.expectations {
            for key in ["column", "column_A", "column_B"] {
                if let Some(Value::String(c)) = e.kwargs.get(key)
                    && !out.contains(c)
                    && e.expectation_type != "expect_column_to_exist"
                {
                    out.push(c.clone());
                }
            }
            if let Some(Value::Array(list)) = e.kwargs.get("column_list")
                && e.expectation_type != "expect_table_columns_to_match_ordered_list"
            {
                for c in list.iter().filter_map(Value::as_str) {
                    if !out.iter().any(|o| o == c) {
                        out.push(c.to_owned());
                    }
                }
            }
        }
        out
    }

    /// Every expectation checked against the table's columns (`names`, with their types)
    /// and its arguments; all problems in one error naming each expectation.
    pub fn plan(&self, schema: &Schema, path: &Path) -> Result<Vec<Check>> {
        let mut checks = Vec::with_capacity(self.expectations.len());
        let mut problems = Vec::new();
        for (i, e) in self.expectations.iter().enumerate() {
            match plan_one(e, schema) {
                Ok(check) => checks.push(check),
                Err(why) => {
                    let on = match e.kwargs.get("column").and_then(Value::as_str) {
                        Some(c) => format!(" on \"{c}\""),
                        None => String::new(),
                    };
                    problems.push(format!(
                        "expectation {} ({}{on}): {why}",
                        i + 1,
                        e.expectation_type
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(checks)
        } else {
            Err(bad(path, problems.join("; ")))
        }
    }
}

/// A bound of a range: a number or a text (text columns compare as Python compares `str`).
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Num(f64),
    Text(String),
}

#[derive(Debug, Clone, Default)]
pub struct Range {
    min: Option<Bound>,
    max: Option<Bound>,
    strict_min: bool,
    strict_max: bool,
}

impl Range {
    fn holds_num(&self, x: f64) -> bool {
        let lo = match &self.min {
            Some(Bound::Num(m)) => {
                if self.strict_min {
                    x > *m
                } else {
                    x >= *m
                }
            }
            _ => true,
        };
        let hi = match &self.max {
            Some(Bound::Num(m)) => {
                if self.strict_max {
                    x < *m
                } else {
                    x <= *m
                }
            }
            _ => true,
        };
        lo && hi
    }

    fn holds_text(&self, x: &str) -> bool {
        let lo = match &self.min {
            Some(Bound::Text(m)) => {
                if self.strict_min {
                    x > m.as_str()
                } else {
                    x >= m.as_str()
                }
            }
            _ => true,
        };
        let hi = match &self.max {
            Some(Bound::Text(m)) => {
                if self.strict_max {
                    x < m.as_str()
                } else {
                    x <= m.as_str()
                }
            }
            _ => true,
        };
        lo && hi
    }

    fn is_text(&self) -> bool {
        matches!(self.min, Some(Bound::Text(_))) || matches!(self.max, Some(Bound::Text(_)))
    }
}

/// A value of a `value_set`.
#[derive(Debug, Clone)]
enum Member {
    Num(f64),
    Text(String),
    Bool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stat {
    Min,
    Max,
    Mean,
    Median,
    Stdev,
    Sum,
    UniqueProportion,
    UniqueCount,
    NonNullProportion,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum SetRule {
    In,
    Contain,
    Equal,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ignore {
    Both,
    Either,
    Neither,
    All,
    Any,
}

#[derive(Debug, Clone)]
enum Texts {
    Regex(Vec<regex::Regex>),
    Like(Vec<Like>),
}

#[derive(Debug, Clone)]
enum MapTest {
    InSet(Vec<Member>),
    NotInSet(Vec<Member>),
    Between(Range),
    Unique,
    Monotone {
        increasing: bool,
        strictly: bool,
    },
    /// Matches: every pattern (`all`) or any of them; `negate` for the not-match forms
    /// (unexpected when any pattern matches).
    Matches {
        patterns: Texts,
        all: bool,
        negate: bool,
    },
    Lengths(Range),
    Strftime(Strptime),
    Dateutil,
    Json,
    Types(Vec<String>),
}

/// One expectation, checked and ready to run.
#[derive(Debug, Clone)]
pub struct Check {
    kind: CheckKind,
    mostly: f64,
}

#[derive(Debug, Clone)]
enum CheckKind {
    RowCount(Range),
    ColumnCount(Range),
    ColumnsOrdered(Vec<String>),
    ColumnsSet {
        set: Vec<String>,
        exact: bool,
    },
    ColumnExists {
        column: String,
        index: Option<usize>,
    },
    Nulls {
        column: String,
        want_null: bool,
    },
    Map {
        column: String,
        test: MapTest,
    },
    /// The column's type when it is not text (GX compares the dtype, not each value).
    DtypeIs {
        column: String,
        types: Vec<String>,
    },
    Aggregate {
        column: String,
        stat: Stat,
        range: Range,
    },
    Quantiles {
        column: String,
        quantiles: Vec<f64>,
        ranges: Vec<(Option<f64>, Option<f64>)>,
        method: Quantile,
    },
    Distinct {
        column: String,
        set: Vec<Member>,
        rule: SetRule,
    },
    MostCommon {
        column: String,
        set: Vec<Member>,
        ties_okay: bool,
    },
    CompoundUnique {
        columns: Vec<String>,
        ignore: Ignore,
    },
    UniqueWithinRecord {
        columns: Vec<String>,
        ignore: Ignore,
    },
    MulticolumnSum {
        columns: Vec<String>,
        total: f64,
        ignore: Ignore,
    },
    Pair {
        a: String,
        b: String,
        rule: PairRule,
        ignore: Ignore,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum PairRule {
    Equal,
    Greater { or_equal: bool },
}

/// pandas' `quantile(interpolation=…)`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Quantile {
    Nearest,
    Linear,
    Lower,
    Higher,
    Midpoint,
}

/// The typed reading of an expectation's kwargs, each error naming the argument.
struct Args<'a> {
    kwargs: &'a Map<String, Value>,
    used: Vec<&'static str>,
}

impl<'a> Args<'a> {
    fn get(&mut self, name: &'static str) -> Option<&'a Value> {
        self.used.push(name);
        self.kwargs.get(name).filter(|v| !v.is_null())
    }

    fn string(&mut self, name: &'static str) -> Result<String, String> {
        match self.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(format!("\"{name}\" must be a text, not {other}")),
            None => Err(format!("\"{name}\" is required")),
        }
    }

    fn number(&mut self, name: &'static str) -> Result<Option<f64>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(other) => Err(format!("\"{name}\" must be a number, not {other}")),
        }
    }

    fn bound(&mut self, name: &'static str) -> Result<Option<Bound>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64().map(Bound::Num)),
            Some(Value::String(s)) => Ok(Some(Bound::Text(s.clone()))),
            Some(other) => Err(format!(
                "\"{name}\" must be a number or a text, not {other}"
            )),
        }
    }

    fn flag(&mut self, name: &'static str) -> Result<bool, String> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(format!("\"{name}\" must be true or false, not {other}")),
        }
    }

    fn strings(&mut self, name: &'static str) -> Result<Vec<String>, String> {
        match self.get(name) {
            Some(Value::Array(list)) => list
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(format!("\"{name}\" must list texts, not {other}")),
                })
                .collect(),
            Some(other) => Err(format!("\"{name}\" must be a list of texts, not {other}")),
            None => Err(format!("\"{name}\" is required")),
        }
    }

    fn members(&mut self, name: &'static str) -> Result<Vec<Member>, String> {
        match self.get(name) {
            Some(Value::Array(list)) => list
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(Member::Text(s.clone())),
                    Value::Number(n) => Ok(Member::Num(n.as_f64().unwrap_or(f64::NAN))),
                    Value::Bool(b) => Ok(Member::Bool(*b)),
                    other => Err(format!(
                        "\"{name}\" must list numbers, texts or booleans, not {other}"
                    )),
                })
                .collect(),
            Some(other) => Err(format!("\"{name}\" must be a list, not {other}")),
            None => Err(format!("\"{name}\" is required")),
        }
    }

    fn range(&mut self) -> Result<Range, String> {
        let range = Range {
            min: self.bound("min_value")?,
            max: self.bound("max_value")?,
            strict_min: self.flag("strict_min")?,
            strict_max: self.flag("strict_max")?,
        };
        if let (Some(Bound::Num(a)), Some(Bound::Num(b))) = (&range.min, &range.max)
            && a > b
        {
            return Err(format!(
                "\"min_value\" ({a}) is greater than \"max_value\" ({b})"
            ));
        }
        Ok(range)
    }

    fn ignore(&mut self, default: Ignore) -> Result<Ignore, String> {
        match self.get("ignore_row_if") {
            None => Ok(default),
            Some(Value::String(s)) => match s.as_str() {
                "both_values_are_missing" => Ok(Ignore::Both),
                "either_value_is_missing" => Ok(Ignore::Either),
                "all_values_are_missing" => Ok(Ignore::All),
                "any_value_is_missing" => Ok(Ignore::Any),
                "neither" | "never" => Ok(Ignore::Neither),
                other => Err(format!("\"ignore_row_if\" cannot be \"{other}\"")),
            },
            Some(other) => Err(format!("\"ignore_row_if\" must be a text, not {other}")),
        }
    }

    /// The arguments given that the expectation does not take.
    fn unknown(&self) -> Vec<&'a str> {
        self.kwargs
            .keys()
            .map(String::as_str)
            .filter(|k| !self.used.contains(k) && !GENERAL_ARGS.contains(k))
            .collect()
    }
}

fn regexes(list: &[String]) -> Result<Vec<regex::Regex>, String> {
    list.iter()
        .map(|r| {
            regex::Regex::new(r).map_err(|e| {
                format!("the regular expression {r:?} cannot be used: {e} (Lathe's regular expressions have no look-around or back-references)")
            })
        })
        .collect()
}

/// The pandas name of a column's type (numpy's scalar type name), as GX reports it.
fn dtype_name(dtype: &DataType) -> &'static str {
    match dtype {
        DataType::Int8 => "int8",
        DataType::Int16 => "int16",
        DataType::Int32 => "int32",
        DataType::Int64 => "int64",
        DataType::UInt8 => "uint8",
        DataType::UInt16 => "uint16",
        DataType::UInt32 => "uint32",
        DataType::UInt64 => "uint64",
        DataType::Float32 => "float32",
        DataType::Float64 => "float64",
        DataType::Boolean => "bool",
        DataType::Date | DataType::Datetime(..) => "datetime64",
        DataType::Duration(_) => "timedelta64",
        _ => "object_",
    }
}

fn is_text(dtype: &DataType) -> bool {
    matches!(dtype_name(dtype), "object_" | "datetime64")
}

fn is_numeric(dtype: &DataType) -> bool {
    dtype.is_primitive_numeric()
}

/// The names a type argument accepts for a column of `dtype` (numpy's `np.dtype(name)`,
/// Python's `int`/`float`/`bool`/`str`), or an error for a name neither knows.
fn type_matches(name: &str, dtype: &'static str) -> Result<bool, String> {
    let numpy = match name {
        "int8" | "i1" | "byte" => Some("int8"),
        "int16" | "i2" | "short" => Some("int16"),
        "int32" | "i4" | "intc" => Some("int32"),
        "int64" | "i8" | "int" | "int_" | "long" | "longlong" | "intp" => Some("int64"),
        "uint8" | "u1" | "ubyte" => Some("uint8"),
        "uint16" | "u2" => Some("uint16"),
        "uint32" | "u4" | "uintc" => Some("uint32"),
        "uint64" | "u8" | "uint" | "ulonglong" | "uintp" => Some("uint64"),
        "float16" | "f2" | "half" => Some("float16"),
        "float32" | "f4" | "single" => Some("float32"),
        "float64" | "f8" | "float" | "double" | "float_" => Some("float64"),
        "bool" | "bool_" | "?" => Some("bool"),
        "object" | "object_" | "O" => Some("object_"),
        "str" | "str_" | "U" | "unicode" | "bytes" | "S" => Some("str_"),
        "datetime64" | "M" | "datetime64[ns]" | "M8" => Some("datetime64"),
        "timedelta64" | "m" | "timedelta64[ns]" => Some("timedelta64"),
        "complex" | "complex128" | "c16" | "complex64" => Some("complex"),
        _ => None,
    };
    let known_pandas = matches!(
        name,
        "Int64"
            | "Int32"
            | "Float64"
            | "StringDtype"
            | "BooleanDtype"
            | "CategoricalDtype"
            | "DatetimeTZDtype"
            | "Timestamp"
            | "string_types"
            | "none"
            | "None"
            | "list"
            | "dict"
    );
    if numpy.is_none() && !known_pandas {
        return Err(format!(
            "\"{name}\" is not a numpy, pandas or Python type name (e.g. int64, float64, str, bool)"
        ));
    }
    Ok(numpy == Some(dtype))
}

/// Whether a text value (a Python `str`) is an instance of the type `name` (GX's map form on
/// object columns: `np.dtype(name).type` is `np.str_` for "str", which a `str` is not; the
/// Python type `str` is what matches it).
fn text_value_matches(name: &str) -> bool {
    matches!(name.to_ascii_lowercase().as_str(), "str" | "string_types")
}

fn plan_one(e: &ExpectationConfig, schema: &Schema) -> Result<Check, String> {
    let mut args = Args {
        kwargs: &e.kwargs,
        used: Vec::new(),
    };
    if args.get("row_condition").is_some() {
        return Err("\"row_condition\" is not supported yet: filter the table first".into());
    }
    let mostly = match args.number("mostly")? {
        None => 1.0,
        Some(m) if (0.0..=1.0).contains(&m) => m,
        Some(m) => return Err(format!("\"mostly\" must be between 0 and 1, not {m}")),
    };
    let column_of = |args: &mut Args, key: &'static str| -> Result<(String, DataType), String> {
        let c = args.string(key)?;
        match schema.get(&c) {
            Some(dtype) => Ok((c, dtype.clone())),
            None => Err(format!(
                "the table has no column \"{c}\" (it has: {})",
                schema
                    .iter_names()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    };
    let columns_of = |args: &mut Args, key: &'static str| -> Result<Vec<String>, String> {
        let list = args.strings(key)?;
        if let Some(missing) = list.iter().find(|c| schema.get(c.as_str()).is_none()) {
            return Err(format!("the table has no column \"{missing}\""));
        }
        if list.len() < 2 {
            return Err(format!("\"{key}\" must name at least two columns"));
        }
        Ok(list)
    };
    let kind = e.expectation_type.as_str();
    let text_only = |dtype: &DataType, what: &str| -> Result<(), String> {
        if is_text(dtype) {
            Ok(())
        } else {
            Err(format!(
                "the column holds {} values; {what} needs text (GX raises on it too)",
                dtype_name(dtype)
            ))
        }
    };
    let check = match kind {
        "expect_table_row_count_to_be_between" => CheckKind::RowCount(args.range()?),
        "expect_table_row_count_to_equal" => {
            let v = args.number("value")?.ok_or("\"value\" is required")?;
            CheckKind::RowCount(Range {
                min: Some(Bound::Num(v)),
                max: Some(Bound::Num(v)),
                ..Range::default()
            })
        }
        "expect_table_column_count_to_be_between" => CheckKind::ColumnCount(args.range()?),
        "expect_table_column_count_to_equal" => {
            let v = args.number("value")?.ok_or("\"value\" is required")?;
            CheckKind::ColumnCount(Range {
                min: Some(Bound::Num(v)),
                max: Some(Bound::Num(v)),
                ..Range::default()
            })
        }
        "expect_table_columns_to_match_ordered_list" => {
            CheckKind::ColumnsOrdered(args.strings("column_list")?)
        }
        "expect_table_columns_to_match_set" => {
            let set = args.strings("column_set")?;
            let exact = match args.get("exact_match") {
                None => true,
                Some(Value::Bool(b)) => *b,
                Some(other) => {
                    return Err(format!(
                        "\"exact_match\" must be true or false, not {other}"
                    ));
                }
            };
            CheckKind::ColumnsSet { set, exact }
        }
        "expect_column_to_exist" => {
            let column = args.string("column")?;
            let index = match args.number("column_index")? {
                None => None,
                Some(i) if i >= 0.0 && i.fract() == 0.0 => Some(i as usize),
                Some(i) => {
                    return Err(format!(
                        "\"column_index\" must be a whole number ≥ 0, not {i}"
                    ));
                }
            };
            CheckKind::ColumnExists { column, index }
        }
        "expect_column_values_to_not_be_null" | "expect_column_values_to_be_null" => {
            let (column, _) = column_of(&mut args, "column")?;
            CheckKind::Nulls {
                column,
                want_null: kind == "expect_column_values_to_be_null",
            }
        }
        "expect_column_values_to_be_of_type" | "expect_column_values_to_be_in_type_list" => {
            let (column, dtype) = column_of(&mut args, "column")?;
            let types = if kind == "expect_column_values_to_be_of_type" {
                vec![args.string("type_")?]
            } else {
                args.strings("type_list")?
            };
            let name = dtype_name(&dtype);
            for t in &types {
                type_matches(t, name)?;
            }
            let object = ["object", "object_", "O"];
            if name == "object_" && !types.iter().any(|t| object.contains(&t.as_str())) {
                CheckKind::Map {
                    column,
                    test: MapTest::Types(types),
                }
            } else {
                CheckKind::DtypeIs { column, types }
            }
        }
        "expect_column_min_to_be_between"
        | "expect_column_max_to_be_between"
        | "expect_column_mean_to_be_between"
        | "expect_column_median_to_be_between"
        | "expect_column_stdev_to_be_between"
        | "expect_column_sum_to_be_between"
        | "expect_column_proportion_of_unique_values_to_be_between"
        | "expect_column_proportion_of_non_null_values_to_be_between"
        | "expect_column_unique_value_count_to_be_between" => {
            let (column, dtype) = column_of(&mut args, "column")?;
            let stat = match kind {
                "expect_column_min_to_be_between" => Stat::Min,
                "expect_column_max_to_be_between" => Stat::Max,
                "expect_column_mean_to_be_between" => Stat::Mean,
                "expect_column_median_to_be_between" => Stat::Median,
                "expect_column_stdev_to_be_between" => Stat::Stdev,
                "expect_column_sum_to_be_between" => Stat::Sum,
                "expect_column_proportion_of_unique_values_to_be_between" => Stat::UniqueProportion,
                "expect_column_proportion_of_non_null_values_to_be_between" => {
                    Stat::NonNullProportion
                }
                _ => Stat::UniqueCount,
            };
            let numeric_stat = matches!(stat, Stat::Mean | Stat::Median | Stat::Stdev | Stat::Sum);
            if numeric_stat && !is_numeric(&dtype) {
                return Err(format!(
                    "the column holds {} values; this statistic needs numbers",
                    dtype_name(&dtype)
                ));
            }
            let range = args.range()?;
            if range.is_text() && !(matches!(stat, Stat::Min | Stat::Max) && is_text(&dtype)) {
                return Err("\"min_value\" and \"max_value\" must be numbers here".into());
            }
            CheckKind::Aggregate {
                column,
                stat,
                range,
            }
        }
        "expect_column_quantile_values_to_be_between" => {
            let (column, dtype) = column_of(&mut args, "column")?;
            if !is_numeric(&dtype) {
                return Err(format!(
                    "the column holds {} values; quantiles need numbers",
                    dtype_name(&dtype)
                ));
            }
            let q = args
                .get("quantile_ranges")
                .ok_or("\"quantile_ranges\" is required")?;
            let quantiles: Vec<f64> = q
                .get("quantiles")
                .and_then(Value::as_array)
                .ok_or("\"quantile_ranges\" needs a \"quantiles\" list")?
                .iter()
                .map(|v| {
                    v.as_f64()
                        .filter(|x| (0.0..=1.0).contains(x))
                        .ok_or_else(|| format!("quantile {v} is not a number between 0 and 1"))
                })
                .collect::<Result<_, String>>()?;
            let ranges: Vec<(Option<f64>, Option<f64>)> = q
                .get("value_ranges")
                .and_then(Value::as_array)
                .ok_or("\"quantile_ranges\" needs a \"value_ranges\" list")?
                .iter()
                .map(|r| match r.as_array().map(Vec::as_slice) {
                    Some([a, b])
                        if (a.is_null() || a.is_number()) && (b.is_null() || b.is_number()) =>
                    {
                        Ok((a.as_f64(), b.as_f64()))
                    }
                    _ => Err(format!(
                        "value range {r} is not a [min, max] pair (null for no bound)"
                    )),
                })
                .collect::<Result<_, String>>()?;
            if ranges.len() != quantiles.len() {
                return Err(format!(
                    "{} quantiles but {} value ranges; give one range per quantile",
                    quantiles.len(),
                    ranges.len()
                ));
            }
            let method = match args.get("allow_relative_error") {
                None | Some(Value::Bool(false)) => Quantile::Nearest,
                Some(Value::String(s)) => match s.as_str() {
                    "nearest" => Quantile::Nearest,
                    "linear" => Quantile::Linear,
                    "lower" => Quantile::Lower,
                    "higher" => Quantile::Higher,
                    "midpoint" => Quantile::Midpoint,
                    other => {
                        return Err(format!(
                            "\"allow_relative_error\" cannot be \"{other}\" (nearest, linear, lower, higher, midpoint)"
                        ));
                    }
                },
                Some(other) => {
                    return Err(format!(
                        "\"allow_relative_error\" cannot be {other} (nearest, linear, lower, higher, midpoint)"
                    ));
                }
            };
            CheckKind::Quantiles {
                column,
                quantiles,
                ranges,
                method,
            }
        }
        "expect_column_distinct_values_to_be_in_set"
        | "expect_column_distinct_values_to_contain_set"
        | "expect_column_distinct_values_to_equal_set" => {
            let (column, _) = column_of(&mut args, "column")?;
            let set = args.members("value_set")?;
            let rule = match kind {
                "expect_column_distinct_values_to_be_in_set" => SetRule::In,
                "expect_column_distinct_values_to_contain_set" => SetRule::Contain,
                _ => SetRule::Equal,
            };
            CheckKind::Distinct { column, set, rule }
        }
        "expect_column_most_common_value_to_be_in_set" => {
            let (column, _) = column_of(&mut args, "column")?;
            let set = args.members("value_set")?;
            let ties_okay = args.flag("ties_okay")?;
            CheckKind::MostCommon {
                column,
                set,
                ties_okay,
            }
        }
        "expect_compound_columns_to_be_unique" => {
            let columns = columns_of(&mut args, "column_list")?;
            let ignore = args.ignore(Ignore::All)?;
            CheckKind::CompoundUnique { columns, ignore }
        }
        "expect_select_column_values_to_be_unique_within_record" => {
            let columns = columns_of(&mut args, "column_list")?;
            let ignore = args.ignore(Ignore::All)?;
            CheckKind::UniqueWithinRecord { columns, ignore }
        }
        "expect_multicolumn_sum_to_equal" => {
            let columns = columns_of(&mut args, "column_list")?;
            if let Some(c) = columns
                .iter()
                .find(|c| !schema.get(c.as_str()).is_some_and(is_numeric))
            {
                return Err(format!("the column \"{c}\" does not hold numbers"));
            }
            let total = args
                .number("sum_total")?
                .ok_or("\"sum_total\" is required")?;
            let ignore = args.ignore(Ignore::All)?;
            CheckKind::MulticolumnSum {
                columns,
                total,
                ignore,
            }
        }
        "expect_column_pair_values_a_to_be_greater_than_b"
        | "expect_column_pair_values_to_be_equal" => {
            let (a, da) = column_of(&mut args, "column_A")?;
            let (b, db) = column_of(&mut args, "column_B")?;
            if is_numeric(&da) != is_numeric(&db) {
                return Err(format!(
                    "\"{a}\" holds {} values and \"{b}\" {}; they cannot be compared",
                    dtype_name(&da),
                    dtype_name(&db)
                ));
            }
            let rule = if kind == "expect_column_pair_values_to_be_equal" {
                PairRule::Equal
            } else {
                PairRule::Greater {
                    or_equal: args.flag("or_equal")?,
                }
            };
            let ignore = args.ignore(Ignore::Both)?;
            CheckKind::Pair { a, b, rule, ignore }
        }
        _ => {
            // The column-map expectations: a test of each value that is not missing.
            let (column, dtype) = column_of(&mut args, "column")?;
            let test = match kind {
                "expect_column_values_to_be_unique" => MapTest::Unique,
                "expect_column_values_to_be_in_set" => MapTest::InSet(args.members("value_set")?),
                "expect_column_values_to_not_be_in_set" => {
                    MapTest::NotInSet(args.members("value_set")?)
                }
                "expect_column_values_to_be_between" => {
                    let range = args.range()?;
                    if range.min.is_none() && range.max.is_none() {
                        return Err("give \"min_value\", \"max_value\" or both".into());
                    }
                    if range.is_text() == is_numeric(&dtype) {
                        return Err(format!(
                            "the column holds {} values and the bounds are {}",
                            dtype_name(&dtype),
                            if range.is_text() { "texts" } else { "numbers" }
                        ));
                    }
                    MapTest::Between(range)
                }
                "expect_column_values_to_be_increasing"
                | "expect_column_values_to_be_decreasing" => {
                    if !is_numeric(&dtype) {
                        return Err(format!(
                            "the column holds {} values; the order test needs numbers",
                            dtype_name(&dtype)
                        ));
                    }
                    MapTest::Monotone {
                        increasing: kind == "expect_column_values_to_be_increasing",
                        strictly: args.flag("strictly")?,
                    }
                }
                "expect_column_values_to_match_regex"
                | "expect_column_values_to_not_match_regex" => MapTest::Matches {
                    patterns: Texts::Regex(regexes(&[args.string("regex")?])?),
                    all: true,
                    negate: kind == "expect_column_values_to_not_match_regex",
                },
                "expect_column_values_to_match_regex_list"
                | "expect_column_values_to_not_match_regex_list" => {
                    let list = args.strings("regex_list")?;
                    if list.is_empty() {
                        return Err("\"regex_list\" must not be empty".into());
                    }
                    MapTest::Matches {
                        patterns: Texts::Regex(regexes(&list)?),
                        all: match_on(&mut args)?,
                        negate: kind == "expect_column_values_to_not_match_regex_list",
                    }
                }
                "expect_column_values_to_match_like_pattern"
                | "expect_column_values_to_not_match_like_pattern" => MapTest::Matches {
                    patterns: Texts::Like(vec![Like::new(&args.string("like_pattern")?)?]),
                    all: true,
                    negate: kind == "expect_column_values_to_not_match_like_pattern",
                },
                "expect_column_values_to_match_like_pattern_list"
                | "expect_column_values_to_not_match_like_pattern_list" => {
                    let list = args.strings("like_pattern_list")?;
                    if list.is_empty() {
                        return Err("\"like_pattern_list\" must not be empty".into());
                    }
                    MapTest::Matches {
                        patterns: Texts::Like(
                            list.iter()
                                .map(|p| Like::new(p))
                                .collect::<Result<_, _>>()?,
                        ),
                        all: match_on(&mut args)?,
                        negate: kind == "expect_column_values_to_not_match_like_pattern_list",
                    }
                }
                "expect_column_value_lengths_to_be_between" => {
                    text_only(&dtype, "a length test")?;
                    let range = args.range()?;
                    if range.min.is_none() && range.max.is_none() {
                        return Err("give \"min_value\", \"max_value\" or both".into());
                    }
                    MapTest::Lengths(range)
                }
                "expect_column_value_lengths_to_equal" => {
                    text_only(&dtype, "a length test")?;
                    let v = args.number("value")?.ok_or("\"value\" is required")?;
                    MapTest::Lengths(Range {
                        min: Some(Bound::Num(v)),
                        max: Some(Bound::Num(v)),
                        ..Range::default()
                    })
                }
                "expect_column_values_to_match_strftime_format" => {
                    text_only(&dtype, "a strftime format")?;
                    MapTest::Strftime(Strptime::new(&args.string("strftime_format")?)?)
                }
                "expect_column_values_to_be_dateutil_parseable" => {
                    text_only(&dtype, "dateutil parsing")?;
                    MapTest::Dateutil
                }
                "expect_column_values_to_be_json_parseable" => MapTest::Json,
                other => return Err(format!("{other} is not one Lathe runs")),
            };
            CheckKind::Map { column, test }
        }
    };
    let unknown = args.unknown();
    if !unknown.is_empty() {
        return Err(format!(
            "it takes no argument {} (check the spelling against GX's documentation)",
            unknown
                .iter()
                .map(|k| format!("\"{k}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(Check {
        kind: check,
        mostly,
    })
}

fn match_on(args: &mut Args) -> Result<bool, String> {
    match args.get("match_on") {
        None => Ok(false),
        Some(Value::String(s)) if s == "any" => Ok(false),
        Some(Value::String(s)) if s == "all" => Ok(true),
        Some(other) => Err(format!(
            "\"match_on\" must be \"any\" or \"all\", not {other}"
        )),
    }
}

/// A column's values as the tests read them: missing is `None` (a float's NaN too, as pandas
/// counts it), dates and other types as their text.
enum Data<'a> {
    Int(Ints<'a>),
    Float(Floats<'a>),
    Bool(Vec<Option<bool>>),
    Text(TextColumn<'a>),
}

/// A text column, read in place from the table's one chunk.
struct TextColumn<'a>(&'a polars_arrow::array::Utf8ViewArray);

impl<'a> TextColumn<'a> {
    fn get(&self, i: usize) -> Option<&'a str> {
        use polars_arrow::array::Array as _;
        self.0.is_valid(i).then(|| self.0.value(i))
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// An integer column: the values borrowed from the table when it has no nulls (else copied
/// once), and which are present.
struct Ints<'a> {
    values: std::borrow::Cow<'a, [i64]>,
    valid: Option<Vec<bool>>,
}

impl Ints<'_> {
    fn get(&self, i: usize) -> Option<i64> {
        match &self.valid {
            Some(v) if !v[i] => None,
            _ => Some(self.values[i]),
        }
    }

    fn len(&self) -> usize {
        self.values.len()
    }
}

/// A float column, NaN for missing (pandas' view): borrowed from the table when it has no
/// nulls, else copied once with NaN in their place.
struct Floats<'a>(std::borrow::Cow<'a, [f64]>);

impl Floats<'_> {
    fn get(&self, i: usize) -> Option<f64> {
        let x = self.0[i];
        (!x.is_nan()).then_some(x)
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// A value, for hashing and comparing (floats by their bits, -0.0 as 0.0).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key<'a> {
    Num(OrdF64),
    Bool(bool),
    Text(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct OrdF64(f64);
impl Eq for OrdF64 {}
impl std::hash::Hash for OrdF64 {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let x = if self.0 == 0.0 { 0.0 } else { self.0 };
        x.to_bits().hash(state);
    }
}
impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl<'a> Data<'a> {
    fn of(column: &'a Column) -> Result<Data<'a>> {
        let s = column.as_materialized_series();
        let err = |e: PolarsError| Error::Compute {
            context: "read a column for its expectations",
            detail: e.to_string(),
        };
        Ok(match s.dtype() {
            DataType::Boolean => Data::Bool(s.bool().map_err(err)?.iter().collect()),
            DataType::String => {
                let ca = s.str().map_err(err)?;
                let mut chunks = ca.downcast_iter();
                match (chunks.next(), chunks.next()) {
                    (Some(one), None) => Data::Text(TextColumn(one)),
                    _ => {
                        return Err(Error::Compute {
                            context: "read a column for its expectations",
                            detail: format!("column {} is not in one chunk", s.name()),
                        });
                    }
                }
            }
            DataType::Float64 => {
                let ca = s.f64().map_err(err)?;
                Data::Float(Floats(match ca.cont_slice() {
                    Ok(slice) => std::borrow::Cow::Borrowed(slice),
                    Err(_) => ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
                }))
            }
            DataType::Int64 => {
                let ca = s.i64().map_err(err)?;
                match ca.cont_slice() {
                    Ok(slice) => Data::Int(Ints {
                        values: std::borrow::Cow::Borrowed(slice),
                        valid: None,
                    }),
                    Err(_) => Data::Int(Ints {
                        values: ca.iter().map(|v| v.unwrap_or(0)).collect(),
                        valid: Some(ca.iter().map(|v| v.is_some()).collect()),
                    }),
                }
            }
            other => {
                return Err(Error::Compute {
                    context: "read a column for its expectations",
                    detail: format!(
                        "column {} has the type {other}, which was not turned into text",
                        s.name()
                    ),
                });
            }
        })
    }

    fn len(&self) -> usize {
        match self {
            Data::Int(v) => v.len(),
            Data::Float(v) => v.len(),
            Data::Bool(v) => v.len(),
            Data::Text(v) => v.len(),
        }
    }

    fn missing(&self, i: usize) -> bool {
        match self {
            Data::Int(v) => v.get(i).is_none(),
            Data::Float(v) => v.get(i).is_none(),
            Data::Bool(v) => v[i].is_none(),
            Data::Text(v) => v.get(i).is_none(),
        }
    }

    fn num(&self, i: usize) -> Option<f64> {
        match self {
            Data::Int(v) => v.get(i).map(|x| x as f64),
            Data::Float(v) => v.get(i),
            Data::Bool(v) => v[i].map(|b| f64::from(u8::from(b))),
            Data::Text(_) => None,
        }
    }

    fn text(&self, i: usize) -> Option<&'a str> {
        match self {
            Data::Text(v) => v.get(i),
            _ => None,
        }
    }

    fn key(&self, i: usize) -> Option<Key<'a>> {
        match self {
            Data::Int(v) => v.get(i).map(|x| Key::Num(OrdF64(x as f64))),
            Data::Float(v) => v
                .get(i)
                .map(|x| Key::Num(OrdF64(if x == 0.0 { 0.0 } else { x }))),
            Data::Bool(v) => v[i].map(Key::Bool),
            Data::Text(v) => v.get(i).map(Key::Text),
        }
    }

    /// The value as JSON, as GX lists it (an integer column's values as integers).
    fn json(&self, i: usize) -> Value {
        match self {
            Data::Int(v) => v.get(i).map_or(Value::Null, Value::from),
            Data::Float(v) => v.get(i).map_or(Value::Null, float_json),
            Data::Bool(v) => v[i].map_or(Value::Null, Value::Bool),
            Data::Text(v) => v
                .get(i)
                .map_or(Value::Null, |s| Value::String(s.to_owned())),
        }
    }

    /// `str(value)` in Python (pandas' `astype(str)`, which the regex tests read).
    fn py_str(&self, i: usize) -> Option<std::borrow::Cow<'a, str>> {
        use std::borrow::Cow;
        match self {
            Data::Int(v) => v.get(i).map(|x| Cow::Owned(x.to_string())),
            Data::Float(v) => v.get(i).map(|x| Cow::Owned(py_float(x))),
            Data::Bool(v) => v[i].map(|b| Cow::Borrowed(if b { "True" } else { "False" })),
            Data::Text(v) => v.get(i).map(Cow::Borrowed),
        }
    }
}

fn float_json(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn member_key(m: &Member) -> Key<'_> {
    match m {
        Member::Num(x) => Key::Num(OrdF64(if *x == 0.0 { 0.0 } else { *x })),
        Member::Text(s) => Key::Text(s),
        Member::Bool(b) => Key::Bool(*b),
    }
}

fn key_json(k: &Key, integral: bool) -> Value {
    match k {
        Key::Num(x) if integral && x.0.fract() == 0.0 && x.0.abs() < 9.0e15 => {
            Value::from(x.0 as i64)
        }
        Key::Num(x) => float_json(x.0),
        Key::Bool(b) => Value::Bool(*b),
        Key::Text(s) => Value::String((*s).to_owned()),
    }
}

fn member_json(m: &Member) -> Value {
    match m {
        Member::Num(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Value::from(*x as i64),
        Member::Num(x) => float_json(*x),
        Member::Text(s) => Value::String(s.clone()),
        Member::Bool(b) => Value::Bool(*b),
    }
}

/// GX's `_mostly_success` and its empty-table rule.
fn mostly_success(considered: u64, unexpected: u64, mostly: f64) -> bool {
    if considered == 0 {
        return true;
    }
    (considered as f64 - unexpected as f64) / considered as f64 >= mostly
}

/// GX's result of a map expectation (`_format_map_output`, BASIC): counts over the rows it
/// considered, `missing` rows skipped.
fn map_outcome(
    rows: u64,
    missing: u64,
    unexpected: u64,
    examples: Vec<Value>,
    report_missing: bool,
) -> Outcome {
    let total = (rows > 0).then(|| unexpected as f64 / rows as f64 * 100.0);
    let nonnull = rows - missing;
    let mut out = Outcome {
        element_count: Some(rows),
        unexpected_count: Some(unexpected),
        partial_unexpected_list: Some(examples),
        ..Outcome::default()
    };
    if report_missing {
        let nonmissing = if nonnull > 0 && rows > 0 {
            Some(unexpected as f64 / nonnull as f64 * 100.0)
        } else {
            None
        };
        out.unexpected_percent = nonmissing;
        out.missing_count = Some(missing);
        out.missing_percent = (rows > 0).then(|| missing as f64 / rows as f64 * 100.0);
        out.unexpected_percent_total = total;
        out.unexpected_percent_nonmissing = nonmissing;
    } else {
        out.unexpected_percent = total;
    }
    out
}

/// The frame the suite reads: only its columns, each in one chunk; integers as `i64`, floats
/// as `f64`, dates, times and categories as text.
fn prepare(frame: &DataFrame, columns: &[String]) -> Result<DataFrame> {
    let err = |e: PolarsError| Error::Compute {
        context: "prepare the table for its expectations",
        detail: e.to_string(),
    };
    let mut out = Vec::with_capacity(columns.len());
    for name in columns {
        let column = frame.column(name).map_err(err)?;
        let dtype = column.dtype();
        let ready = if dtype.is_float() {
            column.cast(&DataType::Float64).map_err(err)?
        } else if dtype.is_integer() {
            column.cast(&DataType::Int64).map_err(err)?
        } else if matches!(dtype, DataType::Boolean | DataType::String) {
            column.clone()
        } else {
            column.cast(&DataType::String).map_err(err)?
        };
        // One chunk, so a column without nulls is read in place.
        out.push(ready.rechunk());
    }
    DataFrame::new(frame.height(), out).map_err(err)
}

/// Runs `suite` on the table `source`, reading only the columns it names.
pub fn validate_source(
    source: &TableSource,
    suite: &Suite,
    path: &Path,
    job: &Job,
) -> Result<Validation> {
    let columns = suite.columns();
    let schema_frame = source.head(0)?;
    let schema = schema_frame.schema().clone();
    let checks = suite.plan(&schema, path)?;
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let frame = if names.is_empty() {
        // Table-level expectations need the row count only: read the narrowest column.
        match schema.iter_names().next() {
            Some(first) => source.frame_of(&[first.as_str()])?,
            None => schema_frame,
        }
    } else {
        source.frame_of(&names)?
    };
    run(suite, &checks, &frame, &schema, job)
}

/// Runs `suite` on a table in memory.
pub fn validate(frame: &DataFrame, suite: &Suite, path: &Path, job: &Job) -> Result<Validation> {
    let schema = frame.schema().clone();
    let checks = suite.plan(&schema, path)?;
    run(suite, &checks, frame, &schema, job)
}

fn run(
    suite: &Suite,
    checks: &[Check],
    frame: &DataFrame,
    schema: &Schema,
    job: &Job,
) -> Result<Validation> {
    let columns = suite.columns();
    let table = prepare(frame, &columns)?;
    let rows = frame.height() as u64;
    let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    // Each column once, in parallel; then the expectations, in parallel (each reads only).
    let read: Vec<(&str, Data)> = columns
        .par_iter()
        .map(|name| {
            let column = table.column(name).map_err(|e| Error::Compute {
                context: "read a column for its expectations",
                detail: e.to_string(),
            })?;
            Ok((name.as_str(), Data::of(column)?))
        })
        .collect::<Result<_>>()?;
    let cache: HashMap<&str, Data> = read.into_iter().collect();
    let done = std::sync::atomic::AtomicU64::new(0);
    let results: Vec<ExpectationResult> = checks
        .par_iter()
        .zip(&suite.expectations)
        .map(|(check, config)| {
            job.cancel.check()?;
            let (success, result) = evaluate(check, &cache, rows, &names, schema)?;
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            job.progress("Checking expectations", n, Some(checks.len() as u64));
            Ok(ExpectationResult {
                expectation_type: config.expectation_type.clone(),
                kwargs: config.kwargs.clone(),
                success,
                result,
            })
        })
        .collect::<Result<_>>()?;
    let evaluated = results.len() as u32;
    let successful = results.iter().filter(|r| r.success).count() as u32;
    Ok(Validation {
        success: successful == evaluated,
        suite_name: suite.name.clone(),
        statistics: Statistics {
            evaluated_expectations: evaluated,
            successful_expectations: successful,
            unsuccessful_expectations: evaluated - successful,
            success_percent: (evaluated > 0)
                .then(|| f64::from(successful) / f64::from(evaluated) * 100.0),
        },
        results,
    })
}

fn observed(value: Value) -> Outcome {
    Outcome {
        observed_value: Some(value),
        ..Outcome::default()
    }
}

fn evaluate(
    check: &Check,
    cache: &HashMap<&str, Data>,
    rows: u64,
    names: &[String],
    schema: &Schema,
) -> Result<(bool, Outcome)> {
    let data = |c: &str| {
        cache.get(c).ok_or_else(|| Error::Compute {
            context: "run the expectations",
            detail: format!("the column {c} was not read"),
        })
    };
    Ok(match &check.kind {
        CheckKind::RowCount(range) => (range.holds_num(rows as f64), observed(Value::from(rows))),
        CheckKind::ColumnCount(range) => (
            range.holds_num(names.len() as f64),
            observed(Value::from(names.len())),
        ),
        CheckKind::ColumnsOrdered(expected) => {
            let mut mismatched = Vec::new();
            for i in 0..expected.len().max(names.len()) {
                let (e, f) = (expected.get(i), names.get(i));
                if e != f {
                    mismatched.push(serde_json::json!({
                        "Expected Column Position": i,
                        "Expected": e,
                        "Found": f,
                    }));
                }
            }
            let mut out = observed(Value::from(names.to_vec()));
            let success = mismatched.is_empty();
            if !success {
                out.details = Some(serde_json::json!({ "mismatched": mismatched }));
            }
            (success, out)
        }
        CheckKind::ColumnsSet { set, exact } => {
            let have: BTreeSet<&str> = names.iter().map(String::as_str).collect();
            let want: BTreeSet<&str> = set.iter().map(String::as_str).collect();
            let unexpected: Vec<&str> = have.difference(&want).copied().collect();
            let missing: Vec<&str> = want.difference(&have).copied().collect();
            let success = missing.is_empty() && (!exact || unexpected.is_empty());
            let mut out = observed(Value::from(have.iter().copied().collect::<Vec<_>>()));
            let mut mismatched = Map::new();
            if !unexpected.is_empty() {
                mismatched.insert("unexpected".into(), Value::from(unexpected));
            }
            if !missing.is_empty() {
                mismatched.insert("missing".into(), Value::from(missing));
            }
            if !mismatched.is_empty() {
                out.details = Some(serde_json::json!({ "mismatched": mismatched }));
            }
            (success, out)
        }
        CheckKind::ColumnExists { column, index } => {
            let success = match index {
                Some(i) => names.get(*i) == Some(column),
                None => names.contains(column),
            };
            (success, Outcome::default())
        }
        CheckKind::Nulls { column, want_null } => {
            let d = data(column)?;
            let mut unexpected = 0u64;
            let mut examples = Vec::new();
            for i in 0..d.len() {
                if d.missing(i) != *want_null {
                    unexpected += 1;
                    if examples.len() < PARTIAL_UNEXPECTED {
                        examples.push(d.json(i));
                    }
                }
            }
            let success = mostly_success(rows, unexpected, check.mostly);
            (success, map_outcome(rows, 0, unexpected, examples, false))
        }
        CheckKind::Map { column, test } => {
            let d = data(column)?;
            let flags = unexpected_flags(d, test);
            let missing = (0..d.len()).filter(|&i| d.missing(i)).count() as u64;
            let mut unexpected = 0u64;
            let mut examples = Vec::new();
            for (i, bad) in flags.iter().enumerate() {
                if *bad {
                    unexpected += 1;
                    if examples.len() < PARTIAL_UNEXPECTED {
                        examples.push(d.json(i));
                    }
                }
            }
            let success = mostly_success(rows - missing, unexpected, check.mostly);
            (
                success,
                map_outcome(rows, missing, unexpected, examples, true),
            )
        }
        CheckKind::DtypeIs { column, types } => {
            let name = schema.get(column.as_str()).map_or("object_", dtype_name);
            let success = types.iter().any(|t| type_matches(t, name).unwrap_or(false));
            (success, observed(Value::from(name)))
        }
        CheckKind::Aggregate {
            column,
            stat,
            range,
        } => aggregate(data(column)?, *stat, range, rows),
        CheckKind::Quantiles {
            column,
            quantiles,
            ranges,
            method,
        } => {
            let d = data(column)?;
            let integral = matches!(d, Data::Int(_));
            let mut values: Vec<f64> = (0..d.len()).filter_map(|i| d.num(i)).collect();
            values.sort_by(f64::total_cmp);
            let mut found = Vec::with_capacity(quantiles.len());
            let mut details = Vec::with_capacity(quantiles.len());
            for (q, (lo, hi)) in quantiles.iter().zip(ranges) {
                let v = quantile(&values, *q, *method);
                let ok =
                    v.is_some_and(|v| lo.is_none_or(|lo| v >= lo) && hi.is_none_or(|hi| v <= hi));
                details.push(Value::Bool(ok));
                let exact = matches!(
                    method,
                    Quantile::Nearest | Quantile::Lower | Quantile::Higher
                );
                found.push(match v {
                    Some(v) if integral && exact => Value::from(v as i64),
                    Some(v) => float_json(v),
                    None => Value::Null,
                });
            }
            let success = details.iter().all(|d| d == &Value::Bool(true));
            let mut out = observed(serde_json::json!({ "quantiles": quantiles, "values": found }));
            out.details = Some(serde_json::json!({ "success_details": details }));
            (success, out)
        }
        CheckKind::Distinct { column, set, rule } => {
            let d = data(column)?;
            let integral = matches!(d, Data::Int(_));
            let distinct: BTreeSet<Key> = (0..d.len()).filter_map(|i| d.key(i)).collect();
            let wanted: BTreeSet<Key> = set.iter().map(member_key).collect();
            let unexpected: Vec<Value> = distinct
                .difference(&wanted)
                .map(|k| key_json(k, integral))
                .collect();
            let missing: Vec<Value> = set
                .iter()
                .filter(|m| !distinct.contains(&member_key(m)))
                .map(member_json)
                .collect();
            // GX reports `observed_value: null` for these.
            let mut out = observed(Value::Null);
            let success = match rule {
                SetRule::In => {
                    out.unexpected_count = Some(unexpected.len() as u64);
                    out.partial_unexpected_list = Some(unexpected.clone());
                    unexpected.is_empty()
                }
                SetRule::Contain => {
                    out.missing_count = Some(missing.len() as u64);
                    out.partial_missing_list = Some(missing.clone());
                    missing.is_empty()
                }
                SetRule::Equal => {
                    out.unexpected_count = Some(unexpected.len() as u64);
                    out.missing_count = Some(missing.len() as u64);
                    out.partial_unexpected_list = Some(unexpected.clone());
                    out.partial_missing_list = Some(missing.clone());
                    unexpected.is_empty() && missing.is_empty()
                }
            };
            (success, out)
        }
        CheckKind::MostCommon {
            column,
            set,
            ties_okay,
        } => {
            let d = data(column)?;
            let integral = matches!(d, Data::Int(_));
            let mut counts: HashMap<Key, u64> = HashMap::new();
            for i in 0..d.len() {
                if let Some(k) = d.key(i) {
                    *counts.entry(k).or_default() += 1;
                }
            }
            let top = counts.values().copied().max().unwrap_or(0);
            let mut modes: Vec<Key> = counts
                .into_iter()
                .filter(|(_, n)| *n == top)
                .map(|(k, _)| k)
                .collect();
            modes.sort();
            let wanted: HashSet<Key> = set.iter().map(member_key).collect();
            let hits = modes.iter().filter(|m| wanted.contains(m)).count();
            let success = if *ties_okay {
                hits > 0
            } else {
                modes.len() == 1 && hits == 1
            };
            let list: Vec<Value> = modes.iter().map(|k| key_json(k, integral)).collect();
            (success, observed(Value::from(list)))
        }
        CheckKind::CompoundUnique { columns, ignore }
        | CheckKind::UniqueWithinRecord { columns, ignore } => {
            let ds: Vec<&Data> = columns.iter().map(|c| data(c)).collect::<Result<_>>()?;
            let considered: Vec<usize> = (0..rows as usize)
                .filter(|&i| !ignored(&ds, i, *ignore))
                .collect();
            let within = matches!(check.kind, CheckKind::UniqueWithinRecord { .. });
            let bad: Vec<bool> = if within {
                considered
                    .iter()
                    .map(|&i| {
                        let keys: Vec<Option<Key>> = ds.iter().map(|d| d.key(i)).collect();
                        let distinct: HashSet<&Option<Key>> = keys.iter().collect();
                        distinct.len() < keys.len()
                    })
                    .collect()
            } else {
                let hashes: Vec<u64> = considered
                    .par_iter()
                    .map(|&i| row_hash(ds.iter().map(|d| d.key(i))))
                    .collect();
                duplicated(&hashes, |a, b| {
                    let (a, b) = (considered[a], considered[b]);
                    ds.iter().all(|d| d.key(a) == d.key(b))
                })
            };
            rows_outcome(check, &considered, &bad, rows, |i| {
                Value::Object(
                    columns
                        .iter()
                        .zip(&ds)
                        .map(|(c, d)| (c.clone(), d.json(i)))
                        .collect(),
                )
            })
        }
        CheckKind::MulticolumnSum {
            columns,
            total,
            ignore,
        } => {
            let ds: Vec<&Data> = columns.iter().map(|c| data(c)).collect::<Result<_>>()?;
            let considered: Vec<usize> = (0..rows as usize)
                .filter(|&i| !ignored(&ds, i, *ignore))
                .collect();
            let bad: Vec<bool> = considered
                .iter()
                .map(|&i| {
                    // pandas' row sum skips missing values, adding left to right.
                    let sum = ds.iter().filter_map(|d| d.num(i)).fold(0.0, |a, b| a + b);
                    sum != *total
                })
                .collect();
            rows_outcome(check, &considered, &bad, rows, |i| {
                Value::Object(
                    columns
                        .iter()
                        .zip(&ds)
                        .map(|(c, d)| (c.clone(), d.json(i)))
                        .collect(),
                )
            })
        }
        CheckKind::Pair { a, b, rule, ignore } => {
            let (da, db) = (data(a)?, data(b)?);
            let ds = [da, db];
            let considered: Vec<usize> = (0..rows as usize)
                .filter(|&i| !ignored(&ds, i, *ignore))
                .collect();
            let bad: Vec<bool> = considered
                .iter()
                .map(|&i| !pair_holds(da, db, i, *rule))
                .collect();
            rows_outcome(check, &considered, &bad, rows, |i| {
                Value::from(vec![da.json(i), db.json(i)])
            })
        }
    })
}

fn pair_holds(a: &Data, b: &Data, i: usize, rule: PairRule) -> bool {
    use std::cmp::Ordering;
    let order = match (a.num(i), b.num(i), a.text(i), b.text(i)) {
        (Some(x), Some(y), _, _) => x.partial_cmp(&y),
        (_, _, Some(x), Some(y)) => Some(x.cmp(y)),
        _ => None, // a missing side compares false, as NaN does in pandas
    };
    match (order, rule) {
        (None, _) => false,
        (Some(o), PairRule::Equal) => o == Ordering::Equal,
        (Some(o), PairRule::Greater { or_equal }) => {
            o == Ordering::Greater || (or_equal && o == Ordering::Equal)
        }
    }
}

fn ignored(ds: &[&Data], i: usize, rule: Ignore) -> bool {
    let missing = ds.iter().filter(|d| d.missing(i)).count();
    match rule {
        Ignore::Both | Ignore::All => missing == ds.len(),
        Ignore::Either | Ignore::Any => missing > 0,
        Ignore::Neither => false,
    }
}

/// The result of a multi-column map expectation: the ignored rows count as missing.
fn rows_outcome(
    check: &Check,
    considered: &[usize],
    bad: &[bool],
    rows: u64,
    example: impl Fn(usize) -> Value,
) -> (bool, Outcome) {
    let mut unexpected = 0u64;
    let mut examples = Vec::new();
    for (&i, &b) in considered.iter().zip(bad) {
        if b {
            unexpected += 1;
            if examples.len() < PARTIAL_UNEXPECTED {
                examples.push(example(i));
            }
        }
    }
    let missing = rows - considered.len() as u64;
    let success = mostly_success(considered.len() as u64, unexpected, check.mostly);
    (
        success,
        map_outcome(rows, missing, unexpected, examples, true),
    )
}

/// A 64-bit hash of a row's values.
fn row_hash<'a>(keys: impl Iterator<Item = Option<Key<'a>>>) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0x5eed).build_hasher();
    for k in keys {
        k.hash(&mut h);
    }
    h.finish()
}

/// pandas' `duplicated(keep=False)` over rows given by their hashes: whether another row holds
/// the same values. Rows are sorted by hash; within a run of equal hashes they are compared
/// (`same`), so a collision never makes two different rows duplicates. No per-row allocation.
fn duplicated(hashes: &[u64], same: impl Fn(usize, usize) -> bool) -> Vec<bool> {
    let mut flags = vec![false; hashes.len()];
    for_each_hash_run(hashes, |run| {
        if run.len() < 2 {
            return;
        }
        // The run's classes of equal rows: one, unless hashes collided.
        let mut classes: Vec<(usize, u32)> = Vec::new();
        let mut class_of: Vec<usize> = Vec::with_capacity(run.len());
        for &(_, row) in run {
            let row = row as usize;
            match classes.iter().position(|(first, _)| same(*first, row)) {
                Some(c) => {
                    classes[c].1 += 1;
                    class_of.push(c);
                }
                None => {
                    classes.push((row, 1));
                    class_of.push(classes.len() - 1);
                }
            }
        }
        for (&(_, row), c) in run.iter().zip(class_of) {
            flags[row as usize] = classes[c].1 > 1;
        }
    });
    flags
}

/// How many distinct values items given by their hashes hold: sorted by hash, and within a run
/// of equal hashes compared (`same`), so a collision never merges two values.
fn distinct_count(hashes: &[u64], same: impl Fn(usize, usize) -> bool) -> usize {
    let mut count = 0;
    for_each_hash_run(hashes, |run| {
        let mut firsts: Vec<usize> = Vec::new();
        for &(_, item) in run {
            if !firsts.iter().any(|&f| same(f, item as usize)) {
                firsts.push(item as usize);
            }
        }
        count += firsts.len();
    });
    count
}

/// Items sorted by their hashes, handed to `f` a run of equal hashes at a time (each as
/// `(hash, item)`).
fn for_each_hash_run(hashes: &[u64], mut f: impl FnMut(&[(u64, u32)])) {
    let mut order: Vec<(u64, u32)> = hashes
        .iter()
        .enumerate()
        .map(|(i, h)| (*h, i as u32))
        .collect();
    order.par_sort_unstable();
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && order[end].0 == order[start].0 {
            end += 1;
        }
        f(&order[start..end]);
        start = end;
    }
}

/// A value as its bits, for remembering a test's answer (-0.0 apart from 0.0: their text
/// differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Seen<'a> {
    Int(i64),
    Float(u64),
    Bool(bool),
    Text(&'a str),
}

/// For each row, `unexpected(i)` (false for a missing value), computed once per distinct value
/// while fewer than 65,536 have been seen: a regular expression or a date format on a column
/// of repeated values runs once per value, not once per row.
fn by_value(d: &Data, unexpected: impl Fn(usize) -> bool) -> Vec<bool> {
    const MEMO: usize = 1 << 16;
    let mut memo: HashMap<Seen, bool> = HashMap::new();
    (0..d.len())
        .map(|i| {
            let key = match d {
                Data::Int(v) => v.get(i).map(Seen::Int),
                Data::Float(v) => v.get(i).map(|x| Seen::Float(x.to_bits())),
                Data::Bool(v) => v[i].map(Seen::Bool),
                Data::Text(v) => v.get(i).map(Seen::Text),
            };
            let Some(key) = key else { return false };
            if let Some(known) = memo.get(&key) {
                return *known;
            }
            let answer = unexpected(i);
            if memo.len() < MEMO {
                memo.insert(key, answer);
            }
            answer
        })
        .collect()
}

/// For each row, whether the test finds its value unexpected (never a missing value).
fn unexpected_flags(d: &Data, test: &MapTest) -> Vec<bool> {
    let n = d.len();
    match test {
        MapTest::InSet(set) | MapTest::NotInSet(set) => {
            let keys: HashSet<Key> = set.iter().map(member_key).collect();
            let inside = matches!(test, MapTest::InSet(_));
            (0..n)
                .map(|i| d.key(i).is_some_and(|k| keys.contains(&k) != inside))
                .collect()
        }
        MapTest::Between(range) => (0..n)
            .map(|i| match (d.num(i), d.text(i)) {
                (Some(x), _) => !range.holds_num(x),
                (_, Some(s)) => !range.holds_text(s),
                _ => false,
            })
            .collect(),
        MapTest::Unique => {
            let present: Vec<usize> = (0..n).filter(|&i| !d.missing(i)).collect();
            let hashes: Vec<u64> = present
                .par_iter()
                .map(|&i| row_hash(std::iter::once(d.key(i))))
                .collect();
            let dup = duplicated(&hashes, |a, b| d.key(present[a]) == d.key(present[b]));
            let mut flags = vec![false; n];
            for (&i, f) in present.iter().zip(dup) {
                flags[i] = f;
            }
            flags
        }
        MapTest::Monotone {
            increasing,
            strictly,
        } => {
            // pandas' diff over the values that are not missing; the first passes.
            let mut flags = vec![false; n];
            let mut previous: Option<f64> = None;
            for (i, flag) in flags.iter_mut().enumerate() {
                let Some(x) = d.num(i) else { continue };
                if let Some(p) = previous {
                    let diff = if *increasing { x - p } else { p - x };
                    // NaN differences fail, as pandas' comparisons do.
                    let order = diff.partial_cmp(&0.0);
                    *flag = if *strictly {
                        order != Some(std::cmp::Ordering::Greater)
                    } else {
                        !matches!(
                            order,
                            Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
                        )
                    };
                }
                previous = Some(x);
            }
            flags
        }
        MapTest::Matches {
            patterns,
            all,
            negate,
        } => by_value(d, |i| {
            let Some(text) = d.py_str(i) else {
                return false;
            };
            let hit = |k: usize| match patterns {
                Texts::Regex(r) => r[k].is_match(&text),
                Texts::Like(l) => l[k].matches(&text),
            };
            let count = match patterns {
                Texts::Regex(r) => r.len(),
                Texts::Like(l) => l.len(),
            };
            if *negate {
                (0..count).any(hit)
            } else if *all {
                !(0..count).all(hit)
            } else {
                !(0..count).any(hit)
            }
        }),
        MapTest::Lengths(range) => (0..n)
            .map(|i| {
                d.text(i)
                    .is_some_and(|s| !range.holds_num(s.chars().count() as f64))
            })
            .collect(),
        MapTest::Strftime(format) => by_value(d, |i| d.text(i).is_some_and(|s| !format.matches(s))),
        MapTest::Dateutil => by_value(d, |i| d.text(i).is_some_and(|s| !dateutil_parseable(s))),
        MapTest::Json => by_value(d, |i| match d {
            Data::Text(v) => v.get(i).is_some_and(|s| !json_parseable(s)),
            // json.loads of a number raises TypeError, which GX counts as not JSON.
            _ => !d.missing(i),
        }),
        MapTest::Types(types) => {
            let ok = types.iter().any(|t| text_value_matches(t));
            (0..n).map(|i| !d.missing(i) && !ok).collect()
        }
    }
}

/// numpy's quantile of sorted values by `method`; pandas passes `q * 100` to
/// `np.percentile`, which divides by 100 again (so the position uses those bits).
fn quantile(sorted: &[f64], q: f64, method: Quantile) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let q = (q * 100.0) / 100.0;
    let position = q * (n - 1) as f64;
    let below = position.floor();
    let lo = sorted[(below as usize).min(n - 1)];
    let hi = sorted[((below as usize) + 1).min(n - 1)];
    Some(match method {
        Quantile::Linear => crate::numeric::stats::interpolate(lo, hi, position - below),
        Quantile::Lower => lo,
        Quantile::Higher => sorted[(position.ceil() as usize).min(n - 1)],
        Quantile::Midpoint => {
            if position == below {
                lo
            } else {
                (lo + hi) / 2.0
            }
        }
        // np.around: halves to even.
        Quantile::Nearest => sorted[(position.round_ties_even() as usize).min(n - 1)],
    })
}

fn aggregate(d: &Data, stat: Stat, range: &Range, rows: u64) -> (bool, Outcome) {
    let nonnull: Vec<usize> = (0..d.len()).filter(|&i| !d.missing(i)).collect();
    let integral = matches!(d, Data::Int(_));
    let value: Option<Value> = match stat {
        Stat::Min | Stat::Max => {
            let pick = |a: std::cmp::Ordering| {
                if stat == Stat::Min {
                    a.is_lt()
                } else {
                    a.is_gt()
                }
            };
            let mut best: Option<Key> = None;
            for &i in &nonnull {
                let Some(k) = d.key(i) else { continue };
                if best.as_ref().is_none_or(|b| pick(k.cmp(b))) {
                    best = Some(k);
                }
            }
            best.map(|k| key_json(&k, integral))
        }
        Stat::Mean | Stat::Median | Stat::Stdev | Stat::Sum => {
            let values: Vec<f64> = nonnull.iter().filter_map(|&i| d.num(i)).collect();
            match stat {
                Stat::Sum if integral => {
                    let Data::Int(v) = d else { unreachable!() };
                    Some(Value::from(
                        (0..v.len())
                            .filter_map(|i| v.get(i))
                            .fold(0i64, |a, b| a.wrapping_add(b)),
                    ))
                }
                Stat::Sum => Some(float_json(pairwise_sum(&values))),
                _ if values.is_empty() => None,
                Stat::Mean => Some(float_json(pairwise_sum(&values) / values.len() as f64)),
                Stat::Stdev if values.len() < 2 => None,
                Stat::Stdev => Some(float_json(std_sample(&values))),
                _ => {
                    // numpy's median: the middle value, or the mean of the two middle ones,
                    // found by selection rather than a sort of the whole column.
                    let mut values = values;
                    let m = values.len();
                    let (below, upper, _) = values.select_nth_unstable_by(m / 2, f64::total_cmp);
                    let upper = *upper;
                    Some(float_json(if m % 2 == 1 {
                        upper
                    } else {
                        let lower = below
                            .iter()
                            .copied()
                            .max_by(f64::total_cmp)
                            .unwrap_or(upper);
                        (lower + upper) / 2.0
                    }))
                }
            }
        }
        Stat::UniqueProportion | Stat::UniqueCount => {
            // A set while the values are few (most columns); past 65,536 distinct values,
            // sorted hashes, which need no allocation per value.
            let mut few: HashSet<Key> = HashSet::default();
            let mut many = false;
            for &i in &nonnull {
                if let Some(k) = d.key(i) {
                    few.insert(k);
                    if few.len() > 1 << 16 {
                        many = true;
                        break;
                    }
                }
            }
            let distinct = if many {
                let hashes: Vec<u64> = nonnull
                    .par_iter()
                    .map(|&i| row_hash(std::iter::once(d.key(i))))
                    .collect();
                distinct_count(&hashes, |a, b| d.key(nonnull[a]) == d.key(nonnull[b]))
            } else {
                few.len()
            };
            if stat == Stat::UniqueCount {
                Some(Value::from(distinct))
            } else if nonnull.is_empty() {
                None
            } else {
                Some(float_json(distinct as f64 / nonnull.len() as f64))
            }
        }
        Stat::NonNullProportion => {
            (rows > 0).then(|| float_json(nonnull.len() as f64 / rows as f64))
        }
    };
    let success = match &value {
        Some(Value::Number(n)) => n.as_f64().is_some_and(|x| range.holds_num(x)),
        Some(Value::String(s)) => range.holds_text(s),
        _ => false,
    };
    (success, observed(value.unwrap_or(Value::Null)))
}
