//! `validate`, `lookup` and `context` through the real binary.

use crate::delivery::{marked, TLP2_AMBER};
use crate::helpers::{collection_toml, relay, stderr, stdout, Backend, TestDb};
use crate::polling::{indicators, t};
use crate::taxii_server::{indicator, indicator_v, TaxiiServer, Version};
use serde_json::{json, Value};

fn write(dir: &std::path::Path, name: &str, value: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).unwrap();
    path.display().to_string()
}

fn bundle(objects: Vec<Value>) -> Value {
    json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": objects})
}

#[tokio::test]
async fn validate_reports_every_object_as_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let mut broken = indicator(2);
    broken["pattern"] = json!("[ipv4-addr:value = ");
    let mut late = indicator(3);
    late["modified"] = json!("2023-01-01T00:00:00.000Z");
    let mixed = write(
        dir.path(),
        "mixed.json",
        &bundle(vec![indicator(1), broken, late]),
    );
    let valid = write(dir.path(), "valid.json", &bundle(indicators(0..3)));
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "not json at all").unwrap();
    let config = dir.path().join("unused.toml");

    let output = relay(&config, &["validate", "--format", "jsonl", &mixed]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let lines: Vec<Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["valid"], true);
    assert_eq!(lines[0]["errors"], json!([]));
    assert_eq!(lines[0]["id"], indicator(1)["id"]);
    assert_eq!(lines[0]["type"], "indicator");
    assert_eq!(lines[1]["valid"], false);
    assert_eq!(lines[1]["errors"][0]["code"], "invalid_pattern");
    assert_eq!(lines[2]["errors"][0]["code"], "modified_before_created");
    for line in &lines {
        let keys: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["id", "type", "valid", "errors", "warnings"]);
    }

    let output = relay(&config, &["validate", &valid]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));

    let output = relay(
        &config,
        &["validate", "--format", "jsonl", junk.to_str().unwrap()],
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    let line: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(line["id"], Value::Null);
    assert_eq!(line["valid"], false);
}

