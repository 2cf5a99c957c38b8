//! Models: an ONNX runtime for classic ML, the model registry, and evaluation.
//!
//! [`Model::load`] reads an ONNX file and picks one of two engines behind one
//! [`Model::predict`]:
//! - graphs with ai.onnx.ml ops (everything scikit-learn exports through skl2onnx) run in
//!   Lathe's own evaluator (`ops`, [`trees`]): flat node arrays, batched, parallel over row
//!   blocks with rayon, reproducing onnxruntime's arithmetic (see `trees` for the binary
//!   classifier rules tract gets wrong);
//! - graphs of standard ops only (neural networks, MatMul/Gemm pipelines) run in tract.
//!
//! A graph with an op neither engine runs is refused naming the op. Parsed tree ensembles stay
//! reachable through [`Model::trees`] for explanations.

pub(crate) mod attrs;
pub mod chart;
pub mod eval;
pub(crate) mod onnx;
pub(crate) mod ops;
pub mod registry;
pub mod tensor;
pub mod trees;

use std::sync::Arc;

use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tract_onnx::pb;
use tract_onnx::prelude::{
    Datum, Framework, InferenceFact, InferenceModelExt, IntoRunnable, TypedRunnableModel,
};

use self::onnx::{Graph, GraphError};
use self::tensor::{Data, Tensor, elem_type_name};
use self::trees::TreeEnsemble;
use crate::{Error, Result};

/// Which engine runs a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ModelRuntime"))]
#[serde(rename_all = "snake_case")]
pub enum Runtime {
    /// Lathe's evaluator of classic ML graphs.
    Native,
    /// tract, for standard ONNX ops.
    Tract,
}

/// A graph input or output as the file declares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ValueSignature {
    pub name: String,
    /// `float32`, `int64`, `string`, ...; `map` for ZipMap's sequence of maps.
    pub dtype: String,
    /// Dimensions; `None` where the file leaves one open (the batch).
    pub shape: Vec<Option<i64>>,
}

/// What a model takes and gives, and what runs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ModelSignature"))]
pub struct Signature {
    pub inputs: Vec<ValueSignature>,
    pub outputs: Vec<ValueSignature>,
    /// Every op of the graph, `domain:Op` (`ai.onnx` for the standard domain), sorted.
    pub ops: Vec<String>,
    /// `domain=version` of each imported operator set.
    pub opsets: Vec<String>,
    pub producer: String,
    pub runtime: Runtime,
}

/// How feature columns map onto the graph inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// One [N, F] input.
    Matrix { width: Option<usize> },
    /// One [N, 1] (or [N]) input per feature.
    PerFeature,
}

enum Engine {
    Native(Graph),
    Tract(Arc<TypedRunnableModel>),
}

/// A model's scores as an affine function of its inputs (see [`Model::linear_form`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearForm {
    /// `targets × width`, row-major: score `t` = `weights[t] · x + intercepts[t]`.
    pub weights: Vec<f64>,
    pub intercepts: Vec<f64>,
    pub targets: usize,
    pub width: usize,
}

impl LinearForm {
    /// Score `t` alone (a binary classifier's positive class, whose probability is the
    /// logistic of its own score).
    pub fn only(&self, t: usize) -> LinearForm {
        LinearForm {
            weights: self.weights[t * self.width..(t + 1) * self.width].to_vec(),
            intercepts: vec![self.intercepts[t]],
            targets: 1,
            width: self.width,
        }
    }

    /// The same affine map as a one-layer network with `activation` (the identity, a
    /// logistic link on one score, a softmax over several), for the network fast paths.
    pub fn as_dense(&self, activation: Activation) -> DenseForm {
        let (w, t) = (self.width, self.targets);
        let mut weights = vec![0.0f64; w * t];
        for k in 0..t {
            for j in 0..w {
                weights[j * t + k] = self.weights[k * w + j];
            }
        }
        DenseForm {
            offset: vec![0.0; w],
            scale: vec![1.0; w],
            layers: vec![DenseLayer {
                weights,
                bias: self.intercepts.clone(),
                bias_set: true,
                outputs: t,
                activation,
            }],
        }
    }
}

/// An activation of a [`DenseLayer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    None,
    Relu,
    Tanh,
    Sigmoid,
    Softmax,
}

