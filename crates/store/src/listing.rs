//! Queue pages: filters, full-text search, keyset pagination, counts.
//!
//! Pages are keyset scans over `(sort column, id)` so page 1,000 costs the
//! same as page 1, and every filter combination the UI offers has an index.

use crate::rows::{JsonRows, TICKET_COLUMN_LIST, TICKET_COLUMNS, ticket};
use crate::{Backend, Page, Store, StoreError, Ticket};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use opsdesk_domain::limits::PAGE_SIZE_MAX;
use opsdesk_domain::{Priority, ServiceId, TeamId, TicketKind, TicketState, UserId};
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    User(UserId),
    Unassigned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    CreatedAt,
    UpdatedAt,
    Priority,
    /// When the earliest running SLA clock is due. Lists only tickets with
    /// a running clock (the others have no time to breach).
    SlaDue,
}

impl SortField {
    fn column(self) -> &'static str {
        match self {
            SortField::CreatedAt => "created_at",
            SortField::UpdatedAt => "updated_at",
            SortField::Priority => "priority",
            SortField::SlaDue => "sla_due_at",
        }
    }

    /// Parses `created_at`, `-updated_at`, `priority` (a leading '-' means descending).
    pub fn parse(s: &str) -> Result<(SortField, bool), String> {
        let (desc, name) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let field = match name {
            "created_at" => SortField::CreatedAt,
            "updated_at" => SortField::UpdatedAt,
            "priority" => SortField::Priority,
            "sla_due" => SortField::SlaDue,
            other => {
                return Err(format!(
                    "'{other}' is not a sortable field; use created_at, updated_at, priority or sla_due, with a leading '-' for descending"
                ));
            }
        };
        Ok((field, desc))
    }
}

#[derive(Debug, Clone)]
pub struct TicketQuery {
    pub kinds: Vec<TicketKind>,
    pub states: Vec<TicketState>,
    /// Open = somebody still owes work (see `TicketState::is_open`).
    pub open: Option<bool>,
    pub priorities: Vec<Priority>,
    pub team_ids: Vec<TeamId>,
    pub assignee: Option<AssigneeFilter>,
    pub requester_id: Option<UserId>,
    pub service_id: Option<ServiceId>,
    pub tag: Option<String>,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub updated_after: Option<Timestamp>,
    pub updated_before: Option<Timestamp>,
    /// Only tickets whose earliest running SLA clock is due before this
    /// instant (overdue ones included): "breaching in the next hour".
    pub sla_due_before: Option<Timestamp>,
    /// Full text over title and description.
    pub text: Option<String>,
    pub sort: SortField,
    pub descending: bool,
    pub cursor: Option<String>,
    pub limit: u32,
}

impl Default for TicketQuery {
    fn default() -> Self {
        TicketQuery {
            kinds: vec![],
            states: vec![],
            open: None,
            priorities: vec![],
            team_ids: vec![],
            assignee: None,
            requester_id: None,
            service_id: None,
            tag: None,
            created_after: None,
            created_before: None,
            updated_after: None,
            updated_before: None,
            sla_due_before: None,
            text: None,
            sort: SortField::CreatedAt,
            descending: true,
            cursor: None,
            limit: 50,
        }
    }
}

/// Open tickets per queue for one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct QueueCounts {
    /// Open tickets assigned to me (for a requester: my open requests).
    pub mine: i64,
    /// Open tickets of my teams (agents only).
    pub my_teams: Option<i64>,
    /// Open tickets nobody is assigned to (agents only).
    pub unassigned: Option<i64>,
    /// Every open ticket (agents only).
    pub all_open: Option<i64>,
}

#[derive(Debug)]
enum Param {
    Int(i64),
    Text(String),
}

/// Builds a WHERE clause with numbered placeholders.
#[derive(Default)]
struct Sql {
    conditions: Vec<String>,
    params: Vec<Param>,
}

impl Sql {
    fn param(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }

