//! An in-process Splunk HTTP Event Collector for the HEC sink's tests.
//!
//! [`SplunkFake::start`] binds `127.0.0.1:0` (axum, spawned on the test's runtime) and answers
//! `POST /services/collector/event` and `POST /services/collector/ack` as Splunk does: status codes and
//! `{"text": "...", "code": N}` bodies, `invalid-event-number` (0-based) for a bad event in a batch, the events
//! before a bad one indexed and those after it not. Bodies are concatenated JSON events, gunzipped when sent
//! with `Content-Encoding: gzip`. Every request is recorded, and every indexed event is kept.
//!
//! Faults: [`SplunkFake::fail_next`] (503 code 9), [`SplunkFake::throttle_next`] (429 with `Retry-After`),
//! [`SplunkFake::reject_ids`] (400 code 6 at the event whose `event.id` is listed), [`SplunkFake::allow_indexes`]
//! (400 code 7 for any other index). [`SplunkFake::enable_ack`] turns on indexer acknowledgement: a channel
//! header is then required, successes carry an `ackId` (counting from 0 per channel), and an id answers true
//! once, `delay` after its request.
//!
//! Owns nothing of the relay: it knows HEC only from Splunk's documentation.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The token the fake accepts unless [`SplunkFake::set_token`] changes it.
pub const DEFAULT_TOKEN: &str = "6a0e4b7c-11f2-4c1e-9d3a-0c5b9e2f7a11";

const CHANNEL_HEADER: &str = "x-splunk-request-channel";

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct HecRequest {
    /// `/services/collector/event`, `/services/collector/ack`, …
    pub path: String,
    /// Query pairs, decoded.
    pub query: Vec<(String, String)>,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as received (still compressed when gzip was used).
    pub raw_body: Vec<u8>,
    /// The body after gunzip, when it was compressed.
    pub body: Vec<u8>,
    /// `Content-Encoding: gzip` was sent.
    pub gzip: bool,
    /// The status answered.
    pub status: u16,
    /// The JSON answered.
    pub response: Value,
}

impl HecRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Acknowledgement state of one channel.
#[derive(Default)]
struct Channel {
    next_ack_id: u64,
    /// ackId → when it turns true.
    pending: HashMap<u64, Instant>,
}

struct Inner {
    token: String,
    /// `None`: every index is allowed.
    allowed_indexes: Option<HashSet<String>>,
    events: Vec<Value>,
    requests: Vec<HecRequest>,
    busy_next: usize,
    throttle_next: usize,
    throttle_retry_after: Option<u64>,
    reject_ids: HashSet<String>,
    /// `Some(delay)`: indexer acknowledgement on; an ack turns true `delay` after its request.
    ack_delay: Option<Duration>,
    channels: HashMap<String, Channel>,
}

type Shared = Arc<Mutex<Inner>>;

/// A running fake. Dropping it stops the server.
pub struct SplunkFake {
    addr: SocketAddr,
    shared: Shared,
    task: JoinHandle<()>,
}

impl Drop for SplunkFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SplunkFake {
    /// Binds `127.0.0.1:0` and serves on the current tokio runtime.
    pub async fn start() -> SplunkFake {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Splunk fake");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Mutex::new(Inner {
            token: DEFAULT_TOKEN.to_owned(),
            allowed_indexes: None,
            events: Vec::new(),
            requests: Vec::new(),
            busy_next: 0,
            throttle_next: 0,
            throttle_retry_after: None,
            reject_ids: HashSet::new(),
            ack_delay: None,
            channels: HashMap::new(),
        }));
        let app = Router::new()
            .route("/services/collector/event", post(event_endpoint))
            .route("/services/collector/event/1.0", post(event_endpoint))
            .route("/services/collector/ack", post(ack_endpoint))
            .route("/services/collector/health", get(health_endpoint))
            .fallback(not_found)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        SplunkFake { addr, shared, task }
    }

    /// The base URL to configure (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token it accepts.
    pub fn token(&self) -> String {
        self.lock().token.clone()
    }

    pub fn set_token(&self, token: &str) {
        self.lock().token = token.to_owned();
    }

    /// Every indexed event (the whole envelope: `time`, `source`, `event`, `fields`, …), in order.
    pub fn events(&self) -> Vec<Value> {
        self.lock().events.clone()
    }

    /// Every request, in order.
    pub fn requests(&self) -> Vec<HecRequest> {
        self.lock().requests.clone()
    }

    /// The requests to one path (`/services/collector/event`, `/services/collector/ack`).
    pub fn requests_to(&self, path: &str) -> Vec<HecRequest> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// The next `n` event requests answer 503 `{"text":"Server is busy","code":9}`.
    pub fn fail_next(&self, n: usize) {
        self.lock().busy_next = n;
    }

    /// The next `n` event requests answer 429, with `Retry-After: <secs>` when given.
    pub fn throttle_next(&self, n: usize, retry_after_secs: Option<u64>) {
        let mut inner = self.lock();
        inner.throttle_next = n;
        inner.throttle_retry_after = retry_after_secs;
    }

    /// Events whose `event.id` is listed are refused with 400 code 6 "Invalid data format".
    pub fn reject_ids<I, S>(&self, ids: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.lock()
            .reject_ids
            .extend(ids.into_iter().map(Into::into));
    }

    /// Only these indexes are allowed for the token (an event without `index` goes to the default and passes).
    pub fn allow_indexes(&self, indexes: &[&str]) {
        self.lock().allowed_indexes = Some(indexes.iter().map(|i| (*i).to_owned()).collect());
    }

    /// Turns on indexer acknowledgement; each ack turns true `delay` after its request was indexed.
    pub fn enable_ack(&self, delay: Duration) {
        self.lock().ack_delay = Some(delay);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.shared)
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a handler decided: status, JSON body, extra headers.
struct Answer {
    status: StatusCode,
    body: Value,
    retry_after: Option<u64>,
}

