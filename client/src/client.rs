//! [`Client`]: one method per route, each sending the API key, turning error answers into
//! [`Error::Http`] and success answers into the typed structs of [`crate::task`].
//!
//! It owns the URL layout and the headers; the shapes of bodies are in [`crate::task`] and
//! [`crate::event`].

use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::{Method, RequestBuilder, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::dlq::DeadLetter;
use crate::error::Error;
use crate::event::EventInput;
use crate::task::{AckId, NewTask, Notify, Report, TaskDetail, TaskId, TaskRef, TaskStatus};

/// How long to wait for a connection. A job's last step should not hang on an unreachable
/// trackway, yet a server that is restarting or a slow network deserves more than a second.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole request may take. Listing and reporting evaluate every task of the org
/// through its `tasks` pipeline, which stays far below this for thousands of tasks; past it,
/// something is wrong and the caller learns it rather than waiting forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A client of one trackway server, acting with one API key (or none, for an open org).
///
/// Cheap to clone: clones share the connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    /// Marked sensitive, so `Debug` never shows it.
    api_key: Option<HeaderValue>,
}

impl Client {
    /// A client of the trackway at `base_url` (`http://127.0.0.1:8080`; a path prefix such as
    /// `http://host/trackway/` is kept), sending `api_key` as `X-API-KEY`. Without a key, the
    /// server acts on its open `default` org, if it has one.
    ///
    /// Fails if the URL is not `http(s)://host...` or the key cannot be a header value; sends
    /// nothing.
    pub fn new(base_url: &str, api_key: Option<String>) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("trackway-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(Error::Transport)?;
        Client::with_http_client(base_url, api_key, http)
    }

    /// As [`Client::new`], with a `reqwest::Client` of the caller's (its own timeouts, proxy or
    /// TLS settings).
    pub fn with_http_client(
        base_url: &str,
        api_key: Option<String>,
        http: reqwest::Client,
    ) -> Result<Client, Error> {
        let invalid = |reason: &str| Error::InvalidUrl {
            url: base_url.to_owned(),
            reason: reason.to_owned(),
        };
        let base = Url::parse(base_url).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid(&format!(
                "the scheme must be `http` or `https`, not `{}` (e.g. http://127.0.0.1:8080)",
                base.scheme()
            )));
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(invalid("no host"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(invalid("a base URL takes no `?query` or `#fragment`"));
        }
        let api_key = api_key
            .map(|key| {
                let mut value = HeaderValue::from_str(&key).map_err(|_| Error::InvalidApiKey)?;
                value.set_sensitive(true);
                Ok(value)
            })
            .transpose()?;
        Ok(Client {
            http,
            base,
            api_key,
        })
    }

    /// The base URL, normalised (`http://127.0.0.1:8080/`).
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Record one run of `task`, now: `POST /api/tasks/{id}/jobs` for an id (a `404` if there
    /// is no such task), `POST /api/backups` for a name (creating the task on its first ack).
    /// Returns the ack's id.
    pub async fn track(&self, task: &TaskRef) -> Result<AckId, Error> {
        let request = match task {
            TaskRef::Id(id) => {
                self.request(Method::POST, &["api", "tasks", &id.to_string(), "jobs"])
            }
            TaskRef::Name(name) => self
                .request(Method::POST, &["api", "backups"])
                .json(&json!({ "taskName": name })),
        };
        let created: Created<AckId> = self.send(request).await?;
        Ok(created.id)
    }

    /// Create a task (`POST /api/tasks`); a `409 conflict` if the name is taken, a
    /// `422 invalid_field` naming the field for settings the rules refuse.
    pub async fn create_task(&self, task: &NewTask) -> Result<TaskId, Error> {
        let request = self.request(Method::POST, &["api", "tasks"]).json(task);
        let created: Created<TaskId> = self.send(request).await?;
        Ok(created.id)
    }

    /// Every task of the org, evaluated now or as of `at` (RFC 3339, not in the future):
    /// `GET /api/tasks[?at=...]`.
    pub async fn tasks(&self, at: Option<&str>) -> Result<Vec<TaskStatus>, Error> {
        #[derive(Deserialize)]
        struct List {
            tasks: Vec<TaskStatus>,
        }
        let request = self.request_at(&["api", "tasks"], at);
        let list: List = self.send(request).await?;
        Ok(list.tasks)
    }

    /// One task with its recent acks, evaluated now or as of `at`: `GET /api/tasks/{id}`.
    pub async fn task(&self, id: TaskId, at: Option<&str>) -> Result<TaskDetail, Error> {
        let request = self.request_at(&["api", "tasks", &id.to_string()], at);
        self.send(request).await
    }

    /// Evaluate every task now and record the report, to be delivered as `notify` says:
    /// `POST /api/reports`.
    pub async fn report(&self, notify: Notify) -> Result<Report, Error> {
        let request = self
            .request(Method::POST, &["api", "reports"])
            .json(&json!({ "notify": notify }));
        self.send(request).await
    }

    /// Submit events to `org` (`POST /v1/orgs/{org}/events`, at most 1000 per call); returns
    /// their ids, in order, once they are durable. No events: nothing is sent.
    pub async fn post_events(
        &self,
        org: &str,
        events: &[EventInput],
    ) -> Result<Vec<String>, Error> {
        #[derive(Deserialize)]
        struct Ids {
            ids: Vec<String>,
        }
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let request = self
            .request(Method::POST, &["v1", "orgs", org, "events"])
            .json(events);
        let ids: Ids = self.send(request).await?;
        Ok(ids.ids)
    }

    /// The dead letters of `org`, oldest first: `GET /v1/orgs/{org}/dlq`.
    pub async fn dead_letters(&self, org: &str) -> Result<Vec<DeadLetter>, Error> {
        #[derive(Deserialize)]
        struct List {
            items: Vec<DeadLetter>,
        }
        let request = self.request(Method::GET, &["v1", "orgs", org, "dlq"]);
        let list: List = self.send(request).await?;
        Ok(list.items)
    }

    /// Send dead letter `id` of `org` (or, with `None`, every one) back to the stage it failed
    /// at: `POST /v1/orgs/{org}/dlq/{id}/replay` or `POST /v1/orgs/{org}/dlq/replay`. Needs an
    /// `admin` key. Returns the ids replayed.
    pub async fn replay(&self, org: &str, id: Option<&str>) -> Result<Vec<String>, Error> {
        #[derive(Deserialize)]
        struct Replayed {
            replayed: Vec<String>,
        }
        let request = match id {
            Some(id) => self.request(Method::POST, &["v1", "orgs", org, "dlq", id, "replay"]),
            None => self.request(Method::POST, &["v1", "orgs", org, "dlq", "replay"]),
        };
        let replayed: Replayed = self.send(request).await?;
        Ok(replayed.replayed)
    }

    /// A request to the base URL plus `segments` (each percent-encoded as needed).
    fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("an http(s) URL, as checked by `new`, can be a base")
            .pop_if_empty()
            .extend(segments);
        let request = self.http.request(method, url);
        match &self.api_key {
            Some(key) => request.header("x-api-key", key.clone()),
            None => request,
        }
    }

