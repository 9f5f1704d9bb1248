//! One poll of a collection, page by page: 2.1 envelopes (`more`/`next`, or `added_after` from
//! `X-TAXII-Date-Added-Last` when `more` comes without `next`) and 2.0 bundles (`Range`/`Content-Range`).
//!
//! Every way a server can misbehave ends the poll with an error after the pages already returned, never
//! in a loop: a repeated `next`, `more` with neither `next` nor a date to page on, no progress, a page cap.

use super::client::{HttpResponse, TaxiiClient};
use super::time::{format_added_after, parse_lenient};
use super::{TaxiiError, MEDIA_STIX_20, MEDIA_TAXII_21};
use crate::config::TaxiiVersion;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashSet;
use url::Url;

/// A poll that has not ended after this many pages is a server bug, not a big collection.
pub const MAX_PAGES_PER_POLL: usize = 100_000;

/// Empty pages in a row that still say "more" before the poll gives up on the server.
pub const MAX_EMPTY_PAGES: usize = 10;

/// What to ask for.
#[derive(Debug, Clone)]
pub struct PollRequest {
    /// The collection URL, ending in `/`.
    pub collection_url: Url,
    pub version: TaxiiVersion,
    pub added_after: Option<DateTime<Utc>>,
    pub page_size: u32,
    /// `match[type]`; empty for all.
    pub types: Vec<String>,
}

/// One page as the server sent it.
#[derive(Debug, Clone)]
pub struct FetchedPage {
    pub objects: Vec<Value>,
    /// `X-TAXII-Date-Added-Last`, when present and readable.
    pub date_added_last: Option<DateTime<Utc>>,
    /// The HTTP `Date` header: the server's clock when it answered.
    pub server_date: Option<DateTime<Utc>>,
    /// No page follows this one in this poll.
    pub last: bool,
    /// "2.0" for bundles that declare it.
    pub spec_version: Option<String>,
}

enum State {
    V21 {
        added_after: Option<DateTime<Utc>>,
        next: Option<String>,
        seen_next: HashSet<String>,
    },
    V20 {
        start: u64,
    },
}

/// Iterates the pages of one poll: call [`Poll::next_page`] until it returns `Ok(None)`.
pub struct Poll {
    client: TaxiiClient,
    request: PollRequest,
    objects_url: Url,
    state: State,
    pages: usize,
    /// Empty pages in a row that said there was more.
    empty_pages: usize,
    done: bool,
    /// An error found while reading the last page, raised on the next call so that page is stored first.
    deferred_error: Option<TaxiiError>,
}

impl Poll {
    pub fn new(client: TaxiiClient, request: PollRequest) -> Result<Self, TaxiiError> {
        let objects_url = request
            .collection_url
            .join("objects/")
            .map_err(|e| TaxiiError::Setup(format!("bad collection URL: {e}")))?;
        let state = match request.version {
            TaxiiVersion::V21 => State::V21 {
                added_after: request.added_after,
                next: None,
                seen_next: HashSet::new(),
            },
            TaxiiVersion::V20 => State::V20 { start: 0 },
        };
        Ok(Poll {
            client,
            request,
            objects_url,
            state,
            pages: 0,
            empty_pages: 0,
            done: false,
            deferred_error: None,
        })
    }

    /// The next page, `Ok(None)` at the end of the poll.
    pub async fn next_page(&mut self) -> Result<Option<FetchedPage>, TaxiiError> {
        if let Some(error) = self.deferred_error.take() {
            self.done = true;
            return Err(error);
        }
        if self.done {
            return Ok(None);
        }
        self.pages += 1;
        if self.pages > MAX_PAGES_PER_POLL {
            self.done = true;
            return Err(
                self.paging_error(format!("more than {MAX_PAGES_PER_POLL} pages in one poll"))
            );
        }
        let page = match self.request.version {
            TaxiiVersion::V21 => self.next_page_21().await?,
            TaxiiVersion::V20 => self.next_page_20().await?,
        };
        if page.last {
            self.done = true;
        } else if page.objects.is_empty() {
            self.empty_pages += 1;
            if self.empty_pages >= MAX_EMPTY_PAGES && self.deferred_error.is_none() {
                self.deferred_error = Some(self.paging_error(format!(
                    "{MAX_EMPTY_PAGES} empty pages in a row, each saying there is more"
                )));
            }
        } else {
            self.empty_pages = 0;
        }
        Ok(Some(page))
    }

