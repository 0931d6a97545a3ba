//! End-to-end tests of the web UI in a real browser: Debian's chromium,
//! driven over WebDriver (chromium-driver) with fantoccini.
//!
//! The test starts the real server on 127.0.0.1:0 (SQLite, and PostgreSQL
//! when reachable; required under `CI=true`) and its own `chromedriver` on a
//! free port. Without chromedriver the test is skipped with a note, except
//! under `CI=true`, where it fails. Screenshots of the key pages go to
//! `target/tmp/browser-artifacts/<backend>/`, and with
//! `OPSDESK_WRITE_SCREENSHOTS=1` (SQLite run) also to `docs/screenshots/`.

#[macro_use]
#[path = "common/mod.rs"]
mod common;

use common::{PASSWORD, TestServer};
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// A chromedriver this test started; killed (by its pid) when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts chromedriver, or says why not (`None`: skip the test).
async fn start_driver() -> Option<Driver> {
    let available = Command::new("chromedriver")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        if ci() {
            panic!(
                "chromedriver is required under CI=true: apt-get install -y chromium chromium-driver"
            );
        }
        eprintln!(
            "note: skipping the browser tests: chromedriver not found \
             (apt-get install -y chromium chromium-driver)"
        );
        return None;
    }
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("{}/status", driver.url)).send().await
            && r.status().is_success()
        {
            return Some(driver);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {}", driver.url);
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    let mut args = vec![
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--hide-scrollbars",
        "--no-proxy-server",
    ];
    if std::env::var("OPSDESK_BROWSER_SHOW").is_ok() {
        args.retain(|a| *a != "--headless=new");
    }
    let mut options = serde_json::json!({ "args": args });
    if std::path::Path::new("/usr/bin/chromium").exists() {
        options["binary"] = "/usr/bin/chromium".into();
    }
    caps.insert("goog:chromeOptions".to_string(), options);
    caps.insert("pageLoadStrategy".to_string(), "normal".into());
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a chromium session")
}

/// The browser and where its screenshots go.
struct Ui<'a> {
    c: Client,
    s: &'a TestServer,
    shots: Vec<PathBuf>,
}

