//! The request log's writer thread: workers hand it each predicted request; it writes them a
//! row group at a time (every second, or every 10,000 rows) and closes the file when the
//! server stops. A full hand-over channel makes workers wait (so the queue fills and new
//! requests get 503) rather than grow memory or drop rows.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use lathe_core::serve::log::{Logged, RequestLog};

const FLUSH_ROWS: usize = 10_000;
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Starts the writer; it ends once every sender is dropped and the last rows are written.
pub(crate) fn start(
    log: RequestLog,
) -> std::io::Result<(SyncSender<Logged>, std::thread::JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel(4096);
    let thread = std::thread::Builder::new()
        .name("lathe-serve-log".into())
        .spawn(move || write(log, &rx))?;
    Ok((tx, thread))
}

fn write(mut log: RequestLog, rx: &Receiver<Logged>) {
    let mut buffer: Vec<Logged> = Vec::new();
    let mut rows = 0;
    let mut since = Instant::now();
    let flush = |log: &mut RequestLog, buffer: &mut Vec<Logged>| {
        if let Err(e) = log.append(buffer) {
            eprintln!("request log: {e}");
        }
        buffer.clear();
    };
    loop {
        let wait = FLUSH_EVERY.saturating_sub(since.elapsed());
        match rx.recv_timeout(wait) {
            Ok(logged) => {
                rows += logged.rows.rows;
                buffer.push(logged);
                if rows < FLUSH_ROWS && since.elapsed() < FLUSH_EVERY {
                    continue;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        flush(&mut log, &mut buffer);
        rows = 0;
        since = Instant::now();
    }
    flush(&mut log, &mut buffer);
    if let Err(e) = log.close() {
        eprintln!("request log: {e}");
    }
}
