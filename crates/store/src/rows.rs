//! Turning rows into models. Columns are named explicitly everywhere (never
//! `SELECT *`) so the PostgreSQL-only `search` column never reaches a decoder.

use crate::StoreError;
use crate::models::*;
use jiff::Timestamp;
use opsdesk_domain::*;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::str::FromStr;

pub(crate) fn ts(micros: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(micros)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {micros}: {e}")))
}

pub(crate) fn opt_ts(micros: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    micros.map(ts).transpose()
}

pub(crate) fn parse<T: FromStr<Err = String>>(column: &str, value: &str) -> Result<T, StoreError> {
    value
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn opt_parse<T: FromStr<Err = String>>(
    column: &str,
    value: Option<String>,
) -> Result<Option<T>, StoreError> {
    value.map(|v| parse(column, &v)).transpose()
}

pub(crate) const USER_COLUMNS: &str = "id, username, display_name, email, role, organization, active, created_at, password_hash, failed_logins, locked_until";

pub(crate) fn user_credentials(row: &AnyRow) -> Result<UserCredentials, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(UserCredentials {
        user: User {
            id: UserId(row.try_get("id")?),
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
            email: row.try_get("email")?,
            role: parse("role", &role)?,
            organization: row.try_get("organization")?,
            active: row.try_get::<i64, _>("active")? != 0,
            created_at: ts(row.try_get("created_at")?)?,
        },
        password_hash: row.try_get("password_hash")?,
        failed_logins: row.try_get("failed_logins")?,
        locked_until: opt_ts(row.try_get("locked_until")?)?,
    })
}

pub(crate) const TICKET_COLUMNS: &str = "id, kind, number, state, title, description, requester_id, team_id, \
    assignee_id, service_id, category, tags, impact, urgency, priority, priority_override_reason, on_hold_reason, \
    resolution_code, resolution_note, workaround, change_outcome, reopen_count, merged_into_id, created_at, \
    updated_at, acknowledged_at, acknowledged_by, first_response_at, resolved_at, closed_at, reopened_at, version, sla_status, sla_due_at";

pub(crate) fn ticket(row: &AnyRow) -> Result<Ticket, StoreError> {
    let kind: String = row.try_get("kind")?;
    let state: String = row.try_get("state")?;
    let impact: String = row.try_get("impact")?;
    let urgency: String = row.try_get("urgency")?;
    let tags: String = row.try_get("tags")?;
    let priority: i64 = row.try_get("priority")?;
    Ok(Ticket {
        id: TicketId(row.try_get("id")?),
        number: row.try_get("number")?,
        kind: parse("kind", &kind)?,
        state: parse("state", &state)?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        requester_id: UserId(row.try_get("requester_id")?),
        team_id: row.try_get::<Option<i64>, _>("team_id")?.map(TeamId),
        assignee_id: row.try_get::<Option<i64>, _>("assignee_id")?.map(UserId),
        service_id: row.try_get::<Option<i64>, _>("service_id")?.map(ServiceId),
        category: row.try_get("category")?,
        tags: serde_json::from_str(&tags).map_err(|e| StoreError::Corrupt(format!("tags: {e}")))?,
        impact: parse("impact", &impact)?,
        urgency: parse("urgency", &urgency)?,
        priority: Priority::from_rank(priority)
            .ok_or_else(|| StoreError::Corrupt(format!("priority rank {priority}")))?,
        priority_override_reason: row.try_get("priority_override_reason")?,
        on_hold_reason: opt_parse("on_hold_reason", row.try_get("on_hold_reason")?)?,
        resolution_code: row.try_get("resolution_code")?,
        resolution_note: row.try_get("resolution_note")?,
        workaround: row.try_get("workaround")?,
        change_outcome: opt_parse("change_outcome", row.try_get("change_outcome")?)?,
        reopen_count: row.try_get("reopen_count")?,
        merged_into_id: row
            .try_get::<Option<i64>, _>("merged_into_id")?
            .map(TicketId),
        created_at: ts(row.try_get("created_at")?)?,
        updated_at: ts(row.try_get("updated_at")?)?,
        acknowledged_at: opt_ts(row.try_get("acknowledged_at")?)?,
        acknowledged_by: row
            .try_get::<Option<i64>, _>("acknowledged_by")?
            .map(UserId),
        first_response_at: opt_ts(row.try_get("first_response_at")?)?,
        resolved_at: opt_ts(row.try_get("resolved_at")?)?,
        closed_at: opt_ts(row.try_get("closed_at")?)?,
        reopened_at: opt_ts(row.try_get("reopened_at")?)?,
        version: row.try_get("version")?,
        sla: sla_summary(row)?,
    })
}

fn sla_summary(row: &AnyRow) -> Result<Option<SlaSummary>, StoreError> {
    let Some(status) = row.try_get::<Option<String>, _>("sla_status")? else {
        return Ok(None);
    };
    let status = opsdesk_domain::sla::ClockState::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("sla_status '{status}'")))?;
    Ok(Some(SlaSummary {
        status,
        due_at: opt_ts(row.try_get("sla_due_at")?)?,
    }))
}

pub(crate) const COMMENT_COLUMNS: &str =
    "id, ticket_id, author_id, visibility, body, created_at, moved_from_ticket_id";

pub(crate) fn comment(row: &AnyRow) -> Result<Comment, StoreError> {
    let visibility: String = row.try_get("visibility")?;
    Ok(Comment {
        id: row.try_get("id")?,
        ticket_id: TicketId(row.try_get("ticket_id")?),
        author_id: UserId(row.try_get("author_id")?),
        visibility: match visibility.as_str() {
            "public" => Visibility::Public,
            "internal" => Visibility::Internal,
            other => return Err(StoreError::Corrupt(format!("visibility '{other}'"))),
        },
        body: row.try_get("body")?,
        created_at: ts(row.try_get("created_at")?)?,
        moved_from_ticket_id: row
            .try_get::<Option<i64>, _>("moved_from_ticket_id")?
            .map(TicketId),
    })
}

pub(crate) const EVENT_COLUMNS: &str = "seq, at, actor_id, entity, entity_id, kind, data";

pub(crate) fn event(row: &AnyRow) -> Result<Event, StoreError> {
    let data: String = row.try_get("data")?;
    Ok(Event {
        seq: row.try_get("seq")?,
        at: ts(row.try_get("at")?)?,
        actor_id: row.try_get::<Option<i64>, _>("actor_id")?.map(UserId),
        entity: row.try_get("entity")?,
        entity_id: row.try_get("entity_id")?,
        kind: row.try_get("kind")?,
        data: serde_json::from_str(&data)
            .map_err(|e| StoreError::Corrupt(format!("event data: {e}")))?,
    })
}

/// A query whose text was assembled at run time. Audited: every caller builds
/// it only from constant column lists, fixed keywords and `$n` placeholders;
/// values from users are always bound, never spliced in.
pub(crate) fn dynamic_query<'q>(
    sql: &str,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
}
