//! Transport types: what crosses the IPC boundary to the front end and exists only for it.
//! Reports that are domain data (`ProjectInfo`, `AuditEntry`, `Progress`) come from the core.

use lathe_core::ErrorCode;
use lathe_core::api::{
    BundleExportRequest, ChartRequest, CheckRequest, CheckRow, CheckView, ColumnShown,
    ComparisonView, DriftRequest, DriftView, EvaluationView, ExplainView, FairnessView,
    GroupRunsRequest, ModelPage, MonitorChartShown, MonitorChunkColumns, MonitorDefaults,
    MonitorRequest, MonitorView, PolicySummary, ProfileView, RegisterRequest, RowsRequest,
    RunChartRequest, RunChartView, RunComparisonView, RunGroups, RunsPlotRequest,
    RunsReportRequest, RunsRequest, RunsView, SensitiveShown, StatisticShown,
};
use lathe_core::audit::AuditEntry;
use lathe_core::bundle::sign::{KeyType, NewKey};
use lathe_core::bundle::{BundleRecord, CardText, Exported};
use lathe_core::dataset::alerts::Alert;
use lathe_core::dataset::browse::{ColumnType, RowsPage};
use lathe_core::dataset::compare::{
    ColumnDiff, Comparison, Retyped, SchemaDiff, Side, StatisticDiff,
};
use lathe_core::dataset::profile::{
    ColumnProfile, Correlations, Lengths, Matrix, Quantiles, TopValue,
};
use lathe_core::dataset::{DatasetSummary, ImportOutcome, Profile};
use lathe_core::drift::window::{WindowDrift, Windows};
use lathe_core::drift::{
    Bins, ColumnDrift, DriftReport, Dropped, Effect, Kind, Method, SchemaDrift, SideInfo,
    Skipped as SkippedColumn, StoredDrift,
};
use lathe_core::expect::{ExpectationResult, Outcome, Statistics, StoredCheck, Validation};
use lathe_core::explain::importance::{FeatureImportance, Importance, Scoring};
use lathe_core::explain::lime::{Lime, LimeRow, LimeWeight};
use lathe_core::explain::pdp::FeatureDependence;
use lathe_core::explain::shap::{Algorithm as ShapAlgorithm, ShapValues};
use lathe_core::explain::{Dependence, Explanation, Output, OutputKind, Request as ExplainRequest};
use lathe_core::fairness::{Fairness, GroupMetrics, SensitiveReport};
use lathe_core::job::Progress;
use lathe_core::model::eval::{
    CalibrationCurve, Curves, Evaluation, PrCurve, RegressionPoints, RocCurve, Task,
};
use lathe_core::model::registry::{ModelSummary, ModelVersion, Registered};
use lathe_core::model::{Runtime, Signature, ValueSignature};
use lathe_core::monitor::chart::{ColumnRow as MonitorColumnRow, Row as MonitorRow};
use lathe_core::monitor::{
    Alert as MonitorAlert, ChunkError, ChunkShown, Chunking, ChunkingShown, ColumnChunk,
    ColumnDriftShown, Decision, Metric, MetricShown, MonitorReport, Period, Role,
    Side as MonitorSide,
};
use lathe_core::numeric::Histogram;
use lathe_core::project::ProjectInfo;
use lathe_core::runs::importance::{
    HyperparameterImportance, ImportanceMethod, ImportanceRequest, MetricDirection, ParamImportance,
};
use lathe_core::runs::{
    ComparedRun, GroupStat, GroupSummary, ImportSummary, MetricStat, ParamDiff, RunComparison,
    RunMetric, RunRecord, RunSource, RunsPage, Skipped, SourceKind,
};
use serde::Serialize;
use ts_rs::TS;

/// Every command error, as the front end receives it. `code` is one of the core's
/// [`ErrorCode`]s (exported to TypeScript, so the UI can name only those); `message` is for a
/// person and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
}

impl From<lathe_core::Error> for IpcError {
    fn from(err: lathe_core::Error) -> Self {
        IpcError {
            code: err.code(),
            message: err.to_string(),
        }
    }
}

impl IpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        IpcError {
            code,
            message: message.into(),
        }
    }
}

/// The project page: the same record counts as `lathe info`, and the latest audit entries.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ProjectOverview {
    pub info: ProjectInfo,
    pub recent_activity: Vec<AuditEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
pub struct RecentProject {
    pub path: String,
    pub name: String,
    /// When it was last opened, RFC 3339 UTC.
    pub opened_at: String,
    /// Whether the folder still holds a project (moved or deleted ones are shown greyed out).
    #[serde(default)]
    pub exists: bool,
}

