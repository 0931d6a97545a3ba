//! `Idempotency-Key`: a retried POST does its work once; a key reused for a
//! different request is refused.

use crate::common::TestServer;
use serde_json::json;

async fn a_retried_ticket_creation_opens_one_ticket(s: &TestServer) {
    let body = json!({"kind": "incident", "title": "Disk full on db-1", "impact": "high"});
    let first = s
        .post_idempotent("/api/v1/tickets", &s.agent, "create-db1-disk", body.clone())
        .await;
    first.expect(201);
    let (tickets, _, events) = s.write_counts().await;
    let again = s
        .post_idempotent("/api/v1/tickets", &s.agent, "create-db1-disk", body.clone())
        .await;
    assert!(again.status == 201 || again.status == 200, "{}", again.text);
    assert_eq!(again.json["id"], first.json["id"]);
    assert_eq!(again.json["number"], first.json["number"]);
    assert_eq!(
        s.write_counts().await,
        (tickets, 0, events),
        "the retry wrote nothing"
    );
    assert_eq!(s.ticket_count().await, 1);

    // The same key for a different body is a conflict, not a second ticket.
    let other = json!({"kind": "incident", "title": "Disk full on db-2"});
    let r = s
        .post_idempotent(
            "/api/v1/tickets",
            &s.agent,
            "create-db1-disk",
            other.clone(),
        )
        .await;
    r.expect_problem(409);
    assert!(
        r.json["detail"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key"),
        "{}",
        r.text
    );
    assert_eq!(s.ticket_count().await, 1);

    // Keys belong to their user: another user's identical key is theirs.
    let r = s
        .post_idempotent(
            "/api/v1/tickets",
            &s.agent2,
            "create-db1-disk",
            body.clone(),
        )
        .await;
    r.expect(201);
    assert_ne!(r.json["id"], first.json["id"]);
    // A new key is a new ticket; no key at all is a new ticket every time.
    s.post_idempotent(
        "/api/v1/tickets",
        &s.agent,
        "create-db2-disk",
        other.clone(),
    )
    .await
    .expect(201);
    s.post("/api/v1/tickets", &s.agent, body.clone())
        .await
        .expect(201);
    s.post("/api/v1/tickets", &s.agent, body).await.expect(201);
    assert_eq!(s.ticket_count().await, 5);
}

async fn a_refused_request_does_not_use_up_its_key(s: &TestServer) {
    let r = s
        .post_idempotent(
            "/api/v1/tickets",
            &s.agent,
            "k-1",
            json!({"kind": "incident", "title": ""}),
        )
        .await;
    r.expect_field(422, "title");
    let r = s
        .post_idempotent(
            "/api/v1/tickets",
            &s.agent,
            "k-1",
            json!({"kind": "incident", "title": "Fixed it"}),
        )
        .await;
    r.expect(201);
    assert_eq!(s.ticket_count().await, 1);
}

async fn a_retried_comment_is_posted_once(s: &TestServer) {
    let t = s.incident(&s.requester, "Cannot print").await;
    let path = format!("/api/v1/tickets/{}/comments", t["id"]);
    let body = json!({"body": "Tried turning it off and on"});
    let first = s
        .post_idempotent(&path, &s.requester, "reply-1", body.clone())
        .await;
    first.expect(201);
    let before = s.write_counts().await;
    let again = s
        .post_idempotent(&path, &s.requester, "reply-1", body.clone())
        .await;
    assert!(again.status == 201 || again.status == 200, "{}", again.text);
    assert_eq!(again.json["id"], first.json["id"]);
    assert_eq!(s.write_counts().await, before);
    let r = s
        .post_idempotent(
            &path,
            &s.requester,
            "reply-1",
            json!({"body": "Something else"}),
        )
        .await;
    r.expect_problem(409);
    // The key is tied to the route too: reusing it to open a ticket is a conflict.
    let r = s
        .post_idempotent(
            "/api/v1/tickets",
            &s.requester,
            "reply-1",
            json!({"kind": "incident", "title": "x"}),
        )
        .await;
    r.expect_problem(409);
    assert_eq!(s.write_counts().await, before);
    let comments = s.get(&path, &s.requester).await;
    assert_eq!(
        comments.json.as_array().unwrap().len(),
        1,
        "{}",
        comments.text
    );
}

async fn a_retried_transition_is_taken_once(s: &TestServer) {
    let t = s.incident(&s.requester, "Fan noise").await;
    let path = format!("/api/v1/tickets/{}/transitions", t["id"]);
    s.post_idempotent(&path, &s.agent, "ack-1", json!({"action": "acknowledge"}))
        .await
        .expect(200);
    let before = s.write_counts().await;
    // Without the key the retry would be an illegal step (409).
    let r = s
        .post_idempotent(&path, &s.agent, "ack-1", json!({"action": "acknowledge"}))
        .await;
    r.expect(200);
    assert_eq!(r.json["state"], "in_progress");
    assert_eq!(s.write_counts().await, before);
    s.post(&path, &s.agent, json!({"action": "acknowledge"}))
        .await
        .expect_problem(409);
}

server_tests!(
    a_retried_ticket_creation_opens_one_ticket,
    a_refused_request_does_not_use_up_its_key,
    a_retried_comment_is_posted_once,
    a_retried_transition_is_taken_once,
);
