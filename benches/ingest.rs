//! End-to-end ingest bench: the real `taxii-relay run --once` binary polling the in-process TAXII fixture
//! (2.1 and 2.0), into SQLite and PostgreSQL. Reports objects per second and the process's peak RSS, and
//! checks that every distinct `(id, modified)` is stored exactly once and that a second run stores none.
//!
//! Run: `cargo bench --bench ingest` (PostgreSQL from TEST_DATABASE_URL, default the local server).
//! Datasets: MITRE ATT&CK for ICS 18.1 from `../shared/corpus/` (or TAXII_RELAY_CORPUS), skipped when
//! absent, and a generated set of indicators (BENCH_INDICATORS, default 50,000).

// The test fixtures and helpers, shared with the integration tests (their own self-tests and the helpers
// this bench does not call come along).
#[path = "../tests/it/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "../tests/it/taxii_server.rs"]
#[allow(unused_imports)]
mod taxii_server;

use chrono::{DateTime, Utc};
use helpers::{collection_toml, Backend, TestDb};
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;
use taxii_server::{indicator, TaxiiServer, Version};

struct Run {
    seconds: f64,
    peak_rss_kib: u64,
    stderr: String,
    success: bool,
}

/// The process's peak resident set (`VmHWM` of /proc/PID/status), if it is still running.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs the binary to completion, sampling its peak RSS every 2 ms. (wait4's ru_maxrss would include this
/// bench's own memory: Linux carries the pre-exec high-water mark of a vfork'd child over exec.)
fn run_relay(config: &Path) -> Run {
    let started = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_taxii-relay"))
        .arg("--config")
        .arg(config)
        .args([
            "--log-level",
            "warn,taxii_relay::pipeline::scheduler=info",
            "run",
            "--once",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn taxii-relay");
    let pid = child.id();
    let stderr_pipe = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut stderr = String::new();
        if let Some(mut pipe) = stderr_pipe {
            use std::io::Read;
            let _ = pipe.read_to_string(&mut stderr);
        }
        stderr
    });
    let mut peak_rss_kib = 0;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak_rss_kib = peak_rss_kib.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait for taxii-relay") {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    Run {
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_kib,
        stderr: reader.join().unwrap_or_default(),
        success: status.success(),
    }
}

fn new_objects_reported(stderr: &str) -> i64 {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["message"] == "poll finished")
        .map(|e| e["new"].as_i64().unwrap_or(-1))
        .sum()
}

fn distinct_versions(objects: &[Value]) -> usize {
    objects
        .iter()
        .filter_map(|o| taxii_relay::stix::object_key(o, "2.1").ok())
        .map(|k| (k.id, k.modified))
        .collect::<HashSet<_>>()
        .len()
}

async fn bench(name: &str, objects: &[Value], version: Version, backend: Backend) {
    let server = TaxiiServer::start(version).await;
    let start: DateTime<Utc> = "2025-01-01T00:00:00Z".parse().unwrap();
    server.add_objects_spaced(objects.to_vec(), start, chrono::Duration::milliseconds(1));
    let db = TestDb::new(backend).await;
    let backend = format!("{backend:?}").to_lowercase();
    let taxii_version = match version {
        Version::V21 => "2.1",
        Version::V20 => "2.0",
    };
    let config = db.write_config(&collection_toml(
        "bench",
        &server.collection_url(),
        &format!("taxii_version = \"{taxii_version}\""),
    ));

    let first = tokio::task::spawn_blocking({
        let config = config.clone();
        move || run_relay(&config)
    })
    .await
    .unwrap();
    assert!(first.success, "first run failed: {}", first.stderr);
    let stored = db.store.object_versions().await.unwrap();
    let expected = distinct_versions(objects);
    let once = stored.len() == expected && stored.iter().collect::<HashSet<_>>().len() == expected;

    let second = tokio::task::spawn_blocking(move || run_relay(&config))
        .await
        .unwrap();
    assert!(second.success, "second run failed: {}", second.stderr);
    let second_new = new_objects_reported(&second.stderr);
    let after_second = db.store.object_versions().await.unwrap().len();

    println!(
        "{name:<22} taxii {taxii_version}  {backend:<8} {:>7} objects  {:>7.3} s  {:>9.0} objects/s  peak RSS {:>6.1} MiB  \
         stored once: {}  second run new: {second_new} (rows {after_second})",
        expected,
        first.seconds,
        expected as f64 / first.seconds,
        first.peak_rss_kib as f64 / 1024.0,
        if once { "yes" } else { "NO" },
    );
    assert!(
        once,
        "{name}: stored {} rows for {expected} distinct versions",
        stored.len()
    );
    assert_eq!(second_new, 0);
    assert_eq!(after_second, expected);
}

fn corpus_bundle() -> Option<(PathBuf, Vec<Value>)> {
    let path = std::env::var("TAXII_RELAY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/corpus/attack-ics/ics-attack-18.1.json")
        });
    let bytes = std::fs::read(&path).ok()?;
    let content = taxii_relay::stix::parse_content(&bytes).ok()?;
    Some((path, content.objects))
}

fn main() {
    // `cargo bench` passes --bench; nothing else is read.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let generated_count: usize = std::env::var("BENCH_INDICATORS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(50_000);
        let generated: Vec<Value> = (0..generated_count).map(indicator).collect();
        let mut datasets = Vec::new();
        match corpus_bundle() {
            Some((path, objects)) => {
                println!("corpus: {} ({} objects)", path.display(), objects.len());
                datasets.push(("attack-ics-18.1", objects));
            }
            None => println!("corpus not found: ATT&CK for ICS runs skipped"),
        }
        datasets.push(("generated-indicators", generated));
        for (name, objects) in &datasets {
            for version in [Version::V21, Version::V20] {
                for backend in [Backend::Sqlite, Backend::Postgres] {
                    bench(name, objects, version, backend).await;
                }
            }
        }
    });
}
