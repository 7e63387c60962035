//! The signed-in user's API tokens, the acting organization's members and invitations, and its
//! audit log.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use concord_domain::account::{Role, TokenScope};
use concord_domain::audit::AuditFilter;
use concord_domain::paging::PageRequest;
use concord_domain::{TokenId, UserId, ValidationErrors};

use super::forms::{enum_options, summary};
use super::{
    form_errors, human_time, render, see_other, Chrome, Field, Opt, PageError, PageId, Pager,
    Section,
};
use crate::api::account::{invite as create_invite, mint_token, TokenInput};
use crate::auth::{PageAuth, Principal};
use crate::extract::Form;
use crate::AppState;

struct TokenRow {
    id: TokenId,
    name: String,
    scope: &'static str,
    prefix: String,
    created: String,
    last_used: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    active: &'static str,
    chrome: Chrome,
    tokens: Vec<TokenRow>,
    new_token: String,
    summary: Vec<String>,
    sections: Vec<Section>,
}

async fn tokens_page(
    s: &AppState,
    who: &Principal,
    status: StatusCode,
    new_token: String,
    form: Option<&Form>,
    errors: &ValidationErrors,
) -> Result<Response, PageError> {
    let tokens = s
        .store
        .tokens(&who.acting)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            scope: t.scope.label(),
            prefix: t.prefix,
            created: human_time(t.created_at),
            last_used: t
                .last_used_at
                .map(human_time)
                .unwrap_or_else(|| "never".into()),
            revoked: t.revoked_at.is_some(),
        })
        .collect();
    let get = |k: &str| form.map(|f| f.get(k).to_string()).unwrap_or_default();
    let scope = form
        .map(|f| f.get("scope").to_string())
        .unwrap_or_else(|| "read".into());
    render(
        status,
        &TokensPage {
            active: "tokens",
            chrome: Chrome::load(s, who).await?,
            tokens,
            new_token,
            summary: summary(errors, |f| f.to_string()),
            sections: vec![Section::new(
                "New token",
                "",
                vec![
                    Field::text("name", "What it is for", get("name"))
                        .required()
                        .width("half")
                        .error_from(errors, &["name"]),
                    Field::select(
                        "scope",
                        "Scope",
                        enum_options(
                            TokenScope::ALL,
                            TokenScope::as_str,
                            TokenScope::label,
                            &scope,
                            None,
                        ),
                    )
                    .width("half")
                    .error_from(errors, &["scope"]),
                ],
            )],
        },
    )
}

pub async fn tokens(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
) -> Result<Response, PageError> {
    tokens_page(
        &s,
        &who,
        StatusCode::OK,
        String::new(),
        None,
        &ValidationErrors::new(),
    )
    .await
}

pub async fn create_token(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    form: Form,
) -> Result<Response, PageError> {
    let Ok(scope) = form.get("scope").parse::<TokenScope>() else {
        let e = ValidationErrors::single("scope", "invalid_value", "choose read or read-write");
        return tokens_page(
            &s,
            &who,
            StatusCode::UNPROCESSABLE_ENTITY,
            String::new(),
            Some(&form),
            &e,
        )
        .await;
    };
    let input = TokenInput {
        name: form.get("name").to_string(),
        scope,
    };
    match mint_token(&s, &who, &input).await {
        Ok(t) => {
            tokens_page(
                &s,
                &who,
                StatusCode::CREATED,
                t.token,
                None,
                &ValidationErrors::new(),
            )
            .await
        }
        Err(e) if e.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let mut v = ValidationErrors::new();
            for fe in &e.problem().errors {
                v.add(fe.field.clone(), fe.code.clone(), fe.message.clone());
            }
            tokens_page(
                &s,
                &who,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                Some(&form),
                &v,
            )
            .await
        }
        Err(e) => Err(PageError::Refused(e.status(), e.problem().detail.clone())),
    }
}

