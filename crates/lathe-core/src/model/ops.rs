//! The ops of Lathe's native evaluator: the classic ai.onnx.ml ops scikit-learn exports write,
//! and the standard ops those graphs mix in (Cast, MatMul, Add, ArgMax, ...). Each follows the
//! ONNX specification and, where it leaves room, onnxruntime's CPU kernels.

use std::sync::Arc;

use tract_onnx::pb;

use super::attrs::{Attrs, OpError};
use super::tensor::{Data, Labels, Tensor, op_error};
use super::trees::{PostTransform, TreeEnsemble, logistic, mlas_logistic};
use crate::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unary {
    Relu,
    Sigmoid,
    Tanh,
    Exp,
    Log,
    Abs,
    Neg,
    Sqrt,
    Reciprocal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binary {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Norm {
    Max,
    L1,
    L2,
}

#[derive(Debug)]
pub(crate) enum Op {
    // standard domain
    Identity,
    Cast {
        to: i64,
    },
    Reshape {
        allowzero: bool,
    },
    Flatten {
        axis: i64,
    },
    Squeeze {
        axes: Option<Vec<i64>>,
    },
    Unsqueeze {
        axes: Option<Vec<i64>>,
    },
    Concat {
        axis: i64,
    },
    Gather {
        axis: i64,
    },
    MatMul,
    Gemm {
        alpha: f32,
        beta: f32,
        trans_a: bool,
        trans_b: bool,
    },
    Binary(Binary),
    Unary(Unary),
    Softmax {
        axis: i64,
    },
    ArgMax {
        axis: i64,
        keepdims: bool,
        last: bool,
    },
    // ai.onnx.ml
    Scaler {
        offset: Vec<f32>,
        scale: Vec<f32>,
    },
    Normalizer(Norm),
    Imputer {
        floats: Vec<f32>,
        replaced: f32,
        ints: Vec<i64>,
        replaced_int: i64,
    },
    Binarizer {
        threshold: f32,
    },
    OneHotEncoder {
        cats: Labels,
        zeros: bool,
    },
    LabelEncoder {
        keys: Data,
        values: Data,
        default: Data,
    },
    ZipMap {
        labels: Labels,
    },
    ArrayFeatureExtractor,
    FeatureVectorizer {
        dims: Vec<i64>,
    },
    LinearClassifier {
        coefficients: Vec<f32>,
        intercepts: Vec<f32>,
        labels: Labels,
        post: PostTransform,
    },
    LinearRegressor {
        coefficients: Vec<f32>,
        intercepts: Vec<f32>,
        targets: usize,
        post: PostTransform,
    },
    Trees {
        op: &'static str,
        trees: Arc<TreeEnsemble>,
    },
}

impl Op {
    pub(crate) fn parse(n: &pb::NodeProto, version: i64) -> Result<Op, OpError> {
        let a = Attrs(&n.attribute);
        let ml = n.domain == "ai.onnx.ml";
        if !(ml || n.domain.is_empty() || n.domain == "ai.onnx") {
            return Err(OpError::Unsupported);
        }
        let op = match (ml, n.op_type.as_str()) {
            (false, "Identity") => Op::Identity,
            (false, "Cast") => Op::Cast {
                to: a.int("to").unwrap_or(1),
            },
            (false, "Reshape") => Op::Reshape {
                allowzero: a.int("allowzero").unwrap_or(0) != 0,
            },
            (false, "Flatten") => Op::Flatten {
                axis: a.int("axis").unwrap_or(1),
            },
            (false, "Squeeze") => Op::Squeeze {
                axes: (version < 13 && !a.ints("axes").is_empty()).then(|| a.ints("axes").to_vec()),
            },
            (false, "Unsqueeze") => Op::Unsqueeze {
                axes: (version < 13).then(|| a.ints("axes").to_vec()),
            },
            (false, "Concat") => Op::Concat {
                axis: a.int("axis").unwrap_or(0),
            },
            (false, "Gather") => Op::Gather {
                axis: a.int("axis").unwrap_or(0),
            },
            (false, "MatMul") => Op::MatMul,
            (false, "Gemm") => Op::Gemm {
                alpha: a.float("alpha").unwrap_or(1.0),
                beta: a.float("beta").unwrap_or(1.0),
                trans_a: a.int("transA").unwrap_or(0) != 0,
                trans_b: a.int("transB").unwrap_or(0) != 0,
            },
            (false, "Add") => Op::Binary(Binary::Add),
            (false, "Sub") => Op::Binary(Binary::Sub),
            (false, "Mul") => Op::Binary(Binary::Mul),
            (false, "Div") => Op::Binary(Binary::Div),
            (false, "Relu") => Op::Unary(Unary::Relu),
            (false, "Sigmoid") => Op::Unary(Unary::Sigmoid),
            (false, "Tanh") => Op::Unary(Unary::Tanh),
            (false, "Exp") => Op::Unary(Unary::Exp),
            (false, "Log") => Op::Unary(Unary::Log),
            (false, "Abs") => Op::Unary(Unary::Abs),
            (false, "Neg") => Op::Unary(Unary::Neg),
            (false, "Sqrt") => Op::Unary(Unary::Sqrt),
            (false, "Reciprocal") => Op::Unary(Unary::Reciprocal),
            (false, "Softmax") => {
                if version < 13 && a.int("axis").unwrap_or(1) != -1 {
                    // Before opset 13 Softmax flattened from `axis` (default 1); for the 2-D
                    // tensors of classic models that is the last axis.
                    Op::Softmax { axis: -1 }
                } else {
                    Op::Softmax {
                        axis: a.int("axis").unwrap_or(-1),
                    }
                }
            }
            (false, "ArgMax") => Op::ArgMax {
                axis: a.int("axis").unwrap_or(0),
                keepdims: a.int("keepdims").unwrap_or(1) != 0,
                last: a.int("select_last_index").unwrap_or(0) != 0,
            },
            (true, "Scaler") => Op::Scaler {
                offset: a.floats("offset").to_vec(),
                scale: a.floats("scale").to_vec(),
            },
            (true, "Normalizer") => Op::Normalizer(match a.string("norm").as_deref() {
                Some("MAX") => Norm::Max,
                Some("L1") => Norm::L1,
                Some("L2") => Norm::L2,
                other => return Err(bad(&n.op_type, &format!("unknown norm {other:?}"))),
            }),
            (true, "Imputer") => Op::Imputer {
                floats: a.floats("imputed_value_floats").to_vec(),
                replaced: a.float("replaced_value_float").unwrap_or(0.0),
                ints: a.ints("imputed_value_int64s").to_vec(),
                replaced_int: a.int("replaced_value_int64").unwrap_or(0),
            },
            (true, "Binarizer") => Op::Binarizer {
                threshold: a.float("threshold").unwrap_or(0.0),
            },
            (true, "OneHotEncoder") => Op::OneHotEncoder {
                cats: a
                    .labels("cats")?
                    .ok_or_else(|| bad("OneHotEncoder", "has no categories"))?,
                zeros: a.int("zeros").unwrap_or(1) != 0,
            },
            (true, "LabelEncoder") => label_encoder(&a)?,
            (true, "ZipMap") => Op::ZipMap {
                labels: a
                    .labels("classlabels")?
                    .ok_or_else(|| bad("ZipMap", "has no class labels"))?,
            },
            (true, "ArrayFeatureExtractor") => Op::ArrayFeatureExtractor,
            (true, "FeatureVectorizer") => Op::FeatureVectorizer {
                dims: a.ints("inputdimensions").to_vec(),
            },
            (true, "LinearClassifier") => {
                let labels = a
                    .labels("classlabels")?
                    .ok_or_else(|| bad("LinearClassifier", "has no class labels"))?;
                Op::LinearClassifier {
                    coefficients: a.floats("coefficients").to_vec(),
                    intercepts: a.floats("intercepts").to_vec(),
                    labels,
                    post: PostTransform::parse(&a.string("post_transform").unwrap_or_default())?,
                }
            }
            (true, "LinearRegressor") => Op::LinearRegressor {
                coefficients: a.floats("coefficients").to_vec(),
                intercepts: a.floats("intercepts").to_vec(),
                targets: a.int("targets").unwrap_or(1).max(1) as usize,
                post: PostTransform::parse(&a.string("post_transform").unwrap_or_default())?,
            },
            (true, "TreeEnsembleClassifier") => Op::Trees {
                op: "TreeEnsembleClassifier",
                trees: Arc::new(TreeEnsemble::from_classic("TreeEnsembleClassifier", &a)?),
            },
            (true, "TreeEnsembleRegressor") => Op::Trees {
                op: "TreeEnsembleRegressor",
                trees: Arc::new(TreeEnsemble::from_classic("TreeEnsembleRegressor", &a)?),
            },
            (true, "TreeEnsemble") => Op::Trees {
                op: "TreeEnsemble",
                trees: Arc::new(TreeEnsemble::from_v5(&a)?),
            },
            _ => return Err(OpError::Unsupported),
        };
        Ok(op)
    }

    /// The tree ensemble this op evaluates, if it is one.
    pub(crate) fn trees(&self) -> Option<&Arc<TreeEnsemble>> {
        match self {
            Op::Trees { trees, .. } => Some(trees),
            _ => None,
        }
    }

    pub(crate) fn run(&self, args: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let arg = |i: usize, op: &str| -> Result<&Tensor> {
            args.get(i)
                .copied()
                .flatten()
                .ok_or_else(|| op_error(op, &format!("input {i} is missing")))
        };
        Ok(match self {
            Op::Identity => vec![arg(0, "Identity")?.clone()],
            Op::Cast { to } => vec![cast(arg(0, "Cast")?, *to)?],
            Op::Reshape { allowzero } => {
                let x = arg(0, "Reshape")?;
                let spec = arg(1, "Reshape")?.to_i64("Reshape")?;
                vec![reshape(x, &spec, *allowzero)?]
            }
            Op::Flatten { axis } => {
                let x = arg(0, "Flatten")?;
                let axis = norm_axis(*axis, x.shape.len() + 1, "Flatten")?;
                let outer: usize = x.shape[..axis].iter().product();
                let inner: usize = x.shape[axis..].iter().product();
                vec![x.clone().reshaped(vec![outer, inner])?]
            }
            Op::Squeeze { axes } => {
                let x = arg(0, "Squeeze")?;
                let axes = match (axes, args.get(1).copied().flatten()) {
                    (Some(a), _) => Some(a.clone()),
                    (None, Some(t)) => Some(t.to_i64("Squeeze")?),
                    (None, None) => None,
                };
                let rank = x.shape.len();
                let drop: Vec<usize> = match axes {
                    Some(a) => a
                        .iter()
                        .map(|&ax| norm_axis(ax, rank, "Squeeze"))
                        .collect::<Result<_>>()?,
                    None => (0..rank).filter(|&i| x.shape[i] == 1).collect(),
                };
                let shape = x
                    .shape
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !drop.contains(i))
                    .map(|(_, &d)| d)
                    .collect();
                vec![x.clone().reshaped(shape)?]
            }
            Op::Unsqueeze { axes } => {
                let x = arg(0, "Unsqueeze")?;
                let axes = match axes {
                    Some(a) => a.clone(),
                    None => arg(1, "Unsqueeze")?.to_i64("Unsqueeze")?,
                };
                let rank = x.shape.len() + axes.len();
                let mut ins: Vec<usize> = axes
                    .iter()
                    .map(|&ax| norm_axis(ax, rank, "Unsqueeze"))
                    .collect::<Result<_>>()?;
                ins.sort_unstable();
                let mut shape = x.shape.clone();
                for i in ins {
                    shape.insert(i.min(shape.len()), 1);
                }
                vec![x.clone().reshaped(shape)?]
            }
            Op::Concat { axis } => {
                let parts: Vec<&Tensor> = args.iter().flatten().copied().collect();
                vec![concat(&parts, *axis)?]
            }
            Op::Gather { axis } => vec![gather(arg(0, "Gather")?, arg(1, "Gather")?, *axis)?],
            Op::MatMul => vec![matmul(arg(0, "MatMul")?, arg(1, "MatMul")?)?],
            Op::Gemm {
                alpha,
                beta,
                trans_a,
                trans_b,
            } => vec![gemm(
                arg(0, "Gemm")?,
                arg(1, "Gemm")?,
                args.get(2).copied().flatten(),
                *alpha,
                *beta,
                *trans_a,
                *trans_b,
            )?],
            Op::Binary(b) => vec![binary(*b, arg(0, "binary op")?, arg(1, "binary op")?)?],
            Op::Unary(u) => vec![unary(*u, arg(0, "unary op")?)?],
            Op::Softmax { axis } => {
                let x = arg(0, "Softmax")?;
                let axis = norm_axis(*axis, x.shape.len(), "Softmax")?;
                if axis + 1 != x.shape.len() {
                    return Err(op_error("Softmax", "only the last axis is supported"));
                }
                let mut v = x.to_f32("Softmax")?;
                let w = x.shape[axis].max(1);
                v.chunks_mut(w)
                    .for_each(|row| super::trees::softmax(row, false));
                vec![Tensor::f32(x.shape.clone(), v)]
            }
            Op::ArgMax {
                axis,
                keepdims,
                last,
            } => vec![argmax(arg(0, "ArgMax")?, *axis, *keepdims, *last)?],
            Op::Scaler { offset, scale } => {
                let x = arg(0, "Scaler")?;
                let mut v = x.to_f32("Scaler")?;
                let w = x.row_len().max(1);
                let pick = |list: &[f32], j: usize, default: f32| match list.len() {
                    0 => default,
                    1 => list[0],
                    _ => list[j],
                };
                if (offset.len() > 1 && offset.len() != w) || (scale.len() > 1 && scale.len() != w)
                {
                    return Err(op_error(
                        "Scaler",
                        &format!(
                            "rows have {w} values but offset/scale have {}/{}",
                            offset.len(),
                            scale.len()
                        ),
                    ));
                }
                for row in v.chunks_mut(w) {
                    for (j, x) in row.iter_mut().enumerate() {
                        *x = (*x - pick(offset, j, 0.0)) * pick(scale, j, 1.0);
                    }
                }
                vec![Tensor::f32(x.shape.clone(), v)]
            }
            Op::Normalizer(norm) => {
                let x = arg(0, "Normalizer")?;
                let mut v = x.to_f32("Normalizer")?;
                let w = x.row_len().max(1);
                for row in v.chunks_mut(w) {
                    let d = match norm {
                        Norm::Max => row.iter().copied().fold(f32::NEG_INFINITY, f32::max),
                        Norm::L1 => row.iter().map(|x| x.abs()).sum(),
                        Norm::L2 => row.iter().map(|x| x * x).sum::<f32>().sqrt(),
                    };
                    if d != 0.0 {
                        row.iter_mut().for_each(|x| *x /= d);
                    }
                }
                vec![Tensor::f32(x.shape.clone(), v)]
            }
            Op::Imputer {
                floats,
                replaced,
                ints,
                replaced_int,
            } => {
                let x = arg(0, "Imputer")?;
                let w = x.row_len().max(1);
                let pick = |j: usize, list: &[f32]| if list.len() == 1 { list[0] } else { list[j] };
                match &x.data {
                    Data::I64(v) => {
                        if ints.len() != 1 && ints.len() != w {
                            return Err(op_error(
                                "Imputer",
                                "imputed values do not match the rows",
                            ));
                        }
                        let out = v
                            .chunks(w)
                            .flat_map(|row| {
                                row.iter().enumerate().map(|(j, &x)| {
                                    if x == *replaced_int {
                                        if ints.len() == 1 { ints[0] } else { ints[j] }
                                    } else {
                                        x
                                    }
                                })
                            })
                            .collect();
                        vec![Tensor::new(x.shape.clone(), Data::I64(out))?]
                    }
                    _ => {
                        if floats.len() != 1 && floats.len() != w {
                            return Err(op_error(
                                "Imputer",
                                "imputed values do not match the rows",
                            ));
                        }
                        let mut v = x.to_f32("Imputer")?;
                        for row in v.chunks_mut(w) {
                            for (j, x) in row.iter_mut().enumerate() {
                                let hit = if replaced.is_nan() {
                                    x.is_nan()
                                } else {
                                    *x == *replaced
                                };
                                if hit {
                                    *x = pick(j, floats);
                                }
                            }
                        }
                        vec![Tensor::f32(x.shape.clone(), v)]
                    }
                }
            }
            Op::Binarizer { threshold } => {
                let x = arg(0, "Binarizer")?;
                let v = x
                    .to_f32("Binarizer")?
                    .into_iter()
                    .map(|x| if x > *threshold { 1.0 } else { 0.0 })
                    .collect();
                vec![Tensor::f32(x.shape.clone(), v)]
            }
            Op::OneHotEncoder { cats, zeros } => {
                let x = arg(0, "OneHotEncoder")?;
                let c = cats.len();
                let mut out = vec![0.0f32; x.len() * c];
                let position = |i: usize| -> Option<usize> {
                    match (&x.data, cats) {
                        (Data::Str(v), Labels::Str(cs)) => cs.iter().position(|c| *c == v[i]),
                        (Data::I64(v), Labels::Int(cs)) => cs.iter().position(|c| *c == v[i]),
                        (Data::F32(v), Labels::Int(cs)) => {
                            cs.iter().position(|c| *c as f32 == v[i])
                        }
                        (Data::F64(v), Labels::Int(cs)) => {
                            cs.iter().position(|c| *c as f64 == v[i])
                        }
                        _ => None,
                    }
                };
                for i in 0..x.len() {
                    match position(i) {
                        Some(p) => out[i * c + p] = 1.0,
                        None if *zeros => {}
                        None => {
                            return Err(op_error(
                                "OneHotEncoder",
                                "a value is not one of the categories (and zeros=0)",
                            ));
                        }
                    }
                }
                let mut shape = x.shape.clone();
                shape.push(c);
                vec![Tensor::f32(shape, out)]
            }
            Op::LabelEncoder {
                keys,
                values,
                default,
            } => vec![label_encode(
                arg(0, "LabelEncoder")?,
                keys,
                values,
                default,
            )?],
            Op::ZipMap { labels } => {
                let x = arg(0, "ZipMap")?;
                if x.row_len() != labels.len() {
                    return Err(op_error(
                        "ZipMap",
                        &format!("{} labels for rows of {} values", labels.len(), x.row_len()),
                    ));
                }
                vec![Tensor {
                    shape: vec![x.rows(), labels.len()],
                    data: Data::Map {
                        keys: labels.clone(),
                        values: x.to_f32("ZipMap")?,
                    },
                }]
            }
            Op::ArrayFeatureExtractor => {
                vec![array_feature_extractor(
                    arg(0, "ArrayFeatureExtractor")?,
                    arg(1, "ArrayFeatureExtractor")?,
                )?]
            }
            Op::FeatureVectorizer { dims } => {
                let parts: Vec<&Tensor> = args.iter().flatten().copied().collect();
                vec![feature_vectorizer(&parts, dims)?]
            }
            Op::LinearClassifier {
                coefficients,
                intercepts,
                labels,
                post,
            } => linear_classifier(
                arg(0, "LinearClassifier")?,
                coefficients,
                intercepts,
                labels,
                *post,
            )?,
            Op::LinearRegressor {
                coefficients,
                intercepts,
                targets,
                post,
            } => {
                let x = arg(0, "LinearRegressor")?;
                let mut scores = linear(x, coefficients, intercepts, *targets, "LinearRegressor")?;
                if *post != PostTransform::None {
                    scores.chunks_mut(*targets).for_each(|row| post.apply(row));
                }
                vec![Tensor::f32(vec![x.rows(), *targets], scores)]
            }
            Op::Trees { op, trees } => trees.run(op, arg(0, op)?)?,
        })
    }
}

fn bad(op: &str, detail: &str) -> OpError {
    OpError::Bad(op_error(op, detail))
}

fn norm_axis(axis: i64, rank: usize, op: &str) -> Result<usize> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    if a < 0 || a as usize >= rank.max(1) {
        return Err(op_error(
            op,
            &format!("axis {axis} out of range for rank {rank}"),
        ));
    }
    Ok(a as usize)
}

