//! Reading ONNX files: the protobuf (tract-onnx's generated types), attributes, initializers,
//! and the graph Lathe's own evaluator runs.

use prost::Message;
use tract_onnx::pb;

use super::attrs::OpError;
use super::ops::Op;
use super::tensor::{Tensor, op_error, tensor_from_proto};
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
