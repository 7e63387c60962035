//! Accounts and the boundary between partners: roles, e-mail addresses, the password rule,
//! API-token scopes, and who may do what. Pure rules; the storage and web crates enforce them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use chrono::{DateTime, Utc};

use crate::{FieldError, OrgId, TokenId, UserId, ValidationErrors};

string_enum! {
    /// A member's role in one organization.
    pub enum Role {
        Admin = "admin" => "Admin",
        AllianceManager = "alliance_manager" => "Alliance manager",
        Contributor = "contributor" => "Contributor",
        Viewer = "viewer" => "Viewer",
    }
}

impl Role {
    /// Manages members, invitations, settings and reads the audit log.
    pub fn can_administer(self) -> bool {
        self == Role::Admin
    }

    /// Runs partnerships: creates them, edits them, moves their stage, edits the ecosystem.
    pub fn can_manage_partnerships(self) -> bool {
        matches!(self, Role::Admin | Role::AllianceManager)
    }

    /// Adds working material: internal notes (later metrics, survey answers, journeys).
    pub fn can_contribute(self) -> bool {
        self != Role::Viewer
    }

    pub fn description(self) -> &'static str {
        match self {
            Role::Admin => "Manages members, invitations and settings; reads the audit log; everything an alliance manager does.",
            Role::AllianceManager => "Runs partnerships: creates them, edits them and moves them through their stages.",
            Role::Contributor => "Reports metrics, answers surveys, edits journeys and writes internal notes.",
            Role::Viewer => "Reads everything the organization can see; changes nothing.",
        }
    }
}

string_enum! {
    /// What an API token may do.
    pub enum TokenScope {
        Read = "read" => "Read only",
        ReadWrite = "read-write" => "Read and write",
    }
}

string_enum! {
    /// Who can see a record: every party to the partnership, or only the organization that wrote it.
    pub enum Visibility {
        Shared = "shared" => "Shared with the partners",
        Private = "private" => "Private to our organization",
    }
}

