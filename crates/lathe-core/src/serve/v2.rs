//! The Open Inference Protocol (KServe v2): tensors in, tensors out, and the metadata a
//! client reads first. The JSON shapes are the protocol's REST ones; `lathe-serve`'s gRPC
//! service converts its messages to and from the same [`InputTensor`] and [`OutputTensor`].

use serde::Serialize;
use serde_json::Value;

use super::{BadRequest, Rows, Served, bad, finite};
use crate::model::Prediction;
use crate::model::tensor::{Data, Tensor};

/// A tensor's values, by the protocol's element families.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    Bool(Vec<bool>),
    Bytes(Vec<Vec<u8>>),
}

impl Values {
    pub fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::I64(v) => v.len(),
            Values::Bool(v) => v.len(),
            Values::Bytes(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn number(&self, i: usize) -> Option<f64> {
        match self {
            Values::F32(v) => Some(f64::from(v[i])),
            Values::F64(v) => Some(v[i]),
            Values::I64(v) => Some(v[i] as f64),
            Values::Bool(v) => Some(if v[i] { 1.0 } else { 0.0 }),
            Values::Bytes(_) => None,
        }
    }
}

/// One named input of an inference request.
#[derive(Debug, Clone, PartialEq)]
pub struct InputTensor {
    pub name: String,
    /// `FP32`, `FP64`, `INT64`, `INT32`, `BOOL`, `BYTES`, ...
    pub datatype: String,
    pub shape: Vec<i64>,
    pub values: Values,
}

/// One output of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputTensor {
    pub name: String,
    pub datatype: &'static str,
    pub shape: Vec<i64>,
    pub values: Values,
}

/// An inference request: its id, inputs and the outputs asked for (all when empty).
#[derive(Debug, Clone, PartialEq)]
pub struct InferRequest {
    pub id: Option<String>,
    pub inputs: Vec<InputTensor>,
    pub outputs: Vec<String>,
}

/// The protocol's element type of an ONNX one (`float32` → `FP32`).
pub fn datatype(onnx: &str) -> &'static str {
    match onnx {
        "float32" | "map" => "FP32",
        "float64" => "FP64",
        "float16" => "FP16",
        "int64" => "INT64",
        "int32" => "INT32",
        "int16" => "INT16",
        "int8" => "INT8",
        "uint8" => "UINT8",
        "uint16" => "UINT16",
        "uint32" => "UINT32",
        "uint64" => "UINT64",
        "bool" => "BOOL",
        "string" => "BYTES",
        _ => "BYTES",
    }
}

/// The element types a feature may arrive in.
const NUMERIC: [&str; 10] = [
    "FP32", "FP64", "INT64", "INT32", "INT16", "INT8", "UINT8", "UINT16", "UINT32", "BOOL",
];

/// Checks a shape and returns its element count, refusing negative dimensions and counts
/// that overflow (a request never makes the server allocate what it declares, only what it
/// sends).
pub fn element_count(name: &str, shape: &[i64]) -> Result<usize, BadRequest> {
    let mut n: usize = 1;
    for &d in shape {
        let Ok(d) = usize::try_from(d) else {
            return bad!("input '{name}': shape {shape:?} has a negative dimension");
        };
        n = match n.checked_mul(d) {
            Some(n) => n,
            None => return bad!("input '{name}': shape {shape:?} is too large"),
        };
    }
    Ok(n)
}

/// Reads a REST inference request (`{"id", "inputs": [{"name", "shape", "datatype",
/// "data"}], "outputs": [{"name"}]}`), `data` flat or nested.
pub fn parse_request(body: &[u8]) -> Result<InferRequest, BadRequest> {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return bad!("the request body is not valid JSON: {e}"),
    };
    let Some(obj) = value.as_object() else {
        return bad!("the request body must be a JSON object with \"inputs\"");
    };
    let id = match obj.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return bad!("\"id\" must be a string, not {other}"),
    };
    let Some(inputs) = obj.get("inputs").and_then(Value::as_array) else {
        return bad!("the request has no \"inputs\" list");
    };
    let mut parsed = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        parsed.push(parse_input(i, input)?);
    }
    let mut outputs = Vec::new();
    if let Some(list) = obj.get("outputs") {
        let Some(list) = list.as_array() else {
            return bad!("\"outputs\" must be a list of {{\"name\": ...}}");
        };
        for o in list {
            match o.get("name").and_then(Value::as_str) {
                Some(n) => outputs.push(n.to_owned()),
                None => return bad!("every entry of \"outputs\" needs a \"name\""),
            }
        }
    }
    Ok(InferRequest {
        id,
        inputs: parsed,
        outputs,
    })
}

