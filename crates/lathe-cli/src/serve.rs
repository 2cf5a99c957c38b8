//! `lathe serve`: a bundle (verified first) or a registered model behind the Open Inference
//! Protocol and MLflow's scoring protocol, until SIGTERM or Ctrl-C.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use lathe_core::api::Input;
use lathe_core::bundle;
use lathe_core::serve::log::RequestLog;
use lathe_core::serve::{self, ModelParts, Served};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A bundle (.tar.gz or folder, verified before serving), a registered model
    /// (`NAME[@VERSION|@ALIAS]`) or an .onnx file with --features.
    pub target: String,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// The REST port (0: a free one, printed at start).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The gRPC port (0: a free one).
    #[arg(long, default_value_t = 8081)]
    pub grpc_port: u16,
    /// Serve no gRPC.
    #[arg(long)]
    pub no_grpc: bool,
    /// The signer's public key (.pub): the bundle must be signed by it.
    #[arg(long, value_name = "KEY.pub")]
    pub key: Option<PathBuf>,
    /// Rows per predicted batch, at most.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub max_batch: usize,
    /// How long a worker waits for more requests to batch (0: it predicts what is queued).
    #[arg(long, default_value_t = 0, value_name = "M")]
    pub batch_wait_ms: u64,
    /// Requests waiting for a worker before new ones get 503 (gRPC RESOURCE_EXHAUSTED).
    #[arg(long, default_value_t = 1024, value_name = "Q")]
    pub max_queue: usize,
    /// Worker threads (default: every core).
    #[arg(long, value_name = "T")]
    pub threads: Option<usize>,
    /// Request bodies over this many bytes get 413.
    #[arg(long, default_value_t = 32 << 20, value_name = "BYTES")]
    pub max_body_bytes: usize,
    /// Serve /metrics for Prometheus, with live input drift against the bundle's reference
    /// profile.
    #[arg(long)]
    pub metrics: bool,
    /// Recent rows the live drift is computed on.
    #[arg(long, default_value_t = 1000, value_name = "ROWS")]
    pub drift_window: usize,
    /// Append every predicted request (its time, features and outputs) to Parquet files in
    /// DIR, which `lathe drift`, `lathe dataset import` and `lathe bundle check-drift` read.
    #[arg(long, value_name = "DIR")]
    pub log_requests: Option<PathBuf>,
    /// Rows per request log file before a new one is started.
    #[arg(long, default_value_t = 100_000, value_name = "ROWS")]
    pub log_rows_per_file: usize,
    /// The feature columns in the model's order (for a plain .onnx file).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub features: Option<Vec<String>>,
}

pub fn run(args: ServeArgs, dir: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let path = Path::new(&args.target);
    let served = if serve::is_bundle(path) {
        let key = args
            .key
            .as_deref()
            .map(bundle::sign::read_public)
            .transpose()?;
        Served::bundle(path, key.as_ref())?
    } else {
        if args.key.is_some() {
            return Err(lathe_core::Error::BadArgument {
                argument: "key",
                detail: format!(
                    "--key checks a bundle's signature; {} is not a bundle (a .tar.gz or a folder with manifest.json)",
                    args.target
                ),
            }
            .into());
        }
        let mut project = None;
        let loaded = Input::model(&args.target).load_model(args.features, || {
            crate::project_on_demand(&mut project, dir)
        })?;
        Served::model(ModelParts {
            model: loaded.model,
            reference: loaded.name,
            features: loaded.features,
        })
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    // Large requests predict their rows in parallel on rayon's pool: the same threads.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    let options = lathe_serve::Options {
        host: args.host,
        port: args.port,
        grpc_port: (!args.no_grpc).then_some(args.grpc_port),
        max_batch: args.max_batch,
        batch_wait: Duration::from_millis(args.batch_wait_ms),
        max_queue: args.max_queue,
        threads,
        max_body: args.max_body_bytes,
        metrics: args.metrics,
        drift_window: args.drift_window,
    };
    // What the status does not say: the version on its own and the signer.
    let (name, version, signed_by) = (
        served.name.clone(),
        served.version.clone(),
        served.signed_by.clone(),
    );
    let log = args
        .log_requests
        .as_deref()
        .map(|dir| RequestLog::create(dir, served.features.clone(), args.log_rows_per_file))
        .transpose()?;
    let server = lathe_serve::Server::start(served, options, log)?;
    let status = &server.status;
    let (http, source, drift) = (&status.http, &status.source, status.live_drift);
    let started = serde_json::json!({
        "model": name,
        "version": version,
        "source": source,
        "signed_by": signed_by,
        "http": http,
        "grpc": status.grpc,
        "metrics": args.metrics.then(|| status.metrics_url.clone()),
        "live_drift": drift,
        "prediction_drift": status.prediction_drift,
        "log_requests": args.log_requests.as_ref().map(|d| d.display().to_string()),
    });
    if json {
        crate::out(&started.to_string())?;
    } else {
        let mut text = format!(
            "Serving {name}{} from {source}{}\n  REST  {}  and  {http}/invocations",
            if version.is_empty() {
                String::new()
            } else {
                format!(" version {version}")
            },
            signed_by
                .map(|s| format!(" (signed by {s})"))
                .unwrap_or_default(),
            status.infer_url,
        );
        if let Some(g) = &status.grpc {
            text.push_str(&format!("\n  gRPC  {g}  (inference.GRPCInferenceService)"));
        }
        if args.metrics {
            text.push_str(&format!(
                "\n  metrics  {}{}",
                status.metrics_url,
                match (drift, status.prediction_drift) {
                    (true, true) => " (with live drift of the inputs and the predictions)",
                    (true, false) => " (with live drift of the inputs)",
                    (false, true) => " (with live drift of the predictions)",
                    (false, false) => "",
                }
            ));
        }
        if let Some(dir) = &args.log_requests {
            text.push_str(&format!("\n  logging requests to {}", dir.display()));
        }
        text.push_str("\nSIGTERM or Ctrl-C stops it after answering the requests in flight.");
        crate::out(&text)?;
    }
    server.stop_on_signal()?;
    if !json {
        crate::out("Stopped.")?;
    }
    Ok(())
}