/// One `x · W + b` layer (W is `inputs × outputs`, row-major, as MatMul's second operand).
#[derive(Debug, Clone, PartialEq)]
pub struct DenseLayer {
    pub weights: Vec<f64>,
    pub bias: Vec<f64>,
    bias_set: bool,
    pub outputs: usize,
    pub activation: Activation,
}

/// A feed-forward network read off a graph (see [`Model::dense_form`]): the input is first
/// scaled as `(x − offset) · scale`.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseForm {
    pub offset: Vec<f64>,
    pub scale: Vec<f64>,
    pub layers: Vec<DenseLayer>,
}

/// A loaded model, ready to predict.
pub struct Model {
    engine: Engine,
    signature: Signature,
    layout: Layout,
    trees: Vec<Arc<TreeEnsemble>>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("signature", &self.signature)
            .finish_non_exhaustive()
    }
}

fn bad_model(what: &str, detail: impl std::fmt::Display) -> Error {
    Error::BadArgument {
        argument: "model",
        detail: format!("{what}: {detail}"),
    }
}

fn value_signature(v: &pb::ValueInfoProto, map_outputs: &[&str]) -> ValueSignature {
    use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
    use tract_onnx::pb::type_proto::Value as Ty;
    match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(Ty::TensorType(t)) => ValueSignature {
            name: v.name.clone(),
            dtype: elem_type_name(t.elem_type).to_owned(),
            shape: t.shape.as_ref().map_or_else(Vec::new, |s| {
                s.dim
                    .iter()
                    .map(|d| match d.value {
                        Some(Dim::DimValue(n)) if n > 0 => Some(n),
                        _ => None,
                    })
                    .collect()
            }),
        },
        None => ValueSignature {
            name: v.name.clone(),
            dtype: if map_outputs.contains(&v.name.as_str()) {
                "map"
            } else {
                "unknown"
            }
            .to_owned(),
            shape: vec![None],
        },
    }
}

impl Model {
    /// Reads a model from the bytes of an ONNX file; `what` names it in errors.
    pub fn load(bytes: &[u8], what: &str) -> Result<Model> {
        let proto = onnx::decode(bytes, what)?;
        let Some(graph) = proto.graph.as_ref() else {
            return Err(bad_model(what, "no graph"));
        };
        if let Some(output) = unproduced_output(graph) {
            return Err(bad_model(
                what,
                format!(
                    "the graph's output '{output}' is made by no node, input or initializer: the file is malformed"
                ),
            ));
        }
        let opsets: Vec<(String, i64)> = proto
            .opset_import
            .iter()
            .map(|o| (o.domain.clone(), o.version))
            .collect();
        let mut ops: Vec<String> = graph
            .node
            .iter()
            .map(|n| {
                let domain = if n.domain.is_empty() {
                    "ai.onnx"
                } else {
                    &n.domain
                };
                format!("{domain}:{}", n.op_type)
            })
            .collect();
        ops.sort_unstable();
        ops.dedup();
        let map_outputs: Vec<&str> = graph
            .node
            .iter()
            .filter(|n| n.op_type == "ZipMap")
            .flat_map(|n| n.output.iter().map(String::as_str))
            .collect();
        let initialized: std::collections::HashSet<&str> =
            graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let inputs: Vec<ValueSignature> = graph
            .input
            .iter()
            .filter(|i| !initialized.contains(i.name.as_str()))
            .map(|i| value_signature(i, &map_outputs))
            .collect();
        let outputs: Vec<ValueSignature> = graph
            .output
            .iter()
            .map(|o| value_signature(o, &map_outputs))
            .collect();
        let layout = layout_of(&inputs, what)?;
        let classic = graph.node.iter().any(|n| n.domain == "ai.onnx.ml");
        let (engine, runtime) = if classic {
            (
                Engine::Native(native(graph, &opsets, what)?),
                Runtime::Native,
            )
        } else {
            match tract_plan(&proto, &inputs) {
                Ok(plan) => (Engine::Tract(plan), Runtime::Tract),
                Err(tract_error) => match Graph::build(graph, &opsets) {
                    Ok(g) => (Engine::Native(g), Runtime::Native),
                    Err(_) => {
                        return Err(bad_model(
                            what,
                            format!(
                                "tract cannot run this graph ({tract_error}), and it uses ops Lathe's own evaluator does not run; nothing was registered"
                            ),
                        ));
                    }
                },
            }
        };
        let trees = match &engine {
            Engine::Native(g) => g
                .nodes
                .iter()
                .filter_map(|n| n.op.trees().cloned())
                .collect(),
            Engine::Tract(_) => Vec::new(),
        };
        let signature = Signature {
            inputs,
            outputs,
            ops,
            opsets: opsets
                .iter()
                .map(|(d, v)| format!("{}={v}", if d.is_empty() { "ai.onnx" } else { d }))
                .collect(),
            producer: format!("{} {}", proto.producer_name, proto.producer_version)
                .trim()
                .to_owned(),
            runtime,
        };
        Ok(Model {
            engine,
            signature,
            layout,
            trees,
        })
    }

    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The tree ensembles of the graph, in node order (empty for other models).
    pub fn trees(&self) -> &[Arc<TreeEnsemble>] {
        &self.trees
    }