fn parse_input(i: usize, input: &Value) -> Result<InputTensor, BadRequest> {
    let Some(name) = input.get("name").and_then(Value::as_str) else {
        return bad!("input {} has no \"name\"", i + 1);
    };
    let Some(datatype) = input.get("datatype").and_then(Value::as_str) else {
        return bad!("input '{name}' has no \"datatype\"");
    };
    let Some(shape) = input.get("shape").and_then(Value::as_array) else {
        return bad!("input '{name}' has no \"shape\" list");
    };
    let shape: Vec<i64> = match shape.iter().map(Value::as_i64).collect::<Option<_>>() {
        Some(s) => s,
        None => return bad!("input '{name}': \"shape\" must be a list of integers"),
    };
    let n = element_count(name, &shape)?;
    let Some(data) = input.get("data") else {
        return bad!("input '{name}' has no \"data\"");
    };
    let mut flat = Vec::new();
    flatten(data, &mut flat, n, name)?;
    if flat.len() != n {
        return bad!(
            "input '{name}': shape {shape:?} needs {n} values, \"data\" has {}",
            flat.len()
        );
    }
    let wrong = |k: usize, want: &str| -> Result<InputTensor, BadRequest> {
        bad!(
            "input '{name}': value {} is {}, not {want} ({datatype})",
            k + 1,
            flat[k]
        )
    };
    let values = match datatype {
        "BOOL" => {
            let mut v = Vec::with_capacity(n);
            for (k, x) in flat.iter().enumerate() {
                match x.as_bool() {
                    Some(b) => v.push(b),
                    None => return wrong(k, "a boolean"),
                }
            }
            Values::Bool(v)
        }
        "FP32" | "FP64" | "FP16" => {
            let mut v = Vec::with_capacity(n);
            for (k, x) in flat.iter().enumerate() {
                match x.as_f64() {
                    Some(f) => v.push(f),
                    None => return wrong(k, "a number"),
                }
            }
            Values::F64(v)
        }
        "BYTES" => {
            let mut v = Vec::with_capacity(n);
            for (k, x) in flat.iter().enumerate() {
                match x.as_str() {
                    Some(s) => v.push(s.as_bytes().to_vec()),
                    None => return wrong(k, "a string"),
                }
            }
            Values::Bytes(v)
        }
        t if t.starts_with("INT") || t.starts_with("UINT") => {
            let mut v = Vec::with_capacity(n);
            for (k, x) in flat.iter().enumerate() {
                match x.as_i64() {
                    Some(f) => v.push(f),
                    None => return wrong(k, "an integer"),
                }
            }
            Values::I64(v)
        }
        other => {
            return bad!(
                "input '{name}': datatype {other:?} is not one of the protocol's (FP32, FP64, INT64, INT32, BOOL, BYTES, ...)"
            );
        }
    };
    Ok(InputTensor {
        name: name.to_owned(),
        datatype: datatype.to_owned(),
        shape,
        values,
    })
}

/// Flattens nested lists row-major, stopping past `limit` values.
fn flatten<'a>(
    v: &'a Value,
    out: &mut Vec<&'a Value>,
    limit: usize,
    name: &str,
) -> Result<(), BadRequest> {
    match v {
        Value::Array(items) => {
            for item in items {
                flatten(item, out, limit, name)?;
            }
        }
        other => {
            if out.len() >= limit {
                return bad!(
                    "input '{name}': \"data\" has more values than its shape holds ({limit})"
                );
            }
            out.push(other);
        }
    }
    Ok(())
}

