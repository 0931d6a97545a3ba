//! Test harness: the real server on `127.0.0.1:0`, in-process, over a fresh
//! database, spoken to over HTTP like any client would.
//!
//! Each test is a plain `async fn name(s: &TestServer)`; `server_tests!`
//! turns a list of them into `sqlite::name` and `postgres::name` test cases,
//! each with its own server and database. Without a reachable PostgreSQL the
//! `postgres` half passes as skipped (with a note on stderr) unless `CI=true`,
//! as decided by `opsdesk_store::testing::TestDb::postgres`.

// Every test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use jiff::Timestamp;
use opsdesk_domain::Role;
use opsdesk_server::{AppState, ServerConfig};
use opsdesk_store::testing::TestDb;
use opsdesk_store::{NewUser, Store, User};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::{Value, json};
use sqlx::Row;
use std::sync::{Arc, OnceLock};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Every account the harness creates signs in with this password.
pub const PASSWORD: &str = "correct horse battery staple";

/// One argon2id hash of [`PASSWORD`] for the whole process: hashing is the
/// slow part of making users, and a salted PHC string can be shared.
fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| opsdesk_server::passwords::hash_password(PASSWORD).expect("argon2 hashes"))
        .clone()
}

/// An account and a bearer token for it.
#[derive(Debug, Clone)]
pub struct Person {
    pub user: User,
    pub token: String,
}

impl Person {
    pub fn id(&self) -> i64 {
        self.user.id.0
    }

    pub fn username(&self) -> &str {
        &self.user.username
    }
}

/// What came back: status, headers and the body (as text and, when it
/// parses, as JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    pub fn content_type(&self) -> &str {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The fields a problem+json body names, in order.
    pub fn fields(&self) -> Vec<String> {
        self.json["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts the status, and prints the body when it is not the expected one.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts an RFC 9457 problem with this status.
    #[track_caller]
    pub fn expect_problem(&self, status: u16) -> &Self {
        self.expect(status);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "body: {}",
            self.text
        );
        assert_eq!(
            self.json["status"],
            json!(status),
            "problem status member; body: {}",
            self.text
        );
        assert!(
            self.json["type"].as_str().is_some_and(|t| !t.is_empty()),
            "problem type; body: {}",
            self.text
        );
        assert!(
            self.json["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "problem detail; body: {}",
            self.text
        );
        self
    }

    /// Asserts a problem with this status that names `field`.
    #[track_caller]
    pub fn expect_field(&self, status: u16, field: &str) -> &Self {
        self.expect_problem(status);
        assert!(
            self.fields().iter().any(|f| f == field),
            "expected the problem to name '{field}', it names {:?}; body: {}",
            self.fields(),
            self.text
        );
        self
    }
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Cred<'a> {
    None,
    Bearer(&'a str),
    /// A raw `Authorization` header value.
    Authorization(&'a str),
    /// A session cookie, with the CSRF token if one is to be sent.
    Session {
        cookie: &'a str,
        csrf: Option<&'a str>,
    },
}

impl<'a> From<&'a Person> for Cred<'a> {
    fn from(p: &'a Person) -> Self {
        Cred::Bearer(&p.token)
    }
}

/// A running server with its database and a cast of users:
/// one admin, one manager, two agents and two requesters.
pub struct TestServer {
    pub db: TestDb,
    pub base: String,
    pub http: reqwest::Client,
    pub admin: Person,
    pub manager: Person,
    pub agent: Person,
    pub agent2: Person,
    pub requester: Person,
    pub requester2: Person,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn sqlite() -> TestServer {
        TestServer::start(TestDb::sqlite().await, ServerConfig::default()).await
    }

    /// `None` when PostgreSQL is not reachable outside CI: the test is skipped.
    pub async fn postgres() -> Option<TestServer> {
        Some(TestServer::start(TestDb::postgres().await?, ServerConfig::default()).await)
    }

    pub async fn start(db: TestDb, config: ServerConfig) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr = listener.local_addr().expect("local address");
        let state = AppState {
            store: db.store.clone(),
            config: Arc::new(config),
        };
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(opsdesk_server::serve(listener, state, async move {
            let _ = rx.await;
        }));
        let store = db.store.clone();
        let s = TestServer {
            base: format!("http://{addr}"),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("HTTP client"),
            admin: person(&store, "ada", Role::Admin).await,
            manager: person(&store, "max", Role::Manager).await,
            agent: person(&store, "alice", Role::Agent).await,
            agent2: person(&store, "bob", Role::Agent).await,
            requester: person(&store, "rita", Role::Requester).await,
            requester2: person(&store, "ron", Role::Requester).await,
            db,
            shutdown: Some(tx),
            task: Some(task),
        };
        s.wait_until_ready().await;
        s
    }

    async fn wait_until_ready(&self) {
        for _ in 0..100 {
            if let Ok(r) = self.http.get(self.url("/healthz")).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the server at {} never answered /healthz", self.base);
    }

    /// Shuts the server down gracefully and removes the database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let result = tokio::time::timeout(std::time::Duration::from_secs(10), task)
                .await
                .expect("the server shuts down within 10 s")
                .expect("the server task did not panic");
            result.expect("serve returns Ok after a graceful shutdown");
        }
        let TestServer { db, .. } = self;
        db.cleanup().await;
    }

    pub fn store(&self) -> &Store {
        &self.db.store
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A new account with a token, made directly in the store.
    pub async fn person(&self, username: &str, role: Role) -> Person {
        person(self.store(), username, role).await
    }

    // -- requests -----------------------------------------------------------

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        cred: Cred<'_>,
        body: Option<&Value>,
    ) -> Resp {
        let mut req = self
            .http
            .request(method.parse().expect("HTTP method"), self.url(path));
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(b).expect("JSON"));
        }
        self.finish(with_cred(req, cred)).await
    }

    /// A request with a raw body and content type, for malformed input.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        cred: Cred<'_>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Resp {
        let req = self
            .http
            .request(method.parse().expect("HTTP method"), self.url(path))
            .header(CONTENT_TYPE, content_type)
            .body(body);
        self.finish(with_cred(req, cred)).await
    }

    pub async fn finish(&self, req: reqwest::RequestBuilder) -> Resp {
        let r = req.send().await.expect("the server answers");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.expect("a readable body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            json,
        }
    }

    pub async fn get<'a>(&self, path: &str, cred: impl Into<Cred<'a>>) -> Resp {
        self.send("GET", path, cred.into(), None).await
    }

    pub async fn post<'a>(&self, path: &str, cred: impl Into<Cred<'a>>, body: Value) -> Resp {
        self.send("POST", path, cred.into(), Some(&body)).await
    }

    pub async fn patch<'a>(&self, path: &str, cred: impl Into<Cred<'a>>, body: Value) -> Resp {
        self.send("PATCH", path, cred.into(), Some(&body)).await
    }

    pub async fn put<'a>(&self, path: &str, cred: impl Into<Cred<'a>>, body: Value) -> Resp {
        self.send("PUT", path, cred.into(), Some(&body)).await
    }

    pub async fn delete<'a>(&self, path: &str, cred: impl Into<Cred<'a>>) -> Resp {
        self.send("DELETE", path, cred.into(), None).await
    }

    /// POST with an `Idempotency-Key`.
    pub async fn post_idempotent(&self, path: &str, who: &Person, key: &str, body: Value) -> Resp {
        let req = self
            .http
            .post(self.url(path))
            .bearer_auth(&who.token)
            .header("Idempotency-Key", key)
            .json(&body);
        self.finish(req).await
    }

    // -- fixtures -----------------------------------------------------------

    /// Opens a ticket over HTTP and returns its JSON (asserting 201).
    pub async fn create_ticket(&self, who: &Person, body: Value) -> Value {
        let r = self.post("/api/v1/tickets", who, body.clone()).await;
        assert_eq!(r.status, 201, "creating a ticket from {body}: {}", r.text);
        r.json
    }

    /// An incident with a title, opened by `who`.
    pub async fn incident(&self, who: &Person, title: &str) -> Value {
        self.create_ticket(who, json!({"kind": "incident", "title": title}))
            .await
    }

    /// Takes a step; asserts 200 and returns the ticket.
    pub async fn step(&self, who: &Person, ticket: &Value, body: Value) -> Value {
        let r = self
            .post(
                &format!("/api/v1/tickets/{}/transitions", ticket["id"]),
                who,
                body.clone(),
            )
            .await;
        assert_eq!(
            r.status, 200,
            "step {body} on {}: {}",
            ticket["number"], r.text
        );
        r.json
    }

    // -- what the database holds ---------------------------------------------

    pub async fn count(&self, table: &str) -> i64 {
        // Table names come from the tests themselves, never from input.
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(self.store().pool())
            .await
            .expect("count rows")
            .try_get("n")
            .expect("a count")
    }

    pub async fn ticket_count(&self) -> i64 {
        self.count("tickets").await
    }

    /// Tickets, comments and events together: a request that writes nothing
    /// leaves all three alone.
    pub async fn write_counts(&self) -> (i64, i64, i64) {
        (
            self.count("tickets").await,
            self.count("comments").await,
            self.count("events").await,
        )
    }
}

