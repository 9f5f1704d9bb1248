//! Server behaviours that broke other TAXII clients in the field, each against the fixture.

use crate::helpers::{Backend, TestDb};
use crate::polling::{indicators, t};
use crate::taxii_server::{Behaviour, DateHeaderStyle, Fault, TaxiiServer, Version};
use chrono::Duration;
use taxii_relay::pipeline::scheduler::PollError;
use taxii_relay::taxii::TaxiiError;

async fn server_with(
    version: Version,
    count: usize,
    behaviour: Behaviour,
) -> (TaxiiServer, chrono::DateTime<chrono::Utc>) {
    let server = TaxiiServer::start(version).await;
    let last = server.add_objects_spaced(
        indicators(0..count),
        t("2025-01-01T00:00:00Z"),
        Duration::seconds(1),
    );
    server.set_behaviour(behaviour);
    (server, last)
}

/// `more: true` without `next`: page on with `added_after` = the page's `X-TAXII-Date-Added-Last`.
#[tokio::test]
async fn more_without_next_pages_on_by_date_added_last() {
    let (server, last) = server_with(
        Version::V21,
        250,
        Behaviour {
            more_without_next: true,
            ..Default::default()
        },
    )
    .await;
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "");
    let summary = db.poll(&collection).await.unwrap();
    assert_eq!((summary.pages, summary.new), (3, 250));
    assert_eq!(db.cursor("c").await, Some(last));
    let added_afters: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/objects/"))
        .filter_map(|r| {
            r.query
                .iter()
                .find(|(k, _)| k == "added_after")
                .map(|(_, v)| v.clone())
        })
        .collect();
    assert_eq!(
        added_afters,
        ["2025-01-01T00:01:39.000Z", "2025-01-01T00:03:19.000Z"]
    );
}

/// ... and with the header missing too: an error for that poll, the cursor not advanced, no loop.
#[tokio::test]
async fn more_without_next_or_date_header_is_an_error_without_advancing() {
    let (server, _) = server_with(
        Version::V21,
        250,
        Behaviour {
            more_without_next: true,
            date_header_style: DateHeaderStyle::Omit,
            ..Default::default()
        },
    )
    .await;
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "");
    let error = db.poll(&collection).await.unwrap_err();
    assert!(
        matches!(error, PollError::Taxii(TaxiiError::Paging { .. })),
        "{error:?}"
    );
    assert_eq!(server.objects_requests(), 1, "no loop");
    assert_eq!(db.versions().await.len(), 100, "the page in hand is kept");
    assert_eq!(db.cursor("c").await, None, "the cursor is not advanced");
}

/// A 2.1 envelope that omits `more` means no more: the poll ends there, and the rest arrives on the
/// following polls since the cursor only reached that page's last object.
#[tokio::test]
async fn envelope_without_more_ends_the_poll_and_loses_nothing() {
    let (server, last) = server_with(
        Version::V21,
        250,
        Behaviour {
            omit_more: true,
            ..Default::default()
        },
    )
    .await;
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "overlap = \"0s\"");
    let mut polls = 0;
    while db.versions().await.len() < 250 {
        polls += 1;
        assert!(polls <= 4, "every object arrives within a few polls");
        assert_eq!(db.poll(&collection).await.unwrap().pages, 1);
    }
    assert_eq!(polls, 3);
    assert_eq!(db.cursor("c").await, Some(last));
}

/// An empty envelope `{}` is an empty last page.
#[tokio::test]
async fn empty_envelope_is_an_empty_last_page() {
    let server = TaxiiServer::start(Version::V21).await;
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "");
    let summary = db.poll(&collection).await.unwrap();
    assert_eq!((summary.pages, summary.objects), (1, 0));
    assert_eq!(server.objects_requests(), 1);
}

/// Many objects sharing one `date_added` across a page boundary, on a server whose `added_after` is
/// inclusive: none skipped, none stored twice.
#[tokio::test]
async fn shared_date_added_across_pages_on_an_inclusive_server() {
    let server = TaxiiServer::start(Version::V21).await;
    let when = t("2025-01-01T00:00:00Z");
    server.add_objects(indicators(0..150), when);
    server.set_behaviour(Behaviour {
        inclusive_added_after: true,
        ..Default::default()
    });
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "overlap = \"0s\"");
    let first = db.poll(&collection).await.unwrap();
    assert_eq!((first.pages, first.new), (2, 150));
    assert_eq!(db.cursor("c").await, Some(when));
    let second = db.poll(&collection).await.unwrap();
    assert_eq!(
        (second.new, second.duplicates),
        (0, 150),
        "the inclusive bound re-sends the boundary objects; none is stored again"
    );
    assert_eq!(db.versions().await.len(), 150);
}

