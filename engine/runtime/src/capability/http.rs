//! `http`: outbound requests to granted hosts, through one shared client.

use std::time::Duration;

use super::{budget, dry_run, permanent, retryable, within};
use crate::bindings::{http as wit, types};
use crate::host::HostState;

/// The most of a response body handed to the plugin: an answer to a webhook is a status line
/// and a short text; a megabyte is plenty and bounds what a misbehaving server can make us hold.
const MAX_BODY: usize = 1024 * 1024;

/// The shared client: keeps connections alive per host, follows no redirect (a redirect could
/// lead to a host that is not granted).
pub(super) struct Client {
    client: reqwest::Client,
}

impl Client {
    pub(super) fn new() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("trackway/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client with static settings builds");
        Self { client }
    }
}

/// Whether `url` is allowed by `granted` hosts: `host` allows the scheme's default port only,
/// `host:port` that port.
fn allowed(url: &reqwest::Url, granted: &[String]) -> bool {
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return false;
    };
    let default = match url.scheme() {
        "http" => 80,
        "https" => 443,
        _ => return false,
    };
    granted.iter().any(|entry| {
        let (entry_host, entry_port) = split_host_port(entry);
        entry_host.eq_ignore_ascii_case(host) && entry_port.unwrap_or(default) == port
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port` as (host as a URL writes it, port).
fn split_host_port(entry: &str) -> (&str, Option<u16>) {
    if let Some((v6, after)) = entry.split_once(']') {
        let host = &entry[..v6.len() + 1];
        return (host, after.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match entry.split_once(':') {
        Some((host, port)) => (host, port.parse().ok()),
        None => (entry, None),
    }
}

impl wit::Host for HostState {
    async fn send(&mut self, request: wit::Request) -> Result<wit::Response, types::Error> {
        // Messages name the URL's origin only: a webhook URL's path is often its secret (Slack's
        // is), and errors end up in logs and in the dead-letter queue.
        let url = reqwest::Url::parse(&request.url)
            .map_err(|e| permanent(format!("invalid URL: {e}")))?;
        let origin = url.origin().ascii_serialization();
        if !matches!(url.scheme(), "http" | "https") {
            return Err(permanent(format!(
                "a URL of scheme `{}` is not http or https",
                url.scheme()
            )));
        }
        let granted = self
            .grants
            .get("http")
            .map(Vec::as_slice)
            .unwrap_or_default();
        if !allowed(&url, granted) {
            return Err(permanent(format!(
                "host `{}` of `{origin}` is not granted to this stage (granted: {})",
                url.host_str().unwrap_or_default(),
                if granted.is_empty() {
                    "none".to_owned()
                } else {
                    granted.join(", ")
                }
            )));
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| permanent(format!("invalid HTTP method `{}`", request.method)))?;
        if self.dry && !matches!(method, reqwest::Method::GET | reqwest::Method::HEAD) {
            return Err(dry_run(&format!("HTTP {method}")));
        }
        let mut builder = self.connections.http.client.request(method, url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let builder = builder.body(request.body);
        let what = format!("HTTP {origin}");
        within(budget(self.deadline), &what, async {
            let failed = |e: reqwest::Error| {
                let mut cause: &dyn std::error::Error = &e;
                while let Some(source) = cause.source() {
                    cause = source;
                }
                retryable(format!("{what}: {}", cause))
            };
            let mut response = builder.send().await.map_err(failed)?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(failed)? {
                let room = MAX_BODY - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= MAX_BODY {
                    break;
                }
            }
            Ok(wit::Response {
                status,
                headers,
                body,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> reqwest::Url {
        reqwest::Url::parse(text).unwrap()
    }

    #[test]
    fn hosts_are_allowed_with_their_ports() {
        let granted = vec!["hooks.slack.com".to_owned(), "127.0.0.1:9000".to_owned()];
        assert!(allowed(
            &url("https://hooks.slack.com/services/x"),
            &granted
        ));
        assert!(allowed(&url("http://hooks.slack.com/x"), &granted));
        assert!(!allowed(&url("https://hooks.slack.com:8443/x"), &granted));
        assert!(allowed(&url("http://127.0.0.1:9000/hook"), &granted));
        assert!(!allowed(&url("http://127.0.0.1:9001/hook"), &granted));
        assert!(!allowed(&url("http://127.0.0.1/hook"), &granted));
        assert!(!allowed(&url("https://evil.example/x"), &granted));
        assert!(!allowed(
            &url("https://hooks.slack.com.evil.example/x"),
            &granted
        ));
        let v6 = vec!["[::1]:9000".to_owned()];
        assert!(allowed(&url("http://[::1]:9000/x"), &v6));
        assert!(!allowed(&url("http://[::1]:9001/x"), &v6));
    }
}
