//! HTTP for TAXII: one `reqwest` client per server configuration, auth on every request, a body size cap,
//! and retries with exponential backoff and full jitter that honour `Retry-After`.

use super::TaxiiError;
use crate::config::{expose, AuthKind, AuthSettings, CollectionSettings, TlsSettings};
use crate::http::error_chain;
use crate::telemetry::fields;
use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use std::time::Duration;
use tracing::warn;
use url::Url;

/// The connection and retry settings of one TAXII server.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub auth: AuthSettings,
    pub tls: TlsSettings,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub max_response_bytes: u64,
    pub max_retries: u32,
    pub retry_backoff: Duration,
    pub retry_backoff_max: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            auth: AuthSettings::default(),
            tls: TlsSettings::default(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            max_response_bytes: 256 * 1024 * 1024,
            max_retries: 3,
            retry_backoff: Duration::from_secs(1),
            retry_backoff_max: Duration::from_secs(60),
        }
    }
}

impl From<&CollectionSettings> for ClientOptions {
    fn from(c: &CollectionSettings) -> Self {
        ClientOptions {
            auth: c.auth.clone(),
            tls: c.tls.clone(),
            connect_timeout: c.connect_timeout,
            read_timeout: c.read_timeout,
            max_response_bytes: c.max_response_bytes,
            max_retries: c.max_retries,
            retry_backoff: c.retry_backoff,
            retry_backoff_max: c.retry_backoff_max,
        }
    }
}

/// A response whose body was read in full (within the size cap).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub url: Url,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Longest `Retry-After` honoured; past it the server is asking for something a poll should not wait for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

#[derive(Clone)]
pub struct TaxiiClient {
    http: reqwest::Client,
    options: ClientOptions,
}

impl TaxiiClient {
    pub fn new(options: ClientOptions) -> Result<Self, TaxiiError> {
        let http = crate::http::client_builder(&options.tls)
            .map_err(TaxiiError::Setup)?
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            // read_timeout restarts with every chunk: a server trickling bytes is cut off here.
            .timeout(options.read_timeout * 10)
            .redirect(crate::http::same_origin_redirects())
            .gzip(true)
            .build()
            .map_err(|e| TaxiiError::Setup(error_chain(&e)))?;
        Ok(TaxiiClient { http, options })
    }

    /// GETs `url` and hands the full response to `parse`, retrying the pair: a body cut off mid-way
    /// usually fails to parse, and is retried like the connection error it is.
    pub async fn get<T>(
        &self,
        url: &Url,
        accept: &str,
        extra_headers: &[(&str, String)],
        parse: impl Fn(HttpResponse) -> Result<T, TaxiiError>,
    ) -> Result<T, TaxiiError> {
        let attempt = || async { parse(self.get_once(url, accept, extra_headers).await?) };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.options.retry_backoff)
            .with_max_delay(self.options.retry_backoff_max)
            .with_max_times(self.options.max_retries as usize)
            .with_jitter();
        attempt
            .retry(backoff)
            .when(TaxiiError::is_retryable)
            .adjust(|error, delay| {
                // Out of retries stays out of retries; otherwise wait at least what the server asked.
                let delay = delay?;
                Some(
                    error
                        .retry_after()
                        .map_or(delay, |asked| asked.min(MAX_RETRY_AFTER)),
                )
            })
            .notify(|error, delay| {
                warn!(
                    message = "TAXII request failed; retrying",
                    url = %url,
                    { fields::ERROR } = %error,
                    retry_in_ms = delay.as_millis() as u64,
                );
            })
            .await
    }

    async fn get_once(
        &self,
        url: &Url,
        accept: &str,
        extra_headers: &[(&str, String)],
    ) -> Result<HttpResponse, TaxiiError> {
        let mut request = self.http.get(url.clone()).header(
            ACCEPT,
            HeaderValue::from_str(accept).expect("static media type"),
        );
        for (name, value) in extra_headers {
            request = request.header(*name, value);
        }
        request = self.authenticate(request);
        let mut response = request.send().await.map_err(|e| send_error(url, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(len) = response.content_length() {
            if len > self.options.max_response_bytes {
                return Err(TaxiiError::TooLarge {
                    url: url.to_string(),
                    limit: self.options.max_response_bytes,
                });
            }
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if (body.len() + chunk.len()) as u64 > self.options.max_response_bytes {
                        return Err(TaxiiError::TooLarge {
                            url: url.to_string(),
                            limit: self.options.max_response_bytes,
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => {
                    return Err(TaxiiError::Timeout {
                        url: url.to_string(),
                    })
                }
                Err(e) => {
                    return Err(TaxiiError::Body {
                        url: url.to_string(),
                        message: error_chain(&e),
                    })
                }
            }
        }
        check_status(url, status, &headers, &body)?;
        Ok(HttpResponse {
            url: url.clone(),
            status: status.as_u16(),
            headers,
            body,
        })
    }

    fn authenticate(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let auth = &self.options.auth;
        let Some(secret) = &auth.secret else {
            return request;
        };
        match auth.kind {
            AuthKind::None => request,
            AuthKind::Basic => request.basic_auth(
                auth.username.as_deref().unwrap_or_default(),
                Some(expose(secret)),
            ),
            AuthKind::Bearer => request.bearer_auth(expose(secret)),
            AuthKind::Header => match HeaderValue::from_str(expose(secret)) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    request.header(auth.header.as_deref().unwrap_or_default(), value)
                }
                // Not a valid header value: send none, and the server's 401 says so plainly.
                Err(_) => request,
            },
        }
    }
}

/// Maps an HTTP status to success or the error the rest of the relay acts on.
fn check_status(
    url: &Url,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), TaxiiError> {
    // 416 is how a TAXII 2.0 server says "past the end" of a Range: the paging code reads it.
    if status.is_success() || status == StatusCode::RANGE_NOT_SATISFIABLE {
        return Ok(());
    }
    let url = url.to_string();
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(TaxiiError::Unauthorized {
            url,
            status: status.as_u16(),
            challenge: headers
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(|v| format!(" (WWW-Authenticate: {v})"))
                .unwrap_or_default(),
        }),
        StatusCode::NOT_FOUND => Err(TaxiiError::NotFound { url }),
        status if status.is_redirection() => Err(TaxiiError::Status {
            url,
            status: status.as_u16(),
            message: format!(
                "redirect to {} not followed: it leaves the configured server, and the credentials stay with it",
                headers
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("?")
            ),
            retry_after: None,
        }),
        _ => Err(TaxiiError::Status {
            url,
            status: status.as_u16(),
            message: error_message(status, body),
            retry_after: crate::http::retry_after(headers),
        }),
    }
}