impl Ui<'_> {
    async fn goto(&self, path: &str) {
        self.c.goto(&self.s.url(path)).await.expect("navigate");
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let page = self.source().await;
                panic!("no element '{css}' on {}: {e}\n{page}", self.path().await)
            }
        }
    }

    async fn has(&self, css: &str) -> bool {
        !self
            .c
            .find_all(Locator::Css(css))
            .await
            .expect("query the page")
            .is_empty()
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    async fn source(&self) -> String {
        self.c.source().await.expect("page source")
    }

    async fn path(&self) -> String {
        self.c
            .current_url()
            .await
            .map(|u| u.path().to_string())
            .unwrap_or_default()
    }

    async fn fill(&self, css: &str, value: &str) {
        let e = self.find(css).await;
        e.clear().await.expect("clear a field");
        e.send_keys(value).await.expect("type into a field");
    }

    /// Clicks something that does not leave the page (a radio, a summary).
    async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// Clicks a link or a submit button and waits for the next page.
    async fn submit(&self, css: &str) {
        let old = self
            .c
            .find(Locator::Css("html"))
            .await
            .expect("the current page");
        self.find(css).await.click().await.expect("click");
        for _ in 0..200 {
            if old.tag_name().await.is_err() {
                let ready = self
                    .c
                    .execute("return document.readyState", vec![])
                    .await
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string));
                if ready.as_deref() == Some("complete") {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("clicking '{css}' did not load a new page");
    }

    async fn shot(&self, name: &str) {
        let png = self.c.screenshot().await.expect("a screenshot");
        for dir in &self.shots {
            std::fs::create_dir_all(dir).expect("screenshot directory");
            std::fs::write(dir.join(format!("{name}.png")), &png).expect("write a screenshot");
        }
    }

    async fn sign_in(&self, username: &str, password: &str) {
        self.goto("/login").await;
        self.fill("#username", username).await;
        self.fill("#password", password).await;
        self.submit("form[action='/login'] button[type=submit]")
            .await;
    }

    async fn sign_out(&self) {
        self.submit("form[action='/logout'] button").await;
        self.find("#username").await;
    }
}

/// The whole scenario of the issue, in one browser session.
async fn scenario(s: &TestServer, backend: &str) {
    let Some(driver) = start_driver().await else {
        return;
    };
    let mut shots = vec![
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("browser-artifacts/{backend}")),
    ];
    if backend == "sqlite" && std::env::var("OPSDESK_WRITE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        shots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots"));
    }
    let ui = Ui {
        c: browser(&driver).await,
        s,
        shots,
    };

    // Some other work in the desk, so the queues look like a working day.
    for (kind, title, impact, urgency) in [
        (
            "incident",
            "Printer on the 2nd floor jams on every duplex job",
            "low",
            "medium",
        ),
        (
            "service_request",
            "New laptop for a starter on 1 December",
            "medium",
            "low",
        ),
        (
            "incident",
            "Outlook keeps asking for the password after the certificate renewal on the mail \
             gateway, for the whole finance department including remote staff",
            "high",
            "high",
        ),
        ("service_request", "Access to the sales share", "low", "low"),
        (
            "incident",
            "Wi-Fi in meeting room Fjord drops calls",
            "medium",
            "high",
        ),
    ] {
        s.create_ticket(
            &s.requester2,
            serde_json::json!({"kind": kind, "title": title, "impact": impact, "urgency": urgency}),
        )
        .await;
    }

    // -- sign in: a wrong password is refused with a readable message.
    ui.goto("/").await;
    assert_eq!(ui.path().await, "/login", "signed out, / leads to sign-in");
    ui.shot("01-sign-in").await;
    ui.sign_in("rita", "not the password").await;
    assert!(
        ui.text(".error")
            .await
            .contains("Invalid username or password"),
        "a failed sign-in says so"
    );
    ui.sign_in("rita", PASSWORD).await;
    ui.find("h1").await;
    assert_eq!(ui.path().await, "/portal", "requesters land in the portal");
    assert!(
        ui.has(".empty").await,
        "an empty portal explains what to do"
    );

    // -- the requester reports an incident.
    ui.submit("a[href='/portal/new?kind=incident']").await;
    ui.fill("#title", "VPN drops every 10 minutes").await;
    ui.fill(
        "#description",
        "Since this morning, for everyone on floor 3.",
    )
    .await;
    ui.find("#impact")
        .await
        .select_by(Locator::Css("option[value=high]"))
        .await
        .expect("choose impact");
    ui.shot("02-portal-report").await;
    ui.submit("form button[type=submit].primary").await;
    let notice = ui.text(".notice").await;
    assert!(notice.contains("Ticket created"), "notice: {notice}");
    let number = ui.text("#ticket-title .number").await;
    assert!(number.starts_with("INC-"), "a ticket number: {number}");
    assert_eq!(ui.path().await, format!("/portal/tickets/{number}"));
    // A requester has no desk-only steps: nothing to do on a new incident.
    assert!(!ui.has("[data-step=acknowledge]").await);
    assert!(
        !ui.has("#visibility-internal").await,
        "no internal notes for requesters"
    );

    // A form posted without its CSRF token is refused and changes nothing.
    let before = s.ticket_count().await;
    ui.goto("/portal/new?kind=incident").await;
    ui.fill("#title", "Posted without a token").await;
    ui.c.execute(
        "document.querySelectorAll('input[name=csrf]').forEach(e => e.remove());",
        vec![],
    )
    .await
    .expect("remove the token");
    ui.submit("form button[type=submit].primary").await;
    assert_eq!(ui.text("h1").await, "Form refused");
    assert!(ui.source().await.contains("Error 403"));
    assert_eq!(
        s.ticket_count().await,
        before,
        "a CSRF-less post writes nothing"
    );
    ui.goto("/portal").await;
    ui.shot("03-portal-my-tickets").await;
    ui.sign_out().await;

    // -- the agent finds it unassigned and works it.
    ui.sign_in("alice", PASSWORD).await;
    ui.find("h1").await;
    assert_eq!(
        ui.path().await,
        "/agent/queues/mine",
        "agents land in their queue"
    );
    ui.goto("/agent/queues/unassigned").await;
    let row = format!("tr[data-row] a[href='/tickets/{number}']");
    ui.find(&row).await;
    assert!(ui.source().await.contains("VPN drops every 10 minutes"));
    ui.shot("04-agent-unassigned-queue").await;
    ui.submit(&row).await;
    ui.find("#ticket-title").await;
    assert_eq!(ui.path().await, format!("/tickets/{number}"));

    // Keyboard: '?' shows the shortcuts, 'a' assigns the ticket to me.
    ui.press('?').await;
    assert!(
        ui.find("#shortcuts")
            .await
            .is_displayed()
            .await
            .expect("visible")
    );
    ui.press('\u{E00C}').await; // Escape
    assert!(
        !ui.find("#shortcuts")
            .await
            .is_displayed()
            .await
            .expect("hidden")
    );
    ui.press_and_wait('a').await;
    assert!(ui.text(".notice").await.contains("Assignment saved"));
    assert_eq!(ui.text("#ticket-assignee").await, s.agent.user.display_name);

    // An internal note and a public reply.
    ui.click("#visibility-internal").await;
    ui.fill(
        "#comment-body",
        "Concentrator vpn-2 shows DPD timeouts (internal only)",
    )
    .await;
    ui.submit("#comment-form button[type=submit]").await;
    assert!(ui.text(".notice").await.contains("Internal note added"));
    ui.click("#visibility-public").await;
    ui.fill("#comment-body", "We are on it; next update in 30 minutes.")
        .await;
    ui.submit("#comment-form button[type=submit]").await;
    assert!(ui.text(".notice").await.contains("Reply added"));

    // Only the legal steps of a new incident are buttons.
    assert!(ui.has("[data-step=acknowledge]").await);
    assert!(ui.has("[data-step=resolve]").await);
    for illegal in ["hold", "resume", "reopen", "close"] {
        assert!(
            !ui.has(&format!("[data-step={illegal}]")).await,
            "no '{illegal}' button on a new incident"
        );
    }
    ui.submit("button[data-step=acknowledge]").await;
    assert_eq!(ui.text("#ticket-state").await, "In progress");
    assert!(
        ui.has("[data-step=hold]").await,
        "hold is legal once in progress"
    );
    assert!(
        !ui.has("[data-step=acknowledge]").await,
        "acknowledge is not legal twice"
    );

    // Resolve with the data the step needs; leaving the note out is refused
    // next to the form with the input kept.
    ui.click("summary[data-step=resolve]").await;
    ui.fill("#resolve-resolution_code", "fixed").await;
    ui.c.execute(
        "document.getElementById('resolve-resolution_note').removeAttribute('required');",
        vec![],
    )
    .await
    .expect("let the empty note through");
    ui.submit("details[open] form button.primary").await;
    let refusal = ui.text("details[open] .error").await;
    assert!(
        refusal.contains("Resolution note"),
        "the refusal names the field: {refusal}"
    );
    assert_eq!(
        ui.find("#resolve-resolution_code")
            .await
            .prop("value")
            .await
            .expect("value"),
        Some("fixed".to_string()),
        "the input is kept"
    );
    ui.fill(
        "#resolve-resolution_note",
        "Raised the DPD timeout on vpn-2.",
    )
    .await;
    ui.submit("details[open] form button.primary").await;
    assert_eq!(ui.text("#ticket-state").await, "Resolved");
    ui.shot("05-agent-ticket").await;

    // Filter a queue like the API does, and save the filter.
    ui.goto("/agent/queues/open").await;
    ui.find("#f-kind")
        .await
        .select_by(Locator::Css("option[value=service_request]"))
        .await
        .expect("choose a kind");
    ui.submit(".filters button[type=submit]").await;
    assert!(ui.source().await.contains("Access to the sales share"));
    assert!(
        !ui.source().await.contains("Wi-Fi in meeting room"),
        "incidents filtered out"
    );
    ui.fill("#filter-name", "Requests").await;
    ui.submit(".save-filter button").await;
    assert!(ui.text(".notice").await.contains("Filter saved"));
    ui.goto("/agent/queues/mine").await;
    ui.submit(".queues li.saved a").await;
    assert!(ui.source().await.contains("New laptop for a starter"));
    assert!(!ui.source().await.contains("Wi-Fi in meeting room"));
    ui.set_mobile().await;
    ui.shot("06-agent-ticket-360px").await;
    ui.goto("/agent/queues/open").await;
    ui.shot("07-agent-queue-360px").await;
    ui.set_desktop().await;
    ui.sign_out().await;

    // -- the requester sees the reply, not the note, and reopens.
    ui.sign_in("rita", PASSWORD).await;
    ui.find("h1").await;
    ui.goto(&format!("/portal/tickets/{number}")).await;
    let page = ui.source().await;
    assert!(page.contains("We are on it; next update in 30 minutes."));
    assert!(
        !page.contains("DPD timeouts"),
        "requesters never see internal notes"
    );
    assert!(!page.contains("Internal"), "nor any trace of them");
    assert_eq!(ui.text("#ticket-state").await, "Resolved");
    ui.shot("08-portal-ticket-resolved").await;
    ui.click("summary[data-step=reopen]").await;
    ui.fill("#reopen-reason", "It dropped again at 14:05.")
        .await;
    ui.submit("details[open] form button.primary").await;
    assert_eq!(ui.text("#ticket-state").await, "In progress");
    assert!(ui.text(".notice").await.contains("Ticket updated"));
    ui.sign_out().await;

    // -- another requester typing the URL gets the same page as for no ticket.
    ui.sign_in("ron", PASSWORD).await;
    ui.find("h1").await;
    for path in [
        format!("/portal/tickets/{number}"),
        format!("/tickets/{number}"),
        "/portal/tickets/INC-999999".to_string(),
    ] {
        ui.goto(&path).await;
        assert_eq!(ui.text("h1").await, "Not found", "{path}");
        let page = ui.source().await;
        assert!(
            !page.contains("VPN drops"),
            "{path} shows nothing of the ticket"
        );
    }
    ui.shot("09-not-found").await;
    // Nor does the agent workspace open for a requester.
    ui.goto("/agent/queues/open").await;
    assert_eq!(ui.text("h1").await, "Not allowed");
    ui.goto("/portal").await;
    ui.sign_out().await;

    // -- admin pages render for an admin.
    ui.sign_in("ada", PASSWORD).await;
    ui.find("h1").await;
    ui.goto("/admin/teams").await;
    ui.fill("#team-name", "Network").await;
    ui.submit("form[action='/admin/teams'] button").await;
    assert!(ui.text(".notice").await.contains("Saved"));
    ui.shot("10-admin-teams").await;
    ui.goto("/admin/tokens").await;
    ui.fill("#tok-name", "ci").await;
    ui.submit("form[action='/admin/tokens'] button").await;
    let secret = ui.text("#new-token").await;
    assert!(secret.len() > 20, "the token is shown once");
    ui.goto("/admin/tokens").await;
    assert!(!ui.source().await.contains(&secret), "and never again");

    // -- a silence from the Alerts section, listed after the redirect.
    ui.submit("header a[href='/alerts']").await;
    ui.submit("nav.tabs a[href='/alerts/silences']").await;
    ui.fill("#sil-matchers", "alertname=\"PrinterJam\"").await;
    ui.fill("#sil-comment", "Toner arrives tomorrow").await;
    ui.submit("form[action='/alerts/silences'] button[type=submit]")
        .await;
    assert!(ui.text(".notice").await.contains("Silence created"));
    let listed = ui.text("table.silences").await;
    assert!(
        listed.contains("PrinterJam") && listed.contains("Toner arrives tomorrow"),
        "{listed}"
    );
    ui.shot("11-alerts-silences").await;

    ui.c.clone().close().await.expect("close the browser");
    drop(driver);
}

