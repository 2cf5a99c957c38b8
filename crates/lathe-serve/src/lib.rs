//! `lathe serve`: one model behind the Open Inference Protocol (KServe v2, REST and gRPC) and
//! MLflow's scoring protocol (`POST /invocations`), with dynamic batching, a bounded queue,
//! Prometheus `/metrics` with live input drift, and a graceful stop.
//!
//! What a request means and how it is refused is the core's ([`lathe_core::serve`]); this
//! crate moves bytes: `http.rs` and `grpc.rs` parse and answer, [`batch`] queues and predicts,
//! [`metrics`] counts.

pub mod batch;
mod drift;
mod grpc;
mod http;
mod log;
pub mod metrics;

/// The Open Inference Protocol's gRPC messages, service and client.
#[allow(clippy::all, missing_debug_implementations)]
pub mod pb {
    tonic::include_proto!("inference");
}

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lathe_core::serve::Served;
use lathe_core::serve::live::ServeStatus;
use lathe_core::serve::log::RequestLog;
use tokio::sync::watch;

use batch::{Batcher, Settings};
use metrics::Metrics;

/// How to serve: addresses, batching and limits. [`Options::default`] holds the defaults
/// the CLI documents.
#[derive(Debug, Clone)]
pub struct Options {
    pub host: std::net::IpAddr,
    /// 0 picks a free port (the one bound is in [`Server::http`]).
    pub port: u16,
    /// gRPC's port (0: a free one); `None`: no gRPC.
    pub grpc_port: Option<u16>,
    /// Rows per predicted batch, at most (a larger request is predicted on its own).
    pub max_batch: usize,
    /// How long a worker waits for more requests before predicting what it has (0: it
    /// takes what is queued and never waits).
    pub batch_wait: Duration,
    /// Requests waiting for a worker before new ones get 503 / `RESOURCE_EXHAUSTED`.
    pub max_queue: usize,
    /// Worker threads predicting batches.
    pub threads: usize,
    /// Request bodies over this many bytes get 413.
    pub max_body: usize,
    /// Serve `/metrics` (with live drift when the bundle has a reference profile).
    pub metrics: bool,
    /// Rows of the live drift window.
    pub drift_window: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            port: 8080,
            grpc_port: Some(8081),
            max_batch: 256,
            batch_wait: Duration::ZERO,
            max_queue: 1024,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_body: 32 << 20,
            metrics: false,
            drift_window: 1000,
        }
    }
}

/// What the handlers share.
#[derive(Debug)]
pub(crate) struct State {
    pub served: Arc<Served>,
    pub batcher: Batcher,
    pub metrics: Arc<Metrics>,
    pub drift: Option<Arc<drift::LiveDrift>>,
    pub options: Options,
}

/// A running server: its addresses, and the handle that stops it.
#[derive(Debug)]
pub struct Server {
    pub http: SocketAddr,
    pub grpc: Option<SocketAddr>,
    /// What it serves and where, as front ends show it.
    pub status: ServeStatus,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Binds the ports and starts serving on a runtime of the server's own; returns once
    /// both listen. A port in use is an error naming it. With `log`, every predicted request
    /// is written to it.
    pub fn start(
        served: Served,
        options: Options,
        log: Option<RequestLog>,
    ) -> std::io::Result<Server> {
        let bind = |port: u16, what: &str| {
            let addr = SocketAddr::new(options.host, port);
            std::net::TcpListener::bind(addr)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!("cannot listen for {what} on {addr}: {e} (pick another port)"),
                    )
                })
        };
        let http_listener = bind(options.port, "HTTP")?;
        let grpc_listener = options.grpc_port.map(|p| bind(p, "gRPC")).transpose()?;
        let http = http_listener.local_addr()?;
        let grpc = grpc_listener.as_ref().map(|l| l.local_addr()).transpose()?;
        let reference = if served.version.is_empty() {
            served.name.clone()
        } else {
            format!("{}@{}", served.name, served.version)
        };
        let base = format!("http://{http}");
        let status = ServeStatus {
            model: reference,
            source: served.source.clone(),
            infer_url: format!("{base}/v2/models/{}/infer", served.name),
            metrics_url: format!("{base}/metrics"),
            http: base,
            grpc: grpc.map(|g| g.to_string()),
            live_drift: options.metrics && served.profile.is_some(),
            prediction_drift: options.metrics && served.predictions.is_some(),
        };
        let (stop, stopped) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("lathe-serve".into())
            .spawn(move || run(served, options, log, http_listener, grpc_listener, stopped))?;
        Ok(Server {
            http,
            grpc,
            status,
            stop,
            thread: Some(thread),
        })
    }

    /// Stops taking connections, answers the requests in flight, then returns.
    pub fn stop(mut self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        self.join()
    }

    /// Waits for the server to end (after [`Server::stop`] from elsewhere, or an error).
    pub fn join(&mut self) -> std::io::Result<()> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the server thread panicked"))),
            None => Ok(()),
        }
    }

    /// Serves until SIGTERM or SIGINT (Ctrl-C), then stops as [`Server::stop`] does.
    pub fn stop_on_signal(self) -> std::io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate())?;
            let mut int = signal(SignalKind::interrupt())?;
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            Ok::<_, std::io::Error>(())
        })?;
        self.stop()
    }

    /// A handle that stops the server from another thread or a signal handler.
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        let _ = self.join();
    }
}

fn run(
    served: Served,
    options: Options,
    log: Option<RequestLog>,
    http_listener: std::net::TcpListener,
    grpc_listener: Option<std::net::TcpListener>,
    stopped: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let served = Arc::new(served);
    let metrics = Arc::new(Metrics::new());
    let drift = options
        .metrics
        .then(|| drift::LiveDrift::new(&served, options.drift_window))
        .flatten()
        .map(Arc::new);
    let settings = Settings {
        max_batch: options.max_batch.max(1),
        batch_wait: options.batch_wait,
        max_queue: options.max_queue,
        threads: options.threads.max(1),
    };
    let (log, writer) = match log {
        Some(l) => {
            let (tx, thread) = log::start(l)?;
            (Some(tx), Some(thread))
        }
        None => (None, None),
    };
    let (batcher, workers) = Batcher::start(
        served.clone(),
        settings,
        metrics.clone(),
        drift.clone(),
        log,
    );
    let state = Arc::new(State {
        served,
        batcher,
        metrics,
        drift,
        options: options.clone(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads.clamp(1, 4))
        .thread_name("lathe-serve-io")
        .enable_all()
        .build()?;
    let result = runtime.block_on(async move {
        let until = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let http = tokio::net::TcpListener::from_std(http_listener)?;
        let router = http::router(state.clone());
        let http_server = async {
            axum::serve(http, router)
                .with_graceful_shutdown(until(stopped.clone()))
                .await
        };
        let grpc_server = async {
            match grpc_listener {
                Some(l) => {
                    let l = tokio::net::TcpListener::from_std(l)?;
                    tonic::transport::Server::builder()
                        .add_service(grpc::service(state.clone()))
                        .serve_with_incoming_shutdown(
                            tonic::transport::server::TcpIncoming::from(l),
                            until(stopped.clone()),
                        )
                        .await
                        .map_err(std::io::Error::other)
                }
                None => Ok(()),
            }
        };
        let (h, g) = tokio::join!(http_server, grpc_server);
        drop(state);
        h.and(g)
    });
    for w in workers {
        let _ = w.join();
    }
    // The workers held the log's senders: the writer now writes the last rows and closes.
    if let Some(w) = writer {
        let _ = w.join();
    }
    result
}
