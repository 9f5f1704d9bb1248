//! An in-process TAXII 2.1 / 2.0 server for the integration tests of the TAXII client.
//!
//! [`TaxiiServer::start`] binds a real HTTP server on `127.0.0.1:0` (axum, spawned on the current
//! tokio runtime) that serves one API root (`/api1/`) with one collection ([`COLLECTION_ID`]). The
//! test adds STIX objects with a server-side `date_added`, then points the client at
//! [`TaxiiServer::discovery_url`] or [`TaxiiServer::collection_url`].
//!
//! By default the server is well behaved: `added_after`, `limit`, `next` and
//! `match[type]`/`match[id]` (2.1), `Range: items=` paging (2.0), `X-TAXII-Date-Added-First/Last`
//! headers, optional Basic, Bearer or API-key auth. [`Behaviour`] switches on the quirks of real
//! servers (ignored `limit`, `more` without `next`, odd date headers, ...), and [`Fault`]s make
//! single requests to the objects endpoint fail (error statuses, 429 with `Retry-After`, truncated
//! JSON, stalls, dropped connections). Every request is recorded so tests can check what the client
//! sent.
//!
//! Two effects need help below HTTP: omitting the `Date` header (hyper always adds one) and closing
//! a connection without any response. The handler marks such responses with a marker header, and
//! the connection wrapper [`FixtureIo`] acts on the marker in the bytes hyper writes.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::Router;
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The id of the only collection the server has.
pub const COLLECTION_ID: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";

/// TAXII 2.1 media type (every 2.1 response).
pub const TAXII21_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// STIX 2.1 media type (listed in the 2.1 collection's `media_types`).
pub const STIX21_MEDIA_TYPE: &str = "application/stix+json;version=2.1";
/// TAXII 2.0 media type (2.0 discovery, API root, collections, errors).
pub const TAXII20_MEDIA_TYPE: &str = "application/vnd.oasis.taxii+json; version=2.0";
/// STIX 2.0 media type (2.0 objects responses).
pub const STIX20_MEDIA_TYPE: &str = "application/vnd.oasis.stix+json; version=2.0";

/// Page size when a 2.1 request has no `limit`.
pub const DEFAULT_LIMIT: usize = 100;
/// The `next` token every page carries when [`Behaviour::repeat_next`] is set.
pub const STUCK_TOKEN: &str = "stuck";

const API_ROOT_SEGMENT: &str = "api1";
const MAX_CONTENT_LENGTH: u64 = 10_485_760;
const DATE_ADDED_FIRST: &str = "x-taxii-date-added-first";
const DATE_ADDED_LAST: &str = "x-taxii-date-added-last";

/// Response header set by the handler for [`Fault::DropConnection`]; [`FixtureIo`] closes the
/// connection instead of writing a response that carries it. `DROP_LINE` is how hyper writes it.
const DROP_MARKER: &str = "x-fixture-drop-connection";
const DROP_LINE: &[u8] = b"\r\nx-fixture-drop-connection:";
/// `Date` value set by the handler when [`Behaviour::send_date_header`] is false (so that hyper
/// does not add its own); [`FixtureIo`] removes the whole line, `OMIT_DATE_LINE` being how hyper
/// writes it.
const OMIT_DATE_MARKER: &str = "x-fixture-omit";
const OMIT_DATE_LINE: &[u8] = b"\r\ndate: x-fixture-omit";

/// The TAXII version the server speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// TAXII 2.1: discovery at `/taxii2/`, envelopes paged with `limit`/`next`.
    V21,
    /// TAXII 2.0: discovery at `/taxii/`, bundles paged with `Range: items=`.
    V20,
}

impl Version {
    /// Media type of discovery, API root, collection and error responses.
    fn taxii_media_type(self) -> &'static str {
        match self {
            Version::V21 => TAXII21_MEDIA_TYPE,
            Version::V20 => TAXII20_MEDIA_TYPE,
        }
    }

    /// Media type of objects responses.
    fn objects_media_type(self) -> &'static str {
        match self {
            Version::V21 => TAXII21_MEDIA_TYPE,
            Version::V20 => STIX20_MEDIA_TYPE,
        }
    }

    /// The collection's `media_types` entry.
    fn stix_media_type(self) -> &'static str {
        match self {
            Version::V21 => STIX21_MEDIA_TYPE,
            Version::V20 => STIX20_MEDIA_TYPE,
        }
    }

    fn discovery_segment(self) -> &'static str {
        match self {
            Version::V21 => "taxii2",
            Version::V20 => "taxii",
        }
    }
}

/// How `X-TAXII-Date-Added-First` / `X-TAXII-Date-Added-Last` are written.
#[derive(Clone, Debug, Default)]
pub enum DateHeaderStyle {
    /// `2025-01-01T00:00:00.000Z`
    #[default]
    Rfc3339Millis,
    /// `2025-01-01T00:00:00.000000Z`
    Rfc3339Micros,
    /// The same instant at +01:00: `2025-01-01T01:00:00.000+01:00`
    Offset,
    /// What the MITRE ATT&CK server has sent: `Thu Feb 20 2020 15:12:27 GMT+0000 (Coordinated
    /// Universal Time)`
    Mitre,
    /// No date headers at all.
    Omit,
}

/// A failure injected into one (or every) request to the objects endpoint.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer this status with a TAXII error body (500 if `u16` is not a valid status code).
    Status(u16),
    /// 429 with `Retry-After: <secs>` and a TAXII error body.
    TooManyRequests { retry_after_secs: u64 },
    /// The real answer (its status, 200 or for a 2.0 `Range` 206, and its headers) with only the
    /// first half of its body: invalid JSON.
    TruncatedJson,
    /// Sleep, then answer normally.
    Slow(Duration),
    /// Never answer.
    Stall,
    /// Close the connection without writing any response.
    DropConnection,
}

/// Server quirks. `Behaviour::default()` is a well-behaved server.
#[derive(Clone, Debug)]
pub struct Behaviour {
    /// 2.1: return everything remaining in one page regardless of `limit` (and of `max_page_size`);
    /// `more` is then false.
    pub ignore_limit: bool,
    /// Server-side cap on the page size: fewer objects than `limit` (2.1) or `Range` (2.0) asked
    /// for. A 2.0 request without `Range` still gets everything.
    pub max_page_size: Option<usize>,
    /// Filter with `date_added >= added_after` instead of `>`.
    pub inclusive_added_after: bool,
    /// Format of `X-TAXII-Date-Added-First` / `-Last`.
    pub date_header_style: DateHeaderStyle,
    /// 2.1: say `"more": true` but never send `next`.
    pub more_without_next: bool,
    /// 2.1: leave out the `more` key (a client must read that as "no more"). `next` is still sent
    /// when there are more pages, so a client that follows it anyway is caught.
    pub omit_more: bool,
    /// 2.1: every page with more to come carries the same `next` token ([`STUCK_TOKEN`]), and that
    /// token always serves the same page (the second one), again with `"more": true`.
    pub repeat_next: bool,
    /// 2.0: answer 206 without `Content-Range`.
    pub omit_content_range: bool,
    /// 2.0: ignore `Range` and answer 200 with every object.
    pub ignore_range: bool,
    /// Send the HTTP `Date` header (default true).
    pub send_date_header: bool,
    /// Compress object pages with gzip when the request accepts it (`Content-Encoding: gzip`).
    pub gzip: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            ignore_limit: false,
            max_page_size: None,
            inclusive_added_after: false,
            date_header_style: DateHeaderStyle::default(),
            more_without_next: false,
            omit_more: false,
            repeat_next: false,
            omit_content_range: false,
            ignore_range: false,
            send_date_header: true,
            gzip: false,
        }
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// The path as sent (not percent-decoded).
    pub path: String,
    /// Query pairs, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Header names in lower case, values as sent.
    pub headers: Vec<(String, String)>,
    /// The status answered; 0 while unanswered, and for [`Fault::Stall`] and
    /// [`Fault::DropConnection`].
    pub status: u16,
}

