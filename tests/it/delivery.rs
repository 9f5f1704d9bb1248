//! Delivery with TLP enforced, through the real binary: the outbox, sink workers and the file sink, on both
//! databases.

use crate::helpers::{collection_toml, relay, relay_command, stderr, stdout, Backend, TestDb};
use crate::polling::{indicators, t};
use crate::taxii_server::{indicator, TaxiiServer, Version};
use chrono::Duration;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub const TLP2_CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
pub const TLP2_GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
pub const TLP2_AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
pub const TLP2_AMBER_STRICT: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
pub const TLP2_RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
pub const TLP1_RED: &str = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed";
/// A marking no one defines: fail closed, it counts as red.
pub const UNKNOWN_MARKING: &str = "marking-definition--0b1d2c3e-4f50-4a61-8b72-9c83d4e5f6a7";
/// A feed-defined TLP:AMBER marking (TLP 1.0 form) under an id of its own.
pub const FEED_AMBER: &str = "marking-definition--7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d";

pub fn marked(n: usize, markings: &[&str]) -> Value {
    let mut object = indicator(n);
    if !markings.is_empty() {
        object["object_marking_refs"] = json!(markings);
    }
    object
}

/// File sink config table.
pub fn file_sink(name: &str, path: &Path, max_tlp: &str, extra: &str) -> String {
    format!(
        "[[sinks]]\nname = \"{name}\"\nkind = \"file\"\npath = \"{}\"\nmax_tlp = \"{max_tlp}\"\n\
         retry_backoff = \"10ms\"\nretry_backoff_max = \"50ms\"\n{extra}\n",
        path.display()
    )
}

