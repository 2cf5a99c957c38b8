// Typed wrappers over the app's Tauri commands, one per command of src-tauri/src/command_list.rs
// (a Rust test checks that they agree). The payload types are generated from the Rust ones
// (ui/src/bindings, by ts-rs); every rejection is normalised to IpcError { code, message }, its
// code one of the core's ErrorCodes.
import { Channel, invoke } from "@tauri-apps/api/core";
import type { Comparison } from "../bindings/Comparison";
import type { KeyType } from "../bindings/KeyType";
import type { DatasetSummary } from "../bindings/DatasetSummary";
import type { ImportOutcome } from "../bindings/ImportOutcome";
import type { IpcError } from "../bindings/IpcError";
import type { Profile } from "../bindings/Profile";
import type { ProfileView } from "../bindings/ProfileView";
import type { ComparisonView } from "../bindings/ComparisonView";
import type { Progress } from "../bindings/Progress";
import type { ProjectOverview } from "../bindings/ProjectOverview";
import type { RecentProject } from "../bindings/RecentProject";
import type { RowsPage } from "../bindings/RowsPage";
import type { TaskEvent } from "../bindings/TaskEvent";
import type { ImportSummary } from "../bindings/ImportSummary";
import type { MetricStat } from "../bindings/MetricStat";
import type { RunChartView } from "../bindings/RunChartView";
import type { RunComparison } from "../bindings/RunComparison";
import type { RunRecord } from "../bindings/RunRecord";
import type { RunSource } from "../bindings/RunSource";
import type { RunsPage } from "../bindings/RunsPage";
import type { RunsView } from "../bindings/RunsView";
import type { RunComparisonView } from "../bindings/RunComparisonView";
import type { GroupSummary } from "../bindings/GroupSummary";
import type { GroupStat } from "../bindings/GroupStat";
import type { RunGroups } from "../bindings/RunGroups";
import type { ColumnDrift } from "../bindings/ColumnDrift";
import type { DriftRequest } from "../bindings/DriftRequest";
import type { DriftView } from "../bindings/DriftView";
import type { StoredDrift } from "../bindings/StoredDrift";
import type { CheckRequest } from "../bindings/CheckRequest";
import type { CheckRow } from "../bindings/CheckRow";
import type { CheckView } from "../bindings/CheckView";
import type { PolicySummary } from "../bindings/PolicySummary";
import type { StoredCheck } from "../bindings/StoredCheck";
import type { EvaluationView } from "../bindings/EvaluationView";
import type { Evaluation } from "../bindings/Evaluation";
import type { ModelPage } from "../bindings/ModelPage";
import type { ModelSummary } from "../bindings/ModelSummary";
import type { ModelVersion } from "../bindings/ModelVersion";
import type { RegisterRequest } from "../bindings/RegisterRequest";
import type { Registered } from "../bindings/Registered";
import type { ExplainView } from "../bindings/ExplainView";
import type { ExplainRequest } from "../bindings/ExplainRequest";
import type { Explanation } from "../bindings/Explanation";
import type { FairnessView } from "../bindings/FairnessView";
import type { MonitorDefaults } from "../bindings/MonitorDefaults";
import type { MonitorRequest } from "../bindings/MonitorRequest";
import type { MonitorView } from "../bindings/MonitorView";
import type { ShapValues } from "../bindings/ShapValues";
import type { SensitiveReport } from "../bindings/SensitiveReport";
import type { BundleExportRequest } from "../bindings/BundleExportRequest";
import type { BundleRecord } from "../bindings/BundleRecord";
import type { ServeStatus } from "../bindings/ServeStatus";
import type { ServeLive } from "../bindings/ServeLive";
import type { LiveMetrics } from "../bindings/LiveMetrics";
import type { LiveFeature } from "../bindings/LiveFeature";
import type { Exported } from "../bindings/Exported";
import type { NewKey } from "../bindings/NewKey";
import type { ErrorCode } from "../bindings/ErrorCode";
import type { RowsRequest } from "../bindings/RowsRequest";
import type { ChartRequest } from "../bindings/ChartRequest";
import type { RunsRequest } from "../bindings/RunsRequest";
import type { GroupRunsRequest } from "../bindings/GroupRunsRequest";
import type { RunChartRequest } from "../bindings/RunChartRequest";
import type { RunsPlotRequest } from "../bindings/RunsPlotRequest";
import type { RunsReportRequest } from "../bindings/RunsReportRequest";
import type { ImportanceRequest } from "../bindings/ImportanceRequest";
import type { HyperparameterImportance } from "../bindings/HyperparameterImportance";