impl RecordedRequest {
    /// The first value of a header (`name` in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A running fixture server. Dropping it stops accepting connections; connections already open (a
/// stalled request, say) end with the test's runtime.
pub struct TaxiiServer {
    addr: SocketAddr,
    shared: Shared,
    task: JoinHandle<()>,
}

impl TaxiiServer {
    /// Binds `127.0.0.1:0` and serves on the current tokio runtime.
    pub async fn start(version: Version) -> TaxiiServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the TAXII fixture server");
        let addr = listener
            .local_addr()
            .expect("local address of the listener");
        let shared = Arc::new(Mutex::new(Inner::new(version, format!("http://{addr}"))));
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            // axum::serve only returns when the task is aborted.
            let _ = axum::serve(FixtureListener(listener), app).await;
        });
        TaxiiServer { addr, shared, task }
    }

    /// Require Basic auth (replaces any other auth).
    pub fn with_basic_auth(self, user: &str, password: &str) -> Self {
        self.set_basic_auth(user, password);
        self
    }

    /// Require Basic auth (replaces any other auth). Failing requests get 401 with
    /// `WWW-Authenticate: Basic realm="taxii"`.
    pub fn set_basic_auth(&self, user: &str, password: &str) {
        let credentials = base64_encode(format!("{user}:{password}").as_bytes());
        self.lock().auth = Some(Auth::Basic { credentials });
    }

    /// Require `Authorization: Bearer <token>` (replaces any other auth). Failing requests get 401
    /// with `WWW-Authenticate: Bearer realm="taxii"`.
    pub fn set_bearer_token(&self, token: &str) {
        self.lock().auth = Some(Auth::Bearer {
            token: token.to_owned(),
        });
    }

    /// Require the header `header: value` (replaces any other auth). Failing requests get 401
    /// without `WWW-Authenticate`, as API-key servers commonly answer.
    pub fn set_api_key(&self, header: &str, value: &str) {
        self.lock().auth = Some(Auth::ApiKey {
            header: header.to_ascii_lowercase(),
            value: value.to_owned(),
        });
    }

    /// Accept every request again.
    pub fn clear_auth(&self) {
        self.lock().auth = None;
    }

    pub fn version(&self) -> Version {
        self.lock().version
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `{base}/taxii2/` (2.1) or `{base}/taxii/` (2.0).
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/{}/",
            self.base_url(),
            self.version().discovery_segment()
        )
    }

    /// `{base}/api1/`
    pub fn api_root_url(&self) -> String {
        format!("{}/{API_ROOT_SEGMENT}/", self.base_url())
    }

    /// `{base}/api1/collections/{COLLECTION_ID}/`
    pub fn collection_url(&self) -> String {
        format!("{}collections/{COLLECTION_ID}/", self.api_root_url())
    }

    /// `{base}/api1/collections/{COLLECTION_ID}/objects/`
    pub fn objects_url(&self) -> String {
        format!("{}objects/", self.collection_url())
    }

    /// Adds objects that all have the same `date_added`.
    pub fn add_objects(&self, objects: Vec<Value>, date_added: DateTime<Utc>) {
        let mut inner = self.lock();
        inner.objects.extend(
            objects
                .into_iter()
                .map(|object| StoredObject { object, date_added }),
        );
        inner.sort_objects();
    }

    /// Adds objects where the i-th gets `start + i * step`; returns the last `date_added` (`start`
    /// when `objects` is empty).
    pub fn add_objects_spaced(
        &self,
        objects: Vec<Value>,
        start: DateTime<Utc>,
        step: chrono::Duration,
    ) -> DateTime<Utc> {
        let mut inner = self.lock();
        let mut last = start;
        for (i, object) in objects.into_iter().enumerate() {
            let factor = i32::try_from(i).expect("fewer than 2^31 objects");
            last = start + step * factor;
            inner.objects.push(StoredObject {
                object,
                date_added: last,
            });
        }
        inner.sort_objects();
        last
    }

    /// Number of objects held.
    pub fn object_count(&self) -> usize {
        self.lock().objects.len()
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        let mut inner = self.lock();
        inner.behaviour = behaviour;
        // A new behaviour starts a new stuck page.
        inner.cursors.remove(STUCK_TOKEN);
    }

    /// Queues faults, consumed one per objects request, in order. Queued faults come before
    /// [`TaxiiServer::fail_after_pages`] and [`TaxiiServer::set_persistent_fault`].
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.lock().queued_faults.extend(faults);
    }

    /// Applies `fault` to every objects request while set (after queued faults).
    pub fn set_persistent_fault(&self, fault: Option<Fault>) {
        let mut inner = self.lock();
        inner.persistent_fault = fault;
        inner.fail_after = None;
    }

    /// The next `n` objects requests (counted from this call) answer normally, every later one gets
    /// `fault` until [`TaxiiServer::set_persistent_fault`]`(None)` or
    /// [`TaxiiServer::clear_faults`].
    pub fn fail_after_pages(&self, n: usize, fault: Fault) {
        self.lock().fail_after = Some(FailAfter {
            remaining_ok: n,
            fault,
        });
    }

    /// Removes queued, persistent and `fail_after_pages` faults.
    pub fn clear_faults(&self) {
        let mut inner = self.lock();
        inner.queued_faults.clear();
        inner.persistent_fault = None;
        inner.fail_after = None;
    }

    /// Every request to any endpoint, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// The requests to the objects endpoint of the collection, in arrival order.
    pub fn recorded_objects_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.trim_end_matches('/').ends_with("/objects"))
            .collect()
    }

    /// How many requests reached the objects endpoint of the collection (past auth), faulted or
    /// not.
    pub fn objects_requests(&self) -> usize {
        self.lock().objects_requests
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.shared)
    }
}

impl Drop for TaxiiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A STIX 2.1 indicator with an id derived from `n` and `modified` = `created`.
pub fn indicator(n: usize) -> Value {
    indicator_v(n, "2024-01-01T00:00:00.000Z")
}