    /// How many feature columns the model takes, when the file says.
    pub fn feature_count(&self) -> Option<usize> {
        match self.layout {
            Layout::Matrix { width } => width,
            Layout::PerFeature => Some(self.signature.inputs.len()),
        }
    }

    /// Input names, when the model takes one input per feature (they name the features).
    pub fn input_feature_names(&self) -> Option<Vec<String>> {
        (self.layout == Layout::PerFeature).then(|| {
            self.signature
                .inputs
                .iter()
                .map(|i| i.name.clone())
                .collect()
        })
    }

    /// The class labels in the order of the probability columns, when the graph says: the
    /// labels of its classifier op, its ZipMap, or the ArrayFeatureExtractor that maps an argmax
    /// to labels (as skl2onnx writes for MLPs); the first found, in node order.
    pub fn class_labels(&self) -> Option<tensor::Labels> {
        let Engine::Native(g) = &self.engine else {
            return None;
        };
        g.nodes.iter().find_map(|n| match &n.op {
            ops::Op::LinearClassifier { labels, .. } | ops::Op::ZipMap { labels } => {
                Some(labels.clone())
            }
            ops::Op::Trees { trees, .. } => trees.classifier.as_ref().map(|c| c.labels.clone()),
            ops::Op::ArrayFeatureExtractor => {
                let c = n.inputs.first().copied().flatten()?;
                match &g.constants[c].as_ref()?.data {
                    Data::I64(v) => Some(tensor::Labels::Int(v.clone())),
                    Data::Str(v) => Some(tensor::Labels::Str(v.clone())),
                    _ => None,
                }
            }
            _ => None,
        })
    }

    /// Runs the graph once on tensors given in graph-input order, in the calling thread.
    pub fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>> {
        match &self.engine {
            Engine::Native(g) => g.run(inputs),
            Engine::Tract(plan) => run_tract(plan, inputs),
        }
    }

    /// Predicts rows of features (row-major `rows × width`, `width` = the model's feature
    /// count), in parallel over blocks of rows on the current rayon pool. Returns the outputs
    /// in the graph's order with their names.
    pub fn predict(&self, x: &[f32], width: usize) -> Result<Prediction> {
        if let Some(expected) = self.feature_count()
            && expected != width
        {
            return Err(Error::BadArgument {
                argument: "features",
                detail: format!(
                    "the model takes {expected} features, the data give {width}; pass the model's features in order with --features"
                ),
            });
        }
        if width == 0 {
            return Err(Error::BadArgument {
                argument: "features",
                detail: "no feature columns".to_owned(),
            });
        }
        let rows = x.len() / width;
        if let Some(i) = x.iter().position(|v| v.is_nan()) {
            return Err(Error::BadArgument {
                argument: "data",
                detail: format!(
                    "row {} has a missing value (NaN) in feature {}; Lathe does not guess values for the model: impute or drop such rows first",
                    i / width + 1,
                    i % width + 1
                ),
            });
        }
        let threads = rayon::current_num_threads().max(1);
        let block = (rows / (threads * 4)).clamp(1024, 16_384);
        let outputs = if rows <= block {
            self.run(self.feed(x, rows, width)?)?
        } else {
            let parts: Vec<Vec<Tensor>> = x
                .par_chunks(block * width)
                .map(|chunk| self.run(self.feed(chunk, chunk.len() / width, width)?))
                .collect::<Result<_>>()?;
            let n_out = parts.first().map_or(0, Vec::len);
            let mut columns: Vec<Vec<Tensor>> = (0..n_out).map(|_| Vec::new()).collect();
            for part in parts {
                for (i, t) in part.into_iter().enumerate() {
                    columns[i].push(t);
                }
            }
            columns
                .into_iter()
                .map(Tensor::concat_rows)
                .collect::<Result<_>>()?
        };
        Ok(Prediction {
            rows,
            outputs: self
                .signature
                .outputs
                .iter()
                .map(|o| o.name.clone())
                .zip(outputs)
                .collect(),
        })
    }

