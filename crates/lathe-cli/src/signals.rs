//! SIGINT (Ctrl-C) and SIGTERM. The first cancels the command's job (the token every long
//! step checks: an import, export or analysis stops at its next step, keeping nothing of it)
//! and the command ends with 130 (SIGINT) or 143 (SIGTERM). A command with no step left to
//! check is given [`GRACE`] to finish, then ended with that code: what it writes is kept whole
//! or not at all (objects are renamed into place, rows committed in one transaction), and the
//! next open of the project removes its temporary files. A second signal ends it at once.
//! `lathe serve` handles the signals itself (it drains requests in flight).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use lathe_core::job::CancelToken;

/// How long a cancelled command may take to reach its next check.
const GRACE: Duration = Duration::from_secs(3);

static TOKEN: OnceLock<CancelToken> = OnceLock::new();
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The token a signal cancels: every job of the command is made with it.
pub fn token() -> CancelToken {
    TOKEN.get_or_init(CancelToken::new).clone()
}

/// `128 + the signal` once one arrived (130 for SIGINT, 143 for SIGTERM).
pub fn exit_code() -> Option<u8> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        n => Some(128 + n as u8),
    }
}

/// Starts watching for the signals (on a thread of its own).
pub fn watch() {
    let token = token();
    let watcher = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let (Ok(mut int), Ok(mut term)) = (
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::terminate()),
                ) else {
                    return;
                };
                let first = tokio::select! {
                    _ = int.recv() => libc_number(SignalKind::interrupt()),
                    _ = term.recv() => libc_number(SignalKind::terminate()),
                };
                SIGNAL.store(first, Ordering::SeqCst);
                token.cancel();
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                    () = tokio::time::sleep(GRACE) => {}
                }
                eprintln!("error: stopped by a signal; nothing was left half-written");
                std::process::exit(128 + first);
            });
        });
    // Without the watcher the signals keep their default action, which is as safe.
    drop(watcher);
}

fn libc_number(kind: tokio::signal::unix::SignalKind) -> i32 {
    kind.as_raw_value()
}