/// Another version of [`indicator`]`(n)`: same id, the given `modified`.
pub fn indicator_v(n: usize, modified: &str) -> Value {
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": indicator_id(n),
        "created": "2024-01-01T00:00:00.000Z",
        "modified": modified,
        "name": format!("Test indicator {n}"),
        "pattern": format!("[ipv4-addr:value = '10.0.{}.{}']", n / 256, n % 256),
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00.000Z",
    })
}

/// `indicator--{n:08x}-0000-4000-8000-{n:012x}`
pub fn indicator_id(n: usize) -> String {
    format!("indicator--{n:08x}-0000-4000-8000-{n:012x}")
}

// -------------------------------------------------------------------------------------------------
// Server state

type Shared = Arc<Mutex<Inner>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    // No code panics while holding the lock, but do not let one failure hide behind another.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Inner {
    version: Version,
    base_url: String,
    /// Ordered by `date_added`; equal dates keep insertion order.
    objects: Vec<StoredObject>,
    behaviour: Behaviour,
    auth: Option<Auth>,
    queued_faults: VecDeque<Fault>,
    persistent_fault: Option<Fault>,
    fail_after: Option<FailAfter>,
    /// Issued `next` tokens.
    cursors: HashMap<String, Cursor>,
    tokens_issued: u64,
    bundles_issued: u64,
    requests: Vec<RecordedRequest>,
    objects_requests: usize,
}

#[derive(Clone, Debug)]
struct StoredObject {
    object: Value,
    date_added: DateTime<Utc>,
}

impl StoredObject {
    fn field(&self, name: &str) -> Option<&str> {
        self.object.get(name).and_then(Value::as_str)
    }
}

enum Auth {
    /// `credentials` is base64 of `user:password`.
    Basic {
        credentials: String,
    },
    Bearer {
        token: String,
    },
    ApiKey {
        header: String,
        value: String,
    },
}

impl Auth {
    fn accepts(&self, headers: &HeaderMap) -> bool {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .map(|(scheme, rest)| (scheme, rest.trim()));
        match self {
            Auth::Basic { credentials } => authorization.is_some_and(|(scheme, given)| {
                scheme.eq_ignore_ascii_case("basic") && given == credentials
            }),
            Auth::Bearer { token } => authorization.is_some_and(|(scheme, given)| {
                scheme.eq_ignore_ascii_case("bearer") && given == token
            }),
            Auth::ApiKey { header, value } => headers
                .get(header.as_str())
                .is_some_and(|given| given.as_bytes() == value.as_bytes()),
        }
    }

    fn challenge(&self) -> Option<&'static str> {
        match self {
            Auth::Basic { .. } => Some("Basic realm=\"taxii\""),
            Auth::Bearer { .. } => Some("Bearer realm=\"taxii\""),
            Auth::ApiKey { .. } => None,
        }
    }
}

struct FailAfter {
    remaining_ok: usize,
    fault: Fault,
}

/// The selection a request asked for; a `next` token keeps the one of the first page.
#[derive(Clone, Debug, Default)]
struct Filter {
    added_after: Option<DateTime<Utc>>,
    types: Vec<String>,
    ids: Vec<String>,
}

/// What a `next` token stands for: an offset into the list `filter` selects. Objects added later
/// have later `date_added`, so they land after the offset and paging stays correct.
#[derive(Clone, Debug)]
struct Cursor {
    filter: Filter,
    offset: usize,
}

#[derive(Debug, Default)]
struct ObjectsQuery {
    filter: Filter,
    limit: Option<usize>,
    next: Option<String>,
}

