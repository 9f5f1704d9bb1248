//! taxii-relay: polls TAXII 2.1/2.0 collections, checks the STIX it receives, keeps it in a database with
//! a persisted cursor per collection, and delivers it to the platforms a SOC works in, TLP enforced.
//!
//! The modules follow the pipeline, and dependencies point inward:
//!
//! - [`config`]: the TOML file and environment overrides, validated without I/O beyond reading secrets.
//! - [`stix`]: the STIX object model the relay needs (identity, version key, bundles). No HTTP, no SQL.
//! - [`taxii`]: the TAXII 2.1/2.0 client: discovery, object pages, paging, auth, TLS, retries.
//! - [`store`]: the database (PostgreSQL or SQLite): migrations, one transaction per page (objects, indexes,
//!   outbox rows, cursor), outbox claims for the sink workers.
//! - [`sinks`]: one folder per platform (file, Splunk HEC): native form, client, answer classification.
//! - [`pipeline`]: wires the stages: scheduler per collection → validation → store → sink workers, and
//!   shutdown.
//! - [`http`]: the HTTP client setup (TLS, client certificates) the TAXII client and the sinks share.
//! - [`telemetry`]: logging setup and the names of the fields every event uses.
//! - [`commands`]: one function per CLI command; `main.rs` only parses arguments and calls these.

pub mod commands;
pub mod config;
pub mod http;
pub mod pipeline;
pub mod sinks;
pub mod stix;
pub mod store;
pub mod taxii;
pub mod telemetry;
