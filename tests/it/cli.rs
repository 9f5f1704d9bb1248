//! The real binary: `run --once` and the daemon (SIGTERM, kill -9 mid-pagination), `ingest`, `discover`,
//! `status`, `migrate`, JSON logs, proxies, and the one-line failure of an unreachable server.

use crate::helpers::{
    collection_toml, log_events, relay, relay_command, stderr, stdout, Backend, TestDb,
};
use crate::polling::{indicators, t};
use crate::taxii_server::{Fault, TaxiiServer, Version};
use chrono::Duration;
use std::time::Instant;

fn good_and_bad(server: &TaxiiServer) -> String {
    let bad_url = server.collection_url().replace(
        crate::taxii_server::COLLECTION_ID,
        "00000000-0000-4000-8000-000000000000",
    );
    format!(
        "{}{}",
        collection_toml("good", &server.collection_url(), ""),
        collection_toml("bad", &bad_url, "")
    )
}

async fn run_once_keeps_collections_apart(backend: Backend) {
    let server = TaxiiServer::start(Version::V21).await;
    let last = server.add_objects_spaced(
        indicators(0..150),
        t("2025-01-01T00:00:00Z"),
        Duration::seconds(1),
    );
    let db = TestDb::new(backend).await;
    let config = db.write_config(&good_and_bad(&server));

    let output = relay(&config, &["run", "--once"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(db.versions().await.len(), 150);
    assert_eq!(db.cursor("good").await, Some(last));
    assert_eq!(
        db.cursor("bad").await,
        None,
        "a failed collection's cursor stays"
    );
    let bad = db.store.cursor_row("bad").await.unwrap().unwrap();
    assert!(bad.last_error.unwrap().contains("404"));

    let events = log_events(&output);
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e["message"] == "poll failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["collection"], "bad");
    assert_eq!(failed[0]["level"], "ERROR");
    let stored: Vec<_> = events
        .iter()
        .filter(|e| e["message"] == "page stored")
        .collect();
    assert_eq!(stored.len(), 2);
    for key in [
        "collection",
        "objects",
        "new",
        "duplicates",
        "duration_ms",
        "cursor",
    ] {
        assert!(
            stored[0].get(key).is_some(),
            "page stored event lacks {key}: {}",
            stored[0]
        );
    }
    assert_eq!(stored[1]["cursor"], "2025-01-01T00:02:29+00:00");
    let finished = events
        .iter()
        .find(|e| e["message"] == "poll finished")
        .expect("poll event");
    assert_eq!(finished["new"], 150);

    // A second run stores nothing new; `status` tells the story of both collections.
    let again = relay(&config, &["run", "--once"]).await;
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(db.versions().await.len(), 150);
    let status = relay(&config, &["status", "--format", "json"]).await;
    assert!(status.status.success(), "{}", stderr(&status));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let good = &status["collections"][0];
    assert_eq!(good["name"], "good");
    assert_eq!(good["objects"], 150);
    assert_eq!(good["cursor"], "2025-01-01T00:02:29Z");
    assert!(good["lag_seconds"].as_i64().unwrap() > 0);
    assert!(status["collections"][1]["last_error"]
        .as_str()
        .unwrap()
        .contains("404"));
}

#[tokio::test]
async fn run_once_keeps_collections_apart_sqlite() {
    run_once_keeps_collections_apart(Backend::Sqlite).await
}
#[tokio::test]
async fn run_once_keeps_collections_apart_postgres() {
    run_once_keeps_collections_apart(Backend::Postgres).await
}

/// kill -9 while the server stalls on page 3: the two committed pages stay, and the next run
/// resumes from them with nothing lost and nothing stored twice.
async fn killed_mid_pagination_resumes(backend: Backend) {
    let server = TaxiiServer::start(Version::V21).await;
    server.add_objects_spaced(
        indicators(0..250),
        t("2025-01-01T00:00:00Z"),
        Duration::minutes(1),
    );
    server.fail_after_pages(2, Fault::Stall);
    let db = TestDb::new(backend).await;
    let config = db.write_config(&collection_toml(
        "c",
        &server.collection_url(),
        "read_timeout = \"60s\"",
    ));

    let mut child = relay_command(&config, &["run", "--once"]).spawn().unwrap();
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while db.versions().await.len() < 200 {
        assert!(Instant::now() < deadline, "two pages never arrived");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    while server.objects_requests() < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert!(!status.success());
    assert_eq!(db.versions().await.len(), 200);
    assert_eq!(
        db.cursor("c").await,
        Some(t("2025-01-01T00:00:00Z") + Duration::minutes(199))
    );

    server.clear_faults();
    let output = relay(&config, &["run", "--once"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let versions = db.versions().await;
    assert_eq!(versions.len(), 250);
    let distinct: std::collections::HashSet<_> = versions.iter().collect();
    assert_eq!(distinct.len(), 250);
}

#[tokio::test]
async fn killed_mid_pagination_resumes_sqlite() {
    killed_mid_pagination_resumes(Backend::Sqlite).await
}
#[tokio::test]
async fn killed_mid_pagination_resumes_postgres() {
    killed_mid_pagination_resumes(Backend::Postgres).await
}

/// SIGTERM while the daemon waits on a slow page: it stops polling, keeps what is stored, exits 0.
#[tokio::test]
async fn sigterm_stops_the_daemon_cleanly() {
    let server = TaxiiServer::start(Version::V21).await;
    server.add_objects_spaced(
        indicators(0..250),
        t("2025-01-01T00:00:00Z"),
        Duration::minutes(1),
    );
    server.fail_after_pages(1, Fault::Slow(std::time::Duration::from_secs(30)));
    let db = TestDb::new(Backend::Sqlite).await;
    let config = db.write_config(&collection_toml(
        "c",
        &server.collection_url(),
        "read_timeout = \"60s\"",
    ));
    let child = relay_command(&config, &["run"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while db.versions().await.len() < 100 || server.objects_requests() < 2 {
        assert!(Instant::now() < deadline, "the first page never arrived");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    let pid = child.id().unwrap() as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let output = child.wait_with_output().await.unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(stderr(&output).contains("stop requested"));
    assert_eq!(db.versions().await.len(), 100);
    assert_eq!(
        db.cursor("c").await,
        Some(t("2025-01-01T00:00:00Z") + Duration::minutes(99))
    );
}

/// An unreachable server fails the poll with one clear error line, not a stack of retries.
#[tokio::test]
async fn unresolvable_server_fails_with_one_line() {
    let db = TestDb::new(Backend::Sqlite).await;
    let config = db.write_config(&collection_toml(
        "offline",
        "https://taxii.invalid/api1/collections/x/",
        "",
    ));
    let started = Instant::now();
    let output = relay(&config, &["run", "--once"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let text = stderr(&output);
    let errors: Vec<&str> = text.lines().filter(|l| l.contains("\"ERROR\"")).collect();
    assert_eq!(errors.len(), 1, "{text}");
    assert!(errors[0].contains("taxii.invalid"), "{}", errors[0]);
    assert!(!text.contains("retrying"), "{text}");
}

/// The standard proxy variables are honoured: the fixture plays the proxy for a host that does not exist.
#[tokio::test]
async fn http_proxy_from_the_environment() {
    let server = TaxiiServer::start(Version::V21).await;
    server.add_objects(indicators(0..7), t("2025-01-01T00:00:00Z"));
    let db = TestDb::new(Backend::Sqlite).await;
    let url = format!(
        "http://taxii.proxied.invalid/api1/collections/{}/",
        crate::taxii_server::COLLECTION_ID
    );
    let config = db.write_config(&collection_toml("c", &url, ""));
    let output = relay_command(&config, &["run", "--once"])
        .env("HTTP_PROXY", server.base_url())
        .env("http_proxy", server.base_url())
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(db.versions().await.len(), 7);
}

#[tokio::test]
async fn ingest_files_through_the_pipeline() {
    let db = TestDb::new(Backend::Sqlite).await;
    let config = db.write_config("");
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/sample-bundle.json");
    let not_json = db.dir.path().join("junk.json");
    std::fs::write(&not_json, "this is not STIX").unwrap();

    let output = relay(&config, &["ingest", "--collection", "offline-feed", sample]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("7 objects, 6 new, 0 duplicates, 1 quarantined"),
        "{}",
        stdout(&output)
    );
    let again = relay(&config, &["ingest", "--collection", "offline-feed", sample]).await;
    assert!(
        stdout(&again).contains("0 new, 6 duplicates"),
        "{}",
        stdout(&again)
    );

    let output = relay(&config, &["ingest", not_json.to_str().unwrap()]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("not STIX"));
    let quarantined = db.store.quarantine_counts().await.unwrap();
    assert_eq!(quarantined.get("offline-feed"), Some(&1));
    assert_eq!(quarantined.get("ingest"), Some(&1));
    assert_eq!(
        db.store.cursor("offline-feed").await.unwrap(),
        None,
        "ingest touches no cursor"
    );

    // Standard input too.
    let mut child = relay_command(&config, &["ingest", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let bundle = serde_json::json!({"type": "bundle", "id": "bundle--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
        "objects": indicators(0..3)});
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(bundle.to_string().as_bytes())
            .await
            .unwrap();
    }
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success());
    assert!(
        stdout(&output).contains("3 objects, 3 new"),
        "{}",
        stdout(&output)
    );
}

#[tokio::test]
async fn discover_lists_roots_and_collections() {
    for version in [Version::V21, Version::V20] {
        let server = TaxiiServer::start(version).await;
        let db = TestDb::new(Backend::Sqlite).await;
        let config = db.write_config("");
        let version_arg = match version {
            Version::V21 => "2.1",
            Version::V20 => "2.0",
        };
        let output = relay(
            &config,
            &[
                "discover",
                &server.discovery_url(),
                "--format",
                "json",
                "--taxii-version",
                version_arg,
            ],
        )
        .await;
        assert!(output.status.success(), "{}", stderr(&output));
        let found: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let collection = &found["api_roots"][0]["collections"][0];
        assert_eq!(collection["id"], crate::taxii_server::COLLECTION_ID);
        assert_eq!(collection["url"], server.collection_url());
        assert_eq!(collection["can_read"], true);
        assert_eq!(collection["can_write"], false);

        let text = relay(
            &config,
            &[
                "discover",
                &server.discovery_url(),
                "--taxii-version",
                version_arg,
            ],
        )
        .await;
        assert!(text.status.success());
        assert!(stdout(&text).contains(&server.collection_url()));
        assert!(stdout(&text).contains("can_read=true can_write=false"));
    }
}

#[tokio::test]
async fn discover_uses_the_configured_credentials() {
    let server = TaxiiServer::start(Version::V21)
        .await
        .with_basic_auth("analyst", "s3cret-pw");
    let db = TestDb::new(Backend::Sqlite).await;
    let password = db.dir.path().join("pw");
    std::fs::write(&password, "s3cret-pw").unwrap();
    let config = db.write_config(&collection_toml(
        "c",
        &server.collection_url(),
        &format!(
            "[collections.auth]\nkind = \"basic\"\nusername = \"analyst\"\npassword_file = \"{}\"",
            password.display()
        ),
    ));
    let output = relay(&config, &["discover", &server.discovery_url()]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains(&server.collection_url()));

    let unauthenticated = db.write_config("");
    let output = relay(&unauthenticated, &["discover", &server.discovery_url()]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("401"), "{}", stderr(&output));
    assert!(!stderr(&output).contains("s3cret-pw"));
}

#[tokio::test]
async fn migrate_is_idempotent() {
    let db = TestDb::new(Backend::Postgres).await;
    let config = db.write_config("");
    for _ in 0..2 {
        let output = relay(&config, &["migrate"]).await;
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(stdout(&output).contains("migrations applied (postgres)"));
    }
}

/// Under systemd (`Type=notify`): READY=1 once polling, WATCHDOG=1 while alive, STOPPING=1 on SIGTERM.
#[tokio::test]
async fn systemd_notifications() {
    let server = TaxiiServer::start(Version::V21).await;
    server.add_objects(indicators(0..5), t("2025-01-01T00:00:00Z"));
    let db = TestDb::new(Backend::Sqlite).await;
    let config = db.write_config(&collection_toml("c", &server.collection_url(), ""));
    let socket_path = db.dir.path().join("notify.sock");
    let socket = tokio::net::UnixDatagram::bind(&socket_path).unwrap();
    let child = relay_command(&config, &["run"])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "200000")
        .env_remove("WATCHDOG_PID")
        .spawn()
        .unwrap();
    let mut seen: Vec<String> = Vec::new();
    let mut buffer = [0u8; 256];
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    while !(seen.iter().any(|m| m == "READY=1") && seen.iter().any(|m| m == "WATCHDOG=1")) {
        assert!(Instant::now() < deadline, "notifications so far: {seen:?}");
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), socket.recv(&mut buffer))
            .await
            .expect("a notification")
            .unwrap();
        seen.push(String::from_utf8_lossy(&buffer[..n]).trim().to_owned());
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id().unwrap() as i32, libc::SIGTERM) };
    loop {
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), socket.recv(&mut buffer))
            .await
            .expect("STOPPING=1 after SIGTERM")
            .unwrap();
        if String::from_utf8_lossy(&buffer[..n]).trim() == "STOPPING=1" {
            break;
        }
    }
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success());
}