impl ObjectsQuery {
    /// Parses the query of an objects request. Unknown parameters (including `match[version]`,
    /// where every version is always returned) are ignored.
    fn parse(pairs: &[(String, String)]) -> Result<ObjectsQuery, String> {
        let mut query = ObjectsQuery::default();
        for (key, value) in pairs {
            match key.as_str() {
                "added_after" => {
                    let parsed = DateTime::parse_from_rfc3339(value.trim()).map_err(|e| {
                        format!("added_after is not an RFC 3339 timestamp: {value:?} ({e})")
                    })?;
                    query.filter.added_after = Some(parsed.with_timezone(&Utc));
                }
                "limit" => {
                    let limit = value
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("limit is not a positive integer: {value:?}"))?;
                    query.limit = Some(limit);
                }
                "next" => query.next = Some(value.clone()),
                "match[type]" => query.filter.types = split_list(value),
                "match[id]" => query.filter.ids = split_list(value),
                _ => {}
            }
        }
        Ok(query)
    }
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Inner {
    fn new(version: Version, base_url: String) -> Inner {
        Inner {
            version,
            base_url,
            objects: Vec::new(),
            behaviour: Behaviour::default(),
            auth: None,
            queued_faults: VecDeque::new(),
            persistent_fault: None,
            fail_after: None,
            cursors: HashMap::new(),
            tokens_issued: 0,
            bundles_issued: 0,
            requests: Vec::new(),
            objects_requests: 0,
        }
    }

    fn sort_objects(&mut self) {
        // Stable: equal dates keep insertion order.
        self.objects.sort_by_key(|o| o.date_added);
    }

    fn api_root_url(&self) -> String {
        format!("{}/{API_ROOT_SEGMENT}/", self.base_url)
    }

    fn record_arrival(&mut self, parts: &Parts) -> usize {
        let headers = parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        self.requests.push(RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: query_pairs(parts),
            headers,
            status: 0,
        });
        self.requests.len() - 1
    }

    /// `None` when the request may pass, else the 401 answer.
    fn check_auth(&self, headers: &HeaderMap) -> Option<Response> {
        let auth = self.auth.as_ref()?;
        if auth.accepts(headers) {
            return None;
        }
        let mut response = taxii_error(
            self.version,
            StatusCode::UNAUTHORIZED,
            "missing or invalid credentials",
        );
        if let Some(challenge) = auth.challenge() {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        Some(response)
    }

    /// Counts an objects request and picks the fault it gets, if any.
    fn begin_objects_request(&mut self) -> Option<Fault> {
        self.objects_requests += 1;
        if let Some(fault) = self.queued_faults.pop_front() {
            return Some(fault);
        }
        if let Some(fail_after) = &mut self.fail_after {
            if fail_after.remaining_ok == 0 {
                return Some(fail_after.fault.clone());
            }
            fail_after.remaining_ok -= 1;
        }
        self.persistent_fault.clone()
    }

    /// Discovery, API root, collections and collection documents.
    fn resource_response(&self, route: Route) -> Response {
        let version = self.version;
        let body = match route {
            Route::Discovery => json!({
                "title": "taxii-relay test server",
                "description": "In-process TAXII fixture",
                "default": self.api_root_url(),
                "api_roots": [self.api_root_url()],
            }),
            Route::ApiRoot => json!({
                "title": "Test API root",
                "versions": [match version {
                    Version::V21 => TAXII21_MEDIA_TYPE,
                    Version::V20 => "taxii-2.0",
                }],
                "max_content_length": MAX_CONTENT_LENGTH,
            }),
            Route::Collections => json!({ "collections": [self.collection_document()] }),
            Route::Collection => self.collection_document(),
            Route::Objects | Route::UnknownCollection | Route::NotFound => {
                return taxii_error(version, StatusCode::NOT_FOUND, "no such resource");
            }
        };
        json_response(StatusCode::OK, version.taxii_media_type(), &body)
    }

    fn collection_document(&self) -> Value {
        json!({
            "id": COLLECTION_ID,
            "title": "Test indicators",
            "can_read": true,
            "can_write": false,
            "media_types": [self.version.stix_media_type()],
        })
    }

    fn objects_response(&mut self, parts: &Parts) -> Response {
        let pairs = query_pairs(parts);
        match self.version {
            Version::V21 => self.objects_v21(&pairs),
            Version::V20 => self.objects_v20(&pairs, &parts.headers),
        }
    }

    /// The objects `filter` selects, ordered by `date_added`.
    fn select(&self, filter: &Filter) -> Vec<&StoredObject> {
        let inclusive = self.behaviour.inclusive_added_after;
        self.objects
            .iter()
            .filter(|o| match filter.added_after {
                None => true,
                Some(after) if inclusive => o.date_added >= after,
                Some(after) => o.date_added > after,
            })
            .filter(|o| {
                filter.types.is_empty()
                    || o.field("type")
                        .is_some_and(|t| filter.types.iter().any(|x| x == t))
            })
            .filter(|o| {
                filter.ids.is_empty()
                    || o.field("id")
                        .is_some_and(|id| filter.ids.iter().any(|x| x == id))
            })
            .collect()
    }

    fn objects_v21(&mut self, pairs: &[(String, String)]) -> Response {
        let version = Version::V21;
        let query = match ObjectsQuery::parse(pairs) {
            Ok(query) => query,
            Err(message) => return taxii_error(version, StatusCode::BAD_REQUEST, &message),
        };
        let (filter, offset, stuck) = match &query.next {
            None => (query.filter, 0, false),
            Some(token) => match self.cursors.get(token) {
                Some(cursor) => (cursor.filter.clone(), cursor.offset, token == STUCK_TOKEN),
                None => {
                    let message = format!("unknown next token {token:?}");
                    return taxii_error(version, StatusCode::BAD_REQUEST, &message);
                }
            },
        };
        let behaviour = self.behaviour.clone();

        let matching = self.select(&filter);
        let total = matching.len();
        let start = offset.min(total);
        let end = if behaviour.ignore_limit {
            total
        } else {
            let mut size = query.limit.unwrap_or(DEFAULT_LIMIT);
            if let Some(max) = behaviour.max_page_size {
                size = size.min(max.max(1));
            }
            start.saturating_add(size).min(total)
        };
        let page: Vec<StoredObject> = matching[start..end].iter().map(|o| (*o).clone()).collect();
        let more = stuck || end < total;

        let mut envelope = Map::new();
        if !behaviour.omit_more {
            envelope.insert("more".into(), Value::Bool(more));
        }
        if more && !behaviour.more_without_next {
            let token = if behaviour.repeat_next {
                self.cursors
                    .entry(STUCK_TOKEN.to_owned())
                    .or_insert(Cursor {
                        filter,
                        offset: end,
                    });
                STUCK_TOKEN.to_owned()
            } else {
                self.issue_token(filter, end)
            };
            envelope.insert("next".into(), Value::String(token));
        }
        if !page.is_empty() {
            let objects = page.iter().map(|o| o.object.clone()).collect();
            envelope.insert("objects".into(), Value::Array(objects));
        }
        let mut response = json_response(
            StatusCode::OK,
            version.objects_media_type(),
            &Value::Object(envelope),
        );
        self.add_date_headers(&mut response, &page);
        response
    }

    fn issue_token(&mut self, filter: Filter, offset: usize) -> String {
        self.tokens_issued += 1;
        let token = format!("n-{offset}-{}", self.tokens_issued);
        self.cursors
            .insert(token.clone(), Cursor { filter, offset });
        token
    }

    fn objects_v20(&mut self, pairs: &[(String, String)], headers: &HeaderMap) -> Response {
        let version = Version::V20;
        let query = match ObjectsQuery::parse(pairs) {
            Ok(query) => query,
            Err(message) => return taxii_error(version, StatusCode::BAD_REQUEST, &message),
        };
        let behaviour = self.behaviour.clone();
        let range = match headers.get(header::RANGE) {
            Some(_) if behaviour.ignore_range => None,
            None => None,
            Some(value) => match parse_items_range(value) {
                Some(range) => Some(range),
                None => {
                    let message = format!("bad Range header {value:?}, expected items=START-END");
                    return taxii_error(version, StatusCode::BAD_REQUEST, &message);
                }
            },
        };

        let matching = self.select(&query.filter);
        let total = matching.len();
        let (status, first, last) = match range {
            None => (StatusCode::OK, 0, total),
            Some((start, _)) if start >= total => {
                let mut response = taxii_error(
                    version,
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "range start beyond the last object",
                );
                response.headers_mut().insert(
                    header::CONTENT_RANGE,
                    header_value(&format!("items */{total}")),
                );
                return response;
            }
            Some((start, end)) => {
                let mut end = end.min(total - 1);
                if let Some(max) = behaviour.max_page_size {
                    end = end.min(start + max.max(1) - 1);
                }
                (StatusCode::PARTIAL_CONTENT, start, end + 1)
            }
        };
        let page: Vec<StoredObject> = matching[first..last].iter().map(|o| (*o).clone()).collect();

        self.bundles_issued += 1;
        let n = self.bundles_issued;
        let mut bundle = Map::new();
        bundle.insert("type".into(), json!("bundle"));
        bundle.insert(
            "id".into(),
            json!(format!("bundle--{n:08x}-0000-4000-8000-000000000000")),
        );
        bundle.insert("spec_version".into(), json!("2.0"));
        if !page.is_empty() {
            let objects = page.iter().map(|o| o.object.clone()).collect();
            bundle.insert("objects".into(), Value::Array(objects));
        }
        let mut response =
            json_response(status, version.objects_media_type(), &Value::Object(bundle));
        if status == StatusCode::PARTIAL_CONTENT && !behaviour.omit_content_range {
            let content_range = format!("items {first}-{}/{total}", last - 1);
            response
                .headers_mut()
                .insert(header::CONTENT_RANGE, header_value(&content_range));
        }
        self.add_date_headers(&mut response, &page);
        response
    }

    fn add_date_headers(&self, response: &mut Response, page: &[StoredObject]) {
        let (Some(first), Some(last)) = (page.first(), page.last()) else {
            return;
        };
        let style = &self.behaviour.date_header_style;
        for (name, date) in [
            (DATE_ADDED_FIRST, first.date_added),
            (DATE_ADDED_LAST, last.date_added),
        ] {
            if let Some(text) = format_date_added(style, date) {
                response.headers_mut().insert(name, header_value(&text));
            }
        }
    }
}