export type {
  ErrorCode,
  RunsView,
  RunComparisonView,
  ProfileView,
  ComparisonView,
  RowsRequest,
  ChartRequest,
  RunsRequest,
  GroupRunsRequest,
  RunChartRequest,
  RunsPlotRequest,
  ImportanceRequest,
  HyperparameterImportance,
  BundleExportRequest,
  BundleRecord,
  ServeStatus,
  ServeLive,
  LiveMetrics,
  LiveFeature,
  Exported,
  NewKey,
  KeyType,
  Comparison,
  DatasetSummary,
  ImportOutcome,
  IpcError,
  Profile,
  Progress,
  ProjectOverview,
  RecentProject,
  RowsPage,
  ImportSummary,
  MetricStat,
  RunChartView,
  RunComparison,
  RunRecord,
  RunSource,
  RunsPage,
  GroupSummary,
  GroupStat,
  RunGroups,
  ColumnDrift,
  DriftRequest,
  DriftView,
  StoredDrift,
  CheckRequest,
  CheckRow,
  CheckView,
  PolicySummary,
  StoredCheck,
  EvaluationView,
  Evaluation,
  ModelPage,
  ModelSummary,
  ModelVersion,
  RegisterRequest,
  Registered,
  ExplainView,
  ExplainRequest,
  Explanation,
  FairnessView,
  MonitorDefaults,
  MonitorRequest,
  MonitorView,
  ShapValues,
  SensitiveReport,
};

/** A failure of the app itself (not the input's): the one code the front end adds. */
const INTERNAL: ErrorCode = "internal";

export function isIpcError(value: unknown): value is IpcError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { code?: unknown }).code === "string" &&
    typeof (value as { message?: unknown }).message === "string"
  );
}

/** Whatever a command rejected with, as the one error shape the UI shows. */
export function toIpcError(error: unknown): IpcError {
  if (isIpcError(error)) return { code: error.code, message: error.message };
  if (typeof error === "string") return { code: INTERNAL, message: error };
  if (error instanceof Error) return { code: INTERNAL, message: error.message };
  return { code: INTERNAL, message: `unexpected error: ${JSON.stringify(error)}` };
}

/** The error of a task with progress and Cancel: a cancel is not a failure, so the banner
 * says `cancelled` (what happened to the project) instead of the core's message. */
export function taskError(error: unknown, cancelled: string): IpcError {
  const err = toIpcError(error);
  return err.code === "cancelled" ? { code: err.code, message: cancelled } : err;
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toIpcError(error);
  }
}

function progressChannel(onProgress: (p: Progress) => void): Channel<TaskEvent> {
  const channel = new Channel<TaskEvent>();
  channel.onmessage = (message) => {
    if (message.event === "progress") onProgress(message.data);
  };
  return channel;
}

