//! Integration tests: one binary, shared helpers.
mod taxii_server;
