//! Logs: JSON (one object per line) or pretty, to stderr so command output on stdout stays parseable.
//!
//! Owns: the subscriber setup and the names of the fields every event uses, so dashboards can rely on them.
//! Must never: log a secret; config types redact their own Debug, and URLs are logged without passwords.

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Field names shared by every event.
pub mod fields {
    pub const COLLECTION: &str = "collection";
    pub const SINK: &str = "sink";
    pub const OBJECTS: &str = "objects";
    pub const NEW: &str = "new";
    pub const DUPLICATES: &str = "duplicates";
    pub const QUARANTINED: &str = "quarantined";
    pub const DURATION_MS: &str = "duration_ms";
    pub const CURSOR: &str = "cursor";
    pub const ERROR: &str = "error";
}

/// Installs the global subscriber. `RUST_LOG`, when set, wins over the configured level.
pub fn init(format: LogFormat, level: &str) {
    // sqlx logs every statement at info and PostgreSQL notices ("relation already exists, skipping") at
    // info: quiet unless the directive asks for sqlx.
    let directive = if level.contains("sqlx") {
        level.to_owned()
    } else {
        format!("{level},sqlx=warn")
    };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&directive))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests) is not an error worth failing over.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}

/// systemd `Type=notify`: `READY=1` once the relay is polling, `WATCHDOG=1` at half the watchdog interval
/// while the runtime is alive, `STOPPING=1` when shutdown starts. Without `NOTIFY_SOCKET` (not under
/// systemd) every call does nothing.
pub mod service {
    use std::time::Duration;
    use tokio_util::sync::CancellationToken;
    use tracing::warn;

    fn send(state: sd_notify::NotifyState) {
        if let Err(error) = sd_notify::notify(&[state]) {
            warn!(message = "cannot notify systemd", %error);
        }
    }

    pub fn ready() {
        send(sd_notify::NotifyState::Ready);
    }

    pub fn stopping() {
        send(sd_notify::NotifyState::Stopping);
    }

    /// Pings the watchdog until cancelled, when systemd asked for one (`WatchdogSec=`).
    pub fn spawn_watchdog(cancel: CancellationToken) {
        let Some(interval) = sd_notify::watchdog_enabled() else {
            return;
        };
        let period = (interval / 2).max(Duration::from_millis(10));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = ticks.tick() => send(sd_notify::NotifyState::Watchdog),
                }
            }
        });
    }
}
