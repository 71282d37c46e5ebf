//! ivm users and their roles.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The prime administrator, created at first start; it cannot be deleted.
pub const PRIME_ADMIN: &str = "padmin";

/// A user's role, with IVM's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Role {
    /// May view and change everything.
    #[serde(rename = "View/Modify")]
    ViewModify,
    /// May only view; no changes, no virtual terminals.
    #[serde(rename = "View Only")]
    ViewOnly,
    /// May view and run service tasks.
    #[serde(rename = "Service Representative")]
    ServiceRep,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::ViewModify, Role::ViewOnly, Role::ServiceRep];

    /// IVM's name for the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ViewModify => "View/Modify",
            Role::ViewOnly => "View Only",
            Role::ServiceRep => "Service Representative",
        }
    }

    /// Parses IVM's name for the role.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether the role may change configuration.
    pub fn can_modify(self) -> bool {
        self == Role::ViewModify
    }
}

/// An ivm user as shown to callers (never with its password hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Role, fixed at creation unless changed by a View/Modify user.
    pub role: Role,
}

/// Who may take an action: each endpoint and command declares one, checked in one place before
/// it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Anyone, before logging in (the login itself).
    Anyone,
    /// Any logged-in user, whatever the role: viewing.
    Viewer,
    /// Any role but View Only: virtual terminals (IVM's Service Representative may use them).
    Console,
    /// View/Modify users: every configuration change.
    Modify,
    /// The user the request names, or padmin (one's own password and keys); only padmin
    /// touches padmin.
    SelfOrPadmin,
    /// padmin alone: making, removing and changing the role of users, as on IVM.
    Padmin,
}

/// A user to create.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// Initial password.
    pub password: String,
}

/// A new role for an existing user (`chuser -attr authorization=`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// New role.
    pub role: Role,
}

/// A new password.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// New password, 8 to 128 characters.
    pub password: String,
}
