//! The web pages of the alerts section over plain HTTP: the alert list with
//! its noise panel, and the silence, maintenance window and inhibition rule
//! pages and forms. Who may see and change what is the API's rule: agents
//! read, managers change, requesters get the 403 page, a signed-out
//! browser is sent to sign in. Every test runs on SQLite and PostgreSQL.

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use common::{Cred, PASSWORD, TestServer};
use serde_json::{Value, json};

/// A browser-like client: no redirects followed, the session cookie
/// carried by hand.
struct Browser<'a> {
    s: &'a TestServer,
    http: reqwest::Client,
    cookie: String,
}

struct Page {
    status: u16,
    location: String,
    body: String,
}

fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .expect("a csrf field");
    let end = html[start..].find('"').expect("end of the csrf value") + start;
    html[start..end].to_string()
}

fn session_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|kv| kv.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

impl<'a> Browser<'a> {
    fn new(s: &'a TestServer) -> Self {
        Browser {
            s,
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookie: String::new(),
        }
    }

    async fn signed_in(s: &'a TestServer, username: &str) -> Self {
        let mut b = Browser::new(s);
        let form = b
            .http
            .get(s.url("/login"))
            .send()
            .await
            .expect("GET /login");
        let login_cookie = session_cookie(&form, "opsdesk_login").expect("a sign-in cookie");
        let csrf = csrf_of(&form.text().await.expect("body"));
        let r = b
            .http
            .post(s.url("/login"))
            .header("cookie", &login_cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                serde_urlencoded::to_string([
                    ("csrf", csrf.as_str()),
                    ("username", username),
                    ("password", PASSWORD),
                ])
                .expect("form"),
            )
            .send()
            .await
            .expect("POST /login");
        assert_eq!(r.status().as_u16(), 303, "{username} signs in");
        b.cookie = session_cookie(&r, "opsdesk_session").expect("a session cookie");
        b
    }

    async fn page(&self, r: reqwest::RequestBuilder) -> Page {
        let r = r
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("answer");
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        Page {
            status,
            location,
            body: r.text().await.unwrap_or_default(),
        }
    }

    async fn get(&self, path: &str) -> Page {
        self.page(self.http.get(self.s.url(path))).await
    }

    /// Posts a form with the session's CSRF token.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let csrf = csrf_of(&self.get("/alerts").await.body);
        let mut pairs = vec![("csrf", csrf.as_str())];
        pairs.extend_from_slice(form);
        self.post_raw(path, &pairs).await
    }

    async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.page(
            self.http
                .post(self.s.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded::to_string(form).expect("form")),
        )
        .await
    }
}

/// A service, an integration and two alerts through the generic intake;
/// returns the service id, the integration key and the incident number.
async fn alerts_arrive(s: &TestServer) -> (i64, String, String) {
    let service = s
        .post(
            "/api/v1/services",
            &s.manager,
            json!({"name": "Storage", "tier": 1}),
        )
        .await
        .expect(201)
        .json
        .clone();
    let integration = s
        .post(
            "/api/v1/integrations",
            &s.manager,
            json!({"name": "nas", "service_id": service["id"]}),
        )
        .await
        .expect(201)
        .json
        .clone();
    let key = integration["key"].as_str().expect("key").to_string();
    let result = send(
        s,
        &key,
        json!({"alerts": [
            {"labels": {"alertname": "DiskFull", "host": "nas-2"}, "summary": "nas-2 is 97% full",
             "url": "https://grafana.example/d/nas"},
        ]}),
    )
    .await;
    let incident = result["incidents_opened"][0]
        .as_str()
        .unwrap_or_else(|| panic!("an incident: {result}"))
        .to_string();
    (service["id"].as_i64().expect("id"), key, incident)
}

async fn send(s: &TestServer, key: &str, body: Value) -> Value {
    s.post(
        &format!("/api/v1/integrations/generic/{key}"),
        Cred::None,
        body,
    )
    .await
    .expect(200)
    .json
    .clone()
}

const PAGES: [&str; 6] = [
    "/alerts",
    "/alerts/silences",
    "/alerts/maintenance",
    "/alerts/inhibitions",
    "/alerts/integrations",
    "/alerts/heartbeats",
];

