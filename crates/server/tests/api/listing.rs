//! Queue pages over HTTP: filters, full-text search, sorting, cursor
//! pagination and queue counts.

use crate::common::{Person, TestServer, enc};
use serde_json::{Value, json};
use std::collections::HashSet;

/// The numbers on a page, in order.
fn numbers(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["number"].as_str().unwrap().to_string())
        .collect()
}

async fn list(s: &TestServer, who: &Person, query: &str) -> Value {
    let r = s.get(&format!("/api/v1/tickets?{query}"), who).await;
    assert_eq!(r.status, 200, "?{query}: {}", r.text);
    r.json
}

/// Every page of a list, following `next_cursor`.
async fn walk(s: &TestServer, who: &Person, query: &str) -> (Vec<String>, usize) {
    let mut all = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("{query}&cursor={}", enc(c)),
            None => query.to_string(),
        };
        let page = list(s, who, &q).await;
        pages += 1;
        all.extend(numbers(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(pages < 100, "pagination does not end");
    }
    (all, pages)
}

struct Desk {
    team: i64,
    service: i64,
}

/// Six tickets of every sort:
/// INC-1 P1 printer (rita), INC-2 P3 VPN via service -> team (ron),
/// REQ-1 P5 laptop (agent), INC-3 P4 printer toner, acknowledged by alice,
/// INC-4 P3 email, acknowledged and resolved by bob, CHG-1 P3 switch (draft).
async fn desk(s: &TestServer) -> Desk {
    let team = s
        .post("/api/v1/teams", &s.manager, json!({"name": "Network"}))
        .await
        .json["id"]
        .as_i64()
        .unwrap();
    s.post(
        &format!("/api/v1/teams/{team}/members"),
        &s.manager,
        json!({"user_id": s.agent.id()}),
    )
    .await
    .expect(200);
    let service = s
        .post(
            "/api/v1/services",
            &s.manager,
            json!({"name": "VPN", "tier": 1, "owner_team_id": team}),
        )
        .await
        .json["id"]
        .as_i64()
        .unwrap();
    s.create_ticket(
        &s.requester,
        json!({"kind": "incident", "title": "Printer on floor 3 jams", "impact": "high", "urgency": "high", "tags": ["printer", "floor-3"]}),
    )
    .await;
    let vpn = s
        .create_ticket(
            &s.requester2,
            json!({"kind": "incident", "title": "VPN disconnects hourly", "description": "the tunnel drops", "service_id": service}),
        )
        .await;
    assert_eq!(
        vpn["team_id"],
        json!(team),
        "the service's owner team takes it"
    );
    s.create_ticket(&s.agent, json!({"kind": "service_request", "title": "New laptop for Dana", "impact": "low", "urgency": "low"}))
        .await;
    let toner = s
        .create_ticket(&s.agent, json!({"kind": "incident", "title": "Printer toner empty", "impact": "low", "tags": ["printer"]}))
        .await;
    s.step(&s.agent, &toner, json!({"action": "acknowledge"}))
        .await;
    let email = s.incident(&s.requester, "Email bounces").await;
    s.step(&s.agent2, &email, json!({"action": "acknowledge"}))
        .await;
    s.step(&s.agent2, &email, json!({"action": "resolve", "resolution_code": "fixed", "resolution_note": "MX record fixed"})).await;
    s.create_ticket(
        &s.agent,
        json!({"kind": "change", "title": "Replace the core switch"}),
    )
    .await;
    Desk { team, service }
}

fn set(v: &[&str]) -> HashSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn as_set(v: Vec<String>) -> HashSet<String> {
    v.into_iter().collect()
}

async fn filters_select_what_they_say(s: &TestServer) {
    let d = desk(s).await;
    let a = &s.agent;
    let all = [
        "INC-000001",
        "INC-000002",
        "REQ-000001",
        "INC-000003",
        "INC-000004",
        "CHG-000001",
    ];
    // The default order is newest first.
    let everything = numbers(&list(s, a, "").await);
    assert_eq!(
        everything,
        all.iter().rev().map(|n| n.to_string()).collect::<Vec<_>>()
    );
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            "kind=incident".into(),
            vec!["INC-000001", "INC-000002", "INC-000003", "INC-000004"],
        ),
        (
            "kind=service_request,change".into(),
            vec!["REQ-000001", "CHG-000001"],
        ),
        ("state=in_progress".into(), vec!["INC-000003"]),
        (
            "state=new,draft".into(),
            vec!["INC-000001", "INC-000002", "REQ-000001", "CHG-000001"],
        ),
        ("open=false".into(), vec!["INC-000004"]),
        (
            "open=true".into(),
            vec![
                "INC-000001",
                "INC-000002",
                "REQ-000001",
                "INC-000003",
                "CHG-000001",
            ],
        ),
        ("priority=P1".into(), vec!["INC-000001"]),
        ("priority=P4,P5".into(), vec!["REQ-000001", "INC-000003"]),
        (format!("team_id={}", d.team), vec!["INC-000002"]),
        (format!("service_id={}", d.service), vec!["INC-000002"]),
        ("assignee=me".into(), vec!["INC-000003"]),
        (format!("assignee={}", s.agent2.id()), vec!["INC-000004"]),
        (
            "assignee=none".into(),
            vec!["INC-000001", "INC-000002", "REQ-000001", "CHG-000001"],
        ),
        (
            format!("requester_id={}", s.requester.id()),
            vec!["INC-000001", "INC-000004"],
        ),
        ("tag=printer".into(), vec!["INC-000001", "INC-000003"]),
        ("tag=floor-3".into(), vec!["INC-000001"]),
        ("tag=nothing".into(), vec![]),
        (
            "kind=incident&open=true&tag=printer&priority=P1".into(),
            vec!["INC-000001"],
        ),
        ("created_after=2000-01-01T00:00:00Z".into(), all.to_vec()),
        ("created_before=2000-01-01T00:00:00Z".into(), vec![]),
        ("updated_after=2999-01-01T00:00:00Z".into(), vec![]),
    ];
    for (query, expected) in cases {
        let got = numbers(&list(s, a, &query).await);
        assert_eq!(as_set(got.clone()), set(&expected), "?{query} gave {got:?}");
    }
}

