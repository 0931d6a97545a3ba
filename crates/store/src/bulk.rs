//! Many rows in one statement parameter.
//!
//! Binding thousands of `$n` parameters is slow on SQLite (the driver looks
//! each one up by name, which costs time proportional to the number of
//! parameters, so a statement with n of them costs n²) and PostgreSQL caps
//! a statement at 65,535. Bulk statements instead bind one JSON array and
//! expand it in SQL. This is one of the few places the dialects differ:
//! SQLite reads JSON with `json_each`, PostgreSQL with
//! `json_array_elements`; rows written for SQLite's hot statements go in
//! its binary form (see [`RowsParam`]), which the same SQL reads.

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

/// The rows of one bulk parameter (see [`rows`]), written value by value:
/// JSON text for PostgreSQL; for SQLite the binary form of JSON its
/// functions read as it is (JSONB, <https://sqlite.org/jsonb.html>).
///
/// Why not JSON text on SQLite too: every bulk statement turns its text
/// into JSONB first, and each string that held a JSON document (labels,
/// annotations) was stored escaped and unescaped character by character
/// on every read; together they were a fifth of the writer's work for a
/// new alert (docs/BENCHMARKS.md, "Alert intake, ninth pass"). Strings go
/// in as raw text, which SQLite hands back without looking at it.
pub(crate) struct RowsParam {
    backend: Backend,
    out: Vec<u8>,
    /// Where the row being written starts (its header, on SQLite).
    row: Option<usize>,
    /// Whether the current array (the rows, or a row) has no element yet.
    empty: bool,
}

/// JSONB element types (the low four bits of an element's first byte).
mod jsonb {
    pub(super) const NULL: u8 = 0x0;
    pub(super) const INT: u8 = 0x3;
    pub(super) const TEXT_RAW: u8 = 0xA;
    pub(super) const ARRAY: u8 = 0xB;
    /// Size field marker: the payload size follows in four bytes
    /// (big-endian). Arrays take it always, so that their size can be
    /// filled in once they are written.
    pub(super) const SIZE_IN_4_BYTES: u8 = 0xE;
}

impl RowsParam {
    pub(crate) fn new(backend: Backend, rows: usize) -> RowsParam {
        let mut param = RowsParam {
            backend,
            out: Vec::with_capacity(rows.saturating_mul(256).saturating_add(8)),
            row: None,
            empty: true,
        };
        param.open_array();
        param
    }

    /// `rows` as one parameter, each row's values written by `row`.
    pub(crate) fn of<R>(
        backend: Backend,
        rows: &[R],
        row: impl Fn(&mut RowsParam, &R) -> Result<(), crate::StoreError>,
    ) -> Result<crate::tx::Bound, crate::StoreError> {
        let mut param = RowsParam::new(backend, rows.len());
        for r in rows {
            param.begin_row();
            row(&mut param, r)?;
            param.end_row();
        }
        param.finish()
    }

    /// Starts the next row; end it with [`RowsParam::end_row`].
    pub(crate) fn begin_row(&mut self) {
        self.separate();
        self.row = Some(self.out.len());
        self.open_array();
    }

    pub(crate) fn end_row(&mut self) {
        if let Some(start) = self.row.take() {
            self.close_array(start);
        }
        self.empty = false;
    }

    pub(crate) fn int(&mut self, value: Option<i64>) {
        self.separate();
        let Some(value) = value else {
            return self.null();
        };
        // The decimal digits, written without an allocation per value.
        let mut digits = [0_u8; 20];
        let mut rest = &mut digits[..];
        let written = std::io::Write::write_fmt(&mut rest, format_args!("{value}"));
        let len = 20 - rest.len();
        let digits = &digits[..len];
        debug_assert!(written.is_ok(), "an i64 has at most 20 characters");
        match self.backend {
            Backend::Sqlite => self.jsonb_element(jsonb::INT, digits),
            Backend::Postgres => self.out.extend_from_slice(digits),
        }
    }

