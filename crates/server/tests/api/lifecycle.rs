//! A ticket's life over HTTP: open, acknowledge, hold, resume, resolve,
//! reopen, close; and the refusals on the way.

use crate::common::TestServer;
use serde_json::{Value, json};

fn allowed(ticket: &Value) -> Vec<&str> {
    ticket["allowed_transitions"]
        .as_array()
        .expect("allowed_transitions")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

async fn transition(
    s: &TestServer,
    who: &crate::common::Person,
    ticket: &Value,
    body: Value,
) -> crate::common::Resp {
    s.post(
        &format!("/api/v1/tickets/{}/transitions", ticket["id"]),
        who,
        body,
    )
    .await
}

async fn an_incident_goes_from_new_to_closed(s: &TestServer) {
    let r = s
        .post(
            "/api/v1/tickets",
            &s.requester,
            json!({"kind": "incident", "title": "Email is down", "description": "Outlook says disconnected", "impact": "high", "urgency": "medium"}),
        )
        .await;
    r.expect(201);
    let t = r.json;
    assert_eq!(t["number"], "INC-000001");
    assert_eq!(t["state"], "new");
    assert_eq!(t["priority"], "P2", "high impact x medium urgency");
    assert_eq!(t["requester_id"], json!(s.requester.id()));
    assert_eq!(t["version"].as_i64().map(|v| v >= 1), Some(true), "{t}");
    assert!(
        allowed(&t).is_empty(),
        "a requester can do nothing with a new incident: {t}"
    );
    assert_eq!(t["watchers"], json!([s.requester.id()]));

    let shown = s
        .get(&format!("/api/v1/tickets/{}", t["id"]), &s.agent)
        .await;
    assert_eq!(allowed(&shown.json), ["acknowledge", "resolve"]);

    let t = s.step(&s.agent, &t, json!({"action": "acknowledge"})).await;
    assert_eq!(t["state"], "in_progress");
    assert_eq!(
        t["assignee_id"],
        json!(s.agent.id()),
        "acknowledging an unassigned ticket takes it"
    );
    assert_eq!(t["acknowledged_by"], json!(s.agent.id()));
    assert!(t["acknowledged_at"].is_string());

    // A hold needs a reason from the list.
    transition(s, &s.agent, &t, json!({"action": "hold"}))
        .await
        .expect_field(422, "reason");
    transition(
        s,
        &s.agent,
        &t,
        json!({"action": "hold", "reason": "lunch"}),
    )
    .await
    .expect_field(422, "reason");
    let t = s
        .step(
            &s.agent,
            &t,
            json!({"action": "hold", "reason": "awaiting_vendor"}),
        )
        .await;
    assert_eq!(t["state"], "on_hold");
    assert_eq!(t["on_hold_reason"], "awaiting_vendor");
    assert_eq!(allowed(&t), ["resume", "resolve"]);

    let t = s.step(&s.agent, &t, json!({"action": "resume"})).await;
    assert_eq!(t["state"], "in_progress");
    assert_eq!(t["on_hold_reason"], Value::Null);

    // Resolving needs a note, named when missing or blank.
    transition(
        s,
        &s.agent,
        &t,
        json!({"action": "resolve", "resolution_code": "fixed"}),
    )
    .await
    .expect_field(422, "resolution_note");
    transition(
        s,
        &s.agent,
        &t,
        json!({"action": "resolve", "resolution_code": "fixed", "resolution_note": "   "}),
    )
    .await
    .expect_field(422, "resolution_note");

    // A step that is not legal now: 409 listing what is.
    let r = transition(s, &s.agent, &t, json!({"action": "close"})).await;
    r.expect_problem(409);
    assert_eq!(
        r.json["allowed_transitions"],
        json!(["hold", "resolve"]),
        "{}",
        r.text
    );
    let r = transition(s, &s.agent, &t, json!({"action": "approve"})).await;
    r.expect_problem(409);
    assert_eq!(r.json["allowed_transitions"], json!(["hold", "resolve"]));
    assert_eq!(
        s.get(&format!("/api/v1/tickets/{}", t["id"]), &s.agent)
            .await
            .json["state"],
        "in_progress"
    );

    let t = s
        .step(&s.agent, &t, json!({"action": "resolve", "resolution_code": "fixed", "resolution_note": "Restarted the mail gateway"}))
        .await;
    assert_eq!(t["state"], "resolved");
    assert_eq!(t["resolution_code"], "fixed");
    assert_eq!(t["resolution_note"], "Restarted the mail gateway");
    assert!(t["resolved_at"].is_string());

    // The requester sees they may reopen or close their resolved ticket.
    let mine = s
        .get(
            &format!("/api/v1/tickets/{}", t["number"].as_str().unwrap()),
            &s.requester,
        )
        .await;
    assert_eq!(allowed(&mine.json), ["reopen", "close"]);
    let t = s
        .step(
            &s.requester,
            &t,
            json!({"action": "reopen", "reason": "It broke again after lunch"}),
        )
        .await;
    assert_eq!(t["state"], "in_progress");
    assert_eq!(t["reopen_count"], 1);
    assert_eq!(t["resolution_note"], Value::Null);
    assert!(t["reopened_at"].is_string());

    let t = s
        .step(&s.agent, &t, json!({"action": "resolve", "resolution_code": "fixed", "resolution_note": "Replaced the gateway's disk"}))
        .await;
    // Only changes have an outcome.
    transition(
        s,
        &s.requester,
        &t,
        json!({"action": "close", "outcome": "successful"}),
    )
    .await
    .expect_field(422, "outcome");
    let t = s.step(&s.requester, &t, json!({"action": "close"})).await;
    assert_eq!(t["state"], "closed");
    assert!(t["closed_at"].is_string());
    assert!(allowed(&t).is_empty());

    let r = transition(s, &s.agent, &t, json!({"action": "reopen"})).await;
    r.expect_problem(409);
    assert_eq!(r.json["allowed_transitions"], json!([]));

    // The timeline tells the story in order.
    let timeline = s
        .get(
            &format!("/api/v1/tickets/{}/timeline", t["id"]),
            &s.requester,
        )
        .await;
    let steps: Vec<&str> = timeline
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "ticket.transitioned")
        .map(|e| e["data"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "acknowledge",
            "hold",
            "resume",
            "resolve",
            "reopen",
            "resolve",
            "close"
        ]
    );
}

