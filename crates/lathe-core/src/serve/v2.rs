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
    /// Outputs to answer as binary data (the binary tensor data extension): each output's
    /// `binary_data` parameter, else the request's `binary_data_output`.
    pub binary_outputs: Vec<String>,
    pub binary_by_default: bool,
}

impl InferRequest {
    /// Whether output `name` is answered as binary data.
    pub fn binary(&self, name: &str) -> bool {
        self.binary_outputs.iter().any(|n| n == name)
            || (self.binary_by_default && !self.outputs.iter().any(|n| n == name))
    }
}

/// The header that splits a body of the binary tensor data extension: the JSON's length.
pub const HEADER_LENGTH: &str = "inference-header-content-length";

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
/// "data"}], "outputs": [{"name"}]}`), `data` flat or nested. With the binary tensor data
/// extension (`json_length`, from the `Inference-Header-Content-Length` header), the body is
/// that much JSON followed by the inputs' bytes, each input's `binary_data_size` of them in
/// order.
pub fn parse_request(body: &[u8], json_length: Option<usize>) -> Result<InferRequest, BadRequest> {
    let (json, mut binary) = match json_length {
        Some(n) if n <= body.len() => body.split_at(n),
        Some(n) => {
            return bad!(
                "Inference-Header-Content-Length is {n}, the body has only {} bytes",
                body.len()
            );
        }
        None => (body, &[][..]),
    };
    let request: RequestJson = match serde_json::from_slice(json) {
        Ok(v) => v,
        Err(e) if e.is_syntax() || e.is_eof() => {
            return bad!("the request body is not valid JSON: {e}");
        }
        Err(e) => return bad!("the request body is not an inference request: {e}"),
    };
    let id = match request.id {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => return bad!("\"id\" must be a string, not {other}"),
    };
    let Some(inputs) = request.inputs else {
        return bad!("the request has no \"inputs\" list");
    };
    let mut parsed = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.into_iter().enumerate() {
        parsed.push(parse_input(i, input, &mut binary)?);
    }
    if !binary.is_empty() {
        return bad!(
            "{} bytes follow the inputs' binary data; the inputs' binary_data_size add up to less than the body",
            binary.len()
        );
    }
    let flag = |v: Option<&Value>, key: &str| v.and_then(|p| p.get(key)).and_then(Value::as_bool);
    let mut outputs = Vec::new();
    let mut binary_outputs = Vec::new();
    if let Some(list) = &request.outputs {
        let Some(list) = list.as_array() else {
            return bad!("\"outputs\" must be a list of {{\"name\": ...}}");
        };
        for o in list {
            match o.get("name").and_then(Value::as_str) {
                Some(n) => {
                    outputs.push(n.to_owned());
                    if flag(o.get("parameters"), "binary_data") == Some(true) {
                        binary_outputs.push(n.to_owned());
                    }
                }
                None => return bad!("every entry of \"outputs\" needs a \"name\""),
            }
        }
    }
    Ok(InferRequest {
        id,
        inputs: parsed,
        outputs,
        binary_outputs,
        binary_by_default: flag(request.parameters.as_ref(), "binary_data_output") == Some(true),
    })
}

/// A request's JSON, read straight into what the server needs (no tree of values for
/// `data`: a 100-row request was 12 % of the server's time building and dropping one).
#[derive(serde::Deserialize)]
struct RequestJson {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    inputs: Option<Vec<InputJson>>,
    #[serde(default)]
    outputs: Option<Value>,
    #[serde(default)]
    parameters: Option<Value>,
}

#[derive(serde::Deserialize)]
struct InputJson {
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    datatype: Option<Value>,
    #[serde(default)]
    shape: Option<Value>,
    #[serde(default)]
    parameters: Option<Value>,
    #[serde(default)]
    data: Option<Box<serde_json::value::RawValue>>,
}

/// `data`, flat or nested, read row-major into one list per kind of value; `mixed` is the
/// first value whose kind differs from the first value's.
#[derive(Default)]
struct Flat {
    numbers: Vec<f64>,
    bools: Vec<bool>,
    strings: Vec<Vec<u8>>,
    first: Option<Kind>,
    count: usize,
    mixed: Option<(usize, String)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Bool,
    Text,
}

