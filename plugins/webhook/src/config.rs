//! The `webhook` stage's configuration: where notifications go, how they look, and which
//! events send one. Validation collects every problem with its path (a bad placeholder at
//! `template.blocks[0].text`, a bad condition at `only[1].field`); whether the URL's host is
//! granted is the host's answer when a request goes out (it cannot be asked in `init`).
//!
//! ```toml
//! [sinks.slack]
//! plugin = "webhook"
//! inputs = ["tasks"]
//! # The URL's host, with its port unless it is the scheme's default.
//! grants = [{ http = ["hooks.slack.com"] }]
//!
//! [sinks.slack.config]
//! # Where to send, `http://` or `https://`. Required. Credentials go in `headers`, not here.
//! url = "https://hooks.slack.com/services/T000/B000/XXXX"
//! # The HTTP method. Default `POST`.
//! method = "POST"
//! # Sent with every request; `content-type` defaults to `application/json`, and
//! # `idempotency-key` to the event's id (the same on every attempt). Default none.
//! headers = { Authorization = "Bearer s3cr3t" }
//! # Only these events are sent: any condition that holds selects the event. Paths as in
//! # templates; the value is compared as text. Default: every event.
//! only = [
//!     { field = "kind", equals = "deployment.finished" },
//!     { field = "payload.to", equals = "ERROR" },
//! ]
//!
//! # The JSON body; `{{path}}` in string values is replaced by the event's value (`kind`,
//! # `subject`, `id`, `time`, `source`, `payload.<field>...`, `attributes.<name>`), missing
//! # values by nothing. Default: `{ text = "<a sentence per kind>" }`, a Slack message.
//! [sinks.slack.config.template]
//! text = "{{kind}} {{subject}}: {{payload.result}}"
//! ```
//!
//! Only `url` is required: `config = { url = "..." }` posts the default Slack message for every
//! event.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use trackway_plugin_sdk::Error;
use trackway_plugin_sdk::config::{self, Problems};

use crate::condition::Condition;
use crate::template::{Path, Template};

/// The longest method name accepted: longer than any registered one, short enough to rule out
/// a pasted value.
const MAX_METHOD_LEN: usize = 20;

/// Headers the host's HTTP client sets from the request itself; setting them by hand could only
/// make the request wrong.
const RESERVED_HEADERS: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where requests go: an `http://` or `https://` URL.
    pub url: String,
    /// The HTTP method, in upper case.
    pub method: String,
    /// The headers of every request, `content-type` included.
    pub headers: Vec<(String, String)>,
    /// How an event becomes a body.
    pub body: Body,
    /// Which events are sent; `None` for all.
    pub only: Option<Vec<Condition>>,
}

/// How an event becomes a request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// The Slack message of [`crate::template::default_body`].
    Default,
    /// The configured template.
    Template(Template),
}

/// The configuration as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    url: String,
    #[serde(default = "default_method")]
    method: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    template: Option<Value>,
    #[serde(default)]
    only: Option<Vec<RawCondition>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    field: String,
    equals: String,
}

fn default_method() -> String {
    "POST".to_owned()
}