async fn a_change_cannot_close_without_an_outcome(s: &TestServer) {
    let r = s
        .post(
            "/api/v1/tickets",
            &s.agent,
            json!({"kind": "change", "title": "Upgrade the core switch"}),
        )
        .await;
    r.expect(201);
    let mut t = r.json;
    assert_eq!(t["number"], "CHG-000001");
    assert_eq!(t["state"], "draft");
    for action in [
        "submit_for_assessment",
        "request_approval",
        "approve",
        "implement",
        "complete_implementation",
    ] {
        t = s.step(&s.manager, &t, json!({"action": action})).await;
    }
    assert_eq!(t["state"], "review");
    let r = transition(s, &s.agent, &t, json!({"action": "close"})).await;
    r.expect_field(422, "outcome");
    transition(
        s,
        &s.agent,
        &t,
        json!({"action": "close", "outcome": "meh"}),
    )
    .await
    .expect_field(422, "outcome");
    assert_eq!(
        s.get(&format!("/api/v1/tickets/{}", t["id"]), &s.agent)
            .await
            .json["state"],
        "review"
    );
    let t = s
        .step(
            &s.agent,
            &t,
            json!({"action": "close", "outcome": "rolled_back"}),
        )
        .await;
    assert_eq!(t["state"], "closed");
    assert_eq!(t["change_outcome"], "rolled_back");
}