    fn int_in(&mut self, column: &str, values: impl IntoIterator<Item = i64>) {
        let list: Vec<String> = values
            .into_iter()
            .map(|v| self.param(Param::Int(v)))
            .collect();
        if !list.is_empty() {
            self.conditions
                .push(format!("{column} IN ({})", list.join(", ")));
        }
    }

    fn text_in(&mut self, column: &str, values: impl IntoIterator<Item = String>) {
        let list: Vec<String> = values
            .into_iter()
            .map(|v| self.param(Param::Text(v)))
            .collect();
        if !list.is_empty() {
            self.conditions
                .push(format!("{column} IN ({})", list.join(", ")));
        }
    }

    fn compare(&mut self, column: &str, op: &str, value: i64) {
        let p = self.param(Param::Int(value));
        self.conditions.push(format!("{column} {op} {p}"));
    }

    fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.conditions.join(" AND "))
        }
    }

    fn bind<'q>(
        &'q self,
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        for p in &self.params {
            q = match p {
                Param::Int(i) => q.bind(*i),
                Param::Text(s) => q.bind(s.as_str()),
            };
        }
        q
    }
}

/// Words of a search, each quoted so user input can never be FTS syntax.
fn fts5_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{w}\""))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

#[derive(Debug, PartialEq, Eq)]
struct Cursor {
    sort: String,
    value: i64,
    id: i64,
}

impl Cursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}:{}", self.sort, self.value, self.id))
    }

    fn decode(s: &str, sort: &str) -> Result<Cursor, StoreError> {
        let bad = || {
            StoreError::invalid(
                "cursor",
                "is not a cursor this list returned; start again without it",
            )
        };
        let raw = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let mut parts = raw.split(':');
        let (Some(s), Some(v), Some(i), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if s != sort {
            return Err(StoreError::invalid(
                "cursor",
                "belongs to a list with another sort order; start again without it",
            ));
        }
        Ok(Cursor {
            sort: s.to_string(),
            value: v.parse().map_err(|_| bad())?,
            id: i.parse().map_err(|_| bad())?,
        })
    }
}

