//! Managers and admins: teams and members, services, users and roles, and
//! API tokens (everyone manages their own tokens; admins see all).
//!
//! Every change is the REST handler of the same change, called as a
//! function: the role checks and validation are the API's.

use super::view::{Nav, Opt, label, when};
use super::{FormPairs, Web, WebError, WebForm, api_body, html, see_other};
use crate::AppState;
use crate::error::ApiError;
use crate::routes::directory;
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use opsdesk_domain::{Permission, Role};
use opsdesk_store::User;
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(Debug)]
pub struct TeamView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub round_robin: bool,
    pub members: Vec<(i64, String)>,
    pub candidates: Vec<Opt>,
}

#[derive(Debug)]
pub struct ServiceView {
    pub name: String,
    pub description: String,
    pub owner: String,
    pub tier: i64,
}

#[derive(Debug)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: &'static str,
    pub active: bool,
    pub roles: Vec<Opt>,
}

#[derive(Debug)]
pub struct TokenView {
    pub id: i64,
    pub owner: String,
    pub name: String,
    pub prefix: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    title: &'static str,
    nav: Nav,
    page: &'static str,
    teams: Vec<TeamView>,
    team_options: Vec<Opt>,
    services: Vec<ServiceView>,
    users: Vec<UserView>,
    role_options: Vec<Opt>,
    tokens: Vec<TokenView>,
    /// A token's secret, right after it was made: shown this once.
    secret: Option<String>,
    error: Option<String>,
    /// Which form the error belongs to.
    error_form: String,
    values: FormPairs,
    can_manage: bool,
    is_admin: bool,
}

impl AdminPage {
    fn again(&self, form: &str, name: &str) -> String {
        if self.error_form == form {
            self.values.value(name).to_string()
        } else {
            String::new()
        }
    }
}

async fn build(
    state: &AppState,
    web: &Web,
    page: &'static str,
    notice: Option<&str>,
) -> Result<AdminPage, WebError> {
    let title = match page {
        "teams" => "Teams",
        "services" => "Services",
        "users" => "Users",
        "tokens" => "API tokens",
        _ => "Administration",
    };
    let users: Vec<User> = if web.auth.actor.can(Permission::ReadDirectory) {
        state.store.list_users().await?
    } else {
        vec![web.auth.user.clone()]
    };
    let name_of = |id: opsdesk_domain::UserId| {
        users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.display_name.clone())
            .unwrap_or_else(|| format!("user {}", id.0))
    };
    let mut out = AdminPage {
        title,
        nav: web.nav("admin").with_notice(notice),
        page,
        teams: vec![],
        team_options: vec![],
        services: vec![],
        users: vec![],
        role_options: Role::ALL
            .iter()
            .map(|r| Opt::new(r.as_str(), label(r.as_str()), *r == Role::Requester))
            .collect(),
        tokens: vec![],
        secret: None,
        error: None,
        error_form: String::new(),
        values: FormPairs::default(),
        can_manage: web.auth.actor.can(Permission::ManageTeamsAndServices),
        is_admin: web.auth.actor.can(Permission::ManageUsers),
    };
    match page {
        "teams" | "services" => {
            let teams = state.store.list_teams().await?;
            out.team_options = std::iter::once(Opt::new("", "No owner team", true))
                .chain(
                    teams
                        .iter()
                        .map(|t| Opt::new(t.id.0.to_string(), t.name.clone(), false)),
                )
                .collect();
            out.teams = teams
                .iter()
                .map(|t| TeamView {
                    id: t.id.0,
                    name: t.name.clone(),
                    description: t.description.clone(),
                    round_robin: t.round_robin,
                    members: t.members.iter().map(|m| (m.0, name_of(*m))).collect(),
                    candidates: users
                        .iter()
                        .filter(|u| u.active && u.role >= Role::Agent && !t.members.contains(&u.id))
                        .map(|u| Opt::new(u.id.0.to_string(), u.display_name.clone(), false))
                        .collect(),
                })
                .collect();
            if page == "services" {
                out.services = state
                    .store
                    .list_services()
                    .await?
                    .into_iter()
                    .map(|s| ServiceView {
                        owner: s
                            .owner_team_id
                            .and_then(|id| teams.iter().find(|t| t.id == id))
                            .map(|t| t.name.clone())
                            .unwrap_or_default(),
                        name: s.name,
                        description: s.description,
                        tier: s.tier,
                    })
                    .collect();
            }
        }
        "users" => {
            out.users = users
                .iter()
                .map(|u| UserView {
                    id: u.id.0,
                    username: u.username.clone(),
                    display_name: u.display_name.clone(),
                    email: u.email.clone().unwrap_or_default(),
                    role: u.role.as_str(),
                    active: u.active,
                    roles: Role::ALL
                        .iter()
                        .map(|r| Opt::new(r.as_str(), label(r.as_str()), *r == u.role))
                        .collect(),
                })
                .collect();
        }
        "tokens" => {
            let scope = if out.is_admin { "all" } else { "" };
            let mut params = HashMap::new();
            if !scope.is_empty() {
                params.insert("user_id".to_string(), scope.to_string());
            }
            let Json(tokens) =
                directory::list_tokens(State(state.clone()), web.auth.clone(), Query(params))
                    .await?;
            out.tokens = tokens
                .into_iter()
                .map(|t| TokenView {
                    id: t.id.0,
                    owner: name_of(t.user_id),
                    name: t.name,
                    prefix: t.prefix,
                    created: when(t.created_at),
                    last_used: t.last_used_at.map(when).unwrap_or_else(|| "never".into()),
                    expires: t.expires_at.map(when).unwrap_or_else(|| "never".into()),
                    revoked: t.revoked_at.is_some(),
                })
                .collect();
            if out.is_admin {
                out.users = users
                    .iter()
                    .map(|u| UserView {
                        id: u.id.0,
                        username: u.username.clone(),
                        display_name: u.display_name.clone(),
                        email: String::new(),
                        role: u.role.as_str(),
                        active: u.active,
                        roles: vec![],
                    })
                    .collect();
            }
        }
        _ => {}
    }
    Ok(out)
}