fn cast(x: &Tensor, to: i64) -> Result<Tensor> {
    let data = match to {
        1 => Data::F32(match &x.data {
            Data::Str(v) => v
                .iter()
                .map(|s| s.trim().parse::<f32>().unwrap_or(f32::NAN))
                .collect(),
            _ => x.to_f32("Cast")?,
        }),
        11 => Data::F64(match &x.data {
            Data::Str(v) => v
                .iter()
                .map(|s| s.trim().parse::<f64>().unwrap_or(f64::NAN))
                .collect(),
            _ => x.to_f64("Cast")?,
        }),
        2..=7 | 12 | 13 => Data::I64(match &x.data {
            Data::Str(v) => v
                .iter()
                .map(|s| s.trim().parse::<i64>().unwrap_or(0))
                .collect(),
            _ => x.to_i64("Cast")?,
        }),
        9 => Data::I64(
            x.to_f64("Cast")?
                .into_iter()
                .map(|v| i64::from(v != 0.0))
                .collect(),
        ),
        8 => Data::Str(match &x.data {
            Data::Str(v) => v.clone(),
            Data::I64(v) => v.iter().map(i64::to_string).collect(),
            Data::F32(v) => v.iter().map(f32::to_string).collect(),
            Data::F64(v) => v.iter().map(f64::to_string).collect(),
            Data::Map { .. } => return Err(op_error("Cast", "cannot cast a map")),
        }),
        other => {
            return Err(op_error(
                "Cast",
                &format!(
                    "to {} is not supported",
                    super::tensor::elem_type_name(other as i32)
                ),
            ));
        }
    };
    Tensor::new(x.shape.clone(), data)
}

