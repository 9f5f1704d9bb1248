//! The HEC client: one request per batch to `/services/collector/event`, Splunk's answer turned into one
//! [`Outcome`] per delivery, and (with `ack = true`) indexer acknowledgements polled until Splunk confirms.
//!
//! Owns: the HTTP client (rustls, extra CA, client certificate), the `Authorization: Splunk …` header, the
//! request channel, gzip of the body, and the mapping of HEC answers:
//!
//! | Splunk answers                                   | Outcome per delivery                                   |
//! |--------------------------------------------------|--------------------------------------------------------|
//! | 2xx (code 0), no ack                             | all Delivered                                          |
//! | 2xx with `ackId`, ack on                         | all Delivered once `/ack` says true; all Retry after `ack_timeout` |
//! | 2xx without `ackId`, ack on                      | all Delivered (the token has acknowledgement off; warned) |
//! | 2xx whose answer was cut off, ack on             | all Retry (the ackId is unknown)                       |
//! | 400 code 7 (incorrect index)                     | before `invalid-event-number` Delivered, the rest Rejected |
//! | 400 with `invalid-event-number` N (codes 6, 12, 13, 15, …) | before N Delivered, N Rejected, after N Retry |
//! | 400 without a usable event number                | all Rejected                                           |
//! | 401 / 403 (codes 1-4: token missing, invalid, disabled) | all Retry                                       |
//! | 408, 429, 500 (code 8), 503 (code 9), other 5xx but 501 | all Retry, honouring `Retry-After`              |
//! | timeout, connection error                        | all Retry                                              |
//! | anything else (404, 413, 501, 3xx, …)            | the shared policy of [`crate::sinks::retry`]: Rejected |
//!
//! Why a refused token is retried, not rejected: the token is the same for every event, so a revoked or
//! mistyped token would turn the whole outbox dead. Nothing would be lost, but someone would have to replay it
//! by hand. Retried with backoff up to `max_attempts`, the backlog goes out by itself once the SOC fixes the
//! token, and the errors meanwhile say what is wrong.
//!
//! Why events before the bad one are Delivered: Splunk indexes a batch in order and stops at the first bad
//! event, so those before it are in the index; sending them again would duplicate them. Those after it were
//! never looked at and are retried (in a later batch, without the bad one).
//!
//! Must never: put the token in an error, a log line or a URL; decide routing or touch the database; retry
//! by itself (the sink worker schedules retries from the outcomes).

use super::{encode_event, HecConfig};
use crate::config::{expose, TlsSettings};
use crate::http::error_chain;
use crate::http::retry_after;
use crate::sinks::retry::{classify_send_error, classify_status};
use crate::sinks::{Delivery, Outcome};
use crate::telemetry::fields;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use serde::Deserialize;
use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;
use tokio::time::Instant;
use tracing::warn;
use url::Url;

/// How often `/services/collector/ack` is asked about an outstanding `ackId`.
pub const ACK_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The header that names the request channel; acknowledgements are counted per channel.
pub const CHANNEL_HEADER: &str = "X-Splunk-Request-Channel";

/// Longest piece of a response body quoted in an error.
const MAX_QUOTED_BODY: usize = 200;

/// A Splunk HEC sink, ready to deliver. Cheap to share: `deliver` takes `&self`.
pub struct HecSink {
    config: HecConfig,
    http: reqwest::Client,
    /// `…/services/collector/event`.
    event_url: Url,
    /// `…/services/collector/ack?channel=<channel>`.
    ack_url: Url,
    /// A v4 UUID made once per sink. Sent on every request, ack on or off: Splunk accepts a channel either
    /// way, and a token that has acknowledgement on requires one (400 code 10 without it).
    channel_id: String,
    /// `channel_id` as a header value.
    channel: HeaderValue,
    /// `Splunk <token>`, marked sensitive so that reqwest and hyper never print it.
    authorization: HeaderValue,
}

/// The JSON Splunk answers with (every field optional: a proxy in front of Splunk may answer anything).
#[derive(Debug, Default, Deserialize)]
struct Reply {
    text: Option<String>,
    code: Option<i64>,
    #[serde(rename = "invalid-event-number")]
    invalid_event_number: Option<usize>,
    #[serde(rename = "ackId")]
    ack_id: Option<u64>,
}

/// The answer of `/services/collector/ack`: `{"acks": {"<id>": true}}`.
#[derive(Debug, Deserialize)]
struct AckReply {
    acks: HashMap<String, bool>,
}

