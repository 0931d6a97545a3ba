//! Health, readiness, metrics and the OpenAPI document.

use crate::common::{Cred, TestServer};

async fn health_and_readiness_answer_without_credentials(s: &TestServer) {
    let r = s.get("/healthz", Cred::None).await;
    r.expect(200);
    assert_eq!(r.text, "ok");
    let r = s.get("/readyz", Cred::None).await;
    r.expect(200);
    assert_eq!(r.text, "ready");
}

async fn metrics_count_http_requests_by_route(s: &TestServer) {
    s.get("/healthz", Cred::None).await.expect(200);
    s.get("/api/v1/tickets", &s.agent).await.expect(200);
    let r = s.get("/metrics", Cred::None).await;
    r.expect(200);
    assert!(
        r.content_type().starts_with("text/plain"),
        "{}",
        r.content_type()
    );
    assert!(r.text.contains("opsdesk_http_requests_total"), "{}", r.text);
    // Labelled by route template, never by raw path.
    assert!(r.text.contains("route=\"/api/v1/tickets\""), "{}", r.text);
}

async fn the_openapi_document_is_public_json_listing_the_ticket_routes(s: &TestServer) {
    let r = s.get("/api/v1/openapi.json", Cred::None).await;
    r.expect(200);
    assert!(
        r.content_type().starts_with("application/json"),
        "{}",
        r.content_type()
    );
    let doc: serde_json::Value = serde_json::from_str(&r.text).expect("valid JSON");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths is an object");
    for p in [
        "/api/v1/tickets",
        "/api/v1/tickets/{ticket}",
        "/api/v1/tickets/{ticket}/transitions",
        "/api/v1/audit/verify",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from {:?}",
            paths.keys().collect::<Vec<_>>()
        );
    }
    assert!(paths["/api/v1/tickets"]["post"].is_object());
    assert!(paths["/api/v1/tickets"]["get"].is_object());
}

async fn an_unknown_route_is_a_404_problem(s: &TestServer) {
    s.get("/api/v1/no-such-thing", &s.agent)
        .await
        .expect_problem(404);
    s.get("/nowhere", Cred::None).await.expect_problem(404);
    s.post(
        "/api/v1/tickets/1/frobnicate",
        &s.agent,
        serde_json::json!({}),
    )
    .await
    .expect_problem(404);

    // A browser asking for a page nobody serves gets the web UI's page.
    let page = reqwest::Client::new()
        .get(format!("{}/nowhere", s.base))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    let content_type = page.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.text().await.unwrap().contains("Not found"));
    // Under the API, even a browser gets problem+json.
    let api = reqwest::Client::new()
        .get(format!("{}/api/v1/no-such-thing", s.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404);
    assert!(
        api.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );
}

server_tests!(
    health_and_readiness_answer_without_credentials,
    metrics_count_http_requests_by_route,
    the_openapi_document_is_public_json_listing_the_ticket_routes,
    an_unknown_route_is_a_404_problem,
);
