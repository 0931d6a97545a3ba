//! Who may call what: 401 without valid credentials, 403 for a role without
//! the right, 404 (never 403) for a requester probing somebody else's ticket,
//! and the grants each role does have.

use crate::common::{Cred, Resp, TestServer};
use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::{Role, TokenId};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Every authenticated route: method and path template.
const PROTECTED: &[(&str, &str)] = &[
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/me/password"),
    ("GET", "/api/v1/tickets"),
    ("POST", "/api/v1/tickets"),
    ("GET", "/api/v1/tickets/{ticket}"),
    ("PATCH", "/api/v1/tickets/{ticket}"),
    ("POST", "/api/v1/tickets/{ticket}/assign"),
    ("POST", "/api/v1/tickets/{ticket}/transitions"),
    ("GET", "/api/v1/tickets/{ticket}/comments"),
    ("POST", "/api/v1/tickets/{ticket}/comments"),
    ("GET", "/api/v1/tickets/{ticket}/timeline"),
    ("GET", "/api/v1/tickets/{ticket}/links"),
    ("POST", "/api/v1/tickets/{ticket}/links"),
    ("DELETE", "/api/v1/tickets/{ticket}/links/{target}"),
    ("POST", "/api/v1/tickets/{ticket}/merge"),
    ("GET", "/api/v1/tickets/{ticket}/sla"),
    ("GET", "/api/v1/reports/sla"),
    ("GET", "/api/v1/queues/counts"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/{id}"),
    ("PATCH", "/api/v1/users/{id}"),
    ("GET", "/api/v1/teams"),
    ("POST", "/api/v1/teams"),
    ("GET", "/api/v1/teams/{id}"),
    ("PUT", "/api/v1/teams/{id}"),
    ("POST", "/api/v1/teams/{id}/members"),
    ("DELETE", "/api/v1/teams/{id}/members/{user_id}"),
    ("GET", "/api/v1/services"),
    ("POST", "/api/v1/services"),
    ("GET", "/api/v1/services/{id}"),
    ("PUT", "/api/v1/services/{id}"),
    ("GET", "/api/v1/tokens"),
    ("POST", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{id}"),
    ("GET", "/api/v1/audit/verify"),
    ("GET", "/api/v1/events"),
    ("GET", "/api/v1/calendars"),
    ("POST", "/api/v1/calendars"),
    ("GET", "/api/v1/calendars/{id}"),
    ("PUT", "/api/v1/calendars/{id}"),
    ("GET", "/api/v1/sla-policies"),
    ("POST", "/api/v1/sla-policies"),
    ("GET", "/api/v1/sla-policies/{id}"),
    ("PUT", "/api/v1/sla-policies/{id}"),
    ("GET", "/api/v1/integrations"),
    ("POST", "/api/v1/integrations"),
    ("GET", "/api/v1/integrations/{id}"),
    ("PUT", "/api/v1/integrations/{id}"),
    ("DELETE", "/api/v1/integrations/{id}"),
    ("PUT", "/api/v1/integrations/{id}/routes"),
    ("GET", "/api/v1/alerts"),
    ("GET", "/api/v1/alerts/{id}"),
    ("POST", "/api/v1/alerts/{id}/acknowledge"),
    ("GET", "/api/v1/alert-noise"),
    ("GET", "/api/v1/silences"),
    ("POST", "/api/v1/silences"),
    ("GET", "/api/v1/silences/{id}"),
    ("PUT", "/api/v1/silences/{id}"),
    ("DELETE", "/api/v1/silences/{id}"),
    ("GET", "/api/v1/maintenance-windows"),
    ("POST", "/api/v1/maintenance-windows"),
    ("GET", "/api/v1/maintenance-windows/{id}"),
    ("PUT", "/api/v1/maintenance-windows/{id}"),
    ("DELETE", "/api/v1/maintenance-windows/{id}"),
    ("GET", "/api/v1/inhibition-rules"),
    ("POST", "/api/v1/inhibition-rules"),
    ("GET", "/api/v1/inhibition-rules/{id}"),
    ("PUT", "/api/v1/inhibition-rules/{id}"),
    ("DELETE", "/api/v1/inhibition-rules/{id}"),
    ("GET", "/api/v1/heartbeats"),
    ("POST", "/api/v1/heartbeats"),
    ("DELETE", "/api/v1/heartbeats/{id}"),
];

/// The only /api/v1 routes that answer without credentials.
const PUBLIC: &[(&str, &str)] = &[
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/openapi.json"),
    // Alert intake authenticates by integration key, never by bearer token.
    (
        "POST",
        "/api/v1/integrations/alertmanager/{integration_key}",
    ),
    ("POST", "/api/v1/integrations/generic/{integration_key}"),
    ("POST", "/v2/enqueue"),
    (
        "POST",
        "/api/v1/integrations/heartbeat/{integration_key}/{name}",
    ),
];

/// A template with every `{param}` replaced by `value`.
fn fill(template: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closing brace") + start;
        out.push_str(value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

async fn call(s: &TestServer, method: &str, path: &str, cred: Cred<'_>) -> Resp {
    let body = matches!(method, "POST" | "PATCH" | "PUT").then(|| json!({}));
    s.send(method, path, cred, body.as_ref()).await
}

async fn the_route_table_above_is_every_route_in_the_openapi_document(s: &TestServer) {
    let doc = s.get("/api/v1/openapi.json", Cred::None).await.json;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    // The document does not list itself.
    let listed: BTreeSet<(String, String)> = PROTECTED
        .iter()
        .chain(PUBLIC)
        .filter(|(_, p)| *p != "/api/v1/openapi.json")
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented, listed,
        "a route was added or removed: update PROTECTED/PUBLIC and the RBAC tests"
    );
}

async fn every_api_route_but_login_refuses_missing_or_dead_credentials(s: &TestServer) {
    let store = s.store();
    let now = Timestamp::now();
    // A revoked token, an expired token and the token of a deactivated account.
    let (revoked, revoked_secret) = store
        .create_token(s.agent.user.id, "revoked", None, None, now)
        .await
        .unwrap();
    store
        .revoke_token(revoked.id, s.admin.user.id, now)
        .await
        .unwrap();
    let (expiring, expired_secret) = store
        .create_token(
            s.agent.user.id,
            "expired",
            Some(now + SignedDuration::from_hours(1)),
            None,
            now,
        )
        .await
        .unwrap();
    sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE id = $2")
        .bind((now - SignedDuration::from_secs(1)).as_microsecond())
        .bind(expiring.id.0)
        .execute(store.pool())
        .await
        .unwrap();
    let leaver = s.person("leaver", Role::Agent).await;
    let patch = opsdesk_store::users::UserPatch {
        active: Some(false),
        ..Default::default()
    };
    store
        .update_user(leaver.user.id, patch, s.admin.user.id, now)
        .await
        .unwrap();

    let creds: Vec<(&str, Cred<'_>)> = vec![
        ("no credentials", Cred::None),
        (
            "a garbage bearer token",
            Cred::Authorization("Bearer odt_0123456789abcdef"),
        ),
        ("an empty bearer token", Cred::Authorization("Bearer ")),
        (
            "basic auth",
            Cred::Authorization("Basic YWxpY2U6Y29ycmVjdCBob3JzZQ=="),
        ),
        ("a revoked token", Cred::Bearer(&revoked_secret)),
        ("an expired token", Cred::Bearer(&expired_secret)),
        ("a deactivated account's token", Cred::Bearer(&leaver.token)),
        (
            "an unknown session cookie",
            Cred::Session {
                cookie: "opsdesk_session=0123abcd",
                csrf: Some("x"),
            },
        ),
    ];
    let before = s.write_counts().await;
    for (method, template) in PROTECTED {
        let path = fill(template, "1");
        for (what, cred) in &creds {
            let r = call(s, method, &path, *cred).await;
            assert_eq!(r.status, 401, "{method} {path} with {what}: {}", r.text);
            r.expect_problem(401);
            assert_eq!(
                r.header("www-authenticate"),
                Some("Bearer"),
                "{method} {path} with {what}"
            );
        }
    }
    assert_eq!(
        s.write_counts().await,
        before,
        "refused requests wrote nothing"
    );
    // The same token still works once it is live.
    s.get("/api/v1/me", &s.agent).await.expect(200);
    // Public routes answer anyone.
    s.get("/api/v1/openapi.json", Cred::None).await.expect(200);
    s.post(
        "/api/v1/auth/login",
        Cred::None,
        json!({"username": "alice", "password": "wrong password"}),
    )
    .await
    .expect_problem(401);
}

/// Asserts 403 problem+json, with what was tried in the message.
#[track_caller]
fn forbidden(r: &Resp, what: &str) {
    assert_eq!(r.status, 403, "{what}: {}", r.text);
    r.expect_problem(403);
}

async fn requesters_are_refused_desk_work(s: &TestServer) {
    let me = &s.requester;
    let own = s.incident(me, "My laptop will not boot").await;
    let other_ticket = s.incident(&s.agent, "Agent's own ticket").await;
    let t = own["id"].as_i64().unwrap();
    let team = s
        .post("/api/v1/teams", &s.manager, json!({"name": "Desk"}))
        .await
        .json;
    let service = s
        .post(
            "/api/v1/services",
            &s.manager,
            json!({"name": "Mail", "tier": 2}),
        )
        .await
        .json;
    let (team_id, service_id) = (
        team["id"].as_i64().unwrap(),
        service["id"].as_i64().unwrap(),
    );
    let before = (
        s.write_counts().await,
        s.count("api_tokens").await,
        s.count("teams").await,
        s.count("users").await,
    );

    let cases: Vec<(&str, &str, String, Option<Value>)> = vec![
        (
            "read SLA reports",
            "GET",
            "/api/v1/reports/sla?from=2026-01-01T00:00:00Z".into(),
            None,
        ),
        ("list users", "GET", "/api/v1/users".into(), None),
        (
            "look up another user",
            "GET",
            format!("/api/v1/users/{}", s.agent.id()),
            None,
        ),
        ("list teams", "GET", "/api/v1/teams".into(), None),
        (
            "look up a team",
            "GET",
            format!("/api/v1/teams/{team_id}"),
            None,
        ),
        (
            "create a team",
            "POST",
            "/api/v1/teams".into(),
            Some(json!({"name": "Mine"})),
        ),
        (
            "change a team",
            "PUT",
            format!("/api/v1/teams/{team_id}"),
            Some(json!({"name": "Mine"})),
        ),
        (
            "join a team",
            "POST",
            format!("/api/v1/teams/{team_id}/members"),
            Some(json!({"user_id": me.id()})),
        ),
        (
            "leave a team",
            "DELETE",
            format!("/api/v1/teams/{team_id}/members/{}", s.agent.id()),
            None,
        ),
        (
            "create a service",
            "POST",
            "/api/v1/services".into(),
            Some(json!({"name": "Mine", "tier": 1})),
        ),
        (
            "change a service",
            "PUT",
            format!("/api/v1/services/{service_id}"),
            Some(json!({"name": "Mine", "tier": 1})),
        ),
        (
            "create a user",
            "POST",
            "/api/v1/users".into(),
            Some(json!({"username": "mallory", "display_name": "M", "role": "admin"})),
        ),
        (
            "promote themself",
            "PATCH",
            format!("/api/v1/users/{}", me.id()),
            Some(json!({"role": "admin"})),
        ),
        (
            "write an internal note",
            "POST",
            format!("/api/v1/tickets/{t}/comments"),
            Some(json!({"body": "psst", "visibility": "internal"})),
        ),
        (
            "update their ticket",
            "PATCH",
            format!("/api/v1/tickets/{t}"),
            Some(json!({"title": "Urgent!!"})),
        ),
        (
            "reprioritise their ticket",
            "PATCH",
            format!("/api/v1/tickets/{t}"),
            Some(json!({"impact": "high"})),
        ),
        (
            "assign their ticket",
            "POST",
            format!("/api/v1/tickets/{t}/assign"),
            Some(json!({"assignee_id": s.agent.id()})),
        ),
        (
            "link their ticket",
            "POST",
            format!("/api/v1/tickets/{t}/links"),
            Some(json!({"kind": "related", "target": t})),
        ),
        (
            "unlink their ticket",
            "DELETE",
            format!("/api/v1/tickets/{t}/links/{t}"),
            None,
        ),
        (
            "merge their ticket",
            "POST",
            format!("/api/v1/tickets/{t}/merge"),
            Some(json!({"survivor": t})),
        ),
        (
            "verify the audit log",
            "GET",
            "/api/v1/audit/verify".into(),
            None,
        ),
        ("read the event log", "GET", "/api/v1/events".into(), None),
        (
            "list another user's tokens",
            "GET",
            format!("/api/v1/tokens?user_id={}", s.agent.id()),
            None,
        ),
        (
            "list every token",
            "GET",
            "/api/v1/tokens?user_id=all".into(),
            None,
        ),
        (
            "create a token for someone else",
            "POST",
            "/api/v1/tokens".into(),
            Some(json!({"name": "stolen", "user_id": s.agent.id()})),
        ),
        (
            "open a ticket for someone else",
            "POST",
            "/api/v1/tickets".into(),
            Some(json!({"kind": "incident", "title": "x", "requester_id": s.requester2.id()})),
        ),
        (
            "route a new ticket",
            "POST",
            "/api/v1/tickets".into(),
            Some(json!({"kind": "incident", "title": "x", "team_id": team_id})),
        ),
        (
            "override a new ticket's priority",
            "POST",
            "/api/v1/tickets".into(),
            Some(
                json!({"kind": "incident", "title": "x", "priority_override": {"priority": "P1", "reason": "me"}}),
            ),
        ),
        (
            "open a change",
            "POST",
            "/api/v1/tickets".into(),
            Some(json!({"kind": "change", "title": "x"})),
        ),
        (
            "open a problem",
            "POST",
            "/api/v1/tickets".into(),
            Some(json!({"kind": "problem", "title": "x"})),
        ),
    ];
    for (what, method, path, body) in &cases {
        let r = s.send(method, path, me.into(), body.as_ref()).await;
        forbidden(&r, &format!("a requester may not {what} ({method} {path})"));
    }
    // Transitions other than reopen/close/cancel, on their own ticket.
    for step in [
        json!({"action": "acknowledge"}),
        json!({"action": "hold", "reason": "awaiting_customer"}),
        json!({"action": "resume"}),
        json!({"action": "resolve", "resolution_code": "fixed", "resolution_note": "did it myself"}),
        json!({"action": "start"}),
        json!({"action": "investigate"}),
    ] {
        let r = s
            .post(
                &format!("/api/v1/tickets/{t}/transitions"),
                me,
                step.clone(),
            )
            .await;
        forbidden(
            &r,
            &format!("a requester may not take {step} on their own ticket"),
        );
    }
    // Someone else's token: not even confirmed to exist.
    let agent_tokens = s.store().list_tokens(Some(s.agent.user.id)).await.unwrap();
    let r = s
        .delete(&format!("/api/v1/tokens/{}", agent_tokens[0].id.0), me)
        .await;
    r.expect_problem(404);
    let after = (
        s.write_counts().await,
        s.count("api_tokens").await,
        s.count("teams").await,
        s.count("users").await,
    );
    assert_eq!(after, before, "refused requests wrote nothing");
    assert_eq!(
        s.get("/api/v1/me", &s.agent).await.status,
        200,
        "the agent's token was not revoked"
    );
    // And what they may do: see services, their own account, their own tokens.
    s.get("/api/v1/services", me).await.expect(200);
    s.get(&format!("/api/v1/services/{service_id}"), me)
        .await
        .expect(200);
    s.get(&format!("/api/v1/users/{}", me.id()), me)
        .await
        .expect(200);
    s.get("/api/v1/tokens", me).await.expect(200);
    s.get(&format!("/api/v1/tokens?user_id={}", me.id()), me)
        .await
        .expect(200);
    s.post("/api/v1/tokens", me, json!({"name": "my cli"}))
        .await
        .expect(201);
    s.get("/api/v1/queues/counts", me).await.expect(200);
    s.get(&format!("/api/v1/tickets/{}", other_ticket["id"]), &s.agent)
        .await
        .expect(200);
}

async fn agents_are_refused_directory_and_audit_administration(s: &TestServer) {
    let team = s
        .post("/api/v1/teams", &s.manager, json!({"name": "Desk"}))
        .await
        .json;
    let service = s
        .post(
            "/api/v1/services",
            &s.manager,
            json!({"name": "Mail", "tier": 2}),
        )
        .await
        .json;
    let before = (
        s.write_counts().await,
        s.count("teams").await,
        s.count("services").await,
        s.count("users").await,
    );
    let cases: Vec<(&str, &str, String, Option<Value>)> = vec![
        (
            "create a team",
            "POST",
            "/api/v1/teams".into(),
            Some(json!({"name": "Agents"})),
        ),
        (
            "rename a team",
            "PUT",
            format!("/api/v1/teams/{}", team["id"]),
            Some(json!({"name": "Agents"})),
        ),
        (
            "add a team member",
            "POST",
            format!("/api/v1/teams/{}/members", team["id"]),
            Some(json!({"user_id": s.agent.id()})),
        ),
        (
            "remove a team member",
            "DELETE",
            format!("/api/v1/teams/{}/members/{}", team["id"], s.agent.id()),
            None,
        ),
        (
            "create a service",
            "POST",
            "/api/v1/services".into(),
            Some(json!({"name": "Chat", "tier": 3})),
        ),
        (
            "change a service",
            "PUT",
            format!("/api/v1/services/{}", service["id"]),
            Some(json!({"name": "Chat", "tier": 3})),
        ),
        (
            "create a user",
            "POST",
            "/api/v1/users".into(),
            Some(json!({"username": "newbie", "display_name": "N", "role": "agent"})),
        ),
        (
            "change a user",
            "PATCH",
            format!("/api/v1/users/{}", s.agent.id()),
            Some(json!({"role": "admin"})),
        ),
        (
            "verify the audit log",
            "GET",
            "/api/v1/audit/verify".into(),
            None,
        ),
        ("read the event log", "GET", "/api/v1/events".into(), None),
        (
            "list another user's tokens",
            "GET",
            format!("/api/v1/tokens?user_id={}", s.agent2.id()),
            None,
        ),
        (
            "create a token for someone else",
            "POST",
            "/api/v1/tokens".into(),
            Some(json!({"name": "x", "user_id": s.agent2.id()})),
        ),
    ];
    for (what, method, path, body) in &cases {
        let r = s.send(method, path, (&s.agent).into(), body.as_ref()).await;
        forbidden(&r, &format!("an agent may not {what} ({method} {path})"));
    }
    let after = (
        s.write_counts().await,
        s.count("teams").await,
        s.count("services").await,
        s.count("users").await,
    );
    assert_eq!(after, before);
    // Reading the directory is part of the desk's work.
    s.get("/api/v1/users", &s.agent).await.expect(200);
    s.get("/api/v1/teams", &s.agent).await.expect(200);
    s.get(&format!("/api/v1/users/{}", s.requester.id()), &s.agent)
        .await
        .expect(200);
}

async fn managers_are_refused_user_and_token_administration(s: &TestServer) {
    let before = (s.count("users").await, s.count("api_tokens").await);
    let cases: Vec<(&str, &str, String, Option<Value>)> = vec![
        (
            "create a user",
            "POST",
            "/api/v1/users".into(),
            Some(json!({"username": "newbie", "display_name": "N", "role": "agent"})),
        ),
        (
            "change a user",
            "PATCH",
            format!("/api/v1/users/{}", s.agent.id()),
            Some(json!({"active": false})),
        ),
        (
            "promote themself",
            "PATCH",
            format!("/api/v1/users/{}", s.manager.id()),
            Some(json!({"role": "admin"})),
        ),
        (
            "list another user's tokens",
            "GET",
            format!("/api/v1/tokens?user_id={}", s.agent.id()),
            None,
        ),
        (
            "list every token",
            "GET",
            "/api/v1/tokens?user_id=all".into(),
            None,
        ),
        (
            "create a token for someone else",
            "POST",
            "/api/v1/tokens".into(),
            Some(json!({"name": "x", "user_id": s.agent.id()})),
        ),
    ];
    for (what, method, path, body) in &cases {
        let r = s
            .send(method, path, (&s.manager).into(), body.as_ref())
            .await;
        forbidden(&r, &format!("a manager may not {what} ({method} {path})"));
    }
    assert_eq!(
        (s.count("users").await, s.count("api_tokens").await),
        before
    );
    let agent_token = s.store().list_tokens(Some(s.agent.user.id)).await.unwrap()[0].id;
    s.delete(&format!("/api/v1/tokens/{}", agent_token.0), &s.manager)
        .await
        .expect_problem(404);
    assert!(
        s.store()
            .get_token(agent_token)
            .await
            .unwrap()
            .revoked_at
            .is_none()
    );
}

/// The problem a requester gets for a ticket that is not theirs must be the
/// one they get for a ticket that does not exist.
fn same_as_missing(r: &Resp, missing: &Resp, reference: &str, missing_ref: &str, what: &str) {
    assert_eq!(r.status, 404, "{what}: {}", r.text);
    r.expect_problem(404);
    assert_eq!(r.json["type"], missing.json["type"], "{what}");
    assert_eq!(r.json["title"], missing.json["title"], "{what}");
    let detail = r.json["detail"].as_str().unwrap().replace(reference, "REF");
    let missing_detail = missing.json["detail"]
        .as_str()
        .unwrap()
        .replace(missing_ref, "REF");
    assert_eq!(
        detail, missing_detail,
        "{what}: the detail gives nothing away"
    );
}

async fn a_requester_probing_someone_elses_ticket_gets_404_by_id_and_by_number(s: &TestServer) {
    let theirs = s.incident(&s.requester2, "Ron's private trouble").await;
    s.post(
        &format!("/api/v1/tickets/{}/comments", theirs["id"]),
        &s.requester2,
        json!({"body": "more detail"}),
    )
    .await
    .expect(201);
    let mine = s.incident(&s.requester, "Mine").await;
    let before = s.write_counts().await;
    let id = theirs["id"].to_string();
    let number = theirs["number"].as_str().unwrap().to_string();
    assert_eq!(number, "INC-000001");
    type Case = (&'static str, &'static str, Option<Value>);
    let cases: Vec<Case> = vec![
        ("GET", "", None),
        ("GET", "/comments", None),
        ("GET", "/timeline", None),
        ("GET", "/links", None),
        ("GET", "/sla", None),
        ("POST", "/transitions", Some(json!({"action": "close"}))),
        ("POST", "/transitions", Some(json!({"action": "reopen"}))),
        ("POST", "/comments", Some(json!({"body": "hello?"}))),
        ("PATCH", "", Some(json!({"title": "mine now"}))),
        ("POST", "/assign", Some(json!({"assignee_id": null}))),
        (
            "POST",
            "/links",
            Some(json!({"kind": "related", "target": mine["id"]})),
        ),
        ("POST", "/merge", Some(json!({"survivor": mine["id"]}))),
    ];
    for (reference, missing_ref) in [(id.as_str(), "999999"), (number.as_str(), "INC-999999")] {
        for (method, suffix, body) in &cases {
            let path = format!("/api/v1/tickets/{reference}{suffix}");
            let missing_path = format!("/api/v1/tickets/{missing_ref}{suffix}");
            let r = s
                .send(method, &path, (&s.requester).into(), body.as_ref())
                .await;
            let missing = s
                .send(method, &missing_path, (&s.requester).into(), body.as_ref())
                .await;
            same_as_missing(
                &r,
                &missing,
                reference,
                missing_ref,
                &format!("{method} {path}"),
            );
        }
    }
    // Unlinking names two tickets: refused whatever the other one is.
    let r = s
        .delete(
            &format!("/api/v1/tickets/{}/links/{}", mine["id"], theirs["id"]),
            &s.requester,
        )
        .await;
    assert!(r.status == 404 || r.status == 403, "{}", r.text);
    assert_eq!(s.write_counts().await, before, "nothing was written");
    // The owner sees it by id and number.
    s.get(&format!("/api/v1/tickets/{id}"), &s.requester2)
        .await
        .expect(200);
    s.get(&format!("/api/v1/tickets/{number}"), &s.requester2)
        .await
        .expect(200);
}

async fn agents_work_any_ticket(s: &TestServer) {
    let t = s.incident(&s.requester, "Printer on fire").await;
    let path = format!("/api/v1/tickets/{}", t["id"]);
    let other = s.incident(&s.requester2, "Printer smoking").await;
    s.get(&path, &s.agent).await.expect(200);
    s.get("/api/v1/reports/sla?from=2026-01-01T00:00:00Z", &s.agent)
        .await
        .expect(200);
    s.get(
        &format!("/api/v1/tickets/{}", t["number"].as_str().unwrap()),
        &s.agent,
    )
    .await
    .expect(200);
    let r = s
        .patch(
            &path,
            &s.agent,
            json!({"title": "Printer on fire (3rd floor)", "impact": "high"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["title"], "Printer on fire (3rd floor)");
    let r = s
        .post(
            &format!("{path}/assign"),
            &s.agent,
            json!({"assignee_id": s.agent2.id()}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["assignee_id"], json!(s.agent2.id()));
    s.step(&s.agent, &t, json!({"action": "acknowledge"})).await;
    let r = s
        .post(
            &format!("{path}/comments"),
            &s.agent,
            json!({"body": "Extinguisher used", "visibility": "internal"}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json["visibility"], "internal");
    s.post(
        &format!("{path}/comments"),
        &s.agent2,
        json!({"body": "On my way"}),
    )
    .await
    .expect(201);
    let r = s
        .post(
            &format!("{path}/links"),
            &s.agent,
            json!({"kind": "related", "target": other["number"]}),
        )
        .await;
    r.expect(201);
    s.get(&format!("{path}/links"), &s.agent).await.expect(200);
    s.delete(&format!("{path}/links/{}", other["id"]), &s.agent)
        .await
        .expect(204);
    let r = s
        .post(
            &format!("/api/v1/tickets/{}/merge", other["id"]),
            &s.agent,
            json!({"survivor": t["id"]}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["id"], t["id"], "the survivor comes back");
    s.get(&format!("{path}/timeline"), &s.agent)
        .await
        .expect(200);
    // Agents open tickets on behalf of someone else.
    let r = s
        .post(
            "/api/v1/tickets",
            &s.agent,
            json!({"kind": "incident", "title": "Phoned in", "requester_id": s.requester2.id()}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json["requester_id"], json!(s.requester2.id()));
}

async fn managers_run_teams_and_services_and_read_the_audit_log(s: &TestServer) {
    let r = s
        .post(
            "/api/v1/teams",
            &s.manager,
            json!({"name": "Network", "round_robin": true}),
        )
        .await;
    r.expect(201);
    let team = r.json["id"].as_i64().unwrap();
    let r = s
        .put(
            &format!("/api/v1/teams/{team}"),
            &s.manager,
            json!({"name": "Networking"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["name"], "Networking");
    let r = s
        .post(
            &format!("/api/v1/teams/{team}/members"),
            &s.manager,
            json!({"user_id": s.agent.id()}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["members"], json!([s.agent.id()]));
    let r = s
        .post(
            "/api/v1/services",
            &s.manager,
            json!({"name": "VPN", "tier": 1, "owner_team_id": team}),
        )
        .await;
    r.expect(201);
    let service = r.json["id"].as_i64().unwrap();
    s.put(
        &format!("/api/v1/services/{service}"),
        &s.manager,
        json!({"name": "VPN", "tier": 2}),
    )
    .await
    .expect(200);
    s.delete(
        &format!("/api/v1/teams/{team}/members/{}", s.agent.id()),
        &s.manager,
    )
    .await
    .expect(200);
    s.get("/api/v1/audit/verify", &s.manager).await.expect(200);
    s.get("/api/v1/events", &s.manager).await.expect(200);
}

async fn admins_create_users_and_tokens_for_others(s: &TestServer) {
    let r = s
        .post(
            "/api/v1/users",
            &s.admin,
            json!({"username": "newbie", "display_name": "New Agent", "role": "agent", "password": "a long enough password"}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json["role"], "agent");
    assert!(
        r.json.get("password").is_none() && r.json.get("password_hash").is_none(),
        "{}",
        r.text
    );
    let newbie = r.json["id"].as_i64().unwrap();
    let r = s
        .post(
            "/api/v1/tokens",
            &s.admin,
            json!({"name": "newbie's cli", "user_id": newbie}),
        )
        .await;
    r.expect(201);
    let secret = r.json["secret"].as_str().unwrap().to_string();
    let token_id = r.json["id"].as_i64().unwrap();
    let me = s.get("/api/v1/me", Cred::Bearer(&secret)).await;
    me.expect(200);
    assert_eq!(
        me.json["username"], "newbie",
        "the token acts as its owner, not its creator"
    );
    let all = s.get("/api/v1/tokens?user_id=all", &s.admin).await;
    all.expect(200);
    assert!(all.text.contains("newbie's cli"));
    assert!(!all.text.contains(&secret), "secrets are shown once");
    s.get(&format!("/api/v1/tokens?user_id={newbie}"), &s.admin)
        .await
        .expect(200);
    s.patch(
        &format!("/api/v1/users/{newbie}"),
        &s.admin,
        json!({"role": "manager"}),
    )
    .await
    .expect(200);
    s.delete(&format!("/api/v1/tokens/{token_id}"), &s.admin)
        .await
        .expect(200);
    s.get("/api/v1/me", Cred::Bearer(&secret))
        .await
        .expect_problem(401);
    assert!(
        s.store()
            .get_token(TokenId(token_id))
            .await
            .unwrap()
            .revoked_at
            .is_some()
    );
}

async fn everyone_manages_their_own_tokens(s: &TestServer) {
    for p in [&s.requester, &s.agent, &s.manager] {
        let r = s.post("/api/v1/tokens", p, json!({"name": "laptop"})).await;
        r.expect(201);
        let secret = r.json["secret"].as_str().unwrap().to_string();
        let id = r.json["id"].as_i64().unwrap();
        assert_eq!(
            s.get("/api/v1/me", Cred::Bearer(&secret)).await.json["id"],
            json!(p.id())
        );
        s.delete(&format!("/api/v1/tokens/{id}"), p)
            .await
            .expect(200);
        s.get("/api/v1/me", Cred::Bearer(&secret))
            .await
            .expect_problem(401);
    }
}

server_tests!(
    the_route_table_above_is_every_route_in_the_openapi_document,
    every_api_route_but_login_refuses_missing_or_dead_credentials,
    requesters_are_refused_desk_work,
    agents_are_refused_directory_and_audit_administration,
    managers_are_refused_user_and_token_administration,
    a_requester_probing_someone_elses_ticket_gets_404_by_id_and_by_number,
    agents_work_any_ticket,
    managers_run_teams_and_services_and_read_the_audit_log,
    admins_create_users_and_tokens_for_others,
    everyone_manages_their_own_tokens,
);
