//! What a front end asks for. Each request carries its defaults (a blank text field means "not
//! given") and becomes a capability's options here, so that the CLI and the desktop ask the
//! core the same question the same way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Input;
use crate::bundle::{CardText, ExportOptions};
use crate::dataset::browse::{RowsQuery, SortKey};
use crate::dataset::stream::MemoryLimit;
use crate::drift::{self, DriftOptions, Method};
use crate::job::Job;
use crate::model::eval::Task;
use crate::model::registry::RegisterOptions;
use crate::monitor::{
    BusinessValue, Chunking, Columns, Metric, MonitorOptions, Normalization, Period,
};
use crate::runs::chart::{Band, LineOptions, RunsPlot, XAxis, parallel_chart, scatter_chart};
use crate::runs::{self, Agg, RunQuery};
use crate::{Error, Project, Result};

/// A text field as given: trimmed, and `None` when blank.
pub fn given(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// A drift comparison; empty means the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DriftRequest {
    pub columns: Option<Vec<String>>,
    pub method: Option<String>,
    pub threshold: Option<f64>,
    /// Default [`drift::DEFAULT_DRIFT_SHARE`].
    pub drift_share: Option<f64>,
    pub time_column: Option<String>,
    pub window: Option<String>,
    /// A column's own method and, optionally, threshold: `COLUMN=METHOD` or
    /// `COLUMN=METHOD:THRESHOLD`.
    #[serde(default)]
    pub column_methods: Vec<String>,
    /// Memory for the tables' values (`512MiB`, `2GiB`); larger tables are compared from
    /// disk. Default: a quarter of RAM, at most 2 GiB.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub memory_limit: Option<String>,
}

impl DriftRequest {
    pub fn into_options(self) -> Result<DriftOptions> {
        let mut column_methods = std::collections::BTreeMap::new();
        for spec in &self.column_methods {
            let (column, method, threshold) = column_method(spec)?;
            column_methods.insert(column, (method, threshold));
        }
        Ok(DriftOptions {
            column_methods,
            columns: self.columns.filter(|c| !c.is_empty()),
            method: given(self.method)
                .as_deref()
                .map(Method::parse)
                .transpose()?,
            threshold: self.threshold,
            drift_share: self.drift_share.unwrap_or(drift::DEFAULT_DRIFT_SHARE),
            time_column: given(self.time_column),
            window: given(self.window)
                .as_deref()
                .map(drift::Window::parse)
                .transpose()?,
            memory_limit: given(self.memory_limit)
                .map(|text| {
                    MemoryLimit::parse(&text).map_err(|e| Error::bad_argument("memory limit", e))
                })
                .transpose()?,
        })
    }
}

/// Monitoring a model's outputs over time; empty means the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MonitorRequest {
    /// The model that computes the outputs (a file, URL or `NAME@VERSION`); without one, the
    /// score and prediction columns hold them.
    pub model: Option<String>,
    /// The column holding the score (probability) of the positive class; none for a
    /// regressor, whose prediction column is all monitoring needs.
    pub score_column: Option<String>,
    /// The column holding the predicted class (0/1), or a regressor's prediction.
    pub prediction_column: Option<String>,
    /// The target column. Default `target`.
    pub target: Option<String>,
    pub timestamp_column: Option<String>,
    /// At most one of the three; default ten chunks.
    pub chunk_size: Option<usize>,
    pub chunk_number: Option<usize>,
    /// `1h`, `1d`, `1w`, `1M`, `1q`, `1y`.
    pub chunk_period: Option<String>,
    /// Default: every metric CBPE estimates.
    pub metrics: Option<Vec<String>>,
    /// The features of the multivariate drift. Default: every other column both tables have.
    pub features: Option<Vec<String>>,
    /// Test every feature, the score and the target for drift in each chunk. Default: yes.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub column_drift: Option<bool>,
    /// What a true negative, a false positive, a false negative and a true positive are worth
    /// (NannyML's `[[TN, FP], [FN, TP]]`): estimates the business value.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub business_value: Option<Vec<f64>>,
    /// The business value per prediction rather than summed over a chunk.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub business_value_per_prediction: Option<bool>,
    /// The confusion matrix's cells normalised: `all`, `true` or `pred`; counts when absent.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub normalize_confusion_matrix: Option<String>,
}