/// Signed out: sign in first. Requesters: the 403 page, for reading and
/// for posting. Agents: read everything, change nothing.
async fn alert_pages_are_for_the_desk(s: &TestServer) {
    let (_, key, incident) = alerts_arrive(s).await;

    let nobody = Browser::new(s);
    for path in PAGES {
        let p = nobody.get(path).await;
        assert_eq!(p.status, 303, "{path}");
        assert_eq!(
            p.location,
            format!("/login?next={}", common::enc(path)),
            "{path}"
        );
    }

    let rita = Browser::signed_in(s, "rita").await;
    for path in PAGES {
        let p = rita.get(path).await;
        assert_eq!(p.status, 403, "{path}: {}", p.body);
        assert!(!p.body.contains("nas-2"), "{path}");
    }
    let csrf = csrf_of(&rita.get("/portal").await.body);
    let p = rita
        .post_raw(
            "/alerts/silences",
            &[
                ("csrf", &csrf),
                ("matchers", "alertname=\"DiskFull\""),
                ("duration", "3600"),
                ("comment", "mine"),
            ],
        )
        .await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(
        !rita.get("/portal").await.body.contains("href=\"/alerts\""),
        "requesters have no Alerts link"
    );

    let alice = Browser::signed_in(s, "alice").await;
    let p = alice.get("/alerts").await;
    assert_eq!(p.status, 200, "{}", p.body);
    for expected in [
        "<a href=\"/alerts\" aria-current=\"page\">Alerts</a>",
        "nas-2 is 97% full",
        "host=nas-2",
        "Storage",
        "firing",
        "warning",
        &format!("<a href=\"/tickets/{incident}\">{incident}</a>"),
        "href=\"https://grafana.example/d/nas\"",
        "Noise, last 7 days",
        "Noise reduction",
    ] {
        assert!(
            p.body.contains(expected),
            "missing {expected:?}:\n{}",
            p.body
        );
    }
    // Filters are the API's: no resolved alerts, a bad value is refused.
    let p = alice.get("/alerts?status=resolved").await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("No alerts match.") && !p.body.contains("nas-2 is"));
    let p = alice.get("/alerts?status=exploded").await;
    assert_eq!(p.status, 422, "{}", p.body);

    // Pages of 50, newest first: the oldest alert is on the second page.
    let many: Vec<Value> = (0..55)
        .map(|i| {
            json!({"labels": {"alertname": "Probe", "target": format!("t{i:02}")},
                        "summary": format!("probe t{i:02} down")})
        })
        .collect();
    send(s, &key, json!({ "alerts": many })).await;
    let p = alice.get("/alerts?status=firing").await;
    assert!(
        p.body.contains("probe t54 down") && !p.body.contains("nas-2 is 97% full"),
        "{}",
        p.body
    );
    let marker = "<a href=\"/alerts?status=firing&#38;before_id=";
    let start = p
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("an 'Older alerts' link keeping the filter:\n{}", p.body))
        + "<a href=\"".len();
    let end = start + p.body[start..].find('"').expect("end of the link");
    let older = p.body[start..end].replace("&#38;", "&");
    let p = alice.get(&older).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains("nas-2 is 97% full")
            && p.body.contains("probe t00 down")
            && !p.body.contains("probe t54 down")
            && p.body.contains("Newest alerts"),
        "{}",
        p.body
    );

    // Agents see silences but get no form, and the API refuses their post.
    let p = alice.get("/alerts/silences").await;
    assert_eq!(p.status, 200);
    assert!(!p.body.contains("New silence"), "{}", p.body);
    let p = alice
        .post(
            "/alerts/silences",
            &[
                ("matchers", "alertname=\"DiskFull\""),
                ("duration", "3600"),
                ("comment", "agents may not"),
            ],
        )
        .await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert_eq!(s.count("alert_silences").await, 0);
}

/// An agent acknowledges a firing alert with its button in the list; a
/// requester's post is refused and changes nothing.
async fn agents_acknowledge_alerts_from_the_list(s: &TestServer) {
    alerts_arrive(s).await;
    let listed = s.get("/api/v1/alerts", &s.agent).await.json.clone();
    let id = listed["alerts"][0]["id"].as_i64().expect("id");
    let action = format!("action=\"/alerts/{id}/acknowledge\"");

    let rita = Browser::signed_in(s, "rita").await;
    let csrf = csrf_of(&rita.get("/portal").await.body);
    let p = rita
        .post_raw(&format!("/alerts/{id}/acknowledge"), &[("csrf", &csrf)])
        .await;
    assert_eq!(p.status, 403, "{}", p.body);

    let alice = Browser::signed_in(s, "alice").await;
    let p = alice.get("/alerts").await;
    assert!(
        p.body.contains(&action) && p.body.contains(">Acknowledge</button>"),
        "{}",
        p.body
    );
    let p = alice.post(&format!("/alerts/{id}/acknowledge"), &[]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location, "/alerts?notice=acknowledged");
    let p = alice.get(&p.location).await;
    assert!(
        p.body.contains("Alert acknowledged.")
            && p.body.contains("alert-acknowledged")
            && !p.body.contains(&action),
        "{}",
        p.body
    );
    let alert = s
        .get(&format!("/api/v1/alerts/{id}"), &s.agent)
        .await
        .json
        .clone();
    assert_eq!(alert["status"], "acknowledged");
}

/// An incident's page lists the alerts grouped into it, with a link to
/// the alert list narrowed to them.
async fn an_incident_page_lists_its_alerts(s: &TestServer) {
    let (_, key, incident) = alerts_arrive(s).await;
    send(
        s,
        &key,
        json!({"alerts": [{"labels": {"alertname": "DiskFull", "host": "nas-3"}, "summary": "nas-3 is 95% full"}]}),
    )
    .await;
    send(
        s,
        &key,
        json!({"alerts": [{"labels": {"alertname": "Unrelated", "host": "nas-9"}, "summary": "something else"}]}),
    )
    .await;
    let id = s
        .get(&format!("/api/v1/tickets/{incident}"), &s.agent)
        .await
        .json["id"]
        .as_i64()
        .expect("id");

    let alice = Browser::signed_in(s, "alice").await;
    let p = alice.get(&format!("/tickets/{incident}")).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let section = between(&p.body, "id=\"alerts-h\"", "</section>");
    assert!(
        section.contains("nas-2 is 97% full")
            && section.contains("nas-3 is 95% full")
            && !section.contains("something else")
            && section.contains(&format!("href=\"/alerts?incident_id={id}\"")),
        "{section}"
    );
    let p = alice.get(&format!("/alerts?incident_id={id}")).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains("nas-3 is 95% full")
            && !p.body.contains("something else")
            && p.body.contains("The alerts of one incident")
            && p.body
                .contains(&format!("name=\"incident_id\" value=\"{id}\"")),
        "{}",
        p.body
    );
}

