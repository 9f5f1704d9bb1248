//! Delivery bench: a sink worker draining an outbox of generated indicators into the file sink and into the
//! Splunk HEC fake (which parses every event as Splunk would), on SQLite and PostgreSQL, at two batch sizes.
//! Reports events per second of the drain (claim, encode, send, settle), and checks every event arrived once.
//!
//! Run: `cargo bench --bench delivery` (BENCH_EVENTS, default 20,000; PostgreSQL from TEST_DATABASE_URL).

#[path = "../tests/it/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "../tests/it/splunk_fake.rs"]
#[allow(unused_imports)]
mod splunk_fake;
#[path = "../tests/it/taxii_server.rs"]
#[allow(unused_imports)]
mod taxii_server;

use helpers::{Backend, TestDb};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Instant;
use taxii_relay::pipeline::delivery::{self, SinkWorker};
use taxii_relay::pipeline::{ingest, stages, CancellationToken};

struct Case {
    sink: &'static str,
    batch_size: usize,
    gzip: bool,
}

async fn bench(backend: Backend, case: &Case, events: usize) {
    let db = TestDb::new(backend).await;
    let backend = format!("{backend:?}").to_lowercase();
    let dir = &db.dir;
    let splunk = splunk_fake::SplunkFake::start().await;
    let token = dir.path().join("token");
    std::fs::write(&token, splunk.token()).unwrap();
    let archive = dir.path().join("archive.jsonl");
    let sink_toml = match case.sink {
        "file" => format!(
            "[[sinks]]\nname = \"bench\"\nkind = \"file\"\npath = \"{}\"\nmax_tlp = \"red\"\nbatch_size = {}\n",
            archive.display(),
            case.batch_size
        ),
        _ => format!(
            "[[sinks]]\nname = \"bench\"\nkind = \"splunk_hec\"\nurl = \"{}\"\ntoken_file = \"{}\"\n\
             max_tlp = \"red\"\nbatch_size = {}\nmax_batch_bytes = 10485760\ngzip = {}\n",
            splunk.url(),
            token.display(),
            case.batch_size,
            case.gzip
        ),
    };
    let settings = db.settings(&sink_toml);
    let store = db.store.clone();
    let routing = stages::Routing {
        routes: settings.sinks.iter().map(delivery::route).collect(),
        wake: Vec::new(),
    };
    let (pages, done) = stages::start(store.clone(), routing);
    let objects: Vec<Value> = (0..events).map(taxii_server::indicator).collect();
    let bundle = json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": objects});
    ingest::ingest_bytes(
        &pages,
        "bench",
        None,
        "bench",
        bundle.to_string().into_bytes(),
    )
    .await
    .unwrap();
    drop(pages);
    done.await.unwrap();

    let worker = SinkWorker::new(&settings.sinks[0], store.clone()).unwrap();
    let started = Instant::now();
    let summary = worker.drain(&CancellationToken::new()).await.unwrap();
    let seconds = started.elapsed().as_secs_f64();

    let delivered_ids: Vec<String> = match case.sink {
        "file" => std::fs::read_to_string(&archive)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect(),
        _ => splunk
            .events()
            .iter()
            .map(|e| e["event"]["id"].as_str().unwrap().to_owned())
            .collect(),
    };
    let once = delivered_ids.len() == events
        && delivered_ids.iter().collect::<HashSet<_>>().len() == events;
    println!(
        "{backend:<8} {:<10} batch {:>4}{:<6} {events:>6} events  {seconds:>7.3} s  {:>8.0} events/s  \
         delivered {} once: {}",
        case.sink,
        case.batch_size,
        if case.gzip { " gzip" } else { "" },
        events as f64 / seconds,
        summary.delivered,
        if once { "yes" } else { "NO" }
    );
    assert!(once, "every event exactly once");
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let events: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let cases = [
        Case {
            sink: "file",
            batch_size: 100,
            gzip: false,
        },
        Case {
            sink: "file",
            batch_size: 500,
            gzip: false,
        },
        Case {
            sink: "splunk_hec",
            batch_size: 100,
            gzip: false,
        },
        Case {
            sink: "splunk_hec",
            batch_size: 500,
            gzip: false,
        },
        Case {
            sink: "splunk_hec",
            batch_size: 500,
            gzip: true,
        },
    ];
    runtime.block_on(async {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            for case in &cases {
                bench(backend, case, events).await;
            }
        }
    });
}
