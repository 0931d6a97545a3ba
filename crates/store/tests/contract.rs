//! The store's contract: what every backend must do, written once and run
//! against SQLite and PostgreSQL alike.
//!
//! Each test is a plain `async fn name(db: &TestDb)`; `contract_tests!` at the
//! bottom turns the list into `sqlite::name` and `postgres::name` test cases,
//! each on a fresh database. Without a reachable PostgreSQL the `postgres`
//! half passes as skipped (with a note on stderr) unless `CI=true`.

use jiff::{SignedDuration, Timestamp};
use opsdesk_domain::audit::ChainBreak;
use opsdesk_domain::priority::priority_from;
use opsdesk_domain::ticket::{ChangeOutcome, OnHoldReason};
use opsdesk_domain::transition::{ReopenPolicy, TransitionError};
use opsdesk_domain::{
    Actor, Impact, LinkKind, Priority, Role, TicketId, TicketKind, TicketNumber, TicketState,
    Transition, TransitionName, Urgency, UserId,
};
use opsdesk_store::directory::{ServiceInput, TeamInput};
use opsdesk_store::events::ChainReport;
use opsdesk_store::listing::{AssigneeFilter, SortField, TicketQuery};
use opsdesk_store::testing::TestDb;
use opsdesk_store::tickets::{NewTicket, PriorityOverride, TicketPatch};
use opsdesk_store::tokens::digest;
use opsdesk_store::tx::IdempotencyKey;
use opsdesk_store::users::UserPatch;
use opsdesk_store::{
    Backend, Event, NewUser, Service, Store, StoreError, Team, Ticket, User, Visibility,
};
use sqlx::Row;
use std::collections::HashSet;
use std::fmt::Debug;

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// Minutes after a fixed Monday morning; tests never read the real clock.
fn t(minutes: i64) -> Timestamp {
    let base: Timestamp = "2026-03-02T09:00:00Z".parse().unwrap();
    base + SignedDuration::from_mins(minutes)
}

fn days(n: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * n)
}

async fn user(store: &Store, username: &str, role: Role) -> User {
    let new = NewUser {
        username: username.to_string(),
        display_name: format!("{username} (test)"),
        email: Some(format!("{username}@example.com")),
        role,
        organization: None,
        password_hash: None,
    };
    store.create_user(new, None, t(0)).await.unwrap()
}

/// The cast of most tests.
struct People {
    admin: User,
    agent: User,
    agent2: User,
    requester: User,
}

async fn people(store: &Store) -> People {
    People {
        admin: user(store, "admin", Role::Admin).await,
        agent: user(store, "alice", Role::Agent).await,
        agent2: user(store, "bob", Role::Agent).await,
        requester: user(store, "rita", Role::Requester).await,
    }
}

fn actor(u: &User) -> Actor {
    Actor {
        user_id: u.id,
        role: u.role,
    }
}

fn new_ticket(kind: TicketKind, title: &str, requester: &User) -> NewTicket {
    NewTicket {
        kind,
        title: title.to_string(),
        description: format!("Details about: {title}"),
        requester_id: requester.id,
        team_id: None,
        assignee_id: None,
        service_id: None,
        category: None,
        tags: vec![],
        impact: Impact::Medium,
        urgency: Urgency::Medium,
        priority_override: None,
    }
}

fn incident(title: &str, requester: &User) -> NewTicket {
    new_ticket(TicketKind::Incident, title, requester)
}

async fn create(store: &Store, new: NewTicket, now: Timestamp) -> Ticket {
    let actor = new.requester_id;
    store.create_ticket(new, now, actor, None).await.unwrap()
}

async fn team(store: &Store, name: &str, round_robin: bool, members: &[&User], by: &User) -> Team {
    let input = TeamInput {
        name: name.to_string(),
        description: format!("The {name} team"),
        round_robin,
    };
    let team = store.create_team(input, by.id, t(0)).await.unwrap();
    for m in members {
        store
            .add_team_member(team.id, m.id, by.id, t(0))
            .await
            .unwrap();
    }
    store.get_team(team.id).await.unwrap()
}

async fn service(store: &Store, name: &str, owner: Option<&Team>, by: &User) -> Service {
    let input = ServiceInput {
        name: name.to_string(),
        description: String::new(),
        owner_team_id: owner.map(|t| t.id),
        tier: 2,
    };
    store.create_service(input, by.id, t(0)).await.unwrap()
}

async fn step(
    store: &Store,
    id: TicketId,
    step: Transition,
    now: Timestamp,
    by: &User,
) -> Result<Ticket, StoreError> {
    store
        .transition_ticket(id, &step, ReopenPolicy::default(), now, actor(by), None)
        .await
}

fn resolve() -> Transition {
    Transition::Resolve {
        resolution_code: "fixed".into(),
        resolution_note: "Replaced the faulty part".into(),
    }
}

async fn count(store: &Store, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_one(store.pool())
        .await
        .unwrap();
    row.try_get("n").unwrap()
}

/// Row counts of every table a write may touch: equal before and after a
/// refused request means the refusal wrote nothing.
async fn footprint(store: &Store) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in [
        "users",
        "api_tokens",
        "sessions",
        "teams",
        "team_members",
        "services",
        "tickets",
        "ticket_counters",
        "ticket_tags",
        "comments",
        "ticket_links",
        "watchers",
        "events",
        "idempotency_keys",
    ] {
        out.push((table, count(store, table).await));
    }
    out
}

async fn all_events(store: &Store) -> Vec<Event> {
    store.events_after(0, 100_000).await.unwrap()
}

/// Every stored event payload, exactly as written.
async fn raw_event_data(store: &Store) -> Vec<String> {
    sqlx::query("SELECT data FROM events ORDER BY seq")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("data").unwrap())
        .collect()
}

fn kinds(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

#[track_caller]
fn expect_invalid<T: Debug>(result: Result<T, StoreError>, field: &str) {
    match result {
        Err(StoreError::Invalid(e)) | Err(StoreError::Transition(TransitionError::Invalid(e))) => {
            assert_eq!(e.field, field, "wrong field in: {e}");
            assert!(!e.message.is_empty());
        }
        other => panic!("expected invalid '{field}', got {other:?}"),
    }
}

#[track_caller]
fn expect_conflict<T: Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Conflict(message)) => message,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn ids(page: &[Ticket]) -> Vec<TicketId> {
    page.iter().map(|t| t.id).collect()
}

// ---------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------

async fn users_are_created_once_per_username(db: &TestDb) {
    let store = &db.store;
    let rita = user(store, "rita", Role::Requester).await;
    assert_eq!(rita.username, "rita");
    assert_eq!(rita.role, Role::Requester);
    assert!(rita.active);
    assert_eq!(rita.created_at, t(0));
    assert_eq!(store.get_user(rita.id).await.unwrap(), rita);
    let creds = store
        .user_credentials_by_username("rita")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.user, rita);
    assert_eq!(creds.failed_logins, 0);
    assert!(
        store
            .user_credentials_by_username("nobody")
            .await
            .unwrap()
            .is_none()
    );

    let before = footprint(store).await;
    let again = NewUser {
        username: "rita".into(),
        display_name: "Another Rita".into(),
        email: None,
        role: Role::Agent,
        organization: None,
        password_hash: None,
    };
    let message = expect_conflict(store.create_user(again, None, t(1)).await);
    assert!(message.contains("'rita'"), "{message}");
    assert_eq!(footprint(store).await, before);
    assert_eq!(store.count_users().await.unwrap(), 1);
    assert_eq!(kinds(&all_events(store).await), ["user.created"]);
}

async fn invalid_usernames_are_refused_naming_the_field(db: &TestDb) {
    let store = &db.store;
    let before = footprint(store).await;
    for bad in ["Rita", "r", "rita smith", "rita!", &"r".repeat(65)] {
        let new = NewUser {
            username: bad.to_string(),
            display_name: "Rita".into(),
            email: None,
            role: Role::Requester,
            organization: None,
            password_hash: None,
        };
        expect_invalid(store.create_user(new, None, t(0)).await, "username");
    }
    let bad_email = NewUser {
        username: "rita".into(),
        display_name: "Rita".into(),
        email: Some("not an address".into()),
        role: Role::Requester,
        organization: None,
        password_hash: None,
    };
    expect_invalid(store.create_user(bad_email, None, t(0)).await, "email");
    assert_eq!(footprint(store).await, before);
}

async fn role_changes_and_deactivation_cut_off_access(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let (token, secret) = store
        .create_token(p.agent.id, "laptop", None, Some(p.agent.id), t(1))
        .await
        .unwrap();
    let (session_secret, _) = store
        .create_session(p.agent.id, SignedDuration::from_hours(8), t(1))
        .await
        .unwrap();
    assert!(
        store
            .authenticate_token(&secret, t(2))
            .await
            .unwrap()
            .is_some()
    );

    let promoted = store
        .update_user(
            p.agent.id,
            UserPatch {
                role: Some(Role::Manager),
                ..Default::default()
            },
            p.admin.id,
            t(3),
        )
        .await
        .unwrap();
    assert_eq!(promoted.role, Role::Manager);
    assert_eq!(
        store.get_user(p.agent.id).await.unwrap().role,
        Role::Manager
    );
    let (authenticated, _) = store
        .authenticate_token(&secret, t(3))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(authenticated.role, Role::Manager);

    // Nobody changes their own role or switches themselves off.
    expect_conflict(
        store
            .update_user(
                p.admin.id,
                UserPatch {
                    active: Some(false),
                    ..Default::default()
                },
                p.admin.id,
                t(4),
            )
            .await,
    );

    let deactivated = store
        .update_user(
            p.agent.id,
            UserPatch {
                active: Some(false),
                ..Default::default()
            },
            p.admin.id,
            t(5),
        )
        .await
        .unwrap();
    assert!(!deactivated.active);
    assert!(
        store
            .authenticate_token(&secret, t(6))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.get_token(token.id).await.unwrap().revoked_at,
        Some(t(5))
    );
    assert!(
        store
            .session(&session_secret, t(6))
            .await
            .unwrap()
            .is_none()
    );
    expect_conflict(
        store
            .create_token(p.agent.id, "again", None, Some(p.admin.id), t(7))
            .await,
    );

    let updates: Vec<Event> = all_events(store)
        .await
        .into_iter()
        .filter(|e| e.kind == "user.updated")
        .collect();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0].data["before"]["role"], "agent");
    assert_eq!(updates[0].data["after"]["role"], "manager");
    assert_eq!(updates[1].data["after"]["active"], false);
    assert_eq!(updates[1].actor_id, Some(p.admin.id));
}

async fn repeated_failed_logins_lock_the_account(db: &TestDb) {
    let store = &db.store;
    let rita = user(store, "rita", Role::Requester).await;
    let lock_for = SignedDuration::from_mins(15);
    assert_eq!(
        store
            .record_failed_login(rita.id, 3, lock_for, t(1))
            .await
            .unwrap(),
        None
    );
    store.record_successful_login(rita.id).await.unwrap();
    assert_eq!(
        store
            .user_credentials_by_id(rita.id)
            .await
            .unwrap()
            .failed_logins,
        0
    );

    assert_eq!(
        store
            .record_failed_login(rita.id, 3, lock_for, t(2))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .record_failed_login(rita.id, 3, lock_for, t(3))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .user_credentials_by_id(rita.id)
            .await
            .unwrap()
            .failed_logins,
        2
    );
    let locked = store
        .record_failed_login(rita.id, 3, lock_for, t(4))
        .await
        .unwrap();
    assert_eq!(locked, Some(t(19)));
    let creds = store.user_credentials_by_id(rita.id).await.unwrap();
    assert_eq!(creds.locked_until, Some(t(19)));
    assert_eq!(
        creds.failed_logins, 0,
        "the count starts again after a lock"
    );
    let lock_events: Vec<Event> = all_events(store)
        .await
        .into_iter()
        .filter(|e| e.kind == "user.locked")
        .collect();
    assert_eq!(lock_events.len(), 1);
    assert_eq!(lock_events[0].data["failures"], 3);

    store
        .set_password_hash(
            rita.id,
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
            rita.id,
            t(30),
        )
        .await
        .unwrap();
    let creds = store.user_credentials_by_id(rita.id).await.unwrap();
    assert_eq!(creds.locked_until, None, "a new password lifts the lock");
}

// ---------------------------------------------------------------------------
// Tokens and sessions
// ---------------------------------------------------------------------------

/// Another node's revocation reaches this node's credential cache within
/// `CREDENTIAL_TTL`; this node's own revocation takes effect at once.
async fn revocation_on_another_node_takes_effect_within_the_credential_ttl(db: &TestDb) {
    let here = &db.store;
    let there = opsdesk_store::Store::connect(&db.url).await.unwrap();
    let p = people(here).await;
    let (token, secret) = here
        .create_token(p.agent.id, "ci", None, Some(p.admin.id), t(1))
        .await
        .unwrap();
    let now = jiff::Timestamp::now();
    assert!(
        here.authenticate_token(&secret, now)
            .await
            .unwrap()
            .is_some()
    );
    there.revoke_token(token.id, p.admin.id, now).await.unwrap();
    assert!(
        there
            .authenticate_token(&secret, now)
            .await
            .unwrap()
            .is_none(),
        "the revoking node refuses the token at once"
    );
    tokio::time::sleep(opsdesk_store::CREDENTIAL_TTL).await;
    assert!(
        here.authenticate_token(&secret, jiff::Timestamp::now())
            .await
            .unwrap()
            .is_none(),
        "another node refuses it once its cached check is older than the TTL"
    );
}