async fn priority_follows_impact_and_urgency(s: &TestServer) {
    for (impact, urgency, priority) in [
        ("high", "high", "P1"),
        ("high", "low", "P3"),
        ("medium", "high", "P2"),
        ("low", "medium", "P4"),
        ("low", "low", "P5"),
    ] {
        let t = s
            .create_ticket(
                &s.requester,
                json!({"kind": "incident", "title": "x", "impact": impact, "urgency": urgency}),
            )
            .await;
        assert_eq!(t["priority"], priority, "{impact} x {urgency}");
    }
    let t = s.incident(&s.requester, "defaults").await;
    assert_eq!(
        (
            t["impact"].as_str(),
            t["urgency"].as_str(),
            t["priority"].as_str()
        ),
        (Some("medium"), Some("medium"), Some("P3"))
    );
    assert_eq!(t["number"], "INC-000006");
    let req = s
        .create_ticket(
            &s.requester,
            json!({"kind": "service_request", "title": "New laptop"}),
        )
        .await;
    assert_eq!(req["number"], "REQ-000001", "numbers count per kind");
    // Agents may override with a reason.
    let t = s
        .create_ticket(
            &s.agent,
            json!({"kind": "incident", "title": "CEO's phone", "impact": "low", "urgency": "low",
                   "priority_override": {"priority": "P1", "reason": "VIP"}}),
        )
        .await;
    assert_eq!(t["priority"], "P1");
    assert_eq!(t["priority_override_reason"], "VIP");
}

async fn requesters_withdraw_their_own_requests(s: &TestServer) {
    let mine = s
        .create_ticket(
            &s.requester,
            json!({"kind": "service_request", "title": "A second monitor"}),
        )
        .await;
    let theirs = s
        .create_ticket(
            &s.requester2,
            json!({"kind": "service_request", "title": "A standing desk"}),
        )
        .await;
    assert_eq!(allowed(&mine), ["cancel"]);
    transition(s, &s.requester, &mine, json!({"action": "cancel"}))
        .await
        .expect_field(422, "reason");
    transition(s, &s.requester, &mine, json!({"action": "start"}))
        .await
        .expect_problem(403);
    transition(
        s,
        &s.requester,
        &theirs,
        json!({"action": "cancel", "reason": "mine now"}),
    )
    .await
    .expect_problem(404);
    let t = s
        .step(
            &s.requester,
            &mine,
            json!({"action": "cancel", "reason": "Found one in storage"}),
        )
        .await;
    assert_eq!(t["state"], "cancelled");
    // Finished tickets take no more comments or edits.
    s.post(
        &format!("/api/v1/tickets/{}/comments", t["id"]),
        &s.requester,
        json!({"body": "thanks"}),
    )
    .await
    .expect_problem(409);
    s.patch(
        &format!("/api/v1/tickets/{}", t["id"]),
        &s.agent,
        json!({"title": "x"}),
    )
    .await
    .expect_problem(409);
}

async fn an_update_from_a_stale_version_is_refused(s: &TestServer) {
    let t = s.incident(&s.requester, "Slow wifi").await;
    let path = format!("/api/v1/tickets/{}", t["id"]);
    let v = t["version"].as_i64().unwrap();
    let r = s
        .patch(&path, &s.agent, json!({"urgency": "high", "version": v}))
        .await;
    r.expect(200);
    assert_eq!(r.json["priority"], "P2");
    assert!(r.json["version"].as_i64().unwrap() > v);
    let r = s
        .patch(
            &path,
            &s.agent2,
            json!({"title": "Slow wifi in B", "version": v}),
        )
        .await;
    r.expect_problem(409);
    assert_eq!(s.get(&path, &s.agent).await.json["title"], "Slow wifi");
    s.patch(&path, &s.agent, json!({}))
        .await
        .expect_problem(400);
}

server_tests!(
    an_incident_goes_from_new_to_closed,
    a_change_cannot_close_without_an_outcome,
    priority_follows_impact_and_urgency,
    requesters_withdraw_their_own_requests,
    an_update_from_a_stale_version_is_refused,
);