pub async fn revoke_token(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
) -> Result<Response, PageError> {
    s.store
        .revoke_token(&who.actor(), &who.acting, TokenId(id))
        .await?;
    Ok(see_other("/account/tokens"))
}

struct MemberRow {
    id: UserId,
    name: String,
    email: String,
    role: &'static str,
    roles: Vec<Opt>,
}

struct InvitationRow {
    email: String,
    role: &'static str,
    sent: String,
    status: String,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    active: &'static str,
    chrome: Chrome,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    invite_link: String,
    notice: String,
    summary: Vec<String>,
    sections: Vec<Section>,
}

async fn members_page(
    s: &AppState,
    who: &Principal,
    status: StatusCode,
    invite_link: String,
    notice: String,
    form: Option<&Form>,
    errors: &ValidationErrors,
) -> Result<Response, PageError> {
    let members = s
        .store
        .members(who.acting.org_id)
        .await?
        .into_iter()
        .map(|m| MemberRow {
            id: m.user.id,
            name: m.user.display_name,
            email: m.user.email.to_string(),
            role: m.role.label(),
            roles: enum_options(Role::ALL, Role::as_str, Role::label, m.role.as_str(), None),
        })
        .collect();
    let now = chrono::Utc::now();
    let invitations = if who.acting.role.can_administer() {
        s.store
            .invitations(&who.acting)
            .await?
            .into_iter()
            .map(|i| InvitationRow {
                status: if i.accepted_at.is_some() {
                    "Accepted".into()
                } else if i.is_open(now) {
                    format!("Open until {}", human_time(i.expires_at))
                } else {
                    "Expired".into()
                },
                email: i.email.to_string(),
                role: i.role.label(),
                sent: human_time(i.created_at),
            })
            .collect()
    } else {
        Vec::new()
    };
    let get = |k: &str| form.map(|f| f.get(k).to_string()).unwrap_or_default();
    let role = form
        .map(|f| f.get("role").to_string())
        .unwrap_or_else(|| "contributor".into());
    render(
        status,
        &MembersPage {
            active: "members",
            chrome: Chrome::load(s, who).await?,
            members,
            invitations,
            invite_link,
            notice,
            summary: summary(errors, |f| f.to_string()),
            sections: vec![Section::new(
                "Invitation",
                "",
                vec![
                    Field::text("email", "E-mail", get("email"))
                        .required()
                        .width("half")
                        .error_from(errors, &["email"]),
                    Field::select(
                        "role",
                        "Role",
                        enum_options(Role::ALL, Role::as_str, Role::label, &role, None),
                    )
                    .width("half")
                    .error_from(errors, &["role"]),
                ],
            )],
        },
    )
}

pub async fn members(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
) -> Result<Response, PageError> {
    members_page(
        &s,
        &who,
        StatusCode::OK,
        String::new(),
        String::new(),
        None,
        &ValidationErrors::new(),
    )
    .await
}

pub async fn invite(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    form: Form,
) -> Result<Response, PageError> {
    let Ok(role) = form.get("role").parse::<Role>() else {
        let e = ValidationErrors::single("role", "invalid_value", "choose a role");
        return members_page(
            &s,
            &who,
            StatusCode::UNPROCESSABLE_ENTITY,
            String::new(),
            String::new(),
            Some(&form),
            &e,
        )
        .await;
    };
    match create_invite(
        &s.store,
        &who.actor(),
        who.acting.org_id,
        form.get("email"),
        role,
    )
    .await
    {
        Ok(inv) => {
            members_page(
                &s,
                &who,
                StatusCode::CREATED,
                inv.link,
                String::new(),
                None,
                &ValidationErrors::new(),
            )
            .await
        }
        Err(e) => {
            let errors = form_errors(e)?;
            members_page(
                &s,
                &who,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                String::new(),
                Some(&form),
                &errors,
            )
            .await
        }
    }
}