async fn token_secret_authenticates_until_revoked(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let (token, secret) = store
        .create_token(p.agent.id, "ci", None, Some(p.admin.id), t(1))
        .await
        .unwrap();
    assert!(secret.starts_with("odt_"));
    assert!(secret.starts_with(&token.prefix));
    assert_eq!(token.user_id, p.agent.id);
    assert_eq!(token.last_used_at, None);

    let (who, id) = store
        .authenticate_token(&secret, t(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((who.id, id), (p.agent.id, token.id));
    assert_eq!(
        store.get_token(token.id).await.unwrap().last_used_at,
        Some(t(2))
    );
    assert!(
        store
            .authenticate_token("odt_not-a-real-token", t(2))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .authenticate_token(&format!("{secret}x"), t(2))
            .await
            .unwrap()
            .is_none()
    );

    let revoked = store
        .revoke_token(token.id, p.admin.id, t(3))
        .await
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(t(3)));
    assert!(
        store
            .authenticate_token(&secret, t(4))
            .await
            .unwrap()
            .is_none()
    );
    // Revoking twice keeps the first revocation time and records one event.
    assert_eq!(
        store
            .revoke_token(token.id, p.admin.id, t(5))
            .await
            .unwrap()
            .revoked_at,
        Some(t(3))
    );
    let revocations = all_events(store)
        .await
        .into_iter()
        .filter(|e| e.kind == "token.revoked")
        .count();
    assert_eq!(revocations, 1);
    assert_eq!(
        store.list_tokens(Some(p.agent.id)).await.unwrap(),
        vec![revoked]
    );
    assert!(
        store
            .list_tokens(Some(p.requester.id))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn expired_tokens_do_not_authenticate(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    expect_invalid(
        store
            .create_token(p.agent.id, "old", Some(t(0)), Some(p.agent.id), t(1))
            .await,
        "expires_at",
    );
    let (_, secret) = store
        .create_token(p.agent.id, "short", Some(t(60)), Some(p.agent.id), t(0))
        .await
        .unwrap();
    assert!(
        store
            .authenticate_token(&secret, t(59))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .authenticate_token(&secret, t(60))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .authenticate_token(&secret, t(600))
            .await
            .unwrap()
            .is_none()
    );
}

async fn only_digests_of_secrets_are_stored(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let (_, secret) = store
        .create_token(p.agent.id, "ci", None, Some(p.agent.id), t(1))
        .await
        .unwrap();
    let (session_secret, session) = store
        .create_session(p.agent.id, SignedDuration::from_hours(1), t(1))
        .await
        .unwrap();

    let rows = sqlx::query("SELECT name, token_hash, prefix FROM api_tokens")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let token_hash: String = rows[0].try_get("token_hash").unwrap();
    assert_eq!(
        token_hash,
        digest(&secret),
        "the stored hash is the SHA-256 of the secret"
    );
    assert_eq!(token_hash.len(), 64);
    for column in ["name", "token_hash", "prefix"] {
        let value: String = rows[0].try_get(column).unwrap();
        assert!(
            !value.contains(&secret),
            "api_tokens.{column} holds the secret"
        );
    }
    let sessions = sqlx::query("SELECT token_hash FROM sessions")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let session_hash: String = sessions[0].try_get("token_hash").unwrap();
    assert_eq!(session_hash, digest(&session_secret));
    assert_ne!(session.csrf_token, session_secret);
    for data in raw_event_data(store).await {
        assert!(
            !data.contains(&secret) && !data.contains(&session_secret),
            "an event holds a secret: {data}"
        );
        assert!(
            !data.contains(&token_hash),
            "an event holds a token digest: {data}"
        );
    }
}

async fn sessions_expire_and_end_on_sign_out(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let (secret, session) = store
        .create_session(p.agent.id, SignedDuration::from_hours(1), t(0))
        .await
        .unwrap();
    assert_eq!(session.expires_at, t(60));
    assert_eq!(session.user.id, p.agent.id);

    let found = store.session(&secret, t(30)).await.unwrap().unwrap();
    assert_eq!(found.user.id, p.agent.id);
    assert_eq!(found.csrf_token, session.csrf_token);
    assert!(
        store.session(&secret, t(60)).await.unwrap().is_none(),
        "expired at its end"
    );
    assert!(
        store
            .session("not-a-session", t(30))
            .await
            .unwrap()
            .is_none()
    );

    let (other, _) = store
        .create_session(p.agent.id, SignedDuration::from_hours(1), t(0))
        .await
        .unwrap();
    assert_ne!(other, secret);
    store.delete_session(&secret).await.unwrap();
    assert!(store.session(&secret, t(30)).await.unwrap().is_none());
    assert!(
        store.session(&other, t(30)).await.unwrap().is_some(),
        "signing out ends only that session"
    );
}

// ---------------------------------------------------------------------------
// Teams and services
// ---------------------------------------------------------------------------

async fn teams_and_services_have_unique_names(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let network = team(store, "Network", false, &[], &p.admin).await;
    assert_eq!(network.name, "Network");
    assert!(network.members.is_empty());
    let before = footprint(store).await;
    let message = expect_conflict(
        store
            .create_team(
                TeamInput {
                    name: "Network".into(),
                    ..Default::default()
                },
                p.admin.id,
                t(1),
            )
            .await,
    );
    assert!(message.contains("'Network'"), "{message}");
    expect_invalid(
        store
            .create_team(TeamInput::default(), p.admin.id, t(1))
            .await,
        "name",
    );
    assert_eq!(footprint(store).await, before);

    let vpn = service(store, "VPN", Some(&network), &p.admin).await;
    assert_eq!(vpn.owner_team_id, Some(network.id));
    assert_eq!(vpn.tier, 2);
    let before = footprint(store).await;
    let dup = ServiceInput {
        name: "VPN".into(),
        description: String::new(),
        owner_team_id: None,
        tier: 1,
    };
    expect_conflict(store.create_service(dup, p.admin.id, t(1)).await);
    for tier in [0, 5, -1] {
        let input = ServiceInput {
            name: "Mail".into(),
            description: String::new(),
            owner_team_id: None,
            tier,
        };
        expect_invalid(store.create_service(input, p.admin.id, t(1)).await, "tier");
    }
    let orphan = ServiceInput {
        name: "Mail".into(),
        description: String::new(),
        owner_team_id: Some(opsdesk_domain::TeamId(9999)),
        tier: 1,
    };
    expect_invalid(
        store.create_service(orphan, p.admin.id, t(1)).await,
        "owner_team_id",
    );
    assert_eq!(footprint(store).await, before);

    let renamed = store
        .update_team(
            network.id,
            TeamInput {
                name: "Networking".into(),
                ..Default::default()
            },
            p.admin.id,
            t(2),
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Networking");
    let names: Vec<String> = store
        .list_services()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["VPN"]);
}

async fn only_agents_can_be_team_members(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let desk = team(store, "Service Desk", false, &[], &p.admin).await;
    let desk = store
        .add_team_member(desk.id, p.agent2.id, p.admin.id, t(1))
        .await
        .unwrap();
    let desk_again = store
        .add_team_member(desk.id, p.agent.id, p.admin.id, t(1))
        .await
        .unwrap();
    assert_eq!(
        desk_again.members,
        vec![p.agent.id, p.agent2.id],
        "members are listed in id order"
    );
    // Adding a member twice changes nothing and records nothing.
    let before = footprint(store).await;
    store
        .add_team_member(desk.id, p.agent.id, p.admin.id, t(2))
        .await
        .unwrap();
    assert_eq!(footprint(store).await, before);

    expect_invalid(
        store
            .add_team_member(desk.id, p.requester.id, p.admin.id, t(2))
            .await,
        "user_id",
    );
    assert_eq!(footprint(store).await, before);
    assert_eq!(store.teams_of(p.agent.id).await.unwrap(), vec![desk.id]);
    assert!(store.teams_of(p.requester.id).await.unwrap().is_empty());

    let desk = store
        .remove_team_member(desk.id, p.agent.id, p.admin.id, t(3))
        .await
        .unwrap();
    assert_eq!(desk.members, vec![p.agent2.id]);
    assert!(matches!(
        store
            .remove_team_member(desk.id, p.agent.id, p.admin.id, t(4))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    let listed = store.list_teams().await.unwrap();
    assert_eq!(listed, vec![desk]);
}

// ---------------------------------------------------------------------------
// Tickets
// ---------------------------------------------------------------------------

async fn ticket_numbers_count_per_kind(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let mut numbers = Vec::new();
    for (i, kind) in [
        TicketKind::Incident,
        TicketKind::ServiceRequest,
        TicketKind::Incident,
        TicketKind::Problem,
        TicketKind::Change,
        TicketKind::ServiceRequest,
    ]
    .into_iter()
    .enumerate()
    {
        let ticket = create(
            store,
            new_ticket(kind, &format!("Ticket {i}"), &p.agent),
            t(i as i64),
        )
        .await;
        assert_eq!(ticket.state, kind.initial_state());
        assert_eq!(ticket.version, 1);
        numbers.push(ticket.number);
    }
    assert_eq!(
        numbers,
        [
            "INC-000001",
            "REQ-000001",
            "INC-000002",
            "PRB-000001",
            "CHG-000001",
            "REQ-000002"
        ]
    );
    let second = store.get_ticket_by_number("inc-2").await.unwrap();
    assert_eq!(second.number, "INC-000002");
    assert_eq!(second.title, "Ticket 2");
    assert!(matches!(
        store.get_ticket_by_number("INC-000099").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.get_ticket_by_number("nonsense").await,
        Err(StoreError::NotFound { .. })
    ));
    let change = store.get_ticket_by_number("CHG-000001").await.unwrap();
    assert_eq!(change.state, TicketState::Draft);
}

async fn priority_follows_the_matrix_unless_overridden_with_a_reason(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    for impact in Impact::ALL {
        for urgency in Urgency::ALL {
            let new = NewTicket {
                impact,
                urgency,
                ..incident(&format!("{impact}/{urgency}"), &p.requester)
            };
            let ticket = create(store, new, t(0)).await;
            assert_eq!(
                ticket.priority,
                priority_from(impact, urgency),
                "{impact}/{urgency}"
            );
            assert_eq!(ticket.priority_override_reason, None);
        }
    }
    assert_eq!(priority_from(Impact::High, Urgency::High), Priority::P1);
    assert_eq!(priority_from(Impact::Low, Urgency::Low), Priority::P5);

    let before = footprint(store).await;
    let blank = NewTicket {
        priority_override: Some(PriorityOverride {
            priority: Priority::P1,
            reason: "  ".into(),
        }),
        ..incident("Needs a reason", &p.agent)
    };
    expect_invalid(
        store.create_ticket(blank, t(1), p.agent.id, None).await,
        "priority_override.reason",
    );
    assert_eq!(footprint(store).await, before);

    let overridden = NewTicket {
        impact: Impact::Low,
        urgency: Urgency::Low,
        priority_override: Some(PriorityOverride {
            priority: Priority::P1,
            reason: "Board meeting in an hour".into(),
        }),
        ..incident("Projector broken", &p.agent)
    };
    let ticket = store
        .create_ticket(overridden, t(2), p.agent.id, None)
        .await
        .unwrap();
    assert_eq!(ticket.priority, Priority::P1);
    assert_eq!(
        ticket.priority_override_reason.as_deref(),
        Some("Board meeting in an hour")
    );
    let timeline = store.timeline(ticket.id, true).await.unwrap();
    assert_eq!(
        kinds(&timeline),
        ["ticket.created", "ticket.priority_overridden"]
    );
    let o = &timeline[1].data;
    assert_eq!(
        (o["from"].as_str(), o["to"].as_str()),
        (Some("P5"), Some("P1"))
    );
    assert_eq!(o["reason"], "Board meeting in an hour");

    // Changing impact keeps an overridden priority; clearing the override
    // goes back to the matrix.
    let patch = TicketPatch {
        impact: Some(Impact::High),
        ..Default::default()
    };
    let ticket = store
        .update_ticket(ticket.id, patch, t(3), p.agent.id, None)
        .await
        .unwrap();
    assert_eq!(ticket.priority, Priority::P1);
    let patch = TicketPatch {
        priority_override: Some(None),
        ..Default::default()
    };
    let ticket = store
        .update_ticket(ticket.id, patch, t(4), p.agent.id, None)
        .await
        .unwrap();
    assert_eq!(ticket.priority, priority_from(Impact::High, Urgency::Low));
    assert_eq!(ticket.priority_override_reason, None);
}

async fn a_service_routes_tickets_to_its_owner_team(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let network = team(store, "Network", false, &[&p.agent], &p.admin).await;
    let desk = team(store, "Service Desk", false, &[&p.agent2], &p.admin).await;
    let vpn = service(store, "VPN", Some(&network), &p.admin).await;
    let unowned = service(store, "Wiki", None, &p.admin).await;

    let routed = create(
        store,
        NewTicket {
            service_id: Some(vpn.id),
            ..incident("VPN drops", &p.requester)
        },
        t(1),
    )
    .await;
    assert_eq!(routed.service_id, Some(vpn.id));
    assert_eq!(routed.team_id, Some(network.id));
    assert_eq!(
        routed.assignee_id, None,
        "the team does not rotate, so nobody is picked"
    );

    let explicit = NewTicket {
        service_id: Some(vpn.id),
        team_id: Some(desk.id),
        ..incident("VPN question", &p.requester)
    };
    assert_eq!(
        create(store, explicit, t(2)).await.team_id,
        Some(desk.id),
        "an explicit team wins"
    );
    let plain = create(
        store,
        NewTicket {
            service_id: Some(unowned.id),
            ..incident("Wiki slow", &p.requester)
        },
        t(3),
    )
    .await;
    assert_eq!(plain.team_id, None);

    let before = footprint(store).await;
    let missing = NewTicket {
        service_id: Some(opsdesk_domain::ServiceId(999)),
        ..incident("Ghost", &p.requester)
    };
    expect_invalid(
        store
            .create_ticket(missing, t(4), p.requester.id, None)
            .await,
        "service_id",
    );
    let missing = NewTicket {
        team_id: Some(opsdesk_domain::TeamId(999)),
        ..incident("Ghost", &p.requester)
    };
    expect_invalid(
        store
            .create_ticket(missing, t(4), p.requester.id, None)
            .await,
        "team_id",
    );
    assert_eq!(footprint(store).await, before);

    // Setting a service on an unrouted ticket routes it too.
    let patch = TicketPatch {
        service_id: Some(Some(vpn.id)),
        ..Default::default()
    };
    let updated = store
        .update_ticket(plain.id, patch, t(5), p.agent.id, None)
        .await
        .unwrap();
    assert_eq!(updated.team_id, Some(network.id));
}

async fn round_robin_rotates_through_active_members(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let carol = user(store, "carol", Role::Agent).await;
    let rr = team(
        store,
        "Field Support",
        true,
        &[&carol, &p.agent2, &p.agent],
        &p.admin,
    )
    .await;
    let auto = |n: i64| NewTicket {
        team_id: Some(rr.id),
        ..incident(&format!("Desk move {n}"), &p.requester)
    };

    let mut assignees = Vec::new();
    for n in 0..4 {
        assignees.push(create(store, auto(n), t(n)).await.assignee_id);
    }
    let (a, b, c) = (Some(p.agent.id), Some(p.agent2.id), Some(carol.id));
    assert_eq!(
        assignees,
        [a, b, c, a],
        "members in id order, wrapping around"
    );

    // A hand-picked assignee does not move the rotation.
    let picked = NewTicket {
        assignee_id: Some(carol.id),
        ..auto(4)
    };
    assert_eq!(create(store, picked, t(4)).await.assignee_id, c);
    let (next, watchers) = store
        .create_ticket_with_watchers(auto(5), t(5), p.agent.id, None)
        .await
        .unwrap();
    assert_eq!(next.assignee_id, b);
    assert_eq!(
        watchers,
        store.watchers(next.id).await.unwrap(),
        "the watchers a create returns are the stored ones"
    );
    let assigned = store.timeline(next.id, true).await.unwrap();
    let event = assigned
        .iter()
        .find(|e| e.kind == "ticket.assigned")
        .expect("an assignment event");
    assert_eq!(event.data["rule"], "round_robin");
    assert!(
        store
            .watchers(next.id)
            .await
            .unwrap()
            .contains(&p.agent2.id),
        "the assignee watches"
    );

    // Deactivated members are skipped.
    store
        .update_user(
            carol.id,
            UserPatch {
                active: Some(false),
                ..Default::default()
            },
            p.admin.id,
            t(6),
        )
        .await
        .unwrap();
    assert_eq!(
        create(store, auto(6), t(6)).await.assignee_id,
        a,
        "carol is skipped after bob"
    );
}

async fn assignees_must_be_agents_of_the_team(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let network = team(store, "Network", false, &[&p.agent], &p.admin).await;
    let before = footprint(store).await;
    let to_requester = NewTicket {
        assignee_id: Some(p.requester.id),
        ..incident("Assign to requester", &p.agent)
    };
    expect_invalid(
        store
            .create_ticket(to_requester, t(1), p.agent.id, None)
            .await,
        "assignee_id",
    );
    let outsider = NewTicket {
        team_id: Some(network.id),
        assignee_id: Some(p.agent2.id),
        ..incident("Outsider", &p.agent)
    };
    expect_invalid(
        store.create_ticket(outsider, t(1), p.agent.id, None).await,
        "assignee_id",
    );
    let ghost = NewTicket {
        assignee_id: Some(UserId(4242)),
        ..incident("Ghost", &p.agent)
    };
    expect_invalid(
        store.create_ticket(ghost, t(1), p.agent.id, None).await,
        "assignee_id",
    );
    assert_eq!(
        footprint(store).await,
        before,
        "refused tickets leave no trace, not even a used number"
    );

    let member = NewTicket {
        team_id: Some(network.id),
        assignee_id: Some(p.agent.id),
        ..incident("Member", &p.requester)
    };
    let ticket = store
        .create_ticket(member, t(2), p.agent.id, None)
        .await
        .unwrap();
    assert_eq!(ticket.number, "INC-000001");
    assert_eq!(ticket.assignee_id, Some(p.agent.id));
    assert_eq!(
        store.watchers(ticket.id).await.unwrap(),
        vec![p.agent.id, p.requester.id]
    );
    let teamless = NewTicket {
        assignee_id: Some(p.agent2.id),
        ..incident("No team", &p.requester)
    };
    assert_eq!(
        store
            .create_ticket(teamless, t(3), p.agent.id, None)
            .await
            .unwrap()
            .assignee_id,
        Some(p.agent2.id)
    );

    // Reassigning goes through the same check.
    let patch = TicketPatch {
        assignee_id: Some(Some(p.agent2.id)),
        ..Default::default()
    };
    expect_invalid(
        store
            .update_ticket(ticket.id, patch, t(4), p.agent.id, None)
            .await,
        "assignee_id",
    );
}

async fn oversized_input_is_refused_and_nothing_is_written(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let before = footprint(store).await;

    let long_title = NewTicket {
        title: "x".repeat(201),
        ..incident("", &p.requester)
    };
    match store
        .create_ticket(long_title, t(1), p.requester.id, None)
        .await
    {
        Err(StoreError::Invalid(e)) => {
            assert_eq!(e.field, "title");
            assert!(
                e.message.contains("201") && e.message.contains("200"),
                "{}",
                e.message
            );
        }
        other => panic!("expected the title to be refused, got {other:?}"),
    }
    let huge_body = NewTicket {
        description: "a".repeat(64 * 1024 + 1),
        ..incident("Log attached", &p.requester)
    };
    expect_invalid(
        store
            .create_ticket(huge_body, t(1), p.requester.id, None)
            .await,
        "description",
    );
    assert_eq!(footprint(store).await, before);

    // The limits are inclusive.
    let at_limit = NewTicket {
        title: "é".repeat(200),
        description: "a".repeat(64 * 1024),
        ..incident("", &p.requester)
    };
    let ticket = store
        .create_ticket(at_limit, t(2), p.requester.id, None)
        .await
        .unwrap();
    assert_eq!(
        ticket.number, "INC-000001",
        "refused tickets do not use up numbers"
    );

    let before = footprint(store).await;
    let patch = TicketPatch {
        description: Some("b".repeat(64 * 1024 + 1)),
        ..Default::default()
    };
    expect_invalid(
        store
            .update_ticket(ticket.id, patch, t(3), p.agent.id, None)
            .await,
        "description",
    );
    expect_invalid(
        store
            .add_comment(
                ticket.id,
                Visibility::Public,
                &"c".repeat(64 * 1024 + 1),
                t(3),
                actor(&p.agent),
                None,
            )
            .await,
        "body",
    );
    expect_invalid(
        store
            .add_comment(
                ticket.id,
                Visibility::Public,
                "   ",
                t(3),
                actor(&p.agent),
                None,
            )
            .await,
        "body",
    );
    assert_eq!(footprint(store).await, before);
    assert_eq!(store.get_ticket(ticket.id).await.unwrap(), ticket);
}

async fn secrets_are_redacted_before_anything_is_stored(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let new = NewTicket {
        description:
            "Login fails with password=hunter2 and the job uses AKIAIOSFODNN7EXAMPLE for S3".into(),
        ..incident("Deploy job fails", &p.requester)
    };
    let ticket = create(store, new, t(1)).await;
    assert!(
        ticket.description.contains("password=[REDACTED:password]"),
        "{}",
        ticket.description
    );
    assert!(
        ticket.description.contains("[REDACTED:aws_access_key]"),
        "{}",
        ticket.description
    );
    assert!(!ticket.description.contains("hunter2"));
    assert!(!ticket.description.contains("AKIAIOSFODNN7EXAMPLE"));

    let timeline = store.timeline(ticket.id, true).await.unwrap();
    let redacted = timeline
        .iter()
        .find(|e| e.kind == "ticket.redacted")
        .expect("a ticket.redacted event");
    assert_eq!(redacted.data["fields"][0]["field"], "description");
    let found: Vec<&str> = redacted.data["fields"][0]["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(
        found.contains(&"password") && found.contains(&"aws_access_key"),
        "{found:?}"
    );

    // Comments are redacted the same way.
    store
        .add_comment(
            ticket.id,
            Visibility::Internal,
            "try password: hunter2 again",
            t(2),
            actor(&p.agent),
            None,
        )
        .await
        .unwrap();
    let comments = store.list_comments(ticket.id, true).await.unwrap();
    assert!(
        comments[0].body.contains("[REDACTED:password]") && !comments[0].body.contains("hunter2")
    );

    for data in raw_event_data(store).await {
        assert!(
            !data.contains("hunter2"),
            "an event holds the password: {data}"
        );
        assert!(
            !data.contains("AKIAIOSFODNN7EXAMPLE"),
            "an event holds the key: {data}"
        );
    }
    let rows = sqlx::query("SELECT title, description FROM tickets")
        .fetch_all(store.pool())
        .await
        .unwrap();
    for row in rows {
        let description: String = row.try_get("description").unwrap();
        assert!(!description.contains("hunter2"));
    }
    // Nor can the secret be found through search.
    let found = store
        .list_tickets(&TicketQuery {
            text: Some("hunter2".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(found.items.is_empty());
}

// ---------------------------------------------------------------------------
// Transitions
// ---------------------------------------------------------------------------

async fn an_incident_lives_from_new_to_closed(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let ticket = create(store, incident("Mail is down", &p.requester), t(0)).await;
    assert_eq!(ticket.state, TicketState::New);

    let acked = step(store, ticket.id, Transition::Acknowledge {}, t(5), &p.agent)
        .await
        .unwrap();
    assert_eq!(acked.state, TicketState::InProgress);
    assert_eq!(acked.acknowledged_at, Some(t(5)));
    assert_eq!(acked.acknowledged_by, Some(p.agent.id));
    assert_eq!(
        acked.assignee_id,
        Some(p.agent.id),
        "acknowledging an unassigned ticket takes it"
    );
    assert!(
        store
            .watchers(ticket.id)
            .await
            .unwrap()
            .contains(&p.agent.id)
    );

    let held = step(
        store,
        ticket.id,
        Transition::Hold {
            reason: OnHoldReason::AwaitingVendor,
        },
        t(10),
        &p.agent,
    )
    .await
    .unwrap();
    assert_eq!(held.state, TicketState::OnHold);
    assert_eq!(held.on_hold_reason, Some(OnHoldReason::AwaitingVendor));
    let resumed = step(store, ticket.id, Transition::Resume {}, t(20), &p.agent)
        .await
        .unwrap();
    assert_eq!(
        (resumed.state, resumed.on_hold_reason),
        (TicketState::InProgress, None)
    );

    let resolved = step(store, ticket.id, resolve(), t(30), &p.agent)
        .await
        .unwrap();
    assert_eq!(resolved.state, TicketState::Resolved);
    assert_eq!(resolved.resolved_at, Some(t(30)));
    assert_eq!(resolved.resolution_code.as_deref(), Some("fixed"));
    assert_eq!(
        resolved.resolution_note.as_deref(),
        Some("Replaced the faulty part")
    );

    let reopen = Transition::Reopen {
        reason: Some("Still bouncing".into()),
    };
    let reopened = step(store, ticket.id, reopen, t(60), &p.requester)
        .await
        .unwrap();
    assert_eq!(reopened.state, TicketState::InProgress);
    assert_eq!(reopened.reopen_count, 1);
    assert_eq!(reopened.reopened_at, Some(t(60)));
    assert_eq!(
        (reopened.resolved_at, reopened.resolution_code.clone()),
        (None, None)
    );
    assert_eq!(
        reopened.acknowledged_at,
        Some(t(5)),
        "the first acknowledgement stays"
    );

    let resolved = step(store, ticket.id, resolve(), t(90), &p.agent)
        .await
        .unwrap();
    assert_eq!(resolved.resolved_at, Some(t(90)));
    let closed = step(
        store,
        ticket.id,
        Transition::Close { outcome: None },
        t(100),
        &p.requester,
    )
    .await
    .unwrap();
    assert_eq!(closed.state, TicketState::Closed);
    assert_eq!(closed.closed_at, Some(t(100)));
    assert_eq!(closed.reopen_count, 1);
    assert_eq!(closed.version, 8);

    let timeline = store.timeline(ticket.id, true).await.unwrap();
    let actions: Vec<&str> = timeline
        .iter()
        .filter(|e| e.kind == "ticket.transitioned")
        .map(|e| e.data["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "acknowledge",
            "hold",
            "resume",
            "resolve",
            "reopen",
            "resolve",
            "close"
        ]
    );
    assert!(
        timeline
            .iter()
            .all(|e| e.entity_id == ticket.id.to_string())
    );
    assert!(timeline.windows(2).all(|w| w[0].seq < w[1].seq));
    let open = store
        .list_tickets(&TicketQuery {
            open: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(open.items.is_empty(), "a closed ticket is not open");
}

async fn illegal_transitions_name_the_allowed_ones_and_write_nothing(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let ticket = create(store, incident("Printer offline", &p.requester), t(0)).await;
    let before = footprint(store).await;
    let hold = Transition::Hold {
        reason: OnHoldReason::AwaitingCustomer,
    };
    match step(store, ticket.id, hold, t(1), &p.agent).await {
        Err(StoreError::Transition(TransitionError::Illegal {
            kind,
            from,
            action,
            allowed,
        })) => {
            assert_eq!(
                (kind, from, action),
                (TicketKind::Incident, TicketState::New, TransitionName::Hold)
            );
            assert_eq!(
                allowed,
                [TransitionName::Acknowledge, TransitionName::Resolve]
            );
        }
        other => panic!("expected an illegal transition, got {other:?}"),
    }
    expect_invalid(
        step(
            store,
            ticket.id,
            Transition::Resolve {
                resolution_code: "fixed".into(),
                resolution_note: " ".into(),
            },
            t(1),
            &p.agent,
        )
        .await,
        "resolution_note",
    );
    assert_eq!(footprint(store).await, before);
    assert_eq!(store.get_ticket(ticket.id).await.unwrap(), ticket);

    step(store, ticket.id, resolve(), t(2), &p.agent)
        .await
        .unwrap();
    step(
        store,
        ticket.id,
        Transition::Close { outcome: None },
        t(3),
        &p.agent,
    )
    .await
    .unwrap();
    let before = footprint(store).await;
    match step(
        store,
        ticket.id,
        Transition::Reopen { reason: None },
        t(4),
        &p.requester,
    )
    .await
    {
        Err(StoreError::Transition(TransitionError::Illegal { allowed, .. })) => {
            assert!(allowed.is_empty())
        }
        other => panic!("a closed ticket cannot reopen, got {other:?}"),
    }
    expect_conflict(
        store
            .add_comment(
                ticket.id,
                Visibility::Public,
                "hello?",
                t(4),
                actor(&p.requester),
                None,
            )
            .await,
    );
    expect_conflict(
        store
            .update_ticket(
                ticket.id,
                TicketPatch {
                    title: Some("New title".into()),
                    ..Default::default()
                },
                t(4),
                p.agent.id,
                None,
            )
            .await,
    );
    assert_eq!(footprint(store).await, before);
    assert!(matches!(
        step(
            store,
            TicketId(9999),
            Transition::Acknowledge {},
            t(5),
            &p.agent
        )
        .await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn reopening_after_the_window_is_refused(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let ticket = create(store, incident("Slow laptop", &p.requester), t(0)).await;
    let resolved = step(store, ticket.id, resolve(), t(10), &p.agent)
        .await
        .unwrap();
    let window_end = t(10) + days(7);
    let before = footprint(store).await;
    match step(
        store,
        ticket.id,
        Transition::Reopen { reason: None },
        window_end,
        &p.requester,
    )
    .await
    {
        Err(StoreError::Transition(TransitionError::ReopenWindowClosed { closed_at })) => {
            assert_eq!(closed_at, window_end)
        }
        other => panic!("expected the reopen window to be closed, got {other:?}"),
    }
    assert_eq!(footprint(store).await, before);
    assert_eq!(store.get_ticket(ticket.id).await.unwrap(), resolved);

    let just_in_time = window_end - SignedDuration::from_secs(1);
    let reopened = step(
        store,
        ticket.id,
        Transition::Reopen { reason: None },
        just_in_time,
        &p.requester,
    )
    .await
    .unwrap();
    assert_eq!(reopened.state, TicketState::InProgress);
    assert_eq!(reopened.reopen_count, 1);
}

async fn expired_resolutions_close_when_their_window_ended(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let early = create(store, incident("Early", &p.requester), t(0)).await;
    let late = create(store, incident("Late", &p.requester), t(0)).await;
    let open = create(store, incident("Still open", &p.requester), t(0)).await;
    let request = create(
        store,
        new_ticket(TicketKind::ServiceRequest, "Monitor", &p.requester),
        t(0),
    )
    .await;
    step(store, early.id, resolve(), t(10), &p.agent)
        .await
        .unwrap();
    step(store, late.id, resolve(), t(10) + days(6), &p.agent)
        .await
        .unwrap();
    step(store, request.id, Transition::Start {}, t(11), &p.agent)
        .await
        .unwrap();
    step(
        store,
        request.id,
        Transition::Fulfill {
            resolution_note: "Delivered".into(),
        },
        t(12),
        &p.agent,
    )
    .await
    .unwrap();

    let policy = ReopenPolicy::default();
    let now = t(10) + days(7) + SignedDuration::from_hours(1);
    assert_eq!(
        store
            .close_expired_resolutions(policy, now, 100)
            .await
            .unwrap(),
        2
    );
    let early = store.get_ticket(early.id).await.unwrap();
    assert_eq!(early.state, TicketState::Closed);
    assert_eq!(
        early.closed_at,
        Some(t(10) + days(7)),
        "stamped when the window ended, not when the worker ran"
    );
    let request = store.get_ticket(request.id).await.unwrap();
    assert_eq!(
        (request.state, request.closed_at),
        (TicketState::Closed, Some(t(12) + days(7)))
    );
    assert_eq!(
        store.get_ticket(late.id).await.unwrap().state,
        TicketState::Resolved
    );
    assert_eq!(
        store.get_ticket(open.id).await.unwrap().state,
        TicketState::New
    );

    let close = store.timeline(early.id, true).await.unwrap().pop().unwrap();
    assert_eq!(close.kind, "ticket.transitioned");
    assert_eq!(close.data["action"], "close");
    assert_eq!(close.data["automatic"], true);
    assert_eq!(close.actor_id, None, "the system closed it");
    assert_eq!(close.at, t(10) + days(7));

    assert_eq!(
        store
            .close_expired_resolutions(policy, now, 100)
            .await
            .unwrap(),
        0,
        "running again closes nothing"
    );
    let later = t(10) + days(14);
    assert_eq!(
        store
            .close_expired_resolutions(policy, later, 100)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.get_ticket(late.id).await.unwrap().closed_at,
        Some(t(10) + days(13))
    );
    assert!(matches!(
        store.verify_chain().await.unwrap(),
        ChainReport::Intact { .. }
    ));
}

async fn a_requester_reply_resumes_a_ticket_waiting_on_them(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let ticket = create(store, incident("Cannot print", &p.requester), t(0)).await;
    step(store, ticket.id, Transition::Acknowledge {}, t(1), &p.agent)
        .await
        .unwrap();
    step(
        store,
        ticket.id,
        Transition::Hold {
            reason: OnHoldReason::AwaitingCustomer,
        },
        t(2),
        &p.agent,
    )
    .await
    .unwrap();

    store
        .add_comment(
            ticket.id,
            Visibility::Public,
            "Which printer?",
            t(3),
            actor(&p.agent),
            None,
        )
        .await
        .unwrap();
    store
        .add_comment(
            ticket.id,
            Visibility::Internal,
            "Probably floor 3",
            t(4),
            actor(&p.agent),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_ticket(ticket.id).await.unwrap().state,
        TicketState::OnHold,
        "agents' comments do not resume"
    );

    store
        .add_comment(
            ticket.id,
            Visibility::Public,
            "The one on floor 3",
            t(5),
            actor(&p.requester),
            None,
        )
        .await
        .unwrap();
    let resumed = store.get_ticket(ticket.id).await.unwrap();
    assert_eq!(
        (resumed.state, resumed.on_hold_reason),
        (TicketState::InProgress, None)
    );
    let last = store
        .timeline(ticket.id, true)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.data["action"], "resume");
    assert_eq!(last.data["automatic"], true);
    assert_eq!(last.actor_id, Some(p.requester.id));

    // Waiting on a vendor, the requester's reply changes nothing.
    step(
        store,
        ticket.id,
        Transition::Hold {
            reason: OnHoldReason::AwaitingVendor,
        },
        t(6),
        &p.agent,
    )
    .await
    .unwrap();
    store
        .add_comment(
            ticket.id,
            Visibility::Public,
            "Any news?",
            t(7),
            actor(&p.requester),
            None,
        )
        .await
        .unwrap();
    let held = store.get_ticket(ticket.id).await.unwrap();
    assert_eq!(
        (held.state, held.on_hold_reason),
        (TicketState::OnHold, Some(OnHoldReason::AwaitingVendor))
    );
}

async fn a_change_closes_with_an_outcome(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let change = create(
        store,
        new_ticket(TicketKind::Change, "Upgrade core switch", &p.agent),
        t(0),
    )
    .await;
    assert_eq!(
        (change.number.as_str(), change.state),
        ("CHG-000001", TicketState::Draft)
    );
    let mut now = 0;
    let mut go = async |s: Transition| {
        now += 1;
        step(store, change.id, s, t(now), &p.agent).await
    };
    assert_eq!(
        go(Transition::SubmitForAssessment {}).await.unwrap().state,
        TicketState::Assessment
    );
    assert_eq!(
        go(Transition::RequestApproval {}).await.unwrap().state,
        TicketState::AwaitingApproval
    );
    assert_eq!(
        go(Transition::Reject {
            note: "Needs a rollback plan".into()
        })
        .await
        .unwrap()
        .state,
        TicketState::Draft
    );
    assert_eq!(
        go(Transition::SubmitForAssessment {}).await.unwrap().state,
        TicketState::Assessment
    );
    assert_eq!(
        go(Transition::RequestApproval {}).await.unwrap().state,
        TicketState::AwaitingApproval
    );
    assert_eq!(
        go(Transition::Approve { note: None }).await.unwrap().state,
        TicketState::Scheduled
    );
    assert_eq!(
        go(Transition::Implement {}).await.unwrap().state,
        TicketState::Implementing
    );
    assert_eq!(
        go(Transition::CompleteImplementation {})
            .await
            .unwrap()
            .state,
        TicketState::Review
    );
    expect_invalid(go(Transition::Close { outcome: None }).await, "outcome");
    let closed = go(Transition::Close {
        outcome: Some(ChangeOutcome::Successful),
    })
    .await
    .unwrap();
    assert_eq!(closed.state, TicketState::Closed);
    assert_eq!(closed.change_outcome, Some(ChangeOutcome::Successful));
    assert_eq!(closed.closed_at, Some(t(10)));
    let last = store
        .timeline(change.id, true)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.data["change_outcome"], "successful");

    // Only changes have outcomes.
    let inc = create(store, incident("Side effect", &p.requester), t(20)).await;
    step(store, inc.id, resolve(), t(21), &p.agent)
        .await
        .unwrap();
    expect_invalid(
        step(
            store,
            inc.id,
            Transition::Close {
                outcome: Some(ChangeOutcome::Failed),
            },
            t(22),
            &p.agent,
        )
        .await,
        "outcome",
    );
}

// ---------------------------------------------------------------------------
// Comments
// ---------------------------------------------------------------------------

async fn internal_notes_stay_internal(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let ticket = create(store, incident("VPN drops", &p.requester), t(0)).await;
    let reply = store
        .add_comment(
            ticket.id,
            Visibility::Public,
            "Looking into it",
            t(1),
            actor(&p.agent),
            None,
        )
        .await
        .unwrap();
    let note = store
        .add_comment(
            ticket.id,
            Visibility::Internal,
            "User is on password=hunter2 again",
            t(2),
            actor(&p.agent),
            None,
        )
        .await
        .unwrap();
    assert_eq!(note.visibility, Visibility::Internal);
    assert_eq!(store.get_comment(note.id).await.unwrap(), note);

    assert_eq!(
        store.list_comments(ticket.id, true).await.unwrap(),
        vec![reply.clone(), note.clone()]
    );
    assert_eq!(
        store.list_comments(ticket.id, false).await.unwrap(),
        vec![reply]
    );

    let full = store.timeline(ticket.id, true).await.unwrap();
    let public = store.timeline(ticket.id, false).await.unwrap();
    assert_eq!(
        kinds(&full),
        [
            "ticket.created",
            "ticket.commented",
            "ticket.commented",
            "ticket.redacted"
        ]
    );
    assert_eq!(
        kinds(&public),
        ["ticket.created", "ticket.commented"],
        "the note and its redaction are hidden"
    );
    assert_eq!(public[1].data["visibility"], "public");
    assert_eq!(public[1].data["body"], "Looking into it");
}

async fn first_response_is_the_first_public_agent_reply(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let ticket = create(store, incident("Screen flickers", &p.requester), t(0)).await;
    store
        .add_comment(
            ticket.id,
            Visibility::Public,
            "It got worse",
            t(1),
            actor(&p.requester),
            None,
        )
        .await
        .unwrap();
    store
        .add_comment(
            ticket.id,
            Visibility::Internal,
            "Check the cable",
            t(2),
            actor(&p.agent),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_ticket(ticket.id).await.unwrap().first_response_at,
        None
    );

    store
        .add_comment(
            ticket.id,
            Visibility::Public,
            "On my way",
            t(3),
            actor(&p.agent),
            None,
        )
        .await
        .unwrap();
    store
        .add_comment(
            ticket.id,
            Visibility::Public,
            "Fixed the cable",
            t(4),
            actor(&p.agent2),
            None,
        )
        .await
        .unwrap();
    let ticket = store.get_ticket(ticket.id).await.unwrap();
    assert_eq!(ticket.first_response_at, Some(t(3)));
    assert_eq!(ticket.version, 5);
    let firsts: Vec<bool> = store
        .timeline(ticket.id, true)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == "ticket.commented")
        .map(|e| e.data["first_response"].as_bool().unwrap())
        .collect();
    assert_eq!(firsts, [false, false, true, false]);

    // An agent who raised the ticket themselves is its requester: their
    // replies are not a response.
    let own = create(store, incident("My own ticket", &p.agent), t(5)).await;
    store
        .add_comment(
            own.id,
            Visibility::Public,
            "Note to self",
            t(6),
            actor(&p.agent),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_ticket(own.id).await.unwrap().first_response_at,
        None
    );
}

// ---------------------------------------------------------------------------
// Links and merges
// ---------------------------------------------------------------------------

async fn links_are_unique_and_never_to_self(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let a = create(store, incident("Outage A", &p.requester), t(0)).await;
    let b = create(store, incident("Outage B", &p.requester), t(1)).await;
    let change = create(
        store,
        new_ticket(TicketKind::Change, "Firewall rule", &p.agent),
        t(2),
    )
    .await;

    let link = store
        .link_tickets(a.id, LinkKind::CausedBy, change.id, t(3), p.agent.id, None)
        .await
        .unwrap();
    assert_eq!(
        (link.source_id, link.kind, link.target_id),
        (a.id, LinkKind::CausedBy, change.id)
    );
    assert_eq!(
        (link.source_number.as_str(), link.target_number.as_str()),
        ("INC-000001", "CHG-000001")
    );
    assert_eq!(link.created_by, p.agent.id);

    let before = footprint(store).await;
    expect_conflict(
        store
            .link_tickets(a.id, LinkKind::Related, change.id, t(4), p.agent.id, None)
            .await,
    );
    expect_conflict(
        store
            .link_tickets(change.id, LinkKind::Related, a.id, t(4), p.agent.id, None)
            .await,
    );
    expect_invalid(
        store
            .link_tickets(a.id, LinkKind::Related, a.id, t(4), p.agent.id, None)
            .await,
        "target_id",
    );
    expect_invalid(
        store
            .link_tickets(
                a.id,
                LinkKind::Related,
                TicketId(999),
                t(4),
                p.agent.id,
                None,
            )
            .await,
        "target_id",
    );
    assert_eq!(footprint(store).await, before);

    store
        .link_tickets(b.id, LinkKind::Related, a.id, t(5), p.agent.id, None)
        .await
        .unwrap();
    let of_a: Vec<(TicketId, TicketId)> = store
        .list_links(a.id)
        .await
        .unwrap()
        .iter()
        .map(|l| (l.source_id, l.target_id))
        .collect();
    assert_eq!(
        of_a,
        [(a.id, change.id), (b.id, a.id)],
        "links show from both ends"
    );
    assert_eq!(store.list_links(change.id).await.unwrap(), vec![link]);
    let change_timeline = kinds(&store.timeline(change.id, true).await.unwrap()).join(",");
    assert!(
        change_timeline.contains("ticket.linked_from"),
        "{change_timeline}"
    );

    store
        .unlink_tickets(a.id, change.id, t(6), p.agent.id)
        .await
        .unwrap();
    assert!(store.list_links(change.id).await.unwrap().is_empty());
    assert!(matches!(
        store
            .unlink_tickets(a.id, change.id, t(7), p.agent.id)
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn merging_moves_the_conversation_to_the_survivor(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let dana = user(store, "dana", Role::Requester).await;
    let survivor = create(store, incident("Wi-Fi down on floor 2", &p.requester), t(0)).await;
    let duplicate = create(store, incident("No wireless upstairs", &dana), t(1)).await;
    step(
        store,
        duplicate.id,
        Transition::Acknowledge {},
        t(2),
        &p.agent2,
    )
    .await
    .unwrap();
    let c1 = store
        .add_comment(
            duplicate.id,
            Visibility::Public,
            "Since 9am",
            t(3),
            actor(&dana),
            None,
        )
        .await
        .unwrap();
    let c2 = store
        .add_comment(
            duplicate.id,
            Visibility::Internal,
            "Same AP",
            t(4),
            actor(&p.agent2),
            None,
        )
        .await
        .unwrap();
    let own = store
        .add_comment(
            survivor.id,
            Visibility::Public,
            "Checking",
            t(5),
            actor(&p.agent),
            None,
        )
        .await
        .unwrap();

    let merged = store
        .merge_tickets(duplicate.id, survivor.id, t(6), p.agent.id, None)
        .await
        .unwrap();
    assert_eq!(merged.id, survivor.id);
    assert!(merged.state.is_open());

    let comments = store.list_comments(survivor.id, true).await.unwrap();
    let moved: Vec<(i64, Option<TicketId>)> = comments
        .iter()
        .map(|c| (c.id, c.moved_from_ticket_id))
        .collect();
    assert_eq!(
        moved,
        [
            (c1.id, Some(duplicate.id)),
            (c2.id, Some(duplicate.id)),
            (own.id, None)
        ]
    );
    assert!(
        store
            .list_comments(duplicate.id, true)
            .await
            .unwrap()
            .is_empty()
    );
    let watchers = store.watchers(survivor.id).await.unwrap();
    for who in [p.requester.id, dana.id, p.agent2.id] {
        assert!(
            watchers.contains(&who),
            "{who} should watch the survivor: {watchers:?}"
        );
    }

    let dup = store.get_ticket(duplicate.id).await.unwrap();
    assert_eq!(dup.state, TicketState::Closed);
    assert_eq!(dup.merged_into_id, Some(survivor.id));
    assert_eq!(dup.closed_at, Some(t(6)));
    assert_eq!(dup.resolution_code.as_deref(), Some("duplicate"));
    let links = store.list_links(survivor.id).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(
        (links[0].source_id, links[0].kind, links[0].target_id),
        (duplicate.id, LinkKind::DuplicateOf, survivor.id)
    );
    assert_eq!(
        store
            .timeline(duplicate.id, true)
            .await
            .unwrap()
            .pop()
            .unwrap()
            .kind,
        "ticket.merged"
    );
    let merged_in = store
        .timeline(survivor.id, true)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(merged_in.kind, "ticket.merged_in");
    assert_eq!(merged_in.data["from_number"], "INC-000002");

    let before = footprint(store).await;
    expect_conflict(
        store
            .merge_tickets(duplicate.id, survivor.id, t(7), p.agent.id, None)
            .await,
    );
    expect_invalid(
        store
            .merge_tickets(survivor.id, survivor.id, t(7), p.agent.id, None)
            .await,
        "survivor_id",
    );
    assert_eq!(footprint(store).await, before);
}

async fn merging_needs_tickets_of_one_kind(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let inc = create(store, incident("Laptop broken", &p.requester), t(0)).await;
    let req = create(
        store,
        new_ticket(TicketKind::ServiceRequest, "New laptop", &p.requester),
        t(1),
    )
    .await;
    let before = footprint(store).await;
    match store
        .merge_tickets(inc.id, req.id, t(2), p.agent.id, None)
        .await
    {
        Err(StoreError::Invalid(e)) => {
            assert_eq!(e.field, "survivor_id");
            assert!(
                e.message.contains("INC-000001") && e.message.contains("REQ-000001"),
                "{}",
                e.message
            );
        }
        other => panic!("expected different kinds to be refused, got {other:?}"),
    }
    assert_eq!(footprint(store).await, before);
    assert_eq!(store.get_ticket(inc.id).await.unwrap(), inc);
}

async fn merging_linked_tickets_still_records_the_duplicate(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    // One pair linked from the duplicate, one from the survivor.
    let mut pairs = Vec::new();
    for (i, from_duplicate) in [true, false].into_iter().enumerate() {
        let at = 10 * i as i64;
        let survivor = create(store, incident("Mail bounces", &p.requester), t(at)).await;
        let duplicate = create(store, incident("Cannot send mail", &p.requester), t(at + 1)).await;
        let (source, target) = if from_duplicate {
            (duplicate.id, survivor.id)
        } else {
            (survivor.id, duplicate.id)
        };
        store
            .link_tickets(
                source,
                LinkKind::Related,
                target,
                t(at + 2),
                p.agent.id,
                None,
            )
            .await
            .unwrap();
        store
            .merge_tickets(duplicate.id, survivor.id, t(at + 3), p.agent.id, None)
            .await
            .unwrap();
        pairs.push((survivor.id, duplicate.id));
    }
    for (survivor, duplicate) in pairs {
        let links: Vec<(TicketId, LinkKind, TicketId)> = store
            .list_links(survivor)
            .await
            .unwrap()
            .iter()
            .map(|l| (l.source_id, l.kind, l.target_id))
            .collect();
        assert_eq!(
            links,
            [(duplicate, LinkKind::DuplicateOf, survivor)],
            "one link between the pair, and it says duplicate"
        );
        let merged = store
            .timeline(duplicate, true)
            .await
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(merged.kind, "ticket.merged");
        assert_eq!(
            merged.data["replaced_links"],
            serde_json::json!(["related"])
        );
    }
    assert!(matches!(
        store.verify_chain().await.unwrap(),
        ChainReport::Intact { .. }
    ));
}

// ---------------------------------------------------------------------------
// Idempotency
// ---------------------------------------------------------------------------

fn key(key: &str, request_hash: &str) -> IdempotencyKey {
    IdempotencyKey {
        key: key.into(),
        route: "POST /api/v1/tickets".into(),
        request_hash: request_hash.into(),
    }
}

async fn a_retried_create_returns_the_first_ticket(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let k = key("retry-1", "body-hash-1");
    let first = store
        .create_ticket(
            incident("Disk full", &p.requester),
            t(0),
            p.requester.id,
            Some(&k),
        )
        .await
        .unwrap();
    let after_first = footprint(store).await;
    let retry = store
        .create_ticket(
            incident("Disk full", &p.requester),
            t(1),
            p.requester.id,
            Some(&k),
        )
        .await
        .unwrap();
    assert_eq!(retry, first);
    assert_eq!(
        footprint(store).await,
        after_first,
        "the retry wrote nothing"
    );
    assert_eq!(count(store, "tickets").await, 1);

    // Keys belong to their user: another user's identical key is a new request.
    let other = store
        .create_ticket(incident("Disk full", &p.agent), t(2), p.agent.id, Some(&k))
        .await
        .unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(other.number, "INC-000002");
}

async fn a_reused_idempotency_key_with_another_body_conflicts(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    store
        .create_ticket(
            incident("Disk full", &p.requester),
            t(0),
            p.requester.id,
            Some(&key("k", "hash-a")),
        )
        .await
        .unwrap();
    let before = footprint(store).await;
    let message = expect_conflict(
        store
            .create_ticket(
                incident("Other", &p.requester),
                t(1),
                p.requester.id,
                Some(&key("k", "hash-b")),
            )
            .await,
    );
    assert!(message.contains("'k'"), "{message}");
    let other_route = IdempotencyKey {
        route: "POST /api/v1/tickets/{id}/comments".into(),
        ..key("k", "hash-a")
    };
    expect_conflict(
        store
            .create_ticket(
                incident("Other", &p.requester),
                t(1),
                p.requester.id,
                Some(&other_route),
            )
            .await,
    );
    assert_eq!(footprint(store).await, before);
}

async fn a_retried_transition_returns_the_first_result(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let ticket = create(store, incident("Retry me", &p.requester), t(0)).await;
    let k = IdempotencyKey {
        key: "ack-1".into(),
        route: "POST /api/v1/tickets/{id}/transitions".into(),
        request_hash: "ack".into(),
    };
    let policy = ReopenPolicy::default();
    let first = store
        .transition_ticket(
            ticket.id,
            &Transition::Acknowledge {},
            policy,
            t(1),
            actor(&p.agent),
            Some(&k),
        )
        .await
        .unwrap();
    let before = footprint(store).await;
    // Without the key, a second acknowledge would be illegal (in_progress).
    let retry = store
        .transition_ticket(
            ticket.id,
            &Transition::Acknowledge {},
            policy,
            t(2),
            actor(&p.agent),
            Some(&k),
        )
        .await
        .unwrap();
    assert_eq!(retry, first);
    assert_eq!(footprint(store).await, before);
}

async fn stale_versions_are_refused(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let ticket = create(store, incident("Two editors", &p.requester), t(0)).await;
    let first = TicketPatch {
        title: Some("Edited by Alice".into()),
        expected_version: Some(ticket.version),
        ..Default::default()
    };
    let edited = store
        .update_ticket(ticket.id, first, t(1), p.agent.id, None)
        .await
        .unwrap();
    assert_eq!(edited.version, ticket.version + 1);
    let before = footprint(store).await;
    let second = TicketPatch {
        title: Some("Edited by Bob".into()),
        expected_version: Some(ticket.version),
        ..Default::default()
    };
    let message = expect_conflict(
        store
            .update_ticket(ticket.id, second, t(2), p.agent2.id, None)
            .await,
    );
    assert!(message.contains("INC-000001"), "{message}");
    assert_eq!(footprint(store).await, before);
    assert_eq!(
        store.get_ticket(ticket.id).await.unwrap().title,
        "Edited by Alice"
    );
}

async fn deactivated_users_cannot_raise_tickets(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    store
        .update_user(
            p.requester.id,
            UserPatch {
                active: Some(false),
                ..Default::default()
            },
            p.admin.id,
            t(1),
        )
        .await
        .unwrap();
    let before = footprint(store).await;
    expect_invalid(
        store
            .create_ticket(
                incident("Ghost ticket", &p.requester),
                t(2),
                p.agent.id,
                None,
            )
            .await,
        "requester_id",
    );
    let nobody = NewTicket {
        requester_id: UserId(4242),
        ..incident("Nobody", &p.requester)
    };
    expect_invalid(
        store.create_ticket(nobody, t(2), p.agent.id, None).await,
        "requester_id",
    );
    assert_eq!(footprint(store).await, before);
}

async fn backups_are_sqlite_copies_and_postgres_points_to_pg_dump(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let ticket = create(store, incident("Back me up", &p.requester), t(0)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.db");
    let path = path.to_str().unwrap();
    match store.backend() {
        Backend::Sqlite => {
            store.backup(path).await.unwrap();
            let copy = Store::open(&format!("sqlite://{path}")).await.unwrap();
            assert_eq!(copy.get_ticket(ticket.id).await.unwrap(), ticket);
            assert_eq!(
                copy.verify_chain().await.unwrap(),
                store.verify_chain().await.unwrap()
            );
            copy.close().await;
            match store.backup(path).await {
                Err(StoreError::Config(message)) => {
                    assert!(message.contains("already exists"), "{message}")
                }
                other => panic!("expected a refusal to overwrite, got {other:?}"),
            }
        }
        Backend::Postgres => match store.backup(path).await {
            Err(StoreError::Config(message)) => assert!(message.contains("pg_dump"), "{message}"),
            other => panic!("expected a pointer to pg_dump, got {other:?}"),
        },
    }
}

// ---------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------

/// Five tickets with distinct attributes; see each test for what it expects.
struct Queue {
    p: People,
    dana: User,
    network: Team,
    vpn: Service,
    tickets: Vec<Ticket>,
}

async fn queue(store: &Store) -> Queue {
    let p = people(store).await;
    let dana = user(store, "dana", Role::Requester).await;
    let network = team(store, "Network", false, &[&p.agent, &p.agent2], &p.admin).await;
    let vpn = service(store, "VPN", Some(&network), &p.admin).await;
    let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let news = vec![
        NewTicket {
            service_id: Some(vpn.id),
            assignee_id: Some(p.agent.id),
            impact: Impact::High,
            urgency: Urgency::High,
            tags: tags(&["vpn", "network"]),
            description: "Nobody in the Berlin office can connect".into(),
            ..incident("VPN down in Berlin", &p.requester)
        },
        NewTicket {
            impact: Impact::Low,
            urgency: Urgency::Low,
            tags: tags(&["hardware"]),
            description: "Starting next Monday".into(),
            ..new_ticket(TicketKind::ServiceRequest, "New laptop for Dana", &dana)
        },
        NewTicket {
            description: "Paper jams every morning".into(),
            ..incident("Printer on floor 3", &p.requester)
        },
        NewTicket {
            team_id: Some(network.id),
            assignee_id: Some(p.agent2.id),
            impact: Impact::High,
            urgency: Urgency::Medium,
            description: "Users report the tunnel disconnects every hour".into(),
            ..new_ticket(TicketKind::Problem, "Recurring VPN instability", &p.agent)
        },
        NewTicket {
            team_id: Some(network.id),
            tags: tags(&["network"]),
            description: "Firmware 17.3 fixes the memory leak".into(),
            ..new_ticket(TicketKind::Change, "Upgrade core switch", &p.agent)
        },
    ];
    let mut tickets = Vec::new();
    for (i, new) in news.into_iter().enumerate() {
        tickets.push(create(store, new, t(10 * (i as i64 + 1))).await);
    }
    // The printer ticket is resolved: no longer open.
    tickets[2] = step(store, tickets[2].id, resolve(), t(60), &p.agent)
        .await
        .unwrap();
    Queue {
        p,
        dana,
        network,
        vpn,
        tickets,
    }
}

impl Queue {
    /// The tickets' 1-based positions, for readable expectations.
    fn nums(&self, page: &[Ticket]) -> Vec<usize> {
        page.iter()
            .map(|t| self.tickets.iter().position(|q| q.id == t.id).unwrap() + 1)
            .collect()
    }
}

async fn list_filters_select_exactly_the_matching_tickets(db: &TestDb) {
    let store = &db.store;
    let q = queue(store).await;
    let list = async |query: TicketQuery| {
        let mut found = q.nums(
            &store
                .list_tickets(&TicketQuery {
                    descending: false,
                    ..query
                })
                .await
                .unwrap()
                .items,
        );
        found.sort();
        found
    };
    let all = TicketQuery::default;
    assert_eq!(list(all()).await, [1, 2, 3, 4, 5]);
    assert_eq!(
        list(TicketQuery {
            kinds: vec![TicketKind::Incident],
            ..all()
        })
        .await,
        [1, 3]
    );
    assert_eq!(
        list(TicketQuery {
            kinds: vec![TicketKind::Incident, TicketKind::Problem],
            ..all()
        })
        .await,
        [1, 3, 4]
    );
    assert_eq!(
        list(TicketQuery {
            states: vec![TicketState::Resolved],
            ..all()
        })
        .await,
        [3]
    );
    assert_eq!(
        list(TicketQuery {
            states: vec![TicketState::New, TicketState::Draft],
            ..all()
        })
        .await,
        [1, 2, 4, 5]
    );
    assert_eq!(
        list(TicketQuery {
            open: Some(true),
            ..all()
        })
        .await,
        [1, 2, 4, 5]
    );
    assert_eq!(
        list(TicketQuery {
            open: Some(false),
            ..all()
        })
        .await,
        [3]
    );
    assert_eq!(
        list(TicketQuery {
            priorities: vec![Priority::P1, Priority::P2],
            ..all()
        })
        .await,
        [1, 4]
    );
    assert_eq!(
        list(TicketQuery {
            priorities: vec![Priority::P5],
            ..all()
        })
        .await,
        [2]
    );
    assert_eq!(
        list(TicketQuery {
            team_ids: vec![q.network.id],
            ..all()
        })
        .await,
        [1, 4, 5]
    );
    assert_eq!(
        list(TicketQuery {
            assignee: Some(AssigneeFilter::User(q.p.agent.id)),
            ..all()
        })
        .await,
        [1]
    );
    assert_eq!(
        list(TicketQuery {
            assignee: Some(AssigneeFilter::User(q.p.agent2.id)),
            ..all()
        })
        .await,
        [4]
    );
    assert_eq!(
        list(TicketQuery {
            assignee: Some(AssigneeFilter::Unassigned),
            ..all()
        })
        .await,
        [2, 3, 5]
    );
    assert_eq!(
        list(TicketQuery {
            requester_id: Some(q.dana.id),
            ..all()
        })
        .await,
        [2]
    );
    assert_eq!(
        list(TicketQuery {
            requester_id: Some(q.p.requester.id),
            ..all()
        })
        .await,
        [1, 3]
    );
    assert_eq!(
        list(TicketQuery {
            service_id: Some(q.vpn.id),
            ..all()
        })
        .await,
        [1]
    );
    assert_eq!(
        list(TicketQuery {
            tag: Some("network".into()),
            ..all()
        })
        .await,
        [1, 5]
    );
    assert_eq!(
        list(TicketQuery {
            tag: Some("vpn".into()),
            ..all()
        })
        .await,
        [1]
    );
    assert_eq!(
        list(TicketQuery {
            tag: Some("nothing".into()),
            ..all()
        })
        .await,
        Vec::<usize>::new()
    );
    assert_eq!(
        list(TicketQuery {
            created_after: Some(t(20)),
            ..all()
        })
        .await,
        [2, 3, 4, 5],
        "after is inclusive"
    );
    assert_eq!(
        list(TicketQuery {
            created_before: Some(t(30)),
            ..all()
        })
        .await,
        [1, 2],
        "before is exclusive"
    );
    assert_eq!(
        list(TicketQuery {
            created_after: Some(t(20)),
            created_before: Some(t(40)),
            ..all()
        })
        .await,
        [2, 3]
    );
    assert_eq!(
        list(TicketQuery {
            updated_after: Some(t(60)),
            ..all()
        })
        .await,
        [3]
    );
    assert_eq!(
        list(TicketQuery {
            kinds: vec![TicketKind::Incident],
            open: Some(true),
            team_ids: vec![q.network.id],
            ..all()
        })
        .await,
        [1]
    );
    expect_invalid(
        store.list_tickets(&TicketQuery { limit: 0, ..all() }).await,
        "limit",
    );
    expect_invalid(
        store
            .list_tickets(&TicketQuery {
                limit: 201,
                ..all()
            })
            .await,
        "limit",
    );
}

async fn search_pages_walk_every_match_once_newest_first(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let mut expected = Vec::new();
    for i in 0..23 {
        let title = if i % 3 == 0 {
            format!("Printer offline {i}")
        } else {
            format!("Mailbox quota warning {i}")
        };
        let mut new = incident(&title, &p.requester);
        new.tags = if i % 2 == 0 {
            vec!["floor-2".into()]
        } else {
            vec![]
        };
        let t = create(store, new, t(i)).await;
        if i % 3 != 0 && i % 2 == 0 {
            expected.push(t.id);
        }
    }
    expected.reverse(); // newest first
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let query = TicketQuery {
            text: Some("mailbox quota".into()),
            tag: Some("floor-2".into()),
            limit: 3,
            cursor: cursor.clone(),
            ..Default::default()
        };
        let page = store.list_tickets(&query).await.unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|t| t.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        seen, expected,
        "every match once, newest first, filters applied"
    );
}

async fn full_text_search_finds_words_of_title_and_description(db: &TestDb) {
    let store = &db.store;
    let q = queue(store).await;
    let search = async |text: &str| {
        let query = TicketQuery {
            text: Some(text.into()),
            ..Default::default()
        };
        let mut found = q.nums(&store.list_tickets(&query).await.unwrap().items);
        found.sort();
        found
    };
    assert_eq!(search("printer").await, [3], "a word of a title");
    assert_eq!(search("tunnel").await, [4], "a word of a description");
    assert_eq!(search("VPN").await, [1, 4], "case does not matter");
    assert_eq!(search("laptop dana").await, [2], "every word must match");
    assert_eq!(search("laptop printer").await, Vec::<usize>::new());
    assert_eq!(search("firmware").await, [5]);
    assert_eq!(
        search("\"jams\"*").await,
        [3],
        "search syntax in the input is just words"
    );
    let with_filter = TicketQuery {
        text: Some("vpn".into()),
        kinds: vec![TicketKind::Problem],
        ..Default::default()
    };
    assert_eq!(
        q.nums(&store.list_tickets(&with_filter).await.unwrap().items),
        [4]
    );
    expect_invalid(
        store
            .list_tickets(&TicketQuery {
                text: Some(" -- ".into()),
                ..Default::default()
            })
            .await,
        "q",
    );

    // Edits are searchable at once, and old words are gone.
    let patch = TicketPatch {
        title: Some("Scanner on floor 3".into()),
        ..Default::default()
    };
    let printer = &q.tickets[2];
    // Resolved tickets can still be edited (only closed ones cannot).
    store
        .update_ticket(printer.id, patch, t(70), q.p.agent.id, None)
        .await
        .unwrap();
    assert_eq!(search("scanner").await, [3]);
    assert_eq!(search("printer").await, Vec::<usize>::new());
}

async fn lists_sort_by_creation_or_priority(db: &TestDb) {
    let store = &db.store;
    let q = queue(store).await;
    let sorted = async |sort: SortField, descending: bool| {
        q.nums(
            &store
                .list_tickets(&TicketQuery {
                    sort,
                    descending,
                    ..Default::default()
                })
                .await
                .unwrap()
                .items,
        )
    };
    assert_eq!(
        sorted(SortField::CreatedAt, true).await,
        [5, 4, 3, 2, 1],
        "newest first by default"
    );
    assert_eq!(sorted(SortField::CreatedAt, false).await, [1, 2, 3, 4, 5]);
    // P1, P2, P3 (3 and 5, ties by id), P5.
    assert_eq!(sorted(SortField::Priority, false).await, [1, 4, 3, 5, 2]);
    assert_eq!(sorted(SortField::Priority, true).await, [2, 5, 3, 4, 1]);
    assert_eq!(
        sorted(SortField::UpdatedAt, true).await[0],
        3,
        "the resolved ticket changed last"
    );
}

async fn cursor_pages_visit_every_ticket_exactly_once(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let levels = [Impact::High, Impact::Medium, Impact::Low];
    for i in 0..30i64 {
        let new = NewTicket {
            impact: levels[(i % 3) as usize],
            urgency: [Urgency::High, Urgency::Medium, Urgency::Low][((i / 3) % 3) as usize],
            ..new_ticket(
                if i % 4 == 0 {
                    TicketKind::ServiceRequest
                } else {
                    TicketKind::Incident
                },
                &format!("Ticket {i}"),
                &p.requester,
            )
        };
        // Three tickets share each creation time, so ties need the id.
        create(store, new, t(i / 3)).await;
    }
    for (sort, descending, kinds) in [
        (SortField::CreatedAt, true, vec![]),
        (SortField::CreatedAt, false, vec![]),
        (SortField::Priority, false, vec![]),
        (SortField::Priority, true, vec![]),
        (SortField::UpdatedAt, true, vec![]),
        (SortField::CreatedAt, true, vec![TicketKind::Incident]),
    ] {
        let base = TicketQuery {
            sort,
            descending,
            kinds: kinds.clone(),
            ..Default::default()
        };
        let whole = store
            .list_tickets(&TicketQuery {
                limit: 200,
                ..base.clone()
            })
            .await
            .unwrap();
        assert_eq!(whole.next_cursor, None);
        let expected_len = if kinds.is_empty() { 30 } else { 22 };
        assert_eq!(whole.items.len(), expected_len);

        let mut walked = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let page = store
                .list_tickets(&TicketQuery {
                    limit: 7,
                    cursor: cursor.clone(),
                    ..base.clone()
                })
                .await
                .unwrap();
            pages += 1;
            assert!(page.items.len() <= 7);
            walked.extend(ids(&page.items));
            match page.next_cursor {
                Some(next) => {
                    assert_eq!(page.items.len(), 7, "only full pages have a next page");
                    cursor = Some(next);
                }
                None => break,
            }
            assert!(pages <= 10, "pagination does not end");
        }
        assert_eq!(
            pages,
            expected_len.div_ceil(7),
            "{sort:?} desc={descending}"
        );
        assert_eq!(
            walked,
            ids(&whole.items),
            "{sort:?} desc={descending}: pages in the order of the whole list"
        );
        assert_eq!(
            walked.iter().collect::<HashSet<_>>().len(),
            expected_len,
            "no ticket twice"
        );
    }
    // The sort order really holds across page boundaries.
    let by_priority = store
        .list_tickets(&TicketQuery {
            sort: SortField::Priority,
            descending: false,
            limit: 200,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        by_priority
            .items
            .windows(2)
            .all(|w| (w[0].priority, w[0].id) < (w[1].priority, w[1].id))
    );
}

async fn a_foreign_cursor_is_refused(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    for i in 0..3 {
        create(store, incident(&format!("T{i}"), &p.requester), t(i)).await;
    }
    let first = store
        .list_tickets(&TicketQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    let cursor = first.next_cursor.expect("a second page");
    for bad in ["garbage!", "", "bm90LWEtY3Vyc29y"] {
        let query = TicketQuery {
            cursor: Some(bad.into()),
            ..Default::default()
        };
        expect_invalid(store.list_tickets(&query).await, "cursor");
    }
    let other_sort = TicketQuery {
        cursor: Some(cursor.clone()),
        sort: SortField::Priority,
        ..Default::default()
    };
    expect_invalid(store.list_tickets(&other_sort).await, "cursor");
    let other_direction = TicketQuery {
        cursor: Some(cursor.clone()),
        descending: false,
        ..Default::default()
    };
    expect_invalid(store.list_tickets(&other_direction).await, "cursor");
    let next = store
        .list_tickets(&TicketQuery {
            cursor: Some(cursor),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(next.items.len(), 1);
}

async fn queue_counts_per_person(db: &TestDb) {
    let store = &db.store;
    let q = queue(store).await;
    let agent = store.queue_counts(q.p.agent.id, true).await.unwrap();
    assert_eq!(agent.mine, 1, "ticket 1");
    assert_eq!(agent.my_teams, Some(3), "tickets 1, 4 and 5 of Network");
    assert_eq!(agent.unassigned, Some(2), "tickets 2 and 5; 3 is resolved");
    assert_eq!(agent.all_open, Some(4));
    let requester = store.queue_counts(q.p.requester.id, false).await.unwrap();
    assert_eq!(
        (requester.mine, requester.my_teams, requester.all_open),
        (1, None, None)
    );
    assert_eq!(store.queue_counts(q.dana.id, false).await.unwrap().mine, 1);
    let admin = store.queue_counts(q.p.admin.id, true).await.unwrap();
    assert_eq!((admin.mine, admin.my_teams), (0, Some(0)));
}

/// The trigger-kept counters equal a recount after creates, reassignment,
/// team moves, resolution, reopening and a merge.
async fn queue_counters_match_a_recount_after_every_kind_of_change(db: &TestDb) {
    let store = &db.store;
    let p = people(store).await;
    let network = team(store, "Network", false, &[&p.agent], &p.admin).await;
    let servers = team(store, "Servers", false, &[&p.agent2], &p.admin).await;
    // (team, assignee) pairs an assignment allows: assignees are members.
    let placements = [
        (Some(network.id), None),
        (Some(network.id), Some(p.agent.id)),
        (Some(servers.id), Some(p.agent2.id)),
        (None, None),
        (None, Some(p.agent.id)),
        (Some(servers.id), None),
    ];
    let mut ids = Vec::new();
    for i in 0..12 {
        let new = NewTicket {
            team_id: placements[i % 6].0,
            assignee_id: placements[i % 6].1,
            ..incident(&format!("Counted {i}"), [&p.requester, &p.agent][i % 2])
        };
        ids.push(create(store, new, t(i as i64)).await.id);
    }
    let patch = |team: Option<opsdesk_domain::TeamId>, assignee: Option<UserId>| TicketPatch {
        team_id: Some(team),
        assignee_id: Some(assignee),
        ..Default::default()
    };
    store
        .update_ticket(
            ids[0],
            patch(Some(servers.id), Some(p.agent2.id)),
            t(20),
            p.admin.id,
            None,
        )
        .await
        .unwrap();
    store
        .update_ticket(ids[1], patch(None, None), t(21), p.admin.id, None)
        .await
        .unwrap();
    step(store, ids[2], resolve(), t(22), &p.agent)
        .await
        .unwrap();
    step(store, ids[3], resolve(), t(23), &p.agent)
        .await
        .unwrap();
    step(
        store,
        ids[3],
        Transition::Reopen { reason: None },
        t(24),
        &p.agent,
    )
    .await
    .unwrap();
    store
        .merge_tickets(ids[4], ids[5], t(25), p.admin.id, None)
        .await
        .unwrap();

    let recount = |sql: &'static str, bind: i64| async move {
        let row = sqlx::query(sql)
            .bind(bind)
            .fetch_one(store.pool())
            .await
            .unwrap();
        row.try_get::<i64, _>("n").unwrap()
    };
    for user in [&p.agent, &p.agent2, &p.requester, &p.admin] {
        let counted = store.queue_counts(user.id, true).await.unwrap();
        assert_eq!(
            counted.mine,
            recount(
                "SELECT COUNT(*) AS n FROM tickets WHERE is_open = 1 AND assignee_id = $1",
                user.id.0
            )
            .await,
            "{}'s assigned",
            user.username
        );
        assert_eq!(
            counted.my_teams,
            Some(recount("SELECT COUNT(*) AS n FROM tickets WHERE is_open = 1 AND team_id IN (SELECT team_id FROM team_members WHERE user_id = $1)", user.id.0).await),
            "{}'s teams",
            user.username
        );
        assert_eq!(
            counted.unassigned,
            Some(recount("SELECT COUNT(*) AS n FROM tickets WHERE is_open = 1 AND assignee_id IS NULL AND $1 = $1", 0).await)
        );
        assert_eq!(
            counted.all_open,
            Some(
                recount(
                    "SELECT COUNT(*) AS n FROM tickets WHERE is_open = 1 AND $1 = $1",
                    0
                )
                .await
            )
        );
        assert_eq!(
            store.queue_counts(user.id, false).await.unwrap().mine,
            recount(
                "SELECT COUNT(*) AS n FROM tickets WHERE is_open = 1 AND requester_id = $1",
                user.id.0
            )
            .await,
            "{}'s requests",
            user.username
        );
    }
    assert_eq!(
        store.queue_counts(p.admin.id, true).await.unwrap().all_open,
        Some(10),
        "12 created, one resolved, one merged away"
    );
}

// ---------------------------------------------------------------------------
// Audit chain
// ---------------------------------------------------------------------------

/// A bit of everything, so the chain covers many event kinds and actors.
async fn history(store: &Store) -> i64 {
    let p = people(store).await;
    let network = team(store, "Network", true, &[&p.agent], &p.admin).await;
    let ticket = create(
        store,
        NewTicket {
            team_id: Some(network.id),
            ..incident("Switch down", &p.requester)
        },
        t(1),
    )
    .await;
    step(store, ticket.id, Transition::Acknowledge {}, t(2), &p.agent)
        .await
        .unwrap();
    store
        .add_comment(
            ticket.id,
            Visibility::Public,
            "On it",
            t(3),
            actor(&p.agent),
            None,
        )
        .await
        .unwrap();
    store
        .create_token(p.agent.id, "cli", None, Some(p.agent.id), t(4))
        .await
        .unwrap();
    store
        .record_failed_login(p.requester.id, 5, SignedDuration::from_mins(5), t(5))
        .await
        .unwrap();
    let patch = TicketPatch {
        tags: Some(vec!["core".into()]),
        ..Default::default()
    };
    store
        .update_ticket(ticket.id, patch, t(6), p.agent.id, None)
        .await
        .unwrap();
    step(store, ticket.id, resolve(), t(7), &p.agent)
        .await
        .unwrap();
    count(store, "events").await
}

async fn the_audit_chain_verifies_after_mixed_writes(db: &TestDb) {
    let store = &db.store;
    assert_eq!(
        store.verify_chain().await.unwrap(),
        ChainReport::Intact { events: 0 }
    );
    let n = history(store).await;
    assert!(n >= 10, "{n} events");
    assert_eq!(
        store.verify_chain().await.unwrap(),
        ChainReport::Intact { events: n as u64 }
    );
    let events = all_events(store).await;
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=n).collect::<Vec<_>>(),
        "sequence numbers have no gaps"
    );
    assert_eq!(store.events_after(n - 2, 10).await.unwrap().len(), 2);
}

async fn an_edited_event_is_named_by_the_audit(db: &TestDb) {
    let store = &db.store;
    let n = history(store).await;
    let victim = n / 2;
    sqlx::query("UPDATE events SET data = $1 WHERE seq = $2")
        .bind("{\"tampered\":true}")
        .bind(victim)
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(
        store.verify_chain().await.unwrap(),
        ChainReport::Broken(ChainBreak::Tampered { seq: victim })
    );
}

async fn a_deleted_event_is_a_gap_in_the_audit(db: &TestDb) {
    let store = &db.store;
    let n = history(store).await;
    let victim = n / 2;
    sqlx::query("DELETE FROM events WHERE seq = $1")
        .bind(victim)
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(
        store.verify_chain().await.unwrap(),
        ChainReport::Broken(ChainBreak::SequenceGap {
            seq: victim + 1,
            expected: victim
        })
    );
}

async fn deleting_the_newest_event_is_truncation(db: &TestDb) {
    let store = &db.store;
    let n = history(store).await;
    sqlx::query("DELETE FROM events WHERE seq = $1")
        .bind(n)
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(
        store.verify_chain().await.unwrap(),
        ChainReport::Broken(ChainBreak::Truncated {
            last_seq: n - 1,
            head_seq: n
        })
    );
}

// ---------------------------------------------------------------------------
// Concurrency, connection, SQL portability
// ---------------------------------------------------------------------------

async fn a_write_failing_inside_a_batch_leaves_the_others_alone(db: &TestDb) {
    // Writes are group-committed: concurrent ones share one transaction,
    // each in its own savepoint. Duplicate usernames fail *inside* their
    // savepoint (a unique violation, which on PostgreSQL aborts the whole
    // transaction until rolled back to the savepoint); the rest must commit.
    let store = &db.store;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        // Every even writer reuses the name of the writer before it.
        let name = format!("batch.user{}", i - i % 2);
        tasks.push(tokio::spawn(async move {
            let new = NewUser {
                username: name,
                display_name: format!("Batch user {i}"),
                email: None,
                role: Role::Agent,
                organization: None,
                password_hash: None,
            };
            store.create_user(new, None, t(i)).await
        }));
    }
    let (mut created, mut refused) = (0, 0);
    for task in tasks {
        match task.await.expect("task ran") {
            Ok(_) => created += 1,
            Err(StoreError::Conflict(msg)) => {
                assert!(msg.contains("already exists"), "{msg}");
                refused += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created, refused), (20, 20));
    assert_eq!(count(store, "users").await, 20);
    let expected = count(store, "events").await as u64;
    assert_eq!(
        expected, 20,
        "one user.created event per user, none for refused writes"
    );
    assert_eq!(
        store.verify_chain().await.unwrap(),
        ChainReport::Intact { events: expected }
    );
}

/// Two nodes (two stores on one database) creating at once: each batch
/// must see the other node's last ticket id and number once it holds the
/// lock.
async fn concurrent_creates_get_unique_contiguous_numbers(db: &TestDb) {
    let store = &db.store;
    let other_node = Store::connect(&db.url).await.unwrap();
    let p = people(store).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = if i % 2 == 0 {
            store.clone()
        } else {
            other_node.clone()
        };
        let new = incident(&format!("Alert storm {i}"), &p.requester);
        let who = p.requester.id;
        tasks.push(tokio::spawn(async move {
            store.create_ticket(new, t(i), who, None).await
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        let ticket = task.await.expect("task ran").expect("create succeeded");
        seqs.push(TicketNumber::parse(&ticket.number).unwrap().seq);
    }
    seqs.sort();
    assert_eq!(seqs, (1..=50).collect::<Vec<i64>>());
    assert_eq!(count(store, "tickets").await, 50);
    let expected = count(store, "events").await as u64;
    assert_eq!(
        store.verify_chain().await.unwrap(),
        ChainReport::Intact { events: expected }
    );
}

async fn reopening_the_database_keeps_data_and_migrates_nothing(db: &TestDb) {
    let p = people(&db.store).await;
    let ticket = create(&db.store, incident("Persisted", &p.requester), t(0)).await;
    let again = Store::open(&db.url).await.unwrap();
    assert_eq!(again.backend(), db.store.backend());
    assert_eq!(Backend::from_url(&db.url).unwrap(), db.store.backend());
    assert!(again.ping().await);
    assert_eq!(again.get_ticket(ticket.id).await.unwrap(), ticket);
    let next = create(&again, incident("Second", &p.requester), t(1)).await;
    assert_eq!(next.number, "INC-000002");
    again.close().await;
    assert!(matches!(
        db.store.verify_chain().await.unwrap(),
        ChainReport::Intact { .. }
    ));
}

/// sqlx's `Any` driver passes `$n` to SQLite as named parameters; they must
/// bind by number even when repeated or out of order, as on PostgreSQL.
async fn placeholders_may_repeat_and_come_out_of_order(db: &TestDb) {
    let store = &db.store;
    let row = sqlx::query("SELECT $2 - $1 AS diff, $2 * $2 AS square, $1 AS first")
        .bind(3i64)
        .bind(10i64)
        .fetch_one(store.pool())
        .await
        .unwrap();
    let got: (i64, i64, i64) = (
        row.try_get("diff").unwrap(),
        row.try_get("square").unwrap(),
        row.try_get("first").unwrap(),
    );
    assert_eq!(got, (7, 100, 3));
    let row = sqlx::query("SELECT $2 || $1 || $2 AS s")
        .bind("b")
        .bind("a")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(row.try_get::<String, _>("s").unwrap(), "aba");
}

async fn unknown_url_schemes_are_refused_naming_the_accepted_ones(_db: &TestDb) {
    for url in ["mysql://x", "mariadb://root@localhost/db", "opsdesk.db"] {
        match Store::connect(url).await {
            Err(StoreError::Config(message)) => {
                assert!(message.contains("sqlite://"), "{message}");
                assert!(message.contains("postgres://"), "{message}");
            }
            Err(other) => panic!("{url}: expected a configuration error, got {other:?}"),
            Ok(_) => panic!("{url}: connected to an unsupported URL"),
        }
    }
    let Err(StoreError::Config(message)) = Store::connect("mysql://x").await else {
        unreachable!()
    };
    assert!(message.contains("'mysql'"), "{message}");
}

// ---------------------------------------------------------------------------
// Every test above, on both backends
// ---------------------------------------------------------------------------

macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use opsdesk_store::testing::TestDb;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = TestDb::sqlite().await;
                    assert_eq!(db.store.backend(), opsdesk_store::Backend::Sqlite);
                    super::$name(&db).await;
                    db.cleanup().await;
                }
            )*
        }
        mod postgres {
            use opsdesk_store::testing::TestDb;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = TestDb::postgres().await else { return };
                    assert_eq!(db.store.backend(), opsdesk_store::Backend::Postgres);
                    super::$name(&db).await;
                    db.cleanup().await;
                }
            )*
        }
    };
}

contract_tests!(
    a_batch_stored_before_a_restart_is_not_stored_again,
    a_ticket_written_after_the_pass_began_is_still_projected,
    sla_clocks_announce_once_with_their_true_instants,
    racing_nodes_announce_each_clock_once,
    passes_over_many_chunks_announce_each_clock_once,
    queues_sort_and_filter_by_time_to_breach,
    a_calendar_change_moves_every_open_clock,
    sla_compliance_counts_met_breached_and_in_progress,
    calendars_and_sla_policies_are_created_listed_and_updated_once_per_name,
    bad_calendars_and_sla_policies_are_refused_naming_the_field,
    a_tickets_sla_status_is_replayed_from_its_events,
    search_pages_walk_every_match_once_newest_first,
    a_write_failing_inside_a_batch_leaves_the_others_alone,
    users_are_created_once_per_username,
    invalid_usernames_are_refused_naming_the_field,
    role_changes_and_deactivation_cut_off_access,
    repeated_failed_logins_lock_the_account,
    token_secret_authenticates_until_revoked,
    revocation_on_another_node_takes_effect_within_the_credential_ttl,
    expired_tokens_do_not_authenticate,
    only_digests_of_secrets_are_stored,
    sessions_expire_and_end_on_sign_out,
    teams_and_services_have_unique_names,
    only_agents_can_be_team_members,
    ticket_numbers_count_per_kind,
    priority_follows_the_matrix_unless_overridden_with_a_reason,
    a_service_routes_tickets_to_its_owner_team,
    round_robin_rotates_through_active_members,
    assignees_must_be_agents_of_the_team,
    oversized_input_is_refused_and_nothing_is_written,
    secrets_are_redacted_before_anything_is_stored,
    an_incident_lives_from_new_to_closed,
    illegal_transitions_name_the_allowed_ones_and_write_nothing,
    reopening_after_the_window_is_refused,
    expired_resolutions_close_when_their_window_ended,
    a_requester_reply_resumes_a_ticket_waiting_on_them,
    a_change_closes_with_an_outcome,
    internal_notes_stay_internal,
    first_response_is_the_first_public_agent_reply,
    links_are_unique_and_never_to_self,
    merging_moves_the_conversation_to_the_survivor,
    merging_needs_tickets_of_one_kind,
    merging_linked_tickets_still_records_the_duplicate,
    a_retried_create_returns_the_first_ticket,
    a_reused_idempotency_key_with_another_body_conflicts,
    a_retried_transition_returns_the_first_result,
    stale_versions_are_refused,
    deactivated_users_cannot_raise_tickets,
    backups_are_sqlite_copies_and_postgres_points_to_pg_dump,
    list_filters_select_exactly_the_matching_tickets,
    full_text_search_finds_words_of_title_and_description,
    lists_sort_by_creation_or_priority,
    cursor_pages_visit_every_ticket_exactly_once,
    a_foreign_cursor_is_refused,
    queue_counts_per_person,
    queue_counters_match_a_recount_after_every_kind_of_change,
    the_audit_chain_verifies_after_mixed_writes,
    an_edited_event_is_named_by_the_audit,
    a_deleted_event_is_a_gap_in_the_audit,
    deleting_the_newest_event_is_truncation,
    concurrent_creates_get_unique_contiguous_numbers,
    reopening_the_database_keeps_data_and_migrates_nothing,
    placeholders_may_repeat_and_come_out_of_order,
    unknown_url_schemes_are_refused_naming_the_accepted_ones,
    integration_keys_are_kept_as_digests_and_stop_working_when_disabled,
    alert_batches_dedup_group_and_auto_resolve_incidents,
    suppressed_alerts_are_stored_and_page_nobody,
    flapping_alerts_stop_opening_incidents,
    a_failed_alert_batch_stores_nothing,
    routes_choose_service_and_record_only,
    concurrent_batches_of_one_alert_lose_no_update,
    plain_repeats_skip_the_read_only_while_they_are_plain,
    new_alerts_joining_an_open_incident_are_decided_before_the_lock,
    an_alert_another_node_stored_is_not_stored_again_by_a_new_batch,
    alerts_are_found_whether_their_keys_are_recent_settling_or_settled,
    moving_alert_keys_while_alerts_arrive_loses_none,
    racing_first_sends_of_one_alert_store_it_once,
    people_acknowledge_firing_alerts,
    missed_heartbeats_raise_an_alert_the_next_ping_resolves,
    two_nodes_checking_one_missed_heartbeat_raise_one_alert,
);

// ---------------------------------------------------------------------------
// Business calendars, SLA policies and a ticket's SLA status
// ---------------------------------------------------------------------------

mod sla_fixtures {
    use super::*;
    use opsdesk_domain::calendar::{CalendarConfig, WeeklyHours};
    use opsdesk_domain::sla::{PolicyMatcher, SlaMetric, SlaTarget};
    use opsdesk_store::sla::{Calendar, CalendarInput, SlaPolicyInput};

    pub fn always(name: &str) -> CalendarInput {
        CalendarInput {
            name: name.to_string(),
            config: CalendarConfig {
                time_zone: "UTC".into(),
                hours: WeeklyHours::all_week(),
                holidays: vec![],
            },
        }
    }

    pub fn incidents_within(name: &str, hours: i64, calendar: &Calendar) -> SlaPolicyInput {
        SlaPolicyInput {
            name: name.to_string(),
            order: 10,
            matcher: PolicyMatcher {
                kinds: vec![TicketKind::Incident],
                ..Default::default()
            },
            targets: vec![SlaTarget::new(
                SlaMetric::Resolution,
                SignedDuration::from_hours(hours),
                calendar.id,
            )],
        }
    }

    /// A 24x7 calendar and a policy holding incidents to `hours` to resolve.
    pub async fn incidents_sla(store: &Store, p: &People, hours: i64) -> Calendar {
        let cal = store
            .create_calendar(always("24x7"), p.admin.id, t(0))
            .await
            .unwrap();
        store
            .create_sla_policy(incidents_within("Incidents", hours, &cal), p.admin.id, t(0))
            .await
            .unwrap();
        cal
    }

    pub fn field_of(e: StoreError) -> String {
        match e {
            StoreError::Invalid(f) => f.field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }
}

async fn calendars_and_sla_policies_are_created_listed_and_updated_once_per_name(db: &TestDb) {
    use sla_fixtures::*;
    let store = &db.store;
    let p = people(store).await;
    let cal = store
        .create_calendar(always("24x7"), p.admin.id, t(0))
        .await
        .unwrap();
    assert_eq!(cal.time_zone, "UTC");
    let dup = store
        .create_calendar(always("24x7"), p.admin.id, t(1))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let renamed = store
        .update_calendar(cal.id, always("Around the clock"), p.admin.id, t(2))
        .await
        .unwrap();
    assert_eq!(renamed.name, "Around the clock");
    assert_eq!(renamed.updated_at, t(2));
    assert_eq!(store.list_calendars().await.unwrap(), vec![renamed.clone()]);
    assert_eq!(store.get_calendar(cal.id).await.unwrap(), renamed);

    let policy = store
        .create_sla_policy(incidents_within("Incidents", 4, &cal), p.admin.id, t(3))
        .await
        .unwrap();
    assert_eq!(policy.targets[0].target, SignedDuration::from_hours(4));
    let dup = store
        .create_sla_policy(incidents_within("Incidents", 8, &cal), p.admin.id, t(4))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let longer = store
        .update_sla_policy(
            policy.id,
            incidents_within("Incidents", 8, &cal),
            p.admin.id,
            t(5),
        )
        .await
        .unwrap();
    assert_eq!(longer.targets[0].target, SignedDuration::from_hours(8));
    assert_eq!(
        store.list_sla_policies().await.unwrap(),
        vec![longer.clone()]
    );
    assert_eq!(store.get_sla_policy(policy.id).await.unwrap(), longer);

    let kinds: Vec<String> = store
        .events_after(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.entity == "calendar" || e.entity == "sla_policy")
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "calendar.created",
            "calendar.updated",
            "sla_policy.created",
            "sla_policy.updated"
        ]
    );
}

async fn bad_calendars_and_sla_policies_are_refused_naming_the_field(db: &TestDb) {
    use opsdesk_domain::calendar::WeeklyHours;
    use sla_fixtures::*;
    let store = &db.store;
    let p = people(store).await;
    let mut unknown_zone = always("Mars");
    unknown_zone.config.time_zone = "Mars/Olympus_Mons".into();
    let e = store
        .create_calendar(unknown_zone, p.admin.id, t(0))
        .await
        .unwrap_err();
    assert_eq!(field_of(e), "time_zone");
    let mut inverted = always("Inverted");
    inverted.config.hours = WeeklyHours::office(
        jiff::civil::time(17, 0, 0, 0),
        jiff::civil::time(9, 0, 0, 0),
    );
    let e = store
        .create_calendar(inverted, p.admin.id, t(0))
        .await
        .unwrap_err();
    assert!(field_of(e).starts_with("hours"));

    let cal = store
        .create_calendar(always("24x7"), p.admin.id, t(0))
        .await
        .unwrap();
    let mut zero = incidents_within("Zero", 0, &cal);
    let e = store
        .create_sla_policy(zero.clone(), p.admin.id, t(1))
        .await
        .unwrap_err();
    assert_eq!(field_of(e), "targets[0].target");
    zero.targets[0].target = SignedDuration::from_hours(1);
    zero.targets[0].warn_at_percent = 100;
    let e = store
        .create_sla_policy(zero.clone(), p.admin.id, t(1))
        .await
        .unwrap_err();
    assert_eq!(field_of(e), "targets[0].warn_at_percent");
    zero.targets[0].warn_at_percent = 75;
    zero.targets[0].calendar_id = 9999;
    let e = store
        .create_sla_policy(zero, p.admin.id, t(1))
        .await
        .unwrap_err();
    assert_eq!(field_of(e), "targets[0].calendar_id");
    assert_eq!(count(store, "sla_policies").await, 0);
    assert_eq!(count(store, "calendars").await, 1);
}

async fn a_tickets_sla_status_is_replayed_from_its_events(db: &TestDb) {
    use opsdesk_domain::sla::{ClockState, SlaMetric};
    use sla_fixtures::*;
    let store = &db.store;
    let p = people(store).await;
    incidents_sla(store, &p, 4).await;

    // Resolved after 3 h, of which 1 h on hold: met with 2 h elapsed.
    let met = create(store, incident("Printer jam", &p.requester), t(0)).await;
    step(store, met.id, Transition::Acknowledge {}, t(10), &p.agent)
        .await
        .unwrap();
    let hold = Transition::Hold {
        reason: OnHoldReason::AwaitingVendor,
    };
    step(store, met.id, hold, t(60), &p.agent).await.unwrap();
    step(store, met.id, Transition::Resume {}, t(120), &p.agent)
        .await
        .unwrap();
    step(store, met.id, resolve(), t(180), &p.agent)
        .await
        .unwrap();
    let status = store.ticket_sla(met.id, t(600)).await.unwrap();
    assert_eq!(status.len(), 1);
    let s = &status[0];
    assert_eq!(
        (s.metric, s.state),
        (SlaMetric::Resolution, ClockState::Met)
    );
    assert_eq!(s.policy_name, "Incidents");
    assert_eq!(s.elapsed_seconds, 2 * 3600);
    assert_eq!(s.paused_seconds, 3600);
    assert_eq!(s.stopped_at, Some(t(180)));
    assert!(!s.breached);

    // Never resolved: breached exactly 4 h after it was opened.
    let late = create(store, incident("Server down", &p.requester), t(0)).await;
    let status = store.ticket_sla(late.id, t(600)).await.unwrap();
    assert_eq!(status[0].state, ClockState::Breached);
    assert_eq!(status[0].breached_at, Some(t(240)));
    assert_eq!(status[0].remaining_seconds, -6 * 3600);

    // No policy covers service requests.
    let request = create(
        store,
        new_ticket(TicketKind::ServiceRequest, "New laptop", &p.requester),
        t(0),
    )
    .await;
    assert!(
        store
            .ticket_sla(request.id, t(600))
            .await
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------------------
// The SLA projection, its timers and the compliance report
// ---------------------------------------------------------------------------

/// The `sla.*` events in the log: (ticket, kind, at).
async fn announcements(store: &Store) -> Vec<(String, String, Timestamp)> {
    all_events(store)
        .await
        .into_iter()
        .filter(|e| e.kind.starts_with("sla."))
        .map(|e| (e.entity_id, e.kind, e.at))
        .collect()
}

async fn sla_clocks_announce_once_with_their_true_instants(db: &TestDb) {
    use opsdesk_domain::sla::ClockState;
    use sla_fixtures::*;
    let store = &db.store;
    let p = people(store).await;
    let cal = store
        .create_calendar(always("24x7"), p.admin.id, t(0))
        .await
        .unwrap();
    // 4 h to resolve, warning at 75 % = 3 h.
    store
        .create_sla_policy(incidents_within("Incidents", 4, &cal), p.admin.id, t(0))
        .await
        .unwrap();
    let open = create(store, incident("Server down", &p.requester), t(0)).await;
    let projected = store.project_sla("node-a", t(1)).await.unwrap();
    assert!(projected.tickets >= 1);
    assert_eq!(projected.announced, 0);
    let sla = store.get_ticket(open.id).await.unwrap().sla.unwrap();
    assert_eq!(
        (sla.status, sla.due_at),
        (ClockState::Running, Some(t(240)))
    );

    // Nothing is due before the warning.
    assert_eq!(
        store
            .fire_due_sla("node-a", t(179), 100)
            .await
            .unwrap()
            .announced,
        0
    );
    assert!(announcements(store).await.is_empty());

    // The server was down through warning and breach: both are announced
    // on the first pass after, stamped with when they really happened.
    let fired = store.fire_due_sla("node-a", t(600), 100).await.unwrap();
    assert_eq!(fired.announced, 2);
    let id = open.id.0.to_string();
    assert_eq!(
        announcements(store).await,
        vec![
            (id.clone(), "sla.warning".to_string(), t(180)),
            (id.clone(), "sla.breached".to_string(), t(240)),
        ]
    );
    let sla = store.get_ticket(open.id).await.unwrap().sla.unwrap();
    assert_eq!(
        (sla.status, sla.due_at),
        (ClockState::Breached, Some(t(240)))
    );

    // Later passes, on this node or another, and the projector re-reading
    // the log, announce nothing again.
    assert_eq!(
        store
            .fire_due_sla("node-a", t(601), 100)
            .await
            .unwrap()
            .announced,
        0
    );
    assert_eq!(
        store
            .fire_due_sla("node-b", t(900), 100)
            .await
            .unwrap()
            .announced,
        0
    );
    assert_eq!(
        store.project_sla("node-b", t(901)).await.unwrap().announced,
        0
    );
    assert_eq!(store.recompute_open_sla(t(902)).await.unwrap().announced, 0);
    assert_eq!(announcements(store).await.len(), 2);

    // A ticket resolved after its breach while nobody was watching still
    // gets its breach announced, at the true instant.
    let late = create(store, incident("Mail queue stuck", &p.requester), t(1000)).await;
    step(store, late.id, resolve(), t(1300), &p.agent)
        .await
        .unwrap();
    let pass = store.project_sla("node-a", t(1400)).await.unwrap();
    assert_eq!(pass.announced, 2);
    let late_id = late.id.0.to_string();
    let mine: Vec<_> = announcements(store)
        .await
        .into_iter()
        .filter(|(t, _, _)| *t == late_id)
        .map(|(_, kind, at)| (kind, at))
        .collect();
    assert_eq!(
        mine,
        vec![
            ("sla.warning".to_string(), t(1180)),
            ("sla.breached".to_string(), t(1240)),
        ]
    );
    // Met in time: resolved within the target, nothing to announce.
    let quick = create(store, incident("Typo on portal", &p.requester), t(2000)).await;
    step(store, quick.id, resolve(), t(2030), &p.agent)
        .await
        .unwrap();
    assert_eq!(
        store
            .project_sla("node-a", t(3000))
            .await
            .unwrap()
            .announced,
        0
    );
    let sla = store.get_ticket(quick.id).await.unwrap().sla.unwrap();
    assert_eq!((sla.status, sla.due_at), (ClockState::Met, None));
    assert!(matches!(
        store.verify_chain().await.unwrap(),
        ChainReport::Intact { .. }
    ));
}

async fn racing_nodes_announce_each_clock_once(db: &TestDb) {
    use sla_fixtures::*;
    let store = &db.store;
    let p = people(store).await;
    incidents_sla(store, &p, 1).await;
    for i in 0..20 {
        create(store, incident(&format!("Outage {i}"), &p.requester), t(i)).await;
    }
    store.project_sla("node-a", t(21)).await.unwrap();
    // Three nodes wake at once, long after every clock breached.
    let (a, b, c) = tokio::join!(
        store.fire_due_sla("node-a", t(500), 7),
        store.fire_due_sla("node-b", t(500), 7),
        store.fire_due_sla("node-c", t(500), 7),
    );
    let mut total = a.unwrap().announced + b.unwrap().announced + c.unwrap().announced;
    // Whatever they left (each took at most 7 tickets) the next pass takes.
    for node in ["node-a", "node-b", "node-c"] {
        total += store
            .fire_due_sla(node, t(501), 100)
            .await
            .unwrap()
            .announced;
    }
    assert_eq!(total, 40, "one warning and one breach per ticket");
    let all = announcements(store).await;
    assert_eq!(all.len(), 40);
    let unique: HashSet<_> = all.iter().map(|(t, k, _)| (t.clone(), k.clone())).collect();
    assert_eq!(unique.len(), 40);
}

async fn passes_over_many_chunks_announce_each_clock_once(db: &TestDb) {
    use sla_fixtures::*;
    let store = &db.store;
    let p = people(store).await;
    let cal = incidents_sla(store, &p, 1).await;
    // More tickets than one write transaction recomputes: each pass reads
    // its next chunk while it writes the current one, and must notice what
    // the others announced in between.
    let tickets = 1300;
    let batch: Vec<NewTicket> = (0..tickets)
        .map(|i| incident(&format!("Outage {i}"), &p.requester))
        .collect();
    store
        .import_tickets(&batch, t(1), p.admin.id)
        .await
        .unwrap();
    store.project_sla("node-a", t(2)).await.unwrap();
    assert!(announcements(store).await.is_empty());
    // Long after every clock breached, a calendar change has the projector
    // recompute every open ticket while two timer workers fire the same
    // clocks.
    store
        .update_calendar(cal.id, always("Round the clock"), p.admin.id, t(499))
        .await
        .unwrap();
    let (a, b, c) = tokio::join!(
        store.project_sla("node-a", t(500)),
        store.fire_due_sla("node-b", t(500), 700),
        store.fire_due_sla("node-c", t(500), 700),
    );
    let mut total = a.unwrap().announced + b.unwrap().announced + c.unwrap().announced;
    for node in ["node-a", "node-b", "node-c"] {
        total += store
            .fire_due_sla(node, t(501), 2000)
            .await
            .unwrap()
            .announced;
    }
    total += store.project_sla("node-a", t(502)).await.unwrap().announced;
    assert_eq!(
        total,
        2 * tickets as u64,
        "one warning and one breach per ticket"
    );
    let all = announcements(store).await;
    let unique: HashSet<_> = all.iter().map(|(t, k, _)| (t.clone(), k.clone())).collect();
    assert_eq!((all.len(), unique.len()), (2 * tickets, 2 * tickets));
}

async fn queues_sort_and_filter_by_time_to_breach(db: &TestDb) {
    use opsdesk_domain::sla::ClockState;
    use sla_fixtures::*;
    let store = &db.store;
    let p = people(store).await;
    incidents_sla(store, &p, 4).await;
    let first = create(store, incident("Oldest", &p.requester), t(0)).await;
    let second = create(store, incident("Middle", &p.requester), t(30)).await;
    let paused = create(store, incident("Waiting on vendor", &p.requester), t(40)).await;
    let third = create(store, incident("Newest", &p.requester), t(60)).await;
    let uncovered = create(
        store,
        new_ticket(TicketKind::ServiceRequest, "No SLA here", &p.requester),
        t(0),
    )
    .await;
    step(
        store,
        paused.id,
        Transition::Acknowledge {},
        t(41),
        &p.agent,
    )
    .await
    .unwrap();
    let hold = Transition::Hold {
        reason: OnHoldReason::AwaitingVendor,
    };
    step(store, paused.id, hold, t(42), &p.agent).await.unwrap();
    store.project_sla("node-a", t(100)).await.unwrap();

    let by_due = TicketQuery {
        sort: SortField::SlaDue,
        descending: false,
        ..Default::default()
    };
    let page = store.list_tickets(&by_due).await.unwrap();
    assert_eq!(ids(&page.items), vec![first.id, second.id, third.id]);
    let paused_now = store.get_ticket(paused.id).await.unwrap().sla.unwrap();
    assert_eq!(
        (paused_now.status, paused_now.due_at),
        (ClockState::Paused, None)
    );
    assert_eq!(store.get_ticket(uncovered.id).await.unwrap().sla, None);

    // Pages of one walk the same order.
    let mut walked = Vec::new();
    let mut cursor = None;
    loop {
        let q = TicketQuery {
            limit: 1,
            cursor: cursor.clone(),
            ..by_due.clone()
        };
        let page = store.list_tickets(&q).await.unwrap();
        walked.extend(ids(&page.items));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(walked, vec![first.id, second.id, third.id]);

    // "Breaching in the next 2.5 hours", seen at t(100): due before t(250).
    let soon = TicketQuery {
        sla_due_before: Some(t(250)),
        ..Default::default()
    };
    let page = store.list_tickets(&soon).await.unwrap();
    assert_eq!(ids(&page.items), vec![first.id]);
}

async fn a_calendar_change_moves_every_open_clock(db: &TestDb) {
    use jiff::civil::time;
    use opsdesk_domain::calendar::{CalendarConfig, WeeklyHours};
    use opsdesk_store::sla::CalendarInput;
    use sla_fixtures::*;
    let store = &db.store;
    let p = people(store).await;
    let cal = store
        .create_calendar(always("Support hours"), p.admin.id, t(0))
        .await
        .unwrap();
    store
        .create_sla_policy(incidents_within("Incidents", 4, &cal), p.admin.id, t(0))
        .await
        .unwrap();
    // Monday 09:00 UTC + 4 h around the clock: due 13:00.
    let ticket = create(store, incident("Slow wiki", &p.requester), t(0)).await;
    store.project_sla("node-a", t(1)).await.unwrap();
    assert_eq!(
        store
            .get_ticket(ticket.id)
            .await
            .unwrap()
            .sla
            .unwrap()
            .due_at,
        Some(t(240))
    );

    // Support now works 09:00-11:00 only: 2 h on Monday, 2 h on Tuesday.
    let short_days = CalendarInput {
        name: "Support hours".into(),
        config: CalendarConfig {
            time_zone: "UTC".into(),
            hours: WeeklyHours::office(time(9, 0, 0, 0), time(11, 0, 0, 0)),
            holidays: vec![],
        },
    };
    store
        .update_calendar(cal.id, short_days, p.admin.id, t(2))
        .await
        .unwrap();
    let pass = store.project_sla("node-a", t(3)).await.unwrap();
    assert!(pass.tickets >= 1);
    assert_eq!(
        store
            .get_ticket(ticket.id)
            .await
            .unwrap()
            .sla
            .unwrap()
            .due_at,
        Some(t(24 * 60 + 120)),
        "Tuesday 11:00"
    );
}

async fn sla_compliance_counts_met_breached_and_in_progress(db: &TestDb) {
    use opsdesk_store::sla_report::ComplianceGrouping;
    use sla_fixtures::*;
    let store = &db.store;
    let p = people(store).await;
    incidents_sla(store, &p, 4).await;
    let high = |title: &str| NewTicket {
        impact: Impact::High,
        urgency: Urgency::High,
        ..incident(title, &p.requester)
    };
    let met = create(store, high("Met"), t(0)).await;
    step(store, met.id, resolve(), t(60), &p.agent)
        .await
        .unwrap();
    create(store, high("Breached"), t(0)).await;
    create(store, incident("Running", &p.requester), t(600)).await;
    // Opened outside the period: not counted.
    create(store, incident("Too late", &p.requester), t(5000)).await;

    let report = store
        .sla_compliance(t(0), t(1000), ComplianceGrouping::Priority, t(700))
        .await
        .unwrap();
    assert_eq!(report.tickets, 3);
    let rows: Vec<_> = report
        .rows
        .iter()
        .map(|r| {
            (
                r.key.as_str(),
                r.met,
                r.breached,
                r.in_progress,
                r.compliance_percent,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![("P1", 1, 1, 0, Some(50.0)), ("P3", 0, 0, 1, None)]
    );
    let by_policy = store
        .sla_compliance(t(0), t(1000), ComplianceGrouping::Policy, t(700))
        .await
        .unwrap();
    assert_eq!(by_policy.rows.len(), 1);
    assert_eq!(by_policy.rows[0].label, "Incidents");
    assert_eq!(
        (
            by_policy.rows[0].met,
            by_policy.rows[0].breached,
            by_policy.rows[0].in_progress
        ),
        (1, 1, 1)
    );
    expect_invalid(
        store
            .sla_compliance(t(10), t(10), ComplianceGrouping::Team, t(700))
            .await,
        "to",
    );
}

// ---------------------------------------------------------------------------
// Alert intake: integrations, dedup, grouping into incidents, suppression
// ---------------------------------------------------------------------------

mod alert_fixtures {
    use super::*;
    use opsdesk_domain::alerts::{AlertSignal, parse_generic};
    use opsdesk_store::alerts::{IntakeBatch, IntakeResult, Integration, IntegrationInput};

    pub fn signals(body: serde_json::Value) -> Vec<AlertSignal> {
        parse_generic(body.to_string().as_bytes()).expect("a valid generic body")
    }

    pub fn firing(alertname: &str, instance: &str) -> serde_json::Value {
        serde_json::json!({"labels": {"alertname": alertname, "instance": instance, "severity": "critical"},
                           "annotations": {"summary": format!("{alertname} on {instance}")}})
    }

    pub fn resolved(alertname: &str, instance: &str) -> serde_json::Value {
        serde_json::json!({"status": "resolved",
                           "labels": {"alertname": alertname, "instance": instance, "severity": "critical"}})
    }

    pub async fn ingest(
        store: &Store,
        integration: &Integration,
        alerts: Vec<serde_json::Value>,
        now: Timestamp,
    ) -> IntakeResult {
        let batch = IntakeBatch {
            signals: signals(serde_json::json!({ "alerts": alerts })),
            truncated: 0,
        };
        store.ingest_alerts(integration, batch, now).await.unwrap()
    }

    /// `sends` batches of the one alert `DiskFull` on `db-1` at once, each
    /// with its own annotation (so every send writes the whole row), spread
    /// over `nodes`; how many of them created the alert.
    pub async fn race_sends_of_one_alert(
        nodes: &[Store],
        integration: &Integration,
        sends: usize,
    ) -> usize {
        let mut tasks = Vec::new();
        for i in 0..sends {
            let node = nodes[i % nodes.len()].clone();
            let integration = integration.clone();
            tasks.push(tokio::spawn(async move {
                let mut alert = firing("DiskFull", "db-1");
                alert["annotations"]["summary"] = serde_json::json!(format!("send {i}"));
                ingest(&node, &integration, vec![alert], t(1)).await
            }));
        }
        let mut new = 0;
        for task in tasks {
            new += task.await.expect("task ran").new;
        }
        new
    }

    /// The first column of the first row of `sql`, as an integer.
    pub async fn scalar(store: &Store, sql: &'static str) -> i64 {
        sqlx::query(sql)
            .fetch_one(store.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    }

    /// A service "Checkout" and an integration on it by the admin.
    pub async fn setup(
        store: &Store,
        auto_resolve: bool,
    ) -> (People, Service, Integration, String) {
        let p = people(store).await;
        let svc = service(store, "Checkout", None, &p.admin).await;
        let mut input = IntegrationInput::new("prometheus", svc.id);
        input.auto_resolve = auto_resolve;
        let (integration, key) = store
            .create_integration(input, p.admin.id, t(0))
            .await
            .unwrap();
        (p, svc, integration, key)
    }
}

/// Many batches of one alert at once: each must see the others' writes.
/// Changed annotations make every send a full-row write (an absolute
/// count), so a batch that read a stale record would lose counts.
async fn concurrent_batches_of_one_alert_lose_no_update(db: &TestDb) {
    use alert_fixtures::*;
    let store = &db.store;
    let (_p, _svc, integration, _) = setup(store, false).await;
    let sends = 24;
    let new = race_sends_of_one_alert(std::slice::from_ref(store), &integration, sends).await;
    assert_eq!(new, 1, "one send created the alert, the others repeated it");
    assert_eq!(
        scalar(store, "SELECT count FROM alerts").await,
        sends as i64
    );
}

/// `(fingerprint order) -> (status, count, has a digest)` of every alert.
async fn alert_rows(store: &Store) -> Vec<(String, i64, bool)> {
    sqlx::query("SELECT status, count, content_digest FROM alerts ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get::<String, _>("status").unwrap(),
                r.try_get::<i64, _>("count").unwrap(),
                r.try_get::<Option<i64>, _>("content_digest")
                    .unwrap()
                    .is_some(),
            )
        })
        .collect()
}

/// Repeats that change nothing but count and last seen are written by one
/// conditional update, without reading the alerts; anything else, or an
/// alert another node changed meanwhile, takes the full pipeline with the
/// same result it always had.
async fn plain_repeats_skip_the_read_only_while_they_are_plain(db: &TestDb) {
    use alert_fixtures::*;
    let store = &db.store;
    let (_p, _svc, integration, _) = setup(store, false).await;
    let a = firing("DiskFull", "db-1");
    let b = firing("DiskFull", "db-2");
    let firing_row = |count| ("firing".to_string(), count, true);
    let shortcut = |before: u64| store.intake_shortcuts().plain_repeats - before;

    ingest(store, &integration, vec![a.clone(), b.clone()], t(1)).await;
    let before = store.intake_shortcuts().plain_repeats;
    let events_before = all_events(store).await.len();
    let again = ingest(store, &integration, vec![a.clone(), b.clone()], t(2)).await;
    assert_eq!((again.received, again.deduplicated, again.new), (2, 2, 0));
    assert_eq!(
        shortcut(before),
        1,
        "a batch of plain repeats takes the shortcut"
    );
    assert_eq!(alert_rows(store).await, vec![firing_row(2), firing_row(2)]);
    let events = all_events(store).await;
    assert_eq!(events.len(), events_before + 1, "one alerts.received event");
    let received = events.last().unwrap();
    assert_eq!(received.kind, "alerts.received");
    assert_eq!(received.data["deduplicated"], 2);
    assert_eq!(
        scalar(store, "SELECT MIN(last_seen) FROM alerts").await,
        t(2).as_microsecond()
    );
    assert_eq!(
        scalar(
            store,
            "SELECT CAST(SUM(deduplicated) AS BIGINT) FROM alert_noise"
        )
        .await,
        2,
        "noise counts the shortcut's repeats"
    );

    // A changed annotation is not a plain repeat: the full pipeline stores
    // it, and the next identical send is plain again.
    let mut a2 = a.clone();
    a2["annotations"]["summary"] = serde_json::json!("Disk full, now 99%");
    let before = store.intake_shortcuts().plain_repeats;
    ingest(store, &integration, vec![a2.clone(), b.clone()], t(3)).await;
    assert_eq!(shortcut(before), 0);
    let summary: String = sqlx::query("SELECT summary FROM alerts ORDER BY id LIMIT 1")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get("summary")
        .unwrap();
    assert_eq!(summary, "Disk full, now 99%");
    ingest(store, &integration, vec![a2.clone(), b.clone()], t(4)).await;
    assert_eq!(shortcut(before), 1);
    assert_eq!(alert_rows(store).await, vec![firing_row(4), firing_row(4)]);

    // Another node resolves one alert: this node still remembers it as
    // firing, tries the shortcut, finds one alert changed, undoes its
    // update and runs the pipeline: a reopening, and no count twice.
    let other_node = Store::connect(&db.url).await.unwrap();
    other_node
        .ingest_alerts(
            &integration,
            opsdesk_store::alerts::IntakeBatch {
                signals: signals(serde_json::json!({"alerts": [resolved("DiskFull", "db-1")]})),
                truncated: 0,
            },
            t(5),
        )
        .await
        .unwrap();
    let before = store.intake_shortcuts().plain_repeats;
    let after_resolve = ingest(store, &integration, vec![a2.clone(), b.clone()], t(6)).await;
    assert_eq!(shortcut(before), 0);
    assert_eq!((after_resolve.reopened, after_resolve.deduplicated), (1, 1));
    assert_eq!(alert_rows(store).await, vec![firing_row(6), firing_row(5)]);

    // An alert stored without a digest (before the column existed) takes
    // the pipeline once, which writes its digest.
    sqlx::query("UPDATE alerts SET content_digest = NULL")
        .execute(store.pool())
        .await
        .unwrap();
    let before = store.intake_shortcuts().plain_repeats;
    ingest(store, &integration, vec![a2.clone(), b.clone()], t(7)).await;
    assert_eq!(shortcut(before), 0);
    assert_eq!(alert_rows(store).await, vec![firing_row(7), firing_row(6)]);
    ingest(store, &integration, vec![a2.clone(), b.clone()], t(8)).await;
    assert_eq!(shortcut(before), 1);

    // One alert twice in a batch: the pipeline, counting both.
    ingest(store, &integration, vec![b.clone(), b.clone()], t(9)).await;
    assert_eq!(shortcut(before), 1);
    assert_eq!(alert_rows(store).await, vec![firing_row(8), firing_row(9)]);
}

/// A person acknowledges a firing alert: it stays acknowledged through
/// later repeats, acknowledging it again writes nothing, and a resolved
/// alert cannot be acknowledged.
async fn people_acknowledge_firing_alerts(db: &TestDb) {
    use alert_fixtures::*;
    use opsdesk_domain::alerts::AlertStatus;
    let store = &db.store;
    let (p, _svc, integration, _) = setup(store, false).await;
    let (a, b) = (firing("DiskFull", "db-1"), firing("DiskFull", "db-2"));
    ingest(store, &integration, vec![a.clone(), b.clone()], t(1)).await;
    let ids: Vec<i64> = sqlx::query("SELECT id FROM alerts ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get("id").unwrap())
        .collect();

    let acked = store
        .acknowledge_alert(ids[0], p.agent.id, t(2))
        .await
        .unwrap();
    assert_eq!(acked.status, AlertStatus::Acknowledged);
    assert_eq!(acked.acknowledged_at, Some(t(2)));
    assert_eq!(acked.count, 1, "a person is not a signal");
    let events = all_events(store).await;
    let event = events.last().unwrap();
    assert_eq!(
        (
            event.entity.as_str(),
            event.entity_id.clone(),
            event.kind.as_str()
        ),
        ("alert", ids[0].to_string(), "alert.acknowledged")
    );
    assert_eq!(event.actor_id, Some(p.agent.id));
    assert_eq!(event.data["fingerprint"], acked.fingerprint.as_str());

    // Again: nothing changes, nothing is written.
    let again = store
        .acknowledge_alert(ids[0], p.agent2.id, t(3))
        .await
        .unwrap();
    assert_eq!(again.acknowledged_at, Some(t(2)));
    assert_eq!(all_events(store).await.len(), events.len());

    // Repeats leave it acknowledged.
    ingest(store, &integration, vec![a.clone(), b.clone()], t(4)).await;
    let repeated = store.get_alert(ids[0]).await.unwrap();
    assert_eq!(
        (repeated.status, repeated.count),
        (AlertStatus::Acknowledged, 2)
    );

    // Resolved: refused, and nothing is written.
    ingest(
        store,
        &integration,
        vec![resolved("DiskFull", "db-2")],
        t(5),
    )
    .await;
    let before = all_events(store).await.len();
    let refused = expect_conflict(store.acknowledge_alert(ids[1], p.agent.id, t(6)).await);
    assert!(refused.contains("resolved"), "{refused}");
    assert_eq!(all_events(store).await.len(), before);
    let resolved_alert = store.get_alert(ids[1]).await.unwrap();
    assert_eq!(
        (resolved_alert.status, resolved_alert.acknowledged_at),
        (AlertStatus::Resolved, None)
    );
    assert!(matches!(
        store
            .acknowledge_alert(ids[1] + 1000, p.agent.id, t(6))
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

/// New alerts that only join an incident already open are decided before
/// the writer lock and written by one checked insert; a batch whose group
/// has no open incident takes the pipeline, which opens one.
async fn new_alerts_joining_an_open_incident_are_decided_before_the_lock(db: &TestDb) {
    use alert_fixtures::*;
    let store = &db.store;
    let (p, _svc, integration, _) = setup(store, false).await;
    let fresh = || store.intake_shortcuts().fresh_alerts;

    let first = ingest(store, &integration, vec![firing("DiskFull", "db-1")], t(1)).await;
    assert_eq!(first.incidents_opened, vec!["INC-000001".to_string()]);
    assert_eq!(fresh(), 0, "opening an incident takes the lock");
    let incident = store.get_ticket_by_number("INC-000001").await.unwrap();

    let batch = vec![firing("DiskFull", "db-2"), firing("DiskFull", "db-3")];
    let joined = ingest(store, &integration, batch, t(2)).await;
    assert_eq!(fresh(), 1);
    assert_eq!((joined.new, joined.grouped), (2, 2));
    assert!(joined.incidents_opened.is_empty());
    let members: i64 = sqlx::query("SELECT COUNT(*) AS n FROM alerts WHERE incident_id = $1")
        .bind(incident.id.0)
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(members, 3);
    let events = all_events(store).await;
    let added: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == "incident.alerts_added")
        .collect();
    assert_eq!(added.len(), 2);
    assert_eq!(added[1].data["alerts"].as_array().unwrap().len(), 2);
    assert_eq!(events.last().unwrap().kind, "alerts.received");
    assert_eq!(events.last().unwrap().data["grouped"], 2);
    assert_eq!(
        scalar(
            store,
            "SELECT CAST(SUM(grouped) AS BIGINT) FROM alert_noise"
        )
        .await,
        2
    );

    // The incident closed: a new alert of its group opens another, under
    // the lock.
    step(store, incident.id, resolve(), t(3), &p.admin)
        .await
        .unwrap();
    let after = ingest(store, &integration, vec![firing("DiskFull", "db-4")], t(4)).await;
    assert_eq!(after.incidents_opened, vec!["INC-000002".to_string()]);
    assert_eq!(fresh(), 1);
    // And the repeats of the new alerts are plain.
    let again = ingest(
        store,
        &integration,
        vec![firing("DiskFull", "db-2"), firing("DiskFull", "db-3")],
        t(5),
    )
    .await;
    assert_eq!(again.deduplicated, 2);
    assert_eq!(store.intake_shortcuts().plain_repeats, 1);
}

/// A node looks up only the alerts it may have stored itself. An alert
/// another node stored comes in beside a new one: this node plans both as
/// new, its checked insert falls short, and the pipeline stores the new
/// alert and counts the other as a repeat. Nothing is stored twice, and
/// the next batch of the same alerts is a plain repeat on this node too.
async fn an_alert_another_node_stored_is_not_stored_again_by_a_new_batch(db: &TestDb) {
    use alert_fixtures::*;
    let store = &db.store;
    let (_p, _svc, integration, _) = setup(store, false).await;
    ingest(store, &integration, vec![firing("DiskFull", "db-1")], t(1)).await;

    let other_node = Store::connect(&db.url).await.unwrap();
    let batch = vec![firing("DiskFull", "db-1"), firing("DiskFull", "db-2")];
    let mixed = ingest(&other_node, &integration, batch.clone(), t(2)).await;
    assert_eq!((mixed.new, mixed.deduplicated), (1, 1));
    assert_eq!(other_node.intake_shortcuts().fresh_alerts, 0);
    assert_eq!(scalar(store, "SELECT COUNT(*) FROM alerts").await, 2);
    assert_eq!(
        scalar(store, "SELECT count FROM alerts WHERE labels LIKE '%db-1%'").await,
        2
    );

    let again = ingest(&other_node, &integration, batch, t(3)).await;
    assert_eq!(again.deduplicated, 2);
    assert_eq!(other_node.intake_shortcuts().plain_repeats, 1);
    other_node.close().await;
}

/// On SQLite an alert's identity waits in a small table of recent keys
/// until the settler moves it into a middle-sized one, and from there into
/// the large one (`alerts/keys.rs`). An alert is found by its identity in
/// any of them: repeats, changes, resolves and reopenings each change the
/// one stored alert, whichever path writes them (plain repeat, checked
/// insert of new alerts, full pipeline), on this node and on another.
/// PostgreSQL has no keys to move and must behave the same.
async fn alerts_are_found_whether_their_keys_are_recent_settling_or_settled(db: &TestDb) {
    use alert_fixtures::*;
    let store = &db.store;
    let sqlite = store.backend() == opsdesk_store::Backend::Sqlite;
    let (_p, _svc, integration, _) = setup(store, false).await;
    let (a, b, c) = (
        firing("DiskFull", "db-1"),
        firing("DiskFull", "db-2"),
        firing("DiskFull", "db-3"),
    );
    let keys = |table: &'static str| async move {
        if sqlite {
            scalar(store, table).await
        } else {
            0
        }
    };

    let one_if_sqlite = if sqlite { 1 } else { 0 };
    ingest(store, &integration, vec![a.clone()], t(1)).await;
    assert_eq!(
        keys("SELECT COUNT(*) FROM alert_keys_recent").await,
        one_if_sqlite
    );
    let moved = store.settle_all_alert_keys().await.unwrap();
    assert_eq!(moved, one_if_sqlite as u64);
    ingest(store, &integration, vec![b.clone()], t(1)).await;
    let moved = store.settle_alert_keys().await.unwrap();
    assert_eq!(moved, one_if_sqlite as u64);
    assert_eq!(keys("SELECT COUNT(*) FROM alert_keys").await, one_if_sqlite);
    assert_eq!(
        keys("SELECT COUNT(*) FROM alert_keys_settling").await,
        one_if_sqlite
    );
    assert_eq!(keys("SELECT COUNT(*) FROM alert_keys_recent").await, 0);

    // a settled, b settling, c new (recent once stored); then all three as
    // plain repeats.
    let mixed = ingest(store, &integration, vec![a.clone(), c.clone()], t(2)).await;
    assert_eq!((mixed.new, mixed.deduplicated), (1, 1));
    let before = store.intake_shortcuts().plain_repeats;
    let plain = ingest(
        store,
        &integration,
        vec![a.clone(), b.clone(), c.clone()],
        t(3),
    )
    .await;
    assert_eq!((plain.new, plain.deduplicated), (0, 3));
    assert_eq!(store.intake_shortcuts().plain_repeats - before, 1);

    // The full pipeline on both sides: a (settled) and c (recent) resolve,
    // b changes its summary. (Every signal counts, a resolve too.)
    let mut b2 = b.clone();
    b2["annotations"]["summary"] = serde_json::json!("Disk full, now 99%");
    let full = ingest(
        store,
        &integration,
        vec![
            resolved("DiskFull", "db-1"),
            b2.clone(),
            resolved("DiskFull", "db-3"),
        ],
        t(4),
    )
    .await;
    assert_eq!((full.new, full.resolved), (0, 2));
    assert_eq!(
        alert_rows(store).await,
        vec![
            ("resolved".to_string(), 4, true),
            ("firing".to_string(), 3, true),
            ("resolved".to_string(), 3, true),
        ]
    );

    // Another node, with nothing remembered: a batch of new alerts (the
    // checked insert) that holds a settled one and a recent one stores
    // neither again, and both reopen.
    let other_node = Store::connect(&db.url).await.unwrap();
    let d = firing("DiskFull", "db-4");
    let again = ingest(
        &other_node,
        &integration,
        vec![a.clone(), c.clone(), d.clone()],
        t(5),
    )
    .await;
    assert_eq!((again.new, again.reopened), (1, 2));
    assert_eq!(scalar(store, "SELECT COUNT(*) FROM alerts").await, 4);
    assert_eq!(
        other_node.settle_all_alert_keys().await.unwrap(),
        if sqlite { 2 } else { 0 },
        "c and d were recent"
    );
    let settled = ingest(&other_node, &integration, vec![a, b2, c, d], t(6)).await;
    assert_eq!((settled.new, settled.deduplicated), (0, 4));
    assert_eq!(scalar(store, "SELECT COUNT(*) FROM alerts").await, 4);
    assert_eq!(
        keys("SELECT COUNT(*) FROM alert_keys").await,
        if sqlite { 4 } else { 0 }
    );
    other_node.close().await;
}

/// A store that starts over remembers nothing of what it stored before,
/// so a batch it stored then is planned as new: whether the alerts' keys
/// were moved to the settled table, are on their way there or are still
/// recent, the checked insert finds them and nothing is stored twice.
async fn a_batch_stored_before_a_restart_is_not_stored_again(db: &TestDb) {
    use alert_fixtures::*;
    let store = &db.store;
    let (_p, _svc, integration, _) = setup(store, false).await;
    let settled = vec![firing("DiskFull", "db-1"), firing("DiskFull", "db-2")];
    let settling = vec![firing("DiskFull", "db-3"), firing("DiskFull", "db-4")];
    let recent = vec![firing("DiskFull", "db-5"), firing("DiskFull", "db-6")];
    let first = ingest(store, &integration, settled.clone(), t(1)).await;
    assert_eq!(first.new, 2);
    store.settle_all_alert_keys().await.unwrap();
    let second = ingest(store, &integration, settling.clone(), t(2)).await;
    assert_eq!(second.new, 2);
    store.settle_alert_keys().await.unwrap();
    let third = ingest(store, &integration, recent.clone(), t(3)).await;
    assert_eq!(third.new, 2);

    let restarted = Store::open(&db.url).await.unwrap();
    for (batch, at) in [(settled, t(4)), (settling, t(5)), (recent, t(6))] {
        let again = ingest(&restarted, &integration, batch, at).await;
        assert_eq!((again.new, again.deduplicated), (0, 2));
    }
    assert_eq!(scalar(store, "SELECT COUNT(*) FROM alerts").await, 6);
    restarted.close().await;
}

/// Keys move while new alerts arrive from many senders: every alert is
/// stored once, its identity in exactly one key table (SQLite), and
/// sending everything again only repeats.
async fn moving_alert_keys_while_alerts_arrive_loses_none(db: &TestDb) {
    use alert_fixtures::*;
    let store = &db.store;
    let (_p, _svc, integration, _) = setup(store, false).await;
    let batches_of = |sender: usize| -> Vec<Vec<serde_json::Value>> {
        (0..5)
            .map(|b| {
                (0..10)
                    .map(|i| firing("DiskFull", &format!("db-{sender}-{b}-{i}")))
                    .collect()
            })
            .collect()
    };
    let send_all = |at: i64| {
        let mut tasks = Vec::new();
        for sender in 0..8 {
            let (store, integration) = (store.clone(), integration.clone());
            let batches = batches_of(sender);
            tasks.push(tokio::spawn(async move {
                let mut new = 0;
                for batch in batches {
                    new += ingest(&store, &integration, batch, t(at)).await.new;
                }
                new
            }));
        }
        let mover = store.clone();
        let moves = tokio::spawn(async move {
            let mut moved = 0;
            for round in 0..10 {
                // Into the settling table, and now and then on into the
                // settled one.
                moved += if round % 3 == 2 {
                    mover.settle_all_alert_keys().await.unwrap()
                } else {
                    mover.settle_alert_keys().await.unwrap()
                };
                tokio::task::yield_now().await;
            }
            moved
        });
        async move {
            let mut new = 0;
            for task in tasks {
                new += task.await.expect("sender ran");
            }
            (new, moves.await.expect("mover ran"))
        }
    };

    let (new, _) = send_all(1).await;
    assert_eq!(new, 400);
    assert_eq!(scalar(store, "SELECT COUNT(*) FROM alerts").await, 400);
    if store.backend() == opsdesk_store::Backend::Sqlite {
        assert_eq!(
            scalar(
                store,
                "SELECT COUNT(DISTINCT fingerprint) FROM (SELECT fingerprint FROM alert_keys \
                 UNION ALL SELECT fingerprint FROM alert_keys_settling \
                 UNION ALL SELECT fingerprint FROM alert_keys_recent)"
            )
            .await,
            400
        );
        assert_eq!(
            scalar(
                store,
                "SELECT (SELECT COUNT(*) FROM alert_keys) + (SELECT COUNT(*) FROM alert_keys_settling) \
                 + (SELECT COUNT(*) FROM alert_keys_recent)"
            )
            .await,
            400,
            "no identity in two tables"
        );
    }
    let (again, _) = send_all(2).await;
    assert_eq!(again, 0, "every alert was found again");
    assert_eq!(scalar(store, "SELECT COUNT(*) FROM alerts").await, 400);
    assert_eq!(scalar(store, "SELECT MIN(count) FROM alerts").await, 2);
}

/// Many senders with one new alert at once, record-only so every one of
/// them can take the checked insert: one insert wins, the others find the
/// alert stored and take the pipeline; no send is lost or counted twice.
async fn racing_first_sends_of_one_alert_store_it_once(db: &TestDb) {
    use alert_fixtures::*;
    use opsdesk_domain::alerts::RouteAction;
    use opsdesk_store::alerts::IntegrationInput;
    let store = &db.store;
    let p = people(store).await;
    let svc = service(store, "Checkout", None, &p.admin).await;
    let mut input = IntegrationInput::new("prometheus", svc.id);
    input.action = RouteAction::RecordOnly;
    let (integration, _) = store
        .create_integration(input, p.admin.id, t(0))
        .await
        .unwrap();
    let other_node = Store::connect(&db.url).await.unwrap();
    let nodes = [store.clone(), other_node.clone()];
    let new = race_sends_of_one_alert(&nodes, &integration, 24).await;
    assert_eq!(new, 1);
    assert_eq!(
        store.intake_shortcuts().fresh_alerts + other_node.intake_shortcuts().fresh_alerts,
        1,
        "one checked insert stored the alert"
    );
    assert_eq!(scalar(store, "SELECT count FROM alerts").await, 24);
}

async fn integration_keys_are_kept_as_digests_and_stop_working_when_disabled(db: &TestDb) {
    use alert_fixtures::*;
    use opsdesk_store::alerts::IntegrationInput;
    let store = &db.store;
    let (p, svc, integration, key) = setup(store, false).await;
    assert!(key.starts_with("odi_") && key.len() > 40, "{key}");
    assert!(key.starts_with(&integration.key_prefix));
    let stored: String = sqlx::query("SELECT key_hash FROM alert_integrations")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get("key_hash")
        .unwrap();
    assert_eq!(stored, digest(&key));
    assert_ne!(stored, key);
    let found = store.integration_by_key(&key).await.unwrap().unwrap();
    assert_eq!(found, integration);
    assert!(
        store
            .integration_by_key("odi_nope")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.integration_by_key("").await.unwrap().is_none());
    // Names are unique; services must exist; settings are validated.
    let dup = store
        .create_integration(
            IntegrationInput::new("prometheus", svc.id),
            p.admin.id,
            t(1),
        )
        .await;
    expect_conflict(dup);
    let missing = store
        .create_integration(
            IntegrationInput::new("other", opsdesk_domain::ServiceId(999)),
            p.admin.id,
            t(1),
        )
        .await;
    expect_invalid(missing, "service_id");
    let mut bad = IntegrationInput::new("other", svc.id);
    bad.group_window = Some(SignedDuration::ZERO);
    expect_invalid(
        store.create_integration(bad, p.admin.id, t(1)).await,
        "group_window",
    );
    let disabled = store
        .disable_integration(integration.id, p.admin.id, t(2))
        .await
        .unwrap();
    assert!(!disabled.enabled);
    assert!(store.integration_by_key(&key).await.unwrap().is_none());
    assert!(
        kinds(&all_events(store).await).contains(&"integration.disabled"),
        "disabling is audited"
    );
}

async fn alert_batches_dedup_group_and_auto_resolve_incidents(db: &TestDb) {
    use alert_fixtures::*;
    let store = &db.store;
    let (_p, _svc, integration, _) = setup(store, true).await;
    let batch = vec![firing("DiskFull", "db-1"), firing("DiskFull", "db-2")];
    let first = ingest(store, &integration, batch.clone(), t(1)).await;
    assert_eq!((first.new, first.grouped), (2, 1));
    assert_eq!(first.incidents_opened, vec!["INC-000001".to_string()]);
    let incident = store.get_ticket_by_number("INC-000001").await.unwrap();
    assert_eq!(incident.title, "DiskFull on db-1");
    assert!(incident.tags.contains(&"alert".to_string()));

    // The same batch again: nothing new, counts move.
    let events_before = all_events(store).await.len();
    let again = ingest(store, &integration, batch, t(2)).await;
    assert_eq!((again.new, again.deduplicated), (0, 2));
    assert!(again.incidents_opened.is_empty());
    assert_eq!(count(store, "alerts").await, 2);
    assert_eq!(count(store, "tickets").await, 1);
    assert_eq!(
        all_events(store).await.len(),
        events_before + 1,
        "a replay is one batch event, not one per alert"
    );
    let alerts = store.incident_alerts(incident.id).await.unwrap();
    assert_eq!(alerts.len(), 2);
    assert!(alerts.iter().all(|a| a.count == 2 && a.last_seen == t(2)));
    assert!(alerts.iter().all(|a| a.first_seen == t(1)));
    assert_eq!(alerts[0].incident_number.as_deref(), Some("INC-000001"));

    // One resolves: the incident stays open; both: it resolves itself.
    let one = ingest(
        store,
        &integration,
        vec![resolved("DiskFull", "db-1")],
        t(3),
    )
    .await;
    assert_eq!((one.resolved, one.incidents_resolved.len()), (1, 0));
    assert!(store.get_ticket(incident.id).await.unwrap().state.is_open());
    let both = ingest(
        store,
        &integration,
        vec![resolved("DiskFull", "db-2")],
        t(4),
    )
    .await;
    assert_eq!(both.incidents_resolved, vec!["INC-000001".to_string()]);
    let incident = store.get_ticket(incident.id).await.unwrap();
    assert_eq!(incident.state, TicketState::Resolved);
    assert_eq!(incident.resolution_code.as_deref(), Some("auto_resolved"));

    // A resolved incident never swallows new alerts: the next firing opens
    // a new one.
    let back = ingest(store, &integration, vec![firing("DiskFull", "db-1")], t(10)).await;
    assert_eq!(back.reopened, 1);
    assert_eq!(back.incidents_opened, vec!["INC-000002".to_string()]);
    let timeline = store.timeline(TicketId(2), true).await;
    let kinds_of_second: Vec<String> = match timeline {
        Ok(events) => events.iter().map(|e| e.kind.clone()).collect(),
        Err(e) => panic!("timeline: {e}"),
    };
    assert!(kinds_of_second.contains(&"ticket.created".to_string()));
    assert!(kinds_of_second.contains(&"incident.alerts_added".to_string()));
    assert!(matches!(
        store.verify_chain().await.unwrap(),
        ChainReport::Intact { .. }
    ));
}

async fn suppressed_alerts_are_stored_and_page_nobody(db: &TestDb) {
    use alert_fixtures::*;
    use opsdesk_domain::alerts::{InhibitRule, MaintenanceSchedule};
    use opsdesk_store::alerts::{
        AlertQuery, InhibitionRuleInput, MaintenanceWindowInput, SilenceInput,
    };
    let store = &db.store;
    let (p, svc, integration, _) = setup(store, false).await;
    let silence = store
        .create_silence(
            SilenceInput {
                matchers: "alertname=\"Noisy\"".parse().unwrap(),
                starts_at: t(0),
                ends_at: t(60),
                comment: "known issue".into(),
            },
            p.admin.id,
            t(0),
        )
        .await
        .unwrap();
    let r = ingest(store, &integration, vec![firing("Noisy", "a")], t(1)).await;
    assert_eq!((r.new, r.suppressed), (1, 1));
    assert!(r.incidents_opened.is_empty());
    let suppressed = store
        .list_alerts(&AlertQuery {
            suppressed: Some(true),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(
        serde_json::to_value(&suppressed[0].suppressed_by).unwrap()["silence"],
        serde_json::json!(silence.id)
    );
    // Expired silences stop muting; an expired silence can be expired again.
    store
        .expire_silence(silence.id, p.admin.id, t(2))
        .await
        .unwrap();
    let e = store
        .expire_silence(silence.id, p.admin.id, t(3))
        .await
        .unwrap();
    assert_eq!(e.state, opsdesk_domain::alerts::SilenceState::Expired);
    let r = ingest(store, &integration, vec![firing("Noisy", "b")], t(4)).await;
    assert_eq!(r.incidents_opened.len(), 1);

    // Inhibition: NodeDown on a node mutes ServiceDown on the same node.
    store
        .create_inhibition_rule(
            InhibitionRuleInput {
                order: 1,
                rule: InhibitRule {
                    source: "alertname=\"NodeDown\"".parse().unwrap(),
                    target: "alertname=\"ServiceDown\"".parse().unwrap(),
                    equal: vec!["instance".into()],
                },
            },
            p.admin.id,
            t(5),
        )
        .await
        .unwrap();
    let r = ingest(
        store,
        &integration,
        vec![
            firing("NodeDown", "n1"),
            firing("ServiceDown", "n1"),
            firing("ServiceDown", "n2"),
        ],
        t(6),
    )
    .await;
    assert_eq!((r.new, r.suppressed), (3, 1));

    // A maintenance window on the service mutes everything routed there.
    store
        .create_maintenance_window(
            MaintenanceWindowInput {
                service_id: svc.id,
                schedule: MaintenanceSchedule::OneOff {
                    starts_at: t(7),
                    ends_at: t(30),
                },
                comment: "upgrade".into(),
            },
            p.admin.id,
            t(7),
        )
        .await
        .unwrap();
    let r = ingest(store, &integration, vec![firing("CpuHigh", "x")], t(8)).await;
    assert_eq!((r.suppressed, r.incidents_opened.len()), (1, 0));
    let noise = store
        .noise_metrics(Some(svc.id), t(0), t(10))
        .await
        .unwrap();
    assert_eq!(noise.len(), 1);
    assert_eq!(noise[0].counters.received, 6);
    assert_eq!(noise[0].counters.suppressed, 3);
    // Bad configuration is refused naming the field.
    let everything = store
        .create_silence(
            SilenceInput {
                matchers: "alertname=~\".*\"".parse().unwrap(),
                starts_at: t(0),
                ends_at: t(60),
                comment: "mute all".into(),
            },
            p.admin.id,
            t(9),
        )
        .await;
    expect_invalid(everything, "matchers");
}

async fn flapping_alerts_stop_opening_incidents(db: &TestDb) {
    use alert_fixtures::*;
    let store = &db.store;
    let (_p, svc, integration, _) = setup(store, true).await;
    let mut opened = 0;
    // fire, resolve, fire, resolve, fire, resolve: six transitions in an hour.
    for i in 0..3 {
        let r = ingest(
            store,
            &integration,
            vec![firing("Flappy", "a")],
            t(1 + 2 * i),
        )
        .await;
        opened += r.incidents_opened.len();
        ingest(
            store,
            &integration,
            vec![resolved("Flappy", "a")],
            t(2 + 2 * i),
        )
        .await;
    }
    assert_eq!(opened, 3);
    // The seventh transition makes it flap: stored, no new incident.
    let r = ingest(store, &integration, vec![firing("Flappy", "a")], t(7)).await;
    assert_eq!((r.reopened, r.flapping), (1, 1));
    assert!(r.incidents_opened.is_empty());
    let a = store
        .list_alerts(&opsdesk_store::alerts::AlertQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(a[0].flapping);
    assert_eq!(a[0].occurrences, 4);
    let noise = store.noise_metrics(Some(svc.id), t(0), t(8)).await.unwrap();
    assert_eq!(noise[0].counters.flapping, 1);
    assert_eq!(noise[0].counters.incidents_created, 3);
}

async fn a_failed_alert_batch_stores_nothing(db: &TestDb) {
    use alert_fixtures::*;
    let store = &db.store;
    let (_p, _svc, integration, _) = setup(store, false).await;
    let before = footprint(store).await;
    let alerts_before = count(store, "alerts").await;
    // An integration that is not in the database: the batch opens an
    // incident, then its alert rows break a foreign key. All of it goes.
    let mut ghost = integration.clone();
    ghost.id = 9_999;
    let batch = opsdesk_store::alerts::IntakeBatch {
        signals: signals(serde_json::json!({"alerts": [firing("A", "1"), firing("B", "2")]})),
        truncated: 0,
    };
    assert!(store.ingest_alerts(&ghost, batch, t(1)).await.is_err());
    assert_eq!(footprint(store).await, before);
    assert_eq!(count(store, "alerts").await, alerts_before);
    assert_eq!(count(store, "alert_groups").await, 0);
    // The store keeps working, and numbering has no gap.
    let ok = ingest(store, &integration, vec![firing("A", "1")], t(2)).await;
    assert_eq!(ok.incidents_opened, vec!["INC-000001".to_string()]);
}

async fn routes_choose_service_and_record_only(db: &TestDb) {
    use alert_fixtures::*;
    use opsdesk_domain::alerts::{Route, RouteAction};
    let store = &db.store;
    let (p, _svc, integration, _) = setup(store, false).await;
    let db_svc = service(store, "Database", None, &p.admin).await;
    let routes: Vec<Route> = serde_json::from_value(serde_json::json!([
        {"name": "db", "matchers": "team=\"db\"", "service": db_svc.id, "action": "page", "impact": "high"},
        {"name": "info", "matchers": "severity=\"info\"", "service": db_svc.id, "action": "record_only"},
    ]))
    .unwrap();
    let integration = store
        .set_alert_routes(integration.id, routes, p.admin.id, t(1))
        .await
        .unwrap();
    assert_eq!(integration.routes[0].action, RouteAction::Page);
    let r = ingest(
        store,
        &integration,
        vec![
            serde_json::json!({"labels": {"alertname": "Slow", "team": "db"}}),
            serde_json::json!({"labels": {"alertname": "Chatty", "severity": "info"}}),
        ],
        t(2),
    )
    .await;
    assert_eq!((r.new, r.incidents_opened.len()), (2, 1));
    let incident = store
        .get_ticket_by_number(&r.incidents_opened[0])
        .await
        .unwrap();
    assert_eq!(incident.service_id, Some(db_svc.id));
    // The route's impact, with the severity's urgency, sets the priority.
    assert_eq!(incident.impact, opsdesk_domain::Impact::High);
    assert_eq!(
        incident.priority,
        opsdesk_domain::priority::priority_from(incident.impact, incident.urgency)
    );
    assert_eq!(
        integration.routes[1].impact,
        opsdesk_domain::Impact::Medium,
        "a route without an impact opens medium-impact incidents"
    );
    // A catch-all before the end is refused, naming the route.
    let bad: Vec<Route> = serde_json::from_value(serde_json::json!([
        {"name": "all", "matchers": "", "service": db_svc.id, "action": "page"},
        {"name": "never", "matchers": "a=\"b\"", "service": db_svc.id, "action": "page"},
    ]))
    .unwrap();
    expect_invalid(
        store
            .set_alert_routes(integration.id, bad, p.admin.id, t(3))
            .await,
        "routes[0].matchers",
    );
}

async fn a_ticket_written_after_the_pass_began_is_still_projected(db: &TestDb) {
    use opsdesk_domain::sla::ClockState;
    use sla_fixtures::*;
    let store = &db.store;
    let p = people(store).await;
    incidents_sla(store, &p, 4).await;
    // Another node stamped the ticket a little after this pass took its
    // `now` (a race, or clocks a few milliseconds apart).
    let ticket = create(store, incident("Racing the projector", &p.requester), t(10)).await;
    store.project_sla("node-a", t(9)).await.unwrap();
    let sla = store.get_ticket(ticket.id).await.unwrap().sla.unwrap();
    assert_eq!(
        (sla.status, sla.due_at),
        (ClockState::Running, Some(t(250)))
    );
    let fired = store.fire_due_sla("node-a", t(300), 10).await.unwrap();
    assert_eq!(fired.announced, 2);
}

/// Two nodes check the same missed heartbeat at once: one claims it, the
/// other's raise is a repeat of the same alert; one alert, one incident.
/// Its miss is visible only once the alert is stored.
async fn two_nodes_checking_one_missed_heartbeat_raise_one_alert(db: &TestDb) {
    use alert_fixtures::*;
    use opsdesk_store::alerts::AlertQuery;
    let store = &db.store;
    let other_node = Store::connect(&db.url).await.unwrap();
    let (p, _svc, integration, _) = setup(store, false).await;
    let hb = store
        .create_heartbeat(integration.id, "backup_job", 60, p.admin.id, t(0))
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        store.check_heartbeats(t(2)),
        other_node.check_heartbeats(t(2))
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1, "one node claims the miss");
    let alerts = store
        .list_alerts(&AlertQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].status.as_str(), "firing");
    assert!(alerts[0].incident_id.is_some());
    assert!(
        store
            .get_heartbeat(hb.id)
            .await
            .unwrap()
            .missed_at
            .is_some()
    );
    // The next ping resolves it.
    store
        .ping_heartbeat(&integration, "backup_job", t(3))
        .await
        .unwrap();
    assert_eq!(
        store.get_alert(alerts[0].id).await.unwrap().status.as_str(),
        "resolved"
    );
}

async fn missed_heartbeats_raise_an_alert_the_next_ping_resolves(db: &TestDb) {
    use alert_fixtures::*;
    use opsdesk_store::alerts::AlertQuery;
    let store = &db.store;
    let (p, _svc, integration, _) = setup(store, true).await;
    expect_invalid(
        store
            .create_heartbeat(integration.id, "nightly", 5, p.admin.id, t(0))
            .await,
        "interval_seconds",
    );
    expect_invalid(
        store
            .create_heartbeat(integration.id, "no spaces", 60, p.admin.id, t(0))
            .await,
        "name",
    );
    let hb = store
        .create_heartbeat(integration.id, "backup_job", 60, p.admin.id, t(0))
        .await
        .unwrap();
    assert_eq!(hb.due_at, t(1));
    // Not due yet; then overdue: one alert, once.
    assert_eq!(
        store
            .check_heartbeats(t(0) + SignedDuration::from_secs(59))
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.check_heartbeats(t(2)).await.unwrap(), 1);
    assert_eq!(store.check_heartbeats(t(3)).await.unwrap(), 0);
    let alerts = store
        .list_alerts(&AlertQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].labels["heartbeat"], "backup_job");
    assert_eq!(
        alerts[0].started_at,
        t(1),
        "the alert starts when the ping fell due"
    );
    let incident = alerts[0].incident_id.expect("an incident");
    // The next ping resolves it (and, with auto-resolve, its incident).
    let hb = store
        .ping_heartbeat(&integration, "backup_job", t(4))
        .await
        .unwrap();
    assert_eq!((hb.missed_at, hb.due_at), (None, t(5)));
    let alert = store.get_alert(alerts[0].id).await.unwrap();
    assert_eq!(alert.status, opsdesk_domain::alerts::AlertStatus::Resolved);
    assert_eq!(
        store.get_ticket(incident).await.unwrap().state,
        TicketState::Resolved
    );
    // Missing again raises it again (a new occurrence, a new incident).
    assert_eq!(store.check_heartbeats(t(6)).await.unwrap(), 1);
    let again = store.get_alert(alerts[0].id).await.unwrap();
    assert_eq!((again.occurrences, again.status.as_str()), (2, "firing"));
    assert_ne!(again.incident_id, Some(incident));
    assert!(matches!(
        store.ping_heartbeat(&integration, "unknown", t(7)).await,
        Err(StoreError::NotFound { .. })
    ));
}