async fn show(
    state: &AppState,
    web: &Web,
    page: &'static str,
    q: &HashMap<String, String>,
) -> Result<Response, WebError> {
    let p = build(state, web, page, q.get("notice").map(String::as_str)).await?;
    Ok(html(StatusCode::OK, &p))
}

pub async fn home(web: Web) -> Result<Response, WebError> {
    web.require(Permission::ManageTeamsAndServices, "administer opsdesk")?;
    Ok(see_other("/admin/teams"))
}

pub async fn teams(
    State(state): State<AppState>,
    web: Web,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    web.require(Permission::ManageTeamsAndServices, "manage teams")?;
    show(&state, &web, "teams", &q).await
}

pub async fn services(
    State(state): State<AppState>,
    web: Web,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    web.require(Permission::ManageTeamsAndServices, "manage services")?;
    show(&state, &web, "services", &q).await
}

pub async fn users(
    State(state): State<AppState>,
    web: Web,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    web.require(Permission::ManageUsers, "manage users")?;
    show(&state, &web, "users", &q).await
}

pub async fn tokens(
    State(state): State<AppState>,
    web: Web,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    show(&state, &web, "tokens", &q).await
}

/// Runs a change; redirects back on success, re-renders with the reason
/// and the input on refusal.
async fn change<Fut>(
    state: &AppState,
    web: Web,
    f: FormPairs,
    page: &'static str,
    form: &str,
    fut: Fut,
) -> Result<Response, WebError>
where
    Fut: std::future::Future<Output = Result<(), ApiError>>,
{
    match fut.await {
        Ok(()) => Ok(see_other(&format!("/admin/{page}?notice=saved"))),
        Err(e) if e.status == StatusCode::UNAUTHORIZED || e.status == StatusCode::FORBIDDEN => {
            Err(e.into())
        }
        Err(e) => {
            let mut p = build(state, &web, page, None).await?;
            p.error = Some(super::message(&e));
            p.error_form = form.to_string();
            p.values = f;
            Ok(html(e.status, &p))
        }
    }
}