/// A TAXII error body says `title` and `description`; anything else is shown briefly.
fn error_message(status: StatusCode, body: &[u8]) -> String {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
        let title = json.get("title").and_then(|v| v.as_str());
        let description = json.get("description").and_then(|v| v.as_str());
        match (title, description) {
            (Some(t), Some(d)) => return format!("{t}: {d}"),
            (Some(t), None) => return t.to_owned(),
            _ => {}
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text.chars().take(200).collect()
    }
}

fn send_error(url: &Url, e: reqwest::Error) -> TaxiiError {
    let url = url.to_string();
    let message = error_chain(&e);
    if e.is_timeout() {
        TaxiiError::Timeout { url }
    } else if message.contains("dns error") || message.contains("failed to lookup address") {
        // A name that does not resolve will not resolve in a second either; the next poll tries again.
        TaxiiError::Dns { url, message }
    } else if is_tls_failure(&message) {
        // A certificate that is not trusted (or a client certificate refused) stays so on retry.
        TaxiiError::Tls { url, message }
    } else {
        TaxiiError::Connect { url, message }
    }
}

/// rustls's words for a handshake that failed on certificates or was refused by the peer.
fn is_tls_failure(message: &str) -> bool {
    ["received fatal alert", "certificate"]
        .iter()
        .any(|needle| message.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_failures_are_not_retried() {
        assert!(is_tls_failure(
            "client error (Connect): invalid peer certificate: UnknownIssuer"
        ));
        assert!(is_tls_failure("received fatal alert: CertificateRequired"));
        assert!(!is_tls_failure(
            "tcp connect error: Connection refused (os error 111)"
        ));
    }

    #[test]
    fn classifies_statuses() {
        let url = Url::parse("http://127.0.0.1/x/").unwrap();
        let h = HeaderMap::new();
        for (code, retry) in [
            (500, true),
            (503, true),
            (501, false),
            (429, true),
            (408, true),
            (400, false),
        ] {
            let err = check_status(&url, StatusCode::from_u16(code).unwrap(), &h, b"").unwrap_err();
            assert_eq!(err.is_retryable(), retry, "{code}");
        }
        let err = check_status(&url, StatusCode::UNAUTHORIZED, &h, b"").unwrap_err();
        assert!(!err.is_retryable());
        assert!(check_status(&url, StatusCode::PARTIAL_CONTENT, &h, b"").is_ok());
    }

    #[test]
    fn error_bodies_are_summarised() {
        let body = br#"{"title": "Bad filter", "description": "added_after is not a timestamp"}"#;
        assert_eq!(
            error_message(StatusCode::BAD_REQUEST, body),
            "Bad filter: added_after is not a timestamp"
        );
        assert_eq!(error_message(StatusCode::BAD_GATEWAY, b""), "Bad Gateway");
    }
}