/// A manager silences, sees the silence suppress a new alert, is told
/// what is wrong with a bad matcher (input kept, nothing stored), and
/// expires it.
async fn silences_through_the_forms(s: &TestServer) {
    let (_, key, _) = alerts_arrive(s).await;
    let max = Browser::signed_in(s, "max").await;
    let p = max.get("/alerts/silences").await;
    assert!(
        p.body.contains("New silence") && p.body.contains("No silences."),
        "{}",
        p.body
    );

    let p = max
        .post(
            "/alerts/silences",
            &[
                ("matchers", "alertname=\"BackupFailed\", host=~\"nas-.*\""),
                ("starts_at", ""),
                ("duration", "3600"),
                ("ends_at", ""),
                ("comment", "replacing the backup disk"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location, "/alerts/silences?notice=silenced");
    let p = max.get(&p.location).await;
    assert!(
        p.body.contains("Silence created.")
            && p.body.contains("BackupFailed")
            && p.body.contains("replacing the backup disk")
            && p.body.contains("silence-active"),
        "{}",
        p.body
    );
    let listed = s.get("/api/v1/silences", &s.agent).await.json.clone();
    let silence = &listed[0];
    let id = silence["id"].as_i64().expect("id");
    let starts: jiff::Timestamp = silence["starts_at"]
        .as_str()
        .expect("t")
        .parse()
        .expect("t");
    let ends: jiff::Timestamp = silence["ends_at"].as_str().expect("t").parse().expect("t");
    assert_eq!(
        ends.duration_since(starts).as_secs(),
        3600,
        "lasts the hour picked: {silence}"
    );

    // The silence mutes a matching alert; the list says by what.
    send(
        s,
        &key,
        json!({"alerts": [{"labels": {"alertname": "BackupFailed", "host": "nas-1", "severity": "critical"},
                            "annotations": {"summary": "Nightly backup of nas-1 failed"}}]}),
    )
    .await;
    let p = max.get("/alerts?suppressed=true").await;
    assert!(
        p.body.contains("Nightly backup of nas-1 failed")
            && p.body.contains(&format!(
                "<a href=\"/alerts/silences?expired=true#silence-{id}\">Silence #{id} until"
            ))
            && !p.body.contains("nas-2 is 97% full"),
        "{}",
        p.body
    );

    // A bad matcher: the API's words next to the form, the input kept.
    let p = max
        .post(
            "/alerts/silences",
            &[
                ("matchers", "alertname="),
                ("duration", "3600"),
                ("comment", "typo"),
            ],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(
        p.body.contains("role=\"alert\">Matchers"),
        "the field is named: {}",
        p.body
    );
    assert!(p.body.contains("value=\"alertname=\""), "{}", p.body);
    assert!(p.body.contains("value=\"typo\""), "{}", p.body);
    // An end before the start: refused by name.
    let p = max
        .post(
            "/alerts/silences",
            &[
                ("matchers", "a=\"b\""),
                ("ends_at", "2001-01-01T00:00"),
                ("comment", "past"),
            ],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("Ends at"), "{}", p.body);
    // Without the CSRF token: refused before anything else.
    let p = max
        .post_raw(
            "/alerts/silences",
            &[("matchers", "a=\"b\""), ("comment", "x")],
        )
        .await;
    assert_eq!(p.status, 403);
    assert_eq!(s.count("alert_silences").await, 1, "nothing else stored");

    // Expire it.
    let p = max
        .post(&format!("/alerts/silences/{id}/expire"), &[])
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = max.get("/alerts/silences").await;
    assert!(p.body.contains("No silences."), "{}", p.body);
    let p = max.get("/alerts/silences?expired=true").await;
    assert!(
        p.body.contains("silence-expired") && !p.body.contains("/expire\""),
        "{}",
        p.body
    );
    let p = max.post("/alerts/silences/999999/expire", &[]).await;
    assert_eq!(p.status, 404, "{}", p.body);
}

/// Maintenance windows and inhibition rules: create, refusals with the
/// input kept, delete.
async fn windows_and_rules_through_the_forms(s: &TestServer) {
    let (service_id, _, _) = alerts_arrive(s).await;
    let service = service_id.to_string();
    let max = Browser::signed_in(s, "max").await;
    let p = max.get("/alerts/maintenance").await;
    assert!(p.body.contains("No maintenance windows."), "{}", p.body);

    let ends = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(2))
        .strftime("%Y-%m-%dT%H:%M")
        .to_string();
    let p = max
        .post(
            "/alerts/maintenance",
            &[
                ("service_id", &service),
                ("kind", "one_off"),
                ("starts_at", ""),
                ("ends_at", &ends),
                ("comment", "disk swap"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = max.get(&p.location).await;
    assert!(
        p.body.contains("Maintenance window created.")
            && p.body.contains("Storage")
            && p.body.contains("disk swap")
            && p.body.contains("<span class=\"chip\">open</span>"),
        "{}",
        p.body
    );
    let p = max
        .post(
            "/alerts/maintenance",
            &[
                ("service_id", &service),
                ("kind", "weekly"),
                ("days", "sunday"),
                ("days", "saturday"),
                ("start", "01:00"),
                ("time_zone", "Europe/Berlin"),
                ("duration_hours", "3"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = max.get("/alerts/maintenance").await;
    assert!(
        p.body
            .contains("Every Sunday, Saturday at 01:00 (Europe/Berlin) for 3 h")
            || p.body
                .contains("Every Saturday, Sunday at 01:00 (Europe/Berlin) for 3 h"),
        "{}",
        p.body
    );
    let p = max
        .post(
            "/alerts/maintenance",
            &[
                ("service_id", &service),
                ("kind", "weekly"),
                ("days", "monday"),
                ("start", "02:00"),
                ("time_zone", "Mars/Olympus"),
                ("duration_hours", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("role=\"alert\""), "{}", p.body);
    assert!(p.body.contains("value=\"Mars/Olympus\""), "{}", p.body);
    assert!(
        p.body.contains("value=\"monday\" checked"),
        "the days are kept: {}",
        p.body
    );
    let windows = s
        .get("/api/v1/maintenance-windows", &s.agent)
        .await
        .json
        .clone();
    assert_eq!(windows.as_array().map(Vec::len), Some(2));
    for w in windows.as_array().into_iter().flatten() {
        let p = max
            .post(&format!("/alerts/maintenance/{}/delete", w["id"]), &[])
            .await;
        assert_eq!(p.status, 303, "{}", p.body);
    }
    let p = max.get("/alerts/maintenance").await;
    assert!(p.body.contains("No maintenance windows."), "{}", p.body);

    // Inhibition rules.
    let p = max
        .post(
            "/alerts/inhibitions",
            &[
                ("source", "alertname=\"NodeDown\""),
                ("target", "severity=\"warning\""),
                ("equal", "instance, cluster"),
                ("order", "5"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = max.get(&p.location).await;
    assert!(
        p.body.contains("Inhibition rule created.")
            && p.body.contains("NodeDown")
            && p.body.contains("instance, cluster"),
        "{}",
        p.body
    );
    let p = max
        .post(
            "/alerts/inhibitions",
            &[("source", ""), ("target", "severity=\"warning\"")],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("role=\"alert\">Source"), "{}", p.body);
    let rules = s
        .get("/api/v1/inhibition-rules", &s.agent)
        .await
        .json
        .clone();
    assert_eq!(rules.as_array().map(Vec::len), Some(1), "{rules}");
    let alice = Browser::signed_in(s, "alice").await;
    let p = alice.get("/alerts/inhibitions").await;
    assert!(p.body.contains("NodeDown") && !p.body.contains("New inhibition rule"));
    let p = alice
        .post(
            &format!("/alerts/inhibitions/{}/delete", rules[0]["id"]),
            &[],
        )
        .await;
    assert_eq!(p.status, 403, "agents may not delete: {}", p.body);
    let p = max
        .post(
            &format!("/alerts/inhibitions/{}/delete", rules[0]["id"]),
            &[],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = max.get("/alerts/inhibitions").await;
    assert!(p.body.contains("No inhibition rules."), "{}", p.body);
}

/// The text between `start` and the next `end` after it.
fn between<'b>(body: &'b str, start: &str, end: &str) -> &'b str {
    let from = body
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} in:\n{body}"))
        + start.len();
    let to = body[from..].find(end).expect("the end marker") + from;
    &body[from..to]
}

/// One editor row of the routing rules form, as a browser sends it.
fn route_row(i: usize, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let defaults = [
        ("position", (i + 1).to_string()),
        ("action", "ticket_only".to_string()),
        ("page_min_severity", String::new()),
        ("u_critical", "high".to_string()),
        ("u_error", "high".to_string()),
        ("u_warning", "medium".to_string()),
        ("u_info", "low".to_string()),
        ("group_by", "alertname".to_string()),
        ("group_window", String::new()),
    ];
    let mut out: Vec<(String, String)> = defaults
        .iter()
        .filter(|(k, _)| !fields.iter().any(|(f, _)| f == k))
        .map(|(k, v)| (format!("r{i}_{k}"), v.clone()))
        .collect();
    out.extend(
        fields
            .iter()
            .map(|(k, v)| (format!("r{i}_{k}"), v.to_string())),
    );
    out
}

async fn post_routes(b: &Browser<'_>, id: i64, rows: Vec<Vec<(String, String)>>) -> Page {
    let count = rows.len().to_string();
    let mut pairs: Vec<(String, String)> = vec![("rows".into(), count)];
    pairs.extend(rows.into_iter().flatten());
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.post(&format!("/alerts/integrations/{id}/routes"), &refs)
        .await
}

/// A manager creates an integration from the form and sees its key once,
/// is told what is wrong with a bad matcher next to the rule (input kept,
/// nothing stored), saves valid routing rules and sees them listed in
/// order with the fallback, removes one, and disables the integration.
/// Agents read but change nothing; requesters get the 403 page.
async fn integrations_and_routes_through_the_forms(s: &TestServer) {
    let storage = s
        .post(
            "/api/v1/services",
            &s.manager,
            json!({"name": "Storage", "tier": 1}),
        )
        .await
        .expect(201)
        .json["id"]
        .as_i64()
        .expect("id");
    let database = s
        .post(
            "/api/v1/services",
            &s.manager,
            json!({"name": "Database", "tier": 1}),
        )
        .await
        .expect(201)
        .json["id"]
        .as_i64()
        .expect("id");
    let (storage_s, database_s) = (storage.to_string(), database.to_string());

    let max = Browser::signed_in(s, "max").await;
    let p = max.get("/alerts/integrations").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        between(&p.body, "name=\"impact\"", "</select>")
            .contains("<option value=\"medium\" selected>"),
        "the new-integration form offers medium impact first: {}",
        p.body
    );
    assert!(
        p.body.contains("No integrations.")
            && p.body.contains("New integration")
            && p.body.contains(
                "<a href=\"/alerts/integrations\" aria-current=\"page\">Integrations</a>"
            ),
        "{}",
        p.body
    );
    // Every page of the section links the new ones.
    let p = max.get("/alerts").await;
    assert!(
        p.body
            .contains("<a href=\"/alerts/integrations\">Integrations</a>")
            && p.body
                .contains("<a href=\"/alerts/heartbeats\">Heartbeats</a>"),
        "{}",
        p.body
    );

    // Refused: no name. The API's words, the input kept, nothing stored.
    let p = max
        .post(
            "/alerts/integrations",
            &[
                ("name", ""),
                ("service_id", &storage_s),
                ("action", "ticket_only"),
                ("group_by", "alertname, host"),
                ("group_window", "45m"),
            ],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("role=\"alert\">Name"), "{}", p.body);
    assert!(p.body.contains("value=\"alertname, host\""), "{}", p.body);
    assert!(p.body.contains("value=\"45m\""), "{}", p.body);
    assert_eq!(s.count("alert_integrations").await, 0);

    // Created: the key is on this page only.
    let p = max
        .post(
            "/alerts/integrations",
            &[
                ("name", "nas"),
                ("service_id", &storage_s),
                ("action", "ticket_only"),
                ("impact", "low"),
                ("group_by", "alertname"),
                ("group_window", ""),
            ],
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    assert!(p.body.contains("shown this once"), "{}", p.body);
    let key = between(&p.body, "<code id=\"new-key\">", "</code>").to_string();
    assert!(key.starts_with("odi_") && key.len() > 20, "{key}");
    assert!(
        p.body
            .contains(&format!("POST /api/v1/integrations/alertmanager/{key}")),
        "{}",
        p.body
    );
    let result = send(
        s,
        &key,
        json!({"alerts": [{"labels": {"alertname": "DiskFull", "team": "db"}, "severity": "critical"}]}),
    )
    .await;
    assert_eq!(result["received"], 1, "the key works: {result}");
    let listed = s.get("/api/v1/integrations", &s.agent).await.json.clone();
    let id = listed[0]["id"].as_i64().expect("id");
    let prefix = listed[0]["key_prefix"]
        .as_str()
        .expect("prefix")
        .to_string();
    let p = max.get("/alerts/integrations").await;
    assert!(
        !p.body.contains(&key)
            && p.body.contains(&format!("<code>{prefix}…</code>"))
            && p.body
                .contains(&format!("<a href=\"/alerts/integrations/{id}\">nas</a>"))
            && p.body.contains("Enabled"),
        "the key is never shown again: {}",
        p.body
    );
    // The alert list filters by integration, as the API does.
    let p = max.get(&format!("/alerts?integration_id={id}")).await;
    assert!(p.body.contains("DiskFull"), "{}", p.body);
    let p = max.get(&format!("/alerts?integration_id={}", id + 1)).await;
    assert!(p.body.contains("No alerts match."), "{}", p.body);

    // A second integration of the same name: the API's conflict.
    let p = max
        .post(
            "/alerts/integrations",
            &[
                ("name", "nas"),
                ("service_id", &storage_s),
                ("action", "page"),
            ],
        )
        .await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.body.contains("already exists"), "{}", p.body);

    // The integration's page: no rules yet, the fallback (with the impact
    // chosen at creation).
    let page = format!("/alerts/integrations/{id}");
    let p = max.get(&page).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        between(&p.body, "id=\"route-fallback\"", "</tr>")
            .contains("<td data-label=\"Impact\">low</td>"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains("No routing rules yet")
            && p.body.contains("id=\"route-fallback\"")
            && p.body.contains("Change the routing rules")
            && !p.body.contains(&key),
        "{}",
        p.body
    );

    // A bad matcher: named per rule, next to it, input kept, nothing stored.
    let p = post_routes(
        &max,
        id,
        vec![route_row(
            0,
            &[
                ("new", "1"),
                ("name", "db"),
                ("matchers", "team="),
                ("service", &database_s),
                ("action", "page"),
            ],
        )],
    )
    .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(
        p.body.contains("role=\"alert\">Route 1 (db): Matchers"),
        "the rule and field are named: {}",
        p.body
    );
    assert!(
        p.body.contains("<p class=\"field-error\">Matchers"),
        "{}",
        p.body
    );
    assert!(p.body.contains("value=\"team=\""), "{}", p.body);
    let stored = s.get(&format!("/api/v1/integrations/{id}"), &s.agent).await;
    assert_eq!(stored.json["routes"], json!([]), "nothing stored");

    // A catch-all before another rule: refused by the API's rule.
    let p = post_routes(
        &max,
        id,
        vec![
            route_row(
                0,
                &[("name", "all"), ("matchers", ""), ("service", &storage_s)],
            ),
            route_row(
                1,
                &[
                    ("name", "db"),
                    ("matchers", "team=\"db\""),
                    ("service", &database_s),
                ],
            ),
        ],
    )
    .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(
        p.body
            .contains("Route 1 (all): Matchers an empty matcher list"),
        "{}",
        p.body
    );

    // Valid rules, saved in the order of their positions.
    let p = post_routes(
        &max,
        id,
        vec![
            route_row(
                0,
                &[
                    ("position", "2"),
                    ("name", "everything else"),
                    ("matchers", ""),
                    ("service", &storage_s),
                    ("action", "record_only"),
                ],
            ),
            route_row(
                1,
                &[
                    ("position", "1"),
                    ("name", "db"),
                    ("matchers", "team=\"db\", env!=\"staging\""),
                    ("service", &database_s),
                    ("action", "page"),
                    ("page_min_severity", "error"),
                    ("u_warning", "low"),
                    ("impact", "high"),
                    ("group_by", "alertname, cluster"),
                    ("group_window", "30m"),
                    ("auto_resolve", "on"),
                ],
            ),
            route_row(2, &[("new", "1"), ("name", ""), ("matchers", "")]),
        ],
    )
    .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        p.location,
        format!("/alerts/integrations/{id}?notice=routes_saved#routes")
    );
    let stored = s.get(&format!("/api/v1/integrations/{id}"), &s.agent).await;
    let routes = stored.json["routes"].as_array().expect("routes").clone();
    assert_eq!(routes.len(), 2, "{}", stored.json);
    assert_eq!(routes[0]["name"], "db");
    assert_eq!(routes[0]["page_min_severity"], "error");
    assert_eq!(routes[0]["urgency"]["warning"], "low");
    assert_eq!(routes[0]["impact"], "high");
    assert_eq!(routes[1]["impact"], "medium", "a rule without one");
    assert_eq!(routes[0]["group_by"], json!(["alertname", "cluster"]));
    assert_eq!(routes[0]["auto_resolve"], true);
    assert_eq!(routes[1]["name"], "everything else");
    assert_eq!(routes[1]["action"], "record_only");

    let p = max.get(&page).await;
    let table = between(&p.body, "<table class=\"plain routes\">", "</table>");
    let (db_at, rest_at, fallback_at) = (
        table.find("id=\"route-1\"").expect("rule 1"),
        table.find("id=\"route-2\"").expect("rule 2"),
        table.find("id=\"route-fallback\"").expect("fallback"),
    );
    assert!(db_at < rest_at && rest_at < fallback_at, "{table}");
    let first = between(table, "id=\"route-1\"", "</tr>");
    for expected in [
        ">db<",
        "team=",
        "Database",
        "Page on-call",
        "pages from error up; less severe: ticket only",
        "warning → low",
        "<td data-label=\"Impact\">high</td>",
        "by alertname, cluster, for 30m after the incident opens",
        ">yes<",
    ] {
        assert!(first.contains(expected), "{expected:?} in {first}");
    }
    let second = between(table, "id=\"route-2\"", "</tr>");
    assert!(
        second.contains("every alert") && second.contains("Record only"),
        "{second}"
    );

    // The integration's own settings, flap policy included: saved through
    // the API's full PUT. The form shows the stored policy (the default).
    let before = s.get(&format!("/api/v1/integrations/{id}"), &s.agent).await;
    assert_eq!(before.json["flap"]["max_transitions"], 6, "{}", before.json);
    let p = max.get(&page).await;
    let form = between(&p.body, "id=\"edit-settings\"", "</form>");
    assert!(
        form.contains("name=\"flap_max_transitions\"")
            && form.contains("value=\"6\"")
            && form.contains("name=\"flap_window\"")
            && form.contains("value=\"1h\""),
        "{form}"
    );
    let settings = format!("/alerts/integrations/{id}/settings");
    let p = max
        .post(
            &settings,
            &[
                ("name", "nas-primary"),
                ("service_id", &storage_s),
                ("action", "ticket_only"),
                ("impact", "high"),
                ("u_critical", "high"),
                ("u_error", "high"),
                ("u_warning", "low"),
                ("u_info", "low"),
                ("group_by", "alertname"),
                ("group_window", "1h"),
                ("auto_resolve", "on"),
                ("flap_max_transitions", "4"),
                ("flap_window", "30m"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        p.location,
        format!("/alerts/integrations/{id}?notice=integration_saved")
    );
    let after = s.get(&format!("/api/v1/integrations/{id}"), &s.agent).await;
    assert_eq!(after.json["name"], "nas-primary");
    assert_eq!(after.json["impact"], "high");
    assert_eq!(after.json["urgency"]["warning"], "low");
    assert_eq!(after.json["auto_resolve"], true);
    assert_eq!(
        after.json["flap"],
        json!({"max_transitions": 4, "window": "PT30M"})
    );
    assert_eq!(
        after.json["routes"], before.json["routes"],
        "rules untouched"
    );
    let p = max.get(&page).await;
    let form = between(&p.body, "id=\"edit-settings\"", "</form>");
    assert!(
        form.contains("value=\"nas-primary\"")
            && form.contains("value=\"4\"")
            && form.contains("value=\"30m\""),
        "{form}"
    );
    // Refused: the API's words, the typed values kept, nothing changed.
    let p = max
        .post(
            &settings,
            &[
                ("name", "nas-renamed"),
                ("service_id", &storage_s),
                ("action", "ticket_only"),
                ("impact", "low"),
                ("u_critical", "high"),
                ("u_error", "high"),
                ("u_warning", "low"),
                ("u_info", "low"),
                ("group_by", "not a label"),
                ("flap_max_transitions", "2"),
                ("flap_window", "5m"),
            ],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    let said = between(&p.body, "role=\"alert\">", "</p>");
    assert!(said.contains("not a label"), "{said}");
    assert!(p.body.contains("value=\"not a label\""), "{}", p.body);
    let unchanged = s.get(&format!("/api/v1/integrations/{id}"), &s.agent).await;
    assert_eq!(unchanged.json["name"], "nas-primary");
    assert_eq!(unchanged.json["flap"], after.json["flap"]);
    // A bad flap policy is refused the same way, naming the form's field;
    // nothing else in the form is saved either.
    for (max_transitions, window, says) in [
        ("0", "30m", "Flap max transitions must be at least 1"),
        ("-2", "30m", "Flap max transitions"),
        ("often", "30m", "Flap max transitions"),
        ("", "30m", "Flap max transitions"),
        ("4", "0s", "Flap window must be longer than zero"),
        ("4", "-5m", "Flap window must be longer than zero"),
        ("4", "soon", "Flap window"),
        ("4", "", "Flap window"),
    ] {
        let p = max
            .post(
                &settings,
                &[
                    ("name", "nas-flapped"),
                    ("service_id", &storage_s),
                    ("action", "ticket_only"),
                    ("impact", "low"),
                    ("u_critical", "high"),
                    ("u_error", "high"),
                    ("u_warning", "low"),
                    ("u_info", "low"),
                    ("group_by", "alertname"),
                    ("flap_max_transitions", max_transitions),
                    ("flap_window", window),
                ],
            )
            .await;
        assert_eq!(p.status, 422, "{max_transitions:?} {window:?}: {}", p.body);
        let said = between(&p.body, "role=\"alert\">", "</p>");
        assert!(
            said.contains(says),
            "{max_transitions:?} {window:?}: {said}"
        );
        let form = between(&p.body, "id=\"edit-settings\"", "</form>");
        assert!(
            form.contains("value=\"nas-flapped\"")
                && form.contains(&format!("value=\"{max_transitions}\""))
                && form.contains(&format!("value=\"{window}\"")),
            "{form}"
        );
        let unchanged = s.get(&format!("/api/v1/integrations/{id}"), &s.agent).await;
        assert_eq!(unchanged.json["name"], "nas-primary");
        assert_eq!(unchanged.json["impact"], "high");
        assert_eq!(unchanged.json["flap"], after.json["flap"]);
    }
    let agent = Browser::signed_in(s, "alice").await;
    let p = agent
        .post(
            &settings,
            &[
                ("name", "agents_may_not"),
                ("service_id", &storage_s),
                ("action", "page"),
                ("impact", "high"),
                ("u_critical", "high"),
                ("u_error", "high"),
                ("u_warning", "medium"),
                ("u_info", "low"),
                ("group_by", "alertname"),
                ("flap_max_transitions", "1"),
                ("flap_window", "1m"),
            ],
        )
        .await;
    assert_eq!(p.status, 403, "{}", p.body);
    let unchanged = s.get(&format!("/api/v1/integrations/{id}"), &s.agent).await;
    assert_eq!(unchanged.json["name"], "nas-primary");
    assert_eq!(unchanged.json["flap"], after.json["flap"]);

    // Agents read the rules but get no editor, and the API refuses them.
    let alice = Browser::signed_in(s, "alice").await;
    let p = alice.get(&page).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains("pages from error up") && !p.body.contains("Change the routing rules"),
        "{}",
        p.body
    );
    let p = alice.get("/alerts/integrations").await;
    assert!(
        p.body.contains("nas")
            && !p.body.contains("New integration")
            && !p.body.contains("/disable"),
        "{}",
        p.body
    );
    let p = post_routes(&alice, id, vec![]).await;
    assert_eq!(p.status, 403, "{}", p.body);
    let p = alice
        .post(
            "/alerts/integrations",
            &[
                ("name", "mine"),
                ("service_id", &storage_s),
                ("action", "page"),
                ("group_by", "alertname"),
            ],
        )
        .await;
    assert_eq!(p.status, 403, "{}", p.body);
    let p = alice
        .post(&format!("/alerts/integrations/{id}/disable"), &[])
        .await;
    assert_eq!(p.status, 403, "{}", p.body);
    let stored = s.get(&format!("/api/v1/integrations/{id}"), &s.agent).await;
    assert_eq!(stored.json["routes"].as_array().map(Vec::len), Some(2));
    assert_eq!(stored.json["enabled"], true);
    assert_eq!(s.count("alert_integrations").await, 1);

    // Requesters: the 403 page, no rules shown.
    let rita = Browser::signed_in(s, "rita").await;
    let p = rita.get(&page).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(!p.body.contains("team="), "{}", p.body);

    // Remove a rule.
    let p = post_routes(
        &max,
        id,
        vec![
            route_row(
                0,
                &[
                    ("name", "db"),
                    ("matchers", "team=\"db\""),
                    ("service", &database_s),
                ],
            ),
            route_row(
                1,
                &[
                    ("name", "everything else"),
                    ("service", &storage_s),
                    ("remove", "on"),
                ],
            ),
        ],
    )
    .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = max.get(&p.location).await;
    assert!(
        p.body.contains("Routing rules saved.") && !p.body.contains("id=\"route-2\""),
        "{}",
        p.body
    );

    // Unknown integration: the not-found page.
    let p = max.get("/alerts/integrations/999999").await;
    assert_eq!(p.status, 404, "{}", p.body);

    // Disable: the key stops working.
    let p = max
        .post(&format!("/alerts/integrations/{id}/disable"), &[])
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = max.get(&p.location).await;
    assert!(
        p.body.contains("Integration disabled") && p.body.contains("Disabled"),
        "{}",
        p.body
    );
    s.post(
        &format!("/api/v1/integrations/generic/{key}"),
        Cred::None,
        json!({"alerts": [{"labels": {"alertname": "X"}}]}),
    )
    .await
    .expect(404);
}

/// Heartbeat monitors: create (refusals named, input kept), listed with
/// their integration, interval and state (missed once the worker raised
/// the alert); agents may not delete; delete.
async fn heartbeats_through_the_forms(s: &TestServer) {
    let max = Browser::signed_in(s, "max").await;
    let p = max.get("/alerts/heartbeats").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains("No heartbeat monitors.") && p.body.contains("Create an <a"),
        "no integration yet: {}",
        p.body
    );
    alerts_arrive(s).await;
    let integration = s.get("/api/v1/integrations", &s.agent).await.json[0]["id"]
        .as_i64()
        .expect("id")
        .to_string();

    let p = max
        .post(
            "/alerts/heartbeats",
            &[
                ("integration_id", &integration),
                ("name", "nightly backup"),
                ("interval", "5"),
                ("unit", "60"),
            ],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("role=\"alert\">Name"), "{}", p.body);
    assert!(p.body.contains("value=\"nightly backup\""), "{}", p.body);
    let p = max
        .post(
            "/alerts/heartbeats",
            &[
                ("integration_id", &integration),
                ("name", "nightly_backup"),
                ("interval", "5"),
                ("unit", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(
        p.body
            .contains("role=\"alert\">Interval seconds must be between 10"),
        "{}",
        p.body
    );
    assert_eq!(s.count("alert_heartbeats").await, 0);

    let p = max
        .post(
            "/alerts/heartbeats",
            &[
                ("integration_id", &integration),
                ("name", "nightly_backup"),
                ("interval", "5"),
                ("unit", "60"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location, "/alerts/heartbeats?notice=heartbeat_created");
    let p = max.get(&p.location).await;
    let listed = s.get("/api/v1/heartbeats", &s.agent).await.json.clone();
    assert_eq!(listed[0]["interval_seconds"], 300, "{listed}");
    let hb = listed[0]["id"].as_i64().expect("id");
    let row = between(&p.body, &format!("id=\"heartbeat-{hb}\""), "</tr>");
    for expected in [
        "Heartbeat monitor created.",
        "nightly_backup",
        ">nas</a>",
        "Storage",
        "5m",
        ">ok<",
        "/api/v1/integrations/heartbeat/odi_",
    ] {
        assert!(
            row.contains(expected) || (p.body.contains(expected) && expected.ends_with('.')),
            "{expected:?} in {row}"
        );
    }

    // A missed ping: the worker raises the alert and the list says so.
    let past = jiff::Timestamp::now().as_microsecond() - 1_000_000;
    sqlx::query("UPDATE alert_heartbeats SET due_at = $1 WHERE id = $2")
        .bind(past)
        .bind(hb)
        .execute(s.store().pool())
        .await
        .expect("make the ping overdue");
    let mut state = String::new();
    for _ in 0..100 {
        let p = max.get("/alerts/heartbeats").await;
        state = between(&p.body, &format!("id=\"heartbeat-{hb}\""), "</tr>").to_string();
        if state.contains(">missed<") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(state.contains(">missed<"), "{state}");
    let p = max.get("/alerts").await;
    assert!(p.body.contains("heartbeat=nightly_backup"), "{}", p.body);

    let alice = Browser::signed_in(s, "alice").await;
    let p = alice.get("/alerts/heartbeats").await;
    assert!(
        p.body.contains("nightly_backup") && !p.body.contains("New heartbeat monitor"),
        "{}",
        p.body
    );
    let p = alice
        .post(&format!("/alerts/heartbeats/{hb}/delete"), &[])
        .await;
    assert_eq!(p.status, 403, "{}", p.body);
    let p = alice
        .post(
            "/alerts/heartbeats",
            &[
                ("integration_id", &integration),
                ("name", "agents_may_not"),
                ("interval", "5"),
                ("unit", "60"),
            ],
        )
        .await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert_eq!(s.count("alert_heartbeats").await, 1);

    let p = max
        .post(&format!("/alerts/heartbeats/{hb}/delete"), &[])
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = max.get(&p.location).await;
    assert!(
        p.body.contains("Heartbeat monitor deleted.") && p.body.contains("No heartbeat monitors."),
        "{}",
        p.body
    );
    let p = max
        .post(&format!("/alerts/heartbeats/{hb}/delete"), &[])
        .await;
    assert_eq!(p.status, 404, "{}", p.body);
}

server_tests!(
    agents_acknowledge_alerts_from_the_list,
    an_incident_page_lists_its_alerts,
    alert_pages_are_for_the_desk,
    silences_through_the_forms,
    windows_and_rules_through_the_forms,
    integrations_and_routes_through_the_forms,
    heartbeats_through_the_forms,
);