impl MonitorRequest {
    /// Monitors `analysis` against `reference` (stored `NAME@VERSION`s or files) with the model
    /// the request names (its registered target when the request names none), as the
    /// desktop shows it.
    pub fn view(
        mut self,
        project: &Project,
        reference: &str,
        analysis: &str,
        job: &Job,
    ) -> Result<super::MonitorView> {
        let loaded = given(self.model.clone())
            .map(|m| Input::model(&m).load_model(None, || Ok(project)))
            .transpose()?;
        if self.target.is_none() {
            self.target = loaded.as_ref().and_then(|l| l.target.clone());
        }
        let options = self.into_options()?;
        let input = loaded.as_ref().map(|l| crate::monitor::ModelInput {
            model: &l.model,
            features: &l.features,
        });
        let report = crate::monitor::monitor_sources(
            &Input::data(reference).table(|| Ok(project))?,
            &Input::data(analysis).table(|| Ok(project))?,
            &options,
            input,
            job,
        )?;
        let what = match &loaded {
            Some(l) => format!("{} on {reference} → {analysis}", l.name),
            None => format!("{reference} → {analysis}"),
        };
        super::MonitorView::new(report, &what)
    }

    pub fn into_options(self) -> Result<MonitorOptions> {
        let has_model = given(self.model).is_some();
        let needed = |value: Option<String>, flag: &str| match given(value) {
            Some(v) if has_model => Err(Error::bad_argument(
                "monitor arguments",
                format!(
                    "--{flag}-column '{v}' and a MODEL both give the model's outputs: pass one"
                ),
            )),
            Some(v) => Ok(v),
            None if has_model => Ok(String::new()),
            None => Err(Error::bad_argument(
                "monitor arguments",
                format!(
                    "name the column of the model's {flag} (--{flag}-column), or give the MODEL first"
                ),
            )),
        };
        let chunkings = [
            self.chunk_size.map(Chunking::Size),
            self.chunk_number.map(Chunking::Number),
            given(self.chunk_period)
                .map(|p| Period::parse(&p).map(Chunking::Period))
                .transpose()?,
        ];
        let mut chosen = chunkings.into_iter().flatten();
        let chunking = chosen.next().unwrap_or_default();
        if chosen.next().is_some() {
            return Err(Error::bad_argument(
                "monitor arguments",
                "chunk by one of size, number or period, not several".to_owned(),
            ));
        }
        let timestamp = given(self.timestamp_column);
        if matches!(chunking, Chunking::Period(_)) && timestamp.is_none() {
            return Err(Error::bad_argument(
                "chunk period",
                "chunking by period needs the timestamp column (--timestamp-column)".to_owned(),
            ));
        }
        let metrics = match self.metrics.filter(|m| !m.is_empty()) {
            // The task's metrics, once the outputs say which task.
            None => Vec::new(),
            Some(names) => {
                let mut metrics: Vec<Metric> = Vec::new();
                for name in &names {
                    for m in Metric::parse(name)? {
                        if !metrics.contains(&m) {
                            metrics.push(m);
                        }
                    }
                }
                metrics
            }
        };
        let per_prediction = self.business_value_per_prediction.unwrap_or(false);
        let business_value = match self.business_value.filter(|v| !v.is_empty()) {
            Some(values) => Some(BusinessValue::from_values(&values, per_prediction)?),
            None if per_prediction => {
                return Err(Error::bad_argument(
                    "business value",
                    "--business-value-per-prediction normalises the business value: give its values too (--business-value TN,FP,FN,TP)".to_owned(),
                ));
            }
            None => None,
        };
        let prediction = needed(self.prediction_column, "prediction")?;
        // A prediction without a score is a regressor's (DLE).
        let score = match given(self.score_column) {
            None if !has_model => String::new(),
            score => needed(score, "score")?,
        };
        let mut columns = Columns {
            prediction,
            target: given(self.target).unwrap_or_else(|| "target".to_owned()),
            timestamp,
            ..Columns::default()
        };
        columns.set_score(&score)?;
        Ok(MonitorOptions {
            columns,
            chunking,
            metrics,
            features: self.features.filter(|f| !f.is_empty()),
            column_drift: self.column_drift.unwrap_or(true),
            business_value,
            normalization: given(self.normalize_confusion_matrix)
                .map(|n| Normalization::parse(&n))
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

/// `COLUMN=METHOD[:THRESHOLD]`, as `lathe drift --column-method` takes it.
fn column_method(spec: &str) -> Result<(String, Method, Option<f64>)> {
    let usage = |detail: String| Error::BadArgument {
        argument: "drift arguments",
        detail,
    };
    let (column, rest) = spec.split_once('=').ok_or_else(|| {
        usage(format!(
            "--column-method '{spec}': write COLUMN=METHOD or COLUMN=METHOD:THRESHOLD"
        ))
    })?;
    let (method, threshold) =
        match rest.split_once(':') {
            Some((m, t)) => (
                m,
                Some(t.trim().parse::<f64>().map_err(|_| {
                    usage(format!("--column-method '{spec}': '{t}' is not a number"))
                })?),
            ),
            None => (rest, None),
        };
    Ok((column.trim().to_owned(), Method::parse(method)?, threshold))
}

/// Registering an ONNX file as the next version of a model; empty means not given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RegisterRequest {
    pub name: String,
    /// A run of the project: `#ID` or the source's run id.
    pub run: Option<String>,
    pub dataset: Option<String>,
    pub target: Option<String>,
    pub task: Option<String>,
    /// Comma-separated feature columns.
    pub features: Option<String>,
}

impl RegisterRequest {
    pub fn into_options(self, project: &Project) -> Result<RegisterOptions> {
        Ok(RegisterOptions {
            name: self.name.trim().to_owned(),
            run_id: given(self.run)
                .map(|r| runs::resolve_run(project, &r))
                .transpose()?,
            dataset: given(self.dataset),
            target: given(self.target),
            task: given(self.task).as_deref().map(Task::parse).transpose()?,
            features: given(self.features)
                .map(|f| f.split(',').map(|s| s.trim().to_owned()).collect()),
        })
    }
}

/// A bundle export; blank fields mean the default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BundleExportRequest {
    /// `NAME@VERSION`.
    pub model: String,
    /// `FILE.tar.gz` (from the save dialog) or a folder.
    pub out: String,
    pub eval_dataset: Option<String>,
    pub reference_dataset: Option<String>,
    pub sensitive: Vec<String>,
    pub card: CardText,
    /// A private key file to sign with.
    pub sign_key: Option<String>,
    /// A policy or GX suite whose data expectations the bundle carries (`lathe bundle check`).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub checks: Option<String>,
}

/// The data expectations of the policy or suite at `path`, for a bundle to carry; an error
/// when it holds none (its model, fairness and drift rules need the project).
pub fn carried_checks(path: &str) -> Result<crate::expect::Suite> {
    let path = PathBuf::from(path);
    crate::check::Policy::read(&path)?
        .data_suite()
        .ok_or_else(|| Error::BadPolicy {
            path,
            detail: "it holds no data expectations (suites or expectations) for a bundle to carry"
                .to_owned(),
        })
}

impl BundleExportRequest {
    pub fn into_options(self) -> Result<ExportOptions> {
        let out = given(Some(self.out)).ok_or_else(|| Error::BadArgument {
            argument: "out",
            detail: "no output path given; choose where to write the bundle".to_owned(),
        })?;
        Ok(ExportOptions {
            model: self.model,
            out: PathBuf::from(out),
            eval_dataset: given(self.eval_dataset),
            reference_dataset: given(self.reference_dataset),
            sensitive: self.sensitive,
            card: self.card,
            sign_key: given(self.sign_key).map(PathBuf::from),
            memory_limit: None,
            checks: given(self.checks).map(|p| carried_checks(&p)).transpose()?,
        })
    }
}

/// A page of a dataset version's rows; `sort` is `COLUMN` or `COLUMN:desc`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RowsRequest {
    pub offset: u64,
    pub limit: u64,
    pub sort: Option<String>,
    pub filter: Option<String>,
    pub columns: Option<Vec<String>>,
}

impl RowsRequest {
    pub fn query(self) -> RowsQuery {
        RowsQuery {
            offset: self.offset,
            limit: self.limit,
            sort: given(self.sort).as_deref().map(SortKey::parse),
            filter: given(self.filter),
            columns: self.columns,
        }
    }
}

/// A chart of a stored version: a column's (`kind` null: histogram or top values) or the
/// table's (`missing`, `pearson`, `spearman`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ChartRequest {
    pub reference: String,
    pub column: Option<String>,
    pub kind: Option<String>,
}

