//! HTTP integration tests: the real server on a free port, a fresh database
//! per test, every test on SQLite and on PostgreSQL (see `common`).

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod alerts;
mod audit;
mod bad_input;
mod idempotency;
mod lifecycle;
mod listing;
mod privacy;
mod rbac;
mod redaction;
mod session;
mod sla;
mod system;
