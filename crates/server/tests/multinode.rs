//! Several `serve` nodes on one PostgreSQL database work side by side: each
//! node here has its own store (its own pool and group-commit writer) and
//! its own server, as separate processes would. Writes through both nodes
//! interleave into one numbering and one unbroken audit chain, and the
//! timer worker running on both nodes fires each due close exactly once, and
//! each SLA warning and breach is announced once.

mod common;

use common::TestServer;
use jiff::SignedDuration;
use opsdesk_domain::transition::ReopenPolicy;
use opsdesk_server::{AppState, ServerConfig};
use opsdesk_store::Store;
use opsdesk_store::testing::TestDb;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Closes resolved tickets at once, and looks for due work often.
fn eager_config() -> ServerConfig {
    ServerConfig {
        reopen: ReopenPolicy {
            window: SignedDuration::ZERO,
        },
        worker_interval: Duration::from_millis(50),
        ..ServerConfig::default()
    }
}

/// A second node: its own store on the same database, its own server.
async fn second_node(url: &str) -> (String, tokio::sync::oneshot::Sender<()>) {
    let store = Store::open(url)
        .await
        .expect("second node opens the shared database");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = AppState {
        store,
        config: Arc::new(eager_config()),
    };
    tokio::spawn(opsdesk_server::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    (base, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_database_share_numbering_chain_and_timers() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = db.url.clone();
    let a = TestServer::start(db, eager_config()).await;
    let (b_base, stop_b) = second_node(&url).await;
    let http = reqwest::Client::new();
    let nodes = [a.base.clone(), b_base.clone()];

    // 60 creates, alternating nodes, all in flight at once.
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (http, base, token) = (http.clone(), nodes[i % 2].clone(), a.agent.token.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(format!("{base}/api/v1/tickets"))
                .bearer_auth(&token)
                .json(&json!({"kind": "incident", "title": format!("node {} ticket {i}", i % 2)}))
                .send()
                .await
                .expect("POST");
            assert_eq!(r.status(), 201);
            r.json::<Value>().await.expect("ticket")
        }));
    }
    let mut tickets = Vec::new();
    for t in tasks {
        tickets.push(t.await.expect("task"));
    }
    let mut numbers: Vec<String> = tickets
        .iter()
        .map(|t| t["number"].as_str().expect("number").to_string())
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=60).map(|n| format!("INC-{n:06}")).collect();
    assert_eq!(
        numbers, expected,
        "one contiguous numbering across both nodes"
    );

    // Every ticket is visible from the other node; resolve them all,
    // alternating nodes again. Both nodes' workers then race to close them.
    for (i, t) in tickets.iter().enumerate() {
        let other = &nodes[(i + 1) % 2];
        let r = http
            .post(format!("{other}/api/v1/tickets/{}/transitions", t["id"]))
            .bearer_auth(&a.agent.token)
            .json(&json!({"action": "resolve", "resolution_code": "fixed", "resolution_note": "done"}))
            .send()
            .await
            .expect("POST transition");
        assert_eq!(r.status(), 200, "resolve through the other node");
    }
    for t in &tickets {
        let mut state = Value::Null;
        for _ in 0..100 {
            let r = http
                .get(format!("{b_base}/api/v1/tickets/{}", t["id"]))
                .bearer_auth(&a.agent.token)
                .send()
                .await
                .expect("GET");
            state = r.json::<Value>().await.expect("ticket")["state"].clone();
            if state == "closed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(state, "closed", "the auto-close fired");
        let timeline: Value = http
            .get(format!("{}/api/v1/tickets/{}/timeline", a.base, t["id"]))
            .bearer_auth(&a.agent.token)
            .send()
            .await
            .expect("GET timeline")
            .json()
            .await
            .expect("timeline");
        let closes = timeline
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["kind"] == "ticket.transitioned" && e["data"]["to"] == "closed")
            .count();
        assert_eq!(
            closes, 1,
            "closed exactly once although both nodes run the timer"
        );
    }

    let verify: Value = http
        .get(format!("{b_base}/api/v1/audit/verify"))
        .bearer_auth(&a.manager.token)
        .send()
        .await
        .expect("GET verify")
        .json()
        .await
        .expect("verify result");
    assert_eq!(verify["intact"], true, "{verify}");

    let _ = stop_b.send(());
    a.stop().await;
}

/// Both nodes run the SLA worker often: every clock still warns once and
/// breaches once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_announce_each_sla_warning_and_breach_once() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = db.url.clone();
    let config = || ServerConfig {
        sla_interval: Duration::from_millis(100),
        ..ServerConfig::default()
    };
    let a = TestServer::start(db, config()).await;
    let store = Store::open(&url).await.expect("second node store");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let b_base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop_b, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = AppState {
        store,
        config: Arc::new(config()),
    };
    tokio::spawn(opsdesk_server::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let nodes = [a.base.clone(), b_base.clone()];
    let http = reqwest::Client::new();

    let day = json!([{"start": "00:00", "end": "24:00"}]);
    let cal = a
        .post(
            "/api/v1/calendars",
            &a.manager,
            json!({"name": "24x7", "time_zone": "UTC", "hours": {
                "monday": day, "tuesday": day, "wednesday": day, "thursday": day,
                "friday": day, "saturday": day, "sunday": day}}),
        )
        .await
        .expect(201)
        .json
        .clone();
    a.post(
        "/api/v1/sla-policies",
        &a.manager,
        json!({"name": "Two seconds", "matcher": {"kinds": ["incident"]},
               "targets": [{"metric": "resolution", "target": "PT2S", "calendar_id": cal["id"]}]}),
    )
    .await
    .expect(201);
    let mut ids = Vec::new();
    for i in 0..20 {
        let r = http
            .post(format!("{}/api/v1/tickets", nodes[i % 2]))
            .bearer_auth(&a.agent.token)
            .json(&json!({"kind": "incident", "title": format!("outage {i}")}))
            .send()
            .await
            .expect("POST");
        assert_eq!(r.status(), 201);
        ids.push(r.json::<Value>().await.expect("ticket")["id"].clone());
    }
    let announcements = |timeline: &Value, kind: &str| {
        timeline
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["kind"] == kind)
            .count()
    };
    for id in &ids {
        let path = format!("{}/api/v1/tickets/{id}/timeline", nodes[1]);
        let mut timeline = Value::Null;
        for _ in 0..100 {
            timeline = http
                .get(&path)
                .bearer_auth(&a.agent.token)
                .send()
                .await
                .expect("GET timeline")
                .json()
                .await
                .expect("timeline");
            if announcements(&timeline, "sla.breached") > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(announcements(&timeline, "sla.breached"), 1, "{timeline}");
    }
    // More passes on both nodes change nothing.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    for id in &ids {
        let timeline: Value = http
            .get(format!("{}/api/v1/tickets/{id}/timeline", nodes[0]))
            .bearer_auth(&a.agent.token)
            .send()
            .await
            .expect("GET timeline")
            .json()
            .await
            .expect("timeline");
        assert_eq!(announcements(&timeline, "sla.warning"), 1, "{timeline}");
        assert_eq!(announcements(&timeline, "sla.breached"), 1, "{timeline}");
    }
    let _ = stop_b.send(());
    a.stop().await;
}
