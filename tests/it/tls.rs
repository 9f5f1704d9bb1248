//! The TAXII client's TLS options (`[collections.tls]`: `ca_file`, `client_cert_file`,
//! `client_key_file`) against a small in-process HTTPS TAXII 2.1 server.
//!
//! Each test generates its own PKI with rcgen (a test CA, a server certificate for `127.0.0.1` and
//! `localhost`, a client certificate from that CA, and a second, untrusted CA with a client
//! certificate of its own), writes it as PEM files into a temp dir, and serves one collection over
//! tokio-rustls + axum, either with server authentication only or requiring a client certificate
//! from the test CA (mTLS). Polls go through the real pipeline into SQLite.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use serde_json::{json, Value};
use taxii_relay::pipeline::scheduler::PollError;
use taxii_relay::taxii::TaxiiError;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::helpers::{Backend, TestDb};

const COLLECTION_ID: &str = "2d6d0a4c-6a0b-4d44-9f5b-6f3f0e7c9a11";
const MEDIA_TAXII_21: &str = "application/taxii+json;version=2.1";
const DATE_ADDED_LAST: &str = "2025-01-01T00:00:03.000Z";
/// How many indicators the server serves.
const OBJECTS: usize = 3;
/// A failed poll must end well within this.
const POLL_DEADLINE: Duration = Duration::from_secs(20);

// -------------------------------------------------------------------------------------------------
// Test PKI

/// A certificate and its key, as PEM files.
struct PemPair {
    cert_file: PathBuf,
    key_file: PathBuf,
}

/// The PKI of one test; the PEM files live as long as this.
struct Pki {
    _dir: tempfile::TempDir,
    /// The test CA's certificate (PEM): what `ca_file` points at.
    ca_file: PathBuf,
    /// A client certificate signed by the test CA.
    client: PemPair,
    /// A client certificate signed by a CA nobody trusts.
    untrusted_client: PemPair,
    ca_der: CertificateDer<'static>,
    server_cert: CertificateDer<'static>,
    server_key: PrivateKeyDer<'static>,
}

impl Pki {
    fn generate() -> Pki {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, pem: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).expect("write PEM file");
            path
        };

        let ca = certificate_authority("taxii-relay test CA");
        let (server_params, server_key) = leaf(
            "taxii-relay test server",
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let server_cert = server_params
            .signed_by(&server_key, &ca)
            .expect("sign the server certificate");

        let (client_params, client_key) =
            leaf("trusted client", &[], ExtendedKeyUsagePurpose::ClientAuth);
        let client_cert = client_params
            .signed_by(&client_key, &ca)
            .expect("sign the client certificate");

        let rogue_ca = certificate_authority("untrusted CA");
        let (rogue_params, rogue_key) =
            leaf("untrusted client", &[], ExtendedKeyUsagePurpose::ClientAuth);
        let rogue_cert = rogue_params
            .signed_by(&rogue_key, &rogue_ca)
            .expect("sign the untrusted client certificate");

        let ca_file = write("ca.pem", ca.pem());
        write("untrusted-ca.pem", rogue_ca.pem());
        write("server.pem", server_cert.pem());
        write("server-key.pem", server_key.serialize_pem());
        let client = PemPair {
            cert_file: write("client.pem", client_cert.pem()),
            key_file: write("client-key.pem", client_key.serialize_pem()),
        };
        let untrusted_client = PemPair {
            cert_file: write("untrusted-client.pem", rogue_cert.pem()),
            key_file: write("untrusted-client-key.pem", rogue_key.serialize_pem()),
        };

        Pki {
            ca_file,
            client,
            untrusted_client,
            ca_der: ca.der().clone(),
            server_cert: server_cert.der().clone(),
            server_key: PrivatePkcs8KeyDer::from(server_key.serialize_der()).into(),
            _dir: dir,
        }
    }
}

fn certificate_authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("CA key");
    CertifiedIssuer::self_signed(params, key).expect("self-sign the CA")
}

