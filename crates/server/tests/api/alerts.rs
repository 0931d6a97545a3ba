//! Alert intake over HTTP: Alertmanager webhooks, PagerDuty events and
//! generic JSON by integration key; bad input refused whole with a clear
//! 4xx; the configuration API for managers, read by agents.

use crate::common::{Cred, Resp, TestServer};
use serde_json::{Value, json};

/// A service and an integration on it (made by the manager over HTTP);
/// returns the integration's JSON (with its one-time `key`).
async fn integration(s: &TestServer, body: Value) -> Value {
    let svc = s
        .post(
            "/api/v1/services",
            &s.manager,
            json!({"name": format!("svc-{}", body["name"].as_str().unwrap_or("x")), "tier": 1}),
        )
        .await
        .expect(201)
        .json
        .clone();
    let mut body = body;
    body["service_id"] = svc["id"].clone();
    s.post("/api/v1/integrations", &s.manager, body)
        .await
        .expect(201)
        .json
        .clone()
}

fn am_alert(status: &str, alertname: &str, instance: &str) -> Value {
    json!({
        "status": status,
        "labels": {"alertname": alertname, "instance": instance, "severity": "critical"},
        "annotations": {"summary": format!("{alertname} on {instance}")},
        "startsAt": "2026-11-29T10:00:00Z",
        "endsAt": if status == "resolved" { "2026-11-29T10:05:00Z" } else { "0001-01-01T00:00:00Z" },
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": "0123456789abcdef"
    })
}

fn am_body(alerts: Vec<Value>, truncated: u64) -> Value {
    let status = if alerts.iter().any(|a| a["status"] == "firing") {
        "firing"
    } else {
        "resolved"
    };
    json!({
        "version": "4", "groupKey": "{}:{alertname=\"DiskFull\"}", "truncatedAlerts": truncated,
        "status": status, "receiver": "opsdesk", "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://alertmanager.example",
        "alerts": alerts
    })
}

async fn post_key(s: &TestServer, path: &str, body: &Value) -> Resp {
    s.post(path, Cred::None, body.clone()).await
}

async fn alertmanager_webhooks_open_group_dedup_and_auto_resolve_incidents(s: &TestServer) {
    let i = integration(s, json!({"name": "prom", "auto_resolve": true})).await;
    let key = i["key"].as_str().unwrap().to_string();
    assert!(i["key_prefix"].as_str().is_some_and(|p| key.starts_with(p)));
    let path = i["alertmanager_path"].as_str().unwrap().to_string();
    assert_eq!(path, format!("/api/v1/integrations/alertmanager/{key}"));
    // The key is shown once: the integration as listed has none.
    let listed = s
        .get("/api/v1/integrations", &s.agent)
        .await
        .expect(200)
        .json
        .clone();
    assert!(listed[0].get("key").is_none(), "{listed}");

    let body = am_body(
        vec![
            am_alert("firing", "DiskFull", "db-1"),
            am_alert("firing", "DiskFull", "db-2"),
        ],
        3,
    );
    let r = post_key(s, &path, &body).await;
    r.expect(200);
    assert_eq!(r.json["new"], 2);
    assert_eq!(r.json["grouped"], 1);
    assert_eq!(r.json["truncated_alerts"], 3);
    let number = r.json["incidents_opened"][0].as_str().unwrap().to_string();

    // Replayed: deduplicated, no new incident, no new rows.
    let again = post_key(s, &path, &body).await;
    again.expect(200);
    assert_eq!(again.json["deduplicated"], 2);
    assert_eq!(again.json["incidents_opened"], json!([]));
    assert_eq!(s.count("alerts").await, 2);
    assert_eq!(s.ticket_count().await, 1);

    let incident = s
        .get(&format!("/api/v1/tickets/{number}"), &s.agent)
        .await
        .expect(200)
        .json
        .clone();
    let alerts = s
        .get(
            &format!("/api/v1/alerts?incident_id={}", incident["id"]),
            &s.agent,
        )
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(alerts["alerts"].as_array().unwrap().len(), 2);
    assert!(
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["count"] == 2)
    );
    let one = &alerts["alerts"][0];
    s.get(&format!("/api/v1/alerts/{}", one["id"]), &s.agent)
        .await
        .expect(200);

    // Everything resolves: the incident resolves itself.
    let resolved = am_body(
        vec![
            am_alert("resolved", "DiskFull", "db-1"),
            am_alert("resolved", "DiskFull", "db-2"),
        ],
        0,
    );
    let r = post_key(s, &path, &resolved).await;
    r.expect(200);
    assert_eq!(r.json["incidents_resolved"], json!([number]));
    let incident = s
        .get(&format!("/api/v1/tickets/{number}"), &s.agent)
        .await
        .json
        .clone();
    assert_eq!(incident["state"], "resolved");

    // Noise per service, truncated alerts included.
    let noise = s
        .get("/api/v1/alert-noise", &s.agent)
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(noise[0]["counters"]["received"], 6);
    assert_eq!(noise[0]["counters"]["deduplicated"], 2);
    // Each webhook reports what it left out: 3 in each of the first two.
    assert_eq!(noise[0]["truncated"], 6);
    s.get("/api/v1/audit/verify", &s.manager).await.expect(200);
}

