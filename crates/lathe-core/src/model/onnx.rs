//! Reading ONNX files: the protobuf (tract-onnx's generated types), attributes, initializers,
//! and the graph Lathe's own evaluator runs.

use prost::Message;
use tract_onnx::pb;

use super::ops::Op;
use super::tensor::{Data, Labels, Tensor, op_error};
use crate::{Error, Result};

/// Decodes an ONNX file's bytes. `what` names the file in errors.
pub(crate) fn decode(bytes: &[u8], what: &str) -> Result<pb::ModelProto> {
    let bad = |detail: String| Error::BadArgument {
        argument: "model",
        detail: format!("{what} is not a readable ONNX model: {detail}"),
    };
    if bytes.is_empty() {
        return Err(bad("the file is empty".to_owned()));
    }
    let model = pb::ModelProto::decode(bytes).map_err(|e| {
        bad(format!(
            "{e} (a truncated download, or not an .onnx file; re-export the model)"
        ))
    })?;
    let Some(graph) = model.graph.as_ref() else {
        return Err(bad("it has no graph".to_owned()));
    };
    if graph.output.is_empty() || graph.input.is_empty() {
        return Err(bad("its graph has no inputs or no outputs".to_owned()));
    }
    if model.ir_version <= 0 || model.opset_import.is_empty() {
        return Err(bad(
            "it declares no IR version or operator sets (is it really ONNX?)".to_owned(),
        ));
    }
    Ok(model)
}

/// A node's attributes, by name.
#[derive(Debug)]
pub(crate) struct Attrs<'a>(pub &'a [pb::AttributeProto]);