impl Ui<'_> {
    /// Types one key on the page (not into a field), as a keyboard user would.
    async fn press(&self, key: char) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let keys = KeyActions::new("keyboard".to_string())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.c.perform_actions(keys).await.expect("press a key");
    }

    /// Presses a shortcut that submits a form, and waits for the next page.
    async fn press_and_wait(&self, key: char) {
        let old = self.c.find(Locator::Css("html")).await.expect("the page");
        self.press(key).await;
        for _ in 0..200 {
            if old.tag_name().await.is_err() {
                self.find("body").await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the '{key}' shortcut did not load a new page");
    }

    async fn set_mobile(&self) {
        self.c.set_window_size(360, 800).await.expect("resize");
        self.c.refresh().await.expect("reload");
    }

    async fn set_desktop(&self) {
        self.c.set_window_size(1280, 900).await.expect("resize");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_scenario() {
    let server = TestServer::sqlite().await;
    scenario(&server, "sqlite").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_scenario() {
    let Some(server) = TestServer::postgres().await else {
        return;
    };
    scenario(&server, "postgres").await;
    server.stop().await;
}

/// Static assets: small, cached, and no page ships more than 100 KB of
/// JavaScript and CSS together.
#[tokio::test]
async fn assets_are_small_and_cached() {
    let s = TestServer::sqlite().await;
    let login = s.get("/login", common::Cred::None).await;
    login.expect(200);
    let mut total = 0;
    for href in ["css", "js"].iter().map(|ext| {
        let start = login
            .text
            .find(&format!("/static/app.{ext}?v="))
            .expect("a versioned asset link");
        let end = login.text[start..]
            .find('"')
            .map(|e| start + e)
            .expect("end of the link");
        login.text[start..end].to_string()
    }) {
        let r = s.get(&href, common::Cred::None).await;
        r.expect(200);
        assert!(
            r.header("cache-control")
                .is_some_and(|c| c.contains("immutable"))
        );
        total += r.text.len();
    }
    assert!(total < 100 * 1024, "JS + CSS is {total} bytes");
    s.stop().await;
}

// -- the same rules over plain HTTP (no browser needed) ----------------------

/// A browser-like client: no redirects followed, cookies carried by hand.
struct WebClient<'a> {
    s: &'a TestServer,
    http: reqwest::Client,
    cookie: String,
}

/// The value of the first hidden `csrf` field of a page.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .expect("a csrf field");
    let end = html[start..].find('"').expect("end of the csrf value") + start;
    html[start..end].to_string()
}

fn urlencoded(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).expect("form encoding")
}

fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|kv| kv.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

impl<'a> WebClient<'a> {
    fn new(s: &'a TestServer) -> Self {
        WebClient {
            s,
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookie: String::new(),
        }
    }

    /// Posts the sign-in form; returns the response status.
    async fn login(&mut self, username: &str, password: &str) -> (u16, String) {
        let page = self
            .http
            .get(self.s.url("/login"))
            .send()
            .await
            .expect("GET /login");
        let login_cookie = set_cookie(&page, "opsdesk_login").expect("a sign-in form cookie");
        let csrf = csrf_of(&page.text().await.expect("body"));
        let r = self
            .http
            .post(self.s.url("/login"))
            .header("cookie", &login_cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(urlencoded(&[
                ("csrf", csrf.as_str()),
                ("username", username),
                ("password", password),
            ]))
            .send()
            .await
            .expect("POST /login");
        let status = r.status().as_u16();
        if let Some(c) = set_cookie(&r, "opsdesk_session") {
            self.cookie = c;
        }
        (status, r.text().await.unwrap_or_default())
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(self.s.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("GET");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
        let r = self
            .http
            .post(self.s.url(path))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(urlencoded(form))
            .send()
            .await
            .expect("POST");
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (status, location, r.text().await.unwrap_or_default())
    }

    async fn csrf(&self) -> String {
        csrf_of(&self.get("/account/password").await.1)
    }
}

/// The web sign-in and the JSON sign-in count failures together and lock
/// the account the same way.
async fn web_sign_in_shares_the_lockout(s: &TestServer) {
    let mut web = WebClient::new(s);
    for _ in 0..5 {
        let (status, body) = web.login("rita", "wrong password").await;
        assert_eq!(status, 401);
        assert!(body.contains("Invalid username or password"));
    }
    let json = s
        .post(
            "/api/v1/auth/login",
            common::Cred::None,
            serde_json::json!({"username": "rita", "password": PASSWORD}),
        )
        .await;
    json.expect_problem(429);
    let (status, body) = web.login("rita", PASSWORD).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("locked"), "{body}");
    assert!(web.cookie.is_empty(), "no session while locked");
}

/// Every form needs the session's token: none or a wrong one is a 403 page
/// and writes nothing; a sign-in form without its cookie token too.
async fn forms_without_the_csrf_token_are_refused(s: &TestServer) {
    let mut web = WebClient::new(s);
    let (status, _) = web.login("rita", PASSWORD).await;
    assert_eq!(status, 303);
    let before = s.write_counts().await;
    let form = |csrf: &'static str| {
        vec![
            ("csrf", csrf),
            ("kind", "incident"),
            ("title", "Printer jams"),
            ("impact", "low"),
            ("urgency", "low"),
        ]
    };
    for csrf in ["", "forged"] {
        let (status, _, body) = web.post("/portal/new", &form(csrf)).await;
        assert_eq!(status, 403, "csrf '{csrf}'");
        assert!(body.contains("Form refused"));
    }
    let (status, _, _) = web.post("/logout", &[]).await;
    assert_eq!(status, 403, "signing out needs the token too");
    assert_eq!(
        s.write_counts().await,
        before,
        "refused posts write nothing"
    );
    let token = web.csrf().await;
    let mut ok = form("");
    ok[0].1 = token.as_str();
    let (status, location, _) = web.post("/portal/new", &ok).await;
    assert_eq!(status, 303);
    assert!(location.starts_with("/portal/tickets/INC-"), "{location}");

    // Signing in from a form another site posted (no cookie token) fails.
    let r = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(s.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(urlencoded(&[
            ("csrf", "x"),
            ("username", "rita"),
            ("password", PASSWORD),
        ]))
        .send()
        .await
        .expect("POST /login");
    assert_eq!(r.status().as_u16(), 403);
    assert!(set_cookie(&r, "opsdesk_session").is_none());
}

/// Another requester's ticket is the same page as no ticket at all.
async fn others_tickets_are_not_found_pages(s: &TestServer) {
    let t = s.incident(&s.requester, "Rita's laptop is slow").await;
    let number = t["number"].as_str().expect("number").to_string();
    let mut ron = WebClient::new(s);
    ron.login("ron", PASSWORD).await;
    let (status, missing) = ron.get("/portal/tickets/INC-999999").await;
    assert_eq!(status, 404);
    for path in [
        format!("/portal/tickets/{number}"),
        format!("/tickets/{number}"),
    ] {
        let (status, body) = ron.get(&path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(
            body, missing,
            "{path} is indistinguishable from a missing ticket"
        );
    }
    // Actions on it are refused the same way, before anything is written.
    let csrf = ron.csrf().await;
    let before = s.write_counts().await;
    let (status, _, _) = ron
        .post(
            &format!("/tickets/{number}/comment"),
            &[("csrf", csrf.as_str()), ("body", "mine now")],
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(s.write_counts().await, before);
    // The owner sees it.
    let mut rita = WebClient::new(s);
    rita.login("rita", PASSWORD).await;
    let (status, body) = rita.get(&format!("/portal/tickets/{number}")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("Rita&#x27;s laptop is slow") || body.contains("Rita&#39;s laptop is slow")
    );
}

/// An illegal step posted anyway is refused with the API's reason on the
/// ticket page, and a requester cannot post desk-only actions.
async fn illegal_actions_are_refused(s: &TestServer) {
    let t = s.incident(&s.requester, "Monitor flickers").await;
    let number = t["number"].as_str().expect("number").to_string();
    let mut alice = WebClient::new(s);
    alice.login("alice", PASSWORD).await;
    let csrf = alice.csrf().await;
    let (status, _, body) = alice
        .post(
            &format!("/tickets/{number}/transition"),
            &[
                ("csrf", csrf.as_str()),
                ("action", "reopen"),
                ("kind", "incident"),
            ],
        )
        .await;
    assert_eq!(status, 409);
    assert!(body.contains("cannot"), "the reason is shown");
    assert!(
        body.contains("data-step=\"acknowledge\""),
        "the page offers the legal steps"
    );
    let mut rita = WebClient::new(s);
    rita.login("rita", PASSWORD).await;
    let csrf = rita.csrf().await;
    let (status, _, _) = rita
        .post(
            &format!("/tickets/{number}/comment"),
            &[
                ("csrf", csrf.as_str()),
                ("body", "psst"),
                ("visibility", "internal"),
            ],
        )
        .await;
    assert_eq!(status, 403, "requesters may not write internal notes");
    let (status, _, _) = rita
        .post(
            &format!("/tickets/{number}/assign"),
            &[("csrf", csrf.as_str()), ("me", "1")],
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = rita.get("/admin/users").await;
    assert_eq!(status, 403);
}

/// Queue filters are the API's: a bad one is explained, not a 500; bulk
/// actions report per ticket.
async fn queues_filter_and_bulk(s: &TestServer) {
    let a = s.incident(&s.requester, "Alpha outage").await;
    let b = s.incident(&s.requester, "Bravo outage").await;
    let mut alice = WebClient::new(s);
    alice.login("alice", PASSWORD).await;
    let (status, body) = alice.get("/agent/queues/open?q=alpha").await;
    assert_eq!(status, 200);
    assert!(body.contains("Alpha outage") && !body.contains("Bravo outage"));
    let (status, body) = alice.get("/agent/queues/open?sort=title").await;
    assert_eq!(status, 422);
    assert!(body.contains("not a sortable field"), "{body}");
    let (status, _) = alice
        .get("/agent/queues/open?sort=sla_due&breaching_within=3600")
        .await;
    assert_eq!(status, 200, "queues by time to breach");
    let (status, body) = alice.get("/agent/queues/open?breaching_within=soon").await;
    assert_eq!(status, 422);
    assert!(body.contains("Breaching within"), "{body}");
    let (status, _) = alice.get("/agent/queues/nonsense").await;
    assert_eq!(status, 404);
    let csrf = alice.csrf().await;
    let (a_id, b_id) = (a["id"].to_string(), b["id"].to_string());
    let (status, location, _) = alice
        .post(
            "/agent/bulk",
            &[
                ("csrf", csrf.as_str()),
                ("op", "assign_me"),
                ("t", a_id.as_str()),
                ("t", b_id.as_str()),
                ("back", "/agent/queues/unassigned"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(location, "/agent/queues/unassigned?notice=saved");
    let (_, body) = alice.get("/agent/queues/mine").await;
    assert!(body.contains("Alpha outage") && body.contains("Bravo outage"));
    // Reopen is illegal for new incidents: each refusal is listed.
    let (status, _, body) = alice
        .post(
            "/agent/bulk",
            &[
                ("csrf", csrf.as_str()),
                ("op", "step:reopen"),
                ("t", a_id.as_str()),
                ("back", "/agent/queues/mine"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(body.contains("0 updated, 1 refused"), "{body}");
    // The API keeps answering problem+json, for unknown routes too.
    let r = s.get("/api/v1/nope", common::Cred::None).await;
    r.expect_problem(404);
}

/// Queue pages are keyset pages with a "Next page" link that keeps the filters.
async fn queues_page_through(s: &TestServer) {
    for i in 0..55 {
        s.incident(&s.requester, &format!("Paging ticket {i}"))
            .await;
    }
    let mut alice = WebClient::new(s);
    alice.login("alice", PASSWORD).await;
    let (_, first) = alice.get("/agent/queues/open?kind=incident").await;
    assert_eq!(first.matches("<tr data-row>").count(), 50);
    let marker = "rel=\"next\"";
    let at = first.find(marker).expect("a next page link");
    let href_start = first[..at].rfind("href=\"").expect("href") + 6;
    let href_end = first[href_start..].find('"').expect("end") + href_start;
    let next = first[href_start..href_end]
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(
        next.contains("kind=incident") && next.contains("cursor="),
        "{next}"
    );
    let (status, second) = alice.get(&next).await;
    assert_eq!(status, 200);
    assert_eq!(second.matches("<tr data-row>").count(), 5);
    assert!(!second.contains(marker), "the last page has no next link");
    assert!(second.contains("First page"));
}

/// Changing one's own password, and the admin pages' forms.
async fn account_and_admin_forms(s: &TestServer) {
    let mut rita = WebClient::new(s);
    rita.login("rita", PASSWORD).await;
    let csrf = rita.csrf().await;
    let (status, _, body) = rita
        .post(
            "/account/password",
            &[
                ("csrf", csrf.as_str()),
                ("current_password", "not it"),
                ("new_password", "a much longer passphrase 2026"),
                ("confirm_password", "a much longer passphrase 2026"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(body.contains("is not your current password"), "{body}");
    let (status, location, _) = rita
        .post(
            "/account/password",
            &[
                ("csrf", csrf.as_str()),
                ("current_password", PASSWORD),
                ("new_password", "a much longer passphrase 2026"),
                ("confirm_password", "a much longer passphrase 2026"),
            ],
        )
        .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/account/password?notice=password")
    );
    let (status, _) = WebClient::new(s)
        .login("rita", "a much longer passphrase 2026")
        .await;
    assert_eq!(status, 303, "the new password works");

    let mut ada = WebClient::new(s);
    ada.login("ada", PASSWORD).await;
    let csrf = ada.csrf().await;
    let (status, _, _) = ada
        .post(
            "/admin/users",
            &[
                ("csrf", csrf.as_str()),
                ("username", "nina"),
                ("display_name", "Nina Petrova"),
                ("role", "agent"),
                ("password", "another long passphrase 99"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (status, _, body) = ada
        .post(
            "/admin/users",
            &[
                ("csrf", csrf.as_str()),
                ("username", "Not Valid!"),
                ("display_name", "Someone"),
                ("role", "agent"),
                ("password", "secret-that-must-not-come-back"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(body.contains("Username must be"), "{body}");
    assert!(body.contains("value=\"Not Valid!\""), "the input is kept");
    assert!(
        !body.contains("secret-that-must-not-come-back"),
        "but not the password"
    );
    let (_, users) = ada.get("/admin/users").await;
    assert!(users.contains("Nina Petrova"));
    let (status, _, _) = ada
        .post(
            "/admin/services",
            &[("csrf", csrf.as_str()), ("name", "VPN"), ("tier", "1")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, services) = ada.get("/admin/services").await;
    assert!(services.contains("VPN"));
    // Agents open any kind from the workspace.
    let mut alice = WebClient::new(s);
    alice.login("alice", PASSWORD).await;
    let csrf = alice.csrf().await;
    let (status, location, _) = alice
        .post(
            "/tickets/new",
            &[
                ("csrf", csrf.as_str()),
                ("kind", "problem"),
                ("title", "Recurring VPN drops"),
                ("impact", "medium"),
                ("urgency", "medium"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert!(location.starts_with("/tickets/PRB-"), "{location}");
}

server_tests!(
    queues_page_through,
    account_and_admin_forms,
    web_sign_in_shares_the_lockout,
    forms_without_the_csrf_token_are_refused,
    others_tickets_are_not_found_pages,
    illegal_actions_are_refused,
    queues_filter_and_bulk,
);

/// The queue page's server time on a big database:
/// `OPSDESK_QUEUE_BENCH_URL=sqlite:///path/q.db cargo test -p opsdesk-server
/// --release --test browser -- --ignored queue_page_render_time --nocapture`
/// (seed it with `opsdesk-bench seed`).
#[tokio::test]
#[ignore = "needs a seeded database in OPSDESK_QUEUE_BENCH_URL"]
async fn queue_page_render_time() {
    let Ok(url) = std::env::var("OPSDESK_QUEUE_BENCH_URL") else {
        eprintln!("set OPSDESK_QUEUE_BENCH_URL to a seeded database");
        return;
    };
    let store = opsdesk_store::Store::open(&url)
        .await
        .expect("open the database");
    store.optimize().await.expect("optimize");
    let state = opsdesk_server::AppState {
        store: store.clone(),
        config: std::sync::Arc::new(opsdesk_server::ServerConfig::default()),
    };
    let admin = store
        .user_credentials_by_username("admin")
        .await
        .expect("look up admin")
        .map(|c| c.user)
        .unwrap_or_else(|| panic!("no admin user in {url}"));
    let t = std::time::Instant::now();
    let counts = store.queue_counts(admin.id, true).await.expect("counts");
    println!(
        "queue_counts {:?} in {:.2} ms",
        counts,
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = std::time::Instant::now();
    let page = store
        .list_tickets(&opsdesk_store::listing::TicketQuery {
            open: Some(true),
            ..Default::default()
        })
        .await
        .expect("list");
    println!(
        "list_tickets {} rows in {:.2} ms",
        page.items.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let counter = opsdesk_server::web::QueueCounter::new();
    for (queue, query) in [
        ("open", ""),
        ("unassigned", ""),
        ("open", "sort=priority"),
        ("open", "kind=incident&priority=P1"),
        ("open", "q=printer"),
        ("mine", ""),
    ] {
        let mut times = Vec::new();
        for _ in 0..20 {
            let start = std::time::Instant::now();
            let html = opsdesk_server::web::render_queue_page(
                &state,
                &counter,
                admin.clone(),
                queue,
                query,
            )
            .await
            .expect("render");
            times.push(start.elapsed());
            assert!(html.contains("<table") || html.contains("class=\"empty\""));
        }
        times.sort();
        println!(
            "queue {queue:<10} {query:<28} p50 {:>7.2} ms  max {:>7.2} ms",
            times[times.len() / 2].as_secs_f64() * 1000.0,
            times[times.len() - 1].as_secs_f64() * 1000.0
        );
    }
}
