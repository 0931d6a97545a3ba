//! The business rules of opsdesk, free of I/O.
//!
//! Nothing here touches a database, a socket or the system clock: every
//! function that depends on time takes `now`. That keeps each rule testable
//! with table-driven and property tests, and lets a reader find any rule by
//! its name without wading through SQL or HTTP.

#[macro_use]
mod names;

pub mod alerts;
pub mod assignment;
pub mod audit;
pub mod calendar;
pub mod ids;
pub mod limits;
pub mod priority;
pub mod rbac;
pub mod redaction;
pub mod sla;
pub mod ticket;
pub mod transition;

pub use ids::*;
pub use priority::{Impact, Priority, Urgency};
pub use rbac::{Actor, Permission, Role};
pub use ticket::{LinkKind, TicketKind, TicketNumber, TicketState};
pub use transition::{Transition, TransitionError, TransitionName};

/// A rule violated by some input field, named so the edge can report it per
/// field (problem+json `errors[]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