/// The same with `more` and no `next` on an inclusive server: paging by date cannot pass a page full of
/// one `date_added`, and says so instead of looping.
#[tokio::test]
async fn paging_by_date_that_cannot_progress_stops_with_an_error() {
    let server = TaxiiServer::start(Version::V21).await;
    server.add_objects(indicators(0..150), t("2025-01-01T00:00:00Z"));
    server.set_behaviour(Behaviour {
        inclusive_added_after: true,
        more_without_next: true,
        ..Default::default()
    });
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "");
    let error = db.poll(&collection).await.unwrap_err();
    assert!(
        matches!(error, PollError::Taxii(TaxiiError::Paging { .. })),
        "{error:?}"
    );
    assert!(server.objects_requests() <= 3);
}

async fn date_header_style_is_read(style: DateHeaderStyle) {
    let (server, last) = server_with(
        Version::V21,
        150,
        Behaviour {
            date_header_style: style.clone(),
            ..Default::default()
        },
    )
    .await;
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "");
    let summary = db.poll(&collection).await.unwrap();
    assert_eq!(summary.new, 150, "{style:?}");
    let cursor = db.cursor("c").await.expect("a cursor");
    match style {
        // Without the header the cursor falls back to the server's Date at the start of the poll.
        DateHeaderStyle::Omit => {
            let now = chrono::Utc::now();
            assert!(
                cursor <= now && cursor > now - Duration::minutes(1),
                "{cursor}"
            );
        }
        _ => assert_eq!(cursor, last, "{style:?}"),
    }
    assert_eq!(db.poll(&collection).await.unwrap().new, 0);
}

#[tokio::test]
async fn date_added_last_in_mitre_javascript_form() {
    date_header_style_is_read(DateHeaderStyle::Mitre).await
}
#[tokio::test]
async fn date_added_last_with_microseconds() {
    date_header_style_is_read(DateHeaderStyle::Rfc3339Micros).await
}
#[tokio::test]
async fn date_added_last_with_an_offset() {
    date_header_style_is_read(DateHeaderStyle::Offset).await
}
#[tokio::test]
async fn date_added_last_missing_uses_the_server_date() {
    date_header_style_is_read(DateHeaderStyle::Omit).await
}

/// `added_after` always goes out in UTC with fractional seconds.
#[tokio::test]
async fn added_after_is_sent_as_utc_with_milliseconds() {
    let (server, _) = server_with(Version::V21, 10, Behaviour::default()).await;
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection(
        "c",
        &server.collection_url(),
        "initial_added_after = \"2024-12-31T23:00:00+01:00\"",
    );
    db.poll(&collection).await.unwrap();
    db.poll(&collection).await.unwrap();
    let sent: Vec<String> = server
        .requests()
        .iter()
        .filter_map(|r| {
            r.query
                .iter()
                .find(|(k, _)| k == "added_after")
                .map(|(_, v)| v.clone())
        })
        .collect();
    assert_eq!(
        sent,
        ["2024-12-31T22:00:00.000Z", "2024-12-31T23:55:09.000Z"]
    );
}

#[tokio::test]
async fn taxii_20_without_content_range_and_short_pages() {
    let server = TaxiiServer::start(Version::V20).await;
    server.add_objects_spaced(
        indicators(0..230),
        t("2025-01-01T00:00:00Z"),
        Duration::seconds(1),
    );
    server.set_behaviour(Behaviour {
        omit_content_range: true,
        max_page_size: Some(60),
        ..Default::default()
    });
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "taxii_version = \"2.0\"");
    let summary = db.poll(&collection).await.unwrap();
    assert_eq!(summary.new, 230);
    assert_eq!(db.versions().await.len(), 230);
}

#[tokio::test]
async fn taxii_20_short_pages_with_content_range() {
    let server = TaxiiServer::start(Version::V20).await;
    server.add_objects_spaced(
        indicators(0..230),
        t("2025-01-01T00:00:00Z"),
        Duration::seconds(1),
    );
    server.set_behaviour(Behaviour {
        max_page_size: Some(60),
        ..Default::default()
    });
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "taxii_version = \"2.0\"");
    let summary = db.poll(&collection).await.unwrap();
    assert_eq!((summary.pages, summary.new), (4, 230));
}

#[tokio::test]
async fn taxii_20_server_ignoring_range() {
    let server = TaxiiServer::start(Version::V20).await;
    server.add_objects_spaced(
        indicators(0..230),
        t("2025-01-01T00:00:00Z"),
        Duration::seconds(1),
    );
    server.set_behaviour(Behaviour {
        ignore_range: true,
        ..Default::default()
    });
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "taxii_version = \"2.0\"");
    let summary = db.poll(&collection).await.unwrap();
    assert_eq!((summary.pages, summary.new), (1, 230));
}

