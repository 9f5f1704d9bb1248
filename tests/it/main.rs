//! Integration tests: one binary, shared helpers, an in-process TAXII server, real SQLite and PostgreSQL.
mod cli;
mod config;
mod conformance;
mod delivery;
mod field_failures;
mod helpers;
mod hostile_servers;
mod polling;
mod queries;
mod splunk_fake;
mod splunk_hec;
mod taxii_server;
mod tls;
