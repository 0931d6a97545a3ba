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
    let cal = s
        .post("/api/v1/calendars", &s.manager, always("24x7"))
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
    .expect(201);
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

server_tests!(
    calendars_and_policies_are_managed_by_managers_and_read_by_agents,
    bad_calendars_and_policies_are_422_naming_the_field,
    a_tickets_sla_status_is_served_to_whoever_sees_the_ticket,
    only_managers_configure_slas,
);
