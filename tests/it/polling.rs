//! Polling a TAXII collection into the store, on both databases: paging, cursor, overlap, versions,
//! crashes between pages and fault storms.

use crate::helpers::{Backend, TestDb};
use crate::taxii_server::{indicator, indicator_v, Behaviour, Fault, TaxiiServer, Version};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;
use taxii_relay::pipeline::scheduler::PollError;
use taxii_relay::taxii::TaxiiError;

pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub fn indicators(range: std::ops::Range<usize>) -> Vec<serde_json::Value> {
    range.map(indicator).collect()
}

fn distinct(versions: &[(String, DateTime<Utc>)]) -> usize {
    versions.iter().collect::<HashSet<_>>().len()
}

async fn full_ingest_then_nothing_new(backend: Backend) {
    let server = TaxiiServer::start(Version::V21).await;
    let last = server.add_objects_spaced(
        indicators(0..250),
        t("2025-01-01T00:00:00Z"),
        Duration::seconds(1),
    );
    let db = TestDb::new(backend).await;
    let collection = db.collection("c", &server.collection_url(), "");

    let first = db.poll(&collection).await.unwrap();
    assert_eq!(first.pages, 3);
    assert_eq!(first.new, 250);
    let versions = db.versions().await;
    assert_eq!(versions.len(), 250);
    assert_eq!(distinct(&versions), 250);
    assert_eq!(db.cursor("c").await, Some(last));

    let second = db.poll(&collection).await.unwrap();
    assert_eq!(second.new, 0, "a second poll stores nothing new");
    assert_eq!(db.versions().await.len(), 250);
    // The second poll starts from cursor - overlap (5 min), so it re-reads what falls in the window.
    let requests = server.requests();
    let last_objects_request = requests
        .iter()
        .rev()
        .find(|r| r.path.ends_with("/objects/"))
        .unwrap();
    let added_after = last_objects_request
        .query
        .iter()
        .find(|(k, _)| k == "added_after")
        .map(|(_, v)| v.clone())
        .expect("added_after sent");
    assert_eq!(added_after, "2024-12-31T23:59:09.000Z");
}

#[tokio::test]
async fn full_ingest_then_nothing_new_sqlite() {
    full_ingest_then_nothing_new(Backend::Sqlite).await
}
#[tokio::test]
async fn full_ingest_then_nothing_new_postgres() {
    full_ingest_then_nothing_new(Backend::Postgres).await
}

async fn later_objects_and_new_versions_arrive(backend: Backend) {
    let server = TaxiiServer::start(Version::V21).await;
    server.add_objects_spaced(
        indicators(0..120),
        t("2025-01-01T00:00:00Z"),
        Duration::seconds(1),
    );
    let db = TestDb::new(backend).await;
    let collection = db.collection("c", &server.collection_url(), "");
    assert_eq!(db.poll(&collection).await.unwrap().new, 120);

    // Later: 30 new objects and new versions of 5 known ids.
    server.add_objects_spaced(
        indicators(120..150),
        t("2025-01-02T00:00:00Z"),
        Duration::seconds(1),
    );
    let updates: Vec<_> = (0..5)
        .map(|n| indicator_v(n, "2025-01-02T12:00:00.000Z"))
        .collect();
    server.add_objects(updates, t("2025-01-02T12:00:00Z"));

    let next = db.poll(&collection).await.unwrap();
    assert_eq!(next.new, 35);
    let versions = db.versions().await;
    assert_eq!(versions.len(), 155, "new versions are new rows");
    let first_id = indicator(0)["id"].as_str().unwrap().to_owned();
    assert_eq!(versions.iter().filter(|(id, _)| *id == first_id).count(), 2);
}

#[tokio::test]
async fn later_objects_and_new_versions_arrive_sqlite() {
    later_objects_and_new_versions_arrive(Backend::Sqlite).await
}
#[tokio::test]
async fn later_objects_and_new_versions_arrive_postgres() {
    later_objects_and_new_versions_arrive(Backend::Postgres).await
}

/// A server whose `date_added` order is not its commit order: an object that becomes visible after the
/// poll, with a `date_added` before the cursor but inside the overlap, still arrives.
async fn objects_inside_the_overlap_window_are_not_lost(backend: Backend) {
    let server = TaxiiServer::start(Version::V21).await;
    let last = server.add_objects_spaced(
        indicators(0..10),
        t("2025-01-01T00:00:00Z"),
        Duration::seconds(30),
    );
    let db = TestDb::new(backend).await;
    let collection = db.collection("c", &server.collection_url(), "");
    db.poll(&collection).await.unwrap();
    assert_eq!(db.cursor("c").await, Some(last));

    server.add_objects(indicators(10..12), last - Duration::minutes(3));
    let next = db.poll(&collection).await.unwrap();
    assert_eq!(next.new, 2);
    assert_eq!(db.versions().await.len(), 12);
    assert_eq!(
        db.cursor("c").await,
        Some(last),
        "the cursor never moves back"
    );
}

