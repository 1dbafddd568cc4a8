//! Ctrl-C and SIGTERM (what CI cancellation and `docker stop` send), once for the whole
//! process: both stop a run the same way (exit 130, manifest `interrupted`). A handler registered per run would leave gaps (the
//! moments between the two runs of a compare, the statistics after them) in which a SIGINT
//! is swallowed; one flag set for the process's life closes them.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

static REQUESTED: AtomicBool = AtomicBool::new(false);

fn notify() -> &'static Notify {
    static NOTIFY: OnceLock<Notify> = OnceLock::new();
    NOTIFY.get_or_init(Notify::new)
}

fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
    notify().notify_waiters();
}

/// Starts listening for Ctrl-C and SIGTERM on `runtime`.
pub fn install(runtime: &tokio::runtime::Runtime) {
    runtime.spawn(async {
        while tokio::signal::ctrl_c().await.is_ok() {
            request();
        }
    });
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        // Registered now, inside the runtime, so a SIGTERM from here on is never the
        // default action (an abrupt exit 143 with the manifest left `running`).
        let _guard = runtime.enter();
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            runtime.spawn(async move {
                while terminate.recv().await.is_some() {
                    request();
                }
            });
        }
    }
}

/// Whether Ctrl-C was pressed (or SIGTERM received) since the process started.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Resolves once Ctrl-C has been pressed (at once if it already was).
pub async fn wait() {
    loop {
        let notified = notify().notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if requested() {
            return;
        }
        notified.await;
    }
}

/// Writes one line to stderr, ignoring a closed stream: a message must never turn into a
/// panic (`promptgate ... 2>&1 | head` closes it early).
pub fn note(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{message}");
}
