//! MLflow's scoring protocol (`POST /invocations`), as `mlflow models serve` takes it: a JSON
//! body with one of `dataframe_split`, `dataframe_records`, `instances` or `inputs`, or a CSV
//! body with a header. The answer is `{"predictions": [...]}`, one record per row with each
//! output by name, as MLflow answers for a model that returns a DataFrame.

use serde_json::{Map, Value};

use super::{BadRequest, Rows, Served, bad, finite, output_rows};
use crate::model::Prediction;

/// The JSON keys MLflow accepts.
pub const FORMATS: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
];

impl Served {
    /// The rows of a scoring request; `csv` when the body is `text/csv`.
    pub fn scoring_rows(&self, body: &[u8], csv: bool) -> Result<Rows, BadRequest> {
        if csv {
            return self.csv_rows(body);
        }
        let value: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return bad!("the request body is not valid JSON: {e}"),
        };
        let Some(obj) = value.as_object() else {
            return bad!(
                "the request body must be a JSON object with one of: {}",
                FORMATS.join(", ")
            );
        };
        let given: Vec<&str> = FORMATS
            .iter()
            .copied()
            .filter(|k| obj.contains_key(*k))
            .collect();
        let [format] = given[..] else {
            return bad!(
                "the request body must have exactly one of {} (it has {})",
                FORMATS.join(", "),
                if given.is_empty() {
                    obj.keys()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                } else {
                    given.join(" and ")
                }
            );
        };
        let data = &obj[format];
        match format {
            "dataframe_split" => self.split_rows(data),
            "dataframe_records" => match data.as_array() {
                Some(rows) => self.record_rows(rows, format),
                None => bad!("\"dataframe_records\" must be a list of {{column: value}} rows"),
            },
            _ => match data {
                Value::Array(rows) if rows.iter().all(Value::is_object) => {
                    self.record_rows(rows, format)
                }
                Value::Array(rows) => self.list_rows(rows, format),
                Value::Object(columns) => self.column_rows(columns, format),
                _ => bad!("\"{format}\" must be a list of rows or an object of columns"),
            },
        }
    }

    /// `{"columns": [...], "data": [[...], ...]}`.
    fn split_rows(&self, data: &Value) -> Result<Rows, BadRequest> {
        let (Some(columns), Some(rows)) = (
            data.get("columns").and_then(Value::as_array),
            data.get("data").and_then(Value::as_array),
        ) else {
            return bad!("\"dataframe_split\" needs \"columns\" and \"data\" lists");
        };
        let columns: Vec<&str> = match columns.iter().map(Value::as_str).collect::<Option<_>>() {
            Some(c) => c,
            None => return bad!("\"dataframe_split\": \"columns\" must be names"),
        };
        let at = self.positions(&columns, "dataframe_split")?;
        let mut x = Vec::with_capacity(rows.len() * self.features.len());
        for (r, row) in rows.iter().enumerate() {
            let Some(cells) = row.as_array().filter(|c| c.len() == columns.len()) else {
                return bad!(
                    "\"dataframe_split\": row {} is not a list of {} values (one per column)",
                    r + 1,
                    columns.len()
                );
            };
            for (feature, &j) in self.features.iter().zip(&at) {
                x.push(cell(&cells[j], r, feature, "dataframe_split")?);
            }
        }
        Rows::checked(x, rows.len())
    }

    /// `[{column: value}, ...]`.
    fn record_rows(&self, rows: &[Value], format: &str) -> Result<Rows, BadRequest> {
        let mut x = Vec::with_capacity(rows.len() * self.features.len());
        for (r, row) in rows.iter().enumerate() {
            let Some(row) = row.as_object() else {
                return bad!("\"{format}\": row {} is not an object of columns", r + 1);
            };
            for feature in &self.features {
                let Some(v) = row.get(feature) else {
                    return bad!(
                        "\"{format}\": row {} has no '{feature}'; the model's features are: {}",
                        r + 1,
                        self.features.join(", ")
                    );
                };
                x.push(cell(v, r, feature, format)?);
            }
        }
        Rows::checked(x, rows.len())
    }

    /// `[[v, ...], ...]`: values in the model's feature order.
    fn list_rows(&self, rows: &[Value], format: &str) -> Result<Rows, BadRequest> {
        let width = self.features.len();
        let mut x = Vec::with_capacity(rows.len() * width);
        for (r, row) in rows.iter().enumerate() {
            let Some(cells) = row.as_array().filter(|c| c.len() == width) else {
                return bad!(
                    "\"{format}\": row {} is not a list of {width} values (the model's features in order: {})",
                    r + 1,
                    self.features.join(", ")
                );
            };
            for (feature, v) in self.features.iter().zip(cells) {
                x.push(cell(v, r, feature, format)?);
            }
        }
        Rows::checked(x, rows.len())
    }

    /// `{column: [values], ...}`, or `{input: [[row], ...]}` by the model's input name.
    fn column_rows(&self, columns: &Map<String, Value>, format: &str) -> Result<Rows, BadRequest> {
        if let (Some(input), 1) = (self.matrix_input(), columns.len())
            && let Some(Value::Array(rows)) = columns.get(&input.name)
        {
            return self.list_rows(rows, format);
        }
        let mut rows = None;
        let mut lists = Vec::with_capacity(self.features.len());
        for feature in &self.features {
            let Some(list) = columns.get(feature).and_then(Value::as_array) else {
                return bad!(
                    "\"{format}\" has no list for '{feature}'; the model's features are: {}",
                    self.features.join(", ")
                );
            };
            if *rows.get_or_insert(list.len()) != list.len() {
                return bad!(
                    "\"{format}\": '{feature}' has {} values, the other columns {}",
                    list.len(),
                    rows.unwrap_or(0)
                );
            }
            lists.push(list);
        }
        let rows = rows.unwrap_or(0);
        let mut x = Vec::with_capacity(rows * self.features.len());
        for r in 0..rows {
            for (feature, list) in self.features.iter().zip(&lists) {
                x.push(cell(&list[r], r, feature, format)?);
            }
        }
        Rows::checked(x, rows)
    }

    /// A CSV body with a header naming the columns.
    fn csv_rows(&self, body: &[u8]) -> Result<Rows, BadRequest> {
        let Ok(text) = std::str::from_utf8(body) else {
            return bad!("the CSV body is not UTF-8 text");
        };
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let Some(header) = lines.next() else {
            return bad!("the CSV body is empty; it needs a header with the feature names");
        };
        let columns: Vec<&str> = header
            .split(',')
            .map(|c| c.trim().trim_matches('"'))
            .collect();
        let at = self.positions(&columns, "CSV")?;
        let mut x = Vec::new();
        let mut rows = 0;
        for (r, line) in lines.enumerate() {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            if cells.len() != columns.len() {
                return bad!(
                    "CSV row {} has {} values, the header {}",
                    r + 1,
                    cells.len(),
                    columns.len()
                );
            }
            for (feature, &j) in self.features.iter().zip(&at) {
                let text = cells[j].trim_matches('"');
                let v = match text.parse::<f64>() {
                    Ok(v) => v,
                    Err(_) if text.is_empty() => f64::NAN,
                    Err(_) => {
                        return bad!(
                            "CSV row {} has {text:?} in '{feature}', not a number",
                            r + 1
                        );
                    }
                };
                x.push(finite(v, r, feature, &|| "CSV".to_owned())?);
            }
            rows += 1;
        }
        Rows::checked(x, rows)
    }

    /// Where each feature sits among `columns`.
    fn positions(&self, columns: &[&str], format: &str) -> Result<Vec<usize>, BadRequest> {
        self.features
            .iter()
            .map(|f| match columns.iter().position(|c| c == f) {
                Some(j) => Ok(j),
                None => bad!(
                    "{format}: the columns have no '{f}'; the model's features are: {}",
                    self.features.join(", ")
                ),
            })
            .collect()
    }
}

/// One JSON cell as a feature value.
fn cell(v: &Value, row: usize, feature: &str, format: &str) -> Result<f64, BadRequest> {
    let value = match v {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Null => f64::NAN,
        other => {
            return bad!(
                "\"{format}\": row {} has {other} in '{feature}', not a number",
                row + 1
            );
        }
    };
    finite(value, row, feature, &|| format!("\"{format}\""))
}

/// `{"predictions": [{OUTPUT: value, ...}, ...]}`.
pub fn response_json(prediction: &Prediction) -> Value {
    let columns: Vec<(&str, Vec<Value>)> = prediction
        .outputs
        .iter()
        .map(|(n, t)| (n.as_str(), output_rows(t)))
        .collect();
    let records: Vec<Value> = (0..prediction.rows)
        .map(|r| {
            Value::Object(
                columns
                    .iter()
                    .map(|(n, rows)| ((*n).to_owned(), rows[r].clone()))
                    .collect(),
            )
        })
        .collect();
    serde_json::json!({ "predictions": records })
}