fn opt_text(v: &str) -> Value {
    let v = v.trim();
    if v.is_empty() {
        Value::Null
    } else {
        Value::from(v)
    }
}

pub async fn create_team(
    State(state): State<AppState>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let run = async {
        let body = api_body(json!({
            "name": f.value("name").trim(),
            "description": f.value("description"),
            "round_robin": f.value("round_robin") == "on",
        }))?;
        let _ = directory::create_team(State(state.clone()), web.auth.clone(), body).await?;
        Ok(())
    };
    let r = run.await;
    change(&state, web, f, "teams", "team", async { r }).await
}

pub async fn add_member(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let r = async {
        let body = api_body(json!({"user_id": f.value("user_id").parse::<i64>().unwrap_or(0)}))?;
        let _ =
            directory::add_member(State(state.clone()), web.auth.clone(), Path(id), body).await?;
        Ok(())
    }
    .await;
    change(&state, web, f, "teams", "member", async { r }).await
}

pub async fn remove_member(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let user = f.value("user_id").parse::<i64>().unwrap_or(0);
    let r = directory::remove_member(State(state.clone()), web.auth.clone(), Path((id, user)))
        .await
        .map(|_| ());
    change(&state, web, f, "teams", "member", async { r }).await
}

pub async fn create_service(
    State(state): State<AppState>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let r = async {
        let body = api_body(json!({
            "name": f.value("name").trim(),
            "description": f.value("description"),
            "owner_team_id": f.value("owner_team_id").parse::<i64>().ok(),
            "tier": f.value("tier").parse::<i64>().unwrap_or(0),
        }))?;
        let _ = directory::create_service(State(state.clone()), web.auth.clone(), body).await?;
        Ok(())
    }
    .await;
    change(&state, web, f, "services", "service", async { r }).await
}

pub async fn create_user(
    State(state): State<AppState>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let r = async {
        let body = api_body(json!({
            "username": f.value("username").trim(),
            "display_name": f.value("display_name").trim(),
            "email": opt_text(f.value("email")),
            "role": f.value("role"),
            "organization": opt_text(f.value("organization")),
            "password": opt_text(f.value("password")),
        }))?;
        let _ = directory::create_user(State(state.clone()), web.auth.clone(), body).await?;
        Ok(())
    }
    .await;
    // Never send a password back to the page.
    let mut kept = f.clone();
    kept.0.retain(|(k, _)| k != "password");
    change(&state, web, kept, "users", "user", async { r }).await
}

pub async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let r = async {
        let body = api_body(json!({
            "role": f.value("role"),
            "active": f.value("active") == "on",
        }))?;
        let _ =
            directory::update_user(State(state.clone()), web.auth.clone(), Path(id), body).await?;
        Ok(())
    }
    .await;
    change(&state, web, f, "users", "user-row", async { r }).await
}

pub async fn create_token(
    State(state): State<AppState>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let mut body = json!({"name": f.value("name").trim()});
    if let Ok(owner) = f.value("user_id").parse::<i64>() {
        body["user_id"] = Value::from(owner);
    }
    let result = match api_body(body) {
        Ok(b) => directory::create_token(State(state.clone()), web.auth.clone(), b).await,
        Err(e) => Err(e),
    };
    match result {
        Ok((_, Json(created))) => {
            // Not a redirect: the secret exists only in this response.
            let mut p = build(&state, &web, "tokens", None).await?;
            p.secret = Some(created.secret);
            Ok(html(StatusCode::CREATED, &p))
        }
        Err(e) => change(&state, web, f, "tokens", "token", async { Err(e) }).await,
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: WebForm<FormPairs>,
) -> Result<Response, WebError> {
    let WebForm { web, value: f } = form;
    let r = directory::revoke_token(State(state.clone()), web.auth.clone(), Path(id))
        .await
        .map(|_| ());
    change(&state, web, f, "tokens", "token", async { r }).await
}