impl ChartRequest {
    pub fn chart(&self, project: &Project) -> Result<crate::dataset::chart::Chart> {
        self.chart_of(&crate::dataset::stored_profile(project, &self.reference)?)
    }

    /// The chart of `profile` (one computed rather than stored).
    pub fn chart_of(
        &self,
        profile: &crate::dataset::Profile,
    ) -> Result<crate::dataset::chart::Chart> {
        let kind = self
            .kind
            .as_deref()
            .map(crate::dataset::chart::Kind::parse)
            .transpose()?;
        crate::dataset::chart::chart(profile, kind, self.column.as_deref())
    }
}

/// A page of the run table: MLflow filter strings (plus `or`, `~`), `KEY` or `KEY:desc` sorts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RunsRequest {
    pub filter: Option<String>,
    pub sort: Option<String>,
    pub experiment: Option<String>,
    pub include_deleted: bool,
    pub offset: u64,
    /// `None`: every matching run.
    pub limit: Option<u64>,
}

impl RunsRequest {
    pub fn query(self) -> RunQuery {
        RunQuery {
            experiment: given(self.experiment),
            filter: given(self.filter),
            sort: given(self.sort),
            include_deleted: self.include_deleted,
            offset: usize::try_from(self.offset).unwrap_or(usize::MAX),
            limit: self.limit.map(|l| usize::try_from(l).unwrap_or(usize::MAX)),
        }
    }
}