impl Answer {
    fn new(status: StatusCode, body: Value) -> Answer {
        Answer {
            status,
            body,
            retry_after: None,
        }
    }

    fn hec(status: StatusCode, text: &str, code: u32) -> Answer {
        Answer::new(status, json!({"text": text, "code": code}))
    }

    fn bad_event(text: &str, code: u32, event: usize) -> Answer {
        Answer::new(
            StatusCode::BAD_REQUEST,
            json!({"text": text, "code": code, "invalid-event-number": event}),
        )
    }

    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from_str(&secs.to_string()).expect("digits"),
            );
        }
        response
    }
}

/// Records the request with its answer and turns the answer into a response.
fn finish(
    inner: &mut Inner,
    path: &str,
    query: Vec<(String, String)>,
    headers: &HeaderMap,
    raw_body: &[u8],
    body: Vec<u8>,
    answer: Answer,
) -> Response {
    inner.requests.push(HecRequest {
        path: path.to_owned(),
        query,
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        raw_body: raw_body.to_vec(),
        body,
        gzip: is_gzip(headers),
        status: answer.status.as_u16(),
        response: answer.body.clone(),
    });
    answer.into_response()
}

fn is_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"))
}

/// Splunk's token check: 401 code 2 without the header, 401 code 3 for another scheme, 403 code 4 for a
/// token it does not know.
fn check_token(inner: &Inner, headers: &HeaderMap) -> Option<Answer> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Some(Answer::hec(
            StatusCode::UNAUTHORIZED,
            "Token is required",
            2,
        ));
    };
    let value = value.to_str().unwrap_or_default();
    let Some(token) = value.strip_prefix("Splunk ") else {
        return Some(Answer::hec(
            StatusCode::UNAUTHORIZED,
            "Invalid authorization",
            3,
        ));
    };
    if token.trim() != inner.token {
        return Some(Answer::hec(StatusCode::FORBIDDEN, "Invalid token", 4));
    }
    None
}

fn channel_of(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    headers
        .get(CHANNEL_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            query
                .iter()
                .find(|(k, _)| k == "channel")
                .map(|(_, v)| v.clone())
        })
        .filter(|c| !c.is_empty())
}

async fn event_endpoint(
    State(shared): State<Shared>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let mut inner = lock(&shared);
    let path = "/services/collector/event";

    let body = if is_gzip(&headers) {
        let mut out = Vec::new();
        match flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out) {
            Ok(_) => out,
            Err(_) => {
                let answer = Answer::hec(StatusCode::BAD_REQUEST, "Invalid data format", 6);
                return finish(&mut inner, path, query, &headers, &raw, Vec::new(), answer);
            }
        }
    } else {
        raw.to_vec()
    };
    let answer = index_events(&mut inner, &headers, &query, &body);
    finish(&mut inner, path, query, &headers, &raw, body, answer)
}

