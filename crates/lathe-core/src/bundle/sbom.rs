//! `sbom.cdx.json`: the bundle's CycloneDX 1.6 bill of materials. The model file is the BOM's
//! subject (`metadata.component`, a `machine-learning-model` with its SHA-256 and CycloneDX's
//! `modelCard`: task, datasets, inputs and outputs, the evaluation's metrics, the card's intended
//! use and considerations); the datasets it was trained and evaluated on are `data` components
//! by the SHA-256 of their Parquet copy; Lathe is the tool that made it; the runtime the model
//! needs is a `platform` component (ONNX, its operator sets and ops). Written from what the
//! manifest holds, so the same bundle always gets the same bytes (the serial number is derived
//! from the model's and the manifest's content).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::card::CardText;
use super::{DatasetRef, Lineage};
use crate::model::Signature;
use crate::model::registry::ModelVersion;
use crate::{Error, Result};

pub const SBOM: &str = "sbom.cdx.json";

/// What the SBOM describes.
#[derive(Debug)]
pub struct SbomInput<'a> {
    pub version: &'a ModelVersion,
    pub signature: &'a Signature,
    pub lineage: &'a Lineage,
    pub metrics: &'a std::collections::BTreeMap<String, f64>,
    pub card: &'a CardText,
}

/// An RFC 4122 UUID (version 5 layout) from the SHA-256 of `seed`.
fn uuid(seed: &[u8]) -> String {
    let mut b: [u8; 16] = Sha256::digest(seed)[..16].try_into().unwrap_or([0; 16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn dataset(role: &str, d: &DatasetRef) -> Value {
    json!({
        "type": "data",
        "bom-ref": format!("dataset:{role}"),
        "name": d.name,
        "version": d.version.to_string(),
        "description": format!("the {role} dataset (Lathe's Parquet copy)"),
        "hashes": [{"alg": "SHA-256", "content": d.sha256}],
        "data": [{"type": "dataset", "name": format!("{}@{}", d.name, d.version)}],
    })
}

/// A card section's text as one line per paragraph, when written.
fn section(card: &CardText, key: &str) -> Vec<String> {
    card.sections
        .get(key)
        .map(|t| {
            t.split("\n\n")
                .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The SBOM's bytes (pretty JSON).
pub fn sbom(input: &SbomInput) -> Result<Vec<u8>> {
    let v = input.version;
    let roles: Vec<(&str, &DatasetRef)> = [
        ("training", &input.lineage.training_dataset),
        ("evaluation", &input.lineage.evaluation_dataset),
        ("reference", &input.lineage.reference_dataset),
    ]
    .into_iter()
    .filter_map(|(role, d)| d.as_ref().map(|d| (role, d)))
    .collect();
    let mut model_card = json!({
        "modelParameters": {
            "approach": {"type": "supervised"},
            "task": v.task.name(),
            "datasets": roles.iter().map(|(role, _)| json!({"ref": format!("dataset:{role}")})).collect::<Vec<_>>(),
            "inputs": [{"format": format!("tabular: {} numeric features ({})", v.features.len(), v.features.join(", "))}],
            "outputs": input.signature.outputs.iter().map(|o| json!({"format": format!("{} ({})", o.name, o.dtype)})).collect::<Vec<_>>(),
        },
    });
    if !input.metrics.is_empty() {
        model_card["quantitativeAnalysis"] = json!({
            "performanceMetrics": input.metrics.iter().map(|(k, x)| json!({
                "type": k,
                "value": crate::display::number(*x),
                "slice": input.lineage.evaluation_dataset.as_ref()
                    .map_or_else(|| "evaluation dataset".to_owned(), |d| format!("{}@{}", d.name, d.version)),
            })).collect::<Vec<_>>(),
        });
    }
    let mut considerations = serde_json::Map::new();
    for (field, key) in [
        ("useCases", "intended_use"),
        ("technicalLimitations", "caveats"),
    ] {
        let text = section(input.card, key);
        if !text.is_empty() {
            considerations.insert(field.into(), json!(text));
        }
    }
    let ethical = section(input.card, "ethical_considerations");
    if !ethical.is_empty() {
        considerations.insert(
            "ethicalConsiderations".into(),
            json!(
                ethical
                    .iter()
                    .map(|t| json!({"name": t}))
                    .collect::<Vec<_>>()
            ),
        );
    }
    if !considerations.is_empty() {
        model_card["considerations"] = Value::Object(considerations);
    }
    let mut model = json!({
        "type": "machine-learning-model",
        "bom-ref": "model",
        "name": v.name,
        "version": v.version.to_string(),
        "description": format!("model/model.onnx: the registered version {}@{} ({})", v.name, v.version, v.task.name()),
        "hashes": [{"alg": "SHA-256", "content": v.sha256}],
        "modelCard": model_card,
    });
    if let Some(license) = &input.card.license {
        model["licenses"] = json!([{"license": {"name": license}}]);
    }
    let runtime = json!({
        "type": "platform",
        "bom-ref": "runtime:onnx",
        "name": "ONNX runtime",
        "description": format!(
            "any ONNX runtime with these operator sets ({}) and ops ({}); lathe serve runs it itself",
            input.signature.opsets.join(", "),
            input.signature.ops.join(", ")
        ),
        "properties": input.signature.opsets.iter().map(|o| json!({"name": "onnx:opset", "value": o}))
            .chain(std::iter::once(json!({"name": "onnx:producer", "value": input.signature.producer})))
            .collect::<Vec<_>>(),
    });
    let lathe = json!({
        "type": "application",
        "bom-ref": "tool:lathe",
        "name": "lathe",
        "version": crate::LATHE_VERSION,
        "description": "made this bundle; `lathe serve` serves it",
    });
    let mut components = vec![runtime, lathe.clone()];
    components.extend(roles.iter().map(|(role, d)| dataset(role, d)));
    let mut seed = v.sha256.clone().into_bytes();
    for (role, d) in &roles {
        seed.extend_from_slice(format!("{role}:{}", d.sha256).as_bytes());
    }
    seed.extend_from_slice(crate::LATHE_VERSION.as_bytes());
    let bom = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": uuid(&seed),
        "version": 1,
        "metadata": {
            "timestamp": timestamp(&v.registered_at),
            "tools": {"components": [lathe]},
            "component": model,
        },
        "components": components,
        "dependencies": [
            {"ref": "model", "dependsOn": std::iter::once("runtime:onnx".to_owned())
                .chain(roles.iter().map(|(role, _)| format!("dataset:{role}"))).collect::<Vec<_>>()},
            {"ref": "runtime:onnx", "dependsOn": []},
        ],
    });
    let mut out = serde_json::to_vec_pretty(&bom).map_err(|e| Error::Compute {
        context: "cannot write the SBOM",
        detail: e.to_string(),
    })?;
    out.push(b'\n');
    Ok(out)
}

/// RFC 3339 from the registry's `YYYY-MM-DD HH:MM:SS` (UTC), or the text as it is.
fn timestamp(registered: &str) -> String {
    match registered.split_once(' ') {
        Some((d, t)) if !registered.contains('T') => format!("{d}T{t}Z"),
        _ => registered.to_owned(),
    }
}
