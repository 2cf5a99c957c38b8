//! Dynamic batching: requests wait in one bounded queue; each worker thread takes what is
//! queued (up to `max_batch` rows, waiting up to `batch_wait` for more when asked to),
//! predicts it as one matrix and hands each request its own rows back. The models Lathe runs
//! predict every row on its own, so a batched answer equals the unbatched one
//! (`tests/serve.rs` checks it bit for bit).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lathe_core::model::Prediction;
use lathe_core::serve::log::Logged;
use lathe_core::serve::{self, Rows, Served};
use tokio::sync::oneshot;

use crate::drift::LiveDrift;
use crate::metrics::Metrics;

/// What a worker answers: the request's rows predicted, or why not.
pub type Answer = Result<Prediction, String>;

#[derive(Debug)]
struct Work {
    rows: Rows,
    reply: oneshot::Sender<Answer>,
    received: std::time::SystemTime,
}

/// The queue's sending side, shared by every request handler.
#[derive(Clone, Debug)]
pub struct Batcher {
    tx: SyncSender<Work>,
    depth: Arc<AtomicI64>,
    max_queue: usize,
    metrics: Arc<Metrics>,
}

/// The queue is full: the server answers 503 (gRPC `RESOURCE_EXHAUSTED`).
#[derive(Debug)]
pub struct Full;

/// Batching settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub max_batch: usize,
    pub batch_wait: Duration,
    pub max_queue: usize,
    pub threads: usize,
}

impl Batcher {
    /// Starts `settings.threads` workers; they stop when every [`Batcher`] is dropped and the
    /// queue is empty.
    pub fn start(
        served: Arc<Served>,
        settings: Settings,
        metrics: Arc<Metrics>,
        drift: Option<Arc<LiveDrift>>,
        log: Option<SyncSender<Logged>>,
    ) -> (Batcher, Vec<std::thread::JoinHandle<()>>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(settings.max_queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let depth = Arc::new(AtomicI64::new(0));
        let workers = (0..settings.threads.max(1))
            .map(|i| {
                let (rx, served, depth, metrics, drift, log) = (
                    rx.clone(),
                    served.clone(),
                    depth.clone(),
                    metrics.clone(),
                    drift.clone(),
                    log.clone(),
                );
                std::thread::Builder::new()
                    .name(format!("lathe-serve-{i}"))
                    .spawn(move || {
                        worker(
                            &rx,
                            &served,
                            settings,
                            &depth,
                            &metrics,
                            drift.as_deref(),
                            log.as_ref(),
                        )
                    })
                    .unwrap_or_else(|e| panic!("cannot start a worker thread: {e}"))
            })
            .collect();
        (
            Batcher {
                tx,
                depth,
                max_queue: settings.max_queue.max(1),
                metrics,
            },
            workers,
        )
    }

    /// Queues `rows`; the answer arrives on the receiver.
    pub fn submit(&self, rows: Rows) -> Result<oneshot::Receiver<Answer>, Full> {
        let (reply, answer) = oneshot::channel();
        // Waiting requests include those a worker holds while it gathers a batch.
        if self.depth.fetch_add(1, Ordering::SeqCst) >= self.max_queue as i64 {
            self.depth.fetch_sub(1, Ordering::SeqCst);
            return Err(Full);
        }
        match self.tx.try_send(Work {
            rows,
            reply,
            received: std::time::SystemTime::now(),
        }) {
            Ok(()) => {
                self.metrics
                    .queue_depth
                    .set(self.depth.load(Ordering::SeqCst));
                Ok(answer)
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.depth.fetch_sub(1, Ordering::SeqCst);
                Err(Full)
            }
        }
    }
}

fn worker(
    rx: &Mutex<Receiver<Work>>,
    served: &Served,
    settings: Settings,
    depth: &AtomicI64,
    metrics: &Metrics,
    drift: Option<&LiveDrift>,
    log: Option<&SyncSender<Logged>>,
) {
    let mut carried: Option<Work> = None;
    loop {
        let mut batch: Vec<Work> = Vec::new();
        let mut rows = 0;
        // A request carried over from the last batch starts the next one at once: waiting for
        // the queue's lock could wait forever, as another worker holds it while it waits for
        // new requests. It gathers more only when the lock is free.
        let (first, gather) = match carried.take() {
            Some(w) => (w, rx.try_lock().ok()),
            None => {
                let Ok(guard) = rx.lock() else { return };
                match guard.recv() {
                    Ok(w) => (w, Some(guard)),
                    Err(_) => return,
                }
            }
        };
        rows += first.rows.rows;
        batch.push(first);
        if let Some(rx) = gather {
            let deadline = Instant::now() + settings.batch_wait;
            while rows < settings.max_batch {
                let next = match rx.try_recv() {
                    Ok(w) => w,
                    Err(TryRecvError::Disconnected) => break,
                    Err(TryRecvError::Empty) => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        match rx.recv_timeout(left) {
                            Ok(w) => w,
                            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                                break;
                            }
                        }
                    }
                };
                if rows + next.rows.rows > settings.max_batch {
                    carried = Some(next);
                    break;
                }
                rows += next.rows.rows;
                batch.push(next);
            }
        }
        let left = depth.fetch_sub(batch.len() as i64, Ordering::SeqCst) - batch.len() as i64;
        metrics.queue_depth.set(left.max(0));
        metrics.batch_rows.observe(rows as f64);
        metrics.rows.inc_by(rows as u64);
        if let Some(drift) = drift {
            for w in &batch {
                drift.push(&w.rows.values);
            }
        }
        run(served, batch, rows, log, drift);
    }
}

/// Predicts a batch as one matrix and answers each request with its rows (and logs them).
fn run(
    served: &Served,
    batch: Vec<Work>,
    rows: usize,
    log: Option<&SyncSender<Logged>>,
    drift: Option<&LiveDrift>,
) {
    let answer = |w: Work, answer: Answer| {
        if let (Some(drift), Ok(prediction)) = (drift, &answer) {
            drift.push_outputs(served, prediction);
        }
        if let (Some(log), Ok(prediction)) = (log, &answer) {
            let logged = Logged {
                at: w.received,
                rows: w.rows,
                prediction: prediction.clone(),
            };
            let _ = w.reply.send(answer);
            // The writer is gone only when the server is stopping.
            let _ = log.send(logged);
        } else {
            let _ = w.reply.send(answer);
        }
    };
    let alone = |w: Work| {
        let a = served.predict(&w.rows).map_err(|e| e.to_string());
        answer(w, a);
    };
    if let [_] = batch[..] {
        batch.into_iter().for_each(alone);
        return;
    }
    let width = served.features.len();
    let mut x = Vec::with_capacity(rows * width);
    for w in &batch {
        x.extend_from_slice(&w.rows.values);
    }
    match served.predict(&Rows { values: x, rows }) {
        Ok(all) => {
            let mut start = 0;
            for w in batch {
                let end = start + w.rows.rows;
                answer(w, Ok(serve::slice(&all, start, end)));
                start = end;
            }
        }
        // One request's rows failed the whole batch: answer each on its own, so only it fails.
        Err(_) => batch.into_iter().for_each(alone),
    }
}