/// "Do we know this IP?": an indexed lookup of the current indicators, with their TLP and collection.
async fn lookup_finds_current_indicators(backend: Backend) {
    let server = TaxiiServer::start(Version::V21).await;
    let mut objects = indicators(0..20);
    objects[7] = marked(7, &[TLP2_AMBER]);
    let mut hashed = indicator(30);
    hashed["pattern"] = json!("[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427E' OR domain-name:value = 'Evil.Example']");
    objects.push(hashed.clone());
    server.add_objects(objects, t("2025-01-01T00:00:00Z"));
    let db = TestDb::new(backend).await;
    let config = db.write_config(&collection_toml("feed", &server.collection_url(), ""));
    assert!(relay(&config, &["run", "--once"]).await.status.success());

    // indicator(7) matches [ipv4-addr:value = '10.0.0.7'].
    let output = relay(
        &config,
        &["lookup", "ipv4-addr", "10.0.0.7", "--format", "json"],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let hits: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(hits.as_array().unwrap().len(), 1);
    assert_eq!(hits[0]["id"], indicator(7)["id"]);
    assert_eq!(hits[0]["tlp"], "amber");
    assert_eq!(hits[0]["collection"], "feed");
    assert_eq!(hits[0]["observable_type"], "ipv4-addr:value");

    let output = relay(
        &config,
        &[
            "lookup",
            "file:hashes.MD5",
            "d41d8cd98f00b204e9800998ecf8427e",
        ],
    )
    .await;
    assert!(output.status.success(), "{}", stdout(&output));
    assert!(stdout(&output).contains(hashed["id"].as_str().unwrap()));
    let output = relay(&config, &["lookup", "domain-name", "evil.example"]).await;
    assert!(output.status.success(), "lower-cased on both sides");

    let output = relay(&config, &["lookup", "ipv4-addr", "192.0.2.1"]).await;
    assert_eq!(output.status.code(), Some(1), "nothing known");

    // A revoked new version: no longer current, no longer found.
    let mut revoked = indicator_v(7, "2025-02-01T00:00:00.000Z");
    revoked["revoked"] = json!(true);
    server.add_objects(vec![revoked], t("2025-02-01T00:00:00Z"));
    assert!(relay(&config, &["run", "--once"]).await.status.success());
    let output = relay(&config, &["lookup", "ipv4-addr", "10.0.0.7"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
}

#[tokio::test]
async fn lookup_finds_current_indicators_sqlite() {
    lookup_finds_current_indicators(Backend::Sqlite).await
}
#[tokio::test]
async fn lookup_finds_current_indicators_postgres() {
    lookup_finds_current_indicators(Backend::Postgres).await
}

fn sdo(object_type: &str, uuid: &str, name: &str, extra: Value) -> Value {
    let mut object = json!({"type": object_type, "spec_version": "2.1", "id": format!("{object_type}--{uuid}"),
        "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z", "name": name});
    for (k, v) in extra.as_object().unwrap() {
        object[k] = v.clone();
    }
    object
}

fn relationship(uuid: &str, source: &Value, kind: &str, target: &Value) -> Value {
    json!({"type": "relationship", "spec_version": "2.1", "id": format!("relationship--{uuid}"),
        "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
        "relationship_type": kind, "source_ref": source["id"], "target_ref": target["id"]})
}

/// indicator → indicates → malware ← uses ← intrusion-set → attributed-to → threat-actor.
async fn context_walks_campaign_relationships(backend: Backend) {
    let db = TestDb::new(backend).await;
    let config = db.write_config("");
    let indicator = indicator(1);
    let malware = sdo(
        "malware",
        "a5b3c7d2-3e0f-4c55-9f2a-6d8e1b0c4f71",
        "SampleLoader",
        json!({"is_family": true}),
    );
    let set = sdo(
        "intrusion-set",
        "b5b3c7d2-3e0f-4c55-9f2a-6d8e1b0c4f71",
        "Sample Set",
        json!({}),
    );
    let actor = sdo(
        "threat-actor",
        "c5b3c7d2-3e0f-4c55-9f2a-6d8e1b0c4f71",
        "Sample Actor",
        json!({}),
    );
    let objects = vec![
        indicator.clone(),
        malware.clone(),
        set.clone(),
        actor.clone(),
        relationship(
            "01b3c7d2-3e0f-4c55-9f2a-6d8e1b0c4f71",
            &indicator,
            "indicates",
            &malware,
        ),
        relationship(
            "02b3c7d2-3e0f-4c55-9f2a-6d8e1b0c4f71",
            &set,
            "uses",
            &malware,
        ),
        relationship(
            "03b3c7d2-3e0f-4c55-9f2a-6d8e1b0c4f71",
            &set,
            "attributed-to",
            &actor,
        ),
    ];
    let file = write(db.dir.path(), "campaign.json", &bundle(objects));
    assert!(relay(&config, &["ingest", &file]).await.status.success());

    let id = indicator["id"].as_str().unwrap();
    let output = relay(
        &config,
        &["context", id, "--depth", "3", "--format", "json"],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let found: Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = found["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert!(names.contains(&"Sample Actor"), "{names:?}");
    assert_eq!(found["edges"].as_array().unwrap().len(), 3);

    let shallow = relay(&config, &["context", id, "--depth", "1"]).await;
    let text = stdout(&shallow);
    assert!(
        text.contains("--indicates--> malware \"SampleLoader\""),
        "{text}"
    );
    assert!(!text.contains("Sample Actor"));

    let missing = relay(
        &config,
        &["context", "malware--00000000-0000-4000-8000-000000000000"],
    )
    .await;
    assert_eq!(missing.status.code(), Some(1));
}

#[tokio::test]
async fn context_walks_campaign_relationships_sqlite() {
    context_walks_campaign_relationships(Backend::Sqlite).await
}
#[tokio::test]
async fn context_walks_campaign_relationships_postgres() {
    context_walks_campaign_relationships(Backend::Postgres).await
}

/// The ATT&CK for ICS graph, when the corpus is beside the project (it is not required to pass).
#[tokio::test]
async fn context_walks_the_attack_ics_graph() {
    let corpus = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/attack-ics/ics-attack-18.1.json"
    );
    if !std::path::Path::new(corpus).exists() {
        eprintln!("corpus not found at {corpus}: ATT&CK for ICS context test skipped");
        return;
    }
    let db = TestDb::new(Backend::Sqlite).await;
    let config = db.write_config("");
    let output = relay(&config, &["ingest", "--collection", "attack-ics", corpus]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("0 quarantined"),
        "{}",
        stdout(&output)
    );
    // Stuxnet (S0603 in ATT&CK for ICS) and what uses it, what it uses, what those relate to.
    let bytes = std::fs::read(corpus).unwrap();
    let objects = taxii_relay::stix::parse_content(&bytes).unwrap().objects;
    let stuxnet = objects
        .iter()
        .find(|o| o["type"] == "malware" && o["name"] == "Stuxnet")
        .expect("Stuxnet in ATT&CK for ICS");
    let output = relay(
        &config,
        &[
            "context",
            stuxnet["id"].as_str().unwrap(),
            "--depth",
            "1",
            "--format",
            "json",
        ],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let found: Value = serde_json::from_slice(&output.stdout).unwrap();
    let kinds: std::collections::HashSet<&str> = found["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["relationship_type"].as_str().unwrap())
        .collect();
    assert!(kinds.contains("uses"), "{kinds:?}");
    assert!(found["edges"].as_array().unwrap().len() >= 10);
    let types: std::collections::HashSet<&str> = found["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert!(types.contains("attack-pattern"), "{types:?}");
}