impl Config {
    /// Parse and validate the JSON `config` given to `init`, reporting every problem.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let raw: Raw = config::parse(json)?;
        let mut problems = Problems::new();
        if let Err(message) = check_url(&raw.url) {
            problems.push("url", message);
        }
        let method = raw.method.to_ascii_uppercase();
        if method.is_empty()
            || method.len() > MAX_METHOD_LEN
            || !method.bytes().all(|byte| byte.is_ascii_uppercase())
        {
            problems.push(
                "method",
                format!("`{}` is not an HTTP method such as `POST`", raw.method),
            );
        }
        let mut headers = Vec::with_capacity(raw.headers.len() + 1);
        for (name, value) in raw.headers {
            let path = format!("headers.{name}");
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                problems.push(path, format!("`{name}` is not a valid header name"));
            } else if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                problems.push(
                    path,
                    format!("`{name}` is set by the host from the request"),
                );
            } else if value.chars().any(|c| c.is_control() && c != '\t') {
                problems.push(path, "must not contain line breaks or control characters");
            } else {
                headers.push((name, value));
            }
        }
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
        }
        let body = match &raw.template {
            Some(template) => Body::Template(Template::parse(template, "template", &mut problems)),
            None => Body::Default,
        };
        let only = match raw.only {
            None => None,
            Some(conditions) if conditions.is_empty() => {
                problems.push(
                    "only",
                    "must list at least one condition: remove it to send every event",
                );
                None
            }
            Some(conditions) => Some(
                conditions
                    .into_iter()
                    .enumerate()
                    .filter_map(|(index, condition)| match Path::parse(&condition.field) {
                        Ok(path) => Some(Condition {
                            path,
                            equals: condition.equals,
                        }),
                        Err(message) => {
                            problems.push(format!("only[{index}].field"), message);
                            None
                        }
                    })
                    .collect(),
            ),
        };
        problems.finish(Config {
            url: raw.url,
            method,
            headers,
            body,
            only,
        })
    }
}

/// Why `url` cannot be sent to, if it cannot: the host parses it again and checks its host
/// against the grants, but only once an event is sent, while a typo should fail `trackway
/// validate`. The messages never repeat the URL: many webhook URLs carry their secret.
fn check_url(url: &str) -> Result<(), String> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain white space".to_owned());
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("must be an absolute URL starting with `https://` or `http://`".to_owned());
    };
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return Err(format!(
            "scheme `{scheme}` is not supported: use `https://` or `http://`"
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(
            "must not contain credentials: send them in `headers` (e.g. `Authorization`), \
             which stay out of error messages"
                .to_owned(),
        );
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((address, after)) = v6.split_once(']') else {
            return Err("has an IPv6 host without its closing `]`".to_owned());
        };
        if address.is_empty()
            || !address
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(format!("`[{address}]` is not an IPv6 address"));
        }
        match after {
            "" => (address, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (address, Some(port)),
                None => return Err("has text after its IPv6 host".to_owned()),
            },
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("has no host".to_owned());
    }
    if !authority.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '%'))
    {
        return Err(format!("`{host}` is not a host name"));
    }
    if let Some(port) = port
        && !port.parse::<u16>().is_ok_and(|port| port > 0)
    {
        return Err(format!("port `{port}` is not a number from 1 to 65535"));
    }
    Ok(())
}