/// MITRE's public server answers 429 with Retry-After: the relay waits as asked, then goes on.
#[tokio::test]
async fn too_many_requests_honours_retry_after() {
    let (server, _) = server_with(Version::V21, 20, Behaviour::default()).await;
    server.push_faults([Fault::TooManyRequests {
        retry_after_secs: 1,
    }]);
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "");
    let started = std::time::Instant::now();
    assert_eq!(db.poll(&collection).await.unwrap().new, 20);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(950),
        "waited {:?}, the server asked for 1 s",
        started.elapsed()
    );
    assert_eq!(server.objects_requests(), 2);
}

#[tokio::test]
async fn collection_url_with_or_without_trailing_slash() {
    let (server, _) = server_with(Version::V21, 5, Behaviour::default()).await;
    let db = TestDb::new(Backend::Sqlite).await;
    let with_slash = server.collection_url();
    let without_slash = with_slash.trim_end_matches('/').to_owned();
    let a = db.collection("a", &with_slash, "");
    let b = db.collection("b", &without_slash, "");
    assert_eq!(db.poll(&a).await.unwrap().objects, 5);
    assert_eq!(db.poll(&b).await.unwrap().objects, 5);
    assert!(server
        .requests()
        .iter()
        .all(|r| r.path.ends_with("/objects/")));
}

#[tokio::test]
async fn repeated_next_token_stops_without_looping() {
    let (server, _) = server_with(
        Version::V21,
        250,
        Behaviour {
            repeat_next: true,
            ..Default::default()
        },
    )
    .await;
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "");
    let error = db.poll(&collection).await.unwrap_err();
    assert!(
        matches!(error, PollError::Taxii(TaxiiError::Paging { .. })),
        "{error:?}"
    );
    assert!(server.objects_requests() <= 3, "no loop");
    assert!(db.versions().await.len() >= 100);
}

/// A page that stays truncated after every retry is quarantined raw, the poll fails, the cursor stays.
#[tokio::test]
async fn persistently_truncated_page_is_quarantined() {
    let (server, _) = server_with(Version::V21, 150, Behaviour::default()).await;
    server.fail_after_pages(1, Fault::TruncatedJson);
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "max_retries = 2");
    let error = db.poll(&collection).await.unwrap_err();
    assert!(
        matches!(error, PollError::Taxii(TaxiiError::InvalidResponse { .. })),
        "{error:?}"
    );
    assert_eq!(db.versions().await.len(), 100);
    let quarantined = db.store.quarantine_counts().await.unwrap();
    assert_eq!(quarantined.get("c"), Some(&1));
    assert_eq!(
        db.cursor("c").await,
        Some(t("2025-01-01T00:01:39Z")),
        "the cursor stays at the last good page"
    );
}

/// Invalid objects in a page are quarantined with reasons; the valid ones beside them are stored.
#[tokio::test]
async fn invalid_objects_are_quarantined_and_the_rest_stored() {
    let server = TaxiiServer::start(Version::V21).await;
    let mut objects = indicators(0..10);
    objects.push(serde_json::json!({"type": "indicator", "id": "indicator--broken"}));
    objects.push(serde_json::json!({"id": "no-type"}));
    server.add_objects(objects, t("2025-01-01T00:00:00Z"));
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "");
    let summary = db.poll(&collection).await.unwrap();
    assert_eq!((summary.new, summary.quarantined), (10, 2));
    let taxii_relay::store::Store::Sqlite(sqlite) = &db.store else {
        unreachable!()
    };
    let reasons: Vec<(Option<String>, String)> =
        sqlx::query_as("SELECT object_id, reasons FROM quarantine ORDER BY seq")
            .fetch_all(sqlite.pool())
            .await
            .unwrap();
    assert_eq!(reasons[0].0.as_deref(), Some("indicator--broken"));
    assert!(
        reasons[0].1.contains("\"code\":\"invalid_id\""),
        "{}",
        reasons[0].1
    );
    assert!(
        reasons[1].1.contains("\"property\":\"type\""),
        "{}",
        reasons[1].1
    );
    // Polled again through the overlap, the same bad objects are not quarantined twice.
    db.poll(&collection).await.unwrap();
    assert_eq!(
        db.store.quarantine_counts().await.unwrap().get("c"),
        Some(&2)
    );
}

/// Pages compressed with gzip are read (the client asks for gzip).
#[tokio::test]
async fn gzip_compressed_pages() {
    let (server, _) = server_with(
        Version::V21,
        150,
        Behaviour {
            gzip: true,
            ..Default::default()
        },
    )
    .await;
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "");
    assert_eq!(db.poll(&collection).await.unwrap().new, 150);
    let request = &server.recorded_objects_requests()[0];
    assert!(request
        .header("accept-encoding")
        .is_some_and(|v| v.contains("gzip")));
}