#[tokio::test]
async fn objects_inside_the_overlap_window_are_not_lost_sqlite() {
    objects_inside_the_overlap_window_are_not_lost(Backend::Sqlite).await
}
#[tokio::test]
async fn objects_inside_the_overlap_window_are_not_lost_postgres() {
    objects_inside_the_overlap_window_are_not_lost(Backend::Postgres).await
}

/// The connection drops for good after two pages: the poll fails, the two pages and their cursor are
/// committed, and the next poll resumes from there with nothing lost and nothing stored twice.
async fn failure_between_pages_resumes_from_the_last_committed_page(backend: Backend) {
    let server = TaxiiServer::start(Version::V21).await;
    server.add_objects_spaced(
        indicators(0..250),
        t("2025-01-01T00:00:00Z"),
        Duration::minutes(1),
    );
    let db = TestDb::new(backend).await;
    let collection = db.collection("c", &server.collection_url(), "max_retries = 1");
    server.fail_after_pages(2, Fault::DropConnection);
    let failed = db.poll(&collection).await.unwrap_err();
    assert!(
        matches!(failed, PollError::Taxii(_)),
        "unexpected error {failed:?}"
    );
    assert_eq!(db.versions().await.len(), 200);
    // Page 2 holds objects 100..199, added one minute apart.
    let page_two_last = t("2025-01-01T00:00:00Z") + Duration::minutes(199);
    assert_eq!(db.cursor("c").await, Some(page_two_last));
    let row = db.store.cursor_row("c").await.unwrap().unwrap();
    assert!(row.last_error.is_some());

    server.clear_faults();
    let resumed = db.poll(&collection).await.unwrap();
    assert_eq!(resumed.new, 50);
    let versions = db.versions().await;
    assert_eq!(versions.len(), 250);
    assert_eq!(distinct(&versions), 250);
    let row = db.store.cursor_row("c").await.unwrap().unwrap();
    assert!(row.last_error.is_none() && row.last_success_at.is_some());
}

#[tokio::test]
async fn failure_between_pages_resumes_from_the_last_committed_page_sqlite() {
    failure_between_pages_resumes_from_the_last_committed_page(Backend::Sqlite).await
}
#[tokio::test]
async fn failure_between_pages_resumes_from_the_last_committed_page_postgres() {
    failure_between_pages_resumes_from_the_last_committed_page(Backend::Postgres).await
}

/// Every kind of transient fault, many times over: the poll ends with everything stored once.
async fn fault_storm_ends_with_everything_stored_once(backend: Backend) {
    let server = TaxiiServer::start(Version::V21).await;
    server.add_objects_spaced(
        indicators(0..500),
        t("2025-01-01T00:00:00Z"),
        Duration::seconds(1),
    );
    let faults = [
        Fault::Status(500),
        Fault::TruncatedJson,
        Fault::Status(503),
        Fault::TooManyRequests {
            retry_after_secs: 0,
        },
        Fault::DropConnection,
        Fault::Slow(std::time::Duration::from_millis(50)),
        Fault::Status(502),
    ];
    server.push_faults(faults.iter().cycle().take(21).cloned());
    let db = TestDb::new(backend).await;
    let collection = db.collection("c", &server.collection_url(), "max_retries = 10");
    let summary = db.poll(&collection).await.unwrap();
    assert_eq!(summary.new, 500);
    let versions = db.versions().await;
    assert_eq!(versions.len(), 500);
    assert_eq!(distinct(&versions), 500);
    // 5 pages, plus one retry for each of the 18 failing faults (the 3 slow answers succeed).
    assert_eq!(server.objects_requests(), 5 + 18);
}

#[tokio::test]
async fn fault_storm_ends_with_everything_stored_once_sqlite() {
    fault_storm_ends_with_everything_stored_once(Backend::Sqlite).await
}
#[tokio::test]
async fn fault_storm_ends_with_everything_stored_once_postgres() {
    fault_storm_ends_with_everything_stored_once(Backend::Postgres).await
}

async fn bad_credentials_fail_once_without_retrying(backend: Backend) {
    let server = TaxiiServer::start(Version::V21)
        .await
        .with_basic_auth("analyst", "right-password");
    server.add_objects(indicators(0..5), t("2025-01-01T00:00:00Z"));
    let db = TestDb::new(backend).await;
    let wrong = db.dir.path().join("wrong-password");
    std::fs::write(&wrong, "wrong-password\n").unwrap();
    let collection = db.collection(
        "c",
        &server.collection_url(),
        &format!(
            "[collections.auth]\nkind = \"basic\"\nusername = \"analyst\"\npassword_file = \"{}\"",
            wrong.display()
        ),
    );
    let error = db.poll(&collection).await.unwrap_err();
    assert!(
        matches!(
            error,
            PollError::Taxii(TaxiiError::Unauthorized { status: 401, .. })
        ),
        "{error:?}"
    );
    assert!(!error.to_string().contains("wrong-password"));
    let objects_requests = server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/objects/"))
        .count();
    assert_eq!(objects_requests, 1, "401 is not retried");
    assert_eq!(db.cursor("c").await, None);

    let right = db.dir.path().join("right-password");
    std::fs::write(&right, "right-password\n").unwrap();
    let collection = db.collection(
        "c",
        &server.collection_url(),
        &format!(
            "[collections.auth]\nkind = \"basic\"\nusername = \"analyst\"\npassword_file = \"{}\"",
            right.display()
        ),
    );
    assert_eq!(db.poll(&collection).await.unwrap().new, 5);
}

