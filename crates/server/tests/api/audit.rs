//! The audit log over HTTP: the chain verifies, and an edited event is
//! named by its seq.

use crate::common::TestServer;
use serde_json::json;

/// Some history: tickets, a step, comments, a team.
async fn history(s: &TestServer) {
    let t = s.incident(&s.requester, "Screen is black").await;
    s.step(&s.agent, &t, json!({"action": "acknowledge"})).await;
    s.post(
        &format!("/api/v1/tickets/{}/comments", t["id"]),
        &s.agent,
        json!({"body": "Checking the cable"}),
    )
    .await
    .expect(201);
    s.post(
        "/api/v1/teams",
        &s.manager,
        json!({"name": "Field service"}),
    )
    .await
    .expect(201);
    s.incident(&s.requester2, "Mouse is gone").await;
}

async fn the_audit_chain_verifies_and_names_an_edited_event(s: &TestServer) {
    history(s).await;
    let events = s.count("events").await;
    assert!(events >= 8, "{events} events");
    for who in [&s.manager, &s.admin] {
        let r = s.get("/api/v1/audit/verify", who).await;
        r.expect(200);
        assert_eq!(r.json["intact"], true, "{}", r.text);
        assert_eq!(r.json["events_checked"], json!(events));
        assert_eq!(r.json["first_broken_seq"], json!(null));
    }

    let victim = events / 2;
    sqlx::query("UPDATE events SET data = $1 WHERE seq = $2")
        .bind(r#"{"tampered":true}"#)
        .bind(victim)
        .execute(s.store().pool())
        .await
        .unwrap();
    let r = s.get("/api/v1/audit/verify", &s.manager).await;
    r.expect(200);
    assert_eq!(r.json["intact"], false, "{}", r.text);
    assert_eq!(r.json["first_broken_seq"], json!(victim), "{}", r.text);
    assert!(r.json["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

async fn the_event_log_reads_by_cursor(s: &TestServer) {
    history(s).await;
    let all = s.get("/api/v1/events?limit=1000", &s.manager).await;
    all.expect(200);
    let seqs: Vec<i64> = all
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    let page = s.get("/api/v1/events?after=2&limit=3", &s.manager).await;
    let seqs: Vec<i64> = page
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [3, 4, 5]);
    let first = &all.json[0];
    assert!(
        first["at"].is_string() && first["kind"].is_string() && first["entity"].is_string(),
        "{first}"
    );
}

server_tests!(
    the_audit_chain_verifies_and_names_an_edited_event,
    the_event_log_reads_by_cursor
);