/// Streamed to the front end while a long command runs.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "event", content = "data", rename_all = "camelCase")]
pub enum TaskEvent {
    Progress(Progress),
}

/// The TypeScript declarations of every IPC type, by file name under `ui/src/bindings/`.
pub fn typescript_bindings() -> Result<Vec<(String, String)>, ts_rs::ExportError> {
    let cfg = ts_rs::Config::new().with_large_int("number");
    Ok(vec![
        ("IpcError.ts".into(), IpcError::export_to_string(&cfg)?),
        ("ErrorCode.ts".into(), ErrorCode::export_to_string(&cfg)?),
        ("RunsView.ts".into(), RunsView::export_to_string(&cfg)?),
        (
            "RunComparisonView.ts".into(),
            RunComparisonView::export_to_string(&cfg)?,
        ),
        (
            "ProfileView.ts".into(),
            ProfileView::export_to_string(&cfg)?,
        ),
        (
            "ColumnShown.ts".into(),
            ColumnShown::export_to_string(&cfg)?,
        ),
        (
            "ComparisonView.ts".into(),
            ComparisonView::export_to_string(&cfg)?,
        ),
        (
            "StatisticShown.ts".into(),
            StatisticShown::export_to_string(&cfg)?,
        ),
        (
            "SensitiveShown.ts".into(),
            SensitiveShown::export_to_string(&cfg)?,
        ),
        (
            "RowsRequest.ts".into(),
            RowsRequest::export_to_string(&cfg)?,
        ),
        (
            "ChartRequest.ts".into(),
            ChartRequest::export_to_string(&cfg)?,
        ),
        (
            "RunsRequest.ts".into(),
            RunsRequest::export_to_string(&cfg)?,
        ),
        (
            "GroupRunsRequest.ts".into(),
            GroupRunsRequest::export_to_string(&cfg)?,
        ),
        (
            "RunChartRequest.ts".into(),
            RunChartRequest::export_to_string(&cfg)?,
        ),
        (
            "RunsPlotRequest.ts".into(),
            RunsPlotRequest::export_to_string(&cfg)?,
        ),
        (
            "RunsReportRequest.ts".into(),
            RunsReportRequest::export_to_string(&cfg)?,
        ),
        (
            "ProjectOverview.ts".into(),
            ProjectOverview::export_to_string(&cfg)?,
        ),
        (
            "RecentProject.ts".into(),
            RecentProject::export_to_string(&cfg)?,
        ),
        ("TaskEvent.ts".into(), TaskEvent::export_to_string(&cfg)?),
        (
            "BundleExportRequest.ts".into(),
            BundleExportRequest::export_to_string(&cfg)?,
        ),
        ("CardText.ts".into(), CardText::export_to_string(&cfg)?),
        ("Exported.ts".into(), Exported::export_to_string(&cfg)?),
        (
            "BundleRecord.ts".into(),
            BundleRecord::export_to_string(&cfg)?,
        ),
        (
            "ServeStatus.ts".into(),
            lathe_core::serve::live::ServeStatus::export_to_string(&cfg)?,
        ),
        (
            "ServeLive.ts".into(),
            lathe_core::serve::live::ServeLive::export_to_string(&cfg)?,
        ),
        (
            "LiveMetrics.ts".into(),
            lathe_core::serve::live::LiveMetrics::export_to_string(&cfg)?,
        ),
        (
            "LiveFeature.ts".into(),
            lathe_core::serve::live::LiveFeature::export_to_string(&cfg)?,
        ),
        (
            "CodeCount.ts".into(),
            lathe_core::serve::live::CodeCount::export_to_string(&cfg)?,
        ),
        ("NewKey.ts".into(), NewKey::export_to_string(&cfg)?),
        ("KeyType.ts".into(), KeyType::export_to_string(&cfg)?),
        (
            "ProjectInfo.ts".into(),
            ProjectInfo::export_to_string(&cfg)?,
        ),
        ("AuditEntry.ts".into(), AuditEntry::export_to_string(&cfg)?),
        ("Progress.ts".into(), Progress::export_to_string(&cfg)?),
        (
            "DatasetSummary.ts".into(),
            DatasetSummary::export_to_string(&cfg)?,
        ),
        (
            "ImportOutcome.ts".into(),
            ImportOutcome::export_to_string(&cfg)?,
        ),
        ("Profile.ts".into(), Profile::export_to_string(&cfg)?),
        (
            "ColumnProfile.ts".into(),
            ColumnProfile::export_to_string(&cfg)?,
        ),
        ("Quantiles.ts".into(), Quantiles::export_to_string(&cfg)?),
        ("TopValue.ts".into(), TopValue::export_to_string(&cfg)?),
        ("Histogram.ts".into(), Histogram::export_to_string(&cfg)?),
        (
            "Correlations.ts".into(),
            Correlations::export_to_string(&cfg)?,
        ),
        ("Matrix.ts".into(), Matrix::export_to_string(&cfg)?),
        ("Alert.ts".into(), Alert::export_to_string(&cfg)?),
        ("Lengths.ts".into(), Lengths::export_to_string(&cfg)?),
        ("RowsPage.ts".into(), RowsPage::export_to_string(&cfg)?),
        ("ColumnType.ts".into(), ColumnType::export_to_string(&cfg)?),
        ("Comparison.ts".into(), Comparison::export_to_string(&cfg)?),
        ("Side.ts".into(), Side::export_to_string(&cfg)?),
        ("SchemaDiff.ts".into(), SchemaDiff::export_to_string(&cfg)?),
        ("Retyped.ts".into(), Retyped::export_to_string(&cfg)?),
        ("ColumnDiff.ts".into(), ColumnDiff::export_to_string(&cfg)?),
        (
            "StatisticDiff.ts".into(),
            StatisticDiff::export_to_string(&cfg)?,
        ),
        (
            "RunChartView.ts".into(),
            RunChartView::export_to_string(&cfg)?,
        ),
        (
            "ImportSummary.ts".into(),
            ImportSummary::export_to_string(&cfg)?,
        ),
        ("Skipped.ts".into(), Skipped::export_to_string(&cfg)?),
        ("SourceKind.ts".into(), SourceKind::export_to_string(&cfg)?),
        ("RunSource.ts".into(), RunSource::export_to_string(&cfg)?),
        ("RunsPage.ts".into(), RunsPage::export_to_string(&cfg)?),
        ("RunRecord.ts".into(), RunRecord::export_to_string(&cfg)?),
        ("MetricStat.ts".into(), MetricStat::export_to_string(&cfg)?),
        (
            "RunComparison.ts".into(),
            RunComparison::export_to_string(&cfg)?,
        ),
        (
            "ComparedRun.ts".into(),
            ComparedRun::export_to_string(&cfg)?,
        ),
        ("ParamDiff.ts".into(), ParamDiff::export_to_string(&cfg)?),
        ("RunMetric.ts".into(), RunMetric::export_to_string(&cfg)?),
        (
            "GroupSummary.ts".into(),
            GroupSummary::export_to_string(&cfg)?,
        ),
        ("GroupStat.ts".into(), GroupStat::export_to_string(&cfg)?),
        ("RunGroups.ts".into(), RunGroups::export_to_string(&cfg)?),
        ("DriftView.ts".into(), DriftView::export_to_string(&cfg)?),
        (
            "DriftRequest.ts".into(),
            DriftRequest::export_to_string(&cfg)?,
        ),
        (
            "DriftReport.ts".into(),
            DriftReport::export_to_string(&cfg)?,
        ),
        (
            "ColumnDrift.ts".into(),
            ColumnDrift::export_to_string(&cfg)?,
        ),
        ("ColumnKind.ts".into(), Kind::export_to_string(&cfg)?),
        ("DriftMethod.ts".into(), Method::export_to_string(&cfg)?),
        ("DriftSide.ts".into(), SideInfo::export_to_string(&cfg)?),
        ("DroppedValues.ts".into(), Dropped::export_to_string(&cfg)?),
        ("DriftEffect.ts".into(), Effect::export_to_string(&cfg)?),
        ("DriftBins.ts".into(), Bins::export_to_string(&cfg)?),
        (
            "SkippedColumn.ts".into(),
            SkippedColumn::export_to_string(&cfg)?,
        ),
        (
            "SchemaDrift.ts".into(),
            SchemaDrift::export_to_string(&cfg)?,
        ),
        ("DriftWindows.ts".into(), Windows::export_to_string(&cfg)?),
        (
            "WindowDrift.ts".into(),
            WindowDrift::export_to_string(&cfg)?,
        ),
        (
            "StoredDrift.ts".into(),
            StoredDrift::export_to_string(&cfg)?,
        ),
        (
            "ImportanceRequest.ts".into(),
            ImportanceRequest::export_to_string(&cfg)?,
        ),
        (
            "HyperparameterImportance.ts".into(),
            HyperparameterImportance::export_to_string(&cfg)?,
        ),
        (
            "ParamImportance.ts".into(),
            ParamImportance::export_to_string(&cfg)?,
        ),
        (
            "ImportanceMethod.ts".into(),
            ImportanceMethod::export_to_string(&cfg)?,
        ),
        (
            "MetricDirection.ts".into(),
            MetricDirection::export_to_string(&cfg)?,
        ),
        (
            "CheckRequest.ts".into(),
            CheckRequest::export_to_string(&cfg)?,
        ),
        ("CheckView.ts".into(), CheckView::export_to_string(&cfg)?),
        ("CheckRow.ts".into(), CheckRow::export_to_string(&cfg)?),
        (
            "PolicySummary.ts".into(),
            PolicySummary::export_to_string(&cfg)?,
        ),
        ("Validation.ts".into(), Validation::export_to_string(&cfg)?),
        (
            "ValidationStatistics.ts".into(),
            Statistics::export_to_string(&cfg)?,
        ),
        (
            "ExpectationResult.ts".into(),
            ExpectationResult::export_to_string(&cfg)?,
        ),
        (
            "ExpectationOutcome.ts".into(),
            Outcome::export_to_string(&cfg)?,
        ),
        (
            "StoredCheck.ts".into(),
            StoredCheck::export_to_string(&cfg)?,
        ),
        ("ModelPage.ts".into(), ModelPage::export_to_string(&cfg)?),
        (
            "ExplainView.ts".into(),
            ExplainView::export_to_string(&cfg)?,
        ),
        (
            "FairnessView.ts".into(),
            FairnessView::export_to_string(&cfg)?,
        ),
        (
            "Explanation.ts".into(),
            Explanation::export_to_string(&cfg)?,
        ),
        (
            "ExplainRequest.ts".into(),
            ExplainRequest::export_to_string(&cfg)?,
        ),
        ("ShapValues.ts".into(), ShapValues::export_to_string(&cfg)?),
        (
            "ShapAlgorithm.ts".into(),
            ShapAlgorithm::export_to_string(&cfg)?,
        ),
        ("ExplainedOutput.ts".into(), Output::export_to_string(&cfg)?),
        ("OutputKind.ts".into(), OutputKind::export_to_string(&cfg)?),
        ("Importance.ts".into(), Importance::export_to_string(&cfg)?),
        (
            "FeatureImportance.ts".into(),
            FeatureImportance::export_to_string(&cfg)?,
        ),
        ("Scoring.ts".into(), Scoring::export_to_string(&cfg)?),
        ("Dependence.ts".into(), Dependence::export_to_string(&cfg)?),
        (
            "FeatureDependence.ts".into(),
            FeatureDependence::export_to_string(&cfg)?,
        ),
        ("Lime.ts".into(), Lime::export_to_string(&cfg)?),
        ("LimeRow.ts".into(), LimeRow::export_to_string(&cfg)?),
        ("LimeWeight.ts".into(), LimeWeight::export_to_string(&cfg)?),
        ("Fairness.ts".into(), Fairness::export_to_string(&cfg)?),
        (
            "SensitiveReport.ts".into(),
            SensitiveReport::export_to_string(&cfg)?,
        ),
        (
            "GroupMetrics.ts".into(),
            GroupMetrics::export_to_string(&cfg)?,
        ),
        (
            "EvaluationView.ts".into(),
            EvaluationView::export_to_string(&cfg)?,
        ),
        (
            "RegisterRequest.ts".into(),
            RegisterRequest::export_to_string(&cfg)?,
        ),
        (
            "ModelVersion.ts".into(),
            ModelVersion::export_to_string(&cfg)?,
        ),
        (
            "ModelSummary.ts".into(),
            ModelSummary::export_to_string(&cfg)?,
        ),
        ("Registered.ts".into(), Registered::export_to_string(&cfg)?),
        ("Evaluation.ts".into(), Evaluation::export_to_string(&cfg)?),
        ("ModelTask.ts".into(), Task::export_to_string(&cfg)?),
        (
            "ModelSignature.ts".into(),
            Signature::export_to_string(&cfg)?,
        ),
        (
            "ValueSignature.ts".into(),
            ValueSignature::export_to_string(&cfg)?,
        ),
        ("ModelRuntime.ts".into(), Runtime::export_to_string(&cfg)?),
        ("Curves.ts".into(), Curves::export_to_string(&cfg)?),
        ("RocCurve.ts".into(), RocCurve::export_to_string(&cfg)?),
        ("PrCurve.ts".into(), PrCurve::export_to_string(&cfg)?),
        (
            "CalibrationCurve.ts".into(),
            CalibrationCurve::export_to_string(&cfg)?,
        ),
        (
            "RegressionPoints.ts".into(),
            RegressionPoints::export_to_string(&cfg)?,
        ),
        (
            "MonitorRequest.ts".into(),
            MonitorRequest::export_to_string(&cfg)?,
        ),
        (
            "MonitorView.ts".into(),
            MonitorView::export_to_string(&cfg)?,
        ),
        (
            "MonitorDefaults.ts".into(),
            MonitorDefaults::export_to_string(&cfg)?,
        ),
        (
            "MonitorChartShown.ts".into(),
            MonitorChartShown::export_to_string(&cfg)?,
        ),
        ("MonitorRow.ts".into(), MonitorRow::export_to_string(&cfg)?),
        (
            "MonitorReport.ts".into(),
            MonitorReport::export_to_string(&cfg)?,
        ),
        (
            "MonitorChunk.ts".into(),
            ChunkShown::export_to_string(&cfg)?,
        ),
        (
            "MonitorMetricShown.ts".into(),
            MetricShown::export_to_string(&cfg)?,
        ),
        (
            "MonitorSide.ts".into(),
            MonitorSide::export_to_string(&cfg)?,
        ),
        (
            "MonitorAlert.ts".into(),
            MonitorAlert::export_to_string(&cfg)?,
        ),
        (
            "ChunkingShown.ts".into(),
            ChunkingShown::export_to_string(&cfg)?,
        ),
        (
            "MonitorChunking.ts".into(),
            Chunking::export_to_string(&cfg)?,
        ),
        ("MonitorPeriod.ts".into(), Period::export_to_string(&cfg)?),
        (
            "CalibrationDecision.ts".into(),
            Decision::export_to_string(&cfg)?,
        ),
        ("MonitorMetric.ts".into(), Metric::export_to_string(&cfg)?),
        (
            "MonitorChunkError.ts".into(),
            ChunkError::export_to_string(&cfg)?,
        ),
        (
            "MonitorColumnChunk.ts".into(),
            ColumnChunk::export_to_string(&cfg)?,
        ),
        (
            "MonitorColumnDrift.ts".into(),
            ColumnDriftShown::export_to_string(&cfg)?,
        ),
        ("MonitorColumnRole.ts".into(), Role::export_to_string(&cfg)?),
        (
            "MonitorColumnRow.ts".into(),
            MonitorColumnRow::export_to_string(&cfg)?,
        ),
        (
            "MonitorChunkColumns.ts".into(),
            MonitorChunkColumns::export_to_string(&cfg)?,
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn core_errors_cross_as_code_and_message() {
        let err = lathe_core::Error::NotAProject {
            path: "/data/x".into(),
        };
        let json = serde_json::to_value(IpcError::from(err)).unwrap_or_default();
        assert_eq!(json["code"], "not_a_project");
        assert!(
            json["message"]
                .as_str()
                .unwrap_or_default()
                .contains("/data/x"),
            "{json}"
        );
        assert_eq!(
            json.as_object().map(|o| o.len()),
            Some(2),
            "exactly code and message: {json}"
        );
    }

    #[test]
    fn task_events_are_tagged() {
        let ev = TaskEvent::Progress(Progress {
            stage: "writing".into(),
            done: 3,
            total: Some(9),
        });
        let json = serde_json::to_value(ev).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"event": "progress", "data": {"stage": "writing", "done": 3, "total": 9}})
        );
    }

    /// The front end's types are generated, never written by hand: this fails when a Rust type
    /// changed and `ui/src/bindings/` was not regenerated. Regenerate with
    /// `LATHE_UPDATE_BINDINGS=1 cargo test -p lathe-desktop --lib bindings`.
    #[test]
    fn typescript_bindings_are_current() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings");
        let update = std::env::var_os("LATHE_UPDATE_BINDINGS").is_some();
        let bindings = match typescript_bindings() {
            Ok(b) => b,
            Err(e) => panic!("ts-rs export failed: {e}"),
        };
        let mut stale = Vec::new();
        for (file, text) in bindings {
            let path = dir.join(&file);
            if update {
                std::fs::create_dir_all(&dir).ok();
                std::fs::write(&path, &text).ok();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(file);
            }
        }
        assert!(
            stale.is_empty(),
            "stale TypeScript bindings {stale:?}; run LATHE_UPDATE_BINDINGS=1 cargo test -p lathe-desktop --lib bindings"
        );
    }
}
