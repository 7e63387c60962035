//! The signed-in user's own things (who am I, API tokens) and the acting organization's
//! administration (members, invitations, audit log).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use concord_domain::account::{
    Acting, ApiToken, Email, Invitation, Member, Membership, Role, TokenScope,
};
use concord_domain::audit::{AuditEntry, AuditFilter};
use concord_domain::paging::Page;
use concord_domain::{TokenId, ValidationErrors};

use super::page_request;
use crate::auth::{secret, Auth};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::AppState;

/// How long an invitation link stays valid.
pub const INVITATION_DAYS: i64 = 7;

/// Who is calling.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub acting: Acting,
    pub memberships: Vec<Membership>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    responses((status = 200, description = "The signed-in user, the organization they act for, and all their memberships", body = Me)))]
pub async fn me(State(s): State<AppState>, Auth(who): Auth) -> Result<Json<Me>, ApiError> {
    let memberships = s.store.memberships(who.acting.user_id).await?;
    Ok(Json(Me {
        acting: who.acting,
        memberships,
    }))
}

/// A request for a new API token for the acting user and organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    /// What the token is for ("nightly metrics export").
    pub name: String,
    pub scope: TokenScope,
}

/// A new token: `token` is shown this once and never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewToken {
    pub token: String,
    #[serde(flatten)]
    pub details: ApiToken,
}

/// Creates an API token for `who` (shared by the API and the tokens page).
pub(crate) async fn mint_token(
    s: &AppState,
    who: &crate::auth::Principal,
    input: &TokenInput,
) -> Result<NewToken, ApiError> {
    let token = secret::new_secret(secret::TOKEN_PREFIX);
    let prefix: String = token.chars().take(10).collect();
    let details = s
        .store
        .create_token(
            &who.actor(),
            &who.acting,
            &input.name,
            input.scope,
            &secret::hash_secret(&token),
            &prefix,
        )
        .await?;
    Ok(NewToken { token, details })
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "account",
    request_body = TokenInput,
    responses(
        (status = 201, description = "Created; the token is in the response once and is stored only as a hash", body = NewToken),
        (status = 422, description = "Missing name or unknown scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_token(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiJson(input): ApiJson<TokenInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(mint_token(&s, &who, &input).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "account",
    responses((status = 200, description = "Your API tokens for the acting organization (never the secrets)", body = Vec<ApiToken>)))]
pub async fn tokens(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(s.store.tokens(&who.acting).await?))
}

#[utoipa::path(post, path = "/api/v1/tokens/{id}/revoke", tag = "account",
    params(("id" = i64, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked; requests with it now get 401"),
        (status = 404, description = "Not one of your tokens", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_token(
    State(s): State<AppState>,
    Auth(who): Auth,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    s.store
        .revoke_token(&who.actor(), &who.acting, TokenId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/members", tag = "account",
    responses((status = 200, description = "The members of the acting organization and their roles", body = Vec<Member>)))]
pub async fn members(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<Vec<Member>>, ApiError> {
    Ok(Json(s.store.members(who.acting.org_id).await?))
}

/// An invitation to the acting organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationInput {
    pub email: String,
    pub role: Role,
}

/// A new invitation with its one-time link (there is no mail server: pass the link on yourself).
#[derive(Debug, Serialize, ToSchema)]
pub struct NewInvitation {
    /// The path to open to accept (prefix it with this server's address).
    pub link: String,
    #[serde(flatten)]
    pub invitation: Invitation,
}

/// Creates an invitation (shared by the API, the members page and the CLI).
pub async fn invite(
    store: &concord_storage::Store,
    actor: &concord_storage::Actor,
    org: concord_domain::OrgId,
    email: &str,
    role: Role,
) -> Result<NewInvitation, concord_storage::StoreError> {
    let email =
        Email::parse(email).map_err(|m| ValidationErrors::single("email", "invalid_format", m))?;
    let token = secret::new_secret("");
    let invitation = store
        .create_invitation(
            actor,
            org,
            &email,
            role,
            &secret::hash_secret(&token),
            chrono::Duration::days(INVITATION_DAYS),
        )
        .await?;
    Ok(NewInvitation {
        link: format!("/invitations/{token}"),
        invitation,
    })
}

#[utoipa::path(post, path = "/api/v1/invitations", tag = "account",
    request_body = InvitationInput,
    responses(
        (status = 201, description = "Invitation created; the link is shown this once", body = NewInvitation),
        (status = 403, description = "Only admins invite", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already a member", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid e-mail or role", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_invitation(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiJson(input): ApiJson<InvitationInput>,
) -> Result<impl IntoResponse, ApiError> {
    let inv = invite(
        &s.store,
        &who.actor(),
        who.acting.org_id,
        &input.email,
        input.role,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(inv)))
}

/// Filters for the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries about this kind of record (`partnership`, `organization`, `note`, …).
    pub entity: Option<String>,
    /// Only entries about this record.
    pub entity_id: Option<String>,
    /// Only entries by this user (id).
    pub user: Option<i64>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "account",
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit entries that concern the acting organization, newest first", body = Page<AuditEntry>),
        (status = 403, description = "Only admins read the audit log", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn audit(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let page = page_request(q.page, q.per_page)?;
    let filter = AuditFilter {
        entity: q.entity,
        entity_id: q.entity_id,
        user_id: q.user,
    };
    Ok(Json(s.store.list_audit(&who.acting, &filter, page).await?))
}