pub async fn set_role(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    PageId(id): PageId,
    form: Form,
) -> Result<Response, PageError> {
    let role: Role = form.get("role").parse().map_err(|_| {
        PageError::Refused(StatusCode::UNPROCESSABLE_ENTITY, "Choose a role.".into())
    })?;
    match s
        .store
        .set_role(&who.actor(), &who.acting, UserId(id), role)
        .await
    {
        Ok(()) => {
            members_page(
                &s,
                &who,
                StatusCode::OK,
                String::new(),
                format!("Role changed to {}.", role.label()),
                None,
                &ValidationErrors::new(),
            )
            .await
        }
        Err(e) => {
            let errors = form_errors(e)?;
            members_page(
                &s,
                &who,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                String::new(),
                None,
                &errors,
            )
            .await
        }
    }
}

#[derive(Deserialize, Default)]
pub struct AuditParams {
    entity: Option<String>,
    user: Option<String>,
    page: Option<u32>,
}

struct AuditRow {
    when: String,
    who: String,
    what: String,
    before: String,
    after: String,
    request: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    active: &'static str,
    chrome: Chrome,
    entities: Vec<Opt>,
    users: Vec<Opt>,
    rows: Vec<AuditRow>,
    pager: Pager,
}

const ENTITIES: &[(&str, &str)] = &[
    ("partnership", "Partnerships"),
    ("organization", "Organizations"),
    ("note", "Internal notes"),
    ("user", "Users"),
    ("membership", "Memberships"),
    ("invitation", "Invitations"),
    ("api_token", "API tokens"),
    ("capability", "Capabilities"),
];

fn compact(v: &Option<serde_json::Value>) -> String {
    match v {
        None => "—".into(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 160 {
                format!("{}…", s.chars().take(160).collect::<String>())
            } else {
                s
            }
        }
    }
}

pub async fn audit(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    Query(q): Query<AuditParams>,
) -> Result<Response, PageError> {
    let entity = q.entity.filter(|e| ENTITIES.iter().any(|(k, _)| k == e));
    let user: Option<i64> = q.user.as_deref().and_then(|u| u.parse().ok());
    let page_req = PageRequest::new(q.page.filter(|p| *p > 0), Some(50)).unwrap_or_default();
    let filter = AuditFilter {
        entity: entity.clone(),
        entity_id: None,
        user_id: user,
    };
    let page = s.store.list_audit(&who.acting, &filter, page_req).await?;
    let members = s.store.members(who.acting.org_id).await?;
    let pager = Pager::new(
        &page,
        "/organization/audit",
        &[
            ("entity", entity.clone().unwrap_or_default()),
            ("user", user.map(|u| u.to_string()).unwrap_or_default()),
        ],
    );
    let mut entities = vec![Opt::new("", "All records", entity.is_none())];
    entities.extend(
        ENTITIES
            .iter()
            .map(|(k, l)| Opt::new(*k, *l, entity.as_deref() == Some(*k))),
    );
    let mut users = vec![Opt::new("", "Everyone", user.is_none())];
    users.extend(members.iter().map(|m| {
        Opt::new(
            m.user.id.to_string(),
            format!("{} ({})", m.user.display_name, m.user.email),
            Some(m.user.id.0) == user,
        )
    }));
    let rows = page
        .items
        .iter()
        .map(|e| AuditRow {
            when: human_time(e.occurred_at),
            who: match &e.user_email {
                Some(email) => format!("{email} via {}", e.actor),
                None => e.actor.clone(),
            },
            what: format!("{} {} {}", e.action, e.entity, e.entity_id),
            before: compact(&e.before),
            after: compact(&e.after),
            request: e.request_id.clone().unwrap_or_else(|| "—".into()),
        })
        .collect();
    render(
        StatusCode::OK,
        &AuditPage {
            active: "audit",
            chrome: Chrome::load(&s, &who).await?,
            entities,
            users,
            rows,
            pager,
        },
    )
}
