//! What the store returns. These serialise as the API's JSON.

use jiff::Timestamp;
use opsdesk_domain::ticket::{ChangeOutcome, OnHoldReason};
use opsdesk_domain::{
    Impact, LinkKind, Priority, Role, ServiceId, TeamId, TicketId, TicketKind, TicketState,
    TokenId, Urgency, UserId,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct User {
    #[schema(value_type = i64)]
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    #[schema(value_type = String, example = "agent")]
    pub role: Role,
    pub organization: Option<String>,
    pub active: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// A user with the secret parts the API never shows.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: Option<String>,
    pub failed_logins: i64,
    pub locked_until: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub organization: Option<String>,
    /// An argon2id PHC string; `None` for accounts that only use tokens.
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ApiToken {
    #[schema(value_type = i64)]
    pub id: TokenId,
    #[schema(value_type = i64)]
    pub user_id: UserId,
    pub name: String,
    /// The first characters of the secret, to tell tokens apart.
    pub prefix: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Team {
    #[schema(value_type = i64)]
    pub id: TeamId,
    pub name: String,
    pub description: String,
    /// New tickets for this team without an assignee go to members in turn.
    pub round_robin: bool,
    #[schema(value_type = Vec<i64>)]
    pub members: Vec<UserId>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Service {
    #[schema(value_type = i64)]
    pub id: ServiceId,
    pub name: String,
    pub description: String,
    #[schema(value_type = Option<i64>)]
    pub owner_team_id: Option<TeamId>,
    /// 1 is the most critical.
    pub tier: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Ticket {
    #[schema(value_type = i64)]
    pub id: TicketId,
    /// Human number, e.g. INC-000123.
    pub number: String,
    #[schema(value_type = String, example = "incident")]
    pub kind: TicketKind,
    #[schema(value_type = String, example = "in_progress")]
    pub state: TicketState,
    pub title: String,
    pub description: String,
    #[schema(value_type = i64)]
    pub requester_id: UserId,
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<TeamId>,
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<UserId>,
    #[schema(value_type = Option<i64>)]
    pub service_id: Option<ServiceId>,
    pub category: Option<String>,
    pub tags: Vec<String>,
    #[schema(value_type = String, example = "high")]
    pub impact: Impact,
    #[schema(value_type = String, example = "medium")]
    pub urgency: Urgency,
    #[schema(value_type = String, example = "P2")]
    pub priority: Priority,
    /// Set when a person overrode the computed priority.
    pub priority_override_reason: Option<String>,
    #[schema(value_type = Option<String>)]
    pub on_hold_reason: Option<OnHoldReason>,
    pub resolution_code: Option<String>,
    pub resolution_note: Option<String>,
    pub workaround: Option<String>,
    #[schema(value_type = Option<String>)]
    pub change_outcome: Option<ChangeOutcome>,
    pub reopen_count: i64,
    #[schema(value_type = Option<i64>)]
    pub merged_into_id: Option<TicketId>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Timestamp>,
    #[schema(value_type = Option<i64>)]
    pub acknowledged_by: Option<UserId>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_response_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reopened_at: Option<Timestamp>,
    /// Increases with every change; for optimistic concurrency.
    pub version: i64,
    /// The SLA at a glance, from the SLA projection (refreshed within a
    /// second or two of a change; `GET /tickets/{t}/sla` computes every
    /// clock exactly). `null` when no SLA policy covers the ticket.
    pub sla: Option<SlaSummary>,
}

/// A ticket's most pressing SLA clock, for queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SlaSummary {
    /// `running`, `paused`, `met`, `breached` or `not_started`.
    #[schema(value_type = String, example = "running")]
    pub status: opsdesk_domain::sla::ClockState,
    /// When the earliest running clock is due (in the past when overdue).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// A reply the requester sees.
    Public,
    /// A work note only agents see.
    Internal,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Internal => "internal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Comment {
    pub id: i64,
    #[schema(value_type = i64)]
    pub ticket_id: TicketId,
    #[schema(value_type = i64)]
    pub author_id: UserId,
    pub visibility: Visibility,
    pub body: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Set on comments that came over from a merged duplicate.
    #[schema(value_type = Option<i64>)]
    pub moved_from_ticket_id: Option<TicketId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Link {
    #[schema(value_type = i64)]
    pub source_id: TicketId,
    pub source_number: String,
    #[schema(value_type = String, example = "duplicate_of")]
    pub kind: LinkKind,
    #[schema(value_type = i64)]
    pub target_id: TicketId,
    pub target_number: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = i64)]
    pub created_by: UserId,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Event {
    pub seq: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    #[schema(value_type = Option<i64>)]
    pub actor_id: Option<UserId>,
    pub entity: String,
    pub entity_id: String,
    pub kind: String,
    pub data: serde_json::Value,
}

/// A page of a list, with the cursor of the next page when there is one.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
