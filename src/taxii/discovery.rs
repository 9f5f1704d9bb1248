//! Server discovery: from a discovery URL (or an API root URL) to the API roots and their collections,
//! with the collection URLs a config needs.

use super::client::{HttpResponse, TaxiiClient};
use super::{TaxiiError, MEDIA_TAXII_20, MEDIA_TAXII_21};
use crate::config::{with_trailing_slash, TaxiiVersion};
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write as _;
use url::Url;

#[derive(Debug, Clone, Serialize)]
pub struct Discovery {
    pub url: String,
    pub taxii_version: &'static str,
    pub title: Option<String>,
    pub default: Option<String>,
    pub api_roots: Vec<ApiRoot>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiRoot {
    pub url: String,
    pub title: Option<String>,
    pub versions: Vec<String>,
    pub max_content_length: Option<u64>,
    pub collections: Vec<Collection>,
    /// Why this root's information is missing (e.g. HTTP 401 on a root our credentials do not open).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Collection {
    pub id: String,
    /// What goes into `[[collections]] url`.
    pub url: String,
    pub title: Option<String>,
    pub alias: Option<String>,
    pub can_read: bool,
    pub can_write: bool,
    pub media_types: Vec<String>,
}

fn parse_json(response: HttpResponse) -> Result<Value, TaxiiError> {
    serde_json::from_slice(&response.body).map_err(|e| TaxiiError::InvalidResponse {
        url: response.url.to_string(),
        message: format!("not JSON: {e}"),
        raw: response.body.clone(),
    })
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Discovers a TAXII server. `url` may be the discovery endpoint (`/taxii2/`, `/taxii/`) or an API root.
pub async fn discover(
    client: &TaxiiClient,
    url: &Url,
    version: TaxiiVersion,
) -> Result<Discovery, TaxiiError> {
    let url = with_trailing_slash(url);
    let accept = match version {
        TaxiiVersion::V21 => MEDIA_TAXII_21,
        TaxiiVersion::V20 => MEDIA_TAXII_20,
    };
    let doc = client.get(&url, accept, &[], parse_json).await?;
    let mut discovery = Discovery {
        url: url.to_string(),
        taxii_version: version.stix_version(),
        title: string(&doc, "title"),
        default: string(&doc, "default"),
        api_roots: Vec::new(),
    };
    let root_urls: Vec<Url> = match doc.get("api_roots").and_then(Value::as_array) {
        Some(roots) => roots
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|r| url.join(r).ok())
            .map(|u| with_trailing_slash(&u))
            .collect(),
        // Not a discovery document: treat the URL as an API root.
        None => vec![url.clone()],
    };
    for root_url in root_urls {
        let root = match api_root(client, &root_url, accept).await {
            Ok(root) => root,
            Err(e @ (TaxiiError::Unauthorized { .. } | TaxiiError::NotFound { .. })) => ApiRoot {
                url: root_url.to_string(),
                title: None,
                versions: Vec::new(),
                max_content_length: None,
                collections: Vec::new(),
                error: Some(e.to_string()),
            },
            Err(e) => return Err(e),
        };
        discovery.api_roots.push(root);
    }
    Ok(discovery)
}

async fn api_root(
    client: &TaxiiClient,
    root_url: &Url,
    accept: &str,
) -> Result<ApiRoot, TaxiiError> {
    let info = client.get(root_url, accept, &[], parse_json).await?;
    let collections_url = root_url
        .join("collections/")
        .map_err(|e| TaxiiError::Setup(e.to_string()))?;
    let list = client
        .get(&collections_url, accept, &[], parse_json)
        .await?;
    let collections = list
        .get("collections")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|c| {
                    let id = string(c, "id")?;
                    Some(Collection {
                        url: collections_url.join(&format!("{id}/")).ok()?.to_string(),
                        id,
                        title: string(c, "title"),
                        alias: string(c, "alias"),
                        can_read: c.get("can_read").and_then(Value::as_bool).unwrap_or(false),
                        can_write: c.get("can_write").and_then(Value::as_bool).unwrap_or(false),
                        media_types: c
                            .get("media_types")
                            .and_then(Value::as_array)
                            .map(|m| {
                                m.iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_owned)
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(ApiRoot {
        url: root_url.to_string(),
        title: string(&info, "title"),
        versions: info
            .get("versions")
            .and_then(Value::as_array)
            .map(|v| {
                v.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        max_content_length: info.get("max_content_length").and_then(Value::as_u64),
        collections,
        error: None,
    })
}

impl Discovery {
    /// The text form of `discover`: one line per API root and per collection.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "TAXII {} server {}{}",
            self.taxii_version,
            self.url,
            self.title
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default()
        );
        for root in &self.api_roots {
            let _ = writeln!(
                out,
                "api root {}{}",
                root.url,
                root.title
                    .as_deref()
                    .map(|t| format!(" ({t})"))
                    .unwrap_or_default()
            );
            if let Some(error) = &root.error {
                let _ = writeln!(out, "  error: {error}");
            }
            for c in &root.collections {
                let _ = writeln!(
                    out,
                    "  collection {}  can_read={} can_write={}  {}{}",
                    c.url,
                    c.can_read,
                    c.can_write,
                    c.title.as_deref().unwrap_or(""),
                    c.alias
                        .as_deref()
                        .map(|a| format!(" [{a}]"))
                        .unwrap_or_default()
                );
            }
        }
        out
    }
}