export const api = {
  startupProject: () => call<ProjectOverview | null>("startup_project"),
  recentProjects: () => call<RecentProject[]>("recent_projects"),
  openProject: (path: string) => call<ProjectOverview>("open_project", { path }),
  createProject: (path: string, name: string | null, onProgress: (p: Progress) => void) =>
    call<ProjectOverview>("create_project", { path, name, onProgress: progressChannel(onProgress) }),
  createDemoProject: (path: string, onProgress: (p: Progress) => void) =>
    call<ProjectOverview>("create_demo_project", { path, onProgress: progressChannel(onProgress) }),
  projectOverview: () => call<ProjectOverview>("project_overview"),
  closeProject: () => call<null>("close_project"),
  listDatasets: () => call<DatasetSummary[]>("list_datasets"),
  datasetProfile: (reference: string) => call<ProfileView>("dataset_profile", { reference }),
  importDataset: (path: string, name: string | null, taskId: string, onProgress: (p: Progress) => void) =>
    call<ImportOutcome>("import_dataset", { path, name, taskId, onProgress: progressChannel(onProgress) }),
  cancelTask: (taskId: string) => call<null>("cancel_task", { taskId }),
  datasetRows: (reference: string, query: RowsRequest) => call<RowsPage>("dataset_rows", { reference, query }),
  datasetDiff: (a: string, b: string) => call<ComparisonView>("dataset_diff", { a, b }),
  datasetChart: (chart: ChartRequest) => call<string>("dataset_chart", { chart }),
  sourceProfile: (source: string, taskId: string, onProgress: (p: Progress) => void) =>
    call<ProfileView>("source_profile", { source, taskId, onProgress: progressChannel(onProgress) }),
  exportChart: (chart: ChartRequest, path: string) => call<null>("export_chart", { chart, path }),
  importRuns: (path: string, experiments: string[], taskId: string, onProgress: (p: Progress) => void) =>
    call<ImportSummary>("import_runs", { path, experiments, taskId, onProgress: progressChannel(onProgress) }),
  syncRuns: (path: string, taskId: string, onProgress: (p: Progress) => void) =>
    call<ImportSummary>("sync_runs", { path, taskId, onProgress: progressChannel(onProgress) }),
  refreshRuns: (path: string) => call<ImportSummary>("refresh_runs", { path }),
  runSources: () => call<RunSource[]>("run_sources"),
  listRuns: (query: RunsRequest) => call<RunsView>("list_runs", { query }),
  groupRuns: (query: GroupRunsRequest) => call<RunGroups>("group_runs", { query }),
  compareRuns: (runs: number[]) => call<RunComparisonView>("compare_runs", { runs }),
  runsChart: (spec: RunChartRequest) => call<RunChartView>("runs_chart", { spec }),
  exportRunsChart: (spec: RunChartRequest, path: string) => call<null>("export_runs_chart", { spec, path }),
  runsPlot: (spec: RunsPlotRequest) => call<string>("runs_plot", { spec }),
  runsImportance: (request: ImportanceRequest) => call<HyperparameterImportance>("runs_importance", { request }),
  exportRunsPlot: (spec: RunsPlotRequest, path: string) => call<null>("export_runs_plot", { spec, path }),
  exportRunsReport: (request: RunsReportRequest, path: string) =>
    call<null>("export_runs_report", { request, path }),
  runDrift: (reference: string, current: string, request: DriftRequest, taskId: string, onProgress: (p: Progress) => void) =>
    call<DriftView>("run_drift", {
      reference,
      currentData: current,
      request,
      taskId,
      onProgress: progressChannel(onProgress),
    }),
  driftWhatIf: (id: number, threshold: number | null) => call<DriftView>("drift_what_if", { id, threshold }),
  driftColumnChart: (id: number, column: string) => call<string>("drift_column_chart", { id, column }),
  exportDriftReport: (id: number, threshold: number | null, path: string) =>
    call<null>("export_drift_report", { id, threshold, path }),
  listDrift: () => call<StoredDrift[]>("list_drift"),
  validatePolicy: (request: CheckRequest) => call<PolicySummary>("validate_policy", { request }),
  runCheck: (request: CheckRequest, taskId: string, onProgress: (p: Progress) => void) =>
    call<CheckView>("run_check", { request, taskId, onProgress: progressChannel(onProgress) }),
  listChecks: (dataset: string | null) => call<StoredCheck[]>("list_checks", { dataset }),
  storedCheck: (id: number) => call<CheckView>("stored_check", { id }),
  listModels: () => call<ModelSummary[]>("list_models"),
  modelPage: (reference: string) => call<ModelPage>("model_page", { reference }),
  registerModel: (path: string, request: RegisterRequest) => call<Registered>("register_model", { path, request }),
  setModelAlias: (reference: string, alias: string) => call<ModelVersion>("set_model_alias", { reference, alias }),
  evaluateModel: (reference: string, data: string, target: string | null, taskId: string, onProgress: (p: Progress) => void) =>
    call<EvaluationView>("evaluate_model", { reference, data, target, taskId, onProgress: progressChannel(onProgress) }),
  evaluationCharts: (evaluation: Evaluation) => call<EvaluationView>("evaluation_charts", { evaluation }),
  explainModel: (reference: string, data: string, request: ExplainRequest, taskId: string, onProgress: (p: Progress) => void) =>
    call<ExplainView>("explain_model", { reference, data, request, taskId, onProgress: progressChannel(onProgress) }),
  shapChart: (explanation: Explanation, chart: "waterfall" | "dependence", row: number | null, feature: string | null) =>
    call<string>("shap_chart", { explanation, chart, row, feature }),
  modelFairness: (reference: string, data: string, target: string | null, sensitive: string[], taskId: string, onProgress: (p: Progress) => void) =>
    call<FairnessView>("model_fairness", { reference, data, target, sensitive, taskId, onProgress: progressChannel(onProgress) }),
  monitorDefaults: (reference: string) => call<MonitorDefaults>("monitor_defaults", { reference }),
  monitorModel: (reference: string, analysis: string, request: MonitorRequest, taskId: string, onProgress: (p: Progress) => void) =>
    call<MonitorView>("monitor_model", { reference, analysis, request, taskId, onProgress: progressChannel(onProgress) }),
  datasetColumns: (reference: string) => call<string[]>("dataset_columns", { reference }),
  exportBundle: (request: BundleExportRequest, taskId: string, onProgress: (p: Progress) => void) =>
    call<Exported>("export_bundle", { request, taskId, onProgress: progressChannel(onProgress) }),
  listBundles: () => call<BundleRecord[]>("list_bundles"),
  createSigningKey: (path: string, keyType: KeyType) => call<NewKey>("create_signing_key", { path, keyType }),
  showInFolder: (path: string) => call<null>("show_in_folder", { path }),
  serveBundle: (path: string) => call<ServeStatus>("serve_bundle", { path }),
  stopServing: () => call<null>("stop_serving"),
  servingStatus: () => call<ServeLive | null>("serving_status"),
};
