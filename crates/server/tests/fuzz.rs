//! Fuzzing request decoding: whatever JSON arrives at POST /api/v1/tickets,
//! the answer is never a 5xx, a refusal is problem+json, and a ticket exists
//! afterwards exactly when the answer was 201.
//!
//! Two halves: a proptest that generates nested JSON (real field names with
//! values of random types, and random keys), and a replay of the saved
//! corpus in `tests/fuzz-corpus/*.json` (raw bytes, not all of them JSON).

#[macro_use]
mod common;

use common::{Cred, Person, TestServer};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value};

/// Every field name the ticket routes know, and a few near misses.
const FIELDS: &[&str] = &[
    "kind",
    "title",
    "description",
    "requester_id",
    "team_id",
    "assignee_id",
    "service_id",
    "category",
    "tags",
    "impact",
    "urgency",
    "priority_override",
    "priority",
    "reason",
    "version",
    "action",
    "body",
    "visibility",
    "Title",
    "kind ",
    "",
];

/// Words that are valid somewhere, so generated bodies reach past decoding.
const WORDS: &[&str] = &[
    "incident",
    "service_request",
    "problem",
    "change",
    "high",
    "medium",
    "low",
    "P1",
    "P5",
    "P0",
    "internal",
    "public",
    "printer",
    "password=hunter2",
    "a\u{0}b",
    "\u{7f}",
    "line\nbreak",
    "\u{202e}rtl",
    "🙂",
    " ",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (0i64..8).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        prop::sample::select(WORDS).prop_map(|w| Value::String(w.to_string())),
        (1usize..400).prop_map(|n| Value::String("x".repeat(n))),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(FIELDS).prop_map(str::to_string),
        1 => ".{0,12}",
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A plausible ticket with a few members added or replaced by random ones.
fn ticket_like() -> impl Strategy<Value = Value> {
    let kind =
        prop::sample::select(&["incident", "service_request", "problem", "change", "outage"][..]);
    let title = prop_oneof![
        Just("Printer jams".to_string()),
        "[a-zA-Z ]{1,30}",
        ".{0,10}"
    ];
    (kind, title, prop::collection::vec((key(), value()), 0..4)).prop_map(|(kind, title, extra)| {
        let mut body = Map::new();
        body.insert("kind".into(), Value::from(kind));
        body.insert("title".into(), Value::from(title));
        body.extend(extra);
        Value::Object(body)
    })
}

/// A ticket the server must accept, so every run reaches the "created"
/// side of decoding (random members alone rarely make a valid body).
fn valid_ticket() -> impl Strategy<Value = Value> {
    let kind = prop::sample::select(&["incident", "service_request", "problem", "change"][..]);
    (kind, "[a-zA-Z][a-zA-Z ]{0,29}")
        .prop_map(|(kind, title)| serde_json::json!({"kind": kind, "title": title}))
}

fn body() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => valid_ticket(),
        3 => ticket_like(),
        2 => prop::collection::vec((key(), value()), 0..8).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        1 => value(),
    ]
}

/// Posts one body and checks the promise; the error says what broke.
async fn check(s: &TestServer, who: &Person, body: &[u8]) -> Result<u16, String> {
    let before = s.ticket_count().await;
    let r = s
        .send_raw(
            "POST",
            "/api/v1/tickets",
            Cred::Bearer(&who.token),
            "application/json",
            body.to_vec(),
        )
        .await;
    let after = s.ticket_count().await;
    let shown = String::from_utf8_lossy(body);
    if r.status >= 500 {
        return Err(format!("{} for {shown}: {}", r.status, r.text));
    }
    let expected = before + i64::from(r.status == 201);
    if after != expected {
        return Err(format!(
            "{} for {shown} left {after} tickets, expected {expected}",
            r.status
        ));
    }
    if r.status >= 400 && r.content_type() != "application/problem+json" {
        return Err(format!(
            "{} for {shown} is not problem+json: {}",
            r.status,
            r.content_type()
        ));
    }
    Ok(r.status)
}

fn fuzz(start: impl AsyncFnOnce() -> Option<TestServer>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let Some(s) = runtime.block_on(start()) else {
        return;
    };
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    // (created, refused): the generator must reach both sides of decoding.
    let outcomes = std::cell::Cell::new((0, 0));
    let result = runner.run(&(body(), any::<bool>()), |(body, as_agent)| {
        let who = if as_agent { &s.agent } else { &s.requester };
        let bytes = serde_json::to_vec(&body).unwrap();
        let status = runtime
            .block_on(check(&s, who, &bytes))
            .map_err(TestCaseError::fail)?;
        let (created, refused) = outcomes.get();
        outcomes.set(if status == 201 {
            (created + 1, refused)
        } else {
            (created, refused + 1)
        });
        Ok(())
    });
    runtime.block_on(async {
        // The server still answers after all of that.
        s.get("/healthz", Cred::None).await.expect(200);
        s.stop().await;
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (created, refused) = outcomes.get();
    assert!(
        created > 0 && refused > 0,
        "{created} created, {refused} refused: the generator is off"
    );
}

mod proptest_sqlite {
    #[test]
    fn ticket_decoding_never_fails_on_the_server_side() {
        super::fuzz(async || Some(super::TestServer::sqlite().await));
    }
}

mod proptest_postgres {
    #[test]
    fn ticket_decoding_never_fails_on_the_server_side() {
        super::fuzz(super::TestServer::postgres);
    }
}

/// The saved corpus: each file's bytes, as an agent and as a requester.
async fn the_fuzz_corpus_never_fails_on_the_server_side(s: &TestServer) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus is in {}", dir.display());
    let mut failures = Vec::new();
    let mut created = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for who in [&s.agent, &s.requester] {
            match check(s, who, &bytes).await {
                Ok(201) => created += 1,
                Ok(_) => {}
                Err(e) => failures.push(format!(
                    "{}: {e}",
                    file.file_name().unwrap().to_string_lossy()
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(created > 0, "the corpus has valid bodies too");
    s.get("/healthz", Cred::None).await.expect(200);
}

server_tests!(the_fuzz_corpus_never_fails_on_the_server_side);