impl<'a> Attrs<'a> {
    fn get(&self, name: &str) -> Option<&'a pb::AttributeProto> {
        self.0.iter().find(|a| a.name == name)
    }
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).map(|a| a.i)
    }
    pub fn float(&self, name: &str) -> Option<f32> {
        self.get(name).map(|a| a.f)
    }
    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }
    pub fn ints(&self, name: &str) -> &'a [i64] {
        self.get(name).map_or(&[], |a| a.ints.as_slice())
    }
    pub fn floats(&self, name: &str) -> &'a [f32] {
        self.get(name).map_or(&[], |a| a.floats.as_slice())
    }
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.get(name).map_or_else(Vec::new, |a| {
            a.strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
    }
    pub fn tensor(&self, name: &str) -> Result<Option<Tensor>> {
        match self.get(name).and_then(|a| a.t.as_ref()) {
            Some(t) => tensor_from_proto(t).map(Some),
            None => Ok(None),
        }
    }
    /// A float list, or its double `_as_tensor` variant.
    pub fn floats_or_tensor(&self, name: &str, tensor_name: &str) -> Result<Vec<f32>> {
        if let Some(t) = self.tensor(tensor_name)? {
            return t.to_f32(tensor_name);
        }
        Ok(self.floats(name).to_vec())
    }
    pub fn tensor_f32(&self, name: &str) -> Result<Vec<f32>> {
        match self.tensor(name)? {
            Some(t) => t.to_f32(name),
            None => Ok(self.floats(name).to_vec()),
        }
    }
    pub fn tensor_i64(&self, name: &str) -> Result<Vec<i64>> {
        match self.tensor(name)? {
            Some(t) => t.to_i64(name),
            None => Ok(self.ints(name).to_vec()),
        }
    }
    /// `{prefix}_int64s` (or `_ints`) or `{prefix}_strings`.
    pub fn labels(&self, prefix: &str) -> Result<Option<Labels>> {
        // LinearClassifier says `classlabels_ints`, the others `..._int64s`.
        let mut ints = self.ints(&format!("{prefix}_int64s"));
        if ints.is_empty() {
            ints = self.ints(&format!("{prefix}_ints"));
        }
        let strings = self.strings(&format!("{prefix}_strings"));
        Ok(if !strings.is_empty() {
            Some(Labels::Str(strings))
        } else if !ints.is_empty() {
            Some(Labels::Int(ints.to_vec()))
        } else {
            None
        })
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

/// One node of the graph, its values addressed by slot.
#[derive(Debug)]
pub(crate) struct Node {
    pub name: String,
    pub op: Op,
    pub inputs: Vec<Option<usize>>,
    pub outputs: Vec<Option<usize>>,
}

/// A graph ready for the native evaluator.
#[derive(Debug)]
pub(crate) struct Graph {
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
    /// Initializers by slot.
    pub constants: Vec<Option<Tensor>>,
    pub nodes: Vec<Node>,
    pub names: Vec<String>,
    /// Per slot: the last node reading it (values are dropped after it); `usize::MAX` for
    /// graph outputs.
    pub last_use: Vec<usize>,
}

impl Graph {
    /// Builds the graph, parsing every node's op; the first op the evaluator does not run is
    /// returned as `Err(op name)` through the `unsupported` list instead of failing.
    pub fn build(graph: &pb::GraphProto, opsets: &[(String, i64)]) -> Result<Graph, GraphError> {
        let mut names: Vec<String> = Vec::new();
        let mut slots = std::collections::HashMap::<String, usize>::new();
        let mut slot = |name: &str, names: &mut Vec<String>| -> usize {
            *slots.entry(name.to_owned()).or_insert_with(|| {
                names.push(name.to_owned());
                names.len() - 1
            })
        };
        let mut constants_at = Vec::new();
        for init in &graph.initializer {
            let s = slot(&init.name, &mut names);
            constants_at.push((s, tensor_from_proto(init).map_err(GraphError::Other)?));
        }
        let initialized: std::collections::HashSet<&str> =
            graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let inputs: Vec<usize> = graph
            .input
            .iter()
            .filter(|i| !initialized.contains(i.name.as_str()))
            .map(|i| slot(&i.name, &mut names))
            .collect();
        let mut nodes = Vec::with_capacity(graph.node.len());
        let mut unsupported = Vec::new();
        for n in &graph.node {
            let version = opsets
                .iter()
                .find(|(d, _)| *d == n.domain || (d.is_empty() && n.domain == "ai.onnx"))
                .map_or(1, |(_, v)| *v);
            let op = match Op::parse(n, version) {
                Ok(op) => op,
                Err(OpError::Unsupported) => {
                    let name = if n.domain.is_empty() || n.domain == "ai.onnx" {
                        n.op_type.clone()
                    } else {
                        format!("{}:{}", n.domain, n.op_type)
                    };
                    if !unsupported.contains(&name) {
                        unsupported.push(name);
                    }
                    continue;
                }
                Err(OpError::Bad(e)) => return Err(GraphError::Other(e)),
            };
            let mut map = |list: &Vec<String>, names: &mut Vec<String>| {
                list.iter()
                    .map(|s| (!s.is_empty()).then(|| slot(s, names)))
                    .collect::<Vec<_>>()
            };
            let inputs = map(&n.input, &mut names);
            let outputs = map(&n.output, &mut names);
            nodes.push(Node {
                name: if n.name.is_empty() {
                    n.op_type.clone()
                } else {
                    format!("{} ({})", n.name, n.op_type)
                },
                op,
                inputs,
                outputs,
            });
        }
        if !unsupported.is_empty() {
            return Err(GraphError::Unsupported(unsupported));
        }
        let outputs: Vec<usize> = graph
            .output
            .iter()
            .map(|o| slot(&o.name, &mut names))
            .collect();
        let mut constants = vec![None; names.len()];
        for (s, t) in constants_at {
            constants[s] = Some(t);
        }
        let mut last_use = vec![0usize; names.len()];
        for (i, node) in nodes.iter().enumerate() {
            for s in node.inputs.iter().flatten() {
                last_use[*s] = i;
            }
        }
        for &o in &outputs {
            last_use[o] = usize::MAX;
        }
        // Every value must be produced before it is read (ONNX requires topological order).
        let mut known = vec![false; names.len()];
        for &s in &inputs {
            known[s] = true;
        }
        for (s, c) in constants.iter().enumerate() {
            if c.is_some() {
                known[s] = true;
            }
        }
        for node in &nodes {
            for s in node.inputs.iter().flatten() {
                if !known[*s] {
                    return Err(GraphError::Other(op_error(
                        &node.name,
                        &format!(
                            "reads {:?} before any node produces it; the graph is not in order or is incomplete",
                            names[*s]
                        ),
                    )));
                }
            }
            for s in node.outputs.iter().flatten() {
                known[*s] = true;
            }
        }
        for &o in &outputs {
            if !known[o] {
                return Err(GraphError::Other(op_error(
                    "graph",
                    &format!("output {:?} is produced by no node", names[o]),
                )));
            }
        }
        Ok(Graph {
            inputs,
            outputs,
            constants,
            nodes,
            names,
            last_use,
        })
    }

    /// Runs the graph on its inputs (in graph-input order); returns the outputs in order.
    pub fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>> {
        let mut values: Vec<Option<Tensor>> = vec![None; self.names.len()];
        for (&s, t) in self.inputs.iter().zip(inputs) {
            values[s] = Some(t);
        }
        for (i, node) in self.nodes.iter().enumerate() {
            let args: Vec<Option<&Tensor>> = node
                .inputs
                .iter()
                .map(|s| s.and_then(|s| values[s].as_ref().or(self.constants[s].as_ref())))
                .collect();
            let results = node.op.run(&args).map_err(|e| match e {
                Error::Compute { context, detail } => Error::Compute {
                    context,
                    detail: format!("node {}: {detail}", node.name),
                },
                other => other,
            })?;
            for s in node.inputs.iter().flatten() {
                if self.last_use[*s] == i {
                    values[*s] = None;
                }
            }
            for (slot, t) in node.outputs.iter().zip(results) {
                if let Some(s) = slot {
                    values[*s] = Some(t);
                }
            }
        }
        self.outputs
            .iter()
            .map(|&s| {
                values[s]
                    .take()
                    .or_else(|| self.constants[s].clone())
                    .ok_or_else(|| {
                        op_error("graph", &format!("no value for output {:?}", self.names[s]))
                    })
            })
            .collect()
    }
}

#[derive(Debug)]
pub(crate) enum GraphError {
    /// Ops the evaluator does not run, as `domain:Op` (plain `Op` for the standard domain).
    Unsupported(Vec<String>),
    Other(Error),
}

#[derive(Debug)]
pub(crate) enum OpError {
    Unsupported,
    Bad(Error),
}

impl From<Error> for OpError {
    fn from(e: Error) -> Self {
        OpError::Bad(e)
    }
}
