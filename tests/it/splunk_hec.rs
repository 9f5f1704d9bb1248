//! The Splunk HEC sink against the in-process HEC fake: the event form on the wire, the outcome per delivery
//! for each of Splunk's answers, gzip, and indexer acknowledgement.
//!
//! Each test builds the sink the way the relay does, from a `[[sinks]]` table loaded by the config loader,
//! and calls `deliver` directly.

use crate::helpers::{Backend, TestDb};
use crate::splunk_fake::SplunkFake;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use taxii_relay::config::SinkSettings;
use taxii_relay::sinks::splunk_hec::{HecConfig, HecSink};
use taxii_relay::sinks::{Delivery, Outcome};
use taxii_relay::stix::tlp::Tlp;

/// A sink named `splunk` pointing at `url` with `token` in a token file; `extra` adds keys to the table.
fn sink_settings(db: &TestDb, url: &str, token: &str, extra: &str) -> SinkSettings {
    let token_file = db.dir.path().join("hec-token");
    std::fs::write(&token_file, format!("{token}\n")).expect("write token file");
    let rest = format!(
        "[[sinks]]\nname = \"splunk\"\nkind = \"splunk_hec\"\nurl = \"{url}\"\ntoken_file = \"{}\"\n\
         timeout = \"2s\"\n{extra}\n",
        token_file.display()
    );
    db.settings(&rest)
        .sinks
        .into_iter()
        .next()
        .expect("one sink")
}

async fn sink(fake: &SplunkFake, extra: &str) -> (TestDb, HecSink) {
    let db = TestDb::new(Backend::Sqlite).await;
    let settings = sink_settings(&db, &fake.url(), &fake.token(), extra);
    let sink =
        HecSink::new(HecConfig::from_settings(&settings).expect("hec config")).expect("sink");
    (db, sink)
}

fn indicator(n: u32, tlp: Option<Tlp>) -> Delivery {
    let id = format!("indicator--00000000-0000-4000-8000-{n:012}");
    Delivery {
        object_id: id.clone(),
        modified: Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
            + chrono::Duration::milliseconds(i64::from(n) * 1001),
        object_type: "indicator".into(),
        tlp,
        collection: "feed-a".into(),
        body: json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": id,
            "created": "2024-05-01T12:00:00.000Z",
            "modified": "2024-05-01T12:00:00.000Z",
            "pattern": format!("[ipv4-addr:value = '198.51.100.{n}']"),
            "pattern_type": "stix",
            "valid_from": "2024-05-01T12:00:00Z"
        }),
        attempts: 0,
    }
}

fn batch(n: u32) -> Vec<Delivery> {
    (0..n).map(|i| indicator(i, Some(Tlp::Green))).collect()
}

fn event_ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event"]["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn retry_error(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Retry { error, .. } => error,
        other => panic!("expected Retry, got {other:?}"),
    }
}

#[tokio::test]
async fn splunk_batch_is_delivered_with_every_field() {
    let fake = SplunkFake::start().await;
    let (_db, sink) = sink(&fake, "index = \"threat_intel\"").await;
    let sighting = Delivery {
        object_id: "sighting--00000000-0000-4000-8000-000000000009".into(),
        modified: Utc.with_ymd_and_hms(2024, 5, 2, 0, 0, 0).unwrap(),
        object_type: "sighting".into(),
        tlp: None,
        collection: "feed-b".into(),
        body: json!({
            "type": "sighting",
            "id": "sighting--00000000-0000-4000-8000-000000000009",
            "sighting_of_ref": "indicator--00000000-0000-4000-8000-000000000001"
        }),
        attempts: 2,
    };
    let deliveries = vec![
        indicator(1, Some(Tlp::Green)),
        indicator(2, Some(Tlp::AmberStrict)),
        sighting.clone(),
    ];

    let outcomes = sink.deliver(&deliveries).await;

    assert_eq!(outcomes, vec![Outcome::Delivered; 3]);
    let requests = fake.requests();
    assert_eq!(requests.len(), 1, "one request per batch");
    let request = &requests[0];
    assert_eq!(request.path, "/services/collector/event");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Splunk {}", fake.token()).as_str())
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.header("x-splunk-request-channel"),
        Some(sink.channel())
    );
    assert!(!request.gzip);

    let events = fake.events();
    assert_eq!(events.len(), 3);
    let first = &events[0];
    assert_eq!(first["time"], json!(1714564801.001));
    assert_eq!(first["source"], "feed-a");
    assert_eq!(first["sourcetype"], "stix:indicator");
    assert_eq!(first["index"], "threat_intel");
    assert_eq!(first["event"], deliveries[0].body);
    assert_eq!(first["fields"]["tlp"], "green");
    assert_eq!(first["fields"]["type"], "indicator");
    assert_eq!(first["fields"]["id"], deliveries[0].object_id);
    assert_eq!(first["fields"]["observable_type"], "ipv4-addr:value");
    assert_eq!(first["fields"]["observable_value"], "198.51.100.1");
    assert_eq!(events[1]["fields"]["tlp"], "amber+strict");
    let last = &events[2];
    assert_eq!(last["time"], json!(1714608000.0));
    assert_eq!(last["source"], "feed-b");
    assert_eq!(last["sourcetype"], "stix:sighting");
    assert_eq!(last["fields"]["tlp"], "unknown");
    assert_eq!(last["fields"]["type"], "sighting");
    assert_eq!(last["event"], sighting.body);
    assert!(last["fields"].get("observable_type").is_none());
}

