//! `MODEL_CARD.md`: the sections of Mitchell et al., "Model Cards for Model Reporting" (2019),
//! with Hugging Face's YAML front matter (`license`, `library_name`, `tags`, `model-index`).
//!
//! What the project records fills the card: the version, its lineage, the evaluation, the
//! strongest features by mean |SHAP|, the fairness breakdown and the drift of the evaluation
//! data. What only people know (intended use, ethical considerations, caveats, ...) comes from
//! a YAML file of free text (`--card FILE.yaml`) or the desktop app's form; a section left
//! empty says how to fill it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::Lineage;
use super::descriptors::yq;
use crate::display::number;
use crate::drift::DriftReport;
use crate::explain::Explanation;
use crate::fairness::Fairness;
use crate::model::eval::Evaluation;
use crate::model::registry::ModelVersion;
use crate::{Error, Result};

/// The free-text sections, by key, in the card's order.
pub const SECTIONS: [(&str, &str); 9] = [
    ("model_details", "Model details"),
    ("intended_use", "Intended use"),
    ("factors", "Factors"),
    ("metrics", "Metrics"),
    ("evaluation_data", "Evaluation data"),
    ("training_data", "Training data"),
    ("quantitative_analyses", "Quantitative analyses"),
    ("ethical_considerations", "Ethical considerations"),
    ("caveats", "Caveats and recommendations"),
];

/// What people write into the card.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CardText {
    /// Section key (see [`SECTIONS`]) → Markdown.
    pub sections: BTreeMap<String, String>,
    /// An SPDX identifier for the front matter (`apache-2.0`, `mit`, `other`, ...).
    pub license: Option<String>,
    pub tags: Vec<String>,
}

