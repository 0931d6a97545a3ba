//! Many rows in one statement parameter.
//!
//! Binding thousands of `$n` parameters is slow on SQLite (the driver looks
//! each one up by name, which costs time proportional to the number of
//! parameters, so a statement with n of them costs n²) and PostgreSQL caps
//! a statement at 65,535. Bulk statements instead bind one JSON array and
//! expand it in SQL. This is one of the few places the dialects differ:
//! SQLite reads JSON with `json_each`, PostgreSQL with
//! `json_array_elements`.

use crate::Backend;
use std::sync::OnceLock;

/// The SQL type a JSON value is read back as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    Int,
    Text,
}

/// A subquery yielding one row per element of the JSON array bound to
/// `param` (of integers), as column `value`: for `x IN (…)`.
pub(crate) fn ints(backend: Backend, param: &str) -> String {
    match backend {
        Backend::Sqlite => format!("SELECT value FROM json_each({param})"),
        Backend::Postgres => {
            format!("SELECT value::bigint FROM json_array_elements_text({param}::json)")
        }
    }
}

/// As [`ints`], for an array of strings.
pub(crate) fn texts(backend: Backend, param: &str) -> String {
    match backend {
        Backend::Sqlite => format!("SELECT value FROM json_each({param})"),
        Backend::Postgres => format!("SELECT value FROM json_array_elements_text({param}::json)"),
    }
}

/// A subquery yielding one row per element of the JSON array of arrays bound
/// to `param`, with columns `c0`, `c1`, … typed as `columns` says (JSON
/// `null` reads as SQL NULL).
pub(crate) fn rows(backend: Backend, param: &str, columns: &[Column]) -> String {
    let selected: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| match (backend, column) {
            (Backend::Sqlite, _) => format!("json_extract(value, '$[{i}]') AS c{i}"),
            (Backend::Postgres, Column::Int) => format!("(value->>{i})::bigint AS c{i}"),
            (Backend::Postgres, Column::Text) => format!("(value->>{i}) AS c{i}"),
        })
        .collect();
    let source = match backend {
        // `jsonb_each` hands each row over as binary JSON, which
        // `json_extract` reads as it is; `json_each` would render each row
        // as text for every column read, and each read parse it again.
        Backend::Sqlite => format!("jsonb_each({param})"),
        // Likewise `jsonb_array_elements`: `->>` on a `json` row parses
        // its text again for every column read.
        Backend::Postgres => format!("jsonb_array_elements({param}::jsonb)"),
    };
    format!("SELECT {} FROM {source}", selected.join(", "))
}

/// A JSON array built from SQL expressions, one per element (for reading
/// many rows back as one value; see [`agg`]).
pub(crate) fn array(backend: Backend, exprs: &[&str]) -> String {
    match backend {
        Backend::Sqlite => format!("json_array({})", exprs.join(", ")),
        Backend::Postgres => format!("json_build_array({})", exprs.join(", ")),
    }
}

/// The aggregate collecting `expr` over a query's rows into one JSON array,
/// as text. On PostgreSQL it is NULL over no rows (SQLite gives `[]`).
///
/// Reads of many rows return one value this way because the SQLite driver
/// hands each row from its worker thread to the caller separately, and
/// those hand-offs cost more than the rows.
pub(crate) fn agg(backend: Backend, expr: &str) -> String {
    match backend {
        Backend::Sqlite => format!("json_group_array({expr})"),
        Backend::Postgres => format!("json_agg({expr})::text"),
    }
}

/// The predicate "`column` is one of the integers in the JSON array bound
/// to `param`". On PostgreSQL this compares with an array rather than
/// `IN (subquery)`: not knowing how many elements the array holds, the
/// planner may otherwise hash the subquery and scan the whole table (it did
/// on `sla_clocks` before the table had statistics).
pub(crate) fn in_ints(backend: Backend, column: &str, param: &str) -> String {
    match backend {
        Backend::Sqlite => format!("{column} IN ({})", ints(backend, param)),
        Backend::Postgres => format!("{column} = ANY(ARRAY({}))", ints(backend, param)),
    }
}

/// As [`in_ints`], for an array of strings.
pub(crate) fn in_texts(backend: Backend, column: &str, param: &str) -> String {
    match backend {
        Backend::Sqlite => format!("{column} IN ({})", texts(backend, param)),
        Backend::Postgres => format!("{column} = ANY(ARRAY({}))", texts(backend, param)),
    }
}

/// SQL text that depends only on the dialect, built on first use and kept
/// for the process: `static SQL: PerBackend = PerBackend::new();`, then
/// `SQL.get(backend, |backend| format!(…))`.
pub(crate) struct PerBackend([OnceLock<String>; 2]);

impl PerBackend {
    pub(crate) const fn new() -> PerBackend {
        PerBackend([const { OnceLock::new() }; 2])
    }

    pub(crate) fn get(
        &'static self,
        backend: Backend,
        build: impl FnOnce(Backend) -> String,
    ) -> &'static str {
        let slot = match backend {
            Backend::Sqlite => 0,
            Backend::Postgres => 1,
        };
        self.0[slot].get_or_init(|| build(backend))
    }
}

/// `INSERT INTO table (columns…) SELECT v.c0, … FROM (rows) AS v`: the
/// rows of the JSON array bound to `param` (see [`rows`]) into `table`,
/// for the caller to go on with a `WHERE` and an `ON CONFLICT`.
pub(crate) fn insert_rows(
    backend: Backend,
    table: &str,
    columns: &[(&str, Column)],
    param: &str,
) -> String {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let types: Vec<Column> = columns.iter().map(|(_, t)| *t).collect();
    let selected: Vec<String> = (0..names.len()).map(|i| format!("v.c{i}")).collect();
    format!(
        "INSERT INTO {table} ({}) SELECT {} FROM ({}) AS v",
        names.join(", "),
        selected.join(", "),
        rows(backend, param, &types),
    )
}