impl Flat {
    fn note(&mut self, kind: Kind, shown: impl FnOnce() -> String) {
        let first = *self.first.get_or_insert(kind);
        if first != kind && self.mixed.is_none() {
            self.mixed = Some((self.count, shown()));
        }
        self.count += 1;
    }
}

impl Flat {
    /// Reads `data`'s JSON text (already checked by serde_json) straight into values: numbers
    /// by the standard library's correctly rounded parser, which is several times faster than
    /// serde_json's exact one, with the same results (both round to the nearest `f64`).
    fn parse(raw: &str) -> Result<Flat, BadRequest> {
        let mut flat = Flat::default();
        let b = raw.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b' ' | b'\n' | b'\r' | b'\t' | b',' | b'[' | b']' => i += 1,
                b'"' => {
                    let mut j = i + 1;
                    while j < b.len() && b[j] != b'"' {
                        j += if b[j] == b'\\' { 2 } else { 1 };
                    }
                    let token = &raw[i..=j.min(b.len() - 1)];
                    let text: String = match serde_json::from_str(token) {
                        Ok(t) => t,
                        Err(e) => return bad!("\"data\" holds a string that cannot be read: {e}"),
                    };
                    flat.note(Kind::Text, || format!("{text:?}"));
                    flat.strings.push(text.into_bytes());
                    i = j + 1;
                }
                b't' | b'f' => {
                    let v = b[i] == b't';
                    flat.note(Kind::Bool, || v.to_string());
                    flat.bools.push(v);
                    i += if v { 4 } else { 5 };
                }
                b'n' => {
                    flat.note(Kind::Text, || "null".to_owned());
                    if flat.mixed.is_none() {
                        flat.mixed = Some((flat.count - 1, "null".to_owned()));
                    }
                    i += 4;
                }
                b'{' => {
                    // An object where a value belongs: skip it, strings and nesting included.
                    let (mut depth, mut j) = (0usize, i);
                    while j < b.len() {
                        match b[j] {
                            b'{' => depth += 1,
                            b'}' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            b'"' => {
                                j += 1;
                                while j < b.len() && b[j] != b'"' {
                                    j += if b[j] == b'\\' { 2 } else { 1 };
                                }
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                    flat.note(Kind::Text, || "an object".to_owned());
                    if flat.mixed.is_none() {
                        flat.mixed = Some((flat.count - 1, "an object".to_owned()));
                    }
                    i = j + 1;
                }
                _ => {
                    let mut j = i;
                    while j < b.len()
                        && matches!(b[j], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                    {
                        j += 1;
                    }
                    let token = &raw[i..j.max(i + 1).min(b.len())];
                    let v = match token.parse::<f64>() {
                        Ok(v) if v.is_finite() => v,
                        // As serde_json: a number too large for a 64-bit float is refused.
                        Ok(_) => {
                            return bad!("\"data\" holds {token}, out of range of a 64-bit float");
                        }
                        Err(_) => return bad!("\"data\" holds {token:?}, which is not a value"),
                    };
                    flat.note(Kind::Number, || v.to_string());
                    flat.numbers.push(v);
                    i = j.max(i + 1);
                }
            }
        }
        Ok(flat)
    }
}

fn parse_input(i: usize, input: InputJson, binary: &mut &[u8]) -> Result<InputTensor, BadRequest> {
    let Some(Value::String(name)) = input.name else {
        return bad!("input {} has no \"name\"", i + 1);
    };
    let Some(Value::String(datatype)) = input.datatype else {
        return bad!("input '{name}' has no \"datatype\"");
    };
    let Some(Value::Array(shape)) = input.shape else {
        return bad!("input '{name}' has no \"shape\" list");
    };
    let shape: Vec<i64> = match shape.iter().map(Value::as_i64).collect::<Option<_>>() {
        Some(s) => s,
        None => return bad!("input '{name}': \"shape\" must be a list of integers"),
    };
    let n = element_count(&name, &shape)?;
    let size = input
        .parameters
        .as_ref()
        .and_then(|p| p.get("binary_data_size"))
        .and_then(Value::as_u64);
    if let Some(size) = size {
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size > binary.len() {
            return bad!(
                "input '{name}': binary_data_size is {size}, {} bytes of binary data are left",
                binary.len()
            );
        }
        let (bytes, rest) = binary.split_at(size);
        *binary = rest;
        return Ok(InputTensor {
            values: from_raw(&name, &datatype, bytes, n)?,
            name,
            datatype,
            shape,
        });
    }
    let Some(raw) = input.data else {
        return bad!("input '{name}' has no \"data\"");
    };
    let flat = Flat::parse(raw.get())?;
    if flat.count > n {
        return bad!("input '{name}': \"data\" has more values than its shape holds ({n})");
    }
    if flat.count != n {
        return bad!(
            "input '{name}': shape {shape:?} needs {n} values, \"data\" has {}",
            flat.count
        );
    }
    let want = match datatype.as_str() {
        "BOOL" => Some((Kind::Bool, "a boolean")),
        "FP32" | "FP64" | "FP16" => Some((Kind::Number, "a number")),
        "BYTES" => Some((Kind::Text, "a string")),
        t if t.starts_with("INT") || t.starts_with("UINT") => Some((Kind::Number, "an integer")),
        _ => None,
    };
    let Some((kind, wanted)) = want else {
        return bad!(
            "input '{name}': datatype {datatype:?} is not one of the protocol's (FP32, FP64, INT64, INT32, BOOL, BYTES, ...)"
        );
    };
    let wrong = |k: usize, shown: &str| -> Result<InputTensor, BadRequest> {
        bad!(
            "input '{name}': value {} is {shown}, not {wanted} ({datatype})",
            k + 1
        )
    };
    if let Some((k, shown)) = &flat.mixed {
        return wrong(*k, shown);
    }
    if n > 0 && flat.first != Some(kind) {
        let shown = match flat.first {
            Some(Kind::Bool) => flat.bools[0].to_string(),
            Some(Kind::Text) => format!("{:?}", String::from_utf8_lossy(&flat.strings[0])),
            _ => flat.numbers[0].to_string(),
        };
        return wrong(0, &shown);
    }
    let values = match kind {
        Kind::Bool => Values::Bool(flat.bools),
        Kind::Text => Values::Bytes(flat.strings),
        Kind::Number if wanted == "an integer" => {
            if let Some(k) = flat.numbers.iter().position(|v| v.fract() != 0.0) {
                return wrong(k, &flat.numbers[k].to_string());
            }
            Values::I64(flat.numbers.iter().map(|&v| v as i64).collect())
        }
        Kind::Number => Values::F64(flat.numbers),
    };
    Ok(InputTensor {
        name,
        datatype,
        shape,
        values,
    })
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
                x.push(finite(v, k / width, &self.features[k % width], &|| {
                    format!("input '{}'", one.name)
                })?);
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
                x.push(finite(v, r, &c.name, &|| format!("input '{}'", c.name))?);
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

/// The REST answer to an inference request: its body, and the JSON's length when binary
/// data follow it (the `Inference-Header-Content-Length` header to send).
pub fn response_body(
    served: &Served,
    request: &InferRequest,
    outputs: &[OutputTensor],
) -> (Vec<u8>, Option<usize>) {
    let mut binary = Vec::new();
    let mut json = response_json(served, request.id.as_deref(), outputs);
    for (o, value) in outputs
        .iter()
        .zip(json["outputs"].as_array_mut().into_iter().flatten())
    {
        if request.binary(&o.name) {
            let bytes = raw_bytes(&o.values);
            value["parameters"] = serde_json::json!({ "binary_data_size": bytes.len() });
            if let Some(map) = value.as_object_mut() {
                map.remove("data");
            }
            binary.extend(bytes);
        }
    }
    let mut body = json.to_string().into_bytes();
    if binary.is_empty() {
        return (body, None);
    }
    let length = body.len();
    body.extend(binary);
    (body, Some(length))
}

/// The REST answer to an inference request, every output as JSON data.
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

/// Values sent as little-endian bytes (gRPC's `raw_input_contents`, REST's binary data),
/// `n` of them; BYTES elements each after their length as a 4-byte little-endian integer.
pub fn from_raw(name: &str, datatype: &str, bytes: &[u8], n: usize) -> Result<Values, BadRequest> {
    let size = match datatype {
        "FP64" | "INT64" | "UINT64" => 8,
        "FP32" | "INT32" | "UINT32" => 4,
        "INT16" | "UINT16" => 2,
        "INT8" | "UINT8" | "BOOL" => 1,
        "BYTES" => 0,
        other => {
            return bad!(
                "input '{name}': datatype {other:?} is not one of the protocol's (FP32, FP64, INT64, INT32, BOOL, BYTES, ...)"
            );
        }
    };
    if size > 0 && bytes.len() != n * size {
        return bad!(
            "input '{name}': {datatype} values of its shape take {} bytes, raw_input_contents has {}",
            n * size,
            bytes.len()
        );
    }
    let words = |k: usize| bytes.chunks_exact(k);
    Ok(match datatype {
        "FP32" => Values::F32(
            words(4)
                .map(|w| f32::from_le_bytes([w[0], w[1], w[2], w[3]]))
                .collect(),
        ),
        "FP64" => Values::F64(
            words(8)
                .map(|w| f64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
                .collect(),
        ),
        "INT64" => Values::I64(
            words(8)
                .map(|w| i64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
                .collect(),
        ),
        "UINT64" => Values::F64(
            words(8)
                .map(|w| u64::from_le_bytes(w.try_into().unwrap_or([0; 8])) as f64)
                .collect(),
        ),
        "INT32" => Values::I64(
            words(4)
                .map(|w| i64::from(i32::from_le_bytes([w[0], w[1], w[2], w[3]])))
                .collect(),
        ),
        "UINT32" => Values::I64(
            words(4)
                .map(|w| i64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
                .collect(),
        ),
        "INT16" => Values::I64(
            words(2)
                .map(|w| i64::from(i16::from_le_bytes([w[0], w[1]])))
                .collect(),
        ),
        "UINT16" => Values::I64(
            words(2)
                .map(|w| i64::from(u16::from_le_bytes([w[0], w[1]])))
                .collect(),
        ),
        "INT8" => Values::I64(bytes.iter().map(|&b| i64::from(b as i8)).collect()),
        "UINT8" => Values::I64(bytes.iter().map(|&b| i64::from(b)).collect()),
        "BOOL" => Values::Bool(bytes.iter().map(|&b| b != 0).collect()),
        _ => {
            let mut out = Vec::new();
            let mut rest = bytes;
            while rest.len() >= 4 {
                let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                rest = &rest[4..];
                if len > rest.len() {
                    return bad!(
                        "input '{name}': a BYTES element claims {len} bytes, {} are left",
                        rest.len()
                    );
                }
                out.push(rest[..len].to_vec());
                rest = &rest[len..];
            }
            Values::Bytes(out)
        }
    })
}

/// Values as little-endian bytes, BYTES elements each after its 4-byte length.
pub fn raw_bytes(values: &Values) -> Vec<u8> {
    match values {
        Values::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Values::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Values::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Values::Bool(v) => v.iter().map(|&b| u8::from(b)).collect(),
        Values::Bytes(v) => v
            .iter()
            .flat_map(|b| {
                (b.len() as u32)
                    .to_le_bytes()
                    .into_iter()
                    .chain(b.iter().copied())
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn binary_request(json: &str, bytes: &[u8]) -> (Vec<u8>, usize) {
        let mut body = json.as_bytes().to_vec();
        body.extend_from_slice(bytes);
        (body, json.len())
    }

    #[test]
    fn binary_inputs_are_read_in_order_and_checked_against_the_body() {
        let values: Vec<u8> = [1.5f32, -2.0, 3.25]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .chain(7i64.to_le_bytes())
            .collect();
        let json = r#"{"inputs": [
            {"name": "a", "datatype": "FP32", "shape": [3], "parameters": {"binary_data_size": 12}},
            {"name": "b", "datatype": "INT64", "shape": [1], "parameters": {"binary_data_size": 8}}],
            "parameters": {"binary_data_output": true}}"#;
        let (body, n) = binary_request(json, &values);
        let r = parse_request(&body, Some(n)).unwrap();
        assert_eq!(r.inputs[0].values, Values::F32(vec![1.5, -2.0, 3.25]));
        assert_eq!(r.inputs[1].values, Values::I64(vec![7]));
        assert!(r.binary("label"));

        let refused = |body: &[u8], n: Option<usize>| parse_request(body, n).unwrap_err().0;
        assert!(refused(&body, Some(body.len() + 1)).contains("the body has only"));
        assert!(
            refused(&body[..body.len() - 1], Some(n)).contains("bytes of binary data are left")
        );
        let (extra, n) = binary_request(json, &[values.as_slice(), &[0]].concat());
        assert!(refused(&extra, Some(n)).contains("1 bytes follow"));
        let short = json.replace("\"binary_data_size\": 12", "\"binary_data_size\": 8");
        let (body, n) = binary_request(&short, &values);
        assert!(refused(&body, Some(n)).contains("take 12 bytes"));
    }

    #[test]
    fn raw_bytes_elements_cannot_claim_more_than_is_sent() {
        let mut bytes = 100u32.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"abc");
        let e = from_raw("s", "BYTES", &bytes, 1).unwrap_err().0;
        assert!(e.contains("claims 100 bytes, 3 are left"), "{e}");
        let ok = raw_bytes(&Values::Bytes(vec![b"hi".to_vec(), vec![]]));
        assert_eq!(
            from_raw("s", "BYTES", &ok, 2).unwrap(),
            Values::Bytes(vec![b"hi".to_vec(), vec![]])
        );
    }

    #[test]
    fn numbers_read_as_serde_json_reads_them_bit_for_bit() {
        let mut tokens: Vec<String> = [
            "0",
            "-0",
            "0.1",
            "1e-320",
            "2.2250738585072011e-308",
            "9007199254740993",
            "1.7976931348623157e308",
            "4.9e-324",
            "123456789012345678901234567890",
            "-3.5E+2",
            "0.30000000000000004",
            "1e22",
            "8.98846567431158e307",
        ]
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
        // Decimal texts of many magnitudes and lengths, from a fixed generator.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = 1 + (x % 19) as usize;
            let mantissa = format!("{:019}", x % 10_000_000_000_000_000_000)[..digits].to_owned();
            let exponent = ((x >> 40) as i64 % 640 - 340).min(300 - digits as i64);
            let leading = mantissa.trim_start_matches('0');
            let leading = if leading.is_empty() { "0" } else { leading };
            tokens.push(format!("{leading}e{exponent}"));
            tokens.push(format!("0.{mantissa}"));
        }
        let json = format!("[{}]", tokens.join(","));
        let flat = Flat::parse(&json).unwrap();
        let theirs: Vec<f64> = serde_json::from_str(&json).unwrap();
        assert_eq!(flat.numbers.len(), theirs.len());
        for (t, (a, b)) in tokens.iter().zip(flat.numbers.iter().zip(&theirs)) {
            assert_eq!(a.to_bits(), b.to_bits(), "{t}: {a} vs serde_json {b}");
        }
        let e = Flat::parse("[1, 2e400]").err().unwrap().0;
        assert!(e.contains("2e400, out of range"), "{e}");
    }

    #[test]
    fn a_declared_shape_is_not_trusted() {
        let e = element_count("x", &[i64::MAX, 4]).unwrap_err().0;
        assert!(e.contains("too large"), "{e}");
        let e = element_count("x", &[-1, 4]).unwrap_err().0;
        assert!(e.contains("negative"), "{e}");
        let body = br#"{"inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "data": [1, 2, 3, 4]}]}"#;
        let e = parse_request(body, None).unwrap_err().0;
        assert!(e.contains("more values than its shape holds"), "{e}");
    }
}
