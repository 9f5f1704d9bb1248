//! What every HTTP client of the relay shares (the TAXII client, the sinks): rustls with the system's roots
//! plus an optional extra CA file, an optional client certificate (mTLS), the user agent, and error texts
//! that carry their causes.
//!
//! Owns: turning `[…tls]` settings into a `reqwest::ClientBuilder`. Must never: log, or read secrets.

use crate::config::TlsSettings;

/// A client builder with TLS set up from `tls`; callers add their timeouts and policies.
pub fn client_builder(tls: &TlsSettings) -> Result<reqwest::ClientBuilder, String> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .user_agent(concat!("taxii-relay/", env!("CARGO_PKG_VERSION")));
    if let Some(ca_file) = &tls.ca_file {
        let pem = std::fs::read(ca_file)
            .map_err(|e| format!("cannot read ca_file {}: {e}", ca_file.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            format!(
                "ca_file {} is not PEM: {}",
                ca_file.display(),
                error_chain(&e)
            )
        })?;
        // A DER file, a key or plain text parses as an empty bundle: say so rather than ignore it.
        if certs.is_empty() {
            return Err(format!(
                "ca_file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                ca_file.display()
            ));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let (Some(cert_file), Some(key_file)) = (&tls.client_cert_file, &tls.client_key_file) {
        let mut pem = std::fs::read(cert_file)
            .map_err(|e| format!("cannot read client_cert_file {}: {e}", cert_file.display()))?;
        let key = std::fs::read(key_file)
            .map_err(|e| format!("cannot read client_key_file {}: {e}", key_file.display()))?;
        pem.push(b'\n');
        pem.extend_from_slice(&key);
        let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
            format!(
                "client_cert_file {} with client_key_file {} is not a valid PEM certificate and key: {}",
                cert_file.display(),
                key_file.display(),
                error_chain(&e)
            )
        })?;
        builder = builder.identity(identity);
    }
    Ok(builder)
}

/// Follows redirects only within the same origin (scheme, host and port), at most 5: credentials in custom
/// headers (API keys) would otherwise go to another host, or in clear text after an https → http downgrade.
/// A redirect elsewhere is not followed; the 3xx answer reaches the caller, who reports it.
pub fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if attempt.previous().len() > 5 || !same_origin {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// The `Retry-After` of an answer: seconds, or an HTTP date (a date past is no wait).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<std::time::Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(std::time::Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// An error and its causes in one line. reqwest's own text says only "error sending request for url (…)"
/// (callers name the URL themselves), so that part is left out when causes follow.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let top = error.to_string();
    if !top.starts_with("error sending request") && !top.starts_with("error decoding response body")
    {
        parts.push(top);
    }
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        parts.push(error.to_string());
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        let mut with = |value: &str| {
            headers.insert(reqwest::header::RETRY_AFTER, value.parse().unwrap());
            retry_after(&headers)
        };
        assert_eq!(with("7"), Some(std::time::Duration::from_secs(7)));
        assert_eq!(
            with("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(std::time::Duration::ZERO)
        );
        assert_eq!(with("soon"), None);
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let path = std::env::temp_dir().join(format!("taxii-relay-ca-{}", std::process::id()));
        std::fs::write(
            &path,
            "-----BEGIN PRIVATE KEY-----\nMC4CAQA=\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let tls = TlsSettings {
            ca_file: Some(path.clone()),
            ..Default::default()
        };
        let error = client_builder(&tls).expect_err("refused");
        std::fs::remove_file(&path).unwrap();
        assert!(error.contains("holds no PEM certificate"), "{error}");
    }
}
