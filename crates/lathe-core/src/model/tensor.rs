//! The values that flow through a model graph: dense row-major tensors of the few element types
//! classic ML models use, and the probability maps `ZipMap` produces.

use serde::Serialize;

use tract_onnx::pb;

use crate::{Error, Result};

/// ONNX element types Lathe names in signatures (`TensorProto.DataType`).
pub fn elem_type_name(code: i32) -> &'static str {
    match code {
        1 => "float32",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "float64",
        12 => "uint32",
        13 => "uint64",
        16 => "bfloat16",
        _ => "unknown",
    }
}

/// Class labels: integers or strings, as the model declares them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Labels {
    Int(Vec<i64>),
    Str(Vec<String>),
}

impl Labels {
    pub fn len(&self) -> usize {
        match self {
            Labels::Int(v) => v.len(),
            Labels::Str(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The label at `i`, as text (how evaluation compares labels with a target column).
    pub fn text(&self, i: usize) -> String {
        match self {
            Labels::Int(v) => v[i].to_string(),
            Labels::Str(v) => v[i].clone(),
        }
    }
    /// Every label as text, in order.
    pub fn texts(&self) -> Vec<String> {
        (0..self.len()).map(|i| self.text(i)).collect()
    }
    /// A tensor of the labels at `picks`.
    pub fn pick(&self, picks: impl Iterator<Item = usize>) -> Data {
        match self {
            Labels::Int(v) => Data::I64(picks.map(|i| v[i]).collect()),
            Labels::Str(v) => Data::Str(picks.map(|i| v[i].clone()).collect()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    /// Every integer and boolean type (their values fit).
    I64(Vec<i64>),
    Str(Vec<String>),
    /// ZipMap's output: one map per row from each label to its probability, stored as the
    /// [rows, labels] matrix.
    Map {
        keys: Labels,
        values: Vec<f32>,
    },
}

/// A dense row-major tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Data,
}

impl Tensor {
    pub fn new(shape: Vec<usize>, data: Data) -> Result<Tensor> {
        let t = Tensor { shape, data };
        let n: usize = t.shape.iter().product();
        if n != t.len() {
            return Err(Error::Compute {
                context: "model",
                detail: format!(
                    "a tensor of shape {:?} needs {n} values, got {}",
                    t.shape,
                    t.len()
                ),
            });
        }
        Ok(t)
    }

    pub fn f32(shape: Vec<usize>, values: Vec<f32>) -> Tensor {
        Tensor {
            shape,
            data: Data::F32(values),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match &self.data {
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::Str(v) => v.len(),
            Data::Map { values, .. } => values.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ONNX element type name of the values.
    pub fn dtype(&self) -> &'static str {
        match &self.data {
            Data::F32(_) => "float32",
            Data::F64(_) => "float64",
            Data::I64(_) => "int64",
            Data::Str(_) => "string",
            Data::Map { .. } => "map",
        }
    }

    /// Rows (the first dimension; 1 for a scalar).
    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }

    /// Values per row.
    pub fn row_len(&self) -> usize {
        self.shape.iter().skip(1).product()
    }

    /// The values as f32, converting numbers (strings are refused).
    pub fn to_f32(&self, op: &str) -> Result<Vec<f32>> {
        Ok(match &self.data {
            Data::F32(v) => v.clone(),
            Data::F64(v) => v.iter().map(|&x| x as f32).collect(),
            Data::I64(v) => v.iter().map(|&x| x as f32).collect(),
            Data::Map { values, .. } => values.clone(),
            Data::Str(_) => return Err(op_error(op, "needs numbers, got strings")),
        })
    }

    /// Borrows f32 values, converting only when needed.
    pub fn as_f32<'a>(&'a self, op: &str) -> Result<std::borrow::Cow<'a, [f32]>> {
        match &self.data {
            Data::F32(v) => Ok(std::borrow::Cow::Borrowed(v)),
            _ => self.to_f32(op).map(std::borrow::Cow::Owned),
        }
    }

    pub fn to_f64(&self, op: &str) -> Result<Vec<f64>> {
        Ok(match &self.data {
            Data::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Data::F64(v) => v.clone(),
            Data::I64(v) => v.iter().map(|&x| x as f64).collect(),
            Data::Map { values, .. } => values.iter().map(|&x| f64::from(x)).collect(),
            Data::Str(_) => return Err(op_error(op, "needs numbers, got strings")),
        })
    }

    pub fn to_i64(&self, op: &str) -> Result<Vec<i64>> {
        Ok(match &self.data {
            Data::F32(v) => v.iter().map(|&x| x as i64).collect(),
            Data::F64(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I64(v) => v.clone(),
            Data::Map { .. } | Data::Str(_) => {
                return Err(op_error(op, "needs integers"));
            }
        })
    }

    /// The same values with another shape of the same size.
    pub fn reshaped(mut self, shape: Vec<usize>) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if n != self.len() {
            return Err(op_error(
                "Reshape",
                &format!(
                    "cannot reshape {} values of shape {:?} to {shape:?}",
                    self.len(),
                    self.shape
                ),
            ));
        }
        self.shape = shape;
        Ok(self)
    }

    /// Rows `start..end` of the first dimension.
    pub fn slice_rows(&self, start: usize, end: usize) -> Tensor {
        let w = self.row_len();
        let (a, b) = (start * w, end * w);
        let mut shape = self.shape.clone();
        if let Some(first) = shape.first_mut() {
            *first = end - start;
        }
        let data = match &self.data {
            Data::F32(v) => Data::F32(v[a..b].to_vec()),
            Data::F64(v) => Data::F64(v[a..b].to_vec()),
            Data::I64(v) => Data::I64(v[a..b].to_vec()),
            Data::Str(v) => Data::Str(v[a..b].to_vec()),
            Data::Map { keys, values } => Data::Map {
                keys: keys.clone(),
                values: values[a..b].to_vec(),
            },
        };
        Tensor { shape, data }
    }

    /// Stacks tensors of the same type and row shape along the first dimension.
    pub fn concat_rows(parts: Vec<Tensor>) -> Result<Tensor> {
        let mut iter = parts.into_iter();
        let Some(mut out) = iter.next() else {
            return Err(op_error("concat", "nothing to concatenate"));
        };
        for part in iter {
            if part.shape.get(1..) != out.shape.get(1..) || part.shape.is_empty() {
                return Err(op_error(
                    "concat",
                    &format!(
                        "outputs of row shapes {:?} and {:?} do not stack",
                        out.shape, part.shape
                    ),
                ));
            }
            out.shape[0] += part.shape[0];
            match (&mut out.data, part.data) {
                (Data::F32(a), Data::F32(b)) => a.extend(b),
                (Data::F64(a), Data::F64(b)) => a.extend(b),
                (Data::I64(a), Data::I64(b)) => a.extend(b),
                (Data::Str(a), Data::Str(b)) => a.extend(b),
                (Data::Map { values: a, .. }, Data::Map { values: b, .. }) => a.extend(b),
                _ => return Err(op_error("concat", "outputs of different types")),
            }
        }
        Ok(out)
    }
}

pub(crate) fn op_error(op: &str, detail: &str) -> Error {
    Error::Compute {
        context: "cannot run the model",
        detail: format!("{op}: {detail}"),
    }
}
/// An initializer or attribute tensor.
pub(crate) fn tensor_from_proto(t: &pb::TensorProto) -> Result<Tensor> {
    if !t.external_data.is_empty() || t.data_location == Some(1) {
        return Err(Error::BadArgument {
            argument: "model",
            detail: format!(
                "tensor {:?} keeps its data in an external file; save the model with its weights inside (onnx.save(..., save_as_external_data=False))",
                t.name
            ),
        });
    }
    let shape: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| op_error("initializer", "negative dimension"))?;
    let raw = &t.raw_data;
    let chunks = |width: usize| -> Result<std::slice::ChunksExact<'_, u8>> {
        if !raw.len().is_multiple_of(width) {
            return Err(op_error("initializer", "raw data of a partial element"));
        }
        Ok(raw.chunks_exact(width))
    };
    let data = match t.data_type {
        1 if !raw.is_empty() => Data::F32(
            chunks(4)?
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        1 => Data::F32(t.float_data.clone()),
        11 if !raw.is_empty() => Data::F64(
            chunks(8)?
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
        11 => Data::F64(t.double_data.clone()),
        7 if !raw.is_empty() => Data::I64(
            chunks(8)?
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
        7 => Data::I64(t.int64_data.clone()),
        6 if !raw.is_empty() => Data::I64(
            chunks(4)?
                .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        ),
        2 | 9 if !raw.is_empty() => Data::I64(raw.iter().map(|&b| i64::from(b)).collect()),
        3 if !raw.is_empty() => Data::I64(raw.iter().map(|&b| i64::from(b as i8)).collect()),
        2 | 3 | 4 | 5 | 6 | 9 => Data::I64(t.int32_data.iter().map(|&v| i64::from(v)).collect()),
        8 => Data::Str(
            t.string_data
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
        ),
        other => {
            return Err(op_error(
                "initializer",
                &format!(
                    "{:?} has element type {}, which Lathe does not run",
                    t.name,
                    super::tensor::elem_type_name(other)
                ),
            ));
        }
    };
    Tensor::new(shape, data)
}