fn reshape(x: &Tensor, spec: &[i64], allowzero: bool) -> Result<Tensor> {
    let mut shape = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &d) in spec.iter().enumerate() {
        match d {
            -1 => {
                if infer.replace(i).is_some() {
                    return Err(op_error("Reshape", "more than one -1 in the shape"));
                }
                shape.push(1);
            }
            0 if !allowzero => shape.push(*x.shape.get(i).ok_or_else(|| {
                op_error(
                    "Reshape",
                    "a 0 in the shape has no matching input dimension",
                )
            })?),
            d if d < 0 => return Err(op_error("Reshape", "negative dimension")),
            d => shape.push(d as usize),
        }
    }
    if let Some(i) = infer {
        let known: usize = shape.iter().product();
        if known == 0 || !x.len().is_multiple_of(known) {
            return Err(op_error(
                "Reshape",
                &format!("cannot reshape {:?} to {spec:?}", x.shape),
            ));
        }
        shape[i] = x.len() / known;
    }
    x.clone().reshaped(shape)
}

/// Outer × axis × inner view of a shape.
fn split_at_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    )
}

fn concat(parts: &[&Tensor], axis: i64) -> Result<Tensor> {
    let first = parts
        .first()
        .ok_or_else(|| op_error("Concat", "no inputs"))?;
    let rank = first.shape.len();
    let axis = norm_axis(axis, rank, "Concat")?;
    for p in parts {
        if p.shape.len() != rank
            || p.shape
                .iter()
                .zip(&first.shape)
                .enumerate()
                .any(|(i, (a, b))| i != axis && a != b)
        {
            return Err(op_error(
                "Concat",
                &format!("shapes {:?} and {:?} do not join", first.shape, p.shape),
            ));
        }
    }
    let outer: usize = first.shape[..axis].iter().product();
    let mut shape = first.shape.clone();
    shape[axis] = parts.iter().map(|p| p.shape[axis]).sum();
    macro_rules! join {
        ($variant:ident, $get:expr) => {{
            let vecs = parts.iter().map($get).collect::<Result<Vec<_>>>()?;
            let mut out = Vec::with_capacity(shape.iter().product());
            for o in 0..outer {
                for (p, v) in parts.iter().zip(&vecs) {
                    let block = p.shape[axis..].iter().product::<usize>();
                    out.extend_from_slice(&v[o * block..(o + 1) * block]);
                }
            }
            Data::$variant(out)
        }};
    }
    let data = match &first.data {
        Data::Str(_) => join!(Str, |p: &&Tensor| match &p.data {
            Data::Str(v) => Ok(v.clone()),
            _ => Err(op_error("Concat", "mixes strings and numbers")),
        }),
        Data::I64(_) => join!(I64, |p: &&Tensor| p.to_i64("Concat")),
        Data::F64(_) => join!(F64, |p: &&Tensor| p.to_f64("Concat")),
        _ => join!(F32, |p: &&Tensor| p.to_f32("Concat")),
    };
    Tensor::new(shape, data)
}