/// Parameters and a fresh key for an end-entity certificate.
fn leaf(
    name: &str,
    subject_alt_names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (CertificateParams, KeyPair) {
    let sans: Vec<String> = subject_alt_names.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(sans).expect("leaf params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    (params, KeyPair::generate().expect("leaf key"))
}

// -------------------------------------------------------------------------------------------------
// HTTPS TAXII server

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The server authenticates itself; any client may connect.
    ServerAuth,
    /// The client must present a certificate signed by the test CA.
    MutualTls,
}

/// What the server saw, shared with the test.
#[derive(Default)]
struct Counters {
    /// TLS handshakes that failed (the client gave up, or its certificate was refused).
    failed_handshakes: AtomicUsize,
    /// HTTP requests that reached the objects endpoint.
    objects_requests: AtomicUsize,
}

struct HttpsTaxiiServer {
    addr: SocketAddr,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl HttpsTaxiiServer {
    async fn start(pki: &Pki, mode: Mode) -> HttpsTaxiiServer {
        let tcp = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the HTTPS TAXII server");
        let addr = tcp.local_addr().expect("local address");
        let counters = Arc::new(Counters::default());
        let listener = TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(Arc::new(server_config(pki, mode))),
            counters: counters.clone(),
        };
        let app = Router::new()
            .route("/api1/collections/{id}/objects/", get(objects_endpoint))
            .with_state(counters.clone());
        let task = tokio::spawn(async move {
            // Returns only when the task is aborted.
            let _ = axum::serve(listener, app).await;
        });
        HttpsTaxiiServer {
            addr,
            counters,
            task,
        }
    }

    fn collection_url(&self, host: &str) -> String {
        format!(
            "https://{host}:{}/api1/collections/{COLLECTION_ID}/",
            self.addr.port()
        )
    }

    fn objects_requests(&self) -> usize {
        self.counters.objects_requests.load(Ordering::SeqCst)
    }

    /// The failed handshakes once `expected` of them are in (or after two seconds): the server may
    /// read the client's closing alert a moment after the client has given up.
    async fn failed_handshakes(&self, expected: usize) -> usize {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            let failed = self.counters.failed_handshakes.load(Ordering::SeqCst);
            if failed >= expected || tokio::time::Instant::now() >= deadline {
                // A little longer, so that one too many would show too.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return self.counters.failed_handshakes.load(Ordering::SeqCst);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for HttpsTaxiiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn server_config(pki: &Pki, mode: Mode) -> ServerConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions");
    let builder = match mode {
        Mode::ServerAuth => builder.with_no_client_auth(),
        Mode::MutualTls => {
            let mut roots = RootCertStore::empty();
            roots.add(pki.ca_der.clone()).expect("trust the test CA");
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(vec![pki.server_cert.clone()], pki.server_key.clone_key())
        .expect("server certificate and key");
    // axum is built with HTTP/1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// A TCP listener that hands axum only connections whose TLS handshake succeeded. A failed handshake
/// is counted, printed and skipped: the server keeps accepting.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    counters: Arc<Counters>,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.tcp.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    eprintln!("test HTTPS server: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let handshake = self.acceptor.accept(stream);
            match tokio::time::timeout(Duration::from_secs(5), handshake).await {
                Ok(Ok(tls)) => return (tls, addr),
                Ok(Err(e)) => {
                    self.counters
                        .failed_handshakes
                        .fetch_add(1, Ordering::SeqCst);
                    eprintln!("test HTTPS server: TLS handshake with {addr} failed: {e}");
                }
                Err(_) => {
                    self.counters
                        .failed_handshakes
                        .fetch_add(1, Ordering::SeqCst);
                    eprintln!("test HTTPS server: TLS handshake with {addr} timed out");
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// `GET /api1/collections/{id}/objects/`: one envelope with every object, whatever the filters.
async fn objects_endpoint(
    axum::extract::State(counters): axum::extract::State<Arc<Counters>>,
) -> impl IntoResponse {
    counters.objects_requests.fetch_add(1, Ordering::SeqCst);
    let objects: Vec<Value> = (0..OBJECTS).map(indicator).collect();
    let envelope = json!({ "more": false, "objects": objects });
    (
        [
            (header::CONTENT_TYPE.as_str(), MEDIA_TAXII_21),
            ("x-taxii-date-added-first", "2025-01-01T00:00:01.000Z"),
            ("x-taxii-date-added-last", DATE_ADDED_LAST),
        ],
        envelope.to_string(),
    )
}

fn indicator(n: usize) -> Value {
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--{n:08x}-1111-4000-8000-{n:012x}"),
        "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z",
        "name": format!("TLS test indicator {n}"),
        "pattern": format!("[ipv4-addr:value = '192.0.2.{n}']"),
        "pattern_type": "stix",
        "valid_from": "2025-01-01T00:00:00.000Z",
    })
}

// -------------------------------------------------------------------------------------------------
// Helpers

/// The `[collections.tls]` table (and quick, few retries) for a collection.
fn tls_toml(ca_file: Option<&PathBuf>, client: Option<&PemPair>) -> String {
    let mut toml = String::from("max_retries = 1\nconnect_timeout = \"2s\"\n[collections.tls]\n");
    if let Some(ca_file) = ca_file {
        toml.push_str(&format!("ca_file = \"{}\"\n", ca_file.display()));
    }
    if let Some(client) = client {
        toml.push_str(&format!(
            "client_cert_file = \"{}\"\nclient_key_file = \"{}\"\n",
            client.cert_file.display(),
            client.key_file.display()
        ));
    }
    toml
}

/// Polls once, failing the test instead of hanging if the poll does not end.
async fn poll(
    db: &TestDb,
    url: &str,
    extra_toml: &str,
) -> Result<taxii_relay::pipeline::scheduler::PollSummary, PollError> {
    let collection = db.collection("tls", url, extra_toml);
    tokio::time::timeout(POLL_DEADLINE, db.poll(&collection))
        .await
        .expect("the poll ends, retries or not")
}

/// The poll failed to connect; returns the message (printed, to see what a user would read).
fn connect_error(
    result: Result<taxii_relay::pipeline::scheduler::PollSummary, PollError>,
) -> String {
    match result {
        Err(PollError::Taxii(error @ TaxiiError::Tls { .. })) => {
            assert!(
                !error.is_retryable(),
                "a certificate failure is not retried"
            );
            error.to_string()
        }
        other => panic!("expected a TLS connection error, got {other:?}"),
    }
}

// -------------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn tls_ca_file_trusts_the_test_ca() {
    let pki = Pki::generate();
    let server = HttpsTaxiiServer::start(&pki, Mode::ServerAuth).await;
    let db = TestDb::new(Backend::Sqlite).await;

    // Both names the server certificate carries: an IP address SAN and a DNS SAN.
    for host in ["127.0.0.1", "localhost"] {
        let summary = poll(
            &db,
            &server.collection_url(host),
            &tls_toml(Some(&pki.ca_file), None),
        )
        .await
        .unwrap_or_else(|e| panic!("poll over https://{host} with ca_file: {e}"));
        assert_eq!(summary.objects, OBJECTS, "{host}");
    }
    assert_eq!(db.versions().await.len(), OBJECTS);
    assert_eq!(
        db.cursor("tls").await.map(|c| c.to_rfc3339()),
        Some("2025-01-01T00:00:03+00:00".to_owned())
    );
    assert_eq!(server.objects_requests(), 2);
    assert_eq!(server.failed_handshakes(0).await, 0);
}

#[tokio::test]
async fn tls_without_ca_file_the_server_is_not_trusted() {
    let pki = Pki::generate();
    let server = HttpsTaxiiServer::start(&pki, Mode::ServerAuth).await;
    let db = TestDb::new(Backend::Sqlite).await;

    let result = poll(
        &db,
        &server.collection_url("127.0.0.1"),
        &tls_toml(None, None),
    )
    .await;
    let message = connect_error(result);
    assert!(
        message.contains("certificate") && message.contains("UnknownIssuer"),
        "the error says the certificate is not trusted: {message}"
    );
    // Not retried: a certificate that is not trusted stays so (`max_retries = 1` is not used).
    assert_eq!(server.failed_handshakes(1).await, 1);
    assert_eq!(server.objects_requests(), 0);
    assert!(db.versions().await.is_empty());
}

#[tokio::test]
async fn tls_mtls_with_the_trusted_client_certificate() {
    let pki = Pki::generate();
    let server = HttpsTaxiiServer::start(&pki, Mode::MutualTls).await;
    let db = TestDb::new(Backend::Sqlite).await;

    let summary = poll(
        &db,
        &server.collection_url("localhost"),
        &tls_toml(Some(&pki.ca_file), Some(&pki.client)),
    )
    .await
    .expect("poll with a client certificate from the trusted CA");
    assert_eq!(summary.new, OBJECTS);
    assert_eq!(db.versions().await.len(), OBJECTS);
    assert_eq!(server.objects_requests(), 1);
    assert_eq!(server.failed_handshakes(0).await, 0);
}

#[tokio::test]
async fn tls_mtls_without_a_client_certificate_is_refused() {
    let pki = Pki::generate();
    let server = HttpsTaxiiServer::start(&pki, Mode::MutualTls).await;
    let db = TestDb::new(Backend::Sqlite).await;

    let result = poll(
        &db,
        &server.collection_url("127.0.0.1"),
        &tls_toml(Some(&pki.ca_file), None),
    )
    .await;
    let message = connect_error(result);
    assert!(
        message.contains("CertificateRequired"),
        "the error says a client certificate is required: {message}"
    );
    assert_eq!(server.failed_handshakes(1).await, 1);
    assert_eq!(server.objects_requests(), 0);
    assert!(db.versions().await.is_empty());
}

#[tokio::test]
async fn tls_mtls_with_an_untrusted_client_certificate_is_refused() {
    let pki = Pki::generate();
    let server = HttpsTaxiiServer::start(&pki, Mode::MutualTls).await;
    let db = TestDb::new(Backend::Sqlite).await;

    let result = poll(
        &db,
        &server.collection_url("127.0.0.1"),
        &tls_toml(Some(&pki.ca_file), Some(&pki.untrusted_client)),
    )
    .await;
    let message = connect_error(result);
    assert!(
        message.contains("UnknownCA"),
        "the error carries the server's alert, unknown CA: {message}"
    );
    assert_eq!(server.failed_handshakes(1).await, 1);
    assert_eq!(server.objects_requests(), 0);
    assert!(db.versions().await.is_empty());

    // The refused handshakes did not stop the server: the trusted client still gets in.
    let summary = poll(
        &db,
        &server.collection_url("127.0.0.1"),
        &tls_toml(Some(&pki.ca_file), Some(&pki.client)),
    )
    .await
    .expect("the server still accepts after failed handshakes");
    assert_eq!(summary.new, OBJECTS);
}
