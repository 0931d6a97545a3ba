//! What a requester may read: their own tickets, public replies, and nothing
//! of the desk's internal work notes.

use crate::common::TestServer;
use serde_json::json;

const NOTE: &str = "Root cause is Bob's cron job; do not tell the customer";

async fn requesters_never_see_internal_notes(s: &TestServer) {
    let t = s.incident(&s.requester, "VPN drops every hour").await;
    let path = format!("/api/v1/tickets/{}", t["id"]);
    s.post(
        &format!("{path}/comments"),
        &s.requester,
        json!({"body": "It happened again at 10:00"}),
    )
    .await
    .expect(201);
    s.post(
        &format!("{path}/comments"),
        &s.agent,
        json!({"body": NOTE, "visibility": "internal"}),
    )
    .await
    .expect(201);
    // An internal note with a secret in it: its redaction event is internal too.
    s.post(
        &format!("{path}/comments"),
        &s.agent,
        json!({"body": "vpn admin password=s3cr3t-vpn", "visibility": "internal"}),
    )
    .await
    .expect(201);
    s.post(
        &format!("{path}/comments"),
        &s.agent,
        json!({"body": "We are looking into it", "visibility": "public"}),
    )
    .await
    .expect(201);

    for reference in [
        t["id"].to_string(),
        t["number"].as_str().unwrap().to_string(),
    ] {
        let comments = s
            .get(
                &format!("/api/v1/tickets/{reference}/comments"),
                &s.requester,
            )
            .await;
        comments.expect(200);
        let bodies: Vec<&str> = comments
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["body"].as_str().unwrap())
            .collect();
        assert_eq!(
            bodies,
            ["It happened again at 10:00", "We are looking into it"]
        );
        assert!(!comments.text.contains("internal"), "{}", comments.text);

        let timeline = s
            .get(
                &format!("/api/v1/tickets/{reference}/timeline"),
                &s.requester,
            )
            .await;
        timeline.expect(200);
        let events = timeline.json.as_array().unwrap();
        assert!(events.iter().any(|e| e["kind"] == "ticket.created"));
        assert_eq!(
            events
                .iter()
                .filter(|e| e["kind"] == "ticket.commented")
                .count(),
            2,
            "{}",
            timeline.text
        );
        assert!(
            events
                .iter()
                .all(|e| e["data"]["visibility"] != "internal" && e["kind"] != "ticket.redacted"),
            "{}",
            timeline.text
        );
        assert!(
            !timeline.text.contains("Root cause") && !timeline.text.contains("vpn admin"),
            "{}",
            timeline.text
        );
    }

    // The desk sees all of it.
    let comments = s.get(&format!("{path}/comments"), &s.agent).await;
    assert_eq!(comments.json.as_array().unwrap().len(), 4);
    assert!(comments.text.contains(NOTE));
    let timeline = s.get(&format!("{path}/timeline"), &s.agent).await;
    let events = timeline.json.as_array().unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e["kind"] == "ticket.commented")
            .count(),
        4
    );
    assert!(events.iter().any(|e| e["kind"] == "ticket.redacted"));
    assert!(
        !timeline.text.contains("s3cr3t-vpn"),
        "secrets are redacted for the desk too"
    );
}

async fn a_requester_lists_only_their_own_tickets_whatever_they_ask_for(s: &TestServer) {
    let mine = [
        s.incident(&s.requester, "My printer jams").await,
        s.incident(&s.requester, "My monitor flickers").await,
    ];
    let theirs = s.incident(&s.requester2, "Ron's printer jams").await;
    s.incident(&s.agent, "Agent's printer jams").await;
    let my_ids: Vec<_> = mine.iter().rev().map(|t| t["id"].clone()).collect();

    for query in [
        String::new(),
        format!("?requester_id={}", s.requester2.id()),
        format!("?requester_id={}", s.agent.id()),
        "?q=printer".to_string(),
        "?open=true&sort=-created_at&limit=200".to_string(),
    ] {
        let r = s
            .get(&format!("/api/v1/tickets{query}"), &s.requester)
            .await;
        r.expect(200);
        let ids: Vec<_> = r.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].clone())
            .collect();
        assert!(
            ids.iter().all(|id| my_ids.contains(id)),
            "{query}: {}",
            r.text
        );
        assert!(
            !r.text.contains("Ron's") && !r.text.contains("Agent's"),
            "{query}: {}",
            r.text
        );
        if !query.starts_with("?q=") {
            assert_eq!(ids, my_ids, "{query}");
        }
    }
    let r = s.get("/api/v1/tickets?q=printer", &s.requester).await;
    assert_eq!(r.json["items"].as_array().unwrap().len(), 1, "{}", r.text);

    // Queue counts: only "my requests".
    let r = s.get("/api/v1/queues/counts", &s.requester).await;
    r.expect(200);
    assert_eq!(
        r.json,
        json!({"mine": 2, "my_teams": null, "unassigned": null, "all_open": null})
    );

    // Links to someone else's ticket stay invisible to the requester.
    s.post(
        &format!("/api/v1/tickets/{}/links", mine[0]["id"]),
        &s.agent,
        json!({"kind": "related", "target": theirs["id"]}),
    )
    .await
    .expect(201);
    s.post(
        &format!("/api/v1/tickets/{}/links", mine[0]["id"]),
        &s.agent,
        json!({"kind": "related", "target": mine[1]["id"]}),
    )
    .await
    .expect(201);
    let r = s
        .get(
            &format!("/api/v1/tickets/{}/links", mine[0]["id"]),
            &s.requester,
        )
        .await;
    r.expect(200);
    assert_eq!(r.json.as_array().unwrap().len(), 1, "{}", r.text);
    assert!(
        !r.text.contains(theirs["number"].as_str().unwrap()),
        "{}",
        r.text
    );
    let r = s
        .get(
            &format!("/api/v1/tickets/{}/links", mine[0]["id"]),
            &s.agent,
        )
        .await;
    assert_eq!(r.json.as_array().unwrap().len(), 2, "{}", r.text);
}

server_tests!(
    requesters_never_see_internal_notes,
    a_requester_lists_only_their_own_tickets_whatever_they_ask_for
);