impl HecSink {
    /// Builds the HTTP client from `config.tls` (extra roots, client certificate). No request is made.
    pub fn new(config: HecConfig) -> Result<Self, String> {
        let http = build_client(&config.tls, config.timeout)?;
        let event_url = endpoint(&config.url, "event");
        let mut ack_url = endpoint(&config.url, "ack");
        let channel_id = new_channel();
        ack_url
            .query_pairs_mut()
            .append_pair("channel", &channel_id);
        let channel = HeaderValue::from_str(&channel_id).map_err(|e| e.to_string())?;
        let mut authorization = HeaderValue::from_str(&format!("Splunk {}", expose(&config.token)))
            .map_err(|_| {
                "the token holds characters an HTTP header cannot carry (control characters or \
                 non-ASCII); check token_env / token_file"
                    .to_owned()
            })?;
        authorization.set_sensitive(true);
        Ok(HecSink {
            config,
            http,
            event_url,
            ack_url,
            channel_id,
            channel,
            authorization,
        })
    }

    /// The request channel (a v4 UUID) this sink sends on.
    pub fn channel(&self) -> &str {
        &self.channel_id
    }

    /// Sends the batch as one request; one outcome per delivery, in order.
    pub async fn deliver(&self, batch: &[Delivery]) -> Vec<Outcome> {
        if batch.is_empty() {
            return Vec::new();
        }
        let mut body = Vec::with_capacity(batch.len() * 1024);
        for delivery in batch {
            encode_event(delivery, &self.config, &mut body);
        }
        let body = if self.config.gzip {
            match gzip(&body) {
                Ok(compressed) => compressed,
                // Compressing into memory does not fail in practice; were it to, the next attempt may not.
                Err(e) => {
                    return vec![Outcome::retry(format!("cannot gzip the batch: {e}")); batch.len()]
                }
            }
        } else {
            body
        };

        let mut request = self
            .http
            .post(self.event_url.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CHANNEL_HEADER, self.channel.clone())
            .header(CONTENT_TYPE, "application/json");
        if self.config.gzip {
            request = request.header(CONTENT_ENCODING, "gzip");
        }
        let response = match request.body(body).send().await {
            Ok(response) => response,
            Err(e) => return vec![classify_send_error(&e); batch.len()],
        };
        let status = response.status().as_u16();
        let wait = retry_after(response.headers());
        let body = response.bytes().await;
        let body_read = body.is_ok();
        // A status without its body is judged by the status alone (except an ackId it would have held).
        let raw = body.unwrap_or_default();
        let reply = serde_json::from_slice::<Reply>(&raw).unwrap_or_default();
        let message = describe(&reply, &raw);

        if (200..300).contains(&status) && self.config.ack {
            if !body_read {
                return vec![
                    Outcome::retry(format!(
                        "HTTP {status}, but the answer holding the ackId was cut off; sending again"
                    ));
                    batch.len()
                ];
            }
            return match reply.ack_id {
                Some(ack_id) => match self.await_ack(ack_id).await {
                    Ok(()) => vec![Outcome::Delivered; batch.len()],
                    Err(error) => vec![Outcome::retry(error); batch.len()],
                },
                None => {
                    warn!(
                        message = "Splunk accepted the batch without an ackId: indexer acknowledgement is off \
                                   for this token; counting the events as delivered",
                        { fields::SINK } = %self.config.name,
                        { fields::OBJECTS } = batch.len(),
                    );
                    vec![Outcome::Delivered; batch.len()]
                }
            };
        }
        classify(status, wait, &reply, &message, batch.len())
    }

    /// Polls `/services/collector/ack` every [`ACK_POLL_INTERVAL`] until Splunk says `ack_id` is indexed, or
    /// `ack_timeout` has passed. The error says why the last poll did not confirm it.
    async fn await_ack(&self, ack_id: u64) -> Result<(), String> {
        let deadline = Instant::now() + self.config.ack_timeout;
        let mut last_error: Option<String> = None;
        loop {
            let now = Instant::now();
            if now >= deadline {
                let why = last_error.map_or_else(String::new, |e| format!("; last poll: {e}"));
                return Err(format!(
                    "not acknowledged within {} (ackId {ack_id} on channel {}){why}",
                    humantime::format_duration(self.config.ack_timeout),
                    self.channel(),
                ));
            }
            tokio::time::sleep(ACK_POLL_INTERVAL.min(deadline - now)).await;
            let remaining = deadline.saturating_duration_since(Instant::now());
            match self.query_ack(ack_id, remaining).await {
                Ok(true) => return Ok(()),
                Ok(false) => last_error = None,
                Err(e) => last_error = Some(e),
            }
        }
    }

