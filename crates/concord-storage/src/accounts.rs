//! Users, memberships, sessions, API tokens, invitations and sign-in throttling.
//!
//! Secrets never reach this module in clear: sessions, tokens and invitations are looked up by a
//! hash of their secret; passwords arrive already hashed (Argon2id, in the web crate).

use chrono::{DateTime, Duration, Utc};

use concord_domain::account::{
    Acting, ApiToken, Email, Invitation, Member, Membership, Role, TokenScope, User,
};
use concord_domain::{OrgId, TokenId, UserId, ValidationErrors};

use crate::audit::{audit, Actor};
use crate::dialect::begin_write;
use crate::{now, Store, StoreError};

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    display_name: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<User, StoreError> {
        Ok(User {
            id: UserId(r.id),
            email: Email::parse(&r.email)
                .map_err(|_| StoreError::Corrupt(format!("user {}: email", r.id)))?,
            display_name: r.display_name,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    acting: ActingRow,
    secret: String,
    expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct TokenInfoRow {
    #[sqlx(flatten)]
    acting: ActingRow,
    token_id: i64,
    scope: String,
    last_used_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct ActingRow {
    user_id: i64,
    email: String,
    display_name: String,
    org_id: i64,
    org_name: String,
    role: String,
}

impl TryFrom<ActingRow> for Acting {
    type Error = StoreError;
    fn try_from(r: ActingRow) -> Result<Acting, StoreError> {
        let corrupt = || StoreError::Corrupt(format!("membership of user {}", r.user_id));
        Ok(Acting {
            user_id: UserId(r.user_id),
            email: Email::parse(&r.email).map_err(|_| corrupt())?,
            display_name: r.display_name,
            org_id: OrgId(r.org_id),
            org_name: r.org_name,
            role: r.role.parse().map_err(|_| corrupt())?,
        })
    }
}

/// A user who may sign in: their id and password hash (for verification only).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user_id: UserId,
    pub password_hash: String,
}

/// A live session: who, acting for which organization, and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub acting: Acting,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// A valid API token: who, for which organization, with which scope.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub token_id: TokenId,
    pub acting: Acting,
    pub scope: TokenScope,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    organization_id: i64,
    scope: String,
    prefix: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = StoreError;
    fn try_from(r: TokenRow) -> Result<ApiToken, StoreError> {
        Ok(ApiToken {
            id: TokenId(r.id),
            scope: r
                .scope
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("token {}: scope", r.id)))?,
            name: r.name,
            organization_id: OrgId(r.organization_id),
            prefix: r.prefix,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: i64,
    organization_id: i64,
    organization_name: String,
    email: String,
    role: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = StoreError;
    fn try_from(r: InvitationRow) -> Result<Invitation, StoreError> {
        let corrupt = || StoreError::Corrupt(format!("invitation {}", r.id));
        Ok(Invitation {
            id: r.id,
            organization_id: OrgId(r.organization_id),
            organization_name: r.organization_name,
            email: Email::parse(&r.email).map_err(|_| corrupt())?,
            role: r.role.parse().map_err(|_| corrupt())?,
            created_at: r.created_at,
            expires_at: r.expires_at,
            accepted_at: r.accepted_at,
        })
    }
}

const ACTING_SELECT: &str = "SELECT u.id AS user_id, u.email AS email, u.display_name AS display_name, o.id AS org_id, o.name AS org_name, m.role AS role \
     FROM users u JOIN memberships m ON m.user_id = u.id JOIN organizations o ON o.id = m.organization_id";

const INVITATION_SELECT: &str = "SELECT i.id, i.organization_id, o.name AS organization_name, i.email, i.role, i.created_at, \
     i.expires_at, i.accepted_at FROM invitations i JOIN organizations o ON o.id = i.organization_id";

impl Store {
    /// Creates a user with a membership (the first admin, a demo user, an accepted invitation).
    pub async fn create_user(
        &self,
        actor: &Actor,
        email: &Email,
        display_name: &str,
        password_hash: &str,
        org: OrgId,
        role: Role,
    ) -> Result<User, StoreError> {
        let display_name = concord_domain::account::check_display_name(display_name)?;
        if self.existing_organizations(&[org]).await?.is_empty() {
            return Err(ValidationErrors::single(
                "organization",
                "unknown_organization",
                format!("organization {org} does not exist"),
            )
            .into());
        }
        let ts = now();
        let id = run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (email, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(email.as_str())
            .bind(&display_name)
            .bind(password_hash)
            .bind(ts)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO memberships (user_id, organization_id, role, created_at) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(org.0)
                .bind(role.as_str())
                .bind(ts)
                .execute(&mut *tx)
                .await?;
            audit!(
                &mut *tx,
                actor,
                "create",
                "user",
                id,
                [org.0],
                None,
                Some(
                    serde_json::json!({ "email": email.as_str(), "display_name": display_name, "organization_id": org.0, "role": role.as_str() })
                )
            );
            tx.commit().await?;
            id
        });
        self.get_user(UserId(id)).await
    }

    /// Adds a membership to an existing user (operators; admins invite instead).
    pub async fn add_membership(
        &self,
        actor: &Actor,
        user: UserId,
        org: OrgId,
        role: Role,
    ) -> Result<(), StoreError> {
        actor.check(|a| a.require_admin())?;
        let ts = now();
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            sqlx::query("INSERT INTO memberships (user_id, organization_id, role, created_at) VALUES ($1, $2, $3, $4)")
                .bind(user.0)
                .bind(org.0)
                .bind(role.as_str())
                .bind(ts)
                .execute(&mut *tx)
                .await?;
            audit!(
                &mut *tx,
                actor,
                "create",
                "membership",
                format!("{org}:{user}"),
                [org.0],
                None,
                Some(
                    serde_json::json!({ "user_id": user.0, "organization_id": org.0, "role": role.as_str() })
                )
            );
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_user(&self, id: UserId) -> Result<User, StoreError> {
        let row = run!(&self.read, |p| sqlx::query_as::<_, UserRow>(
            "SELECT id, email, display_name, created_at FROM users WHERE id = $1"
        )
        .bind(id.0)
        .fetch_optional(p)
        .await?);
        row.ok_or(StoreError::NotFound { entity: "user" })?
            .try_into()
    }

    /// The password hash of an enabled user, for sign-in.
    pub async fn credentials(&self, email: &Email) -> Result<Option<Credentials>, StoreError> {
        let row: Option<(i64, String)> = run!(&self.read, |p| sqlx::query_as(
            "SELECT id, password_hash FROM users WHERE email = $1 AND disabled_at IS NULL"
        )
        .bind(email.as_str())
        .fetch_optional(p)
        .await?);
        Ok(row.map(|(id, h)| Credentials {
            user_id: UserId(id),
            password_hash: h,
        }))
    }

    pub async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let row = run!(&self.read, |p| sqlx::query_as::<_, UserRow>(
            "SELECT id, email, display_name, created_at FROM users WHERE email = $1"
        )
        .bind(email.as_str())
        .fetch_optional(p)
        .await?);
        row.map(User::try_from).transpose()
    }

    /// A user's organizations and roles, by organization name.
    pub async fn memberships(&self, user: UserId) -> Result<Vec<Membership>, StoreError> {
        let rows: Vec<(i64, String, String)> = run!(&self.read, |p| {
            sqlx::query_as(
            "SELECT o.id, o.name, m.role FROM memberships m JOIN organizations o ON o.id = m.organization_id \
             WHERE m.user_id = $1 ORDER BY o.name_key"
        )
        .bind(user.0)
        .fetch_all(p)
        .await?
        });
        rows.into_iter()
            .map(|(id, name, role)| {
                Ok(Membership {
                    organization_id: OrgId(id),
                    organization_name: name,
                    role: role
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("membership of user {user}")))?,
                })
            })
            .collect()
    }

    /// Every user with their memberships (for `concord user list`).
    pub async fn all_users(&self) -> Result<Vec<(User, Vec<Membership>)>, StoreError> {
        let rows = run!(&self.read, |p| sqlx::query_as::<_, UserRow>(
            "SELECT id, email, display_name, created_at FROM users ORDER BY email"
        )
        .fetch_all(p)
        .await?);
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let u = User::try_from(r)?;
            let m = self.memberships(u.id).await?;
            out.push((u, m));
        }
        Ok(out)
    }

    /// The user acting for `org`, when they are a member of it.
    pub async fn acting(&self, user: UserId, org: OrgId) -> Result<Option<Acting>, StoreError> {
        let sql = format!(
            "{ACTING_SELECT} WHERE u.id = $1 AND m.organization_id = $2 AND u.disabled_at IS NULL"
        );
        let row = run!(&self.read, |p| sqlx::query_as::<_, ActingRow>(&sql)
            .bind(user.0)
            .bind(org.0)
            .fetch_optional(p)
            .await?);
        row.map(Acting::try_from).transpose()
    }

    /// The members of an organization, by name.
    pub async fn members(&self, org: OrgId) -> Result<Vec<Member>, StoreError> {
        let rows: Vec<(i64, String, String, DateTime<Utc>, String)> = run!(&self.read, |p| {
            sqlx::query_as(
            "SELECT u.id, u.email, u.display_name, u.created_at, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.organization_id = $1 ORDER BY u.display_name, u.email"
        )
        .bind(org.0)
        .fetch_all(p)
        .await?
        });
        rows.into_iter()
            .map(|(id, email, display_name, created_at, role)| {
                let corrupt = || StoreError::Corrupt(format!("member {id}"));
                Ok(Member {
                    user: User {
                        id: UserId(id),
                        email: Email::parse(&email).map_err(|_| corrupt())?,
                        display_name,
                        created_at,
                    },
                    role: role.parse().map_err(|_| corrupt())?,
                })
            })
            .collect()
    }

    /// Whether any user belongs to `org` (an organization without members is a plain ecosystem record).
    pub async fn has_members(&self, org: OrgId) -> Result<bool, StoreError> {
        let n: i64 = run!(&self.read, |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM memberships WHERE organization_id = $1"
        )
        .bind(org.0)
        .fetch_one(p)
        .await?);
        Ok(n > 0)
    }

    /// Changes a member's role (admins only, and never leaving the organization without an admin).
    pub async fn set_role(
        &self,
        actor: &Actor,
        acting: &Acting,
        user: UserId,
        role: Role,
    ) -> Result<(), StoreError> {
        acting.require_admin()?;
        let members = self.members(acting.org_id).await?;
        let Some(current) = members.iter().find(|m| m.user.id == user) else {
            return Err(StoreError::NotFound { entity: "member" });
        };
        let admins = members.iter().filter(|m| m.role == Role::Admin).count();
        if current.role == Role::Admin && role != Role::Admin && admins == 1 {
            return Err(ValidationErrors::single(
                "role",
                "last_admin",
                "an organization needs at least one admin; make someone else admin first",
            )
            .into());
        }
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            sqlx::query(
                "UPDATE memberships SET role = $3 WHERE user_id = $1 AND organization_id = $2",
            )
            .bind(user.0)
            .bind(acting.org_id.0)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "set_role",
                "membership",
                format!("{}:{}", acting.org_id, user),
                [acting.org_id.0],
                Some(serde_json::json!({ "role": current.role.as_str() })),
                Some(serde_json::json!({ "role": role.as_str() }))
            );
            tx.commit().await?;
        });
        Ok(())
    }

    // ----- sessions -----

    /// Stores a new session (only the hash of its id).
    pub async fn create_session(
        &self,
        id_hash: &str,
        user: UserId,
        org: OrgId,
        csrf_token: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let acting = self.acting(user, org).await?.ok_or(StoreError::NotFound {
            entity: "membership",
        })?;
        let actor = Actor::person("web", &acting, None);
        let ts = now();
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            sqlx::query(
                "INSERT INTO sessions (id_hash, user_id, acting_org_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id_hash)
            .bind(user.0)
            .bind(org.0)
            .bind(csrf_token)
            .bind(ts)
            .bind(ts + ttl)
            .execute(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "sign_in",
                "session",
                user,
                [org.0],
                None,
                Some(serde_json::json!({ "expires_at": ts + ttl }))
            );
            tx.commit().await?;
        });
        Ok(())
    }

    /// The live session with this id hash (expired sessions are not returned).
    pub async fn session(&self, id_hash: &str) -> Result<Option<SessionInfo>, StoreError> {
        let sql = "SELECT u.id AS user_id, u.email AS email, u.display_name AS display_name, o.id AS org_id, \
                   o.name AS org_name, m.role AS role, s.csrf_token AS secret, s.expires_at AS expires_at \
                   FROM sessions s JOIN users u ON u.id = s.user_id \
                   JOIN memberships m ON m.user_id = s.user_id AND m.organization_id = s.acting_org_id \
                   JOIN organizations o ON o.id = s.acting_org_id \
                   WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL";
        let row = run!(&self.read, |p| sqlx::query_as::<_, SessionRow>(sql)
            .bind(id_hash)
            .bind(now())
            .fetch_optional(p)
            .await?);
        row.map(|r| {
            Ok(SessionInfo {
                csrf_token: r.secret,
                expires_at: r.expires_at,
                acting: r.acting.try_into()?,
            })
        })
        .transpose()
    }

    /// Ends a session (sign-out, or a new sign-in replacing it); expired sessions are swept too.
    pub async fn delete_session(&self, actor: &Actor, id_hash: &str) -> Result<(), StoreError> {
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let n = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(id_hash)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                .bind(now())
                .execute(&mut *tx)
                .await?;
            if n > 0 {
                if let Some(user) = actor.user_id() {
                    audit!(
                        &mut *tx,
                        actor,
                        "sign_out",
                        "session",
                        user,
                        Vec::<i64>::new(),
                        None,
                        None
                    );
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Switches the organization a session acts for (the user must be a member of it).
    pub async fn switch_session_org(
        &self,
        id_hash: &str,
        user: UserId,
        org: OrgId,
    ) -> Result<Acting, StoreError> {
        let acting = self.acting(user, org).await?.ok_or(StoreError::NotFound {
            entity: "organization",
        })?;
        let actor = Actor::person("web", &acting, None);
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            sqlx::query(
                "UPDATE sessions SET acting_org_id = $3 WHERE id_hash = $1 AND user_id = $2",
            )
            .bind(id_hash)
            .bind(user.0)
            .bind(org.0)
            .execute(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "switch_organization",
                "session",
                user,
                [org.0],
                None,
                None
            );
            tx.commit().await?;
        });
        Ok(acting)
    }

    // ----- sign-in throttling -----

    /// Failures recorded for `key` since `since`.
    pub async fn sign_in_failures(
        &self,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let n: i64 = run!(&self.read, |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM sign_in_failures WHERE throttle_key = $1 AND failed_at > $2"
        )
        .bind(key)
        .bind(since)
        .fetch_one(p)
        .await?);
        Ok(n)
    }

    /// Records one failed sign-in against each key, and forgets failures older than a day.
    pub async fn record_sign_in_failure(&self, keys: &[&str]) -> Result<(), StoreError> {
        let ts = now();
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            for k in keys {
                sqlx::query(
                    "INSERT INTO sign_in_failures (throttle_key, failed_at) VALUES ($1, $2)",
                )
                .bind(*k)
                .bind(ts)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("DELETE FROM sign_in_failures WHERE failed_at < $1")
                .bind(ts - Duration::days(1))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn clear_sign_in_failures(&self, key: &str) -> Result<(), StoreError> {
        run!(&self.write, |p| {
            sqlx::query("DELETE FROM sign_in_failures WHERE throttle_key = $1")
                .bind(key)
                .execute(p)
                .await?;
        });
        Ok(())
    }

    // ----- API tokens -----

    /// Stores a new token for the acting user and organization (only its hash).
    #[allow(clippy::too_many_arguments)]
    pub async fn create_token(
        &self,
        actor: &Actor,
        acting: &Acting,
        name: &str,
        scope: TokenScope,
        token_hash: &str,
        prefix: &str,
    ) -> Result<ApiToken, StoreError> {
        let mut e = ValidationErrors::new();
        let name = concord_domain::text::clean(&mut e, "name", name, 1, 100, false);
        e.into_result(())?;
        if scope == TokenScope::ReadWrite && !acting.role.can_contribute() {
            return Err(StoreError::Forbidden(
                "a viewer can only create read-only tokens".into(),
            ));
        }
        let ts = now();
        let id = run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO api_tokens (user_id, organization_id, name, scope, token_hash, prefix, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(acting.user_id.0)
            .bind(acting.org_id.0)
            .bind(&name)
            .bind(scope.as_str())
            .bind(token_hash)
            .bind(prefix)
            .bind(ts)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "create",
                "api_token",
                id,
                [acting.org_id.0],
                None,
                Some(
                    serde_json::json!({ "name": name, "scope": scope.as_str(), "prefix": prefix })
                )
            );
            tx.commit().await?;
            id
        });
        self.tokens(acting)
            .await?
            .into_iter()
            .find(|t| t.id == TokenId(id))
            .ok_or(StoreError::NotFound { entity: "token" })
    }

    /// The acting user's tokens for the acting organization, newest first.
    pub async fn tokens(&self, acting: &Acting) -> Result<Vec<ApiToken>, StoreError> {
        let rows = run!(&self.read, |p| {
            sqlx::query_as::<_, TokenRow>(
            "SELECT id, name, organization_id, scope, prefix, created_at, last_used_at, revoked_at FROM api_tokens \
             WHERE user_id = $1 AND organization_id = $2 ORDER BY id DESC"
        )
        .bind(acting.user_id.0)
        .bind(acting.org_id.0)
        .fetch_all(p)
        .await?
        });
        rows.into_iter().map(ApiToken::try_from).collect()
    }

    /// Revokes one of the acting user's tokens (another user's token answers not found).
    pub async fn revoke_token(
        &self,
        actor: &Actor,
        acting: &Acting,
        id: TokenId,
    ) -> Result<(), StoreError> {
        let ts = now();
        run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let n = sqlx::query(
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $4) WHERE id = $1 AND user_id = $2 AND organization_id = $3",
            )
            .bind(id.0)
            .bind(acting.user_id.0)
            .bind(acting.org_id.0)
            .bind(ts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound { entity: "token" });
            }
            audit!(
                &mut *tx,
                actor,
                "revoke",
                "api_token",
                id,
                [acting.org_id.0],
                None,
                None
            );
            tx.commit().await?;
        });
        Ok(())
    }

    /// The unrevoked token with this hash, with who it acts as (the user must still be a member).
    pub async fn token(&self, token_hash: &str) -> Result<Option<TokenInfo>, StoreError> {
        let sql = "SELECT u.id AS user_id, u.email AS email, u.display_name AS display_name, o.id AS org_id, \
                   o.name AS org_name, m.role AS role, t.id AS token_id, t.scope AS scope, t.last_used_at AS last_used_at \
                   FROM api_tokens t JOIN users u ON u.id = t.user_id \
                   JOIN memberships m ON m.user_id = t.user_id AND m.organization_id = t.organization_id \
                   JOIN organizations o ON o.id = t.organization_id \
                   WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL";
        let row = run!(&self.read, |p| sqlx::query_as::<_, TokenInfoRow>(sql)
            .bind(token_hash)
            .fetch_optional(p)
            .await?);
        row.map(|r| {
            Ok(TokenInfo {
                token_id: TokenId(r.token_id),
                scope: r
                    .scope
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("token {}: scope", r.token_id)))?,
                last_used_at: r.last_used_at,
                acting: r.acting.try_into()?,
            })
        })
        .transpose()
    }

    /// Notes that a token was used (callers do this at most once a minute per token).
    pub async fn touch_token(&self, id: TokenId) -> Result<(), StoreError> {
        run!(&self.write, |p| {
            sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(id.0)
                .bind(now())
                .execute(p)
                .await?;
        });
        Ok(())
    }

    // ----- invitations -----

    /// Records an invitation to `org`: by one of its admins, or by an operator at the CLI.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_invitation(
        &self,
        actor: &Actor,
        org: OrgId,
        email: &Email,
        role: Role,
        token_hash: &str,
        ttl: Duration,
    ) -> Result<Invitation, StoreError> {
        if let Some(acting) = &actor.acting {
            acting.require_admin()?;
            if acting.org_id != org {
                return Err(StoreError::NotFound {
                    entity: "organization",
                });
            }
        }
        if self.existing_organizations(&[org]).await?.is_empty() {
            return Err(StoreError::NotFound {
                entity: "organization",
            });
        }
        if self
            .members(org)
            .await?
            .iter()
            .any(|m| &m.user.email == email)
        {
            return Err(StoreError::Conflict {
                field: "email".into(),
                message: format!("{email} is already a member"),
            });
        }
        let ts = now();
        let id = run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO invitations (organization_id, email, role, token_hash, invited_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(org.0)
            .bind(email.as_str())
            .bind(role.as_str())
            .bind(token_hash)
            .bind(actor.user_id())
            .bind(ts)
            .bind(ts + ttl)
            .fetch_one(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "create",
                "invitation",
                id,
                [org.0],
                None,
                Some(serde_json::json!({ "email": email.as_str(), "role": role.as_str() }))
            );
            tx.commit().await?;
            id
        });
        let sql = format!("{INVITATION_SELECT} WHERE i.id = $1");
        let row = run!(&self.read, |p| sqlx::query_as::<_, InvitationRow>(&sql)
            .bind(id)
            .fetch_one(p)
            .await?);
        row.try_into()
    }

    /// The acting organization's invitations, newest first.
    pub async fn invitations(&self, acting: &Acting) -> Result<Vec<Invitation>, StoreError> {
        let sql = format!("{INVITATION_SELECT} WHERE i.organization_id = $1 ORDER BY i.id DESC");
        let rows = run!(&self.read, |p| sqlx::query_as::<_, InvitationRow>(&sql)
            .bind(acting.org_id.0)
            .fetch_all(p)
            .await?);
        rows.into_iter().map(Invitation::try_from).collect()
    }

    /// The invitation with this token hash, open or not.
    pub async fn invitation(&self, token_hash: &str) -> Result<Option<Invitation>, StoreError> {
        let sql = format!("{INVITATION_SELECT} WHERE i.token_hash = $1");
        let row = run!(&self.read, |p| sqlx::query_as::<_, InvitationRow>(&sql)
            .bind(token_hash)
            .fetch_optional(p)
            .await?);
        row.map(Invitation::try_from).transpose()
    }

    /// Accepts an open invitation: creates the user (new e-mail) or adds the membership (existing
    /// user, who must be `existing`), and closes the invitation — all in one transaction, and only
    /// once even if two requests race.
    pub async fn accept_invitation(
        &self,
        actor: &Actor,
        token_hash: &str,
        new_user: Option<(&str, &str)>,
        existing: Option<UserId>,
    ) -> Result<UserId, StoreError> {
        let inv = self
            .invitation(token_hash)
            .await?
            .ok_or(StoreError::NotFound {
                entity: "invitation",
            })?;
        let ts = now();
        if !inv.is_open(ts) {
            return Err(StoreError::Gone(if inv.accepted_at.is_some() {
                "this invitation has already been used".into()
            } else {
                "this invitation has expired; ask for a new one".into()
            }));
        }
        let display_name = match new_user {
            Some((name, _)) => Some(concord_domain::account::check_display_name(name)?),
            None => None,
        };
        let user_id = run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let n = sqlx::query(
                "UPDATE invitations SET accepted_at = $2 WHERE id = $1 AND accepted_at IS NULL AND expires_at > $2",
            )
            .bind(inv.id)
            .bind(ts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::Gone(
                    "this invitation has already been used".into(),
                ));
            }
            let user_id: i64 = match (existing, &new_user) {
                (Some(u), _) => u.0,
                (None, Some((_, hash))) => sqlx::query_scalar(
                    "INSERT INTO users (email, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(inv.email.as_str())
                .bind(display_name.as_deref().unwrap_or(""))
                .bind(*hash)
                .bind(ts)
                .fetch_one(&mut *tx)
                .await?,
                (None, None) => return Err(StoreError::Corrupt("accept_invitation needs a user".into())),
            };
            sqlx::query("UPDATE invitations SET accepted_by = $2 WHERE id = $1")
                .bind(inv.id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO memberships (user_id, organization_id, role, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, organization_id) DO NOTHING",
            )
            .bind(user_id)
            .bind(inv.organization_id.0)
            .bind(inv.role.as_str())
            .bind(ts)
            .execute(&mut *tx)
            .await?;
            audit!(
                &mut *tx,
                actor,
                "accept",
                "invitation",
                inv.id,
                [inv.organization_id.0],
                None,
                Some(
                    serde_json::json!({ "email": inv.email.as_str(), "role": inv.role.as_str(), "user_id": user_id })
                )
            );
            tx.commit().await?;
            user_id
        });
        Ok(UserId(user_id))
    }
}
