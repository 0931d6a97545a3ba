//! Secrets typed into tickets are replaced before they are stored, and
//! never come back in any response.

use crate::common::TestServer;
use serde_json::json;

const SECRET: &str = "hunter2";

async fn a_password_in_a_description_is_redacted_everywhere(s: &TestServer) {
    let mut responses = Vec::new();
    let r = s
        .post(
            "/api/v1/tickets",
            &s.requester,
            json!({"kind": "incident", "title": "Cannot log in to the VPN",
                   "description": "I tried user=rita password=hunter2 and it said denied"}),
        )
        .await;
    r.expect(201);
    assert_eq!(
        r.json["description"],
        "I tried user=rita password=[REDACTED:password] and it said denied"
    );
    let t = r.json.clone();
    responses.push(r);
    let path = format!("/api/v1/tickets/{}", t["id"]);

    // Also in comments, titles on update and resolution notes.
    let r = s
        .post(
            &format!("{path}/comments"),
            &s.requester,
            json!({"body": "my old one was password: hunter2 too"}),
        )
        .await;
    r.expect(201);
    assert_eq!(
        r.json["body"],
        "my old one was password: [REDACTED:password] too"
    );
    responses.push(r);
    let r = s
        .patch(
            &path,
            &s.agent,
            json!({"description": "VPN denied; user gave password=hunter2"}),
        )
        .await;
    r.expect(200);
    responses.push(r);
    s.step(&s.agent, &t, json!({"action": "acknowledge"})).await;
    let r = s
        .post(
            &format!("{path}/transitions"),
            &s.agent,
            json!({"action": "resolve", "resolution_code": "reset", "resolution_note": "reset it, was password=hunter2"}),
        )
        .await;
    r.expect(200);
    responses.push(r);

    let timeline = s.get(&format!("{path}/timeline"), &s.agent).await;
    let redactions: Vec<_> = timeline
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "ticket.redacted")
        .cloned()
        .collect();
    assert!(!redactions.is_empty(), "{}", timeline.text);
    assert_eq!(redactions[0]["data"]["fields"][0]["field"], "description");
    assert_eq!(
        redactions[0]["data"]["fields"][0]["kinds"],
        json!(["password"])
    );
    assert_eq!(
        redactions.len(),
        4,
        "create, comment, update, resolve: {}",
        timeline.text
    );

    for p in [
        path.clone(),
        format!("{path}/timeline"),
        format!("{path}/comments"),
        "/api/v1/tickets".to_string(),
        "/api/v1/tickets?q=hunter2".to_string(),
        "/api/v1/tickets?q=denied".to_string(),
        "/api/v1/events?limit=1000".to_string(),
    ] {
        for who in [&s.admin, &s.requester] {
            let r = s.get(&p, who).await;
            assert!(r.status < 500, "{p}: {}", r.text);
            responses.push(r);
        }
    }
    responses.push(timeline);
    for r in &responses {
        assert!(!r.text.contains(SECRET), "the secret leaked: {}", r.text);
    }
    // Not stored anywhere either.
    for table in ["tickets", "comments", "events"] {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM {table} WHERE {} LIKE '%hunter2%'",
            match table {
                "tickets" => "description || title || COALESCE(resolution_note, '')",
                "comments" => "body",
                _ => "data",
            }
        );
        let n: i64 = sqlx::Row::try_get(
            &sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_one(s.store().pool())
                .await
                .unwrap(),
            "n",
        )
        .unwrap();
        assert_eq!(n, 0, "{table} holds the secret");
    }
    // Searching for the secret finds nothing.
    let r = s.get("/api/v1/tickets?q=hunter2", &s.agent).await;
    assert_eq!(r.json["items"], json!([]), "{}", r.text);
}

server_tests!(a_password_in_a_description_is_redacted_everywhere);
