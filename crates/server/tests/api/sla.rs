//! Business calendars, SLA policies and a ticket's SLA status over HTTP:
//! managers configure, agents read, anyone who sees a ticket sees its clocks.

use crate::common::TestServer;
use serde_json::{Value, json};

fn always(name: &str) -> Value {
    let day = json!([{"start": "00:00", "end": "24:00"}]);
    json!({"name": name, "time_zone": "UTC", "hours": {
        "monday": day, "tuesday": day, "wednesday": day, "thursday": day,
        "friday": day, "saturday": day, "sunday": day}})
}

fn policy(name: &str, target: &str, calendar_id: &Value) -> Value {
    json!({"name": name, "order": 1, "matcher": {"kinds": ["incident"]},
           "targets": [{"metric": "resolution", "target": target, "calendar_id": calendar_id}]})
}

/// A 24x7 calendar and a policy holding incidents to `target` (ISO 8601)
/// to resolve; returns the calendar.
async fn incident_sla(s: &TestServer, name: &str, target: &str) -> Value {
    let cal = s
        .post("/api/v1/calendars", &s.manager, always("24x7"))
        .await
        .expect(201)
        .json
        .clone();
    s.post(
        "/api/v1/sla-policies",
        &s.manager,
        policy(name, target, &cal["id"]),
    )
    .await
    .expect(201);
    cal
}

async fn calendars_and_policies_are_managed_by_managers_and_read_by_agents(s: &TestServer) {
    let cal = s
        .post("/api/v1/calendars", &s.manager, always("24x7"))
        .await
        .expect(201)
        .json
        .clone();
    s.post("/api/v1/calendars", &s.manager, always("24x7"))
        .await
        .expect_problem(409);
    let path = format!("/api/v1/calendars/{}", cal["id"]);
    let renamed = s
        .put(&path, &s.manager, always("Around the clock"))
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(renamed["name"], "Around the clock");
    assert_eq!(s.get(&path, &s.agent).await.expect(200).json, renamed);
    let list = s
        .get("/api/v1/calendars", &s.agent)
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(list, json!([renamed]));

    let p = s
        .post(
            "/api/v1/sla-policies",
            &s.manager,
            policy("Incidents", "PT4H", &cal["id"]),
        )
        .await
        .expect(201)
        .json
        .clone();
    s.post(
        "/api/v1/sla-policies",
        &s.manager,
        policy("Incidents", "PT4H", &cal["id"]),
    )
    .await
    .expect_problem(409);
    let path = format!("/api/v1/sla-policies/{}", p["id"]);
    let longer = s
        .put(&path, &s.manager, policy("Incidents", "PT8H", &cal["id"]))
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(longer["targets"][0]["target"], "PT8H");
    assert_eq!(s.get(&path, &s.agent).await.expect(200).json, longer);
    let list = s
        .get("/api/v1/sla-policies", &s.agent)
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(list, json!([longer]));
}