    pub(crate) fn text(&mut self, value: Option<&str>) -> Result<(), crate::StoreError> {
        self.separate();
        let Some(value) = value else {
            self.null();
            return Ok(());
        };
        match self.backend {
            Backend::Sqlite => self.jsonb_element(jsonb::TEXT_RAW, value.as_bytes()),
            Backend::Postgres => serde_json::to_writer(&mut self.out, value)
                .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?,
        }
        Ok(())
    }

    pub(crate) fn bound(&mut self, value: &crate::tx::Bound) -> Result<(), crate::StoreError> {
        use crate::tx::Bound;
        match value {
            Bound::Int(i) => self.int(*i),
            Bound::Text(t) => self.text(t.as_deref())?,
            Bound::Blob(_) => {
                return Err(crate::StoreError::Corrupt(
                    "a bulk row holds integers and text only".into(),
                ));
            }
        }
        Ok(())
    }

    /// The parameter to bind.
    pub(crate) fn finish(mut self) -> Result<crate::tx::Bound, crate::StoreError> {
        use crate::tx::Bound;
        if self.row.is_some() {
            return Err(crate::StoreError::Corrupt(
                "a bulk row was left open".into(),
            ));
        }
        self.close_array(0);
        match self.backend {
            Backend::Sqlite => Ok(Bound::Blob(self.out)),
            Backend::Postgres => String::from_utf8(self.out)
                .map(|text| Bound::Text(Some(text)))
                .map_err(|e| crate::StoreError::Corrupt(e.to_string())),
        }
    }

    fn null(&mut self) {
        match self.backend {
            Backend::Sqlite => self.out.push(jsonb::NULL),
            Backend::Postgres => self.out.extend_from_slice(b"null"),
        }
    }

    /// Before an element: JSON text's comma.
    fn separate(&mut self) {
        if self.backend == Backend::Postgres && !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
    }

    fn open_array(&mut self) {
        match self.backend {
            Backend::Sqlite => {
                self.out.extend_from_slice(&[
                    jsonb::SIZE_IN_4_BYTES << 4 | jsonb::ARRAY,
                    0,
                    0,
                    0,
                    0,
                ]);
            }
            Backend::Postgres => self.out.push(b'['),
        }
        self.empty = true;
    }

    /// Ends the array whose header is at `start`.
    fn close_array(&mut self, start: usize) {
        match self.backend {
            Backend::Sqlite => {
                let size = self.out.len().saturating_sub(start + 5);
                let size = u32::try_from(size).unwrap_or(u32::MAX).to_be_bytes();
                if let Some(field) = self.out.get_mut(start + 1..start + 5) {
                    field.copy_from_slice(&size);
                }
            }
            Backend::Postgres => self.out.push(b']'),
        }
    }