#[tokio::test]
async fn bad_credentials_fail_once_without_retrying_sqlite() {
    bad_credentials_fail_once_without_retrying(Backend::Sqlite).await
}
#[tokio::test]
async fn bad_credentials_fail_once_without_retrying_postgres() {
    bad_credentials_fail_once_without_retrying(Backend::Postgres).await
}

async fn taxii_20_range_paging(backend: Backend) {
    let server = TaxiiServer::start(Version::V20).await;
    let objects: Vec<_> = (0..230)
        .map(|n| {
            let mut o = indicator(n);
            o.as_object_mut().unwrap().remove("spec_version");
            o
        })
        .collect();
    let last = server.add_objects_spaced(objects, t("2025-01-01T00:00:00Z"), Duration::seconds(1));
    let db = TestDb::new(backend).await;
    let collection = db.collection("c20", &server.collection_url(), "taxii_version = \"2.0\"");
    let summary = db.poll(&collection).await.unwrap();
    assert_eq!(summary.new, 230);
    assert_eq!(db.cursor("c20").await, Some(last));
    let ranges: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/objects/"))
        .filter_map(|r| {
            r.headers
                .iter()
                .find(|(k, _)| k == "range")
                .map(|(_, v)| v.clone())
        })
        .collect();
    assert_eq!(
        ranges[..3],
        ["items=0-99", "items=100-199", "items=200-299"]
    );
    assert_eq!(db.poll(&collection).await.unwrap().new, 0);
}

#[tokio::test]
async fn taxii_20_range_paging_sqlite() {
    taxii_20_range_paging(Backend::Sqlite).await
}
#[tokio::test]
async fn taxii_20_range_paging_postgres() {
    taxii_20_range_paging(Backend::Postgres).await
}

/// STIX 2.0 content from a 2.0 server is stored with spec_version 2.0 until normalization lands, and
/// the body keeps every property as received.
#[tokio::test]
async fn postgres_keeps_body_as_jsonb() {
    let server = TaxiiServer::start(Version::V21).await;
    server.add_objects(indicators(0..3), t("2025-01-01T00:00:00Z"));
    let db = TestDb::new(Backend::Postgres).await;
    let collection = db.collection("c", &server.collection_url(), "");
    db.poll(&collection).await.unwrap();
    let taxii_relay::store::Store::Postgres(pg) = &db.store else {
        unreachable!()
    };
    let (kind, pattern): (String, String) = sqlx::query_as(
        "SELECT jsonb_typeof(body), body->>'pattern' FROM objects ORDER BY id LIMIT 1",
    )
    .fetch_one(pg.pool())
    .await
    .unwrap();
    assert_eq!(kind, "object");
    assert_eq!(pattern, indicator(0)["pattern"].as_str().unwrap());
}

#[tokio::test]
async fn sco_versions_follow_their_content() {
    let server = TaxiiServer::start(Version::V21).await;
    let sco = |value: &str| {
        serde_json::json!({"type": "ipv4-addr", "spec_version": "2.1",
            "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": value})
    };
    server.add_objects(vec![sco("198.51.100.3")], t("2025-01-01T00:00:00Z"));
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "");
    assert_eq!(db.poll(&collection).await.unwrap().new, 1);
    assert_eq!(db.poll(&collection).await.unwrap().new, 0, "same content");
    server.add_objects(vec![sco("198.51.100.4")], t("2025-01-02T00:00:00Z"));
    assert_eq!(
        db.poll(&collection).await.unwrap().new,
        1,
        "changed content is an update"
    );
    assert_eq!(db.versions().await.len(), 1);
}

/// A server without `limit` support sends everything in one page.
#[tokio::test]
async fn server_ignoring_limit() {
    let server = TaxiiServer::start(Version::V21).await;
    server.add_objects_spaced(
        indicators(0..340),
        t("2025-01-01T00:00:00Z"),
        Duration::seconds(1),
    );
    server.set_behaviour(Behaviour {
        ignore_limit: true,
        ..Default::default()
    });
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "");
    let summary = db.poll(&collection).await.unwrap();
    assert_eq!((summary.pages, summary.new), (1, 340));
}