async fn bad_calendars_and_policies_are_422_naming_the_field(s: &TestServer) {
    let mut zone = always("Mars");
    zone["time_zone"] = json!("Mars/Olympus_Mons");
    s.post("/api/v1/calendars", &s.manager, zone)
        .await
        .expect_field(422, "time_zone");
    let mut inverted = always("Inverted");
    inverted["hours"] = json!({"monday": [{"start": "17:00", "end": "09:00"}]});
    let r = s.post("/api/v1/calendars", &s.manager, inverted).await;
    r.expect_problem(422);
    assert!(
        r.fields().iter().any(|f| f.starts_with("hours.monday")),
        "{}",
        r.text
    );
    let mut overlapping = always("Overlapping");
    overlapping["hours"] =
        json!({"monday": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}]});
    let r = s.post("/api/v1/calendars", &s.manager, overlapping).await;
    r.expect_problem(422);
    assert!(
        r.fields().iter().any(|f| f.starts_with("hours.monday")),
        "{}",
        r.text
    );
    let mut unknown = always("Unknown field");
    unknown["colour"] = json!("blue");
    assert!(
        s.post("/api/v1/calendars", &s.manager, unknown)
            .await
            .status
            >= 400
    );

    let cal = s
        .post("/api/v1/calendars", &s.manager, always("24x7"))
        .await
        .expect(201)
        .json
        .clone();
    for target in ["PT0S", "-PT1H"] {
        s.post(
            "/api/v1/sla-policies",
            &s.manager,
            policy("Bad", target, &cal["id"]),
        )
        .await
        .expect_field(422, "targets[0].target");
    }
    let mut warn = policy("Bad", "PT4H", &cal["id"]);
    warn["targets"][0]["warn_at_percent"] = json!(0);
    s.post("/api/v1/sla-policies", &s.manager, warn)
        .await
        .expect_field(422, "targets[0].warn_at_percent");
    s.post(
        "/api/v1/sla-policies",
        &s.manager,
        policy("Bad", "PT4H", &json!(9999)),
    )
    .await
    .expect_field(422, "targets[0].calendar_id");
    assert_eq!(s.count("sla_policies").await, 0);
}

async fn a_tickets_sla_status_is_served_to_whoever_sees_the_ticket(s: &TestServer) {
    incident_sla(s, "Incidents", "PT4H").await;
    let ticket = s.incident(&s.requester, "Mail is down").await;
    let path = format!("/api/v1/tickets/{}/sla", ticket["number"].as_str().unwrap());
    let status = s.get(&path, &s.requester).await.expect(200).json.clone();
    assert_eq!(status[0]["metric"], "resolution");
    assert_eq!(status[0]["policy_name"], "Incidents");
    assert_eq!(status[0]["state"], "running");
    assert_eq!(status[0]["target_seconds"], 4 * 3600);
    assert!(
        status[0]["due_at"]
            .as_str()
            .is_some_and(|d| d.ends_with('Z'))
    );

    s.step(&s.agent, &ticket, json!({"action": "acknowledge"}))
        .await;
    s.step(
        &s.agent,
        &ticket,
        json!({"action": "resolve", "resolution_code": "fixed", "resolution_note": "restarted"}),
    )
    .await;
    let status = s.get(&path, &s.agent).await.expect(200).json.clone();
    assert_eq!(status[0]["state"], "met");
    assert!(status[0]["stopped_at"].is_string());

    // Somebody else's ticket is as missing as a ticket that does not exist.
    s.get(&path, &s.requester2).await.expect_problem(404);
    s.get("/api/v1/tickets/999999/sla", &s.requester2)
        .await
        .expect_problem(404);
    // A ticket no policy covers has no clocks.
    let request = s
        .create_ticket(
            &s.requester,
            json!({"kind": "service_request", "title": "Laptop"}),
        )
        .await;
    let none = s
        .get(
            &format!("/api/v1/tickets/{}/sla", request["id"]),
            &s.requester,
        )
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(none, json!([]));
}

async fn only_managers_configure_slas(s: &TestServer) {
    let cal = s
        .post("/api/v1/calendars", &s.manager, always("24x7"))
        .await
        .expect(201)
        .json
        .clone();
    let p = s
        .post(
            "/api/v1/sla-policies",
            &s.manager,
            policy("Incidents", "PT4H", &cal["id"]),
        )
        .await
        .expect(201)
        .json
        .clone();
    let before = (s.count("calendars").await, s.count("sla_policies").await);
    let cal_path = format!("/api/v1/calendars/{}", cal["id"]);
    let policy_path = format!("/api/v1/sla-policies/{}", p["id"]);
    for who in [&s.requester, &s.agent] {
        s.post("/api/v1/calendars", who, always("Mine"))
            .await
            .expect_problem(403);
        s.put(&cal_path, who, always("Mine"))
            .await
            .expect_problem(403);
        s.post(
            "/api/v1/sla-policies",
            who,
            policy("Mine", "PT1H", &cal["id"]),
        )
        .await
        .expect_problem(403);
        s.put(&policy_path, who, policy("Mine", "PT1H", &cal["id"]))
            .await
            .expect_problem(403);
    }
    for path in [
        "/api/v1/calendars",
        "/api/v1/sla-policies",
        cal_path.as_str(),
        policy_path.as_str(),
    ] {
        s.get(path, &s.requester).await.expect_problem(403);
        s.get(path, crate::common::Cred::None)
            .await
            .expect_problem(401);
        s.get(path, &s.agent).await.expect(200);
    }
    assert_eq!(
        (s.count("calendars").await, s.count("sla_policies").await),
        before
    );
}