/// Whether `byte` may appear in a header name (an RFC 9110 token).
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use trackway_plugin_sdk::ConfigProblem;

    use super::*;

    const URL: &str = "https://hooks.slack.com/services/T000/B000/XXXX";

    fn problems(json: &str) -> Vec<ConfigProblem> {
        config::expect_problems(Config::parse(json))
    }

    fn paths(json: &str) -> Vec<String> {
        config::expect_paths(Config::parse(json))
    }

    #[test]
    fn only_the_url_is_required() {
        assert_eq!(
            Config::parse(&json!({"url": URL}).to_string()),
            Ok(Config {
                url: URL.into(),
                method: "POST".into(),
                headers: vec![("content-type".into(), "application/json".into())],
                body: Body::Default,
                only: None,
            })
        );
        assert_eq!(paths("{}"), ["url"]);
        assert_eq!(paths(""), ["url"]);
    }

    #[test]
    fn parses_every_option() {
        let config = Config::parse(
            &json!({
                "url": "http://127.0.0.1:9000/hook?x=1",
                "method": "put",
                "headers": {"Authorization": "Bearer t", "Content-Type": "application/vnd.x+json"},
                "template": {"text": "{{kind}}"},
                "only": [{"field": "payload.to", "equals": "ERROR"}],
            })
            .to_string(),
        )
        .expect("valid");
        assert_eq!(config.method, "PUT");
        assert_eq!(
            config.headers,
            [
                ("Authorization".to_owned(), "Bearer t".to_owned()),
                (
                    "Content-Type".to_owned(),
                    "application/vnd.x+json".to_owned()
                ),
            ]
        );
        assert!(matches!(config.body, Body::Template(_)));
        assert_eq!(
            config.only,
            Some(vec![Condition {
                path: Path::Payload(vec!["to".into()]),
                equals: "ERROR".into(),
            }])
        );
    }

    #[test]
    fn urls() {
        let valid = [
            URL,
            "http://127.0.0.1:9000/hook",
            "HTTPS://example.com",
            "https://example.com?x=1#frag",
            "http://[::1]:9000/x",
            "http://[::1]/x",
            "https://bücher.example/x",
            "http://localhost:65535",
        ];
        for url in valid {
            assert_eq!(check_url(url), Ok(()), "{url}");
        }
        let invalid = [
            (
                "",
                "must be an absolute URL starting with `https://` or `http://`",
            ),
            (
                "hooks.slack.com/x",
                "must be an absolute URL starting with `https://` or `http://`",
            ),
            (
                "ftp://example.com",
                "scheme `ftp` is not supported: use `https://` or `http://`",
            ),
            ("https://", "has no host"),
            ("https:///path", "has no host"),
            ("https://:443/x", "has no host"),
            ("https://exa mple.com", "must not contain white space"),
            ("https://example.com/\n", "must not contain white space"),
            ("https://ex<ample.com/", "`ex<ample.com` is not a host name"),
            (
                "http://example.com:0/",
                "port `0` is not a number from 1 to 65535",
            ),
            (
                "http://example.com:99999/",
                "port `99999` is not a number from 1 to 65535",
            ),
            (
                "http://example.com:/",
                "port `` is not a number from 1 to 65535",
            ),
            ("http://[::1/x", "has an IPv6 host without its closing `]`"),
            ("http://[zz]/x", "`[zz]` is not an IPv6 address"),
            ("http://[::1]x/", "has text after its IPv6 host"),
        ];
        for (url, message) in invalid {
            assert_eq!(check_url(url), Err(message.to_owned()), "{url:?}");
        }
        let secret = check_url("https://user:secret@example.com/x").expect_err("credentials");
        assert!(!secret.contains("secret"), "{secret}");
    }

    #[test]
    fn rejects_bad_configs_with_paths() {
        assert_eq!(
            problems(&json!({"url": URL, "method": "PO ST"}).to_string()),
            vec![ConfigProblem {
                path: "method".into(),
                message: "`PO ST` is not an HTTP method such as `POST`".into(),
            }]
        );
        assert_eq!(
            problems(&json!({"url": URL, "only": []}).to_string()),
            vec![ConfigProblem {
                path: "only".into(),
                message: "must list at least one condition: remove it to send every event".into(),
            }]
        );
        assert_eq!(
            paths(
                &json!({
                    "url": "ftp://x",
                    "method": "",
                    "headers": {"Bad Name": "x", "Host": "y", "X-Ok": "a\nb", "X-Fine": "v"},
                    "template": {"text": "{{nope}}"},
                    "only": [
                        {"field": "kind", "equals": "x"},
                        {"field": "payload", "equals": "x"},
                        {"field": "org", "equals": "x"},
                    ],
                })
                .to_string()
            ),
            [
                "url",
                "method",
                "headers.Bad Name",
                "headers.Host",
                "headers.X-Ok",
                "template.text",
                "only[2].field",
            ]
        );
        assert_eq!(
            paths(&json!({"url": URL, "only": [{"field": "kind"}]}).to_string()),
            ["only[0].equals"]
        );
        assert_eq!(
            paths(&json!({"url": URL, "only": [{"field": "kind", "equals": 3}]}).to_string()),
            ["only[0].equals"]
        );
        assert_eq!(
            paths(&json!({"url": URL, "headers": {"X-N": 1}}).to_string()),
            ["headers.X-N"]
        );
        assert_eq!(
            paths(&json!({"url": URL, "templates": {}}).to_string()),
            ["templates"]
        );
    }
}
