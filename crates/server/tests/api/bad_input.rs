//! Bad input is a 4xx problem+json that says what is wrong, writes nothing,
//! and leaves the server serving.

use crate::common::{Cred, Resp, TestServer, enc};
use opsdesk_server::BODY_LIMIT_BYTES;
use serde_json::{Value, json};

/// Sends one bad request and checks: the status, the field named (if
/// any), nothing written, and the server still answering.
async fn refused(
    s: &TestServer,
    what: &str,
    status: u16,
    field: Option<&str>,
    send: impl Future<Output = Resp>,
) {
    let before = s.write_counts().await;
    let r = send.await;
    assert_eq!(r.status, status, "{what}: {}", r.text);
    r.expect_problem(status);
    if let Some(field) = field {
        assert!(
            r.fields().iter().any(|f| f == field),
            "{what}: expected '{field}' to be named, got {:?}: {}",
            r.fields(),
            r.text
        );
    }
    assert_eq!(s.write_counts().await, before, "{what}: nothing is written");
    s.get("/healthz", Cred::None).await.expect(200);
}

fn ticket(extra: Value) -> Value {
    let mut body = json!({"kind": "incident", "title": "Printer jams"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

async fn malformed_or_mistyped_ticket_bodies_name_what_is_wrong(s: &TestServer) {
    let create = "/api/v1/tickets";
    let agent = Cred::from(&s.agent);
    let raw = |content_type: &'static str, body: &'static str| async move {
        s.send_raw(
            "POST",
            create,
            agent,
            content_type,
            body.as_bytes().to_vec(),
        )
        .await
    };
    refused(
        s,
        "truncated JSON",
        400,
        None,
        raw("application/json", r#"{"kind": "incident", "title": "#),
    )
    .await;
    refused(
        s,
        "trailing garbage",
        400,
        None,
        raw(
            "application/json",
            r#"{"kind": "incident", "title": "x"} {"#,
        ),
    )
    .await;
    refused(s, "an empty body", 400, None, raw("application/json", "")).await;
    refused(
        s,
        "single quotes",
        400,
        None,
        raw("application/json", "{'kind': 'incident'}"),
    )
    .await;
    refused(
        s,
        "text/plain",
        415,
        None,
        raw("text/plain", r#"{"kind": "incident", "title": "x"}"#),
    )
    .await;
    refused(
        s,
        "a form",
        415,
        None,
        raw("application/x-www-form-urlencoded", "kind=incident&title=x"),
    )
    .await;
    refused(s, "no content type", 415, None, async {
        s.finish(
            s.http
                .post(s.url(create))
                .bearer_auth(&s.agent.token)
                .body(r#"{"kind":"incident","title":"x"}"#),
        )
        .await
    })
    .await;
    refused(s, "an array", 422, None, raw("application/json", "[]")).await;
    refused(
        s,
        "a string",
        422,
        None,
        raw("application/json", "\"ticket\""),
    )
    .await;

    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "an unknown field",
            ticket(json!({"colour": "red"})),
            "colour",
        ),
        ("a misspelt field", ticket(json!({"titel": "x"})), "titel"),
        ("a missing title", json!({"kind": "incident"}), "title"),
        ("a missing kind", json!({"title": "x"}), "kind"),
        (
            "a number for the title",
            ticket(json!({"title": 5})),
            "title",
        ),
        (
            "null for the title",
            ticket(json!({"title": null})),
            "title",
        ),
        (
            "a string for tags",
            ticket(json!({"tags": "network"})),
            "tags",
        ),
        (
            "a string for requester_id",
            ticket(json!({"requester_id": "rita"})),
            "requester_id",
        ),
        (
            "a fraction for team_id",
            ticket(json!({"team_id": 1.5})),
            "team_id",
        ),
        ("an unknown kind", ticket(json!({"kind": "outage"})), "kind"),
        (
            "a capitalised kind",
            ticket(json!({"kind": "Incident"})),
            "kind",
        ),
        (
            "an unknown impact",
            ticket(json!({"impact": "extreme"})),
            "impact",
        ),
        (
            "a number for urgency",
            ticket(json!({"urgency": 1})),
            "urgency",
        ),
        (
            "a title of 201 characters",
            ticket(json!({"title": "x".repeat(201)})),
            "title",
        ),
        ("a blank title", ticket(json!({"title": "   "})), "title"),
        (
            "a title with a newline",
            ticket(json!({"title": "two\nlines"})),
            "title",
        ),
        (
            "a description over 64 KiB",
            ticket(json!({"description": "d".repeat(64 * 1024 + 1)})),
            "description",
        ),
        (
            "a NUL in the description",
            ticket(json!({"description": "before\u{0}after"})),
            "description",
        ),
        (
            "a NUL in the title",
            ticket(json!({"title": "a\u{0}b"})),
            "title",
        ),
        (
            "a tag with spaces",
            ticket(json!({"tags": ["Bad Tag"]})),
            "tags[0]",
        ),
        (
            "21 tags",
            ticket(json!({"tags": (0..21).map(|i| format!("t{i}")).collect::<Vec<_>>()})),
            "tags",
        ),
        (
            "a team that does not exist",
            ticket(json!({"team_id": 4242})),
            "team_id",
        ),
        (
            "a service that does not exist",
            ticket(json!({"service_id": 4242})),
            "service_id",
        ),
        (
            "a requester who does not exist",
            ticket(json!({"requester_id": 4242})),
            "requester_id",
        ),
        (
            "an assignee who does not exist",
            ticket(json!({"assignee_id": 4242})),
            "assignee_id",
        ),
        (
            "a priority override without a reason",
            ticket(json!({"priority_override": {"priority": "P1"}})),
            "priority_override.reason",
        ),
        (
            "an unknown priority",
            ticket(json!({"priority_override": {"priority": "P9", "reason": "why not"}})),
            "priority_override.priority",
        ),
        (
            "a blank override reason",
            ticket(json!({"priority_override": {"priority": "P1", "reason": " "}})),
            "priority_override.reason",
        ),
    ];
    for (what, body, field) in cases {
        refused(
            s,
            what,
            422,
            Some(field),
            s.post(create, &s.agent, body.clone()),
        )
        .await;
    }
    // The limits are inclusive.
    let t = s
        .create_ticket(
            &s.agent,
            ticket(json!({"title": "é".repeat(200), "description": "d".repeat(64 * 1024)})),
        )
        .await;
    assert_eq!(t["title"].as_str().unwrap().chars().count(), 200);
}

async fn a_body_over_the_limit_is_413(s: &TestServer) {
    let body = ticket(json!({"description": "x".repeat(BODY_LIMIT_BYTES)}));
    refused(
        s,
        "a body over BODY_LIMIT_BYTES",
        413,
        None,
        s.post("/api/v1/tickets", &s.agent, body.clone()),
    )
    .await;
    let t = s.incident(&s.requester, "Pasted a whole log file").await;
    let comments = format!("/api/v1/tickets/{}/comments", t["id"]);
    refused(s, "a comment over BODY_LIMIT_BYTES", 413, None, async {
        s.post(
            &comments,
            &s.requester,
            json!({"body": "y".repeat(BODY_LIMIT_BYTES + 1)}),
        )
        .await
    })
    .await;
    s.post(
        &comments,
        &s.requester,
        json!({"body": "the short version"}),
    )
    .await
    .expect(201);
}

async fn bad_comments_and_steps_are_refused(s: &TestServer) {
    let t = s.incident(&s.requester, "Keyboard missing keys").await;
    let comments = format!("/api/v1/tickets/{}/comments", t["id"]);
    let steps = format!("/api/v1/tickets/{}/transitions", t["id"]);
    refused(
        s,
        "an empty comment",
        422,
        Some("body"),
        s.post(&comments, &s.agent, json!({"body": "  "})),
    )
    .await;
    refused(
        s,
        "a comment without a body",
        422,
        Some("body"),
        s.post(&comments, &s.agent, json!({})),
    )
    .await;
    refused(s, "a secret visibility", 422, Some("visibility"), async {
        s.post(
            &comments,
            &s.agent,
            json!({"body": "x", "visibility": "secret"}),
        )
        .await
    })
    .await;
    refused(s, "a NUL in a comment", 422, Some("body"), async {
        s.post(&comments, &s.agent, json!({"body": "a\u{0}b"}))
            .await
    })
    .await;
    refused(s, "a comment over 64 KiB", 422, Some("body"), async {
        s.post(
            &comments,
            &s.agent,
            json!({"body": "c".repeat(64 * 1024 + 1)}),
        )
        .await
    })
    .await;
    refused(
        s,
        "a step without an action",
        422,
        Some("action"),
        s.post(&steps, &s.agent, json!({})),
    )
    .await;
    refused(
        s,
        "an unknown action",
        422,
        Some("action"),
        s.post(&steps, &s.agent, json!({"action": "explode"})),
    )
    .await;
    refused(
        s,
        "an unknown field next to the action",
        422,
        Some("urgent"),
        async {
            s.post(
                &steps,
                &s.agent,
                json!({"action": "acknowledge", "urgent": true}),
            )
            .await
        },
    )
    .await;
    refused(
        s,
        "a number for the hold reason",
        422,
        Some("reason"),
        async {
            s.post(&steps, &s.agent, json!({"action": "hold", "reason": 3}))
                .await
        },
    )
    .await;
    refused(s, "a link to nowhere", 422, Some("target"), async {
        s.post(
            &format!("/api/v1/tickets/{}/links", t["id"]),
            &s.agent,
            json!({"kind": "related", "target": "INC-424242"}),
        )
        .await
    })
    .await;
    refused(s, "an unknown link kind", 422, Some("kind"), async {
        s.post(
            &format!("/api/v1/tickets/{}/links", t["id"]),
            &s.agent,
            json!({"kind": "cousin_of", "target": 1}),
        )
        .await
    })
    .await;
    refused(
        s,
        "a bad Idempotency-Key",
        422,
        Some("Idempotency-Key"),
        async {
            s.post_idempotent(
                "/api/v1/tickets",
                &s.agent,
                &"k".repeat(201),
                ticket(json!({})),
            )
            .await
        },
    )
    .await;
}

async fn unknown_tickets_and_routes_are_404(s: &TestServer) {
    for reference in ["424242", "INC-424242", "CHG-000001", "not-a-ticket", "-1"] {
        refused(
            s,
            &format!("ticket {reference}"),
            404,
            None,
            s.get(&format!("/api/v1/tickets/{reference}"), &s.agent),
        )
        .await;
        refused(s, &format!("comment on {reference}"), 404, None, async {
            s.post(
                &format!("/api/v1/tickets/{reference}/comments"),
                &s.agent,
                json!({"body": "hello"}),
            )
            .await
        })
        .await;
        refused(s, &format!("step on {reference}"), 404, None, async {
            s.post(
                &format!("/api/v1/tickets/{reference}/transitions"),
                &s.agent,
                json!({"action": "acknowledge"}),
            )
            .await
        })
        .await;
    }
    refused(
        s,
        "an unknown route",
        404,
        None,
        s.get("/api/v1/tickets/1/history/all", &s.agent),
    )
    .await;
    refused(
        s,
        "an unknown API version",
        404,
        None,
        s.get("/api/v2/tickets", &s.agent),
    )
    .await;
    refused(
        s,
        "an unknown user",
        404,
        None,
        s.get("/api/v1/users/424242", &s.agent),
    )
    .await;
    refused(
        s,
        "an unknown team",
        404,
        None,
        s.get("/api/v1/teams/424242", &s.agent),
    )
    .await;
    refused(
        s,
        "an unknown service",
        404,
        None,
        s.get("/api/v1/services/424242", &s.agent),
    )
    .await;
}

async fn path_and_method_mistakes_are_problems_too(s: &TestServer) {
    refused(
        s,
        "a user id that is not a number",
        400,
        None,
        s.get("/api/v1/users/alice", &s.agent),
    )
    .await;
    refused(
        s,
        "a token id that is not a number",
        400,
        None,
        s.delete("/api/v1/tokens/abc", &s.agent),
    )
    .await;
    let r = s
        .send(
            "PUT",
            "/api/v1/tickets",
            (&s.agent).into(),
            Some(&json!({})),
        )
        .await;
    r.expect_problem(405);
    assert!(
        r.header("allow")
            .is_some_and(|a| a.contains("GET") && a.contains("POST")),
        "{:?}",
        r.headers
    );
}

async fn bad_list_parameters_name_the_parameter(s: &TestServer) {
    for i in 0..3 {
        s.incident(&s.agent, &format!("Ticket {i}")).await;
    }
    let page = s
        .get("/api/v1/tickets?limit=1&sort=priority", &s.agent)
        .await;
    let priority_cursor = page.json["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let cases: Vec<(&str, String, &str)> = vec![
        ("an unknown filter", "colour=red".into(), "colour"),
        ("a misspelt filter", "states=new".into(), "states"),
        ("limit 0", "limit=0".into(), "limit"),
        ("limit over the maximum", "limit=201".into(), "limit"),
        ("a negative limit", "limit=-5".into(), "limit"),
        ("a word for the limit", "limit=ten".into(), "limit"),
        ("a garbage cursor", "cursor=garbage!".into(), "cursor"),
        (
            "a base64 cursor of nonsense",
            format!("cursor={}", enc("bm9uc2Vuc2U")),
            "cursor",
        ),
        (
            "a cursor from another sort",
            format!("cursor={}", enc(&priority_cursor)),
            "cursor",
        ),
        ("an unknown sort", "sort=title".into(), "sort"),
        ("an unknown state", "state=new,lost".into(), "state"),
        ("an unknown kind", "kind=outage".into(), "kind"),
        ("an unknown priority", "priority=P0".into(), "priority"),
        ("open=maybe", "open=maybe".into(), "open"),
        (
            "a bad time",
            "created_after=yesterday".into(),
            "created_after",
        ),
        ("a bad team", "team_id=1,x".into(), "team_id"),
        ("a bad assignee", "assignee=someone".into(), "assignee"),
        (
            "a bad requester",
            "requester_id=rita".into(),
            "requester_id",
        ),
        (
            "a search without words",
            format!("q={}", enc("-- ** --")),
            "q",
        ),
        (
            "a search over 500 characters",
            format!("q={}", "w".repeat(501)),
            "q",
        ),
        ("a NUL in the search", "q=printer%00jam".into(), "q"),
        ("a NUL in a tag", "tag=print%00er".into(), "tag"),
    ];
    for (what, query, field) in cases {
        refused(
            s,
            what,
            422,
            Some(field),
            s.get(&format!("/api/v1/tickets?{query}"), &s.agent),
        )
        .await;
    }
    refused(
        s,
        "an unknown events parameter",
        422,
        Some("since"),
        s.get("/api/v1/events?since=1", &s.manager),
    )
    .await;
    refused(
        s,
        "a bad events limit",
        422,
        Some("limit"),
        s.get("/api/v1/events?limit=1001", &s.manager),
    )
    .await;
    refused(
        s,
        "a bad tokens user_id",
        422,
        Some("user_id"),
        s.get("/api/v1/tokens?user_id=me", &s.admin),
    )
    .await;
    // And the good ones still work.
    s.get(
        &format!(
            "/api/v1/tickets?sort=priority&cursor={}",
            enc(&priority_cursor)
        ),
        &s.agent,
    )
    .await
    .expect(200);
}

async fn directory_input_is_checked(s: &TestServer) {
    let admin = &s.admin;
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (
            "a username with spaces",
            "/api/v1/users",
            json!({"username": "Bad Name", "display_name": "B", "role": "agent"}),
            "username",
        ),
        (
            "an unknown role",
            "/api/v1/users",
            json!({"username": "bob2", "display_name": "B", "role": "root"}),
            "role",
        ),
        (
            "a short password",
            "/api/v1/users",
            json!({"username": "bob2", "display_name": "B", "role": "agent", "password": "short"}),
            "password",
        ),
        (
            "a bad e-mail",
            "/api/v1/users",
            json!({"username": "bob2", "display_name": "B", "role": "agent", "email": "nope"}),
            "email",
        ),
        (
            "a team without a name",
            "/api/v1/teams",
            json!({"name": ""}),
            "name",
        ),
        (
            "a service tier of 9",
            "/api/v1/services",
            json!({"name": "Mail", "tier": 9}),
            "tier",
        ),
        (
            "a token expiring in the past",
            "/api/v1/tokens",
            json!({"name": "old", "expires_at": "2000-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            "a token expiry that is not a time",
            "/api/v1/tokens",
            json!({"name": "old", "expires_at": "soon"}),
            "expires_at",
        ),
    ];
    for (what, path, body, field) in cases {
        refused(s, what, 422, Some(field), s.post(path, admin, body.clone())).await;
    }
    s.post(
        "/api/v1/users",
        admin,
        json!({"username": "dupe", "display_name": "D", "role": "agent"}),
    )
    .await
    .expect(201);
    let r = s
        .post(
            "/api/v1/users",
            admin,
            json!({"username": "dupe", "display_name": "D", "role": "agent"}),
        )
        .await;
    r.expect_problem(409);
}

server_tests!(
    malformed_or_mistyped_ticket_bodies_name_what_is_wrong,
    a_body_over_the_limit_is_413,
    bad_comments_and_steps_are_refused,
    unknown_tickets_and_routes_are_404,
    path_and_method_mistakes_are_problems_too,
    bad_list_parameters_name_the_parameter,
    directory_input_is_checked,
);