impl Served {
    /// The model's inputs as the protocol describes them: the feature matrix (`[-1, F]`), or
    /// one `[-1]` tensor per feature for a model that takes them apart.
    pub fn input_metadata(&self) -> Vec<(String, &'static str, Vec<i64>)> {
        match self.matrix_input() {
            Some(input) => vec![(
                input.name.clone(),
                datatype(&input.dtype),
                vec![-1, self.features.len() as i64],
            )],
            None => self
                .model
                .signature()
                .inputs
                .iter()
                .map(|i| (i.name.clone(), datatype(&i.dtype), vec![-1]))
                .collect(),
        }
    }

    /// The outputs as the protocol describes them (a ZipMap output as its `[-1, classes]`
    /// probabilities).
    pub fn output_metadata(&self) -> Vec<(String, &'static str, Vec<i64>)> {
        let classes = self.model.class_labels().map(|l| l.len() as i64);
        self.outputs()
            .iter()
            .map(|o| {
                let shape = if o.dtype == "map" {
                    vec![-1, classes.unwrap_or(-1)]
                } else {
                    o.shape.iter().map(|d| d.unwrap_or(-1)).collect()
                };
                (o.name.clone(), datatype(&o.dtype), shape)
            })
            .collect()
    }

    /// The rows an inference request carries: the feature matrix by its input's name (shape
    /// `[N, F]`), or every feature by name (shape `[N]` or `[N, 1]`).
    pub fn rows(&self, inputs: &[InputTensor]) -> Result<Rows, BadRequest> {
        let width = self.features.len();
        if inputs.is_empty() {
            return bad!("the request has no inputs; {}", self.expected_inputs());
        }
        let matrix = self.matrix_input().map(|i| i.name.as_str());
        if let [one] = inputs
            && Some(one.name.as_str()) == matrix
        {
            let ok = one.shape.len() == 2 && one.shape[1] == width as i64;
            if !ok {
                return bad!(
                    "input '{}': shape {:?} does not match the model's [-1, {width}] (rows × features)",
                    one.name,
                    one.shape
                );
            }
            numeric(one)?;
            let rows = one.shape[0] as usize;
            let mut x = Vec::with_capacity(rows * width);
            for k in 0..rows * width {
                let v = one.values.number(k).unwrap_or(f64::NAN);
                x.push(finite(
                    v,
                    k / width,
                    &self.features[k % width],
                    &format!("input '{}'", one.name),
                )?);
            }
            return Rows::checked(x, rows);
        }
        for input in inputs {
            if !self.features.contains(&input.name) {
                return bad!(
                    "input '{}' is not one of the model's; {}",
                    input.name,
                    self.expected_inputs()
                );
            }
        }
        let mut rows = None;
        let mut columns = Vec::with_capacity(width);
        for feature in &self.features {
            let Some(input) = inputs.iter().find(|i| &i.name == feature) else {
                return bad!("input '{feature}' is missing; {}", self.expected_inputs());
            };
            let n = match input.shape[..] {
                [n] | [n, 1] => n as usize,
                _ => {
                    return bad!(
                        "input '{feature}': shape {:?} is not [rows] or [rows, 1]",
                        input.shape
                    );
                }
            };
            if *rows.get_or_insert(n) != n {
                return bad!(
                    "input '{feature}' has {n} rows, the others {}",
                    rows.unwrap_or(0)
                );
            }
            numeric(input)?;
            columns.push(input);
        }
        let rows = rows.unwrap_or(0);
        let mut x = Vec::with_capacity(rows * width);
        for r in 0..rows {
            for c in &columns {
                let v = c.values.number(r).unwrap_or(f64::NAN);
                x.push(finite(v, r, &c.name, &format!("input '{}'", c.name))?);
            }
        }
        Rows::checked(x, rows)
    }

    fn expected_inputs(&self) -> String {
        match self.matrix_input() {
            Some(i) => format!(
                "send '{}' (shape [rows, {}], FP32) or one [rows] tensor per feature: {}",
                i.name,
                self.features.len(),
                self.features.join(", ")
            ),
            None => format!(
                "send one [rows] tensor per feature: {}",
                self.features.join(", ")
            ),
        }
    }