    /// One JSONB element: its header (type and the payload's size, in as
    /// few bytes as the size needs) and its payload.
    fn jsonb_element(&mut self, kind: u8, payload: &[u8]) {
        let size = payload.len();
        if size <= 11 {
            self.out.push((size as u8) << 4 | kind);
        } else if let Ok(size) = u8::try_from(size) {
            self.out.extend_from_slice(&[0xC << 4 | kind, size]);
        } else if let Ok(size) = u16::try_from(size) {
            self.out.push(0xD << 4 | kind);
            self.out.extend_from_slice(&size.to_be_bytes());
        } else {
            let size = u32::try_from(size).unwrap_or(u32::MAX);
            self.out.push(jsonb::SIZE_IN_4_BYTES << 4 | kind);
            self.out.extend_from_slice(&size.to_be_bytes());
        }
        self.out.extend_from_slice(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::{Column, RowsParam, rows};
    use crate::testing::TestDb;
    use crate::tx::{Bound, bind_all};
    use sqlx::Row;

    /// Strings around each size the JSONB header encodes differently, and
    /// those JSON escapes or whose bytes are not ASCII.
    fn texts() -> Vec<String> {
        let mut texts: Vec<String> = [0, 1, 11, 12, 255, 256, 65_535, 65_536, 100_000]
            .iter()
            .map(|n| "x".repeat(*n))
            .collect();
        texts.extend(
            [
                r#"{"alertname":"Disk full","job":"node"}"#,
                "quote \" backslash \\ slash / tab \t newline \n",
                "\u{1}\u{1f} control (PostgreSQL text holds no NUL)",
                "Grüße, 障害, 🔥",
                "null",
                "[1,2]",
            ]
            .map(String::from),
        );
        texts
    }

    /// Every value written into a bulk parameter reads back the same
    /// through [`rows`], on each backend: integers at their limits, text
    /// of every header size and escape, and NULLs of both types.
    async fn rows_read_back_as_written(db: &TestDb) {
        let backend = db.store.backend();
        let ints = [
            Some(0),
            Some(7),
            Some(-1),
            Some(i64::MIN),
            Some(i64::MAX),
            None,
        ];
        let texts = texts();
        let mut written: Vec<(Option<i64>, Option<String>)> = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            written.push((ints[i % ints.len()], Some(text.clone())));
        }
        written.push((None, None));
        let mut param = RowsParam::new(backend, written.len());
        for (int, text) in &written {
            param.begin_row();
            param.int(*int);
            param.text(text.as_deref()).expect("text");
            param.end_row();
        }
        let param = param.finish().expect("a parameter");
        match (&param, backend) {
            (Bound::Blob(_), crate::Backend::Sqlite)
            | (Bound::Text(_), crate::Backend::Postgres) => {}
            other => panic!("unexpected parameter kind {other:?}"),
        }
        let sql = format!(
            "SELECT c0, c1 FROM ({}) AS r",
            rows(backend, "$1", &[Column::Int, Column::Text])
        );
        let read: Vec<(Option<i64>, Option<String>)> =
            bind_all(crate::rows::dynamic_query(&sql), vec![param])
                .fetch_all(db.store.pool())
                .await
                .expect("rows")
                .iter()
                .map(|r| (r.get("c0"), r.get("c1")))
                .collect();
        assert_eq!(read.len(), written.len());
        for (i, (read, written)) in read.iter().zip(&written).enumerate() {
            assert_eq!(read, written, "row {i}");
        }
    }

    /// SQLite renders the binary rows as the same JSON document as the
    /// text written for PostgreSQL: the encoding is what SQLite reads it as.
    #[tokio::test]
    async fn sqlite_reads_the_binary_rows_as_the_json_text() {
        let db = TestDb::sqlite().await;
        let mut binary = RowsParam::new(crate::Backend::Sqlite, 2);
        let mut text = RowsParam::new(crate::Backend::Postgres, 2);
        for param in [&mut binary, &mut text] {
            for (i, t) in texts().iter().enumerate() {
                param.begin_row();
                param.int(Some(i as i64 - 3));
                param.text(Some(t)).expect("text");
                param.int(None);
                param.end_row();
            }
            param.begin_row();
            param.end_row();
        }
        let (Bound::Blob(binary), Bound::Text(Some(text))) = (
            binary.finish().expect("binary"),
            text.finish().expect("text"),
        ) else {
            panic!("a blob and a text");
        };
        let rendered: String = sqlx::query("SELECT json($1) AS j")
            .bind(binary)
            .fetch_one(db.store.pool())
            .await
            .expect("rendered")
            .get("j");
        let rendered: serde_json::Value = serde_json::from_str(&rendered).expect("JSON");
        let expected: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(rendered, expected);
        let valid: i64 = sqlx::query("SELECT json_valid(jsonb($1), 8) AS v")
            .bind(serde_json::to_string(&expected).expect("text"))
            .fetch_one(db.store.pool())
            .await
            .expect("checked")
            .get("v");
        assert_eq!(valid, 1);
        db.cleanup().await;
    }

    crate::testing::on_both_backends!(rows_read_back_as_written);
}
