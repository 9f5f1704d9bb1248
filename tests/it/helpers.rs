//! Shared test helpers: a fresh database per test (a SQLite file in a temp dir, or a PostgreSQL schema of its
//! own), config files written for the fixture, and one-call polls through the real pipeline.

use std::path::{Path, PathBuf};
use std::process::Output;
use taxii_relay::config::{self, CollectionSettings, ConfigSource, Settings};
use taxii_relay::pipeline::scheduler::{CollectionPoller, PollError, PollSummary};
use taxii_relay::pipeline::{stages, CancellationToken};
use taxii_relay::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of its own for one test.
pub struct TestDb {
    pub url: String,
    pub store: Store,
    /// Holds the SQLite file (and config files) until the test ends.
    pub dir: tempfile::TempDir,
}

fn postgres_base_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into())
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("relay.db").display()),
            Backend::Postgres => {
                let base = postgres_base_url();
                let store = Store::connect(&base, 1).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is needed for this test and is unreachable at {base} ({e}); \
                         start it or set TEST_DATABASE_URL"
                    )
                });
                let schema = format!("t_{}", random_suffix());
                let Store::Postgres(pg) = &store else {
                    unreachable!()
                };
                sqlx::query(&format!("CREATE SCHEMA {schema}"))
                    .execute(pg.pool())
                    .await
                    .expect("create schema");
                let separator = if base.contains('?') { '&' } else { '?' };
                format!("{base}{separator}options=-c%20search_path%3D{schema}")
            }
        };
        let store = Store::connect(&url, 4).await.expect("connect");
        store.migrate().await.expect("migrate");
        TestDb { url, store, dir }
    }

    /// Writes a config file holding `[store]` for this database plus `rest`, and returns its path.
    pub fn write_config(&self, rest: &str) -> PathBuf {
        let path = self
            .dir
            .path()
            .join(format!("relay-{}.toml", random_suffix()));
        let text = format!(
            "shutdown_timeout = \"10s\"\n[store]\nurl = \"{}\"\n[log]\nformat = \"json\"\nlevel = \"info\"\n{rest}",
            self.url
        );
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// Loads a config written by [`TestDb::write_config`].
    pub fn settings(&self, rest: &str) -> Settings {
        let path = self.write_config(rest);
        config::load_with_env(&ConfigSource::File(path), vec![]).expect("valid test config")
    }

    /// One collection's settings for `url`, with quick retries; `extra` adds keys to the collection table.
    pub fn collection(&self, name: &str, url: &str, extra: &str) -> CollectionSettings {
        let settings = self.settings(&collection_toml(name, url, extra));
        settings
            .collections
            .into_iter()
            .next()
            .expect("one collection")
    }

    /// Polls once through the real stages, as `run --once` does for one collection.
    pub async fn poll(&self, collection: &CollectionSettings) -> Result<PollSummary, PollError> {
        let (pages, done) = stages::start(self.store.clone(), stages::Routing::default());
        let poller =
            CollectionPoller::new(collection.clone(), self.store.clone(), pages).expect("poller");
        let result = poller.poll_and_record(&CancellationToken::new()).await;
        drop(poller);
        done.await.expect("stages end");
        result
    }

    pub async fn versions(&self) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
        self.store.object_versions().await.expect("versions")
    }

    pub async fn cursor(&self, collection: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        self.store.cursor(collection).await.expect("cursor")
    }
}

/// A `[[collections]]` table with test-friendly retries (milliseconds, not seconds); `extra` lines win
/// over these defaults.
pub fn collection_toml(name: &str, url: &str, extra: &str) -> String {
    let defaults = [
        ("page_size", "100"),
        ("retry_backoff", "\"10ms\""),
        ("retry_backoff_max", "\"100ms\""),
        ("max_retries", "6"),
        ("read_timeout", "\"2s\""),
    ];
    let mut table = format!("[[collections]]\nname = \"{name}\"\nurl = \"{url}\"\n");
    for (key, value) in defaults {
        if !extra
            .lines()
            .any(|l| l.trim_start().starts_with(&format!("{key} ")))
        {
            table.push_str(&format!("{key} = {value}\n"));
        }
    }
    format!("{table}{extra}\n")
}

pub fn random_suffix() -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

/// Runs the real binary with a config file and arguments, without blocking the runtime that serves the
/// test's fixtures.
pub async fn relay(config: &Path, args: &[&str]) -> Output {
    relay_command(config, args)
        .output()
        .await
        .expect("run taxii-relay")
}

pub fn relay_command(config: &Path, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_taxii-relay"));
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("TAXII_RELAY_CONFIG")
        .env_remove("RUST_LOG")
        .kill_on_drop(true);
    command
}

/// The JSON log events a run printed on stderr.
pub fn log_events(output: &Output) -> Vec<serde_json::Value> {
    stderr(output)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}