/// `items=START-END` (inclusive) → `(START, END)`.
fn parse_items_range(value: &HeaderValue) -> Option<(usize, usize)> {
    let text = value.to_str().ok()?.trim();
    let (start, end) = text.strip_prefix("items=")?.split_once('-')?;
    let start = start.trim().parse::<usize>().ok()?;
    let end = end.trim().parse::<usize>().ok()?;
    (start <= end).then_some((start, end))
}

fn format_date_added(style: &DateHeaderStyle, date: DateTime<Utc>) -> Option<String> {
    match style {
        DateHeaderStyle::Rfc3339Millis => Some(date.to_rfc3339_opts(SecondsFormat::Millis, true)),
        DateHeaderStyle::Rfc3339Micros => Some(date.to_rfc3339_opts(SecondsFormat::Micros, true)),
        DateHeaderStyle::Offset => {
            let plus_one = FixedOffset::east_opt(3600).expect("+01:00 is a valid offset");
            Some(
                date.with_timezone(&plus_one)
                    .to_rfc3339_opts(SecondsFormat::Millis, false),
            )
        }
        DateHeaderStyle::Mitre => Some(
            date.format("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")
                .to_string(),
        ),
        DateHeaderStyle::Omit => None,
    }
}

// -------------------------------------------------------------------------------------------------
// HTTP handling

/// What a path names. Paths are matched with or without their trailing slash.
enum Route {
    Discovery,
    ApiRoot,
    Collections,
    Collection,
    Objects,
    UnknownCollection,
    NotFound,
}

impl Route {
    fn parse(version: Version, path: &str) -> Route {
        let path = path.strip_suffix('/').unwrap_or(path);
        let segments: Vec<&str> = path.split('/').skip(1).collect();
        match segments.as_slice() {
            [discovery] if *discovery == version.discovery_segment() => Route::Discovery,
            [root] if *root == API_ROOT_SEGMENT => Route::ApiRoot,
            [root, "collections"] if *root == API_ROOT_SEGMENT => Route::Collections,
            [root, "collections", id] if *root == API_ROOT_SEGMENT => {
                if *id == COLLECTION_ID {
                    Route::Collection
                } else {
                    Route::UnknownCollection
                }
            }
            [root, "collections", id, "objects"] if *root == API_ROOT_SEGMENT => {
                if *id == COLLECTION_ID {
                    Route::Objects
                } else {
                    Route::UnknownCollection
                }
            }
            _ => Route::NotFound,
        }
    }
}

/// The only handler: records the request, answers it, fills in the recorded status.
async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    let index = lock(&shared).record_arrival(&parts);
    let mut response = respond(&shared, &parts).await;

    let mut inner = lock(&shared);
    let status = if response.headers().contains_key(DROP_MARKER) {
        0
    } else {
        response.status().as_u16()
    };
    if let Some(recorded) = inner.requests.get_mut(index) {
        recorded.status = status;
    }
    if !inner.behaviour.send_date_header {
        response
            .headers_mut()
            .insert(header::DATE, HeaderValue::from_static(OMIT_DATE_MARKER));
    }
    response
}

async fn respond(shared: &Shared, parts: &Parts) -> Response {
    let version = lock(shared).version;
    let denied = lock(shared).check_auth(&parts.headers);
    if let Some(denied) = denied {
        return denied;
    }
    if !accepts_taxii(&parts.headers) {
        let message = "Accept must allow application/taxii+json";
        return taxii_error(version, StatusCode::NOT_ACCEPTABLE, message);
    }
    let route = Route::parse(version, parts.uri.path());
    match route {
        Route::UnknownCollection => {
            return taxii_error(version, StatusCode::NOT_FOUND, "no such collection");
        }
        Route::NotFound => return taxii_error(version, StatusCode::NOT_FOUND, "no such resource"),
        _ if parts.method != Method::GET => {
            let message = "this fixture only answers GET";
            return taxii_error(version, StatusCode::METHOD_NOT_ALLOWED, message);
        }
        _ => {}
    }
    if !matches!(route, Route::Objects) {
        return lock(shared).resource_response(route);
    }
    let fault = lock(shared).begin_objects_request();
    match fault {
        None => {
            let (response, gzip) = {
                let mut inner = lock(shared);
                (inner.objects_response(parts), inner.behaviour.gzip)
            };
            let accepts_gzip = parts
                .headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("gzip"));
            if gzip && accepts_gzip {
                gzip_response(response).await
            } else {
                response
            }
        }
        Some(fault) => apply_fault(shared, parts, fault).await,
    }
}

/// The same response with its body gzip-compressed.
async fn gzip_response(response: Response) -> Response {
    use std::io::Write;
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("fixture bodies are in memory");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&bytes).expect("gzip in memory");
    let compressed = encoder.finish().expect("gzip in memory");
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    Response::from_parts(parts, Body::from(compressed))
}

async fn apply_fault(shared: &Shared, parts: &Parts, fault: Fault) -> Response {
    let version = lock(shared).version;
    match fault {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            taxii_error(version, status, "injected fault")
        }
        Fault::TooManyRequests { retry_after_secs } => {
            let mut response = taxii_error(
                version,
                StatusCode::TOO_MANY_REQUESTS,
                "injected rate limit",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        Fault::TruncatedJson => {
            let full = lock(shared).objects_response(parts);
            let (mut head, body) = full.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            head.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(head, Body::from(bytes.slice(..bytes.len() / 2)))
        }
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            lock(shared).objects_response(parts)
        }
        Fault::Stall => std::future::pending().await,
        Fault::DropConnection => {
            let mut response = Response::new(Body::empty());
            response
                .headers_mut()
                .insert(DROP_MARKER, HeaderValue::from_static("1"));
            response
        }
    }
}

/// False when `Accept` is present and allows none of the TAXII/STIX/JSON media types.
fn accepts_taxii(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::ACCEPT).iter().peekable();
    if values.peek().is_none() {
        return true;
    }
    values.any(|value| {
        let value = String::from_utf8_lossy(value.as_bytes()).to_ascii_lowercase();
        ["taxii+json", "stix+json", "*/*", "application/json"]
            .iter()
            .any(|accepted| value.contains(accepted))
    })
}

