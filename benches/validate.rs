//! Validation bench: `taxii_relay::stix::validate` over MITRE ATT&CK for ICS 18.1 and over a generated bundle of
//! indicators with real patterns, on one core: objects per second and MB per second; next to the OASIS
//! `stix2-validator` (Python) on the same files in the same run, when it is installed; and validation's share
//! of an end-to-end ingest of the generated bundle into SQLite through the real stages.
//!
//! Run: `cargo bench --bench validate` (BENCH_INDICATORS, default 200,000; BENCH_PEER_INDICATORS, the slice
//! given to stix2-validator, default 20,000: it is far slower, and its throughput is per object either way).

#[path = "../tests/it/taxii_server.rs"]
#[allow(unused_imports)]
mod taxii_server;

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use taxii_relay::pipeline::{ingest, stages};
use taxii_relay::stix::validate::validate;
use taxii_relay::store::Store;

/// An indicator with one of several real pattern shapes.
fn generated_indicator(n: usize) -> Value {
    let mut object = taxii_server::indicator(n % 65_536);
    object["id"] = json!(format!("indicator--{:08x}-1c2d-4e5f-8a9b-{:012x}", n, n));
    let pattern = match n % 5 {
        0 => format!("[ipv4-addr:value = '10.{}.{}.{}']", (n >> 16) & 255, (n >> 8) & 255, n & 255),
        1 => format!("[domain-name:value = 'host{n}.example.org']"),
        2 => format!("[file:hashes.'SHA-256' = '{:064x}']", n as u128 * 0x9e37_79b9_7f4a_7c15),
        3 => format!("[url:value = 'https://example.net/p/{n}'] OR [domain-name:value = 'cdn{n}.example.net']"),
        _ => format!(
            "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '192.0.2.{}'] \
             FOLLOWEDBY [file:name = 'payload{n}.exe'] WITHIN 600 SECONDS",
            n % 256
        ),
    };
    object["pattern"] = json!(pattern);
    object
}

fn bundle(objects: &[Value]) -> Value {
    json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": objects})
}

/// Best of three passes: objects per second and MB per second of validation alone.
fn measure(objects: &[Value], bytes: usize) -> (f64, f64, f64, usize) {
    let mut best = f64::MAX;
    let mut invalid = 0;
    for _ in 0..3 {
        let started = Instant::now();
        invalid = objects.iter().filter(|o| !validate(o).is_valid()).count();
        best = best.min(started.elapsed().as_secs_f64());
    }
    (
        objects.len() as f64 / best,
        bytes as f64 / best / 1e6,
        best,
        invalid,
    )
}

/// The Python side of the peer run: loads stix2-validator as `scripts/conformance.py` does (its 3.3.1 wheel
/// lacks the JSON schemas it needs), loads the bundle (not timed), then validates every object on its own
/// (a bundle given whole is checked only as far as its first error) and prints seconds and valid count.
const PEER_SCRIPT: &str = r#"
import contextlib, json, os, sys, time
sys.path.insert(0, os.path.join(sys.argv[2], "scripts"))
import conformance  # finds stix2-validator's JSON schemas when its wheel lacks them
with contextlib.redirect_stdout(sys.stderr):
    v, options = conformance.load_reference(None)
objects = json.load(open(sys.argv[1]))["objects"]
started = time.perf_counter()
valid = sum(1 for o in objects if v.validate_parsed_json(o, options).is_valid)
print(time.perf_counter() - started, valid)
"#;

/// stix2-validator over the same objects: seconds of validation alone, and how many it found valid.
/// `None` when it is not installed.
fn peer(path: &Path) -> Option<(f64, usize)> {
    let output = Command::new("python3")
        .args(["-c", PEER_SCRIPT])
        .arg(path)
        .arg(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "stix2-validator unavailable: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut fields = text.split_whitespace();
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

fn report(name: &str, objects: &[Value], dir: &Path) {
    let text = bundle(objects).to_string();
    let (per_second, mb_per_second, seconds, invalid) = measure(objects, text.len());
    println!(
        "{name:<28} {:>7} objects {:>6.1} MB  relay: {seconds:>7.3} s  {per_second:>10.0} objects/s  {mb_per_second:>7.1} MB/s  ({invalid} invalid)",
        objects.len(),
        text.len() as f64 / 1e6
    );
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, &text).unwrap();
    if let Some((peer_seconds, peer_valid)) = peer(&path) {
        let peer_rate = objects.len() as f64 / peer_seconds;
        println!(
            "{name:<28} {:>7} objects            stix2-validator: {peer_seconds:>7.3} s  {peer_rate:>10.0} objects/s  \
             ({} valid; relay {})  → relay is {:.0}× faster",
            objects.len(),
            peer_valid,
            objects.len() - invalid,
            per_second / peer_rate
        );
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let count: usize = std::env::var("BENCH_INDICATORS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    let peer_count: usize = std::env::var("BENCH_PEER_INDICATORS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);

    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/attack-ics/ics-attack-18.1.json");
    match std::fs::read(&corpus) {
        Ok(bytes) => {
            let objects = taxii_relay::stix::parse_content(&bytes).unwrap().objects;
            report("attack-ics-18.1", &objects, dir.path());
        }
        Err(_) => println!("corpus not found: ATT&CK for ICS skipped"),
    }

    let generated: Vec<Value> = (0..count).map(generated_indicator).collect();
    let text = bundle(&generated).to_string();
    let (per_second, mb_per_second, validate_seconds, invalid) = measure(&generated, text.len());
    println!(
        "{:<28} {:>7} objects {:>6.1} MB  relay: {validate_seconds:>7.3} s  {per_second:>10.0} objects/s  {mb_per_second:>7.1} MB/s  ({invalid} invalid)",
        "generated-indicators",
        generated.len(),
        text.len() as f64 / 1e6
    );
    report(
        "generated-indicators-slice",
        &generated[..peer_count.min(count)],
        dir.path(),
    );

    // Validation's share of an end-to-end ingest of the same bundle (parse, normalize, validate, index,
    // TLP, store in SQLite) through the real stages.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ingest_seconds = runtime.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = Store::connect(&url, 4).await.unwrap();
        store.migrate().await.unwrap();
        let (pages, done) = stages::start(store, stages::Routing::default());
        let started = Instant::now();
        let summary = ingest::ingest_bytes(&pages, "bench", None, "bench", text.into_bytes())
            .await
            .unwrap();
        drop(pages);
        done.await.unwrap();
        assert_eq!(summary.new, count, "every generated indicator stored");
        started.elapsed().as_secs_f64()
    });
    println!(
        "end-to-end ingest of the generated bundle into SQLite: {ingest_seconds:.3} s ({:.0} objects/s); \
         validation is {:.1}% of it",
        count as f64 / ingest_seconds,
        100.0 * validate_seconds / ingest_seconds
    );
}
