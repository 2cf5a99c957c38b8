//! What an op reads of its node, and how it fails: the node's attributes by name, and the
//! op error that tells "not supported here" (the graph goes to another engine) from a bad model.
//! Below `onnx.rs`, `ops.rs` and `trees.rs`, so that none of them imports another's helpers.

use tract_onnx::pb;

use super::tensor::{Labels, Tensor, tensor_from_proto};
use crate::{Error, Result};

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
