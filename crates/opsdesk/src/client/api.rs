//! The HTTP side of the client: one request helper that turns every way a
//! call can fail into a message a person can act on.

use anyhow::{Context, anyhow, bail};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

/// A successful answer: the body as the server sent it, and parsed.
pub struct Reply {
    pub raw: String,
    pub value: Value,
}

/// The server refused the request. `run` prints it and exits 1.
#[derive(Debug)]
pub struct ServerProblem {
    pub status: StatusCode,
    /// The body as sent, when it was JSON (problem+json normally).
    pub json: Option<(String, Value)>,
    /// The body when it was not JSON (a proxy's error page, say).
    pub text: String,
}

impl fmt::Display for ServerProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self
            .json
            .as_ref()
            .and_then(|(_, v)| v.get("detail"))
            .and_then(Value::as_str)
        {
            Some(detail) => f.write_str(detail),
            None => write!(f, "the server answered {}", self.status),
        }
    }
}

impl std::error::Error for ServerProblem {}

/// A mistake in the command line that clap cannot see; exits 2 like clap's own.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub fn usage<T>(message: impl Into<String>) -> anyhow::Result<T> {
    Err(UsageError(message.into()).into())
}

pub struct Api {
    http: reqwest::Client,
    base: Url,
    token: String,
    /// user id -> display text, filled as names are looked up.
    names: HashMap<i64, String>,
    /// Set once the directory refuses us (requesters may not look others up).
    directory_closed: bool,
}

impl Api {
    pub fn new(server: &str, token: Option<&str>) -> anyhow::Result<Api> {
        let token = match token.map(str::trim) {
            Some(t) if !t.is_empty() => t.to_string(),
            _ => bail!(
                "no API token: pass --token TOKEN or set OPSDESK_TOKEN (create one with `opsdesk admin create-token USERNAME`)"
            ),
        };
        let server = server.trim();
        let with_scheme = if server.contains("://") {
            server.to_string()
        } else {
            format!("http://{server}")
        };
        let mut base = Url::parse(&with_scheme).map_err(|e| {
            anyhow!("--server '{server}' is not a URL ({e}); use e.g. http://127.0.0.1:8080")
        })?;
        match base.scheme() {
            "http" => {}
            "https" => bail!(
                "--server {server}: this client speaks plain HTTP only; use an http:// address (for example through a local TLS-terminating proxy)"
            ),
            other => bail!("--server {server}: unsupported scheme '{other}'; use http://HOST:PORT"),
        }
        if base.cannot_be_a_base() || base.host_str().is_none() {
            bail!("--server '{server}' has no host; use e.g. http://127.0.0.1:8080");
        }
        // Keep a path prefix (a server behind a reverse proxy at /opsdesk) but no trailing slash.
        let path = base.path().trim_end_matches('/').to_string();
        base.set_path(&path);
        base.set_query(None);
        base.set_fragment(None);
        let http = reqwest::Client::builder()
            .user_agent(concat!("opsdesk-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Api {
            http,
            base,
            token,
            names: HashMap::new(),
            directory_closed: false,
        })
    }

    /// `segments` are path segments after the base, each percent-encoded here
    /// (ticket numbers come from the command line).
    pub fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    pub async fn get(&self, segments: &[&str], query: &[(&str, String)]) -> anyhow::Result<Reply> {
        self.send(Method::GET, segments, query, None, None).await
    }

    pub async fn post(&self, segments: &[&str], body: &Value) -> anyhow::Result<Reply> {
        self.send(Method::POST, segments, &[], Some(body), None)
            .await
    }