    /// Predicts a block of rows in the calling thread (explanations parallelise above it).
    pub fn predict_here(&self, x: &[f32], width: usize) -> Result<Vec<Tensor>> {
        let rows = x.len() / width.max(1);
        self.run(self.feed(x, rows, width)?)
    }

    /// The model as an affine function of its input matrix, when it is one: a chain of Cast
    /// (to a float type), Identity and at most one Scaler ending in a LinearClassifier or
    /// LinearRegressor, each the only reader of the value before it. Linear SHAP explains its
    /// scores (the margin, before the op's post transform).
    pub fn linear_form(&self) -> Option<LinearForm> {
        let Engine::Native(g) = &self.engine else {
            return None;
        };
        let [mut slot] = g.inputs[..] else {
            return None;
        };
        let mut affine: Option<(&[f32], &[f32])> = None;
        loop {
            let node = only_reader(g, slot)?;
            if g.outputs.contains(&slot) {
                return None;
            }
            let compose = |coefficients: &[f32], intercepts: &[f32], targets: usize| {
                let width = coefficients.len() / targets.max(1);
                let mut weights = vec![0.0f64; coefficients.len()];
                let mut icpt: Vec<f64> = intercepts.iter().map(|&v| f64::from(v)).collect();
                icpt.resize(targets, 0.0);
                for t in 0..targets {
                    for j in 0..width {
                        let c = f64::from(coefficients[t * width + j]);
                        let (off, sc) = match affine {
                            Some((o, s)) => (scaler_at(o, j, 0.0), scaler_at(s, j, 1.0)),
                            None => (0.0, 1.0),
                        };
                        weights[t * width + j] = c * sc;
                        icpt[t] -= c * sc * off;
                    }
                }
                LinearForm {
                    weights,
                    intercepts: icpt,
                    targets,
                    width,
                }
            };
            match &node.op {
                ops::Op::Identity | ops::Op::Cast { to: 1 | 10 | 11 } => {}
                ops::Op::Scaler { offset, scale } if affine.is_none() => {
                    affine = Some((offset, scale));
                }
                ops::Op::LinearClassifier {
                    coefficients,
                    intercepts,
                    ..
                } => return Some(compose(coefficients, intercepts, intercepts.len().max(1))),
                ops::Op::LinearRegressor {
                    coefficients,
                    intercepts,
                    targets,
                    ..
                } => return Some(compose(coefficients, intercepts, *targets)),
                _ => return None,
            }
            slot = node.outputs.first().copied().flatten()?;
        }
    }