#[tokio::test]
async fn splunk_configured_sourcetype_wins() {
    let fake = SplunkFake::start().await;
    let (_db, sink) = sink(&fake, "sourcetype = \"stix:cti\"").await;
    assert_eq!(sink.deliver(&batch(2)).await, vec![Outcome::Delivered; 2]);
    let events = fake.events();
    assert!(events.iter().all(|e| e["sourcetype"] == "stix:cti"));
    assert!(events.iter().all(|e| e.get("index").is_none()));
}

#[tokio::test]
async fn splunk_busy_is_retried() {
    let fake = SplunkFake::start().await;
    let (_db, sink) = sink(&fake, "").await;
    fake.fail_next(1);

    let outcomes = sink.deliver(&batch(3)).await;

    assert_eq!(outcomes.len(), 3);
    for outcome in &outcomes {
        let error = retry_error(outcome);
        assert!(
            error.contains("503") && error.contains("Server is busy"),
            "{error}"
        );
    }
    assert!(fake.events().is_empty());
    // The next attempt goes through.
    assert_eq!(sink.deliver(&batch(3)).await, vec![Outcome::Delivered; 3]);
    assert_eq!(fake.events().len(), 3);
}

#[tokio::test]
async fn splunk_429_honours_retry_after() {
    let fake = SplunkFake::start().await;
    let (_db, sink) = sink(&fake, "").await;
    fake.throttle_next(1, Some(7));

    let outcomes = sink.deliver(&batch(2)).await;

    for outcome in &outcomes {
        match outcome {
            Outcome::Retry { error, retry_after } => {
                assert!(error.contains("429"), "{error}");
                assert_eq!(*retry_after, Some(Duration::from_secs(7)));
            }
            other => panic!("expected Retry, got {other:?}"),
        }
    }
    assert!(fake.events().is_empty());
}

#[tokio::test]
async fn splunk_bad_event_splits_the_batch_as_splunk_indexed_it() {
    let fake = SplunkFake::start().await;
    let (_db, sink) = sink(&fake, "").await;
    let deliveries = batch(5);
    fake.reject_ids([deliveries[2].object_id.clone()]);

    let outcomes = sink.deliver(&deliveries).await;

    assert_eq!(outcomes[0], Outcome::Delivered);
    assert_eq!(outcomes[1], Outcome::Delivered);
    assert_eq!(
        outcomes[2],
        Outcome::rejected("HTTP 400: Invalid data format (code 6)")
    );
    for outcome in &outcomes[3..] {
        let error = retry_error(outcome);
        assert!(error.contains("stopped at event 2"), "{error}");
    }
    // Splunk kept the events before the bad one, and only those.
    assert_eq!(
        event_ids(&fake.events()),
        vec![
            deliveries[0].object_id.clone(),
            deliveries[1].object_id.clone()
        ]
    );
    assert_eq!(
        fake.requests()[0].response,
        json!({"text": "Invalid data format", "code": 6, "invalid-event-number": 2})
    );

    // The retried ones go through on their own; nothing is indexed twice.
    assert_eq!(
        sink.deliver(&deliveries[3..]).await,
        vec![Outcome::Delivered; 2]
    );
    let ids = event_ids(&fake.events());
    assert_eq!(ids.len(), 4);
    assert!(!ids.contains(&deliveries[2].object_id));
}

#[tokio::test]
async fn splunk_index_not_allowed_is_rejected() {
    let fake = SplunkFake::start().await;
    fake.allow_indexes(&["main"]);
    let (_db, sink) = sink(&fake, "index = \"threat_intel\"").await;

    let outcomes = sink.deliver(&batch(3)).await;

    for outcome in &outcomes {
        match outcome {
            Outcome::Rejected { error } => assert!(error.contains("Incorrect index"), "{error}"),
            other => panic!("expected Rejected, got {other:?}"),
        }
    }
    assert!(fake.events().is_empty());
}