#[tokio::test]
async fn bearer_and_api_key_auth() {
    let (server, _) = server_with(Version::V21, 5, Behaviour::default()).await;
    let db = TestDb::new(Backend::Sqlite).await;
    let token = db.dir.path().join("token");
    std::fs::write(&token, "tok-123\n").unwrap();

    server.set_bearer_token("tok-123");
    let bearer = db.collection(
        "bearer",
        &server.collection_url(),
        &format!(
            "[collections.auth]\nkind = \"bearer\"\ntoken_file = \"{}\"",
            token.display()
        ),
    );
    assert_eq!(db.poll(&bearer).await.unwrap().new, 5);
    assert_eq!(
        server.recorded_objects_requests()[0].header("authorization"),
        Some("Bearer tok-123")
    );

    server.set_api_key("X-API-Key", "tok-123");
    let api_key = db.collection(
        "api-key",
        &server.collection_url(),
        &format!(
            "[collections.auth]\nkind = \"header\"\nheader = \"X-API-Key\"\ntoken_file = \"{}\"",
            token.display()
        ),
    );
    assert_eq!(db.poll(&api_key).await.unwrap().objects, 5);
    // The bearer collection no longer gets in: the server wants the API key now.
    let error = db.poll(&bearer).await.unwrap_err();
    assert!(
        matches!(error, PollError::Taxii(TaxiiError::Unauthorized { .. })),
        "{error:?}"
    );
}

/// A response over `max_response_bytes` is refused, not retried, and stores nothing.
#[tokio::test]
async fn response_over_the_size_cap_is_refused() {
    let (server, _) = server_with(Version::V21, 100, Behaviour::default()).await;
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "max_response_bytes = 4096");
    let error = db.poll(&collection).await.unwrap_err();
    assert!(
        matches!(
            error,
            PollError::Taxii(TaxiiError::TooLarge { limit: 4096, .. })
        ),
        "{error:?}"
    );
    assert_eq!(server.objects_requests(), 1);
    assert!(db.versions().await.is_empty());
}

/// A server slower than `read_timeout` is a timeout, retried; the next answer is read.
#[tokio::test]
async fn slow_response_times_out_and_is_retried() {
    let (server, _) = server_with(Version::V21, 20, Behaviour::default()).await;
    server.push_faults([Fault::Slow(std::time::Duration::from_secs(3))]);
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c", &server.collection_url(), "read_timeout = \"300ms\"");
    let started = std::time::Instant::now();
    assert_eq!(db.poll(&collection).await.unwrap().new, 20);
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert_eq!(server.objects_requests(), 2);
}

/// STIX 2.0 content from a 2.0 server is normalized to 2.1 before validation and stored as 2.1.
#[tokio::test]
async fn stix_20_content_is_normalized_and_stored() {
    let server = TaxiiServer::start(Version::V20).await;
    let indicator_20 = serde_json::json!({"type": "indicator",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z",
        "labels": ["malicious-activity"], "pattern": "[ipv4-addr:value = '198.51.100.9']",
        "valid_from": "2017-01-01T00:00:00Z"});
    let malware_20 = serde_json::json!({"type": "malware",
        "id": "malware--a5b3c7d2-3e0f-4c55-9f2a-6d8e1b0c4f71",
        "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z",
        "labels": ["ransomware"], "name": "Locker"});
    let empty_report = serde_json::json!({"type": "report",
        "id": "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
        "created": "2017-01-01T00:00:00.000Z", "modified": "2017-01-01T00:00:00.000Z",
        "labels": ["threat-report"], "name": "Nothing", "published": "2017-01-01T00:00:00Z",
        "object_refs": []});
    server.add_objects(
        vec![indicator_20, malware_20, empty_report],
        t("2025-01-01T00:00:00Z"),
    );
    let db = TestDb::new(Backend::Sqlite).await;
    let collection = db.collection("c20", &server.collection_url(), "taxii_version = \"2.0\"");
    let summary = db.poll(&collection).await.unwrap();
    assert_eq!((summary.new, summary.quarantined), (2, 1));
    let taxii_relay::store::Store::Sqlite(sqlite) = &db.store else {
        unreachable!()
    };
    let bodies: Vec<String> = sqlx::query_scalar("SELECT body FROM objects ORDER BY id")
        .fetch_all(sqlite.pool())
        .await
        .unwrap();
    let indicator: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(indicator["spec_version"], "2.1");
    assert_eq!(indicator["pattern_type"], "stix");
    assert_eq!(
        indicator["indicator_types"],
        serde_json::json!(["malicious-activity"])
    );
    let malware: serde_json::Value = serde_json::from_str(&bodies[1]).unwrap();
    assert_eq!(malware["malware_types"], serde_json::json!(["ransomware"]));
    assert_eq!(malware["is_family"], true);
    let hits = db.store.lookup("ipv4-addr", "198.51.100.9").await.unwrap();
    assert_eq!(hits.len(), 1);
}
