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

/// Read access to one result row by column name, so one decoder serves a
/// row from the driver and a row that arrived inside a JSON page (see
/// [`JsonRows`]).
pub(crate) trait Columns {
    fn int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn text(&self, column: &str) -> Result<Option<String>, StoreError>;

    fn req_int(&self, column: &str) -> Result<i64, StoreError> {
        self.int(column)?
            .ok_or_else(|| StoreError::Corrupt(format!("{column} is NULL")))
    }

    fn req_text(&self, column: &str) -> Result<String, StoreError> {
        self.text(column)?
            .ok_or_else(|| StoreError::Corrupt(format!("{column} is NULL")))
    }
}

impl Columns for AnyRow {
    fn int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(column)?)
    }
}

/// Rows that SQLite aggregated into one JSON array of arrays
/// (`json_group_array(json_array(COLUMNS))`), one inner array per row in
/// `columns` order.
///
/// Why: the SQLite driver runs each connection on its own thread and hands
/// every result row across a channel, waking the reading task once per row.
/// A 50-row queue page cost about 20 thread switches; as one JSON value it
/// crosses once.
pub(crate) struct JsonRows {
    columns: &'static [&'static str],
    rows: Vec<Vec<serde_json::Value>>,
}

/// One row of a [`JsonRows`].
pub(crate) struct JsonRow<'a> {
    columns: &'static [&'static str],
    values: &'a [serde_json::Value],
}

impl JsonRows {
    /// The SELECT list that yields one JSON page for `query`, whose result
    /// columns are exactly `columns`. Rows keep the order `query` gives them.
    pub(crate) fn wrap(columns: &[&str], query: &str) -> String {
        format!(
            "SELECT json_group_array(json_array({})) FROM ({query})",
            columns.join(", ")
        )
    }

    pub(crate) fn parse(
        columns: &'static [&'static str],
        json: Option<&str>,
    ) -> Result<JsonRows, StoreError> {
        let rows: Vec<Vec<serde_json::Value>> = match json {
            Some(json) => serde_json::from_str(json)
                .map_err(|e| StoreError::Corrupt(format!("JSON page: {e}")))?,
            None => Vec::new(),
        };
        if let Some(bad) = rows.iter().find(|r| r.len() != columns.len()) {
            return Err(StoreError::Corrupt(format!(
                "JSON page row has {} values for {} columns",
                bad.len(),
                columns.len()
            )));
        }
        Ok(JsonRows { columns, rows })
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = JsonRow<'_>> {
        self.rows.iter().map(|values| JsonRow {
            columns: self.columns,
            values,
        })
    }
}

impl JsonRow<'_> {
    fn value(&self, column: &str) -> Result<&serde_json::Value, StoreError> {
        self.columns
            .iter()
            .position(|c| *c == column)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| StoreError::Corrupt(format!("no column {column} in JSON page")))
    }
}

impl Columns for JsonRow<'_> {
    fn int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        match self.value(column)? {
            serde_json::Value::Null => Ok(None),
            v => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| StoreError::Corrupt(format!("{column}: {v} is not an integer"))),
        }
    }

    fn text(&self, column: &str) -> Result<Option<String>, StoreError> {
        match self.value(column)? {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::String(s) => Ok(Some(s.clone())),
            v => Err(StoreError::Corrupt(format!("{column}: {v} is not text"))),
        }
    }
}

pub(crate) const TICKET_COLUMNS: &str = "id, kind, number, state, title, description, requester_id, team_id, \
    assignee_id, service_id, category, tags, impact, urgency, priority, priority_override_reason, on_hold_reason, \
    resolution_code, resolution_note, workaround, change_outcome, reopen_count, merged_into_id, created_at, \
    updated_at, acknowledged_at, acknowledged_by, first_response_at, resolved_at, closed_at, reopened_at, version, sla_status, sla_due_at";

/// [`TICKET_COLUMNS`] as a list, for [`JsonRows`].
pub(crate) static TICKET_COLUMN_LIST: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| TICKET_COLUMNS.split(", ").map(str::trim).collect());

pub(crate) fn ticket(row: &impl Columns) -> Result<Ticket, StoreError> {
    let kind = row.req_text("kind")?;
    let state = row.req_text("state")?;
    let impact = row.req_text("impact")?;
    let urgency = row.req_text("urgency")?;
    let tags = row.req_text("tags")?;
    let priority = row.req_int("priority")?;
    Ok(Ticket {
        id: TicketId(row.req_int("id")?),
        number: row.req_text("number")?,
        kind: parse("kind", &kind)?,
        state: parse("state", &state)?,
        title: row.req_text("title")?,
        description: row.req_text("description")?,
        requester_id: UserId(row.req_int("requester_id")?),
        team_id: row.int("team_id")?.map(TeamId),
        assignee_id: row.int("assignee_id")?.map(UserId),
        service_id: row.int("service_id")?.map(ServiceId),
        category: row.text("category")?,
        tags: serde_json::from_str(&tags).map_err(|e| StoreError::Corrupt(format!("tags: {e}")))?,
        impact: parse("impact", &impact)?,
        urgency: parse("urgency", &urgency)?,
        priority: Priority::from_rank(priority)
            .ok_or_else(|| StoreError::Corrupt(format!("priority rank {priority}")))?,
        priority_override_reason: row.text("priority_override_reason")?,
        on_hold_reason: opt_parse("on_hold_reason", row.text("on_hold_reason")?)?,
        resolution_code: row.text("resolution_code")?,
        resolution_note: row.text("resolution_note")?,
        workaround: row.text("workaround")?,
        change_outcome: opt_parse("change_outcome", row.text("change_outcome")?)?,
        reopen_count: row.req_int("reopen_count")?,
        merged_into_id: row.int("merged_into_id")?.map(TicketId),
        created_at: ts(row.req_int("created_at")?)?,
        updated_at: ts(row.req_int("updated_at")?)?,
        acknowledged_at: opt_ts(row.int("acknowledged_at")?)?,
        acknowledged_by: row.int("acknowledged_by")?.map(UserId),
        first_response_at: opt_ts(row.int("first_response_at")?)?,
        resolved_at: opt_ts(row.int("resolved_at")?)?,
        closed_at: opt_ts(row.int("closed_at")?)?,
        reopened_at: opt_ts(row.int("reopened_at")?)?,
        version: row.req_int("version")?,
        sla: sla_summary(row)?,
    })
}

fn sla_summary(row: &impl Columns) -> Result<Option<SlaSummary>, StoreError> {
    let Some(status) = row.text("sla_status")? else {
        return Ok(None);
    };
    let status = opsdesk_domain::sla::ClockState::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("sla_status '{status}'")))?;
    Ok(Some(SlaSummary {
        status,
        due_at: opt_ts(row.int("sla_due_at")?)?,
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
