//! What every page shares: the chrome (navigation, sign-out form, notices),
//! the error page, and small formatting helpers for templates.

use super::Web;
use super::assets::Links;
use askama::Template;
use jiff::Timestamp;
use opsdesk_domain::{Permission, Role, UserId};
use opsdesk_store::{Team, Ticket, User};
use std::collections::HashMap;

/// The page chrome for a signed-in user.
#[derive(Debug, Clone)]
pub struct Nav {
    pub name: String,
    pub role: &'static str,
    pub agent: bool,
    pub manager: bool,
    pub admin: bool,
    pub csrf: String,
    /// Which part of the UI the page belongs to, to mark the current link.
    pub section: &'static str,
    /// A confirmation after a redirect ("Reply added").
    pub notice: Option<&'static str>,
    pub assets: &'static Links,
}

impl Nav {
    pub fn new(web: &Web, section: &'static str) -> Nav {
        let actor = web.actor();
        Nav {
            name: web.auth.user.display_name.clone(),
            role: actor.role.as_str(),
            agent: actor.can(Permission::WorkAllTickets),
            manager: actor.can(Permission::ManageTeamsAndServices),
            admin: actor.can(Permission::ManageUsers),
            csrf: web.csrf.clone(),
            section,
            notice: None,
            assets: Links::get(),
        }
    }

    /// Shows the confirmation a redirect asked for with `?notice=CODE`.
    /// Only known codes are shown, so a link cannot put words on the page.
    pub fn with_notice(mut self, code: Option<&str>) -> Nav {
        self.notice = code.and_then(notice_text);
        self
    }
}

fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "created" => "Ticket created.",
        "replied" => "Reply added.",
        "noted" => "Internal note added.",
        "moved" => "Ticket updated.",
        "assigned" => "Assignment saved.",
        "prioritized" => "Priority saved.",
        "linked" => "Link added.",
        "unlinked" => "Link removed.",
        "merged" => "Duplicate merged into this ticket.",
        "password" => "Password changed.",
        "saved" => "Saved.",
        "signed_out" => "You have signed out.",
        "filter_saved" => "Filter saved.",
        "filter_deleted" => "Filter deleted.",
        "revoked" => "Token revoked.",
        "acknowledged" => "Alert acknowledged.",
        "silenced" => "Silence created.",
        "unsilenced" => "Silence expired.",
        "window_created" => "Maintenance window created.",
        "rule_created" => "Inhibition rule created.",
        "deleted" => "Deleted.",
        _ => return None,
    })
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// The chrome, when the user is known (signed in).
    pub nav: Option<&'a Nav>,
    pub title: &'a str,
    pub status: u16,
    pub detail: &'a str,
    pub assets: &'static Links,
}

/// A short, unambiguous time for tables and timelines (UTC).
pub fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// The machine-readable form for `<time datetime=...>`.
pub fn iso(t: Timestamp) -> String {
    t.to_string()
}

/// "in_progress" -> "In progress".
pub fn label(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An `<option>` of a select.
#[derive(Debug, Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Opt {
    pub fn new(value: impl Into<String>, label: impl Into<String>, selected: bool) -> Opt {
        Opt {
            value: value.into(),
            label: label.into(),
            selected,
        }
    }
}

/// Display names by user id, loaded once per page.
#[derive(Debug, Default)]
pub struct Names {
    users: HashMap<UserId, User>,
    teams: HashMap<opsdesk_domain::TeamId, String>,
    /// Who is looking: requesters see other requesters anonymised.
    viewer: Option<(UserId, bool)>,
}

impl Names {
    pub fn new(users: Vec<User>, teams: &[Team]) -> Names {
        Names {
            users: users.into_iter().map(|u| (u.id, u)).collect(),
            teams: teams.iter().map(|t| (t.id, t.name.clone())).collect(),
            viewer: None,
        }
    }

    /// Names as a requester may see them: their own as "You", the service
    /// desk's staff by name, other requesters anonymised.
    pub fn for_requester(mut self, viewer: UserId) -> Names {
        self.viewer = Some((viewer, false));
        self
    }

    pub fn user(&self, id: Option<UserId>) -> String {
        let Some(id) = id else {
            return "the system".to_string();
        };
        if let Some((viewer, _)) = self.viewer {
            if id == viewer {
                return "You".to_string();
            }
            return match self.users.get(&id) {
                Some(u) if u.role >= Role::Agent => u.display_name.clone(),
                Some(_) => "Another requester".to_string(),
                None => "The service desk".to_string(),
            };
        }
        self.users
            .get(&id)
            .map(|u| u.display_name.clone())
            .unwrap_or_else(|| format!("user {}", id.0))
    }

    pub fn team(&self, id: Option<opsdesk_domain::TeamId>) -> String {
        match id {
            Some(id) => self
                .teams
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("team {}", id.0)),
            None => String::new(),
        }
    }
}

/// A ticket as a row of a list.
#[derive(Debug, Clone)]
pub struct TicketRow {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub kind: String,
    pub state: String,
    pub state_class: &'static str,
    pub priority: &'static str,
    pub assignee: String,
    pub team: String,
    pub updated: String,
    pub updated_iso: String,
    pub href: String,
    /// The SLA in a word or two ("due 11-30 14:00", "Breached"), if any.
    pub sla: String,
    pub sla_class: &'static str,
}

/// A ticket's SLA for a list: the earliest running clock's due time, or
/// how it ended.
pub fn sla_cell(t: &Ticket) -> (String, &'static str) {
    use opsdesk_domain::sla::ClockState;
    let Some(sla) = &t.sla else {
        return (String::new(), "");
    };
    match sla.status {
        ClockState::Breached => ("Breached".to_string(), "bad"),
        ClockState::Met => ("Met".to_string(), "good"),
        ClockState::Paused => ("Paused".to_string(), ""),
        ClockState::NotStarted => (String::new(), ""),
        ClockState::Running => match sla.due_at {
            Some(due) if due <= Timestamp::now() => ("Overdue".to_string(), "bad"),
            Some(due) => (format!("due {}", due.strftime("%m-%d %H:%M")), ""),
            None => (String::new(), ""),
        },
    }
}

impl TicketRow {
    pub fn new(t: &Ticket, names: &Names, href_base: &str) -> TicketRow {
        TicketRow {
            id: t.id.0,
            number: t.number.clone(),
            title: t.title.clone(),
            kind: label(t.kind.as_str()),
            state: label(t.state.as_str()),
            state_class: if t.state.is_open() { "open" } else { "done" },
            priority: t.priority.as_str(),
            assignee: t
                .assignee_id
                .map(|a| names.user(Some(a)))
                .unwrap_or_default(),
            team: names.team(t.team_id),
            updated: t.updated_at.strftime("%Y-%m-%d %H:%M").to_string(),
            updated_iso: iso(t.updated_at),
            href: format!("{href_base}{}", t.number),
            sla: sla_cell(t).0,
            sla_class: sla_cell(t).1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_like_words() {
        assert_eq!(label("in_progress"), "In progress");
        assert_eq!(label("P1"), "P1");
        assert_eq!(label(""), "");
    }

    #[test]
    fn unknown_notices_show_nothing() {
        assert_eq!(notice_text("replied"), Some("Reply added."));
        assert_eq!(notice_text("<script>"), None);
    }
}