async fn full_text_search_finds_words_in_titles_and_descriptions(s: &TestServer) {
    desk(s).await;
    let a = &s.agent;
    for (q, expected) in [
        ("printer", vec!["INC-000001", "INC-000003"]),
        ("Printer", vec!["INC-000001", "INC-000003"]),
        ("printer toner", vec!["INC-000003"]),
        ("tunnel", vec!["INC-000002"]),
        ("laptop", vec!["REQ-000001"]),
        ("giraffe", vec![]),
        // Search syntax is never interpreted: these are just words.
        ("printer OR vpn", vec![]),
        ("\"printer\" (toner", vec!["INC-000003"]),
        ("printer*", vec!["INC-000001", "INC-000003"]),
    ] {
        let got = numbers(&list(s, a, &format!("q={}", enc(q))).await);
        assert_eq!(as_set(got.clone()), set(&expected), "q={q} gave {got:?}");
    }
    // Search combines with filters.
    let got = numbers(&list(s, a, "q=printer&state=new").await);
    assert_eq!(got, ["INC-000001"]);
}

async fn sorting_orders_by_the_field_asked_for(s: &TestServer) {
    desk(s).await;
    let a = &s.agent;
    let priorities = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["priority"].as_str().unwrap().to_string())
            .collect()
    };
    let asc = priorities(&list(s, a, "sort=priority").await);
    let mut sorted = asc.clone();
    sorted.sort();
    assert_eq!(asc, sorted);
    assert_eq!(asc.first().map(String::as_str), Some("P1"));
    let desc = priorities(&list(s, a, "sort=-priority").await);
    assert_eq!(desc.first().map(String::as_str), Some("P5"));
    sorted.reverse();
    assert_eq!(desc, sorted);
    let oldest_first = numbers(&list(s, a, "sort=created_at").await);
    assert_eq!(oldest_first[0], "INC-000001");
    assert_eq!(oldest_first.last().unwrap(), "CHG-000001");
    let touched = numbers(&list(s, a, "sort=-updated_at&limit=1").await);
    assert_eq!(touched, ["CHG-000001"]);
    let touched = numbers(&list(s, a, "sort=-updated_at&kind=incident&limit=1").await);
    assert_eq!(touched, ["INC-000004"]);
}

async fn cursor_pagination_walks_every_ticket_once(s: &TestServer) {
    desk(s).await;
    for i in 0..9 {
        let impact = ["high", "medium", "low"][i % 3];
        s.create_ticket(
            &s.agent,
            json!({"kind": "incident", "title": format!("Bulk {i}"), "impact": impact}),
        )
        .await;
    }
    let a = &s.agent;
    for sort in [
        "-created_at",
        "created_at",
        "priority",
        "-priority",
        "-updated_at",
    ] {
        let whole = numbers(&list(s, a, &format!("sort={sort}&limit=200")).await);
        assert_eq!(whole.len(), 15);
        for limit in [1, 2, 4, 15, 16] {
            let (walked, pages) = walk(s, a, &format!("sort={sort}&limit={limit}")).await;
            assert_eq!(walked, whole, "sort={sort} limit={limit}");
            assert_eq!(
                pages,
                15usize.div_ceil(limit).max(1),
                "sort={sort} limit={limit}"
            );
        }
    }
    // Filters hold across pages.
    let (walked, _) = walk(s, a, "kind=incident&open=true&limit=2").await;
    let whole = numbers(&list(s, a, "kind=incident&open=true&limit=200").await);
    assert_eq!(walked, whole);
    assert_eq!(walked.len(), 12);
    let first = list(s, a, "limit=50").await;
    assert_eq!(
        first["next_cursor"],
        Value::Null,
        "no cursor when everything fit"
    );
}

async fn queue_counts_follow_the_caller(s: &TestServer) {
    desk(s).await;
    let r = s.get("/api/v1/queues/counts", &s.agent).await;
    r.expect(200);
    // mine: INC-3; my teams: INC-2 (Network); unassigned open: INC-1, INC-2, REQ-1, CHG-1.
    assert_eq!(
        r.json,
        json!({"mine": 1, "my_teams": 1, "unassigned": 4, "all_open": 5})
    );
    let r = s.get("/api/v1/queues/counts", &s.agent2).await;
    assert_eq!(
        r.json,
        json!({"mine": 0, "my_teams": 0, "unassigned": 4, "all_open": 5})
    );
    let r = s.get("/api/v1/queues/counts", &s.requester).await;
    assert_eq!(
        r.json,
        json!({"mine": 1, "my_teams": null, "unassigned": null, "all_open": null})
    );
}

server_tests!(
    filters_select_what_they_say,
    full_text_search_finds_words_in_titles_and_descriptions,
    sorting_orders_by_the_field_asked_for,
    cursor_pagination_walks_every_ticket_once,
    queue_counts_follow_the_caller,
);