    /// A `GET` of `segments`, with `?at=` if given.
    fn request_at(&self, segments: &[&str], at: Option<&str>) -> RequestBuilder {
        let request = self.request(Method::GET, segments);
        match at {
            Some(at) => request.query(&[("at", at)]),
            None => request,
        }
    }

    /// Send `request`; a success answer is read as `T`, any other becomes [`Error::Http`].
    async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, Error> {
        let request = request.build().map_err(Error::Transport)?;
        let what = format!("{} {}", request.method(), request.url().path());
        let response = self.http.execute(request).await.map_err(Error::Transport)?;
        let status = response.status();
        let text = response.text().await.map_err(Error::Transport)?;
        if !status.is_success() {
            return Err(Error::from_answer(status.as_u16(), &text));
        }
        serde_json::from_str(&text).map_err(|error| Error::Decode {
            request: what,
            error,
        })
    }
}

/// The answer of a creation: `{"id": ...}`.
#[derive(Deserialize)]
struct Created<T> {
    id: T,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(client: &Client, segments: &[&str]) -> String {
        client
            .request(Method::GET, segments)
            .build()
            .unwrap()
            .url()
            .to_string()
    }

    #[test]
    fn urls_are_checked_and_joined() {
        let client = Client::new("http://127.0.0.1:8080", None).unwrap();
        assert_eq!(
            url(&client, &["api", "tasks", "3", "jobs"]),
            "http://127.0.0.1:8080/api/tasks/3/jobs"
        );
        // A path prefix is kept, with or without its trailing slash; segments are encoded.
        for base in ["http://h/trackway", "http://h/trackway/"] {
            let client = Client::new(base, None).unwrap();
            assert_eq!(
                url(&client, &["v1", "orgs", "a/b c", "events"]),
                "http://h/trackway/v1/orgs/a%2Fb%20c/events"
            );
        }
        for (base, why) in [
            ("127.0.0.1:8080", "relative URL without a base"),
            (
                "localhost:8080",
                "scheme must be `http` or `https`, not `localhost`",
            ),
            ("ftp://h", "not `ftp`"),
            ("http://h/?x=1", "no `?query`"),
        ] {
            let error = Client::new(base, None).unwrap_err();
            assert!(
                matches!(error, Error::InvalidUrl { .. }) && error.to_string().contains(why),
                "{base}: {error}"
            );
        }
    }

    #[test]
    fn keys_are_checked_and_never_shown() {
        let error = Client::new("http://h", Some("tw_a\nb".into())).unwrap_err();
        assert!(matches!(error, Error::InvalidApiKey));
        assert!(!error.to_string().contains("tw_a"));
        let client = Client::new("http://h", Some("tw_secret".into())).unwrap();
        assert!(!format!("{client:?}").contains("tw_secret"));
        let request = client.request(Method::GET, &["api"]).build().unwrap();
        assert_eq!(request.headers()["x-api-key"], "tw_secret");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_readable_transport_error() {
        // A port nobody listens on: bound, then released.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = Client::new(&format!("http://127.0.0.1:{port}"), None).unwrap();
        let error = client.track(&TaskRef::Name("x".into())).await.unwrap_err();
        assert!(matches!(error, Error::Transport(_)), "{error:?}");
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "cannot reach trackway at http://127.0.0.1:{port}: "
            )) && message.to_lowercase().contains("refused"),
            "{message}"
        );
        // Without a TLS backend (this crate alone), https is refused with a message saying so;
        // built with the engine (which enables rustls), it is tried and refused like http.
        let client = Client::new(&format!("https://127.0.0.1:{port}"), None).unwrap();
        let message = client.tasks(None).await.unwrap_err().to_string();
        assert!(
            message.contains("https is not supported")
                || message.to_lowercase().contains("refused"),
            "{message}"
        );
    }
}
