//! The TAXII 2.1 / 2.0 client: discovery, object pages and paging, auth, TLS, timeouts, size caps, retries.
//!
//! Owns: the TAXII wire format (media types, envelopes, bundles, `Range`, date headers) and HTTP.
//! Must never: touch the database or decide what a cursor is; it reports what the server said
//! (objects, `X-TAXII-Date-Added-Last`, `Date`) and the pipeline decides.

pub mod client;
pub mod discovery;
pub mod paging;
pub mod time;

pub use client::TaxiiClient;
pub use paging::{FetchedPage, Poll, PollRequest};

use std::time::Duration;

/// TAXII 2.1 media type, for `Accept` on every request.
pub const MEDIA_TAXII_21: &str = "application/taxii+json;version=2.1";
/// TAXII 2.0 media type of discovery, API roots and collections.
pub const MEDIA_TAXII_20: &str = "application/vnd.oasis.taxii+json; version=2.0";
/// TAXII 2.0 media type of objects (a STIX bundle).
pub const MEDIA_STIX_20: &str = "application/vnd.oasis.stix+json; version=2.0";

#[derive(Debug, thiserror::Error)]
pub enum TaxiiError {
    #[error("cannot build the HTTP client: {0}")]
    Setup(String),
    #[error("cannot resolve the server's name for {url}: {message}")]
    Dns { url: String, message: String },
    #[error("TLS handshake with {url} failed: {message}; check [collections.tls] ca_file / client_cert_file")]
    Tls { url: String, message: String },
    #[error("cannot reach {url}: {message}")]
    Connect { url: String, message: String },
    #[error("timed out waiting for {url}")]
    Timeout { url: String },
    #[error("the server refused the credentials for {url} (HTTP {status}){challenge}")]
    Unauthorized {
        url: String,
        status: u16,
        /// ` (WWW-Authenticate: …)` when the server said how to authenticate.
        challenge: String,
    },
    #[error("not found: {url} (HTTP 404): check the collection URL, or the credentials (some servers answer 404 for both)")]
    NotFound { url: String },
    #[error("HTTP {status} from {url}: {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
        /// Seconds the server asked us to wait (`Retry-After`).
        retry_after: Option<Duration>,
    },
    #[error("response from {url} is larger than the {limit}-byte limit (max_response_bytes)")]
    TooLarge { url: String, limit: u64 },
    #[error("response body from {url} was cut off: {message}")]
    Body { url: String, message: String },
    #[error("invalid TAXII response from {url}: {message}")]
    InvalidResponse {
        url: String,
        message: String,
        /// The body as received, kept for quarantine.
        raw: Vec<u8>,
    },
    #[error("paging stopped at {url}: {message}")]
    Paging { url: String, message: String },
}

impl TaxiiError {
    /// Connection errors, timeouts, cut-off bodies, unparseable bodies (usually a cut-off in disguise),
    /// 408, 429 and 5xx (except 501) are retried; auth failures, 404 and other 4xx are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            TaxiiError::Connect { .. }
            | TaxiiError::Timeout { .. }
            | TaxiiError::Body { .. }
            | TaxiiError::InvalidResponse { .. } => true,
            TaxiiError::Status { status, .. } => {
                matches!(status, 408 | 429) || (*status >= 500 && *status != 501)
            }
            _ => false,
        }
    }

    /// What the server asked for in `Retry-After`, if anything.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TaxiiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