/// `Gather`: slices of `x` along `axis` at `indices` (negative indices count from the end).
fn gather(x: &Tensor, indices: &Tensor, axis: i64) -> Result<Tensor> {
    let rank = x.shape.len();
    let axis = norm_axis(axis, rank, "Gather")?;
    let (outer, n, inner) = split_at_axis(&x.shape, axis);
    let idx: Vec<usize> = indices
        .to_i64("Gather")?
        .into_iter()
        .map(|i| {
            let j = if i < 0 { i + n as i64 } else { i };
            if j < 0 || j as usize >= n {
                Err(op_error(
                    "Gather",
                    &format!("index {i} outside a dimension of {n}"),
                ))
            } else {
                Ok(j as usize)
            }
        })
        .collect::<Result<_>>()?;
    let mut positions = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for &j in &idx {
            positions.extend((0..inner).map(|k| (o * n + j) * inner + k));
        }
    }
    let data = match &x.data {
        Data::F32(v) => Data::F32(positions.iter().map(|&i| v[i]).collect()),
        Data::F64(v) => Data::F64(positions.iter().map(|&i| v[i]).collect()),
        Data::I64(v) => Data::I64(positions.iter().map(|&i| v[i]).collect()),
        Data::Str(v) => Data::Str(positions.iter().map(|&i| v[i].clone()).collect()),
        Data::Map { .. } => return Err(op_error("Gather", "cannot gather from a map")),
    };
    let mut shape = x.shape[..axis].to_vec();
    shape.extend(&indices.shape);
    shape.extend(&x.shape[axis + 1..]);
    Tensor::new(shape, data)
}

fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if b.shape.len() != 2 || a.shape.is_empty() {
        return Err(op_error(
            "MatMul",
            &format!(
                "only [.., M, K] × [K, N] is supported here, got {:?} × {:?}",
                a.shape, b.shape
            ),
        ));
    }
    let (k, n) = (b.shape[0], b.shape[1]);
    let ka = *a.shape.last().unwrap_or(&0);
    if ka != k {
        return Err(op_error(
            "MatMul",
            &format!("inner dimensions differ: {:?} × {:?}", a.shape, b.shape),
        ));
    }
    let av = a.as_f32("MatMul")?;
    let bv = b.as_f32("MatMul")?;
    let m = av.len() / k.max(1);
    let mut out = vec![0.0f32; m * n];
    for (row, orow) in av.chunks(k.max(1)).zip(out.chunks_mut(n.max(1))) {
        for (kk, &x) in row.iter().enumerate() {
            let brow = &bv[kk * n..(kk + 1) * n];
            for (o, &w) in orow.iter_mut().zip(brow) {
                *o += x * w;
            }
        }
    }
    let mut shape = a.shape.clone();
    if let Some(last) = shape.last_mut() {
        *last = n;
    }
    Ok(Tensor::f32(shape, out))
}

#[allow(clippy::too_many_arguments)]
fn gemm(
    a: &Tensor,
    b: &Tensor,
    c: Option<&Tensor>,
    alpha: f32,
    beta: f32,
    trans_a: bool,
    trans_b: bool,
) -> Result<Tensor> {
    if a.shape.len() != 2 || b.shape.len() != 2 {
        return Err(op_error("Gemm", "needs 2-D inputs"));
    }
    let (m, k) = if trans_a {
        (a.shape[1], a.shape[0])
    } else {
        (a.shape[0], a.shape[1])
    };
    let (kb, n) = if trans_b {
        (b.shape[1], b.shape[0])
    } else {
        (b.shape[0], b.shape[1])
    };
    if k != kb {
        return Err(op_error(
            "Gemm",
            &format!("inner dimensions differ: {:?} × {:?}", a.shape, b.shape),
        ));
    }
    let av = a.as_f32("Gemm")?;
    let bv = b.as_f32("Gemm")?;
    let at = |i: usize, j: usize| {
        if trans_a {
            av[j * m + i]
        } else {
            av[i * k + j]
        }
    };
    let bt = |i: usize, j: usize| {
        if trans_b {
            bv[j * k + i]
        } else {
            bv[i * n + j]
        }
    };
    let mut out = vec![0.0f32; m * n];
    for i in 0..m {
        for kk in 0..k {
            let x = at(i, kk);
            for j in 0..n {
                out[i * n + j] += x * bt(kk, j);
            }
        }
    }
    out.iter_mut().for_each(|v| *v *= alpha);
    let mut y = Tensor::f32(vec![m, n], out);
    if let Some(c) = c {
        let scaled = Tensor::f32(
            c.shape.clone(),
            c.to_f32("Gemm")?.into_iter().map(|v| v * beta).collect(),
        );
        y = binary(Binary::Add, &y, &scaled)?;
    }
    Ok(y)
}

fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Element-wise `f` with numpy broadcasting.
fn broadcast<T: Copy>(
    a: &[T],
    ash: &[usize],
    b: &[T],
    bsh: &[usize],
    f: impl Fn(T, T) -> T,
) -> Result<(Vec<usize>, Vec<T>)> {
    let shape = broadcast_shape(ash, bsh).ok_or_else(|| {
        op_error(
            "broadcast",
            &format!("shapes {ash:?} and {bsh:?} do not broadcast"),
        )
    })?;
    if ash == bsh {
        return Ok((shape, a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()));
    }
    if b.len() == 1 {
        return Ok((shape, a.iter().map(|&x| f(x, b[0])).collect()));
    }
    if a.len() == 1 {
        return Ok((shape, b.iter().map(|&y| f(a[0], y)).collect()));
    }
    let rank = shape.len();
    let strides = |sh: &[usize]| -> Vec<usize> {
        let mut st = vec![0; rank];
        let mut acc = 1;
        for i in (0..sh.len()).rev() {
            let o = i + rank - sh.len();
            st[o] = if sh[i] == 1 { 0 } else { acc };
            acc *= sh[i];
        }
        st
    };
    let (sa, sb) = (strides(ash), strides(bsh));
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; rank];
    for _ in 0..total {
        let (mut ia, mut ib) = (0, 0);
        for d in 0..rank {
            ia += idx[d] * sa[d];
            ib += idx[d] * sb[d];
        }
        out.push(f(a[ia], b[ib]));
        for d in (0..rank).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok((shape, out))
}

fn binary(op: Binary, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    match (&a.data, &b.data) {
        (Data::I64(x), Data::I64(y)) => {
            let f = |p: i64, q: i64| match op {
                Binary::Add => p.wrapping_add(q),
                Binary::Sub => p.wrapping_sub(q),
                Binary::Mul => p.wrapping_mul(q),
                Binary::Div => p.checked_div(q).unwrap_or(0),
            };
            let (shape, v) = broadcast(x, &a.shape, y, &b.shape, f)?;
            Tensor::new(shape, Data::I64(v))
        }
        (Data::F64(x), Data::F64(y)) => {
            let f = |p: f64, q: f64| match op {
                Binary::Add => p + q,
                Binary::Sub => p - q,
                Binary::Mul => p * q,
                Binary::Div => p / q,
            };
            let (shape, v) = broadcast(x, &a.shape, y, &b.shape, f)?;
            Tensor::new(shape, Data::F64(v))
        }
        _ => {
            let f = |p: f32, q: f32| match op {
                Binary::Add => p + q,
                Binary::Sub => p - q,
                Binary::Mul => p * q,
                Binary::Div => p / q,
            };
            let (x, y) = (a.as_f32("binary op")?, b.as_f32("binary op")?);
            let (shape, v) = broadcast(&x, &a.shape, &y, &b.shape, f)?;
            Ok(Tensor::f32(shape, v))
        }
    }
}