impl CardText {
    /// Reads a YAML mapping: the section keys with text values, `license`, and `tags` (a list).
    pub fn read(path: &Path) -> Result<CardText> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("read the model card file", path, e))?;
        Self::parse(&text).map_err(|detail| Error::BadInput {
            path: path.to_path_buf(),
            detail,
        })
    }

    pub fn parse(text: &str) -> std::result::Result<CardText, String> {
        use yaml_rust2::{Yaml, YamlLoader};
        let docs = YamlLoader::load_from_str(text).map_err(|e| format!("not YAML: {e}"))?;
        let mut out = CardText::default();
        let Some(doc) = docs.into_iter().next() else {
            return Ok(out);
        };
        let Yaml::Hash(map) = doc else {
            return Err("a model card file is a YAML mapping of section: text".into());
        };
        let keys: Vec<&str> = SECTIONS.iter().map(|(k, _)| *k).collect();
        for (k, v) in map {
            let Some(key) = k.as_str() else {
                return Err("every key is a section name".into());
            };
            match (key, v) {
                ("license", Yaml::String(s)) => out.license = Some(s),
                ("tags", Yaml::Array(items)) => {
                    for item in items {
                        match item.as_str() {
                            Some(s) => out.tags.push(s.to_owned()),
                            None => return Err("tags: every tag is text".into()),
                        }
                    }
                }
                (key, Yaml::String(s)) if keys.contains(&key) => {
                    out.sections.insert(key.to_owned(), s);
                }
                (key, _) if keys.contains(&key) || key == "license" || key == "tags" => {
                    return Err(format!("'{key}' must be text (tags: a list of text)"));
                }
                (key, _) => {
                    return Err(format!(
                        "unknown key '{key}'; the card takes: {}, license, tags",
                        keys.join(", ")
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// The records the card is filled from.
#[derive(Debug)]
pub struct CardInput<'a> {
    pub version: &'a ModelVersion,
    pub lineage: &'a Lineage,
    pub evaluation: Option<&'a Evaluation>,
    pub explanation: Option<&'a Explanation>,
    pub fairness: Option<&'a Fairness>,
    pub drift: Option<&'a DriftReport>,
    pub text: &'a CardText,
}

/// Markdown table cell text.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The card as Markdown.
pub fn render(input: &CardInput) -> String {
    let v = input.version;
    let task_tag = match v.task.name() {
        "classification" => "tabular-classification",
        _ => "tabular-regression",
    };
    let mut out = String::new();
    let _ = writeln!(out, "---");
    let _ = writeln!(
        out,
        "license: {}",
        yq(input.text.license.as_deref().unwrap_or("other"))
    );
    let _ = writeln!(out, "library_name: onnx");
    let _ = writeln!(out, "tags:");
    let mut tags = vec!["lathe".to_owned(), "onnx".to_owned(), task_tag.to_owned()];
    tags.extend(input.text.tags.iter().cloned());
    for t in tags {
        let _ = writeln!(out, "- {}", yq(&t));
    }
    let _ = writeln!(out, "model_name: {}", yq(&v.name));
    if let Some(e) = input.evaluation {
        let _ = writeln!(out, "model-index:");
        let _ = writeln!(out, "- name: {}", yq(&v.name));
        let _ = writeln!(out, "  results:");
        let _ = writeln!(out, "  - task:");
        let _ = writeln!(out, "      type: {task_tag}");
        let _ = writeln!(out, "    dataset:");
        let _ = writeln!(out, "      name: {}", yq(&e.data));
        let _ = writeln!(out, "      type: tabular");
        let _ = writeln!(out, "    metrics:");
        for (name, value) in &e.metrics {
            if value.is_finite() {
                let _ = writeln!(out, "    - type: {name}");
                let _ = writeln!(out, "      value: {value}");
            }
        }
    }
    let _ = writeln!(out, "---");
    let _ = writeln!(out);
    let _ = writeln!(out, "# Model card: {}", v.reference());
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Written by Lathe {} from the project's records. Sections marked *not stated* are for the model's owners to fill in.",
        crate::LATHE_VERSION
    );
    for (key, title) in SECTIONS {
        let _ = writeln!(out);
        let _ = writeln!(out, "## {title}");
        let _ = writeln!(out);
        let recorded = recorded(key, input);
        out.push_str(&recorded);
        match input
            .text
            .sections
            .get(key)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        {
            Some(text) => {
                if !recorded.is_empty() {
                    let _ = writeln!(out);
                }
                let _ = writeln!(out, "{text}");
            }
            None if recorded.is_empty() => {
                let _ = writeln!(
                    out,
                    "*Not stated.* Add it with `--card FILE.yaml` (key `{key}`) or in the desktop app's export form."
                );
            }
            None => {}
        }
    }
    out
}

/// What the project's records say for one section.
fn recorded(key: &str, input: &CardInput) -> String {
    let v = input.version;
    let l = input.lineage;
    let mut out = String::new();
    match key {
        "model_details" => {
            let _ = writeln!(out, "- Name: `{}`, version {}", v.name, v.version);
            let _ = writeln!(out, "- Registered: {}", v.registered_at);
            let _ = writeln!(
                out,
                "- Task: {}{}",
                v.task.name(),
                v.target
                    .as_ref()
                    .map(|t| format!(", target `{t}`"))
                    .unwrap_or_default()
            );
            let _ = writeln!(
                out,
                "- Format: ONNX ({}), {} bytes, SHA-256 `{}`",
                v.signature.producer, v.size_bytes, v.sha256
            );
            let _ = writeln!(
                out,
                "- Inputs: {} features, in order: {}",
                v.features.len(),
                v.features
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if let Some(run) = &l.run {
                let _ = writeln!(
                    out,
                    "- Trained in run {}{}",
                    run.id,
                    run.source_run_id
                        .as_ref()
                        .map(|s| format!(" (source run `{s}`)"))
                        .unwrap_or_default()
                );
            }
        }
        "factors" => {
            if let Some(f) = input.fairness {
                let _ = writeln!(
                    out,
                    "Groups assessed: {} (on {}).",
                    f.by_sensitive
                        .keys()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    f.data
                );
            }
        }
        "metrics" => {
            if let Some(e) = input.evaluation {
                let _ = writeln!(
                    out,
                    "Reported on {}: {}.",
                    e.data,
                    e.metrics.keys().cloned().collect::<Vec<_>>().join(", ")
                );
                if e.task.name() == "classification" {
                    let _ = writeln!(
                        out,
                        "Fairness follows Fairlearn's definitions (selection rate, TPR, FPR; demographic parity and equalized odds); a ratio below 0.8 is flagged (the four-fifths rule)."
                    );
                }
            }
        }
        "evaluation_data" => {
            if let (Some(d), Some(e)) = (&l.evaluation_dataset, input.evaluation) {
                let _ = writeln!(
                    out,
                    "`{}@{}` ({} rows), SHA-256 `{}`.",
                    d.name, d.version, e.rows, d.sha256
                );
            }
        }
        "training_data" => {
            if let Some(d) = &l.training_dataset {
                let _ = writeln!(out, "`{}@{}`, SHA-256 `{}`.", d.name, d.version, d.sha256);
            }
            if let Some(d) = &l.reference_dataset {
                let _ = writeln!(
                    out,
                    "The monitoring reference profile (`monitoring/reference_profile.json`) describes `{}@{}`.",
                    d.name, d.version
                );
            }
        }
        "quantitative_analyses" => quantitative(&mut out, input),
        _ => {}
    }
    out
}

fn quantitative(out: &mut String, input: &CardInput) {
    if let Some(e) = input.evaluation {
        let _ = writeln!(out, "### Evaluation on {}", e.data);
        let _ = writeln!(out);
        let _ = writeln!(out, "| Metric | Value |");
        let _ = writeln!(out, "|---|---:|");
        for (name, value) in &e.metrics {
            let _ = writeln!(out, "| {name} | {} |", number(*value));
        }
        let _ = writeln!(out);
    }
    if let Some(Explanation::Shap(s)) = input.explanation {
        let _ = writeln!(
            out,
            "### Strongest features (mean |SHAP|, {} rows, {})",
            s.rows.len(),
            s.output.description
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "| Feature | Mean abs. SHAP |");
        let _ = writeln!(out, "|---|---:|");
        for (name, value) in crate::explain::chart::mean_abs(s).iter().take(10) {
            let _ = writeln!(out, "| {} | {} |", cell(name), number(*value));
        }
        let _ = writeln!(out);
    }
    if let Some(f) = input.fairness {
        let _ = writeln!(
            out,
            "### Fairness on {} (positive outcome: {})",
            f.data, f.positive_label
        );
        for (column, r) in &f.by_sensitive {
            let _ = writeln!(out);
            let _ = writeln!(out, "**{}**", cell(column));
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "| Group | Count | Selection rate | Accuracy | TPR | FPR |"
            );
            let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
            for g in &r.groups {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    cell(&g.group),
                    g.count,
                    number(g.selection_rate),
                    number(g.accuracy),
                    number(g.tpr),
                    number(g.fpr)
                );
            }
            let _ = writeln!(out);
            let flag = |name: &str, v: f64| {
                if r.flagged.iter().any(|f| f == name) {
                    format!(
                        "{} ⚠ below {}",
                        number(v),
                        number(crate::fairness::RATIO_THRESHOLD)
                    )
                } else {
                    number(v)
                }
            };
            let _ = writeln!(
                out,
                "Demographic parity: difference {}, ratio {}. Equalized odds: difference {}, ratio {}.",
                number(r.demographic_parity_difference),
                flag("demographic_parity_ratio", r.demographic_parity_ratio),
                number(r.equalized_odds_difference),
                flag("equalized_odds_ratio", r.equalized_odds_ratio)
            );
        }
        let _ = writeln!(out);
    }
    if let Some(d) = input.drift {
        let _ = writeln!(out, "### Drift of the evaluation data from the reference");
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{} of {} columns drifted ({}); dataset drift: {}. See `reports/drift.html`.",
            d.drifted_columns,
            d.columns.len(),
            d.columns
                .iter()
                .filter(|c| c.drifted)
                .map(|c| format!("`{}`", c.name))
                .collect::<Vec<_>>()
                .join(", "),
            if d.dataset_drift { "yes" } else { "no" }
        );
    }
}
