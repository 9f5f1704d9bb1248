//! One function per CLI command. `main.rs` parses arguments, loads the config and calls these.
//!
//! Owns: what each command prints (stdout for results, stderr for logs) and its exit status.
//! Must never: hold pipeline or SQL logic of its own; it calls the library.

use crate::config::{redact_url, Settings, TaxiiVersion};
use crate::pipeline::delivery::{self, SinkWorker};
use crate::pipeline::scheduler::{CollectionPoller, PollError};
use crate::pipeline::{ingest, stages, CancellationToken};
use crate::store::Store;
use crate::taxii::client::ClientOptions;
use crate::taxii::{discovery, TaxiiClient};
use crate::telemetry::{fields, service};
use anyhow::Context;
use chrono::Utc;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::io::AsyncReadExt;
use tokio::task::JoinSet;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};
use url::Url;

/// Output format of `status` and `discover`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Opens the configured database and applies migrations.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::connect(&settings.store.url, settings.store.max_connections).await?;
    store.migrate().await?;
    Ok(store)
}

/// `run [--once]`: the daemon. With `once`, polls each collection to the end and exits: 0 when every poll
/// succeeded, 1 otherwise. Without, polls until SIGINT/SIGTERM, finishes the pages in hand, exits 0.
pub async fn run(settings: &Settings, once: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    let cancel = CancellationToken::new();
    tokio::spawn(cancel_on_signal(cancel.clone()));
    let workers = sink_workers(settings, &store)?;
    let routing = stages::Routing {
        routes: settings.sinks.iter().map(delivery::route).collect(),
        wake: workers.iter().map(SinkWorker::wake_handle).collect(),
    };
    let (pages, stages_done) = stages::start(store.clone(), routing);
    let mut pollers = Vec::new();
    for collection in &settings.collections {
        let poller = CollectionPoller::new(collection.clone(), store.clone(), pages.clone())
            .with_context(|| format!("collection {}", collection.name))?;
        pollers.push(poller);
    }
    drop(pages);
    if pollers.is_empty() {
        warn!(message = "no [[collections]] configured: nothing to poll");
    }
    info!(
        message = "relay started",
        store = store.backend(),
        collections = pollers.len(),
        sinks = workers.len(),
        once
    );
    service::ready();
    service::spawn_watchdog(cancel.clone());

    let work = async {
        if once {
            poll_once_then_drain(pollers, workers, stages_done, &cancel).await
        } else {
            let tracker = TaskTracker::new();
            for poller in pollers {
                tracker.spawn(poller.run(cancel.clone()));
            }
            for worker in workers {
                tracker.spawn(worker.run(cancel.clone()));
            }
            tracker.close();
            tracker.wait().await;
            let _ = stages_done.await;
            0
        }
    };
    tokio::pin!(work);
    let deadline = async {
        cancel.cancelled().await;
        tokio::time::sleep(settings.shutdown_timeout).await;
    };
    tokio::select! {
        failed = &mut work => {
            info!(message = "relay stopped", failed_polls = failed);
            Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        _ = deadline => {
            error!(message = "shutdown deadline passed with work in hand; exiting (stored pages are safe, the rest is re-polled)");
            Ok(ExitCode::from(1))
        }
    }
}

/// `run --once`: every collection polled to its end (concurrently), then every sink's outbox drained to
/// delivered or dead. Returns how many polls or drains failed (each already logged).
async fn poll_once_then_drain(
    pollers: Vec<CollectionPoller>,
    workers: Vec<SinkWorker>,
    stages_done: tokio::task::JoinHandle<()>,
    cancel: &CancellationToken,
) -> usize {
    let mut polls = JoinSet::new();
    for poller in pollers {
        let cancel = cancel.clone();
        polls.spawn(async move {
            let result = poller.poll_and_record(&cancel).await;
            matches!(result, Ok(_) | Err(PollError::Cancelled))
        });
    }
    let mut failed = count_failures(polls).await;
    // The pollers are gone, so the stages end once the last page is stored.
    let _ = stages_done.await;
    let mut drains = JoinSet::new();
    for worker in workers {
        let cancel = cancel.clone();
        drains.spawn(async move {
            let result = worker.drain(&cancel).await;
            if let Err(e) = &result {
                error!(message = "outbox not drained", { fields::SINK } = worker.name(), { fields::ERROR } = %e);
            }
            result.is_ok()
        });
    }
    failed += count_failures(drains).await;
    failed
}

/// Waits for every task; counts those that said `false` or panicked.
async fn count_failures(mut tasks: JoinSet<bool>) -> usize {
    let mut failed = 0;
    while let Some(result) = tasks.join_next().await {
        match result {
            Ok(true) => {}
            Ok(false) => failed += 1,
            Err(join_error) => {
                error!(message = "task failed", { fields::ERROR } = %join_error);
                failed += 1;
            }
        }
    }
    failed
}

/// One worker per configured sink; a sink that cannot be built (bad CA file, kind not built yet) stops the
/// start with its reason.
fn sink_workers(settings: &Settings, store: &Store) -> anyhow::Result<Vec<SinkWorker>> {
    settings
        .sinks
        .iter()
        .map(|sink| SinkWorker::new(sink, store.clone()).map_err(anyhow::Error::from))
        .collect()
}

/// Cancels on SIGINT or SIGTERM.
async fn cancel_on_signal(cancel: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    info!(message = "stop requested: finishing the pages in hand");
    service::stopping();
    cancel.cancel();
}

/// `migrate`.
pub async fn migrate(settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    println!("migrations applied ({})", store.backend());
    Ok(ExitCode::SUCCESS)
}

/// `check-config`: the effective config, secrets redacted.
pub fn check_config(settings: &Settings, source_name: &str) -> ExitCode {
    println!("# effective config from {source_name} (valid; secrets are shown only by the names of their variables or files)");
    print!("{}", settings.to_redacted_toml());
    ExitCode::SUCCESS
}

/// `discover URL`: uses the credentials of a configured collection on the same server, if any.
pub async fn discover(
    settings: &Settings,
    url: &Url,
    version: Option<TaxiiVersion>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let same_server = settings
        .collections
        .iter()
        .find(|c| c.url.origin() == url.origin());
    let options = same_server.map(ClientOptions::from).unwrap_or_default();
    let version = version
        .or(same_server.map(|c| c.taxii_version))
        .unwrap_or_else(|| {
            if url.path().trim_end_matches('/').ends_with("/taxii") {
                TaxiiVersion::V20
            } else {
                TaxiiVersion::V21
            }
        });
    let client = TaxiiClient::new(options)?;
    let found = discovery::discover(&client, url, version)
        .await
        .with_context(|| format!("discovery of {} failed", redact_url(url)))?;
    match format {
        Format::Text => print!("{}", found.to_text()),
        Format::Json => println!("{}", serde_json::to_string_pretty(&found)?),
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
struct CollectionStatus {
    name: String,
    cursor: Option<chrono::DateTime<Utc>>,
    lag_seconds: Option<i64>,
    last_poll_at: Option<chrono::DateTime<Utc>>,
    last_success_at: Option<chrono::DateTime<Utc>>,
    last_error: Option<String>,
    objects: i64,
    quarantined: i64,
    configured: bool,
}

/// `status`: per collection, its cursor, lag, last success and error, objects and quarantine.
pub async fn status(settings: &Settings, format: Format) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    let cursors = store.cursors().await?;
    let objects = store.object_counts().await?;
    let quarantined = store.quarantine_counts().await?;
    let mut sinks = store.sink_counts().await?;
    for configured in &settings.sinks {
        if !sinks.iter().any(|c| c.sink == configured.name) {
            sinks.push(crate::store::SinkCounts {
                sink: configured.name.clone(),
                ..Default::default()
            });
        }
    }
    let mut names: Vec<String> = settings
        .collections
        .iter()
        .map(|c| c.name.clone())
        .collect();
    for name in cursors.iter().map(|c| &c.collection).chain(objects.keys()) {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let now = Utc::now();
    let rows: Vec<CollectionStatus> = names
        .into_iter()
        .map(|name| {
            let cursor = cursors.iter().find(|c| c.collection == name);
            let added_after_last = cursor.and_then(|c| c.added_after_last);
            CollectionStatus {
                cursor: added_after_last,
                lag_seconds: added_after_last.map(|c| (now - c).num_seconds()),
                last_poll_at: cursor.and_then(|c| c.last_poll_at),
                last_success_at: cursor.and_then(|c| c.last_success_at),
                last_error: cursor.and_then(|c| c.last_error.clone()),
                objects: objects.get(&name).copied().unwrap_or(0),
                quarantined: quarantined.get(&name).copied().unwrap_or(0),
                configured: settings.collection(&name).is_some(),
                name,
            }
        })
        .collect();
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "collections": rows, "sinks": sinks })
            )?
        ),
        Format::Text => {
            let mut out = String::new();
            let ts = |t: Option<chrono::DateTime<Utc>>| {
                t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .unwrap_or_else(|| "-".into())
            };
            let _ = writeln!(
                out,
                "{:<24} {:<21} {:>9} {:<21} {:>9} {:>11}  last error",
                "collection", "cursor", "lag", "last success", "objects", "quarantined"
            );
            for r in &rows {
                let _ = writeln!(
                    out,
                    "{:<24} {:<21} {:>9} {:<21} {:>9} {:>11}  {}",
                    r.name,
                    ts(r.cursor),
                    r.lag_seconds
                        .map(
                            |s| humantime::format_duration(std::time::Duration::from_secs(
                                s.max(0) as u64
                            ))
                            .to_string()
                        )
                        .unwrap_or_else(|| "-".into()),
                    ts(r.last_success_at),
                    r.objects,
                    r.quarantined,
                    r.last_error.as_deref().unwrap_or("-")
                );
            }
            let _ = writeln!(
                out,
                "\n{:<24} {:>9} {:>11} {:>9}  oldest pending",
                "sink", "pending", "delivered", "dead"
            );
            for c in &sinks {
                let _ = writeln!(
                    out,
                    "{:<24} {:>9} {:>11} {:>9}  {}",
                    c.sink,
                    c.pending,
                    c.delivered,
                    c.dead,
                    ts(c.oldest_pending)
                );
            }
            print!("{out}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `replay --sink NAME [--since T] [--dead]`: re-enqueue stored objects (the current version of each, first
/// seen since T) that the sink's types and TLP ceiling admit; with `--dead`, only its dead deliveries.
pub async fn replay(
    settings: &Settings,
    sink: &str,
    since: Option<chrono::DateTime<Utc>>,
    dead_only: bool,
) -> anyhow::Result<ExitCode> {
    let Some(sink_settings) = settings.sinks.iter().find(|s| s.name == sink) else {
        let known: Vec<&str> = settings.sinks.iter().map(|s| s.name.as_str()).collect();
        eprintln!("taxii-relay: no sink named {sink:?} in the config (sinks: {known:?})");
        return Ok(ExitCode::from(2));
    };
    let store = open_store(settings).await?;
    let count = store
        .replay(&delivery::route(sink_settings), since, dead_only)
        .await?;
    println!(
        "{count} deliveries pending for sink {sink}{}; `run` delivers them",
        if dead_only { " (dead letters)" } else { "" }
    );
    Ok(ExitCode::SUCCESS)
}

/// `ingest [--collection NAME] FILE...|-`: exit 0 when every input was read as STIX, 1 otherwise
/// (unreadable inputs are quarantined raw).
pub async fn ingest(
    settings: &Settings,
    collection: &str,
    inputs: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    let default_tlp = settings.collection(collection).and_then(|c| c.default_tlp);
    let routing = stages::Routing {
        routes: settings.sinks.iter().map(delivery::route).collect(),
        wake: Vec::new(),
    };
    let (pages, stages_done) = stages::start(store, routing);
    let mut all_read = true;
    for input in inputs {
        let (name, bytes) = if input.as_os_str() == "-" {
            let mut bytes = Vec::new();
            tokio::io::stdin()
                .read_to_end(&mut bytes)
                .await
                .context("cannot read standard input")?;
            ("-".to_owned(), bytes)
        } else {
            let bytes = tokio::fs::read(input)
                .await
                .with_context(|| format!("cannot read {}", input.display()))?;
            (input.display().to_string(), bytes)
        };
        let summary = ingest::ingest_bytes(&pages, collection, default_tlp, &name, bytes).await?;
        match &summary.error {
            Some(error) => {
                all_read = false;
                println!("{name}: not STIX ({error}); quarantined");
            }
            None => println!(
                "{name}: {} objects, {} new, {} duplicates, {} quarantined",
                summary.objects, summary.new, summary.duplicates, summary.quarantined
            ),
        }
    }
    drop(pages);
    let _ = stages_done.await;
    Ok(if all_read {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `lookup OBSERVABLE_TYPE VALUE`: current indicators with that simple comparison. Exit 0 when found, 1 when
/// none (so scripts can ask "do we know this?").
pub async fn lookup(
    settings: &Settings,
    observable_type: &str,
    value: &str,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    let (observable, value) = lookup_key(observable_type, value)?;
    let hits = store.lookup(&observable, &value).await?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&hits)?),
        Format::Text => {
            if hits.is_empty() {
                println!("no current indicator matches {observable} = {value}");
            }
            for hit in &hits {
                println!(
                    "{}  {}  tlp:{}  collection:{}  {} = {}  {}",
                    hit.id,
                    hit.modified.format("%Y-%m-%dT%H:%M:%SZ"),
                    hit.tlp.as_deref().unwrap_or("-"),
                    hit.collection,
                    hit.observable_type,
                    hit.value,
                    hit.name.as_deref().unwrap_or("")
                );
            }
        }
    }
    Ok(if hits.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The index's spelling of what the user typed: `file:hashes.MD5` and `file:hashes.'MD5'` are the same
/// path (the pattern parser says how the index writes it), and the value in its normal form.
fn lookup_key(observable_type: &str, value: &str) -> anyhow::Result<(String, String)> {
    let observable_type = observable_type.trim();
    let value = value.trim();
    let Some((object_type, _)) = observable_type.split_once(':') else {
        // A bare type: any of its properties. The value normal form of `value` applies to most lookups.
        let normal = crate::stix::observable::normalize_value(observable_type, "value", value);
        return Ok((observable_type.to_owned(), normal));
    };
    let parsed = crate::stix::pattern::parse(&format!("[{observable_type} = 'x']"))
        .map_err(|e| anyhow::anyhow!("{observable_type:?} is not a STIX object path: {e}"))?;
    let path = parsed
        .comparisons()
        .first()
        .map(|c| c.path.property_path())
        .unwrap_or_default();
    let normal = crate::stix::observable::normalize_value(object_type, &path, value);
    Ok((format!("{object_type}:{path}"), normal))
}

#[derive(Debug, Serialize)]
struct Neighbourhood {
    root: String,
    depth: usize,
    nodes: Vec<crate::store::ObjectSummary>,
    edges: Vec<crate::store::Edge>,
}

/// `context ID`: the object's neighbourhood over current relationships, `depth` hops out.
pub async fn context(
    settings: &Settings,
    id: &str,
    depth: usize,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    let mut seen: Vec<String> = vec![id.to_owned()];
    let mut frontier = seen.clone();
    let mut edges: Vec<crate::store::Edge> = Vec::new();
    for _ in 0..depth {
        let mut next = Vec::new();
        for edge in store.edges_of(&frontier).await? {
            for end in [&edge.source_ref, &edge.target_ref] {
                if !seen.contains(end) {
                    seen.push(end.clone());
                    next.push(end.clone());
                }
            }
            if !edges.iter().any(|e| e.id == edge.id) {
                edges.push(edge);
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    let nodes = store.summaries(&seen).await?;
    if !nodes.iter().any(|n| n.id == id) {
        eprintln!("taxii-relay: {id} is not in the store");
        return Ok(ExitCode::from(1));
    }
    let found = Neighbourhood {
        root: id.to_owned(),
        depth,
        nodes,
        edges,
    };
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&found)?),
        Format::Text => print!("{}", neighbourhood_text(&found)),
    }
    Ok(ExitCode::SUCCESS)
}

fn neighbourhood_text(found: &Neighbourhood) -> String {
    let label = |id: &str| match found.nodes.iter().find(|n| n.id == id) {
        Some(n) => match &n.name {
            Some(name) => format!("{} \"{name}\" ({id})", n.object_type),
            None => id.to_owned(),
        },
        None => format!("{id} (not stored)"),
    };
    let mut out = String::new();
    let root = found.nodes.iter().find(|n| n.id == found.root);
    let _ = writeln!(
        out,
        "{}  tlp:{}  collection:{}",
        label(&found.root),
        root.and_then(|n| n.tlp.as_deref()).unwrap_or("-"),
        root.map(|n| n.collection.as_str()).unwrap_or("-")
    );
    for edge in &found.edges {
        let _ = writeln!(
            out,
            "  {} --{}--> {}",
            label(&edge.source_ref),
            edge.relationship_type,
            label(&edge.target_ref)
        );
    }
    out
}

/// Output of `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ValidateFormat {
    Text,
    Jsonl,
}

/// One line of `validate --format jsonl` (DESIGN.md's contract).
#[derive(Debug, Serialize)]
struct ValidateLine<'a> {
    id: Option<&'a str>,
    #[serde(rename = "type")]
    object_type: Option<&'a str>,
    valid: bool,
    errors: &'a [crate::stix::Reason],
    warnings: &'a [crate::stix::Reason],
}

/// `validate FILE...|-`: offline STIX 2.1 validation (2.0 content is normalized first, as at ingest).
/// Exit 0 when every object of every input is valid, 1 otherwise (an input that is not JSON or not STIX is
/// one line with `"id": null`).
pub fn validate(inputs: &[PathBuf], format: ValidateFormat) -> anyhow::Result<ExitCode> {
    use crate::stix::{normalize, parse_content, validate::validate as check};
    use std::io::{Read, Write};
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut objects, mut invalid) = (0usize, 0usize);
    for input in inputs {
        let bytes = if input.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read standard input")?;
            bytes
        } else {
            std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?
        };
        let content = match parse_content(&bytes) {
            Ok(content) => content,
            Err(reason) => {
                invalid += 1;
                let errors = [reason];
                write_verdict(&mut out, format, input, None, None, &errors, &[])?;
                continue;
            }
        };
        let source_version = content.spec_version.as_deref().unwrap_or("2.1").to_owned();
        for mut object in content.objects {
            objects += 1;
            let mut errors = Vec::new();
            if normalize::is_stix_20(&object, &source_version) {
                if let Err(reason) = normalize::normalize_20(&mut object) {
                    errors.push(reason);
                }
            }
            let verdict = check(&object);
            errors.extend(verdict.errors);
            if !errors.is_empty() {
                invalid += 1;
            }
            let id = object.get("id").and_then(|v| v.as_str());
            let object_type = object.get("type").and_then(|v| v.as_str());
            write_verdict(
                &mut out,
                format,
                input,
                id,
                object_type,
                &errors,
                &verdict.warnings,
            )?;
        }
    }
    out.flush()?;
    if format == ValidateFormat::Text {
        eprintln!("{objects} objects, {invalid} invalid");
    }
    Ok(if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write_verdict(
    out: &mut impl std::io::Write,
    format: ValidateFormat,
    input: &std::path::Path,
    id: Option<&str>,
    object_type: Option<&str>,
    errors: &[crate::stix::Reason],
    warnings: &[crate::stix::Reason],
) -> std::io::Result<()> {
    match format {
        ValidateFormat::Jsonl => {
            let line = ValidateLine {
                id,
                object_type,
                valid: errors.is_empty(),
                errors,
                warnings,
            };
            serde_json::to_writer(&mut *out, &line)?;
            writeln!(out)
        }
        ValidateFormat::Text => {
            let what = match id {
                Some(id) => id.to_owned(),
                None => input.display().to_string(),
            };
            writeln!(
                out,
                "{} {what}",
                if errors.is_empty() {
                    "ok     "
                } else {
                    "INVALID"
                }
            )?;
            for (kind, reasons) in [("error", errors), ("warning", warnings)] {
                for r in reasons {
                    let at = if r.property.is_empty() {
                        String::new()
                    } else {
                        format!(" at {}", r.property)
                    };
                    writeln!(out, "  {kind} [{}]{at}: {}", r.code, r.message)?;
                }
            }
            Ok(())
        }
    }
}