fn unary(op: Unary, x: &Tensor) -> Result<Tensor> {
    let f = |v: f32| match op {
        Unary::Relu => v.max(0.0),
        Unary::Sigmoid => logistic(v),
        Unary::Tanh => v.tanh(),
        Unary::Exp => v.exp(),
        Unary::Log => v.ln(),
        Unary::Abs => v.abs(),
        Unary::Neg => -v,
        Unary::Sqrt => v.sqrt(),
        Unary::Reciprocal => 1.0 / v,
    };
    match &x.data {
        Data::F64(v) => {
            let g = |v: f64| match op {
                Unary::Relu => v.max(0.0),
                Unary::Sigmoid => 1.0 / (1.0 + (-v).exp()),
                Unary::Tanh => v.tanh(),
                Unary::Exp => v.exp(),
                Unary::Log => v.ln(),
                Unary::Abs => v.abs(),
                Unary::Neg => -v,
                Unary::Sqrt => v.sqrt(),
                Unary::Reciprocal => 1.0 / v,
            };
            Tensor::new(
                x.shape.clone(),
                Data::F64(v.iter().map(|&v| g(v)).collect()),
            )
        }
        _ => Ok(Tensor::f32(
            x.shape.clone(),
            x.as_f32("unary op")?.iter().map(|&v| f(v)).collect(),
        )),
    }
}

fn argmax(x: &Tensor, axis: i64, keepdims: bool, last: bool) -> Result<Tensor> {
    let rank = x.shape.len();
    let axis = norm_axis(axis, rank, "ArgMax")?;
    let (outer, n, inner) = split_at_axis(&x.shape, axis);
    let v = x.to_f64("ArgMax")?;
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let mut best = 0usize;
            for j in 1..n {
                let (cur, b) = (v[(o * n + j) * inner + i], v[(o * n + best) * inner + i]);
                if cur > b || (last && cur == b) {
                    best = j;
                }
            }
            out.push(best as i64);
        }
    }
    let mut shape = x.shape.clone();
    if keepdims {
        shape[axis] = 1;
    } else {
        shape.remove(axis);
    }
    Tensor::new(shape, Data::I64(out))
}

fn array_feature_extractor(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let idx = y.to_i64("ArrayFeatureExtractor")?;
    let c = *x.shape.last().unwrap_or(&1);
    for &i in &idx {
        if i < 0 || i as usize >= c {
            return Err(op_error(
                "ArrayFeatureExtractor",
                &format!("index {i} outside the {c} values of a row"),
            ));
        }
    }
    let outer = x.len() / c.max(1);
    let picks = |o: usize| idx.iter().map(move |&i| o * c + i as usize);
    let data = match &x.data {
        Data::F32(v) => Data::F32((0..outer).flat_map(picks).map(|i| v[i]).collect()),
        Data::F64(v) => Data::F64((0..outer).flat_map(picks).map(|i| v[i]).collect()),
        Data::I64(v) => Data::I64((0..outer).flat_map(picks).map(|i| v[i]).collect()),
        Data::Str(v) => Data::Str((0..outer).flat_map(picks).map(|i| v[i].clone()).collect()),
        Data::Map { .. } => return Err(op_error("ArrayFeatureExtractor", "cannot index a map")),
    };
    let shape = if x.shape.len() <= 1 {
        vec![1, idx.len()]
    } else {
        let mut s = x.shape.clone();
        if let Some(l) = s.last_mut() {
            *l = idx.len();
        }
        s
    };
    Tensor::new(shape, data)
}

fn feature_vectorizer(parts: &[&Tensor], dims: &[i64]) -> Result<Tensor> {
    let first = parts
        .first()
        .ok_or_else(|| op_error("FeatureVectorizer", "no inputs"))?;
    let rows = if first.shape.len() <= 1 {
        1
    } else {
        first.rows()
    };
    let widths: Vec<usize> = if dims.len() == parts.len() {
        dims.iter().map(|&d| d.max(0) as usize).collect()
    } else {
        parts.iter().map(|p| p.row_len().max(1)).collect()
    };
    let total: usize = widths.iter().sum();
    let mut out = vec![0.0f32; rows * total];
    let mut offset = 0;
    for (p, &w) in parts.iter().zip(&widths) {
        let v = p.to_f32("FeatureVectorizer")?;
        let have = if p.shape.len() <= 1 {
            v.len()
        } else {
            p.row_len()
        };
        if p.shape.len() > 1 && p.rows() != rows {
            return Err(op_error(
                "FeatureVectorizer",
                "inputs have different row counts",
            ));
        }
        for r in 0..rows {
            let n = have.min(w);
            out[r * total + offset..r * total + offset + n]
                .copy_from_slice(&v[r * have..r * have + n]);
        }
        offset += w;
    }
    Ok(Tensor::f32(vec![rows, total], out))
}

/// `x · coefficientsᵀ + intercepts`: [rows, targets].
fn linear(
    x: &Tensor,
    coef: &[f32],
    intercepts: &[f32],
    targets: usize,
    op: &str,
) -> Result<Vec<f32>> {
    let w = if x.shape.len() <= 1 {
        x.len()
    } else {
        x.row_len()
    };
    if coef.len() != targets * w {
        return Err(op_error(
            op,
            &format!(
                "{} coefficients for {targets} target(s) of rows with {w} values; the data have a different number of features than the model",
                coef.len()
            ),
        ));
    }
    let xs = x.as_f32(op)?;
    let mut out = Vec::with_capacity(xs.len() / w.max(1) * targets);
    for row in xs.chunks(w.max(1)) {
        for t in 0..targets {
            let c = &coef[t * w..(t + 1) * w];
            let s = dot_fma(row, c);
            out.push(s + intercepts.get(t).copied().unwrap_or(0.0));
        }
    }
    Ok(out)
}

