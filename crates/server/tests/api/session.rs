//! Browser sessions: sign-in sets an HttpOnly cookie, unsafe requests also
//! need the session's CSRF token, failures lock the account for a while.

use crate::common::{Cred, PASSWORD, Resp, TestServer};
use serde_json::json;

async fn login(s: &TestServer, username: &str, password: &str) -> Resp {
    s.post(
        "/api/v1/auth/login",
        Cred::None,
        json!({"username": username, "password": password}),
    )
    .await
}

/// The `name=value` part of the Set-Cookie header.
fn cookie_of(r: &Resp) -> String {
    let set = r.header("set-cookie").expect("a Set-Cookie header");
    set.split(';').next().unwrap().trim().to_string()
}

async fn a_session_works_with_its_cookie_and_csrf_token(s: &TestServer) {
    let r = login(s, "rita", PASSWORD).await;
    r.expect(200);
    let set = r.header("set-cookie").unwrap().to_string();
    let attributes: Vec<String> = set
        .split(';')
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(attributes[0].starts_with("opsdesk_session="), "{set}");
    assert!(attributes.iter().any(|a| a == "httponly"), "{set}");
    assert!(
        attributes
            .iter()
            .any(|a| a == "samesite=lax" || a == "samesite=strict"),
        "{set}"
    );
    assert!(attributes.iter().any(|a| a == "path=/"), "{set}");
    assert_eq!(r.json["user"]["username"], "rita");
    assert!(r.json["expires_at"].is_string());
    assert!(
        !r.text.contains("argon2") && !r.text.contains("password"),
        "{}",
        r.text
    );
    let csrf = r.json["csrf_token"]
        .as_str()
        .expect("csrf_token")
        .to_string();
    assert!(csrf.len() >= 32, "{csrf}");
    let cookie = cookie_of(&r);

    // Reading needs only the cookie.
    let me = s
        .get(
            "/api/v1/me",
            Cred::Session {
                cookie: &cookie,
                csrf: None,
            },
        )
        .await;
    me.expect(200);
    assert_eq!(me.json["username"], "rita");
    s.get(
        "/api/v1/tickets",
        Cred::Session {
            cookie: &cookie,
            csrf: None,
        },
    )
    .await
    .expect(200);

    // Writing needs the CSRF token of this very session.
    let ticket = json!({"kind": "incident", "title": "Sent from the browser"});
    let before = s.write_counts().await;
    let r = s
        .send(
            "POST",
            "/api/v1/tickets",
            Cred::Session {
                cookie: &cookie,
                csrf: None,
            },
            Some(&ticket),
        )
        .await;
    r.expect_problem(403);
    assert!(
        r.json["detail"].as_str().unwrap().contains("CSRF"),
        "{}",
        r.text
    );
    let r = s
        .send(
            "POST",
            "/api/v1/tickets",
            Cred::Session {
                cookie: &cookie,
                csrf: Some("0000"),
            },
            Some(&ticket),
        )
        .await;
    r.expect_problem(403);
    let other = login(s, "rita", PASSWORD).await;
    let other_csrf = other.json["csrf_token"].as_str().unwrap();
    assert_ne!(other_csrf, csrf);
    let r = s
        .send(
            "POST",
            "/api/v1/tickets",
            Cred::Session {
                cookie: &cookie,
                csrf: Some(other_csrf),
            },
            Some(&ticket),
        )
        .await;
    r.expect_problem(403);
    assert_eq!(s.write_counts().await.0, before.0, "no ticket was opened");
    let r = s
        .send(
            "POST",
            "/api/v1/tickets",
            Cred::Session {
                cookie: &cookie,
                csrf: Some(&csrf),
            },
            Some(&ticket),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json["requester_id"], json!(s.requester.id()));

    // Signing out ends this session only.
    let r = s
        .send(
            "POST",
            "/api/v1/auth/logout",
            Cred::Session {
                cookie: &cookie,
                csrf: None,
            },
            None,
        )
        .await;
    r.expect_problem(403);
    let r = s
        .send(
            "POST",
            "/api/v1/auth/logout",
            Cred::Session {
                cookie: &cookie,
                csrf: Some(&csrf),
            },
            None,
        )
        .await;
    r.expect(204);
    let cleared = r.header("set-cookie").unwrap().to_ascii_lowercase();
    assert!(
        cleared.starts_with("opsdesk_session=;") && cleared.contains("max-age=0"),
        "{cleared}"
    );
    s.get(
        "/api/v1/me",
        Cred::Session {
            cookie: &cookie,
            csrf: None,
        },
    )
    .await
    .expect_problem(401);
    let r = s
        .send(
            "POST",
            "/api/v1/tickets",
            Cred::Session {
                cookie: &cookie,
                csrf: Some(&csrf),
            },
            Some(&ticket),
        )
        .await;
    r.expect_problem(401);
    s.get(
        "/api/v1/me",
        Cred::Session {
            cookie: &cookie_of(&other),
            csrf: None,
        },
    )
    .await
    .expect(200);
}