    fn paging_error(&self, message: String) -> TaxiiError {
        TaxiiError::Paging {
            url: self.objects_url.to_string(),
            message,
        }
    }

    fn url_with_filters(&self, added_after: Option<DateTime<Utc>>, next: Option<&str>) -> Url {
        let mut url = self.objects_url.clone();
        {
            let mut query = url.query_pairs_mut();
            if let Some(t) = added_after {
                query.append_pair("added_after", &format_added_after(t));
            }
            if self.request.version == TaxiiVersion::V21 {
                query.append_pair("limit", &self.request.page_size.to_string());
                if let Some(next) = next {
                    query.append_pair("next", next);
                }
            }
            if !self.request.types.is_empty() {
                query.append_pair("match[type]", &self.request.types.join(","));
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        url
    }

    async fn next_page_21(&mut self) -> Result<FetchedPage, TaxiiError> {
        let State::V21 {
            added_after, next, ..
        } = &self.state
        else {
            unreachable!("2.1 state")
        };
        let url = self.url_with_filters(*added_after, next.as_deref());
        let (envelope, response) = self
            .client
            .get(&url, MEDIA_TAXII_21, &[], |response| {
                let envelope = parse_envelope(&response)?;
                Ok((envelope, response))
            })
            .await?;
        let date_added_last = date_header(&response, "x-taxii-date-added-last");
        let page = FetchedPage {
            objects: envelope.objects,
            date_added_last,
            server_date: date_header(&response, "date"),
            last: !envelope.more,
            spec_version: None,
        };
        if envelope.more {
            let State::V21 {
                added_after,
                next,
                seen_next,
            } = &mut self.state
            else {
                unreachable!("2.1 state")
            };
            match envelope.next {
                Some(token) => {
                    if !seen_next.insert(token.clone()) {
                        self.deferred_error = Some(TaxiiError::Paging {
                            url: url.to_string(),
                            message: format!("the server repeated the next token {token:?}"),
                        });
                    }
                    *next = Some(token);
                }
                // The spec's rule: page on with added_after = this page's X-TAXII-Date-Added-Last.
                None => match date_added_last {
                    Some(last) if added_after.is_none_or(|a| last > a) => {
                        *added_after = Some(last);
                        *next = None;
                    }
                    Some(_) => {
                        self.deferred_error = Some(TaxiiError::Paging {
                            url: url.to_string(),
                            message: "more=true without next, and X-TAXII-Date-Added-Last does not move forward".into(),
                        });
                    }
                    None => {
                        self.deferred_error = Some(TaxiiError::Paging {
                            url: url.to_string(),
                            message: "more=true without next and without a readable X-TAXII-Date-Added-Last: cannot page on".into(),
                        });
                    }
                },
            }
        }
        Ok(page)
    }

    async fn next_page_20(&mut self) -> Result<FetchedPage, TaxiiError> {
        let State::V20 { start } = self.state else {
            unreachable!("2.0 state")
        };
        let end = start + u64::from(self.request.page_size) - 1;
        let url = self.url_with_filters(self.request.added_after, None);
        let range = format!("items={start}-{end}");
        let (bundle, response) = self
            .client
            .get(&url, MEDIA_STIX_20, &[("Range", range)], |response| {
                if response.status == 416 {
                    return Ok((None, response));
                }
                let bundle = parse_bundle(&response)?;
                Ok((Some(bundle), response))
            })
            .await?;
        let server_date = date_header(&response, "date");
        let Some((objects, spec_version)) = bundle else {
            // 416: past the end.
            return Ok(FetchedPage {
                objects: Vec::new(),
                date_added_last: None,
                server_date,
                last: true,
                spec_version: None,
            });
        };
        let count = objects.len() as u64;
        let content_range = response
            .header("content-range")
            .and_then(parse_content_range);
        // Page on from what the server says it sent, else from what it did send.
        let next_start = match content_range {
            Some((_, range_end, _)) if range_end + 1 > start => range_end + 1,
            _ => start + count,
        };
        // The end: a 200 (Range ignored, everything sent), an empty page, the total reached, or a 206 for a
        // range other than the one asked (a server that ignores Range: paging on would loop).
        let last = response.status == 200
            || count == 0
            || matches!(content_range, Some((range_start, _, _)) if range_start != start)
            || matches!(content_range, Some((_, _, Some(total))) if next_start >= total);
        self.state = State::V20 { start: next_start };
        Ok(FetchedPage {
            objects,
            date_added_last: date_header(&response, "x-taxii-date-added-last"),
            server_date,
            last,
            spec_version,
        })
    }
}

fn date_header(response: &HttpResponse, name: &str) -> Option<DateTime<Utc>> {
    response.header(name).and_then(parse_lenient)
}

struct Envelope {
    more: bool,
    next: Option<String>,
    objects: Vec<Value>,
}

/// A 2.1 envelope: every member optional (`{}` is an empty last page), `more` absent means false.
fn parse_envelope(response: &HttpResponse) -> Result<Envelope, TaxiiError> {
    let invalid = |message: String| TaxiiError::InvalidResponse {
        url: response.url.to_string(),
        message,
        raw: response.body.clone(),
    };
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Envelope {
            more: false,
            next: None,
            objects: Vec::new(),
        });
    }
    let value: Value =
        crate::stix::parse_json(&response.body).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let Value::Object(mut map) = value else {
        return Err(invalid("the envelope is not a JSON object".into()));
    };
    let more = match map.get("more") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(invalid(format!("`more` must be a boolean, got {other}"))),
    };
    let next = match map.get("next") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        // Some servers send numeric offsets.
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => return Err(invalid(format!("`next` must be a string, got {other}"))),
    };
    let objects = match map.remove("objects") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(objects)) => objects,
        Some(_) => return Err(invalid("`objects` must be an array".into())),
    };
    Ok(Envelope {
        more,
        next,
        objects,
    })
}