/// Splunk's order: token, load, channel, then the events one by one; events before a bad one stay indexed.
fn index_events(
    inner: &mut Inner,
    headers: &HeaderMap,
    query: &[(String, String)],
    body: &[u8],
) -> Answer {
    if let Some(refusal) = check_token(inner, headers) {
        return refusal;
    }
    if inner.busy_next > 0 {
        inner.busy_next -= 1;
        return Answer::hec(StatusCode::SERVICE_UNAVAILABLE, "Server is busy", 9);
    }
    if inner.throttle_next > 0 {
        inner.throttle_next -= 1;
        let mut answer = Answer::hec(StatusCode::TOO_MANY_REQUESTS, "Server is busy", 9);
        answer.retry_after = inner.throttle_retry_after;
        return answer;
    }
    let channel = channel_of(headers, query);
    if inner.ack_delay.is_some() && channel.is_none() {
        return Answer::hec(StatusCode::BAD_REQUEST, "Data channel is missing", 10);
    }

    let mut count = 0;
    for (i, item) in serde_json::Deserializer::from_slice(body)
        .into_iter::<Value>()
        .enumerate()
    {
        count += 1;
        let Ok(event) = item else {
            return Answer::bad_event("Invalid data format", 6, i);
        };
        if let Some(refusal) = check_event(inner, &event, i) {
            return refusal;
        }
        inner.events.push(event);
    }
    if count == 0 {
        return Answer::hec(StatusCode::BAD_REQUEST, "No data", 5);
    }

    let mut answer = Answer::hec(StatusCode::OK, "Success", 0);
    if let (Some(delay), Some(channel)) = (inner.ack_delay, channel) {
        let state = inner.channels.entry(channel).or_default();
        let ack_id = state.next_ack_id;
        state.next_ack_id += 1;
        state.pending.insert(ack_id, Instant::now() + delay);
        answer.body["ackId"] = json!(ack_id);
    }
    answer
}

/// One event's checks, as Splunk makes them.
fn check_event(inner: &Inner, event: &Value, i: usize) -> Option<Answer> {
    let Some(object) = event.as_object() else {
        return Some(Answer::bad_event("Invalid data format", 6, i));
    };
    let blank = match object.get("event") {
        None => return Some(Answer::bad_event("Event field is required", 12, i)),
        Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(_) => false,
    };
    if blank {
        return Some(Answer::bad_event("Event field cannot be blank", 13, i));
    }
    if let Some(time) = object.get("time") {
        let numeric = time.is_number()
            || time
                .as_str()
                .is_some_and(|s| s.trim().parse::<f64>().is_ok());
        if !numeric {
            return Some(Answer::bad_event("Invalid data format", 6, i));
        }
    }
    if let Some(fields) = object.get("fields") {
        let flat = fields.as_object().is_some_and(|f| {
            f.values().all(|v| match v {
                Value::String(_) => true,
                Value::Array(items) => items.iter().all(Value::is_string),
                _ => false,
            })
        });
        if !flat {
            return Some(Answer::bad_event("Error in handling indexed fields", 15, i));
        }
    }
    if let (Some(allowed), Some(index)) = (&inner.allowed_indexes, object.get("index")) {
        if !index.as_str().is_some_and(|s| allowed.contains(s)) {
            return Some(Answer::bad_event("Incorrect index", 7, i));
        }
    }
    let id = object
        .get("event")
        .and_then(|e| e.get("id"))
        .and_then(Value::as_str);
    if id.is_some_and(|id| inner.reject_ids.contains(id)) {
        return Some(Answer::bad_event("Invalid data format", 6, i));
    }
    None
}

async fn ack_endpoint(
    State(shared): State<Shared>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let mut inner = lock(&shared);
    let answer = answer_acks(&mut inner, &headers, &query, &raw);
    let body = raw.to_vec();
    finish(
        &mut inner,
        "/services/collector/ack",
        query,
        &headers,
        &raw,
        body,
        answer,
    )
}

fn answer_acks(
    inner: &mut Inner,
    headers: &HeaderMap,
    query: &[(String, String)],
    body: &[u8],
) -> Answer {
    if let Some(refusal) = check_token(inner, headers) {
        return refusal;
    }
    if inner.ack_delay.is_none() {
        return Answer::hec(StatusCode::BAD_REQUEST, "ACK is disabled", 14);
    }
    let Some(channel) = channel_of(headers, query) else {
        return Answer::hec(StatusCode::BAD_REQUEST, "Data channel is missing", 10);
    };
    let ids: Option<Vec<u64>> = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("acks").cloned())
        .and_then(|v| serde_json::from_value(v).ok());
    let Some(ids) = ids else {
        return Answer::hec(StatusCode::BAD_REQUEST, "Invalid data format", 6);
    };
    let now = Instant::now();
    let state = inner.channels.entry(channel).or_default();
    let mut acks = serde_json::Map::new();
    for id in ids {
        // An id answers true once; afterwards it is unknown, hence false.
        let done = state.pending.get(&id).is_some_and(|ready| *ready <= now);
        if done {
            state.pending.remove(&id);
        }
        acks.insert(id.to_string(), Value::Bool(done));
    }
    Answer::new(StatusCode::OK, json!({ "acks": acks }))
}

async fn health_endpoint() -> Response {
    Answer::hec(StatusCode::OK, "HEC is healthy", 17).into_response()
}

async fn not_found() -> Response {
    Answer::hec(
        StatusCode::NOT_FOUND,
        "The requested URL was not found on this server.",
        404,
    )
    .into_response()
}