fn query_pairs(parts: &Parts) -> Vec<(String, String)> {
    parts
        .uri
        .query()
        .map(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

fn json_response(status: StatusCode, content_type: &'static str, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A TAXII error message: `{"title", "description", "http_status"}`.
fn taxii_error(version: Version, status: StatusCode, description: &str) -> Response {
    let body = json!({
        "title": status.canonical_reason().unwrap_or("Error"),
        "description": description,
        "http_status": status.as_str(),
    });
    json_response(status, version.taxii_media_type(), &body)
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("header values built here are ASCII")
}

fn base64_encode(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let triple = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                let sextet = (triple >> (18 - 6 * i)) & 63;
                out.push(char::from(ALPHABET[sextet as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

// -------------------------------------------------------------------------------------------------
// Connection wrapper

/// Hands axum a [`FixtureIo`] per accepted connection.
struct FixtureListener(TcpListener);

impl axum::serve::Listener for FixtureListener {
    type Io = FixtureIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (FixtureIo, SocketAddr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => {
                    let io = FixtureIo {
                        stream,
                        pending: Vec::new(),
                    };
                    return (io, addr);
                }
                // Out of file descriptors and the like: wait a little and try again.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A TCP connection that acts on the markers in what hyper writes: it removes the line `date:
/// x-fixture-omit`, and closes the connection instead of writing a response head that carries
/// `x-fixture-drop-connection`.
///
/// Every write is accepted whole into `pending` (and written out before the next one), so a
/// response head always arrives in one piece: hyper writes into a plain (non-vectored) stream from
/// one flat buffer.
struct FixtureIo {
    stream: TcpStream,
    pending: Vec<u8>,
}

impl FixtureIo {
    fn poll_write_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let written = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.pending))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..written);
        }
        Poll::Ready(Ok(()))
    }
}

/// The bytes to send instead of `data`, or `None` to close the connection.
fn rewrite_outgoing(data: &[u8]) -> Option<Vec<u8>> {
    if find(data, DROP_LINE).is_some() {
        return None;
    }
    let mut out = data.to_vec();
    while let Some(at) = find(&out, OMIT_DATE_LINE) {
        out.drain(at..at + OMIT_DATE_LINE.len());
    }
    Some(out)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

impl AsyncRead for FixtureIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for FixtureIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_write_pending(cx))?;
        match rewrite_outgoing(buf) {
            Some(bytes) => {
                this.pending = bytes;
                Poll::Ready(Ok(buf.len()))
            }
            None => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "fixture fault: drop the connection",
            ))),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_write_pending(cx))?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_write_pending(cx))?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

// -------------------------------------------------------------------------------------------------
// Self-tests of the fixture

mod tests {
    use std::collections::HashSet;

    use reqwest::header::{ACCEPT, CONTENT_RANGE, CONTENT_TYPE, DATE, RANGE};

    use super::*;

