//! The one retry policy every HTTP sink shares: which answers are retried, and when the next attempt is.
//!
//! Timeouts, connection errors, 408, 429 and 5xx (except 501) are transient; other 4xx are permanent.

use super::Outcome;
use backon::{BackoffBuilder, ExponentialBuilder};
use rand::Rng;
use std::time::Duration;

/// Classifies an HTTP status (the body already summarised into `message`).
pub fn classify_status(status: u16, retry_after: Option<Duration>, message: &str) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        408 | 429 | 500 | 502..=599 => Outcome::Retry {
            error: format!("HTTP {status}: {message}"),
            retry_after,
        },
        _ => Outcome::rejected(format!("HTTP {status}: {message}")),
    }
}

/// A request that got no answer is transient: the platform may be restarting.
pub fn classify_send_error(error: &reqwest::Error) -> Outcome {
    let text = crate::http::error_chain(error);
    Outcome::retry(if error.is_timeout() {
        format!("timed out: {text}")
    } else {
        text
    })
}

/// Delay before attempt number `attempts + 1`: exponential from `base`, capped at `max`, with jitter over the
/// upper half so that many deliveries failing together do not come back together.
pub fn backoff_delay(attempts: u32, base: Duration, max: Duration) -> Duration {
    let ceiling = ExponentialBuilder::default()
        .with_min_delay(base)
        .with_max_delay(max)
        .without_max_times()
        .build()
        .nth(attempts.min(64) as usize)
        .unwrap_or(max);
    let half = ceiling / 2;
    half + rand::rng().random_range(Duration::ZERO..=ceiling - half)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(classify_status(200, None, ""), Outcome::Delivered);
        for retried in [408, 429, 500, 502, 503, 504] {
            assert!(
                matches!(classify_status(retried, None, ""), Outcome::Retry { .. }),
                "{retried}"
            );
        }
        for rejected in [400, 401, 403, 404, 413, 501] {
            assert!(
                matches!(
                    classify_status(rejected, None, ""),
                    Outcome::Rejected { .. }
                ),
                "{rejected}"
            );
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_secs(1);
        let max = Duration::from_secs(60);
        for attempts in 0..100 {
            let d = backoff_delay(attempts, base, max);
            assert!(d <= max, "{attempts}: {d:?}");
        }
        let first = backoff_delay(0, base, max);
        assert!(
            first >= Duration::from_millis(500) && first <= base,
            "{first:?}"
        );
        let fifth = backoff_delay(4, base, max);
        assert!(
            fifth >= Duration::from_secs(8) && fifth <= Duration::from_secs(16),
            "{fifth:?}"
        );
    }
}