async fn wrong_credentials_are_401_and_say_nothing_more(s: &TestServer) {
    let wrong = login(s, "alice", "not her password").await;
    wrong.expect_problem(401);
    assert!(wrong.header("set-cookie").is_none());
    let unknown = login(s, "nobody-here", "not a password").await;
    unknown.expect_problem(401);
    assert_eq!(
        wrong.json, unknown.json,
        "an unknown user looks like a wrong password"
    );
    login(s, "alice", "").await.expect_problem(401);
    login(s, "alice", &"x".repeat(5000))
        .await
        .expect_problem(401);
    s.post(
        "/api/v1/auth/login",
        Cred::None,
        json!({"username": "alice"}),
    )
    .await
    .expect_field(422, "password");
    // A deactivated account cannot sign in, even with the right password.
    let patch = opsdesk_store::users::UserPatch {
        active: Some(false),
        ..Default::default()
    };
    s.store()
        .update_user(
            s.agent2.user.id,
            patch,
            s.admin.user.id,
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    login(s, "bob", PASSWORD).await.expect_problem(401);
    login(s, "alice", PASSWORD).await.expect(200);
}

async fn five_failures_lock_the_account_even_for_the_right_password(s: &TestServer) {
    for attempt in 1..=5 {
        let r = login(s, "ron", &format!("guess number {attempt}")).await;
        assert_eq!(r.status, 401, "attempt {attempt}: {}", r.text);
    }
    for password in [PASSWORD, "guess number 6"] {
        let r = login(s, "ron", password).await;
        r.expect_problem(429);
        assert!(r.header("set-cookie").is_none());
        let retry: u64 = r
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!((1..=15 * 60).contains(&retry), "{retry}");
    }
    // Others are not affected, and the lock is in the audit log.
    login(s, "rita", PASSWORD).await.expect(200);
    let events = s.get("/api/v1/events?limit=1000", &s.admin).await;
    assert!(
        events
            .json
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "user.locked"
                && e["entity_id"].as_str() == Some(s.requester2.id().to_string().as_str())),
        "{}",
        events.text
    );
}

async fn a_successful_sign_in_resets_the_failure_count(s: &TestServer) {
    for _ in 0..4 {
        login(s, "ron", "wrong password").await.expect(401);
    }
    login(s, "ron", PASSWORD).await.expect(200);
    for _ in 0..4 {
        login(s, "ron", "wrong password").await.expect(401);
    }
    login(s, "ron", PASSWORD).await.expect(200);
}

async fn a_signed_in_user_changes_their_password(s: &TestServer) {
    let r = login(s, "rita", PASSWORD).await;
    let (cookie, csrf) = (
        cookie_of(&r),
        r.json["csrf_token"].as_str().unwrap().to_string(),
    );
    let session = Cred::Session {
        cookie: &cookie,
        csrf: Some(&csrf),
    };
    let body = json!({"current_password": "not it", "new_password": "a brand new passphrase"});
    s.send("POST", "/api/v1/me/password", session, Some(&body))
        .await
        .expect_field(422, "current_password");
    let body = json!({"current_password": PASSWORD, "new_password": "short"});
    s.send("POST", "/api/v1/me/password", session, Some(&body))
        .await
        .expect_field(422, "new_password");
    let body = json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"});
    s.send("POST", "/api/v1/me/password", session, Some(&body))
        .await
        .expect(204);
    login(s, "rita", PASSWORD).await.expect_problem(401);
    login(s, "rita", "a brand new passphrase").await.expect(200);
}

server_tests!(
    a_session_works_with_its_cookie_and_csrf_token,
    wrong_credentials_are_401_and_say_nothing_more,
    five_failures_lock_the_account_even_for_the_right_password,
    a_successful_sign_in_resets_the_failure_count,
    a_signed_in_user_changes_their_password,
);