impl Store {
    pub async fn list_tickets(&self, q: &TicketQuery) -> Result<Page<Ticket>, StoreError> {
        if q.limit == 0 || q.limit > PAGE_SIZE_MAX {
            return Err(StoreError::invalid(
                "limit",
                format!("must be 1 to {PAGE_SIZE_MAX}"),
            ));
        }
        let mut sql = Sql::default();
        sql.text_in("kind", q.kinds.iter().map(|k| k.as_str().to_string()));
        sql.text_in("state", q.states.iter().map(|s| s.as_str().to_string()));
        if let Some(open) = q.open {
            sql.compare("is_open", "=", i64::from(open));
        }
        sql.int_in("priority", q.priorities.iter().map(|p| p.rank()));
        sql.int_in("team_id", q.team_ids.iter().map(|t| t.0));
        match q.assignee {
            Some(AssigneeFilter::User(u)) => sql.compare("assignee_id", "=", u.0),
            Some(AssigneeFilter::Unassigned) => sql.conditions.push("assignee_id IS NULL".into()),
            None => {}
        }
        if let Some(r) = q.requester_id {
            sql.compare("requester_id", "=", r.0);
        }
        if let Some(s) = q.service_id {
            sql.compare("service_id", "=", s.0);
        }
        if let Some(tag) = &q.tag {
            let p = sql.param(Param::Text(tag.clone()));
            sql.conditions.push(format!(
                "id IN (SELECT ticket_id FROM ticket_tags WHERE tag = {p})"
            ));
        }
        for (column, op, value) in [
            ("created_at", ">=", q.created_after),
            ("created_at", "<", q.created_before),
            ("updated_at", ">=", q.updated_after),
            ("updated_at", "<", q.updated_before),
            ("sla_due_at", "<", q.sla_due_before),
        ] {
            if let Some(v) = value {
                sql.compare(column, op, v.as_microsecond());
            }
        }
        // Text search newest first on SQLite is driven from the FTS index in
        // rowid (= ticket id = creation) order, probing tickets by key, so a
        // page stops after `limit` hits however common the words are.
        let fts_newest_first = self.backend == Backend::Sqlite
            && q.text.is_some()
            && q.sort == SortField::CreatedAt
            && q.descending;
        let mut fts_match = None;
        if let Some(text) = &q.text {
            let words = fts5_query(text)
                .ok_or_else(|| StoreError::invalid("q", "must contain at least one word"))?;
            match self.backend {
                Backend::Sqlite if fts_newest_first => {
                    let p = sql.param(Param::Text(words));
                    fts_match = Some(p);
                }
                Backend::Sqlite => {
                    let p = sql.param(Param::Text(words));
                    sql.conditions.push(format!(
                        "id IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH {p})"
                    ));
                }
                Backend::Postgres => {
                    let p = sql.param(Param::Text(text.clone()));
                    sql.conditions
                        .push(format!("search @@ plainto_tsquery('english', {p})"));
                }
            }
        }
        if let Some(p) = fts_match {
            return self.search_newest_first(q, sql, &p).await;
        }
        let column = q.sort.column();
        if q.sort == SortField::SlaDue {
            sql.conditions.push("sla_due_at IS NOT NULL".into());
        }
        let sort_name = format!("{}{column}", if q.descending { "-" } else { "" });
        if let Some(c) = &q.cursor {
            let c = Cursor::decode(c, &sort_name)?;
            let op = if q.descending { "<" } else { ">" };
            let v = sql.param(Param::Int(c.value));
            let i = sql.param(Param::Int(c.id));
            sql.conditions.push(format!(
                "({column} {op} {v} OR ({column} = {v} AND id {op} {i}))"
            ));
        }
        let dir = if q.descending { "DESC" } else { "ASC" };
        let query = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets {} ORDER BY {column} {dir}, id {dir} LIMIT {}",
            sql.where_clause(),
            q.limit + 1
        );
        self.fetch_page(&sql, &query, q.limit, |t| {
            let value = match q.sort {
                SortField::CreatedAt => t.created_at.as_microsecond(),
                SortField::UpdatedAt => t.updated_at.as_microsecond(),
                SortField::Priority => t.priority.rank(),
                SortField::SlaDue => t
                    .sla
                    .as_ref()
                    .and_then(|s| s.due_at)
                    .map_or(i64::MAX, |d| d.as_microsecond()),
            };
            Cursor {
                sort: sort_name.clone(),
                value,
                id: t.id.0,
            }
        })
        .await
    }

    /// The SQLite full-text page, newest first (see `list_tickets`).
    async fn search_newest_first(
        &self,
        q: &TicketQuery,
        mut sql: Sql,
        match_param: &str,
    ) -> Result<Page<Ticket>, StoreError> {
        const SORT: &str = "search-newest";
        if let Some(c) = &q.cursor {
            let c = Cursor::decode(c, SORT)?;
            let p = sql.param(Param::Int(c.id));
            sql.conditions.push(format!("f.rowid < {p}"));
        }
        let filters: String = sql.conditions.iter().map(|c| format!(" AND {c}")).collect();
        let columns: String = TICKET_COLUMNS
            .split(", ")
            .map(|c| format!("t.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let query = format!(
            "SELECT {columns} FROM tickets_fts f JOIN tickets t ON t.id = f.rowid \
             WHERE tickets_fts MATCH {match_param}{filters} ORDER BY f.rowid DESC LIMIT {}",
            q.limit + 1
        );
        self.fetch_page(&sql, &query, q.limit, |t| Cursor {
            sort: SORT.to_string(),
            value: 0,
            id: t.id.0,
        })
        .await
    }

    /// Runs a page query that asked for `limit + 1` rows: the extra row only
    /// says there is a next page, whose cursor points after the last row kept.
    async fn fetch_page(
        &self,
        sql: &Sql,
        query: &str,
        limit: u32,
        cursor_after: impl Fn(&Ticket) -> Cursor,
    ) -> Result<Page<Ticket>, StoreError> {
        let mut items = match self.backend {
            // One JSON value instead of a row per ticket: see `JsonRows`.
            Backend::Sqlite => {
                let columns = TICKET_COLUMN_LIST.as_slice();
                let page: Option<String> = sql
                    .bind(crate::rows::dynamic_query(&JsonRows::wrap(columns, query)))
                    .fetch_one(&self.pool)
                    .await?
                    .try_get(0)?;
                JsonRows::parse(columns, page.as_deref())?
                    .iter()
                    .map(|row| ticket(&row))
                    .collect::<Result<Vec<_>, _>>()?
            }
            Backend::Postgres => sql
                .bind(crate::rows::dynamic_query(query))
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(ticket)
                .collect::<Result<Vec<_>, _>>()?,
        };
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|t| cursor_after(t).encode())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Counts for the queue sidebar. `agent` is false for requesters, who
    /// only have "my requests".
    pub async fn queue_counts(&self, user: UserId, agent: bool) -> Result<QueueCounts, StoreError> {
        // Counters kept by triggers (migration 0008): one row each, however
        // many tickets are open.
        let row = sqlx::query(
            "SELECT \
             COALESCE((SELECT n FROM open_ticket_counts WHERE scope = 'requester' AND scope_id = $1), 0) AS requested, \
             COALESCE((SELECT n FROM open_ticket_counts WHERE scope = 'assignee' AND scope_id = $1), 0) AS assigned, \
             COALESCE((SELECT CAST(SUM(n) AS BIGINT) FROM open_ticket_counts WHERE scope = 'team' \
                 AND scope_id IN (SELECT team_id FROM team_members WHERE user_id = $1)), 0) AS my_teams, \
             COALESCE((SELECT n FROM open_ticket_counts WHERE scope = 'unassigned' AND scope_id = 0), 0) AS unassigned, \
             COALESCE((SELECT n FROM open_ticket_counts WHERE scope = 'all' AND scope_id = 0), 0) AS all_open",
        )
        .bind(user.0)
        .fetch_one(&self.pool)
        .await?;
        if !agent {
            return Ok(QueueCounts {
                mine: row.try_get("requested")?,
                my_teams: None,
                unassigned: None,
                all_open: None,
            });
        }
        Ok(QueueCounts {
            mine: row.try_get("assigned")?,
            my_teams: Some(row.try_get("my_teams")?),
            unassigned: Some(row.try_get("unassigned")?),
            all_open: Some(row.try_get("all_open")?),
        })
    }

    /// The teams a user belongs to (for "my teams" queues).
    pub async fn teams_of(&self, user: UserId) -> Result<Vec<TeamId>, StoreError> {
        let rows =
            sqlx::query("SELECT team_id FROM team_members WHERE user_id = $1 ORDER BY team_id")
                .bind(user.0)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| Ok(TeamId(r.try_get("team_id")?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_words_are_quoted_so_input_is_never_syntax() {
        assert_eq!(
            fts5_query("printer OR \"jam\"*"),
            Some("\"printer\" \"OR\" \"jam\"".into())
        );
        assert_eq!(fts5_query("  -- ** "), None);
    }

    #[test]
    fn cursors_round_trip_and_refuse_another_sort() {
        let search = Cursor {
            sort: "search-newest".into(),
            value: 0,
            id: 9,
        };
        assert_eq!(
            Cursor::decode(&search.encode(), "search-newest").unwrap(),
            search
        );
        let c = Cursor {
            sort: "-created_at".into(),
            value: 42,
            id: 7,
        };
        assert_eq!(Cursor::decode(&c.encode(), "-created_at").unwrap(), c);
        assert!(Cursor::decode(&c.encode(), "priority").is_err());
        assert!(Cursor::decode("garbage!", "priority").is_err());
    }

    #[test]
    fn sort_parsing() {
        assert_eq!(
            SortField::parse("-updated_at"),
            Ok((SortField::UpdatedAt, true))
        );
        assert_eq!(
            SortField::parse("priority"),
            Ok((SortField::Priority, false))
        );
        assert!(SortField::parse("title").is_err());
    }
}