    /// One ack query; `Ok(false)` while Splunk has not indexed the batch yet.
    async fn query_ack(&self, ack_id: u64, remaining: Duration) -> Result<bool, String> {
        let body = format!("{{\"acks\":[{ack_id}]}}");
        // A poll must not outlive the ack deadline by a whole request timeout.
        let limit = remaining
            .min(self.config.timeout)
            .max(Duration::from_millis(100));
        let response = self
            .http
            .post(self.ack_url.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CHANNEL_HEADER, self.channel.clone())
            .header(CONTENT_TYPE, "application/json")
            .timeout(limit)
            .body(body)
            .send()
            .await
            .map_err(|e| error_chain(&e))?;
        let status = response.status().as_u16();
        let raw = response.bytes().await.map_err(|e| e.to_string())?;
        if status != 200 {
            let reply = serde_json::from_slice::<Reply>(&raw).unwrap_or_default();
            return Err(format!("HTTP {status}: {}", describe(&reply, &raw)));
        }
        let reply: AckReply = serde_json::from_slice(&raw)
            .map_err(|e| format!("unreadable ack answer ({e}): {}", quote(&raw)))?;
        Ok(reply
            .acks
            .get(&ack_id.to_string())
            .copied()
            .unwrap_or(false))
    }
}

/// Splunk's answer to an event request → one outcome per event (not for 2xx in ack mode, see
/// [`HecSink::deliver`]). `message` is Splunk's text and code, already summarised.
fn classify(
    status: u16,
    wait: Option<Duration>,
    reply: &Reply,
    message: &str,
    events: usize,
) -> Vec<Outcome> {
    let bad_event = reply.invalid_event_number.filter(|&n| n < events);
    match status {
        400 if reply.code == Some(7) => {
            // The index is the same for every event of the sink: from the first refused one on, all would be.
            let indexed = bad_event.unwrap_or(0);
            let rejected = Outcome::rejected(format!(
                "HTTP 400: {message}: the index is not allowed for this token (a config error)"
            ));
            (0..events)
                .map(|i| {
                    if i < indexed {
                        Outcome::Delivered
                    } else {
                        rejected.clone()
                    }
                })
                .collect()
        }
        400 => match bad_event {
            Some(n) => {
                let not_indexed = Outcome::retry(format!(
                    "not indexed: Splunk stopped at event {n} of the same request (HTTP 400: {message})"
                ));
                (0..events)
                    .map(|i| match i.cmp(&n) {
                        std::cmp::Ordering::Less => Outcome::Delivered,
                        std::cmp::Ordering::Equal => {
                            Outcome::rejected(format!("HTTP 400: {message}"))
                        }
                        std::cmp::Ordering::Greater => not_indexed.clone(),
                    })
                    .collect()
            }
            None => vec![Outcome::rejected(format!("HTTP 400: {message}")); events],
        },
        401 | 403 => vec![
            Outcome::retry(format!(
                "HTTP {status}: {message}: Splunk refused the token; fix token_env / token_file (retried \
                 until max_attempts, so the backlog goes out once the token works)"
            ));
            events
        ],
        _ => vec![classify_status(status, wait, message); events],
    }
}

/// `text (code N)` from Splunk's JSON, else the start of whatever the body was.
fn describe(reply: &Reply, raw: &[u8]) -> String {
    match (&reply.text, reply.code) {
        (Some(text), Some(code)) => format!("{text} (code {code})"),
        (Some(text), None) => text.clone(),
        (None, Some(code)) => format!("code {code}"),
        (None, None) if raw.is_empty() => "empty answer".to_owned(),
        (None, None) => quote(raw),
    }
}

/// The first [`MAX_QUOTED_BODY`] characters of a body, one line.
fn quote(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut quoted: String = text
        .chars()
        .take(MAX_QUOTED_BODY)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > MAX_QUOTED_BODY {
        quoted.push('…');
    }
    quoted
}

/// `{base}/services/collector/{leaf}`, keeping a path prefix (a proxy) and tolerating a URL that already
/// names the collector.
fn endpoint(base: &Url, leaf: &str) -> Url {
    let mut url = base.clone();
    let path = base.path().trim_end_matches('/');
    let path = path
        .strip_suffix("/services/collector/event")
        .or_else(|| path.strip_suffix("/services/collector"))
        .unwrap_or(path);
    url.set_path(&format!("{path}/services/collector/{leaf}"));
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// A random (version 4) UUID, lower-case hex in 8-4-4-4-12 form.
fn new_channel() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::default(),
    );
    encoder.write_all(body)?;
    encoder.finish()
}