async fn pagerduty_events_are_answered_like_pagerduty(s: &TestServer) {
    let i = integration(s, json!({"name": "pd", "auto_resolve": true})).await;
    let key = i["key"].as_str().unwrap();
    let trigger = json!({"routing_key": key, "event_action": "trigger", "dedup_key": "disk-nas-1",
        "payload": {"summary": "Disk full on nas-1", "source": "nas-1", "severity": "critical"}});
    let r = post_key(s, "/v2/enqueue", &trigger).await;
    r.expect(202);
    assert_eq!(
        r.json,
        json!({"status": "success", "message": "Event processed", "dedup_key": "disk-nas-1"})
    );
    // A trigger without a key gets one made up, as PagerDuty does.
    let mut anon = trigger.clone();
    anon.as_object_mut().unwrap().remove("dedup_key");
    let r = post_key(s, "/v2/enqueue", &anon).await;
    r.expect(202);
    assert!(r.json["dedup_key"].as_str().is_some_and(|k| k.len() == 32));
    // Acknowledge and resolve by dedup_key.
    for action in ["acknowledge", "resolve"] {
        let r = post_key(
            s,
            "/v2/enqueue",
            &json!({"routing_key": key, "event_action": action, "dedup_key": "disk-nas-1"}),
        )
        .await;
        r.expect(202);
        assert_eq!(r.json["dedup_key"], "disk-nas-1");
    }
    let a = s
        .get("/api/v1/alerts?status=resolved", &s.agent)
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(a["alerts"][0]["dedup_key"], "disk-nas-1");
    assert_eq!(a["alerts"][0]["summary"], "Disk full on nas-1");

    // Invalid events: PagerDuty's 400 body, nothing stored.
    let before = (s.count("alerts").await, s.write_counts().await);
    let r = post_key(
        s,
        "/v2/enqueue",
        &json!({"routing_key": key, "event_action": "trigger", "payload": {"summary": "", "source": "x", "severity": "bad"}}),
    )
    .await;
    r.expect(400);
    assert_eq!(r.json["status"], "invalid event");
    assert_eq!(r.json["message"], "Event object is invalid");
    assert!(
        r.json["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "{}",
        r.text
    );
    let r = s
        .send_raw(
            "POST",
            "/v2/enqueue",
            Cred::None,
            "application/json",
            b"{not json".to_vec(),
        )
        .await;
    r.expect(400);
    assert_eq!(r.json["status"], "invalid event");
    // An unknown routing key is a 404 problem.
    let r = post_key(
        s,
        "/v2/enqueue",
        &json!({"routing_key": "odi_unknown", "event_action": "resolve", "dedup_key": "x"}),
    )
    .await;
    r.expect_problem(404);
    assert_eq!((s.count("alerts").await, s.write_counts().await), before);
}

async fn bad_intake_is_refused_whole_with_a_clear_4xx(s: &TestServer) {
    let i = integration(s, json!({"name": "gen"})).await;
    let path = i["generic_path"].as_str().unwrap().to_string();
    let am = i["alertmanager_path"].as_str().unwrap().to_string();
    let before = (s.count("alerts").await, s.write_counts().await);

    // Unknown key.
    post_key(
        s,
        "/api/v1/integrations/alertmanager/odi_0000",
        &am_body(vec![am_alert("firing", "A", "1")], 0),
    )
    .await
    .expect_problem(404);
    post_key(
        s,
        "/api/v1/integrations/generic/nope",
        &json!({"alerts": []}),
    )
    .await
    .expect_problem(404);
    // Wrong content type.
    s.send_raw("POST", &am, Cred::None, "text/plain", b"{}".to_vec())
        .await
        .expect_problem(415);
    // Over 5 MiB.
    let mut huge = br#"{"alerts": [{"labels": {"a": "b"}, "annotations": {"x": ""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', 5 * 1024 * 1024 + 10));
    huge.extend(br#""}}]}"#);
    s.send_raw("POST", &path, Cred::None, "application/json", huge)
        .await
        .expect_problem(413);
    // Malformed JSON.
    s.send_raw(
        "POST",
        &am,
        Cred::None,
        "application/json",
        b"{\"version\":".to_vec(),
    )
    .await
    .expect_problem(400);
    // Too many alerts in one batch: 422 naming the field.
    let many: Vec<Value> = (0..1001)
        .map(|n| am_alert("firing", "Many", &n.to_string()))
        .collect();
    post_key(s, &am, &am_body(many, 0))
        .await
        .expect_field(422, "alerts");
    // One bad alert refuses the whole batch, naming it.
    let r = post_key(
        s,
        &path,
        &json!({"alerts": [{"labels": {"alertname": "Fine"}}, {"labels": {}}, {"labels": {"a": "b"}, "summary": ""}]}),
    )
    .await;
    r.expect_field(422, "alerts[1].labels");
    // A typo is no empty label set: refused, naming it.
    let r = post_key(s, &path, &json!({"alerts": [{"lables": {"a": "b"}}]})).await;
    r.expect_field(422, "body");
    assert!(r.text.contains("lables"), "{}", r.text);
    let wrong_version = post_key(
        s,
        &am,
        &json!({"version": "3", "status": "firing", "alerts": []}),
    )
    .await;
    wrong_version.expect_field(422, "version");
    assert_eq!(
        (s.count("alerts").await, s.write_counts().await),
        before,
        "refused batches store nothing"
    );
    // The server keeps serving.
    let ok = post_key(
        s,
        &path,
        &json!({"alerts": [{"labels": {"alertname": "Fine"}}]}),
    )
    .await;
    ok.expect(200);
    assert_eq!(ok.json["new"], 1);
    // A bearer token is no integration key.
    post_key(
        s,
        &format!("/api/v1/integrations/generic/{}", s.admin.token),
        &json!({"alerts": [{"labels": {"alertname": "Fine"}}]}),
    )
    .await
    .expect_problem(404);
}

async fn alert_configuration_is_managed_by_managers_and_read_by_agents(s: &TestServer) {
    let i = integration(s, json!({"name": "cfg", "group_window": "PT30M"})).await;
    assert_eq!(i["group_window"], "PT30M");
    let service_id = i["service_id"].clone();
    let id = i["id"].clone();

    // Integrations.
    s.post(
        "/api/v1/integrations",
        &s.agent,
        json!({"name": "x", "service_id": service_id}),
    )
    .await
    .expect_problem(403);
    s.get("/api/v1/integrations", &s.requester)
        .await
        .expect_problem(403);
    s.post(
        "/api/v1/integrations",
        &s.manager,
        json!({"name": "y", "service_id": service_id, "action": "shout"}),
    )
    .await
    .expect_field(422, "action");
    let routes = json!({"routes": [
        {"name": "db", "matchers": "team=\"db\"", "service": service_id, "action": "page", "page_min_severity": "error"},
        {"name": "rest", "matchers": "", "service": service_id, "action": "ticket_only"}]});
    let with_routes = s
        .put(
            &format!("/api/v1/integrations/{id}/routes"),
            &s.manager,
            routes,
        )
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(with_routes["routes"][0]["matchers"], "{team=\"db\"}");
    s.put(
        &format!("/api/v1/integrations/{id}/routes"),
        &s.manager,
        json!({"routes": [{"name": "bad", "matchers": "team=~\"(\"", "service": service_id, "action": "page"}]}),
    )
    .await
    .expect_problem(422);
    let renamed = s
        .put(
            &format!("/api/v1/integrations/{id}"),
            &s.manager,
            json!({"name": "cfg2", "service_id": service_id, "auto_resolve": true}),
        )
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(
        renamed["routes"], with_routes["routes"],
        "routes survive a settings change"
    );
    assert_eq!(renamed["auto_resolve"], true);

    // Silences: agents read, managers create and expire.
    let silence = json!({"matchers": "alertname=\"Noisy\"", "ends_at": "2099-01-01T00:00:00Z", "comment": "known"});
    s.post("/api/v1/silences", &s.agent, silence.clone())
        .await
        .expect_problem(403);
    let created = s
        .post("/api/v1/silences", &s.manager, silence)
        .await
        .expect(201)
        .json
        .clone();
    assert_eq!(created["state"], "active");
    s.post(
        "/api/v1/silences",
        &s.manager,
        json!({"matchers": "alertname=", "ends_at": "2099-01-01T00:00:00Z", "comment": "x"}),
    )
    .await
    .expect_field(422, "matchers");
    s.post(
        "/api/v1/silences",
        &s.manager,
        json!({"matchers": "a=\"b\"", "ends_at": "2001-01-01T00:00:00Z", "comment": "x"}),
    )
    .await
    .expect_field(422, "ends_at");
    let listed = s
        .get("/api/v1/silences", &s.agent)
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let expired = s
        .delete(&format!("/api/v1/silences/{}", created["id"]), &s.manager)
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(expired["state"], "expired");
    let listed = s.get("/api/v1/silences", &s.agent).await.json.clone();
    assert_eq!(listed, json!([]));
    let all = s
        .get("/api/v1/silences?expired=true", &s.agent)
        .await
        .json
        .clone();
    assert_eq!(all.as_array().unwrap().len(), 1);

    // Maintenance windows.
    let w = s
        .post(
            "/api/v1/maintenance-windows",
            &s.manager,
            json!({"service_id": service_id, "schedule": {"kind": "weekly", "time_zone": "Europe/Berlin",
                   "days": ["sunday"], "start": "01:00", "duration": "PT3H"}, "comment": "patching"}),
        )
        .await
        .expect(201)
        .json
        .clone();
    s.post(
        "/api/v1/maintenance-windows",
        &s.manager,
        json!({"service_id": service_id, "schedule": {"kind": "weekly", "time_zone": "Mars/Olympus",
               "days": ["sunday"], "start": "01:00", "duration": "PT3H"}}),
    )
    .await
    .expect_field(422, "schedule.time_zone");
    s.get(
        &format!("/api/v1/maintenance-windows/{}", w["id"]),
        &s.agent,
    )
    .await
    .expect(200);
    s.delete(
        &format!("/api/v1/maintenance-windows/{}", w["id"]),
        &s.agent,
    )
    .await
    .expect_problem(403);
    s.delete(
        &format!("/api/v1/maintenance-windows/{}", w["id"]),
        &s.manager,
    )
    .await
    .expect(204);
    s.get(
        &format!("/api/v1/maintenance-windows/{}", w["id"]),
        &s.agent,
    )
    .await
    .expect_problem(404);

    // Inhibition rules.
    let r = s
        .post(
            "/api/v1/inhibition-rules",
            &s.manager,
            json!({"source": "alertname=\"NodeDown\"", "target": "alertname=\"ServiceDown\"", "equal": ["instance"]}),
        )
        .await
        .expect(201)
        .json
        .clone();
    s.post(
        "/api/v1/inhibition-rules",
        &s.manager,
        json!({"source": "", "target": "alertname=\"X\""}),
    )
    .await
    .expect_field(422, "source");
    s.put(
        &format!("/api/v1/inhibition-rules/{}", r["id"]),
        &s.manager,
        json!({"order": 2, "source": "alertname=\"NodeDown\"", "target": "severity=\"warning\""}),
    )
    .await
    .expect(200);
    let rules = s
        .get("/api/v1/inhibition-rules", &s.agent)
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(rules[0]["order"], 2);
    s.delete(&format!("/api/v1/inhibition-rules/{}", r["id"]), &s.manager)
        .await
        .expect(204);

    // Alert list filters are checked.
    s.get("/api/v1/alerts?status=burning", &s.agent)
        .await
        .expect_field(422, "status");
    s.get("/api/v1/alerts?colour=red", &s.agent)
        .await
        .expect_field(422, "colour");
    s.get("/api/v1/alerts/999", &s.agent)
        .await
        .expect_problem(404);

    // A disabled integration's key stops working.
    let key = i["key"].as_str().unwrap();
    s.delete(&format!("/api/v1/integrations/{id}"), &s.manager)
        .await
        .expect(200);
    post_key(
        s,
        &format!("/api/v1/integrations/generic/{key}"),
        &json!({"alerts": [{"labels": {"alertname": "X"}}]}),
    )
    .await
    .expect_problem(404);
}

async fn heartbeats_are_pinged_by_integration_key(s: &TestServer) {
    let i = integration(s, json!({"name": "hb"})).await;
    let key = i["key"].as_str().unwrap();
    let body =
        json!({"integration_id": i["id"], "name": "nightly_backup", "interval_seconds": 3600});
    s.post("/api/v1/heartbeats", &s.agent, body.clone())
        .await
        .expect_problem(403);
    let hb = s
        .post("/api/v1/heartbeats", &s.manager, body)
        .await
        .expect(201)
        .json
        .clone();
    s.post(
        "/api/v1/heartbeats",
        &s.manager,
        json!({"integration_id": i["id"], "name": "x", "interval_seconds": 1}),
    )
    .await
    .expect_field(422, "interval_seconds");
    let pinged = post_key(
        s,
        &format!("/api/v1/integrations/heartbeat/{key}/nightly_backup"),
        &json!({}),
    )
    .await;
    pinged.expect(200);
    assert!(pinged.json["due_at"].as_str() >= hb["due_at"].as_str());
    post_key(
        s,
        &format!("/api/v1/integrations/heartbeat/{key}/other"),
        &json!({}),
    )
    .await
    .expect_problem(404);
    post_key(
        s,
        "/api/v1/integrations/heartbeat/odi_x/nightly_backup",
        &json!({}),
    )
    .await
    .expect_problem(404);
    let listed = s
        .get("/api/v1/heartbeats", &s.agent)
        .await
        .expect(200)
        .json
        .clone();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    s.delete(&format!("/api/v1/heartbeats/{}", hb["id"]), &s.manager)
        .await
        .expect(204);
}

/// Agents acknowledge firing alerts; requesters may not; a resolved alert
/// is a 409 and an unknown one a 404, with nothing written.
async fn agents_acknowledge_firing_alerts(s: &TestServer) {
    let i = integration(s, json!({"name": "ack"})).await;
    let path = i["alertmanager_path"].as_str().unwrap().to_string();
    post_key(
        s,
        &path,
        &am_body(
            vec![
                am_alert("firing", "DiskFull", "db-1"),
                am_alert("firing", "DiskFull", "db-2"),
            ],
            0,
        ),
    )
    .await
    .expect(200);
    let listed = s
        .get("/api/v1/alerts", &s.agent)
        .await
        .expect(200)
        .json
        .clone();
    // Newest first: db-2, then db-1.
    let mut ids: Vec<i64> = listed["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    ids.reverse();
    let ack = |id: i64| format!("/api/v1/alerts/{id}/acknowledge");

    let before = s.count("events").await;
    s.post(&ack(ids[0]), &s.requester, json!({}))
        .await
        .expect_problem(403);
    assert_eq!(s.count("events").await, before, "a refusal writes nothing");

    let r = s.post(&ack(ids[0]), &s.agent, json!({})).await;
    r.expect(200);
    assert_eq!(r.json["status"], "acknowledged");
    assert!(r.json["acknowledged_at"].is_string());
    assert_eq!(s.count("events").await, before + 1);
    // A retry is harmless.
    let again = s.post(&ack(ids[0]), &s.manager, json!({})).await;
    again.expect(200);
    assert_eq!(again.json["acknowledged_at"], r.json["acknowledged_at"]);
    assert_eq!(s.count("events").await, before + 1);

    post_key(
        s,
        &path,
        &am_body(vec![am_alert("resolved", "DiskFull", "db-2")], 0),
    )
    .await
    .expect(200);
    let before = s.count("events").await;
    let refused = s.post(&ack(ids[1]), &s.agent, json!({})).await;
    refused.expect_problem(409);
    assert!(refused.text.contains("resolved"), "{}", refused.text);
    s.post(&ack(999_999), &s.agent, json!({}))
        .await
        .expect_problem(404);
    assert_eq!(s.count("events").await, before);
}

server_tests!(
    agents_acknowledge_firing_alerts,
    heartbeats_are_pinged_by_integration_key,
    alertmanager_webhooks_open_group_dedup_and_auto_resolve_incidents,
    pagerduty_events_are_answered_like_pagerduty,
    bad_intake_is_refused_whole_with_a_clear_4xx,
    alert_configuration_is_managed_by_managers_and_read_by_agents,
);