fn with_cred(req: reqwest::RequestBuilder, cred: Cred<'_>) -> reqwest::RequestBuilder {
    match cred {
        Cred::None => req,
        Cred::Bearer(token) => req.bearer_auth(token),
        Cred::Authorization(value) => req.header("Authorization", value),
        Cred::Session { cookie, csrf } => {
            let req = req.header("Cookie", cookie);
            match csrf {
                Some(c) => req.header("X-CSRF-Token", c),
                None => req,
            }
        }
    }
}

async fn person(store: &Store, username: &str, role: Role) -> Person {
    let now = Timestamp::now();
    let user = store
        .create_user(
            NewUser {
                username: username.to_string(),
                display_name: format!("{username} ({role})"),
                email: Some(format!("{username}@example.com")),
                role,
                organization: None,
                password_hash: Some(password_hash()),
            },
            None,
            now,
        )
        .await
        .expect("create a test user");
    let (_, token) = store
        .create_token(user.id, "tests", None, None, now)
        .await
        .expect("create a token");
    Person { user, token }
}

/// Percent-encodes a query parameter value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Turns a list of `async fn name(s: &TestServer)` into `sqlite::name` and
/// `postgres::name` tests, each on its own server and database. Declare the
/// harness with `#[macro_use] mod common;` to use it.
#[allow(unused_macros)]
macro_rules! server_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let server = $crate::common::TestServer::sqlite().await;
                    super::$name(&server).await;
                    server.stop().await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(server) = $crate::common::TestServer::postgres().await else { return };
                    super::$name(&server).await;
                    server.stop().await;
                }
            )+
        }
    };
}