/// The client: rustls with the system roots plus `ca_file`, the client certificate when configured, no
/// redirects (a redirected POST would lose its body, and the token must not follow it elsewhere).
fn build_client(tls: &TlsSettings, timeout: Duration) -> Result<reqwest::Client, String> {
    crate::http::client_builder(tls)?
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        // A redirected POST loses its body and would carry the token to another host.
        .redirect(reqwest::redirect::Policy::none())
        .gzip(true)
        .build()
        .map_err(|e| error_chain(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: i64, text: &str, n: Option<usize>) -> Reply {
        Reply {
            text: Some(text.to_owned()),
            code: Some(code),
            invalid_event_number: n,
            ack_id: None,
        }
    }

    fn kinds(outcomes: &[Outcome]) -> String {
        outcomes
            .iter()
            .map(|o| match o {
                Outcome::Delivered => 'D',
                Outcome::Retry { .. } => 'T',
                Outcome::Rejected { .. } => 'R',
            })
            .collect()
    }

    fn run(status: u16, reply: &Reply, events: usize) -> Vec<Outcome> {
        classify(status, None, reply, &describe(reply, b""), events)
    }

    #[test]
    fn mapping() {
        assert_eq!(kinds(&run(200, &reply(0, "Success", None), 3)), "DDD");
        let bad = reply(6, "Invalid data format", Some(2));
        assert_eq!(kinds(&run(400, &bad, 5)), "DDRTT");
        assert_eq!(
            kinds(&run(400, &reply(12, "Event field is required", Some(0)), 3)),
            "RTT"
        );
        assert_eq!(
            kinds(&run(
                400,
                &reply(13, "Event field cannot be blank", Some(2)),
                3
            )),
            "DDR"
        );
        // An event number outside the batch tells nothing.
        assert_eq!(
            kinds(&run(400, &reply(6, "Invalid data format", Some(9)), 3)),
            "RRR"
        );
        assert_eq!(kinds(&run(400, &reply(5, "No data", None), 3)), "RRR");
        assert_eq!(
            kinds(&run(400, &reply(7, "Incorrect index", Some(0)), 3)),
            "RRR"
        );
        assert_eq!(
            kinds(&run(400, &reply(7, "Incorrect index", None), 3)),
            "RRR"
        );
        assert_eq!(
            kinds(&run(401, &reply(2, "Token is required", None), 2)),
            "TT"
        );
        assert_eq!(kinds(&run(403, &reply(4, "Invalid token", None), 2)), "TT");
        assert_eq!(kinds(&run(403, &reply(1, "Token disabled", None), 2)), "TT");
        assert_eq!(
            kinds(&run(500, &reply(8, "Internal server error", None), 2)),
            "TT"
        );
        // 503 may carry an event number; nothing was indexed.
        assert_eq!(
            kinds(&run(503, &reply(9, "Server is busy", Some(0)), 2)),
            "TT"
        );
        assert_eq!(kinds(&run(429, &Reply::default(), 2)), "TT");
        assert_eq!(kinds(&run(404, &Reply::default(), 2)), "RR");
    }

    #[test]
    fn messages_carry_splunk_text() {
        let outcomes = run(400, &reply(6, "Invalid data format", Some(1)), 3);
        assert_eq!(
            outcomes[1],
            Outcome::rejected("HTTP 400: Invalid data format (code 6)")
        );
        let Outcome::Retry { error, .. } = &outcomes[2] else {
            panic!("{outcomes:?}")
        };
        assert!(error.contains("stopped at event 1"), "{error}");
        let wait = Some(Duration::from_secs(7));
        let outcomes = classify(503, wait, &Reply::default(), "busy", 1);
        assert_eq!(
            outcomes[0],
            Outcome::Retry {
                error: "HTTP 503: busy".into(),
                retry_after: wait
            }
        );
    }

    #[test]
    fn endpoints() {
        let base: Url = "https://splunk.example.org:8088".parse().unwrap();
        assert_eq!(
            endpoint(&base, "event").as_str(),
            "https://splunk.example.org:8088/services/collector/event"
        );
        let proxied: Url = "https://gw.example.org/splunk/".parse().unwrap();
        assert_eq!(
            endpoint(&proxied, "ack").as_str(),
            "https://gw.example.org/splunk/services/collector/ack"
        );
        let full: Url = "https://s.example.org:8088/services/collector/event"
            .parse()
            .unwrap();
        assert_eq!(
            endpoint(&full, "event").as_str(),
            "https://s.example.org:8088/services/collector/event"
        );
    }

    #[test]
    fn channel_is_a_v4_uuid() {
        let a = new_channel();
        let b = new_channel();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        let groups: Vec<&str> = a.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(groups[2].starts_with('4'), "{a}");
        assert!(
            matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "{a}"
        );
        assert!(a
            .chars()
            .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    #[test]
    fn gzip_round_trips() {
        let body = b"{\"event\":\"x\"}\n".repeat(100);
        let compressed = gzip(&body).unwrap();
        let mut back = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&compressed[..]),
            &mut back,
        )
        .unwrap();
        assert_eq!(back, body);
    }

    #[test]
    fn quoted_bodies_are_short_and_one_line() {
        let long = format!("<html>\n{}</html>", "x".repeat(500));
        let q = quote(long.as_bytes());
        assert!(!q.contains('\n'));
        assert_eq!(q.chars().count(), MAX_QUOTED_BODY + 1);
    }
}