/// A 2.0 bundle's objects and declared spec_version.
fn parse_bundle(response: &HttpResponse) -> Result<(Vec<Value>, Option<String>), TaxiiError> {
    let invalid = |message: String| TaxiiError::InvalidResponse {
        url: response.url.to_string(),
        message,
        raw: response.body.clone(),
    };
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok((Vec::new(), None));
    }
    let content = crate::stix::parse_content(&response.body).map_err(|r| invalid(r.message))?;
    Ok((content.objects, content.spec_version))
}

/// `items 0-99/1000` or `items 0-99/*` → (start, end, total).
fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("items")?.trim();
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.trim().split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start.trim().parse().ok()?, end.trim().parse().ok()?, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: &str) -> HttpResponse {
        HttpResponse {
            url: Url::parse("http://127.0.0.1/api1/collections/x/objects/").unwrap(),
            status: 200,
            headers: Default::default(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn envelopes_with_members_missing() {
        let e = parse_envelope(&response("{}")).unwrap();
        assert!(!e.more && e.next.is_none() && e.objects.is_empty());
        let e = parse_envelope(&response(r#"{"objects": [{"type": "x"}]}"#)).unwrap();
        assert!(!e.more);
        assert_eq!(e.objects.len(), 1);
        let e = parse_envelope(&response(r#"{"more": true, "next": 10}"#)).unwrap();
        assert_eq!(e.next.as_deref(), Some("10"));
        assert!(parse_envelope(&response(r#"{"more": true, "objects": [{"#)).is_err());
        assert!(parse_envelope(&response("")).unwrap().objects.is_empty());
    }

    #[test]
    fn content_ranges() {
        assert_eq!(
            parse_content_range("items 0-99/1000"),
            Some((0, 99, Some(1000)))
        );
        assert_eq!(
            parse_content_range("items 100-149/*"),
            Some((100, 149, None))
        );
        assert_eq!(parse_content_range("items */1000"), None);
        assert_eq!(parse_content_range("bytes 0-1/2"), None);
    }
}
