//! The one answer to "may role R do action A": Airflow's default roles.
//! Viewer reads; User also edits DAGs (pause), triggers runs and changes
//! task instances (clear, mark); Op also manages variables, connections and
//! pools; Admin may do everything, users included.

use std::fmt;

/// Airflow's built-in roles (`Public` has no permissions and no row here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Op,
    User,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Op, Role::User, Role::Viewer];

    /// The role named exactly `name` (as stored in `role.name`).
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Op => "Op",
            Role::User => "User",
            Role::Viewer => "Viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// See DAGs, runs, task instances, logs, the audit log.
    ReadDags,
    /// Pause and unpause DAGs (Airflow's can_edit on DAGs).
    EditDags,
    /// Create DAG runs (Airflow's can_create on DAG Runs).
    TriggerDagRuns,
    /// Clear task instances, mark them success/failed.
    EditTaskInstances,
    EditVariables,
    EditConnections,
    EditPools,
    /// Users and roles.
    ManageUsers,
    /// Answer human-in-the-loop requests that name no assigned users
    /// (assigned ones: see [`may_answer`]).
    AnswerApprovals,
    /// Create, pause, resume and cancel backfills (Airflow 3's simple auth
    /// manager: Op and Admin).
    ManageBackfills,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::ReadDags,
        Action::EditDags,
        Action::TriggerDagRuns,
        Action::EditTaskInstances,
        Action::EditVariables,
        Action::EditConnections,
        Action::EditPools,
        Action::ManageUsers,
        Action::AnswerApprovals,
        Action::ManageBackfills,
    ];

    /// In words, for a refusal ("Your role may not …").
    pub fn describe(self) -> &'static str {
        match self {
            Action::ReadDags => "see DAGs",
            Action::EditDags => "pause or unpause DAGs",
            Action::TriggerDagRuns => "trigger DAG runs",
            Action::EditTaskInstances => "change task instances",
            Action::EditVariables => "change variables",
            Action::EditConnections => "change connections",
            Action::EditPools => "change pools",
            Action::ManageUsers => "manage users",
            Action::AnswerApprovals => "answer required actions",
            Action::ManageBackfills => "create, pause or cancel backfills",
        }
    }
}

/// Whether `role` may do `action`.
pub fn allowed(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Admin => true,
        Role::Op => !matches!(action, ManageUsers),
        Role::User => matches!(
            action,
            ReadDags | EditDags | TriggerDagRuns | EditTaskInstances
        ),
        Role::Viewer => matches!(action, ReadDags),
    }
}

/// Who may answer a human-in-the-loop request: with assigned users, only
/// one of them (`assigned` = `Some(true)`) who has a role beyond Viewer;
/// without (`None`), whoever may [`Action::AnswerApprovals`]. Viewers never.
pub fn may_answer<S: AsRef<str>>(roles: &[S], assigned: Option<bool>) -> bool {
    match assigned {
        None => any_allowed(roles, Action::AnswerApprovals),
        Some(false) => false,
        Some(true) => roles
            .iter()
            .filter_map(|r| Role::parse(r.as_ref()))
            .any(|r| r != Role::Viewer),
    }
}

/// Whether any of `roles` (names as stored) may do `action`.
pub fn any_allowed<S: AsRef<str>>(roles: &[S], action: Action) -> bool {
    roles
        .iter()
        .filter_map(|r| Role::parse(r.as_ref()))
        .any(|r| allowed(r, action))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Invariant: the table is Airflow's default role permissions, cell by cell.
    #[test]
    fn table_matches_airflow_defaults() {
        use Action::*;
        let expected: &[(Action, [bool; 4])] = &[
            //                  Admin  Op    User   Viewer
            (ReadDags, [true, true, true, true]),
            (EditDags, [true, true, true, false]),
            (TriggerDagRuns, [true, true, true, false]),
            (EditTaskInstances, [true, true, true, false]),
            (EditVariables, [true, true, false, false]),
            (EditConnections, [true, true, false, false]),
            (EditPools, [true, true, false, false]),
            (ManageUsers, [true, false, false, false]),
            (AnswerApprovals, [true, true, false, false]),
            (ManageBackfills, [true, true, false, false]),
        ];
        assert_eq!(expected.len(), Action::ALL.len());
        for (action, row) in expected {
            for (role, want) in Role::ALL.iter().zip(row) {
                assert_eq!(allowed(*role, *action), *want, "{role} {action:?}");
            }
        }
    }

    // Invariant: an assigned user answers (never a Viewer); others only when nobody is assigned.
    #[test]
    fn who_may_answer() {
        assert!(may_answer(&["User"], Some(true)));
        assert!(!may_answer(&["Viewer"], Some(true)));
        assert!(!may_answer(&["Admin"], Some(false)));
        assert!(may_answer(&["Op"], None));
        assert!(!may_answer(&["User"], None));
        assert!(!may_answer(&["Viewer"], None));
    }

    #[test]
    fn unknown_roles_grant_nothing() {
        assert!(!any_allowed(&["Public", "admin"], Action::ReadDags));
        assert!(any_allowed(&["Public", "Op"], Action::EditPools));
        assert!(!any_allowed::<&str>(&[], Action::ReadDags));
    }
}