    /// The answer's outputs: every output, or those `asked` names, in the model's order.
    pub fn output_tensors(
        &self,
        prediction: &Prediction,
        asked: &[String],
    ) -> Result<Vec<OutputTensor>, BadRequest> {
        for name in asked {
            if prediction.get(name).is_none() {
                return bad!(
                    "output '{name}' is not one of the model's: {}",
                    prediction
                        .outputs
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        Ok(prediction
            .outputs
            .iter()
            .filter(|(n, _)| asked.is_empty() || asked.contains(n))
            .map(|(n, t)| output_tensor(n, t))
            .collect())
    }
}

fn numeric(input: &InputTensor) -> Result<(), BadRequest> {
    if NUMERIC.contains(&input.datatype.as_str()) {
        Ok(())
    } else {
        bad!(
            "input '{}': datatype {} is not a number type (FP32, FP64, INT64, INT32 or BOOL)",
            input.name,
            input.datatype
        )
    }
}

fn output_tensor(name: &str, t: &Tensor) -> OutputTensor {
    let shape = t.shape.iter().map(|&d| d as i64).collect();
    let (datatype, values) = match &t.data {
        Data::F32(v) => ("FP32", Values::F32(v.clone())),
        Data::F64(v) => ("FP64", Values::F64(v.clone())),
        Data::I64(v) => ("INT64", Values::I64(v.clone())),
        Data::Str(v) => (
            "BYTES",
            Values::Bytes(v.iter().map(|s| s.as_bytes().to_vec()).collect()),
        ),
        Data::Map { values, .. } => ("FP32", Values::F32(values.clone())),
    };
    OutputTensor {
        name: name.to_owned(),
        datatype,
        shape,
        values,
    }
}

/// The REST answer to an inference request.
pub fn response_json(served: &Served, id: Option<&str>, outputs: &[OutputTensor]) -> Value {
    let outputs: Vec<Value> = outputs
        .iter()
        .map(|o| {
            let data: Vec<Value> = match &o.values {
                Values::F32(v) => v.iter().map(|&x| Value::from(f64::from(x))).collect(),
                Values::F64(v) => v.iter().map(|&x| Value::from(x)).collect(),
                Values::I64(v) => v.iter().map(|&x| Value::from(x)).collect(),
                Values::Bool(v) => v.iter().map(|&x| Value::from(x)).collect(),
                Values::Bytes(v) => v
                    .iter()
                    .map(|x| Value::from(String::from_utf8_lossy(x).into_owned()))
                    .collect(),
            };
            serde_json::json!({
                "name": o.name, "datatype": o.datatype, "shape": o.shape, "data": data,
            })
        })
        .collect();
    let mut answer = serde_json::json!({
        "model_name": served.name,
        "model_version": served.version,
        "outputs": outputs,
    });
    if let Some(id) = id {
        answer["id"] = Value::from(id);
    }
    answer
}

/// `GET /v2`: the server's metadata.
#[derive(Debug, Clone, Serialize)]
pub struct ServerMetadata {
    pub name: &'static str,
    pub version: &'static str,
    pub extensions: Vec<&'static str>,
}

pub fn server_metadata() -> ServerMetadata {
    ServerMetadata {
        name: "lathe",
        version: env!("CARGO_PKG_VERSION"),
        extensions: Vec::new(),
    }
}

/// `GET /v2/models/NAME`: the model's metadata.
pub fn model_metadata(served: &Served) -> Value {
    let tensors = |list: Vec<(String, &'static str, Vec<i64>)>| -> Vec<Value> {
        list.into_iter()
            .map(|(name, datatype, shape)| {
                serde_json::json!({ "name": name, "datatype": datatype, "shape": shape })
            })
            .collect()
    };
    serde_json::json!({
        "name": served.name,
        "versions": if served.version.is_empty() { vec![] } else { vec![served.version.clone()] },
        "platform": "onnx",
        "inputs": tensors(served.input_metadata()),
        "outputs": tensors(served.output_metadata()),
    })
}