/// The runs a filter matches, grouped by a param, tag or attribute (`params.optimizer`,
/// `attributes.experiment`), as `lathe runs list --group-by`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct GroupRunsRequest {
    pub filter: Option<String>,
    pub experiment: Option<String>,
    pub include_deleted: bool,
    pub by: String,
    /// Per metric, `last` (the default), `min` or `max`: the value of each run that is grouped.
    #[cfg_attr(
        feature = "ts",
        ts(type = "Record<string, \"last\" | \"min\" | \"max\">")
    )]
    pub values: HashMap<String, String>,
    /// At most this many groups, the first in the values' order.
    pub limit: u64,
}

impl GroupRunsRequest {
    pub fn run(self, project: &Project) -> Result<super::RunGroups> {
        let values = self
            .values
            .into_iter()
            .map(|(k, v)| Ok((k, v.parse::<Agg>()?)))
            .collect::<Result<HashMap<_, _>>>()?;
        let query = RunsRequest {
            filter: self.filter.clone(),
            experiment: self.experiment,
            include_deleted: self.include_deleted,
            ..RunsRequest::default()
        }
        .query();
        let page = runs::list(project, &query)?;
        let mut groups = runs::group(&page.runs, &self.by, |k| {
            values.get(k).copied().unwrap_or_default()
        })?;
        let total = groups.len() as u64;
        groups.truncate(usize::try_from(self.limit).unwrap_or(usize::MAX));
        for g in &mut groups {
            g.filter = runs::filter::narrowed(self.filter.as_deref(), &g.filter);
        }
        Ok(super::RunGroups::new(total, groups))
    }
}

/// A run chart: overlaid histories of `metric`, optionally smoothed, grouped or zoomed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RunChartRequest {
    pub runs: Vec<i64>,
    pub metric: String,
    /// `step`, `time` or `relative`.
    pub x: String,
    pub smooth: Option<f64>,
    pub group_by: Option<String>,
    /// With `group_by`: `minmax` (default), `std` or `ci95`.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub band: Option<String>,
    pub x_range: Option<(f64, f64)>,
    /// Default 900 × 420, kept within 320–4000 × 200–3000.
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl RunChartRequest {
    pub fn options(&self) -> Result<LineOptions> {
        Ok(LineOptions {
            metric: self.metric.clone(),
            x: XAxis::parse(&self.x)?,
            smooth: self.smooth.filter(|s| *s > 0.0),
            group_by: given(self.group_by.clone()),
            band: match given(self.band.clone()) {
                Some(b) => Band::parse(&b)?,
                None => Band::MinMax,
            },
            x_range: self.x_range,
            size: (
                self.width.unwrap_or(900).clamp(320, 4000),
                self.height.unwrap_or(420).clamp(200, 3000),
            ),
        })
    }

    pub fn chart(&self, project: &Project) -> Result<crate::runs::chart::RunChart> {
        crate::runs::chart::line_chart(project, &self.runs, &self.options()?)
    }
}

/// A param against a metric (`kind` `scatter`) or parallel coordinates (`parallel`) of runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RunsPlotRequest {
    pub runs: Vec<i64>,
    #[cfg_attr(feature = "ts", ts(type = "\"scatter\" | \"parallel\""))]
    pub kind: String,
    pub param: Option<String>,
    pub metric: String,
}

impl RunsPlotRequest {
    pub fn plot(&self, project: &Project) -> Result<RunsPlot> {
        match (self.kind.as_str(), self.param.as_deref()) {
            ("scatter", Some(param)) => scatter_chart(project, &self.runs, param, &self.metric),
            ("parallel", _) => parallel_chart(project, &self.runs, &[], &self.metric),
            _ => Err(Error::BadArgument {
                argument: "plot",
                detail: "a scatter needs a param; the kinds are scatter and parallel".to_owned(),
            }),
        }
    }
}

