//! Who may do what. The server asks these questions on every route; nothing
//! about roles is decided anywhere else.

use crate::ids::UserId;
use crate::transition::TransitionName;
use serde::{Deserialize, Serialize};

/// Roles are ordered: each one can do everything the one before it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Requester,
    Agent,
    Manager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Requester, Role::Agent, Role::Manager, Role::Admin];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Requester => "requester",
            Role::Agent => "agent",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }
}

str_names!(Role, "role");

/// A right that some roles have. Ticket visibility for requesters is not a
/// permission but a rule on the ticket itself: see [`Actor::can_see_ticket`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Open tickets (requesters open their own).
    CreateTicket,
    /// See and work every ticket: update fields, assign, any transition, link, merge.
    WorkAllTickets,
    /// Read and write internal work notes.
    InternalNotes,
    /// Override the computed priority (with a reason).
    OverridePriority,
    /// Read teams, services and users (names for pickers).
    ReadDirectory,
    /// Create and change teams, their members, and services.
    ManageTeamsAndServices,
    /// Create users, change roles, deactivate accounts.
    ManageUsers,
    /// Create and revoke API tokens for any user.
    ManageAllTokens,
    /// Read the audit log and verify the chain.
    ReadAudit,
    /// Read service reports across all tickets (SLA compliance, KPIs).
    ReadReports,
}

impl Permission {
    fn least_role(self) -> Role {
        match self {
            Permission::CreateTicket => Role::Requester,
            Permission::WorkAllTickets
            | Permission::InternalNotes
            | Permission::OverridePriority
            | Permission::ReadDirectory
            | Permission::ReadReports => Role::Agent,
            Permission::ManageTeamsAndServices | Permission::ReadAudit => Role::Manager,
            Permission::ManageUsers | Permission::ManageAllTokens => Role::Admin,
        }
    }
}

/// The authenticated principal of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub role: Role,
}

impl Actor {
    pub fn can(&self, permission: Permission) -> bool {
        self.role >= permission.least_role()
    }

    /// Requesters see only the tickets they requested; everyone else sees all.
    pub fn can_see_ticket(&self, requester: UserId) -> bool {
        self.can(Permission::WorkAllTickets) || self.user_id == requester
    }

    /// The steps a requester may take on their own ticket: confirm or reopen a
    /// resolution, and withdraw something they asked for. Agents may take any.
    pub fn may_take_step(&self, requester: UserId, step: TransitionName) -> bool {
        if self.can(Permission::WorkAllTickets) {
            return true;
        }
        self.user_id == requester
            && matches!(
                step,
                TransitionName::Reopen | TransitionName::Close | TransitionName::Cancel
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role) -> Actor {
        Actor {
            user_id: UserId(1),
            role,
        }
    }

    #[test]
    fn permission_matrix() {
        use Permission::*;
        // (permission, requester, agent, manager, admin)
        let table = [
            (CreateTicket, true, true, true, true),
            (WorkAllTickets, false, true, true, true),
            (InternalNotes, false, true, true, true),
            (OverridePriority, false, true, true, true),
            (ReadDirectory, false, true, true, true),
            (ManageTeamsAndServices, false, false, true, true),
            (ReadAudit, false, false, true, true),
            (ReadReports, false, true, true, true),
            (ManageUsers, false, false, false, true),
            (ManageAllTokens, false, false, false, true),
        ];
        for (perm, r, a, m, ad) in table {
            let got = Role::ALL.map(|role| actor(role).can(perm));
            assert_eq!(got, [r, a, m, ad], "{perm:?}");
        }
    }

    #[test]
    fn requesters_see_only_their_own_tickets() {
        let me = actor(Role::Requester);
        assert!(me.can_see_ticket(UserId(1)));
        assert!(!me.can_see_ticket(UserId(2)));
        assert!(actor(Role::Agent).can_see_ticket(UserId(2)));
    }

    #[test]
    fn requesters_may_only_confirm_reopen_or_withdraw_their_own() {
        let me = actor(Role::Requester);
        for step in TransitionName::ALL {
            let expected = matches!(
                step,
                TransitionName::Reopen | TransitionName::Close | TransitionName::Cancel
            );
            assert_eq!(me.may_take_step(UserId(1), step), expected, "{step}");
            assert!(
                !me.may_take_step(UserId(2), step),
                "{step} on someone else's ticket"
            );
            assert!(actor(Role::Agent).may_take_step(UserId(2), step));
        }
    }
}