    /// The model as a feed-forward network over its input matrix, when the graph starts as
    /// one: an optional Scaler, then MatMul (+ Add) layers with Relu/Tanh/Sigmoid/Softmax
    /// activations, Casts and Identities in between, each node the only reader of the value
    /// before it. The chain stops at the first node that is not one of these; what it computed
    /// is the network's output (the caller checks it against the model's own output).
    /// Explanations evaluate it row by row without the graph's per-op overhead.
    pub fn dense_form(&self) -> Option<DenseForm> {
        let Engine::Native(g) = &self.engine else {
            return None;
        };
        let [mut slot] = g.inputs[..] else {
            return None;
        };
        let width = self.feature_count()?;
        let mut form = DenseForm {
            offset: vec![0.0; width],
            scale: vec![1.0; width],
            layers: Vec::new(),
        };
        let constant = |node: &onnx::Node, not: usize| -> Option<&Tensor> {
            node.inputs
                .iter()
                .flatten()
                .find(|&&i| i != not)
                .and_then(|&i| g.constants[i].as_ref())
        };
        while let Some(node) = only_reader(g, slot) {
            let last = form.layers.last_mut();
            match (&node.op, last) {
                (ops::Op::Identity | ops::Op::Cast { to: 1 | 10 | 11 }, _) => {}
                (ops::Op::Scaler { offset, scale }, None) => {
                    for j in 0..width {
                        form.offset[j] = scaler_at(offset, j, 0.0);
                        form.scale[j] = scaler_at(scale, j, 1.0);
                    }
                }
                (ops::Op::MatMul, last) => {
                    let b = constant(node, slot)?;
                    let inputs = last.map_or(width, |l| l.outputs);
                    if b.shape.len() != 2
                        || b.shape[0] != inputs
                        || node.inputs.first() != Some(&Some(slot))
                    {
                        return None;
                    }
                    let outputs = b.shape[1];
                    form.layers.push(DenseLayer {
                        weights: b.to_f64("MatMul").ok()?,
                        bias: vec![0.0; outputs],
                        bias_set: false,
                        outputs,
                        activation: Activation::None,
                    });
                }
                (ops::Op::Binary(ops::Binary::Add), Some(l))
                    if !l.bias_set && l.activation == Activation::None =>
                {
                    let b = constant(node, slot)?;
                    if b.len() != l.outputs {
                        return None;
                    }
                    l.bias = b.to_f64("Add").ok()?;
                    l.bias_set = true;
                }
                (ops::Op::Unary(u), Some(l)) if l.activation == Activation::None => {
                    l.activation = match u {
                        ops::Unary::Relu => Activation::Relu,
                        ops::Unary::Tanh => Activation::Tanh,
                        ops::Unary::Sigmoid => Activation::Sigmoid,
                        _ => return None,
                    };
                }
                (ops::Op::Softmax { axis: -1 | 1 }, Some(l))
                    if l.activation == Activation::None =>
                {
                    l.activation = Activation::Softmax;
                }
                _ => break,
            }
            let Some(next) = node.outputs.first().copied().flatten() else {
                break;
            };
            slot = next;
        }
        (!form.layers.is_empty()).then_some(form)
    }

    /// The graph inputs for a block of rows.
    fn feed(&self, x: &[f32], rows: usize, width: usize) -> Result<Vec<Tensor>> {
        let convert = |values: Vec<f32>,
                       shape: Vec<usize>,
                       sig: &ValueSignature|
         -> Result<Tensor> {
            let data = match sig.dtype.as_str() {
                "float32" | "unknown" => Data::F32(values),
                "float64" => Data::F64(values.into_iter().map(f64::from).collect()),
                "int64" | "int32" => Data::I64(values.into_iter().map(|v| v as i64).collect()),
                other => {
                    return Err(Error::BadArgument {
                        argument: "data",
                        detail: format!(
                            "the model's input {:?} takes {other} values; Lathe feeds numeric feature columns",
                            sig.name
                        ),
                    });
                }
            };
            Tensor::new(shape, data)
        };
        match self.layout {
            Layout::Matrix { .. } => {
                let sig = &self.signature.inputs[0];
                Ok(vec![convert(x.to_vec(), vec![rows, width], sig)?])
            }
            Layout::PerFeature => self
                .signature
                .inputs
                .iter()
                .enumerate()
                .map(|(j, sig)| {
                    let col: Vec<f32> = (0..rows).map(|r| x[r * width + j]).collect();
                    let shape = if sig.shape.len() == 1 {
                        vec![rows]
                    } else {
                        vec![rows, 1]
                    };
                    convert(col, shape, sig)
                })
                .collect(),
        }
    }
}

/// The one node reading `slot`, if exactly one does (the chains of `linear_form` and
/// `dense_form` follow those).
fn only_reader(g: &Graph, slot: usize) -> Option<&onnx::Node> {
    let mut readers = g.nodes.iter().filter(|n| n.inputs.contains(&Some(slot)));
    let node = readers.next()?;
    readers.next().is_none().then_some(node)
}

/// A Scaler's offset or scale for feature `j` (one value broadcasts to all).
fn scaler_at(values: &[f32], j: usize, default: f32) -> f64 {
    f64::from(*values.get(j).or(values.first()).unwrap_or(&default))
}