#[tokio::test]
async fn splunk_wrong_token_is_retried_without_showing_it() {
    let fake = SplunkFake::start().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let wrong = "f00dfeed-0bad-4bad-8bad-0123456789ab";
    let settings = sink_settings(&db, &fake.url(), wrong, "");
    let sink = HecSink::new(HecConfig::from_settings(&settings).unwrap()).unwrap();

    let outcomes = sink.deliver(&batch(2)).await;

    assert_eq!(outcomes.len(), 2);
    for outcome in &outcomes {
        let error = retry_error(outcome);
        assert!(
            error.contains("403") && error.contains("Invalid token"),
            "{error}"
        );
        assert!(!error.contains(wrong), "the token leaked: {error}");
        assert!(!error.contains(&fake.token()), "the token leaked: {error}");
    }
    assert!(fake.events().is_empty());
    // The sink did send it, where it belongs.
    assert_eq!(
        fake.requests()[0].header("authorization"),
        Some(format!("Splunk {wrong}").as_str())
    );
}

#[tokio::test]
async fn splunk_unreachable_is_retried() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let db = TestDb::new(Backend::Sqlite).await;
    let settings = sink_settings(&db, &format!("http://{addr}"), "t0ken", "");
    let sink = HecSink::new(HecConfig::from_settings(&settings).unwrap()).unwrap();

    let outcomes = sink.deliver(&batch(2)).await;

    assert_eq!(outcomes.len(), 2);
    for outcome in &outcomes {
        let error = retry_error(outcome);
        assert!(!error.contains("t0ken"), "{error}");
    }
}

#[tokio::test]
async fn splunk_gzip_bodies_are_indexed() {
    let fake = SplunkFake::start().await;
    let (_db, sink) = sink(&fake, "gzip = true").await;
    let deliveries = batch(20);

    assert_eq!(
        sink.deliver(&deliveries).await,
        vec![Outcome::Delivered; 20]
    );

    let request = &fake.requests()[0];
    assert!(request.gzip, "Content-Encoding: gzip");
    assert_eq!(&request.raw_body[..2], &[0x1f, 0x8b], "a gzip stream");
    assert!(request.raw_body.len() < request.body.len());
    assert_eq!(
        event_ids(&fake.events()),
        deliveries
            .iter()
            .map(|d| d.object_id.clone())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn splunk_ack_delivers_only_once_acknowledged() {
    let fake = SplunkFake::start().await;
    fake.enable_ack(Duration::from_millis(1200));
    let (_db, sink) = sink(&fake, "ack = true\nack_timeout = \"5s\"").await;
    let started = Instant::now();

    let outcomes = sink.deliver(&batch(3)).await;

    assert_eq!(outcomes, vec![Outcome::Delivered; 3]);
    assert!(started.elapsed() >= Duration::from_millis(1200));
    let events = fake.requests_to("/services/collector/event");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].response["ackId"], 0);
    let acks = fake.requests_to("/services/collector/ack");
    assert!(acks.len() >= 2, "polled until true: {}", acks.len());
    assert_eq!(acks[0].response, json!({"acks": {"0": false}}));
    assert_eq!(acks.last().unwrap().response, json!({"acks": {"0": true}}));
    for ack in &acks {
        assert_eq!(ack.header("x-splunk-request-channel"), Some(sink.channel()));
        assert_eq!(
            ack.query,
            vec![("channel".to_owned(), sink.channel().to_owned())]
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&ack.body).unwrap(),
            json!({"acks": [0]})
        );
    }

    // The next batch on the same channel gets the next ackId.
    fake.enable_ack(Duration::ZERO);
    assert_eq!(sink.deliver(&batch(1)).await, vec![Outcome::Delivered]);
    let events = fake.requests_to("/services/collector/event");
    assert_eq!(events[1].response["ackId"], 1);
}

#[tokio::test]
async fn splunk_ack_that_never_comes_is_retried() {
    let fake = SplunkFake::start().await;
    fake.enable_ack(Duration::from_secs(3600));
    let (_db, sink) = sink(&fake, "ack = true\nack_timeout = \"1200ms\"").await;
    let started = Instant::now();

    let outcomes = sink.deliver(&batch(2)).await;

    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1200) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
    for outcome in &outcomes {
        let error = retry_error(outcome);
        assert!(
            error.contains("not acknowledged within 1s 200ms"),
            "{error}"
        );
    }
    // Splunk received them; only the acknowledgement is missing.
    assert_eq!(fake.events().len(), 2);
    assert!(!fake.requests_to("/services/collector/ack").is_empty());
}

#[tokio::test]
async fn splunk_ack_mode_always_sends_a_channel() {
    // A token with acknowledgement on answers 400 code 10 to a request without a channel; the sink sends
    // one even with `ack` off, and then counts Splunk's 200 as delivered without polling.
    let fake = SplunkFake::start().await;
    fake.enable_ack(Duration::from_secs(3600));
    let (_db, sink) = sink(&fake, "").await;

    assert_eq!(sink.deliver(&batch(2)).await, vec![Outcome::Delivered; 2]);
    assert!(fake.requests_to("/services/collector/ack").is_empty());
}