/// A normalized e-mail address (trimmed, lowercased).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email, &'static str> {
        let s = s.trim().to_lowercase();
        if s.len() > 254 {
            return Err("an e-mail address is at most 254 characters");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err("an e-mail address looks like name@example.org");
        };
        let ok = !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && s.chars().all(|c| !c.is_whitespace() && !c.is_control());
        if ok {
            Ok(Email(s))
        } else {
            Err("an e-mail address looks like name@example.org")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub const MIN_PASSWORD_CHARS: usize = 15;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Passwords people choose most often (from public breach-frequency lists); refused outright.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// NIST SP 800-63B (rev. 4, single-factor passwords): length, not composition. At least 15 characters, at most 128, not one of the
/// most common passwords, not the e-mail address or its name part, not one character repeated.
pub fn check_password(password: &str, email: Option<&Email>) -> Result<(), FieldError> {
    let err = |code: &str, message: &str| FieldError {
        field: "password".into(),
        code: code.into(),
        message: message.into(),
    };
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(err(
            "too_short",
            &format!(
                "use at least {MIN_PASSWORD_CHARS} characters; a few unrelated words work well"
            ),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(err(
            "too_long",
            &format!("use at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    let lower = password.to_lowercase();
    if COMMON_PASSWORDS.lines().map(str::trim).any(|p| {
        !p.is_empty()
            && (lower == p || lower.trim_end_matches(|c: char| c.is_ascii_digit() || c == '!') == p)
    }) {
        return Err(err(
            "too_common",
            "this password is among the most commonly used; choose another",
        ));
    }
    if let Some(email) = email {
        let local = email.as_str().split('@').next().unwrap_or("");
        if lower.contains(email.as_str()) || (local.len() >= 4 && lower.contains(local)) {
            return Err(err(
                "contains_email",
                "the password must not contain your e-mail address",
            ));
        }
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 4 {
        return Err(err(
            "too_repetitive",
            "the password repeats too few different characters",
        ));
    }
    Ok(())
}

/// A display name: 1–100 characters.
pub fn check_display_name(name: &str) -> Result<String, ValidationErrors> {
    let mut e = ValidationErrors::new();
    let n = crate::text::clean(&mut e, "display_name", name, 1, 100, false);
    e.into_result(n)
}

/// Who is acting, and for which organization: the tenant of every request. It comes only from an
/// authenticated request (a session or an API token), never from input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Acting {
    pub user_id: UserId,
    pub email: Email,
    pub display_name: String,
    pub org_id: OrgId,
    pub org_name: String,
    pub role: Role,
}

/// Why an action is refused to someone who can see the record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Forbidden(pub String);

impl Acting {
    pub fn require_manager(&self) -> Result<(), Forbidden> {
        if self.role.can_manage_partnerships() {
            Ok(())
        } else {
            Err(Forbidden(format!(
                "a {} cannot change partnerships; an alliance manager or admin of {} can",
                self.role.label().to_lowercase(),
                self.org_name
            )))
        }
    }

    pub fn require_contributor(&self) -> Result<(), Forbidden> {
        if self.role.can_contribute() {
            Ok(())
        } else {
            Err(Forbidden("a viewer can read but not write".into()))
        }
    }

    pub fn require_admin(&self) -> Result<(), Forbidden> {
        if self.role.can_administer() {
            Ok(())
        } else {
            Err(Forbidden(format!(
                "only an admin of {} can do this",
                self.org_name
            )))
        }
    }
}

/// A user account as shown to people (never with its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
}

/// A user's role in one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Membership {
    pub organization_id: OrgId,
    pub organization_name: String,
    pub role: Role,
}

/// An organization's member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Member {
    pub user: User,
    pub role: Role,
}

/// An API token as listed (the secret itself is shown once, at creation, and never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: TokenId,
    pub name: String,
    pub organization_id: OrgId,
    pub scope: TokenScope,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An invitation to join an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Invitation {
    pub id: i64,
    pub organization_id: OrgId,
    pub organization_name: String,
    pub email: Email,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
}

impl Invitation {
    /// Whether the invitation can still be accepted at `now`.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.accepted_at.is_none() && now < self.expires_at
    }
}

/// Sign-in throttling: how many failures within the window lock a key out.
pub const THROTTLE_WINDOW_MINUTES: i64 = 15;
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;

/// Whether sign-in must be refused, given recent failures for the account and the address.
pub fn sign_in_throttled(account_failures: i64, address_failures: i64) -> bool {
    account_failures >= MAX_FAILURES_PER_ACCOUNT || address_failures >= MAX_FAILURES_PER_ADDRESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_are_normalized() {
        assert_eq!(
            Email::parse("  Ann.Lee@Harbor.Example ").unwrap().as_str(),
            "ann.lee@harbor.example"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.org",
            "ann@x",
            "ann lee@x.org",
            "a@b@c.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_rule() {
        let email = Email::parse("ann.lee@harbor.example").unwrap();
        assert_eq!(check_password("short", None).unwrap_err().code, "too_short");
        assert_eq!(
            check_password("password1234567", None).unwrap_err().code,
            "too_common"
        );
        assert_eq!(
            check_password("qwertyuiop12345", None).unwrap_err().code,
            "too_common"
        );
        assert_eq!(
            check_password("my ann.lee secret", Some(&email))
                .unwrap_err()
                .code,
            "contains_email"
        );
        assert_eq!(
            check_password("aaaaaaaaaaaaaaaa", None).unwrap_err().code,
            "too_repetitive"
        );
        assert_eq!(
            check_password(&"x".repeat(200), None).unwrap_err().code,
            "too_long"
        );
        assert!(check_password("harbor lantern violet", Some(&email)).is_ok());
        // Composition is not required: all lowercase, no digits, no symbols is fine.
        assert!(check_password("correcthorsebatterystaple", None).is_ok());
    }

    proptest! {
        #[test]
        fn long_random_passwords_pass(p in "[a-z]{6} [a-z]{6} [a-z]{6}") {
            let distinct = { let mut v: Vec<char> = p.chars().collect(); v.sort_unstable(); v.dedup(); v.len() };
            prop_assume!(distinct >= 4);
            prop_assert!(check_password(&p, None).is_ok());
        }

        #[test]
        fn email_parse_never_panics(s in ".{0,300}") {
            let _ = Email::parse(&s);
        }
    }

    #[test]
    fn throttling() {
        assert!(!sign_in_throttled(4, 19));
        assert!(sign_in_throttled(5, 0));
        assert!(sign_in_throttled(0, 20));
    }

    #[test]
    fn roles() {
        assert!(Role::Admin.can_administer());
        assert!(!Role::AllianceManager.can_administer());
        assert!(Role::AllianceManager.can_manage_partnerships());
        assert!(!Role::Contributor.can_manage_partnerships());
        assert!(Role::Contributor.can_contribute());
        assert!(!Role::Viewer.can_contribute());
    }
}