fn layout_of(inputs: &[ValueSignature], what: &str) -> Result<Layout> {
    match inputs {
        [] => Err(bad_model(what, "the graph takes no inputs")),
        [one] if one.shape.len() == 2 && one.shape[1] != Some(1) => Ok(Layout::Matrix {
            width: one.shape[1].map(|w| w as usize),
        }),
        [one] if one.shape.len() == 2 => Ok(Layout::Matrix { width: Some(1) }),
        many if many
            .iter()
            .all(|i| i.shape.len() == 1 || (i.shape.len() == 2 && i.shape[1] == Some(1))) =>
        {
            Ok(Layout::PerFeature)
        }
        _ => Err(bad_model(
            what,
            format!(
                "Lathe feeds tabular rows: one [N, features] input or one [N, 1] input per feature; this graph takes {}",
                inputs
                    .iter()
                    .map(|i| format!("{} {:?}", i.name, i.shape))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

fn native(graph: &pb::GraphProto, opsets: &[(String, i64)], what: &str) -> Result<Graph> {
    Graph::build(graph, opsets).map_err(|e| match e {
        GraphError::Unsupported(ops) => bad_model(
            what,
            format!(
                "it uses {} that Lathe cannot run ({}); nothing was registered. Lathe runs the classic ai.onnx.ml ops (Scaler, Normalizer, Imputer, Binarizer, OneHotEncoder, LabelEncoder, ZipMap, ArrayFeatureExtractor, FeatureVectorizer, Linear*, TreeEnsemble*) mixed with common standard ops, and graphs of standard ops only through tract",
                if ops.len() == 1 { "an op" } else { "ops" },
                ops.join(", ")
            ),
        ),
        GraphError::Other(e) => match e {
            Error::Compute { detail, .. } => bad_model(what, detail),
            other => other,
        },
    })
}

/// A graph output that nothing makes (the ONNX runtime looks it up without checking: the
/// hostile-input tests found the panic).
fn unproduced_output(graph: &pb::GraphProto) -> Option<&str> {
    let made: std::collections::HashSet<&str> = graph
        .input
        .iter()
        .map(|v| v.name.as_str())
        .chain(graph.initializer.iter().map(|t| t.name.as_str()))
        .chain(
            graph
                .node
                .iter()
                .flat_map(|n| n.output.iter().map(String::as_str)),
        )
        .collect();
    graph
        .output
        .iter()
        .map(|o| o.name.as_str())
        .find(|o| !made.contains(o))
}

fn tract_plan(
    proto: &pb::ModelProto,
    inputs: &[ValueSignature],
) -> std::result::Result<Arc<TypedRunnableModel>, String> {
    let run = || -> tract_onnx::prelude::TractResult<Arc<TypedRunnableModel>> {
        let mut model = tract_onnx::onnx().model_for_proto_model(proto)?;
        let n = model.sym("N");
        for (i, sig) in inputs.iter().enumerate() {
            let dims: Vec<tract_onnx::prelude::TDim> = sig
                .shape
                .iter()
                .enumerate()
                .map(|(k, d)| match d {
                    Some(v) => (*v).into(),
                    None if k == 0 => n.clone().into(),
                    None => 1i64.into(),
                })
                .collect();
            let fact = match sig.dtype.as_str() {
                "float64" => InferenceFact::dt_shape(f64::datum_type(), dims),
                "int64" => InferenceFact::dt_shape(i64::datum_type(), dims),
                _ => InferenceFact::dt_shape(f32::datum_type(), dims),
            };
            model.set_input_fact(i, fact)?;
        }
        model.into_optimized()?.into_runnable()
    };
    // tract indexes its own maps without checking on some malformed graphs (the hostile-input
    // tests found one, an output nothing makes, now refused before: `unproduced_output`): a
    // panic of the runtime on a file is the file's fault, reported as such, not the end of the
    // process.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(planned) => planned.map_err(|e| format!("{e:#}")),
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(format!(
                "the ONNX runtime cannot read this graph ({why}): the file is malformed"
            ))
        }
    }
}

fn run_tract(plan: &Arc<TypedRunnableModel>, inputs: Vec<Tensor>) -> Result<Vec<Tensor>> {
    use tract_onnx::prelude::{IntoTValue, Tensor as TTensor, tvec};
    let err = |e: tract_onnx::prelude::TractError| Error::Compute {
        context: "cannot run the model",
        detail: format!("{e:#}"),
    };
    let mut feed = tvec!();
    for t in inputs {
        let tt = match &t.data {
            Data::F32(v) => TTensor::from_shape(&t.shape, v),
            Data::F64(v) => TTensor::from_shape(&t.shape, v),
            Data::I64(v) => TTensor::from_shape(&t.shape, v),
            _ => return Err(tensor::op_error("tract", "inputs must be numbers")),
        }
        .map_err(err)?;
        feed.push(tt.into_tvalue());
    }
    let outs = plan.run(feed).map_err(err)?;
    outs.into_iter()
        .map(|o| {
            let shape = o.shape().to_vec();
            let dt = o.datum_type();
            let data = if dt == f32::datum_type() {
                Data::F32(
                    o.to_plain_array_view::<f32>()
                        .map_err(err)?
                        .iter()
                        .copied()
                        .collect(),
                )
            } else if dt == f64::datum_type() {
                Data::F64(
                    o.to_plain_array_view::<f64>()
                        .map_err(err)?
                        .iter()
                        .copied()
                        .collect(),
                )
            } else if dt == i64::datum_type() {
                Data::I64(
                    o.to_plain_array_view::<i64>()
                        .map_err(err)?
                        .iter()
                        .copied()
                        .collect(),
                )
            } else {
                let c = o.cast_to::<f32>().map_err(err)?;
                Data::F32(
                    c.to_plain_array_view::<f32>()
                        .map_err(err)?
                        .iter()
                        .copied()
                        .collect(),
                )
            };
            Tensor::new(shape, data)
        })
        .collect()
}

/// What [`Model::predict`] returns: every output of the graph, by name, in the graph's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub rows: usize,
    pub outputs: Vec<(String, Tensor)>,
}

impl Prediction {
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.outputs.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// `{"outputs": {NAME: values}}`, values nested by the output's shape (ZipMap outputs as a
    /// list of `{label: probability}`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (name, t) in &self.outputs {
            map.insert(name.clone(), tensor_json(t));
        }
        serde_json::json!({ "rows": self.rows, "outputs": map })
    }

    /// One CSV column per output value: `NAME` for one value per row, `NAME_j` (or
    /// `NAME_LABEL` for ZipMap outputs) for several.
    pub fn to_csv(&self) -> String {
        let mut header = Vec::new();
        let mut cells: Vec<Box<dyn Fn(usize) -> String + '_>> = Vec::new();
        for (name, t) in &self.outputs {
            let w = if t.shape.len() <= 1 { 1 } else { t.row_len() };
            for j in 0..w {
                header.push(match (&t.data, w) {
                    (Data::Map { keys, .. }, _) => format!("{name}_{}", keys.text(j)),
                    (_, 1) => name.clone(),
                    _ => format!("{name}_{j}"),
                });
                cells.push(Box::new(move |r: usize| cell(t, r * w + j)));
            }
        }
        let mut out = String::new();
        out.push_str(
            &header
                .iter()
                .map(|h| csv_field(h))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
        for r in 0..self.rows {
            let row: Vec<String> = cells.iter().map(|c| c(r)).collect();
            out.push_str(&row.join(","));
            out.push('\n');
        }
        out
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn cell(t: &Tensor, i: usize) -> String {
    match &t.data {
        Data::F32(v) => v.get(i).map_or_else(String::new, |x| x.to_string()),
        Data::F64(v) => v.get(i).map_or_else(String::new, |x| x.to_string()),
        Data::I64(v) => v.get(i).map_or_else(String::new, |x| x.to_string()),
        Data::Str(v) => v.get(i).map_or_else(String::new, |x| csv_field(x)),
        Data::Map { values, .. } => values.get(i).map_or_else(String::new, |x| x.to_string()),
    }
}

fn tensor_json(t: &Tensor) -> serde_json::Value {
    use serde_json::Value;
    let flat: Vec<Value> = match &t.data {
        Data::F32(v) => v.iter().map(|&x| Value::from(f64::from(x))).collect(),
        Data::F64(v) => v.iter().map(|&x| Value::from(x)).collect(),
        Data::I64(v) => v.iter().map(|&x| Value::from(x)).collect(),
        Data::Str(v) => v.iter().map(|x| Value::from(x.as_str())).collect(),
        Data::Map { keys, values } => {
            let c = keys.len().max(1);
            return Value::Array(
                values
                    .chunks(c)
                    .map(|row| {
                        Value::Object(
                            row.iter()
                                .enumerate()
                                .map(|(j, &p)| (keys.text(j), Value::from(f64::from(p))))
                                .collect(),
                        )
                    })
                    .collect(),
            );
        }
    };
    fn nest(values: &[Value], shape: &[usize]) -> Value {
        match shape {
            [] | [_] => Value::Array(values.to_vec()),
            [_, rest @ ..] => {
                let w: usize = rest.iter().product::<usize>().max(1);
                Value::Array(values.chunks(w).map(|c| nest(c, rest)).collect())
            }
        }
    }
    if t.shape.is_empty() {
        return flat.into_iter().next().unwrap_or(Value::Null);
    }
    nest(&flat, &t.shape)
}

/// Feature columns of a table as a row-major f32 matrix, in `features` order. Every column
/// must be numeric (or boolean); a missing value is an error naming the column and the row.
pub fn feature_matrix(frame: &DataFrame, features: &[String]) -> Result<Vec<f32>> {
    feature_matrix_at(frame, features, 0)
}

/// [`feature_matrix`] of a slice of a table whose first row is row `first_row` of the table
/// (which errors name).
pub fn feature_matrix_at(
    frame: &DataFrame,
    features: &[String],
    first_row: usize,
) -> Result<Vec<f32>> {
    let mut x = vec![0.0f32; frame.height() * features.len()];
    read_features(frame, features, first_row, |i, v| x[i] = v as f32)?;
    Ok(x)
}

/// The same matrix in f64, the values as the table holds them (explanations build grids and
/// report data from these; the model is fed the f32 matrix).
pub fn feature_values(frame: &DataFrame, features: &[String]) -> Result<Vec<f64>> {
    feature_values_at(frame, features, 0)
}

/// [`feature_values`] of a slice whose first row is row `first_row` of the table.
pub fn feature_values_at(
    frame: &DataFrame,
    features: &[String],
    first_row: usize,
) -> Result<Vec<f64>> {
    let mut x = vec![0.0f64; frame.height() * features.len()];
    read_features(frame, features, first_row, |i, v| x[i] = v)?;
    Ok(x)
}

/// Reads the feature columns, checked, handing each value to `put` at its row-major index.
fn read_features(
    frame: &DataFrame,
    features: &[String],
    first_row: usize,
    mut put: impl FnMut(usize, f64),
) -> Result<()> {
    let width = features.len();
    for (j, name) in features.iter().enumerate() {
        let column = frame.column(name).map_err(|_| Error::BadArgument {
            argument: "features",
            detail: format!(
                "the data have no column {name:?} (the model's feature {}); the columns are: {}",
                j + 1,
                frame
                    .get_column_names()
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
        let dtype = column.dtype();
        // A column with no values at all has no type to speak of: report its missing values.
        let empty = column.null_count() == column.len();
        if !(dtype.is_primitive_numeric() || dtype.is_bool() || empty) {
            return Err(Error::BadArgument {
                argument: "features",
                detail: format!(
                    "feature column {name:?} holds {dtype} values; the model takes numbers (encode it first, or leave it out of --features)"
                ),
            });
        }
        let cast = column
            .cast(&DataType::Float64)
            .map_err(|e| Error::Compute {
                context: "cannot read the features",
                detail: e.to_string(),
            })?;
        let values = cast.f64().map_err(|e| Error::Compute {
            context: "cannot read the features",
            detail: e.to_string(),
        })?;
        for (r, v) in values.iter().enumerate() {
            match v {
                Some(v) if !v.is_nan() => put(r * width + j, v),
                _ => {
                    return Err(Error::BadArgument {
                        argument: "data",
                        detail: format!(
                            "row {} has no value (null or NaN) in feature {name:?}; Lathe does not guess values for the model: impute or drop such rows first",
                            first_row + r + 1
                        ),
                    });
                }
            }
        }
    }
    Ok(())
}
