//! Nothing acknowledged is lost: a real `kill -9` of a server under load,
//! a restart on the same database, and every ticket the API answered 201
//! for is there, the audit chain intact, and a timer that fell due while the
//! server was down fires on start with its true instant. Tampering with the
//! database file is caught by `opsdesk audit verify`.

mod common;

use common::{Server, opsdesk, run};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

async fn post(
    client: &reqwest::Client,
    server: &str,
    token: &str,
    path: &str,
    body: Value,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{server}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
}

async fn get(client: &reqwest::Client, server: &str, token: &str, path: &str) -> Value {
    let r = client
        .get(format!("{server}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    assert!(r.status().is_success(), "GET {path}: {}", r.status());
    r.json().await.expect("JSON")
}

#[test]
fn acknowledged_tickets_survive_kill_9_and_overdue_timers_fire_on_start() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let server = Server::start();
    let (url, token) = (server.url.clone(), server.token.clone());
    let client = reqwest::Client::new();

    // A resolved incident whose reopen window (7 days by default) is far away.
    let resolved_id = rt.block_on(async {
        let r = post(&client, &url, &token, "/api/v1/tickets", json!({"kind": "incident", "title": "Disk full on build agent"}))
            .await
            .expect("create");
        let t: Value = r.json().await.expect("ticket");
        let id = t["id"].as_i64().expect("id");
        let r = post(
            &client,
            &url,
            &token,
            &format!("/api/v1/tickets/{id}/transitions"),
            json!({"action": "resolve", "resolution_code": "fixed", "resolution_note": "cleaned old artifacts"}),
        )
        .await
        .expect("resolve");
        assert_eq!(r.status(), 200);
        id
    });

    // A problem under a 6 s SLA: it warns at 4.5 s and breaches at 6 s,
    // both while the server is down.
    let (problem_id, problem_created) = rt.block_on(async {
        let day = json!([{"start": "00:00", "end": "24:00"}]);
        let r = post(
            &client,
            &url,
            &token,
            "/api/v1/calendars",
            json!({"name": "24x7", "time_zone": "UTC", "hours": {
            "monday": day, "tuesday": day, "wednesday": day, "thursday": day,
            "friday": day, "saturday": day, "sunday": day}}),
        )
        .await
        .expect("calendar");
        assert_eq!(r.status(), 201);
        let cal: Value = r.json().await.expect("calendar");
        let r = post(
            &client,
            &url,
            &token,
            "/api/v1/sla-policies",
            json!({"name": "Problems", "matcher": {"kinds": ["problem"]},
            "targets": [{"metric": "resolution", "target": "PT6S", "calendar_id": cal["id"]}]}),
        )
        .await
        .expect("policy");
        assert_eq!(r.status(), 201);
        let r = post(
            &client,
            &url,
            &token,
            "/api/v1/tickets",
            json!({"kind": "problem", "title": "Builds fail at random"}),
        )
        .await
        .expect("problem");
        let t: Value = r.json().await.expect("problem");
        let created: jiff::Timestamp = t["created_at"]
            .as_str()
            .expect("created_at")
            .parse()
            .expect("time");
        (t["id"].as_i64().expect("id"), created)
    });

    // Eight writers create tickets as fast as they can; the server is killed
    // while requests are in flight.
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..8 {
        let (client, url, token, stop) = (client.clone(), url.clone(), token.clone(), stop.clone());
        writers.push(rt.spawn(async move {
            let mut ids = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let body = json!({"kind": "incident", "title": format!("load {w}-{i}"), "description": "written under load"});
                // Anything but a 201 with a body (refused, or cut off by
                // the crash) was never acknowledged.
                if let Ok(r) = post(&client, &url, &token, "/api/v1/tickets", body).await
                    && r.status() == 201
                    && let Ok(t) = r.json::<Value>().await
                    && let Some(id) = t["id"].as_i64()
                {
                    ids.push(id);
                }
                i += 1;
            }
            ids
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let data = server.crash();
    stop.store(true, Ordering::Relaxed);
    let acknowledged: Vec<i64> = rt.block_on(async {
        let mut all = Vec::new();
        for w in writers {
            all.extend(w.await.expect("writer"));
        }
        all
    });
    assert!(
        acknowledged.len() > 20,
        "only {} tickets were acknowledged before the crash",
        acknowledged.len()
    );

    // Stay down until the SLA warning and breach have fallen due.
    let due = problem_created + jiff::SignedDuration::from_millis(6500);
    if let Ok(wait) = jiff::Timestamp::now().duration_until(due).try_into() {
        std::thread::sleep(wait);
    }

    // Restart on the same database with a reopen window of zero: the
    // resolved incident's close fell due while the server was down.
    let config = data.0.join("opsdesk.toml");
    std::fs::write(
        &config,
        "reopen_window_hours = 0\nworker_interval_seconds = 1\n",
    )
    .expect("config");
    let config_arg = config.display().to_string();
    let server = Server::start_in(data, &["--config", &config_arg]);
    let (url, token) = (server.url.clone(), server.token.clone());
    rt.block_on(async {
        for id in &acknowledged {
            let t = get(&client, &url, &token, &format!("/api/v1/tickets/{id}")).await;
            assert_eq!(t["id"].as_i64(), Some(*id));
        }
        let mut closed = Value::Null;
        for _ in 0..50 {
            closed = get(
                &client,
                &url,
                &token,
                &format!("/api/v1/tickets/{resolved_id}"),
            )
            .await;
            if closed["state"] == "closed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            closed["state"], "closed",
            "the overdue auto-close did not fire on start: {closed}"
        );
        assert_eq!(
            closed["closed_at"], closed["resolved_at"],
            "closed at its true instant (window 0)"
        );

        // The SLA warning and breach that fell due while the server was
        // down are announced on start, once each, at their true instants.
        let path = format!("/api/v1/tickets/{problem_id}/timeline");
        let mut announced = Vec::new();
        for _ in 0..50 {
            let timeline = get(&client, &url, &token, &path).await;
            announced = timeline
                .as_array()
                .expect("timeline")
                .iter()
                .filter(|e| e["kind"].as_str().is_some_and(|k| k.starts_with("sla.")))
                .map(|e| {
                    (
                        e["kind"].as_str().unwrap_or_default().to_string(),
                        e["at"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect::<Vec<_>>();
            if announced.len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let at = |ms: i64| (problem_created + jiff::SignedDuration::from_millis(ms)).to_string();
        assert_eq!(
            announced,
            vec![
                ("sla.warning".to_string(), at(4500)),
                ("sla.breached".to_string(), at(6000)),
            ],
            "announced once each, stamped with when they fell due"
        );
    });
    run(server_admin(&server, &["audit", "verify"]), None).ok();
}

fn server_admin(server: &Server, args: &[&str]) -> std::process::Command {
    let mut cmd = opsdesk();
    cmd.args(args)
        .args(["--database-url", &server.dir.database_url()]);
    cmd
}

#[test]
fn tampering_with_the_database_file_is_named_by_audit_verify() {
    let server = Server::start();
    for i in 0..3 {
        server
            .ticket(&[
                "create",
                "--kind",
                "incident",
                "--title",
                &format!("tamper target {i}"),
            ])
            .ok();
    }
    let url = server.dir.database_url();
    run(server_admin(&server, &["audit", "verify"]), None).ok();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = opsdesk_store::Store::connect(&url)
            .await
            .expect("open the file");
        sqlx_edit(
            &store,
            "UPDATE events SET data = '{\"title\":\"rewritten\"}' WHERE seq = 3",
        )
        .await;
        store.close().await;
    });
    let out = run(server_admin(&server, &["audit", "verify"]), None).code(1);
    assert!(out.stdout.contains("event 3"), "{}", out.stdout);
}

async fn sqlx_edit(store: &opsdesk_store::Store, sql: &'static str) {
    sqlx::query(sql)
        .execute(store.pool())
        .await
        .expect("edit the database behind the server's back");
}