/// onnxruntime's LinearClassifier: argmax of the raw scores (or the sign of a single one), then
/// the transform; a single score column becomes two.
fn linear_classifier(
    x: &Tensor,
    coef: &[f32],
    intercepts: &[f32],
    labels: &Labels,
    post: PostTransform,
) -> Result<Vec<Tensor>> {
    let targets = intercepts.len().max(1);
    let scores = linear(x, coef, intercepts, targets, "LinearClassifier")?;
    let rows = scores.len() / targets;
    let mut picks = Vec::with_capacity(rows);
    let (out, width) = if targets == 1 {
        let mut out = Vec::with_capacity(rows * 2);
        for &s in &scores {
            picks.push(usize::from(s > 0.0));
            let (a, b) = match post {
                PostTransform::Logistic => (logistic(-s), logistic(s)),
                PostTransform::None => (-s, s),
                other => {
                    let mut row = [-s, s];
                    other.apply(&mut row);
                    (row[0], row[1])
                }
            };
            out.push(a);
            out.push(b);
        }
        (out, 2)
    } else {
        let mut out = scores;
        for row in out.chunks_mut(targets) {
            let mut best = 0;
            for j in 1..targets {
                if row[j] > row[best] {
                    best = j;
                }
            }
            picks.push(best);
            if post == PostTransform::Logistic {
                row.iter_mut().for_each(|v| *v = mlas_logistic(*v));
            } else {
                post.apply(row);
            }
        }
        (out, targets)
    };
    if picks.iter().any(|&p| p >= labels.len()) {
        return Err(op_error(
            "LinearClassifier",
            &format!("{} class labels for {width} scores", labels.len()),
        ));
    }
    Ok(vec![
        Tensor {
            shape: vec![rows],
            data: labels.pick(picks.into_iter()),
        },
        Tensor::f32(vec![rows, width], out),
    ])
}

fn label_encoder(a: &Attrs) -> Result<Op, OpError> {
    let keys = if !a.strings("keys_strings").is_empty() {
        Data::Str(a.strings("keys_strings"))
    } else if !a.ints("keys_int64s").is_empty() {
        Data::I64(a.ints("keys_int64s").to_vec())
    } else if !a.floats("keys_floats").is_empty() {
        Data::F32(a.floats("keys_floats").to_vec())
    } else if !a.strings("classes_strings").is_empty() {
        // opset 1: classes_strings maps strings to their index and back
        Data::Str(a.strings("classes_strings"))
    } else {
        return Err(bad("LabelEncoder", "has no keys"));
    };
    let values = if !a.strings("values_strings").is_empty() {
        Data::Str(a.strings("values_strings"))
    } else if !a.ints("values_int64s").is_empty() {
        Data::I64(a.ints("values_int64s").to_vec())
    } else if !a.floats("values_floats").is_empty() {
        Data::F32(a.floats("values_floats").to_vec())
    } else if let Data::Str(k) = &keys {
        Data::I64((0..k.len() as i64).collect())
    } else {
        return Err(bad("LabelEncoder", "has no values"));
    };
    let default = match &values {
        Data::Str(_) => Data::Str(vec![
            a.string("default_string")
                .unwrap_or_else(|| "_Unused".to_owned()),
        ]),
        Data::I64(_) => Data::I64(vec![a.int("default_int64").unwrap_or(-1)]),
        _ => Data::F32(vec![a.float("default_float").unwrap_or(-0.0)]),
    };
    Ok(Op::LabelEncoder {
        keys,
        values,
        default,
    })
}

fn label_encode(x: &Tensor, keys: &Data, values: &Data, default: &Data) -> Result<Tensor> {
    let n = x.len();
    let find = |i: usize| -> Option<usize> {
        match (keys, &x.data) {
            (Data::Str(k), Data::Str(v)) => k.iter().position(|s| *s == v[i]),
            (Data::I64(k), Data::I64(v)) => k.iter().position(|s| *s == v[i]),
            (Data::I64(k), Data::F32(v)) => k.iter().position(|s| *s as f32 == v[i]),
            (Data::F32(k), Data::F32(v)) => k.iter().position(|s| *s == v[i]),
            (Data::F32(k), Data::I64(v)) => k.iter().position(|s| *s == v[i] as f32),
            _ => None,
        }
    };
    let data = match (values, default) {
        (Data::Str(v), Data::Str(d)) => Data::Str(
            (0..n)
                .map(|i| find(i).map_or_else(|| d[0].clone(), |j| v[j].clone()))
                .collect(),
        ),
        (Data::I64(v), Data::I64(d)) => {
            Data::I64((0..n).map(|i| find(i).map_or(d[0], |j| v[j])).collect())
        }
        (Data::F32(v), Data::F32(d)) => {
            Data::F32((0..n).map(|i| find(i).map_or(d[0], |j| v[j])).collect())
        }
        _ => return Err(op_error("LabelEncoder", "inconsistent value types")),
    };
    Tensor::new(x.shape.clone(), data)
}

/// `Σ a·b` as onnxruntime's MLAS kernels compute it: one fused multiply-add per term, in order
/// from zero, so scores round as onnxruntime's do (partial dependence to 1e-9 needs this). The
/// product of two f32 is exact in f64, so the fused step is `f32(f64(a)·f64(b) + f64(s))`; this
/// differs from a true FMA only by double rounding at an exact f32 midpoint, which needs the sum
/// to land within 2^-53 of one.
#[inline]
pub(crate) fn dot_fma(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0.0f32, |s, (x, y)| {
        (f64::from(*x) * f64::from(*y) + f64::from(s)) as f32
    })
}