    fn test_client() -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("build reqwest client")
    }

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("test timestamp")
            .with_timezone(&Utc)
    }

    fn header_text<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    fn ids_of(body: &Value) -> Vec<String> {
        body.get("objects")
            .and_then(Value::as_array)
            .map(|objects| {
                objects
                    .iter()
                    .map(|o| o["id"].as_str().expect("object id").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// GET the 2.1 objects endpoint with `query`.
    async fn get_objects_v21(
        client: &reqwest::Client,
        server: &TaxiiServer,
        query: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .get(server.objects_url())
            .query(query)
            .header(ACCEPT, TAXII21_MEDIA_TYPE)
            .send()
            .await
            .expect("objects request")
    }

    #[tokio::test]
    async fn taxii_server_v21_pages_with_next() {
        let server = TaxiiServer::start(Version::V21).await;
        let objects = (0..250).map(indicator).collect();
        server.add_objects_spaced(
            objects,
            at("2025-01-01T00:00:00Z"),
            chrono::Duration::seconds(1),
        );
        let client = test_client();

        let mut ids = HashSet::new();
        let mut next: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut query = vec![("limit", "100")];
            if let Some(token) = &next {
                query.push(("next", token));
            }
            let response = get_objects_v21(&client, &server, &query).await;
            assert_eq!(response.status(), 200);
            assert_eq!(
                header_text(&response, CONTENT_TYPE.as_str()),
                Some(TAXII21_MEDIA_TYPE)
            );
            let body: Value = response.json().await.expect("envelope JSON");
            pages += 1;
            ids.extend(ids_of(&body));
            if body["more"] == json!(true) {
                next = Some(body["next"].as_str().expect("next token").to_owned());
            } else {
                assert!(body.get("next").is_none(), "no next on the last page");
                break;
            }
            assert!(pages < 10, "paging does not end");
        }
        assert_eq!(pages, 3);
        assert_eq!(ids.len(), 250);
        assert_eq!(server.objects_requests(), 3);

        let recorded = server.requests();
        assert_eq!(recorded.len(), 3);
        assert_eq!(recorded[0].query_param("limit"), Some("100"));
        assert!(recorded[1].query_param("next").is_some());
        assert_eq!(recorded[1].header("accept"), Some(TAXII21_MEDIA_TYPE));
        assert!(recorded.iter().all(|r| r.status == 200));
    }

    #[tokio::test]
    async fn taxii_server_v21_next_survives_new_objects() {
        let server = TaxiiServer::start(Version::V21).await;
        let last = server.add_objects_spaced(
            (0..150).map(indicator).collect(),
            at("2025-01-01T00:00:00Z"),
            chrono::Duration::seconds(1),
        );
        let client = test_client();
        let query = [("added_after", "2024-12-31T00:00:00Z"), ("limit", "100")];
        let first: Value = get_objects_v21(&client, &server, &query)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(ids_of(&first).len(), 100);

        server.add_objects(
            (150..160).map(indicator).collect(),
            last + chrono::Duration::seconds(10),
        );
        let token = first["next"].as_str().unwrap();
        let second: Value = get_objects_v21(&client, &server, &[("next", token)])
            .await
            .json()
            .await
            .unwrap();
        let mut ids: HashSet<String> = ids_of(&first).into_iter().collect();
        ids.extend(ids_of(&second));
        assert_eq!(ids_of(&second).len(), 60);
        assert_eq!(ids.len(), 160);
        assert_eq!(second["more"], json!(false));

        let bad = get_objects_v21(&client, &server, &[("next", "n-0-999")]).await;
        assert_eq!(bad.status(), 400);
    }

    #[tokio::test]
    async fn taxii_server_v21_date_headers() {
        let server = TaxiiServer::start(Version::V21).await;
        server.add_objects_spaced(
            (0..3).map(indicator).collect(),
            at("2025-01-01T00:00:00Z"),
            chrono::Duration::milliseconds(1500),
        );
        let client = test_client();

        let response = get_objects_v21(&client, &server, &[]).await;
        assert_eq!(
            header_text(&response, DATE_ADDED_FIRST),
            Some("2025-01-01T00:00:00.000Z")
        );
        assert_eq!(
            header_text(&response, DATE_ADDED_LAST),
            Some("2025-01-01T00:00:03.000Z")
        );
        let date = header_text(&response, DATE.as_str()).expect("Date header by default");
        httpdate::parse_http_date(date).expect("Date in HTTP date format");

        let cases = [
            (
                DateHeaderStyle::Rfc3339Micros,
                Some("2025-01-01T00:00:00.000000Z"),
            ),
            (
                DateHeaderStyle::Offset,
                Some("2025-01-01T01:00:00.000+01:00"),
            ),
            (
                DateHeaderStyle::Mitre,
                Some("Wed Jan 01 2025 00:00:00 GMT+0000 (Coordinated Universal Time)"),
            ),
            (DateHeaderStyle::Omit, None),
        ];
        for (style, expected_first) in cases {
            server.set_behaviour(Behaviour {
                date_header_style: style,
                ..Behaviour::default()
            });
            let response = get_objects_v21(&client, &server, &[]).await;
            assert_eq!(header_text(&response, DATE_ADDED_FIRST), expected_first);
        }

        // An empty page has no date headers.
        server.set_behaviour(Behaviour::default());
        let response =
            get_objects_v21(&client, &server, &[("added_after", "2030-01-01T00:00:00Z")]).await;
        assert!(header_text(&response, DATE_ADDED_FIRST).is_none());
        assert!(header_text(&response, DATE_ADDED_LAST).is_none());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"more": false}));

        // Without the HTTP Date header the response is otherwise intact.
        server.set_behaviour(Behaviour {
            send_date_header: false,
            ..Behaviour::default()
        });
        let response = get_objects_v21(&client, &server, &[]).await;
        assert!(response.headers().get(DATE).is_none());
        assert!(header_text(&response, DATE_ADDED_FIRST).is_some());
        let body: Value = response.json().await.expect("body intact");
        assert_eq!(ids_of(&body).len(), 3);
    }

    #[tokio::test]
    async fn taxii_server_v21_added_after_inclusive_vs_exclusive() {
        let server = TaxiiServer::start(Version::V21).await;
        server.add_objects(vec![indicator(0)], at("2025-01-01T00:00:00Z"));
        server.add_objects(vec![indicator(1), indicator(2)], at("2025-01-01T00:00:01Z"));
        server.add_objects(vec![indicator(3)], at("2025-01-01T00:00:02Z"));
        server.add_objects(
            vec![json!({"type": "malware", "id": "malware--00000000-0000-4000-8000-000000000000"})],
            at("2025-01-01T00:00:03Z"),
        );
        let client = test_client();
        let count = |body: Value| ids_of(&body).len();

        for added_after in ["2025-01-01T00:00:01Z", "2025-01-01T00:00:01.000Z"] {
            let query = [("added_after", added_after), ("match[type]", "indicator")];
            let body = get_objects_v21(&client, &server, &query).await.json().await;
            assert_eq!(count(body.unwrap()), 1, "exclusive with {added_after}");
        }
        server.set_behaviour(Behaviour {
            inclusive_added_after: true,
            ..Behaviour::default()
        });
        let query = [
            ("added_after", "2025-01-01T00:00:01Z"),
            ("match[type]", "indicator"),
        ];
        let body: Value = get_objects_v21(&client, &server, &query)
            .await
            .json()
            .await
            .unwrap();
        // Equal dates keep insertion order.
        assert_eq!(
            ids_of(&body),
            vec![indicator_id(1), indicator_id(2), indicator_id(3)]
        );

        let query = [("match[type]", "malware,campaign")];
        let body = get_objects_v21(&client, &server, &query).await.json().await;
        assert_eq!(count(body.unwrap()), 1);

        let bad = get_objects_v21(&client, &server, &[("added_after", "yesterday")]).await;
        assert_eq!(bad.status(), 400);
        let body: Value = bad.json().await.unwrap();
        assert_eq!(body["http_status"], json!("400"));
    }

    #[tokio::test]
    async fn taxii_server_v21_resources_and_routing() {
        let server = TaxiiServer::start(Version::V21).await;
        let client = test_client();
        let get = |url: String| client.get(url).header(ACCEPT, TAXII21_MEDIA_TYPE).send();

        let discovery: Value = get(server.discovery_url())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(discovery["api_roots"], json!([server.api_root_url()]));
        let root: Value = get(server.api_root_url())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(root["versions"], json!([TAXII21_MEDIA_TYPE]));
        let collections: Value = get(format!("{}collections/", server.api_root_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(collections["collections"][0]["id"], json!(COLLECTION_ID));

        // Without the trailing slash.
        let collection_url = server.collection_url();
        let response = get(collection_url.trim_end_matches('/').to_owned())
            .await
            .unwrap();
        assert_eq!(response.status(), 200);

        let unknown = format!(
            "{}collections/00000000-0000-4000-8000-000000000000/objects/",
            server.api_root_url()
        );
        assert_eq!(get(unknown).await.unwrap().status(), 404);

        let response = client
            .get(server.discovery_url())
            .header(ACCEPT, "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 406);
    }

    #[tokio::test]
    async fn taxii_server_v21_misbehaviours() {
        let server = TaxiiServer::start(Version::V21).await;
        server.add_objects_spaced(
            (0..30).map(indicator).collect(),
            at("2025-01-01T00:00:00Z"),
            chrono::Duration::seconds(1),
        );
        let client = test_client();
        let limit = [("limit", "10")];

        server.set_behaviour(Behaviour {
            repeat_next: true,
            ..Behaviour::default()
        });
        let first: Value = get_objects_v21(&client, &server, &limit)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(first["next"], json!(STUCK_TOKEN));
        let again = [("limit", "10"), ("next", STUCK_TOKEN)];
        let second: Value = get_objects_v21(&client, &server, &again)
            .await
            .json()
            .await
            .unwrap();
        let third: Value = get_objects_v21(&client, &server, &again)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(ids_of(&second), ids_of(&third));
        assert_ne!(ids_of(&first), ids_of(&second));
        assert_eq!(third["more"], json!(true));
        assert_eq!(third["next"], json!(STUCK_TOKEN));

        server.set_behaviour(Behaviour {
            more_without_next: true,
            ..Behaviour::default()
        });
        let body: Value = get_objects_v21(&client, &server, &limit)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["more"], json!(true));
        assert!(body.get("next").is_none());

        server.set_behaviour(Behaviour {
            omit_more: true,
            ..Behaviour::default()
        });
        let body: Value = get_objects_v21(&client, &server, &limit)
            .await
            .json()
            .await
            .unwrap();
        assert!(body.get("more").is_none());

        server.set_behaviour(Behaviour {
            ignore_limit: true,
            ..Behaviour::default()
        });
        let body: Value = get_objects_v21(&client, &server, &limit)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(ids_of(&body).len(), 30);
        assert_eq!(body["more"], json!(false));

        server.set_behaviour(Behaviour {
            max_page_size: Some(4),
            ..Behaviour::default()
        });
        let body: Value = get_objects_v21(&client, &server, &limit)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(ids_of(&body).len(), 4);
        assert_eq!(body["more"], json!(true));
    }

    #[tokio::test]
    async fn taxii_server_v20_range_paging() {
        let server = TaxiiServer::start(Version::V20).await;
        server.add_objects_spaced(
            (0..25).map(indicator).collect(),
            at("2025-01-01T00:00:00Z"),
            chrono::Duration::seconds(1),
        );
        let client = test_client();
        let get_range = |range: Option<&'static str>| {
            let mut request = client
                .get(server.objects_url())
                .header(ACCEPT, STIX20_MEDIA_TYPE);
            if let Some(range) = range {
                request = request.header(RANGE, range);
            }
            request.send()
        };

        let discovery = client
            .get(server.discovery_url())
            .header(ACCEPT, TAXII20_MEDIA_TYPE)
            .send()
            .await
            .unwrap();
        assert!(server.discovery_url().ends_with("/taxii/"));
        assert_eq!(discovery.status(), 200);
        assert_eq!(
            header_text(&discovery, CONTENT_TYPE.as_str()),
            Some(TAXII20_MEDIA_TYPE)
        );

        let response = get_range(Some("items=0-9")).await.unwrap();
        assert_eq!(response.status(), 206);
        assert_eq!(
            header_text(&response, CONTENT_RANGE.as_str()),
            Some("items 0-9/25")
        );
        assert_eq!(
            header_text(&response, CONTENT_TYPE.as_str()),
            Some(STIX20_MEDIA_TYPE)
        );
        assert_eq!(
            header_text(&response, DATE_ADDED_FIRST),
            Some("2025-01-01T00:00:00.000Z")
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["type"], json!("bundle"));
        assert_eq!(ids_of(&body).len(), 10);

        let response = get_range(Some("items=20-29")).await.unwrap();
        assert_eq!(response.status(), 206);
        assert_eq!(
            header_text(&response, CONTENT_RANGE.as_str()),
            Some("items 20-24/25")
        );
        assert_eq!(ids_of(&response.json().await.unwrap()).len(), 5);

        let response = get_range(Some("items=25-34")).await.unwrap();
        assert_eq!(response.status(), 416);
        assert_eq!(
            header_text(&response, CONTENT_RANGE.as_str()),
            Some("items */25")
        );

        let response = get_range(None).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(ids_of(&response.json().await.unwrap()).len(), 25);

        server.set_behaviour(Behaviour {
            max_page_size: Some(4),
            ..Behaviour::default()
        });
        let response = get_range(Some("items=0-9")).await.unwrap();
        assert_eq!(
            header_text(&response, CONTENT_RANGE.as_str()),
            Some("items 0-3/25")
        );

        server.set_behaviour(Behaviour {
            omit_content_range: true,
            ..Behaviour::default()
        });
        let response = get_range(Some("items=0-9")).await.unwrap();
        assert_eq!(response.status(), 206);
        assert!(response.headers().get(CONTENT_RANGE).is_none());

        server.set_behaviour(Behaviour {
            ignore_range: true,
            ..Behaviour::default()
        });
        let response = get_range(Some("items=0-9")).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(ids_of(&response.json().await.unwrap()).len(), 25);
    }

    #[tokio::test]
    async fn taxii_server_auth() {
        let server = TaxiiServer::start(Version::V21)
            .await
            .with_basic_auth("alice", "s3cret");
        let client = test_client();
        let get = || {
            client
                .get(server.discovery_url())
                .header(ACCEPT, TAXII21_MEDIA_TYPE)
        };

        let response = get().send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(
            header_text(&response, "www-authenticate"),
            Some("Basic realm=\"taxii\"")
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["http_status"], json!("401"));

        let wrong = get()
            .basic_auth("alice", Some("guess"))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
        let right = get()
            .basic_auth("alice", Some("s3cret"))
            .send()
            .await
            .unwrap();
        assert_eq!(right.status(), 200);

        server.set_bearer_token("tok-123");
        assert_eq!(
            get().bearer_auth("tok-123").send().await.unwrap().status(),
            200
        );
        assert_eq!(
            get().bearer_auth("tok-124").send().await.unwrap().status(),
            401
        );

        server.set_api_key("X-Api-Key", "k1");
        assert_eq!(
            get()
                .header("x-api-key", "k1")
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        assert_eq!(get().send().await.unwrap().status(), 401);

        let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses, vec![401, 401, 200, 200, 401, 200, 401]);
    }

    #[tokio::test]
    async fn taxii_server_faults() {
        let server = TaxiiServer::start(Version::V21).await;
        server.add_objects((0..5).map(indicator).collect(), at("2025-01-01T00:00:00Z"));
        let client = test_client();

        server.push_faults([
            Fault::TooManyRequests {
                retry_after_secs: 7,
            },
            Fault::Status(503),
            Fault::TruncatedJson,
            Fault::DropConnection,
            Fault::Slow(Duration::from_millis(20)),
        ]);
        // Faults only hit the objects endpoint.
        let discovery = client.get(server.discovery_url()).send().await.unwrap();
        assert_eq!(discovery.status(), 200);

        let response = get_objects_v21(&client, &server, &[]).await;
        assert_eq!(response.status(), 429);
        assert_eq!(header_text(&response, "retry-after"), Some("7"));

        let response = get_objects_v21(&client, &server, &[]).await;
        assert_eq!(response.status(), 503);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["http_status"], json!("503"));

        let response = get_objects_v21(&client, &server, &[]).await;
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        assert!(!text.is_empty());
        assert!(serde_json::from_str::<Value>(&text).is_err());

        // No response at all: hyper reports the connection closed before the message completed.
        let dropped = client.get(server.objects_url()).send().await;
        let error = dropped.expect_err("connection dropped");
        assert!(error.is_request() && !error.is_timeout(), "{error:?}");

        let slow = get_objects_v21(&client, &server, &[]).await;
        assert_eq!(slow.status(), 200);
        assert_eq!(ids_of(&slow.json().await.unwrap()).len(), 5);

        server.fail_after_pages(1, Fault::Status(500));
        let statuses = [
            get_objects_v21(&client, &server, &[]).await.status(),
            get_objects_v21(&client, &server, &[]).await.status(),
            get_objects_v21(&client, &server, &[]).await.status(),
        ];
        assert_eq!(statuses, [200, 500, 500]);
        server.clear_faults();
        assert_eq!(get_objects_v21(&client, &server, &[]).await.status(), 200);

        server.set_persistent_fault(Some(Fault::Stall));
        let stalled = client
            .get(server.objects_url())
            .timeout(Duration::from_millis(100))
            .send()
            .await;
        assert!(stalled.expect_err("stalled request times out").is_timeout());
        server.set_persistent_fault(None);

        assert_eq!(server.objects_requests(), 10);
        let recorded: Vec<u16> = server
            .recorded_objects_requests()
            .iter()
            .map(|r| r.status)
            .collect();
        assert_eq!(recorded, vec![429, 503, 200, 0, 200, 200, 500, 500, 200, 0]);
    }

    #[test]
    fn taxii_server_base64() {
        assert_eq!(
            base64_encode(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(base64_encode(b"ab"), "YWI=");
        assert_eq!(base64_encode(b"abc"), "YWJj");
        assert_eq!(base64_encode(b""), "");
    }
}