pub fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn ids(objects: &[Value]) -> HashSet<String> {
    objects
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Ingests `objects` as one bundle through the binary, which must succeed.
async fn ingest(db: &TestDb, config: &Path, objects: Vec<Value>) {
    let bundle = write_bundle(db.dir.path(), objects);
    let output = relay(config, &["ingest", bundle.to_str().unwrap()]).await;
    assert!(output.status.success(), "{}", stderr(&output));
}

fn write_bundle(dir: &Path, objects: Vec<Value>) -> PathBuf {
    let path = dir.join(format!("bundle-{}.json", crate::helpers::random_suffix()));
    let bundle = json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": objects});
    std::fs::write(&path, bundle.to_string()).unwrap();
    path
}

async fn everything_delivered_once(backend: Backend) {
    let server = TaxiiServer::start(Version::V21).await;
    server.add_objects_spaced(
        indicators(0..300),
        t("2025-01-01T00:00:00Z"),
        Duration::seconds(1),
    );
    let db = TestDb::new(backend).await;
    let archive = db.dir.path().join("archive.jsonl");
    let config = db.write_config(&format!(
        "{}{}",
        collection_toml("c", &server.collection_url(), ""),
        file_sink("archive", &archive, "red", "batch_size = 64")
    ));
    let output = relay(&config, &["run", "--once"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let delivered = lines(&archive);
    assert_eq!(delivered.len(), 300);
    assert_eq!(ids(&delivered).len(), 300);

    // A second run: nothing new stored, nothing delivered twice.
    let output = relay(&config, &["run", "--once"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(lines(&archive).len(), 300);

    let status = relay(&config, &["status", "--format", "json"]).await;
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["sinks"][0]["sink"], "archive");
    assert_eq!(status["sinks"][0]["delivered"], 300);
    assert_eq!(status["sinks"][0]["pending"], 0);
}

#[tokio::test]
async fn everything_delivered_once_sqlite() {
    everything_delivered_once(Backend::Sqlite).await
}
#[tokio::test]
async fn everything_delivered_once_postgres() {
    everything_delivered_once(Backend::Postgres).await
}

/// Two sinks with different ceilings receive exactly what their ceilings admit, on a feed that mixes
/// clear, green, amber, amber+strict, red, unmarked, unknown-marked and feed-defined markings.
async fn ceilings_are_enforced(backend: Backend) {
    let db = TestDb::new(backend).await;
    let amber_file = db.dir.path().join("amber.jsonl");
    let red_file = db.dir.path().join("red.jsonl");
    let default_file = db.dir.path().join("default.jsonl");
    // The third sink says no max_tlp: the default ceiling is amber+strict.
    let default_sink = format!(
        "[[sinks]]\nname = \"default\"\nkind = \"file\"\npath = \"{}\"\n",
        default_file.display()
    );
    let config = db.write_config(&format!(
        "{}{}{default_sink}",
        file_sink("amber", &amber_file, "amber", ""),
        file_sink("red", &red_file, "red", ""),
    ));
    let feed_amber = json!({"type": "marking-definition", "spec_version": "2.1", "id": FEED_AMBER,
        "created": "2025-01-01T00:00:00.000Z", "definition_type": "tlp", "definition": {"tlp": "amber"},
        "name": "TLP:AMBER (feed)"});
    let objects = vec![
        marked(0, &[TLP2_CLEAR]),
        marked(1, &[TLP2_GREEN]),
        marked(2, &[TLP2_AMBER]),
        marked(3, &[TLP2_AMBER_STRICT]),
        marked(4, &[TLP2_RED]),
        marked(5, &[]),
        marked(6, &[UNKNOWN_MARKING]),
        marked(7, &[FEED_AMBER]),
        marked(8, &[TLP2_GREEN, TLP1_RED]),
        feed_amber,
    ];
    let bundle = write_bundle(db.dir.path(), objects.clone());
    let output = relay(
        &config,
        &["ingest", "--collection", "mixed", bundle.to_str().unwrap()],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(UNKNOWN_MARKING),
        "the unknown marking is logged"
    );
    let output = relay(&config, &["run", "--once"]).await;
    assert!(output.status.success(), "{}", stderr(&output));

    let id = |n: usize| objects[n]["id"].as_str().unwrap().to_owned();
    let marking = FEED_AMBER.to_owned();
    let expect = |ns: &[usize]| -> HashSet<String> {
        ns.iter().map(|n| id(*n)).chain([marking.clone()]).collect()
    };
    assert_eq!(ids(&lines(&amber_file)), expect(&[0, 1, 2, 5, 7]));
    assert_eq!(ids(&lines(&default_file)), expect(&[0, 1, 2, 3, 5, 7]));
    assert_eq!(ids(&lines(&red_file)), expect(&[0, 1, 2, 3, 4, 5, 6, 7, 8]));
}

#[tokio::test]
async fn ceilings_are_enforced_sqlite() {
    ceilings_are_enforced(Backend::Sqlite).await
}
#[tokio::test]
async fn ceilings_are_enforced_postgres() {
    ceilings_are_enforced(Backend::Postgres).await
}

/// A relationship to a red object is red; a report listing a red object reaches an amber sink without it.
#[tokio::test]
async fn relationships_and_reports_do_not_leak_red() {
    let db = TestDb::new(Backend::Sqlite).await;
    let amber_file = db.dir.path().join("amber.jsonl");
    let red_file = db.dir.path().join("red.jsonl");
    let config = db.write_config(&format!(
        "{}{}",
        file_sink("amber", &amber_file, "amber", ""),
        file_sink("red", &red_file, "red", "")
    ));
    let red_malware = json!({"type": "malware", "spec_version": "2.1",
        "id": "malware--a5b3c7d2-3e0f-4c55-9f2a-6d8e1b0c4f71", "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z", "name": "Red", "is_family": true,
        "object_marking_refs": [TLP2_RED]});
    let clear_indicator = marked(1, &[TLP2_CLEAR]);
    let relationship = json!({"type": "relationship", "spec_version": "2.1",
        "id": "relationship--1f6b1e62-86a6-4a4e-8b8d-0c9a53f0c2a7", "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z", "relationship_type": "indicates",
        "source_ref": clear_indicator["id"], "target_ref": red_malware["id"],
        "object_marking_refs": [TLP2_CLEAR]});
    let report = json!({"type": "report", "spec_version": "2.1",
        "id": "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3", "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z", "name": "Weekly", "published": "2025-01-01T00:00:00Z",
        "object_refs": [clear_indicator["id"], red_malware["id"], relationship["id"]],
        "object_marking_refs": [TLP2_AMBER]});
    let red_only = json!({"type": "report", "spec_version": "2.1",
        "id": "report--94e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3", "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z", "name": "Only red", "published": "2025-01-01T00:00:00Z",
        "object_refs": [red_malware["id"]], "object_marking_refs": [TLP2_GREEN]});
    // The report arrives in a later bundle than what it lists, as feeds do.
    let first = write_bundle(
        db.dir.path(),
        vec![
            red_malware.clone(),
            clear_indicator.clone(),
            relationship.clone(),
        ],
    );
    let second = write_bundle(db.dir.path(), vec![report.clone(), red_only.clone()]);
    for bundle in [&first, &second] {
        let output = relay(&config, &["ingest", bundle.to_str().unwrap()]).await;
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let output = relay(&config, &["run", "--once"]).await;
    assert!(output.status.success(), "{}", stderr(&output));

    let amber = lines(&amber_file);
    let amber_ids = ids(&amber);
    assert!(amber_ids.contains(clear_indicator["id"].as_str().unwrap()));
    assert!(!amber_ids.contains(red_malware["id"].as_str().unwrap()));
    assert!(
        !amber_ids.contains(relationship["id"].as_str().unwrap()),
        "a relationship to a red object is red"
    );
    let delivered_report = amber
        .iter()
        .find(|o| o["id"] == report["id"])
        .expect("report delivered");
    assert_eq!(
        delivered_report["object_refs"],
        json!([clear_indicator["id"]])
    );
    assert!(
        !amber_ids.contains(red_only["id"].as_str().unwrap()),
        "a report with nothing left to show is withheld"
    );
    let red = lines(&red_file);
    let red_report = red.iter().find(|o| o["id"] == report["id"]).unwrap();
    assert_eq!(red_report["object_refs"].as_array().unwrap().len(), 3);

    let status = relay(&config, &["status", "--format", "json"]).await;
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let amber_counts = status["sinks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sink"] == "amber")
        .unwrap();
    assert_eq!(
        amber_counts["dead"], 1,
        "the withheld report is a dead letter, visible and replayable"
    );
}

/// A sink that cannot write keeps its deliveries pending across a restart; once it can, everything arrives
/// once. `replay` re-sends on demand, `replay --dead` retries dead letters.
async fn pending_survives_restart_and_replay(backend: Backend) {
    let db = TestDb::new(backend).await;
    // The sink's directory is a regular file: every append fails until it is removed.
    let blocker = db.dir.path().join("out");
    std::fs::write(&blocker, "not a directory").unwrap();
    let archive = blocker.join("archive.jsonl");
    let config = db.write_config(&file_sink(
        "archive",
        &archive,
        "red",
        "max_attempts = 1000",
    ));
    ingest(&db, &config, indicators(0..40)).await;

    let child = relay_command(&config, &["run"]).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let counts = db.store.sink_counts().await.unwrap();
        if counts.first().is_some_and(|c| c.pending == 40) && attempts(&db).await >= 40 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no failed attempt recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let pid = child.id().unwrap() as i32;
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success());
    assert!(lines(&archive).is_empty());

    std::fs::remove_file(&blocker).unwrap();
    let output = relay(&config, &["run", "--once"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(ids(&lines(&archive)).len(), 40);
    assert_eq!(lines(&archive).len(), 40);

    let replayed = relay(&config, &["replay", "--sink", "archive"]).await;
    assert!(replayed.status.success(), "{}", stderr(&replayed));
    assert!(
        stdout(&replayed).starts_with("40 deliveries pending"),
        "{}",
        stdout(&replayed)
    );
    assert!(relay(&config, &["run", "--once"]).await.status.success());
    assert_eq!(lines(&archive).len(), 80, "replay sends everything again");

    let unknown = relay(&config, &["replay", "--sink", "nope"]).await;
    assert_eq!(unknown.status.code(), Some(2));
}

async fn attempts(db: &TestDb) -> i64 {
    match &db.store {
        taxii_relay::store::Store::Sqlite(s) => {
            sqlx::query_scalar("SELECT COALESCE(SUM(attempts), 0) FROM deliveries")
                .fetch_one(s.pool())
                .await
                .unwrap()
        }
        taxii_relay::store::Store::Postgres(s) => {
            sqlx::query_scalar("SELECT COALESCE(SUM(attempts), 0)::bigint FROM deliveries")
                .fetch_one(s.pool())
                .await
                .unwrap()
        }
    }
}

#[tokio::test]
async fn pending_survives_restart_and_replay_sqlite() {
    pending_survives_restart_and_replay(Backend::Sqlite).await
}
#[tokio::test]
async fn pending_survives_restart_and_replay_postgres() {
    pending_survives_restart_and_replay(Backend::Postgres).await
}

/// Past `max_attempts` a delivery is dead with its reason, and `replay --dead` brings it back.
#[tokio::test]
async fn dead_letters_and_replay_dead() {
    let db = TestDb::new(Backend::Sqlite).await;
    let blocker = db.dir.path().join("out");
    std::fs::write(&blocker, "not a directory").unwrap();
    let archive = blocker.join("archive.jsonl");
    let config = db.write_config(&file_sink("archive", &archive, "red", "max_attempts = 2"));
    ingest(&db, &config, indicators(0..5)).await;
    let output = relay(&config, &["run", "--once"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let counts = db.store.sink_counts().await.unwrap();
    assert_eq!((counts[0].pending, counts[0].dead), (0, 5));
    let taxii_relay::store::Store::Sqlite(s) = &db.store else {
        unreachable!()
    };
    let error: String = sqlx::query_scalar("SELECT last_error FROM deliveries LIMIT 1")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert!(
        error.contains("gave up after 2 attempts") && error.contains("cannot append"),
        "{error}"
    );

    std::fs::remove_file(&blocker).unwrap();
    let replayed = relay(&config, &["replay", "--sink", "archive", "--dead"]).await;
    assert!(
        stdout(&replayed).starts_with("5 deliveries pending"),
        "{}",
        stdout(&replayed)
    );
    assert!(relay(&config, &["run", "--once"]).await.status.success());
    assert_eq!(lines(&archive).len(), 5);
}

fn hec_sink(name: &str, url: &str, token_file: &Path, max_tlp: &str, extra: &str) -> String {
    format!(
        "[[sinks]]\nname = \"{name}\"\nkind = \"splunk_hec\"\nurl = \"{url}\"\ntoken_file = \"{}\"\n\
         max_tlp = \"{max_tlp}\"\nindex = \"threat_intel\"\nretry_backoff = \"10ms\"\nretry_backoff_max = \"50ms\"\n{extra}\n",
        token_file.display()
    )
}

/// Splunk busy for its first requests: everything reaches it once, and a file sink beside it is neither
/// held up nor given anything twice.
async fn busy_splunk_gets_everything_once(backend: Backend) {
    let splunk = crate::splunk_fake::SplunkFake::start().await;
    splunk.fail_next(4);
    let db = TestDb::new(backend).await;
    let token = db.dir.path().join("hec-token");
    std::fs::write(&token, splunk.token()).unwrap();
    let archive = db.dir.path().join("archive.jsonl");
    let config = db.write_config(&format!(
        "{}{}",
        hec_sink("splunk", &splunk.url(), &token, "amber", "batch_size = 50"),
        file_sink("archive", &archive, "red", "")
    ));
    ingest(&db, &config, indicators(0..200)).await;
    let output = relay(&config, &["run", "--once"]).await;
    assert!(output.status.success(), "{}", stderr(&output));

    let events = splunk.events();
    let event_ids: Vec<&str> = events
        .iter()
        .map(|e| e["event"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(event_ids.len(), 200, "everything delivered, nothing twice");
    assert_eq!(event_ids.iter().collect::<HashSet<_>>().len(), 200);
    assert_eq!(events[0]["fields"]["tlp"], "clear");
    assert_eq!(events[0]["index"], "threat_intel");
    assert!(splunk.requests_to("/services/collector/event").len() >= 4 + 4);
    assert_eq!(lines(&archive).len(), 200);
    assert_eq!(ids(&lines(&archive)).len(), 200);
}

#[tokio::test]
async fn busy_splunk_gets_everything_once_sqlite() {
    busy_splunk_gets_everything_once(Backend::Sqlite).await
}
#[tokio::test]
async fn busy_splunk_gets_everything_once_postgres() {
    busy_splunk_gets_everything_once(Backend::Postgres).await
}

/// An event Splunk refuses ("Invalid data format") goes dead with Splunk's reason; the rest are delivered.
async fn invalid_event_goes_dead_and_the_rest_arrive(backend: Backend) {
    let splunk = crate::splunk_fake::SplunkFake::start().await;
    let bad = indicator(17)["id"].as_str().unwrap().to_owned();
    splunk.reject_ids([bad.clone()]);
    let db = TestDb::new(backend).await;
    let token = db.dir.path().join("hec-token");
    std::fs::write(&token, splunk.token()).unwrap();
    let config = db.write_config(&hec_sink(
        "splunk",
        &splunk.url(),
        &token,
        "amber",
        "batch_size = 25",
    ));
    ingest(&db, &config, indicators(0..60)).await;
    let output = relay(&config, &["run", "--once"]).await;
    assert!(output.status.success(), "{}", stderr(&output));

    let delivered: HashSet<String> = splunk
        .events()
        .iter()
        .map(|e| e["event"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(delivered.len(), 59);
    assert!(!delivered.contains(&bad));
    assert_eq!(splunk.events().len(), 59, "nothing twice");
    let counts = db.store.sink_counts().await.unwrap();
    assert_eq!(
        (counts[0].delivered, counts[0].dead, counts[0].pending),
        (59, 1, 0)
    );
    let error = dead_error(&db).await;
    assert!(error.contains("Invalid data format"), "{error}");
}

async fn dead_error(db: &TestDb) -> String {
    let sql = "SELECT last_error FROM deliveries WHERE state = 'dead' LIMIT 1";
    match &db.store {
        taxii_relay::store::Store::Sqlite(s) => {
            sqlx::query_scalar(sql).fetch_one(s.pool()).await.unwrap()
        }
        taxii_relay::store::Store::Postgres(s) => {
            sqlx::query_scalar(sql).fetch_one(s.pool()).await.unwrap()
        }
    }
}

#[tokio::test]
async fn invalid_event_goes_dead_and_the_rest_arrive_sqlite() {
    invalid_event_goes_dead_and_the_rest_arrive(Backend::Sqlite).await
}
#[tokio::test]
async fn invalid_event_goes_dead_and_the_rest_arrive_postgres() {
    invalid_event_goes_dead_and_the_rest_arrive(Backend::Postgres).await
}

/// Splunk gets indicators and sightings by default, and only what its ceiling admits.
#[tokio::test]
async fn splunk_default_types_and_ceiling() {
    let splunk = crate::splunk_fake::SplunkFake::start().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let token = db.dir.path().join("hec-token");
    std::fs::write(&token, splunk.token()).unwrap();
    let config = db.write_config(&hec_sink("splunk", &splunk.url(), &token, "green", ""));
    let malware = json!({"type": "malware", "spec_version": "2.1",
        "id": "malware--a5b3c7d2-3e0f-4c55-9f2a-6d8e1b0c4f71", "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z", "name": "M", "is_family": true});
    let bundle = write_bundle(
        db.dir.path(),
        vec![marked(0, &[TLP2_GREEN]), marked(1, &[TLP2_AMBER]), malware],
    );
    assert!(relay(&config, &["ingest", bundle.to_str().unwrap()])
        .await
        .status
        .success());
    assert!(relay(&config, &["run", "--once"]).await.status.success());
    let events = splunk.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["event"]["id"], indicator(0)["id"]);
    assert_eq!(events[0]["fields"]["tlp"], "green");
    assert_eq!(events[0]["sourcetype"], "stix:indicator");
}

/// A newer version of an object is delivered as an update: the sink receives both versions, in order.
#[tokio::test]
async fn new_versions_are_delivered_as_updates() {
    let db = TestDb::new(Backend::Sqlite).await;
    let archive = db.dir.path().join("archive.jsonl");
    let config = db.write_config(&file_sink("archive", &archive, "red", ""));
    let first = write_bundle(db.dir.path(), vec![indicator(1)]);
    assert!(relay(&config, &["ingest", first.to_str().unwrap()])
        .await
        .status
        .success());
    assert!(relay(&config, &["run", "--once"]).await.status.success());
    let update = crate::taxii_server::indicator_v(1, "2025-06-01T00:00:00.000Z");
    let second = write_bundle(db.dir.path(), vec![update.clone(), indicator(1)]);
    assert!(relay(&config, &["ingest", second.to_str().unwrap()])
        .await
        .status
        .success());
    assert!(relay(&config, &["run", "--once"]).await.status.success());
    let delivered = lines(&archive);
    assert_eq!(delivered.len(), 2, "the known version is not sent again");
    assert_eq!(delivered[1]["modified"], update["modified"]);
}

/// A sink that is down the whole time holds up neither polling nor the other sink.
#[tokio::test]
async fn a_down_sink_blocks_neither_polling_nor_other_sinks() {
    let server = TaxiiServer::start(Version::V21).await;
    server.add_objects_spaced(
        indicators(0..50),
        t("2025-01-01T00:00:00Z"),
        Duration::seconds(1),
    );
    let db = TestDb::new(Backend::Sqlite).await;
    let token = db.dir.path().join("hec-token");
    std::fs::write(&token, "token").unwrap();
    let archive = db.dir.path().join("archive.jsonl");
    // Nothing listens on port 9 of 127.0.0.1: every request to "splunk" fails to connect.
    let config = db.write_config(&format!(
        "{}{}{}",
        collection_toml("c", &server.collection_url(), "poll_interval = \"1s\""),
        hec_sink("splunk", "http://127.0.0.1:9", &token, "amber", ""),
        file_sink("archive", &archive, "red", "")
    ));
    let child = relay_command(&config, &["run"]).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while lines(&archive).len() < 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "the file sink was held up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    server.add_objects(indicators(50..60), t("2025-02-01T00:00:00Z"));
    while lines(&archive).len() < 60 {
        assert!(std::time::Instant::now() < deadline, "polling was held up");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id().unwrap() as i32, libc::SIGTERM) };
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success());
    let counts = db.store.sink_counts().await.unwrap();
    let splunk = counts.iter().find(|c| c.sink == "splunk").unwrap();
    assert_eq!(
        (splunk.pending, splunk.delivered, splunk.dead),
        (60, 0, 0),
        "held, not lost"
    );
}

/// Two workers (as two replicas would run) draining one sink's outbox on PostgreSQL: `FOR UPDATE SKIP
/// LOCKED` and the claim lease give each row to one of them, so Splunk receives every event exactly once.
#[tokio::test]
async fn concurrent_workers_deliver_each_row_once_postgres() {
    use taxii_relay::pipeline::delivery::SinkWorker;
    use taxii_relay::pipeline::{ingest, stages, CancellationToken};
    let splunk = crate::splunk_fake::SplunkFake::start().await;
    let db = TestDb::new(Backend::Postgres).await;
    let token = db.dir.path().join("hec-token");
    std::fs::write(&token, splunk.token()).unwrap();
    let settings = db.settings(&hec_sink(
        "splunk",
        &splunk.url(),
        &token,
        "red",
        "batch_size = 20",
    ));
    let routing = stages::Routing {
        routes: settings
            .sinks
            .iter()
            .map(taxii_relay::pipeline::delivery::route)
            .collect(),
        wake: Vec::new(),
    };
    let (pages, done) = stages::start(db.store.clone(), routing);
    let bundle = json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": indicators(0..500)});
    ingest::ingest_bytes(&pages, "c", None, "test", bundle.to_string().into_bytes())
        .await
        .unwrap();
    drop(pages);
    done.await.unwrap();

    let first = SinkWorker::new(&settings.sinks[0], db.store.clone()).unwrap();
    let second = SinkWorker::new(&settings.sinks[0], db.store.clone()).unwrap();
    let cancel = CancellationToken::new();
    let (a, b) = tokio::join!(first.drain(&cancel), second.drain(&cancel));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.delivered + b.delivered, 500);
    assert!(
        a.delivered > 0 && b.delivered > 0,
        "both took a share: {a:?} {b:?}"
    );
    let ids: Vec<String> = splunk
        .events()
        .iter()
        .map(|e| e["event"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 500, "nothing twice");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 500);
}

fn sco(value: &str, markings: &[&str], extra: Value) -> Value {
    let mut object = json!({"type": "ipv4-addr", "spec_version": "2.1",
        "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": value});
    if !markings.is_empty() {
        object["object_marking_refs"] = json!(markings);
    }
    for (k, v) in extra.as_object().unwrap() {
        object[k] = v.clone();
    }
    object
}

/// Review finding: an SCO keeps its id when its content changes. Its new content (and marking) must not
/// reach a sink below it through the row queued for the old content, and must reach the sinks that
/// admit it even when the old content was already delivered.
#[tokio::test]
async fn updated_sco_is_requeued_and_never_leaks() {
    let db = TestDb::new(Backend::Sqlite).await;
    let green_file = db.dir.path().join("green.jsonl");
    let red_file = db.dir.path().join("red.jsonl");
    let config = db.write_config(&format!(
        "{}{}",
        file_sink("green", &green_file, "green", ""),
        file_sink("red", &red_file, "red", "")
    ));
    let first = write_bundle(
        db.dir.path(),
        vec![sco("198.51.100.3", &[TLP2_GREEN], json!({}))],
    );
    assert!(relay(&config, &["ingest", first.to_str().unwrap()])
        .await
        .status
        .success());
    assert!(relay(&config, &["run", "--once"]).await.status.success());
    assert_eq!(lines(&green_file).len(), 1);

    // The same SCO, now red with new content: queued before the green copy went out, and after.
    let second = write_bundle(
        db.dir.path(),
        vec![sco(
            "198.51.100.3",
            &[TLP2_RED],
            json!({"x_note": "RED-ONLY"}),
        )],
    );
    assert!(relay(&config, &["ingest", second.to_str().unwrap()])
        .await
        .status
        .success());
    assert!(relay(&config, &["run", "--once"]).await.status.success());
    let green = std::fs::read_to_string(&green_file).unwrap();
    assert!(!green.contains("RED-ONLY"), "{green}");
    let red = lines(&red_file);
    assert_eq!(red.len(), 2, "the red sink gets the update too");
    assert_eq!(red[1]["x_note"], "RED-ONLY");
}

/// Review finding: lowering a sink's ceiling after rows were queued must hold back what it no longer admits.
#[tokio::test]
async fn ceiling_is_checked_again_at_delivery() {
    let db = TestDb::new(Backend::Sqlite).await;
    let archive = db.dir.path().join("archive.jsonl");
    let red_config = db.write_config(&file_sink("archive", &archive, "red", ""));
    let bundle = write_bundle(
        db.dir.path(),
        vec![marked(0, &[TLP2_RED]), marked(1, &[TLP2_CLEAR])],
    );
    assert!(relay(&red_config, &["ingest", bundle.to_str().unwrap()])
        .await
        .status
        .success());
    let clear_config = db.write_config(&file_sink("archive", &archive, "clear", ""));
    assert!(relay(&clear_config, &["run", "--once"])
        .await
        .status
        .success());
    assert_eq!(
        ids(&lines(&archive)),
        [indicator(1)["id"].as_str().unwrap().to_owned()].into()
    );
    let counts = db.store.sink_counts().await.unwrap();
    assert_eq!((counts[0].delivered, counts[0].dead), (1, 1));
    assert!(dead_error(&db)
        .await
        .contains("above this sink's TLP ceiling"));
}

/// Review finding: a relationship stored before its red endpoint arrived must not go to a green sink once
/// the endpoint is known, even though it was queued while the endpoint was unknown.
#[tokio::test]
async fn relationship_queued_before_its_red_endpoint_is_held_back() {
    let db = TestDb::new(Backend::Sqlite).await;
    let green_file = db.dir.path().join("green.jsonl");
    let config = db.write_config(&file_sink("green", &green_file, "green", ""));
    let clear_indicator = marked(1, &[TLP2_CLEAR]);
    let red_malware = json!({"type": "malware", "spec_version": "2.1",
        "id": "malware--a5b3c7d2-3e0f-4c55-9f2a-6d8e1b0c4f71", "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z", "name": "Red", "is_family": true,
        "object_marking_refs": [TLP2_RED]});
    let relationship = json!({"type": "relationship", "spec_version": "2.1",
        "id": "relationship--1f6b1e62-86a6-4a4e-8b8d-0c9a53f0c2a7", "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z", "relationship_type": "indicates",
        "source_ref": clear_indicator["id"], "target_ref": red_malware["id"]});
    let first = write_bundle(db.dir.path(), vec![clear_indicator, relationship.clone()]);
    let second = write_bundle(db.dir.path(), vec![red_malware]);
    for bundle in [&first, &second] {
        assert!(relay(&config, &["ingest", bundle.to_str().unwrap()])
            .await
            .status
            .success());
    }
    assert!(relay(&config, &["run", "--once"]).await.status.success());
    let delivered = ids(&lines(&green_file));
    assert!(
        !delivered.contains(relationship["id"].as_str().unwrap()),
        "{delivered:?}"
    );
}

/// Review finding: a marking definition that fails validation is not trusted; objects citing it are red.
#[tokio::test]
async fn invalid_marking_definitions_are_not_trusted() {
    let db = TestDb::new(Backend::Sqlite).await;
    let green_file = db.dir.path().join("green.jsonl");
    let config = db.write_config(&file_sink("green", &green_file, "green", ""));
    let bad_definition = json!({"type": "marking-definition", "spec_version": "2.1", "id": FEED_AMBER,
        "created": "not-a-date", "definition_type": "tlp", "definition": {"tlp": "clear"}});
    let bundle = write_bundle(
        db.dir.path(),
        vec![bad_definition, marked(1, &[FEED_AMBER])],
    );
    let output = relay(&config, &["ingest", bundle.to_str().unwrap()]).await;
    assert!(
        stdout(&output).contains("1 quarantined"),
        "{}",
        stdout(&output)
    );
    assert!(relay(&config, &["run", "--once"]).await.status.success());
    assert!(lines(&green_file).is_empty());
}

/// Review finding: a `modified` with more than microsecond precision is stored, indexed and delivered.
#[tokio::test]
async fn sub_microsecond_versions_are_delivered_and_indexed() {
    let db = TestDb::new(Backend::Sqlite).await;
    let archive = db.dir.path().join("archive.jsonl");
    let config = db.write_config(&file_sink("archive", &archive, "red", ""));
    let mut object = indicator(9);
    object["created"] = json!("2024-01-01T00:00:00.1234567Z");
    object["modified"] = json!("2024-01-01T00:00:00.1234567Z");
    ingest(&db, &config, vec![object]).await;
    assert!(relay(&config, &["run", "--once"]).await.status.success());
    assert_eq!(lines(&archive).len(), 1);
    assert_eq!(
        db.store
            .lookup("ipv4-addr", "10.0.0.9")
            .await
            .unwrap()
            .len(),
        1
    );
}