/// Polls `path` until `done` holds, for at most `limit`.
async fn eventually(
    s: &TestServer,
    path: &str,
    limit: std::time::Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let start = std::time::Instant::now();
    loop {
        let body = s.get(path, &s.agent).await.expect(200).json.clone();
        if done(&body) {
            return body;
        }
        assert!(start.elapsed() < limit, "{path} never got there: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn sla_events(timeline: &Value) -> Vec<Value> {
    timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"].as_str().is_some_and(|k| k.starts_with("sla.")))
        .cloned()
        .collect()
}

fn instant(v: &Value) -> jiff::Timestamp {
    v.as_str().unwrap().parse().unwrap()
}

async fn the_worker_announces_warning_and_breach_within_seconds_once(s: &TestServer) {
    // 4 s to resolve, warning at 75 % = 3 s.
    incident_sla(s, "Fast incidents", "PT4S").await;
    let ticket = s.incident(&s.requester, "Checkout is down").await;
    let created = instant(&ticket["created_at"]);
    let timeline = format!("/api/v1/tickets/{}/timeline", ticket["id"]);
    let limit = std::time::Duration::from_secs(4 + 5 + 2);
    let seen = eventually(s, &timeline, limit, |t| sla_events(t).len() == 2).await;
    let noticed = jiff::Timestamp::now();
    let events = sla_events(&seen);
    assert_eq!(events[0]["kind"], "sla.warning");
    assert_eq!(events[1]["kind"], "sla.breached");
    let breached_at = instant(&events[1]["data"]["breached_at"]);
    assert_eq!(breached_at, created + jiff::SignedDuration::from_secs(4));
    assert_eq!(
        instant(&events[1]["at"]),
        breached_at,
        "stamped with the true instant"
    );
    assert_eq!(
        instant(&events[0]["data"]["warning_at"]),
        created + jiff::SignedDuration::from_secs(3)
    );
    assert_eq!(events[1]["data"]["metric"], "resolution");
    assert_eq!(events[1]["data"]["policy"], "Fast incidents");
    assert!(
        noticed.duration_since(breached_at) < jiff::SignedDuration::from_secs(5),
        "announced within 5 s of the breach"
    );
    // The list shows the breach; later passes announce nothing again.
    let path = format!("/api/v1/tickets/{}", ticket["id"]);
    let shown = eventually(s, &path, limit, |t| t["sla"]["status"] == "breached").await;
    assert_eq!(instant(&shown["sla"]["due_at"]), breached_at);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let again = s.get(&timeline, &s.agent).await.expect(200).json.clone();
    assert_eq!(sla_events(&again).len(), 2);
}

async fn queues_filter_and_sort_by_time_to_breach(s: &TestServer) {
    let cal = incident_sla(s, "Incidents", "PT1H").await;
    s.post(
        "/api/v1/sla-policies",
        &s.manager,
        json!({"name": "Requests", "order": 2, "matcher": {"kinds": ["service_request"]},
               "targets": [{"metric": "resolution", "target": "PT48H", "calendar_id": cal["id"]}]}),
    )
    .await
    .expect(201);
    let request = s
        .create_ticket(
            &s.requester,
            json!({"kind": "service_request", "title": "New laptop"}),
        )
        .await;
    let incident = s.incident(&s.requester, "VPN is down").await;
    let problem = s
        .create_ticket(
            &s.agent,
            json!({"kind": "problem", "title": "Flaky VPN, no SLA"}),
        )
        .await;
    let path = format!("/api/v1/tickets/{}", request["id"]);
    let limit = std::time::Duration::from_secs(10);
    eventually(s, &path, limit, |t| t["sla"]["status"] == "running").await;
    let path = format!("/api/v1/tickets/{}", incident["id"]);
    eventually(s, &path, limit, |t| t["sla"]["status"] == "running").await;

    let numbers = |page: &Value| -> Vec<Value> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["number"].clone())
            .collect()
    };
    let by_due = s
        .get("/api/v1/tickets?sort=sla_due", &s.agent)
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(
        numbers(&by_due),
        vec![incident["number"].clone(), request["number"].clone()]
    );
    let soon = s
        .get(
            "/api/v1/tickets?breaching_within=PT2H&sort=sla_due",
            &s.agent,
        )
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(numbers(&soon), vec![incident["number"].clone()]);
    let soon_in_seconds = s
        .get("/api/v1/tickets?breaching_within=7200", &s.agent)
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(numbers(&soon_in_seconds), vec![incident["number"].clone()]);
    let all = s
        .get("/api/v1/tickets", &s.agent)
        .await
        .expect(200)
        .json
        .clone();
    let uncovered = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["number"] == problem["number"])
        .unwrap();
    assert_eq!(uncovered["sla"], Value::Null);

    for (query, field) in [
        ("breaching_within=soon", "breaching_within"),
        ("breaching_within=-5", "breaching_within"),
        ("breaching_within=99999999", "breaching_within"),
        ("sort=sla", "sort"),
    ] {
        let r = s.get(&format!("/api/v1/tickets?{query}"), &s.agent).await;
        r.expect_problem(422);
        assert_eq!(r.json["errors"][0]["field"], field, "{query}: {}", r.json);
    }
}