    pub async fn send(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> anyhow::Result<Reply> {
        let url = self.url(segments, query);
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(&self.token)
            .header("accept", "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let parsed = if text.trim().is_empty() {
            None
        } else {
            serde_json::from_str::<Value>(&text).ok()
        };
        if !status.is_success() {
            return Err(ServerProblem {
                status,
                json: parsed.map(|v| (text.clone(), v)),
                text,
            }
            .into());
        }
        match parsed {
            Some(value) => Ok(Reply { raw: text, value }),
            None if text.trim().is_empty() => Ok(Reply {
                raw: String::new(),
                value: Value::Null,
            }),
            None => bail!(
                "the server at {} answered {status} with something that is not JSON; is --server pointing at opsdesk?",
                self.server()
            ),
        }
    }

    /// The server's address as typed, for messages ("http://127.0.0.1:8080").
    fn server(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    fn transport_error(&self, e: &reqwest::Error) -> anyhow::Error {
        let cause = root_cause(e);
        if e.is_connect() {
            anyhow!(
                "cannot connect to the opsdesk server at {} ({cause}). Is it running? Start one with `opsdesk serve`, or point --server / OPSDESK_SERVER at it",
                self.server()
            )
        } else if e.is_timeout() {
            anyhow!(
                "the opsdesk server at {} did not answer in time ({cause})",
                self.server()
            )
        } else {
            anyhow!(
                "request to the opsdesk server at {} failed: {cause}",
                self.server()
            )
        }
    }

    /// The signed-in user's id (for `me`).
    pub async fn me(&mut self) -> anyhow::Result<i64> {
        let reply = self.get(&["api", "v1", "me"], &[]).await?;
        let id = reply
            .value
            .get("id")
            .and_then(Value::as_i64)
            .context("GET /api/v1/me returned no id")?;
        if let Some(username) = reply.value.get("username").and_then(Value::as_str) {
            self.names.insert(id, username.to_string());
        }
        Ok(id)
    }

    /// A user's username, or `#ID` when the directory will not say.
    pub async fn user_name(&mut self, id: i64) -> String {
        if let Some(name) = self.names.get(&id) {
            return name.clone();
        }
        let mut name = format!("#{id}");
        if !self.directory_closed {
            match self
                .get(&["api", "v1", "users", &id.to_string()], &[])
                .await
            {
                Ok(reply) => {
                    if let Some(u) = reply.value.get("username").and_then(Value::as_str) {
                        name = u.to_string();
                    }
                }
                Err(e) => {
                    // Forbidden or unreachable: stop asking, ids will do.
                    if e.downcast_ref::<ServerProblem>()
                        .is_none_or(|p| p.status != StatusCode::NOT_FOUND)
                    {
                        self.directory_closed = true;
                    }
                }
            }
        }
        self.names.insert(id, name.clone());
        name
    }

    /// `name (#id)` for a team or service, or `#id` when it cannot be looked up.
    pub async fn entity_name(&self, collection: &str, id: i64) -> String {
        match self
            .get(&["api", "v1", collection, &id.to_string()], &[])
            .await
        {
            Ok(reply) => match reply.value.get("name").and_then(Value::as_str) {
                Some(name) => format!("{name} (#{id})"),
                None => format!("#{id}"),
            },
            Err(_) => format!("#{id}"),
        }
    }
}

/// The innermost message of an error chain ("Connection refused (os error 111)").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_normalised() {
        let api = Api::new("127.0.0.1:9000/", Some("t")).expect("api");
        assert_eq!(
            api.url(&["api", "v1", "tickets", "INC 1/2"], &[]).as_str(),
            "http://127.0.0.1:9000/api/v1/tickets/INC%201%2F2"
        );
        let api = Api::new("http://h:1/prefix/", Some("t")).expect("api");
        assert_eq!(
            api.url(&["api", "v1", "tickets"], &[("q", "a&b c".into())])
                .as_str(),
            "http://h:1/prefix/api/v1/tickets?q=a%26b+c"
        );
    }

    #[test]
    fn missing_token_and_https_are_explained() {
        let e = Api::new("http://h:1", None)
            .err()
            .expect("error")
            .to_string();
        assert!(e.contains("OPSDESK_TOKEN") && e.contains("--token"), "{e}");
        let e = Api::new("http://h:1", Some("  "))
            .err()
            .expect("error")
            .to_string();
        assert!(e.contains("OPSDESK_TOKEN"), "{e}");
        let e = Api::new("https://h:1", Some("t"))
            .err()
            .expect("error")
            .to_string();
        assert!(e.contains("plain HTTP"), "{e}");
    }
}
