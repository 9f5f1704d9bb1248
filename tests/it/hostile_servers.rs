//! Servers that misbehave in ways the fixture does not model, each a small axum app on 127.0.0.1.

use crate::helpers::{Backend, TestDb};
use crate::taxii_server::indicator;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::sync::{Arc, Mutex};
use taxii_relay::pipeline::scheduler::PollError;
use taxii_relay::taxii::TaxiiError;

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("127.0.0.1:{port}")
}

/// An API key in a custom header must not follow a redirect to another origin (reqwest only strips
/// `Authorization` itself): the poll stops with a plain error and the other host sees no key.
#[tokio::test]
async fn api_key_does_not_follow_a_redirect_elsewhere() {
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let record = seen.clone();
    let elsewhere = serve(Router::new().fallback(move |headers: HeaderMap| {
        let record = record.clone();
        async move {
            let key = headers
                .get("x-api-key")
                .map(|v| v.to_str().unwrap().to_owned());
            record.lock().unwrap().push(key);
            (StatusCode::OK, "{}")
        }
    }))
    .await;
    // "localhost" is another origin than "127.0.0.1", though the same machine.
    let target = format!(
        "http://localhost:{}/api1/collections/x/objects/",
        elsewhere.split(':').nth(1).unwrap()
    );
    let origin = serve(Router::new().fallback(move || {
        let target = target.clone();
        async move { (StatusCode::FOUND, [("location", target)], "") }
    }))
    .await;
    let db = TestDb::new(Backend::Sqlite).await;
    let key_file = db.dir.path().join("key");
    std::fs::write(&key_file, "TOPSECRET-header").unwrap();
    let collection = db.collection(
        "c",
        &format!("http://{origin}/api1/collections/x/"),
        &format!(
            "[collections.auth]\nkind = \"header\"\nheader = \"X-API-Key\"\ntoken_file = \"{}\"",
            key_file.display()
        ),
    );
    let error = db.poll(&collection).await.unwrap_err();
    assert!(
        matches!(
            error,
            PollError::Taxii(TaxiiError::Status { status: 302, .. })
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("not followed"), "{error}");
    assert!(
        seen.lock().unwrap().is_empty(),
        "the other origin was never asked"
    );
}

/// A TAXII 2.0 server that answers every Range with the same first items must not be paged forever.
#[tokio::test]
async fn range_ignored_on_206_ends_the_poll() {
    let requests = Arc::new(Mutex::new(0usize));
    let counter = requests.clone();
    let server = serve(Router::new().route(
        "/api1/collections/x/objects/",
        get(move || {
            let counter = counter.clone();
            async move {
                *counter.lock().unwrap() += 1;
                let bundle = serde_json::json!({"type": "bundle",
                    "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "spec_version": "2.0",
                    "objects": [indicator(0), indicator(1)]});
                (
                    StatusCode::PARTIAL_CONTENT,
                    [
                        ("content-range", "items 0-1/10"),
                        (
                            "content-type",
                            "application/vnd.oasis.stix+json; version=2.0",
                        ),
                    ],
                    bundle.to_string(),
                )
                    .into_response()
            }
        }),
    ))
    .await;
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection(
        "c",
        &format!("http://{server}/api1/collections/x/"),
        "taxii_version = \"2.0\"\npage_size = 2",
    );
    let summary = db.poll(&collection).await.unwrap();
    assert_eq!(summary.new, 2);
    assert!(
        *requests.lock().unwrap() <= 2,
        "{} requests",
        requests.lock().unwrap()
    );
}

/// Python and JavaScript servers emit lone UTF-16 surrogates (half an emoji) in JSON strings; strict JSON
/// parsers refuse the whole page. The page is read, the half character replaced, every object stored.
#[tokio::test]
async fn lone_surrogate_in_a_page_does_not_block_the_collection() {
    let mut first = indicator(0);
    first["description"] = serde_json::json!("PLACEHOLDER");
    let envelope = serde_json::json!({"more": false, "objects": [first, indicator(1)]})
        .to_string()
        .replace("PLACEHOLDER", "cut emoji \\ud83d");
    let server = serve(Router::new().route(
        "/api1/collections/x/objects/",
        get(move || {
            let envelope = envelope.clone();
            async move {
                (
                    [
                        ("content-type", "application/taxii+json;version=2.1"),
                        ("x-taxii-date-added-last", "2025-01-01T00:00:00.000Z"),
                    ],
                    envelope,
                )
            }
        }),
    ))
    .await;
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &format!("http://{server}/api1/collections/x/"), "");
    let summary = db.poll(&collection).await.unwrap();
    assert_eq!(summary.new, 2);
}