/// The desktop's export of a comparison as one HTML page (`lathe runs report`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RunsReportRequest {
    pub runs: Vec<i64>,
    /// The metrics charted (empty: every metric, at most 12).
    #[serde(default)]
    pub metrics: Vec<String>,
    /// The metric importance and parallel coordinates read (default: the first charted).
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub direction: Option<crate::runs::importance::MetricDirection>,
}

impl RunsReportRequest {
    pub fn write(&self, project: &Project, path: &Path) -> Result<crate::runs::report::RunReport> {
        crate::runs::report::write(
            project,
            &self.runs,
            &crate::runs::report::ReportOptions {
                metrics: self.metrics.clone(),
                target: self.target.clone(),
                direction: self.direction,
            },
            path,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drift_request_carries_the_defaults_and_the_column_methods() {
        let options = DriftRequest {
            method: Some("  ".into()),
            column_methods: vec!["price=psi:0.2".into(), " city =chi2".into()],
            ..DriftRequest::default()
        }
        .into_options()
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(options.drift_share, drift::DEFAULT_DRIFT_SHARE);
        assert_eq!(options.method, None, "a blank method is the default");
        assert_eq!(
            options.column_methods.get("price"),
            Some(&(Method::Psi, Some(0.2)))
        );
        assert_eq!(
            options.column_methods.get("city"),
            Some(&(Method::Chi2, None))
        );
        let limited = DriftRequest {
            memory_limit: Some(" 64MiB ".into()),
            ..DriftRequest::default()
        }
        .into_options()
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(limited.memory_limit, Some(MemoryLimit(64 << 20)));
        let err = DriftRequest {
            memory_limit: Some("lots".into()),
            ..DriftRequest::default()
        }
        .into_options()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("'lots' is not a size"), "{err}");
        for (bad, says) in [("price", "COLUMN=METHOD"), ("price=psi:x", "not a number")] {
            let err = DriftRequest {
                column_methods: vec![bad.into()],
                ..DriftRequest::default()
            }
            .into_options()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}

/// A check: a policy (`lathe-checks.yaml`) or a GX suite, run on a table. The CLI sends it for
/// `lathe check POLICY --data TABLE`; the desktop for its Checks view.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CheckRequest {
    /// The policy or suite file; with `text`, where the text would be saved (its folder
    /// anchors the relative paths it names).
    pub policy: String,
    /// The policy written in the app (YAML or JSON), instead of the file's content.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub text: Option<String>,
    /// The table: `NAME[@VERSION]`, a file or a URL (overrides the policy's `data`).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub data: Option<String>,
}

/// What a check ran on and found.
#[derive(Debug)]
pub struct CheckOutcome {
    pub validation: crate::expect::Validation,
    /// The policy's data, resolved (stored with the result).
    pub data: Option<crate::dataset::browse::TableSource>,
}

impl CheckRequest {
    /// Reads the policy (every problem a `BadPolicy` error before anything runs), resolves the
    /// tables it names — a relative file path from the policy's folder, else as the command
    /// line names tables — and runs it. `project` is needed for stored tables and models.
    /// The policy, read and checked (every problem a `BadPolicy` error): what the desktop's
    /// editor validates as the user types.
    pub fn policy(&self) -> Result<crate::check::Policy> {
        let path = PathBuf::from(&self.policy);
        match &self.text {
            Some(text) => crate::check::Policy::parse(text, &path),
            None => crate::check::Policy::read(&path),
        }
    }

    pub fn run(&self, project: Option<&Project>, job: &Job) -> Result<CheckOutcome> {
        let path = PathBuf::from(&self.policy);
        let policy = self.policy()?;
        let base = path.parent().map(PathBuf::from).unwrap_or_default();
        let resolve = |name: &str| -> Result<crate::dataset::browse::TableSource> {
            let local = base.join(name);
            let text =
                if !crate::remote::is_url(name) && !Path::new(name).exists() && local.exists() {
                    local.to_string_lossy().into_owned()
                } else {
                    name.to_owned()
                };
            Input::data(&text).table(|| {
                project.ok_or_else(|| Error::NotFound {
                    what: format!("\"{name}\" is neither a file nor a URL, and a stored dataset needs a project (--project DIR)"),
                })
            })
        };
        let data_name = given(self.data.clone()).or_else(|| policy.data.clone());
        let data = data_name.as_deref().map(resolve).transpose()?;
        let validation = crate::check::run(
            &policy,
            &crate::check::Tables {
                data: data_name.as_deref().zip(data.as_ref()),
                resolve: &resolve,
                project,
            },
            job,
        )?;
        Ok(CheckOutcome { validation, data })
    }
}