async fn compliance_reports_count_met_and_breached_clocks(s: &TestServer) {
    incident_sla(s, "Incidents", "PT4H").await;
    let from = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(1);
    let met = s.incident(&s.requester, "Resolved quickly").await;
    s.step(&s.agent, &met, json!({"action": "acknowledge"}))
        .await;
    s.step(
        &s.agent,
        &met,
        json!({"action": "resolve", "resolution_code": "fixed", "resolution_note": "done"}),
    )
    .await;
    s.incident(&s.requester, "Still open").await;
    let path = format!("/api/v1/reports/sla?from={from}&group_by=policy");
    let report = s.get(&path, &s.manager).await.expect(200).json.clone();
    assert_eq!(report["tickets"], 2);
    assert_eq!(report["group_by"], "policy");
    let row = &report["rows"][0];
    assert_eq!(row["label"], "Incidents");
    assert_eq!(
        (
            row["met"].clone(),
            row["breached"].clone(),
            row["in_progress"].clone()
        ),
        (json!(1), json!(0), json!(1))
    );
    assert_eq!(row["compliance_percent"], 100.0);

    for (query, field) in [
        ("", "from"),
        ("from=yesterday", "from"),
        ("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
        ("from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
        ("from=2026-01-01T00:00:00Z&group_by=colour", "group_by"),
        ("from=2026-01-01T00:00:00Z&format=csv", "format"),
    ] {
        let r = s
            .get(&format!("/api/v1/reports/sla?{query}"), &s.manager)
            .await;
        r.expect_problem(422);
        assert_eq!(r.json["errors"][0]["field"], field, "{query}: {}", r.json);
    }
    s.get(&path, &s.requester).await.expect_problem(403);
}

server_tests!(
    the_worker_announces_warning_and_breach_within_seconds_once,
    queues_filter_and_sort_by_time_to_breach,
    compliance_reports_count_met_and_breached_clocks,
    calendars_and_policies_are_managed_by_managers_and_read_by_agents,
    bad_calendars_and_policies_are_422_naming_the_field,
    a_tickets_sla_status_is_served_to_whoever_sees_the_ticket,
    only_managers_configure_slas,
);
