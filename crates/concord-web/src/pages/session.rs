//! Signing in and out, switching the acting organization, and accepting invitations.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use concord_domain::account::{check_password, sign_in_throttled, Email, THROTTLE_WINDOW_MINUTES};
use concord_domain::{OrgId, ValidationErrors};
use concord_storage::{Actor, StoreError};

use super::forms::summary;
use super::{render, see_other, Chrome, Field, PageError, Section};
use crate::auth::{
    clear_session_cookie, password, secret, session_cookie, MaybeAuth, PageAuth, Via, SESSION_HOURS,
};
use crate::extract::Form;
use crate::AppState;

/// Longest e-mail and password accepted at sign-in (anything longer is refused unread).
const MAX_EMAIL: usize = 254;
const MAX_PASSWORD_BYTES: usize = 1024;
/// The one message for every failed sign-in: it never says whether the account exists.
const INVALID: &str = "Invalid credentials.";

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    active: &'static str,
    chrome: Chrome,
    error: String,
    email: String,
    next: String,
}

#[derive(Deserialize, Default)]
pub struct NextParam {
    next: Option<String>,
}

/// Only same-site paths are followed after sign-in (no open redirects).
fn safe_next(next: &str) -> String {
    // Printable ASCII only: browsers drop tabs and line breaks from URLs, which would turn
    // "/\t/evil.example" into "//evil.example".
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    if ok {
        next.to_string()
    } else {
        "/".to_string()
    }
}

pub async fn sign_in_form(
    MaybeAuth(who): MaybeAuth,
    Query(q): Query<NextParam>,
) -> Result<Response, PageError> {
    let next = safe_next(q.next.as_deref().unwrap_or("/"));
    if who.is_some() {
        return Ok(see_other(&next));
    }
    render(
        StatusCode::OK,
        &SignInPage {
            active: "",
            chrome: Chrome::default(),
            error: String::new(),
            email: String::new(),
            next,
        },
    )
}

fn sign_in_error(
    status: StatusCode,
    message: &str,
    email: &str,
    next: &str,
) -> Result<Response, PageError> {
    render(
        status,
        &SignInPage {
            active: "",
            chrome: Chrome::default(),
            error: message.to_string(),
            email: email.to_string(),
            next: next.to_string(),
        },
    )
}

pub async fn sign_in(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    MaybeAuth(previous): MaybeAuth,
    form: Form,
) -> Result<Response, PageError> {
    let next = safe_next(form.get("next"));
    let raw_email = form.get("email");
    let pw = form.get("password").to_string();
    if raw_email.len() > MAX_EMAIL || pw.len() > MAX_PASSWORD_BYTES {
        tracing::warn!(client = %addr.ip(), "sign-in refused: oversized credentials");
        return sign_in_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The e-mail address or password is too long.",
            "",
            &next,
        );
    }
    let Ok(email) = Email::parse(raw_email) else {
        return sign_in_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter the e-mail address you sign in with.",
            raw_email,
            &next,
        );
    };
    if pw.is_empty() {
        return sign_in_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your password.",
            email.as_str(),
            &next,
        );
    }
    let account_key = format!("email:{email}");
    let address_key = format!("ip:{}", addr.ip());
    let since = chrono::Utc::now() - chrono::Duration::minutes(THROTTLE_WINDOW_MINUTES);
    let account_failures = s.store.sign_in_failures(&account_key, since).await?;
    let address_failures = s.store.sign_in_failures(&address_key, since).await?;
    if sign_in_throttled(account_failures, address_failures) {
        tracing::warn!(client = %addr.ip(), "sign-in throttled after repeated failures");
        return sign_in_error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many failed sign-ins. Try again in {THROTTLE_WINDOW_MINUTES} minutes."),
            email.as_str(),
            &next,
        );
    }
    let credentials = s.store.credentials(&email).await?;
    let ok = password::verify(pw, credentials.as_ref().map(|c| c.password_hash.clone())).await;
    let user = match (ok, credentials) {
        (true, Some(c)) => c.user_id,
        _ => {
            s.store
                .record_sign_in_failure(&[&account_key, &address_key])
                .await?;
            tracing::warn!(client = %addr.ip(), "sign-in failed");
            return sign_in_error(StatusCode::UNAUTHORIZED, INVALID, email.as_str(), &next);
        }
    };
    let memberships = s.store.memberships(user).await?;
    let Some(first) = memberships.first() else {
        return sign_in_error(
            StatusCode::FORBIDDEN,
            "Your account does not belong to any organization any more.",
            email.as_str(),
            &next,
        );
    };
    s.store.clear_sign_in_failures(&account_key).await?;
    // A fresh session id at every sign-in; the previous session, if any, ends.
    if let Some(p) = previous {
        if let Via::Session { id_hash, .. } = &p.via {
            s.store.delete_session(&p.actor(), id_hash).await?;
        }
    }
    let session_id = secret::new_secret("");
    let csrf = secret::new_secret("");
    s.store
        .create_session(
            &secret::hash_secret(&session_id),
            user,
            first.organization_id,
            &csrf,
            chrono::Duration::hours(SESSION_HOURS),
        )
        .await?;
    tracing::info!(user_id = user.0, "signed in");
    let mut res = see_other(&next);
    res.headers_mut().append(
        header::SET_COOKIE,
        session_cookie(&session_id, s.secure_cookies),
    );
    Ok(res)
}

pub async fn sign_out(
    State(s): State<AppState>,
    MaybeAuth(who): MaybeAuth,
) -> Result<Response, PageError> {
    if let Some(p) = who {
        if let Via::Session { id_hash, .. } = &p.via {
            s.store.delete_session(&p.actor(), id_hash).await?;
        }
    }
    let mut res = see_other("/sign-in");
    res.headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie());
    Ok(res)
}

pub async fn switch_org(
    State(s): State<AppState>,
    PageAuth(who): PageAuth,
    form: Form,
) -> Result<Response, PageError> {
    let Via::Session { id_hash, .. } = &who.via else {
        return Err(PageError::NotFound);
    };
    let org: i64 = form
        .get("organization_id")
        .parse()
        .map_err(|_| PageError::NotFound)?;
    s.store
        .switch_session_org(id_hash, who.acting.user_id, OrgId(org))
        .await?;
    Ok(see_other("/"))
}

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    active: &'static str,
    chrome: Chrome,
    org_name: String,
    role: String,
    email: String,
    action: String,
    existing_account: bool,
    signed_in_as_invitee: bool,
    error: String,
    sections: Vec<Section>,
}

fn account_sections(form: Option<&Form>, e: &ValidationErrors) -> Vec<Section> {
    let get = |k: &str| form.map(|f| f.get(k).to_string()).unwrap_or_default();
    let mut password = Field::text("password", "Choose a password", "")
        .required()
        .width("full")
        .hint("At least 15 characters. A few unrelated words are strong and easy to remember.")
        .error_from(e, &["password"]);
    password.kind = "password";
    vec![Section::new(
        "Your account",
        "",
        vec![
            Field::text("display_name", "Your name", get("display_name"))
                .required()
                .width("full")
                .error_from(e, &["display_name"]),
            password,
        ],
    )]
}

/// 410 for a used or expired invitation.
fn closed_invitation(inv: &concord_domain::account::Invitation) -> PageError {
    let message = if inv.accepted_at.is_some() {
        "This invitation has already been used. Sign in, or ask an admin for a new one."
    } else {
        "This invitation has expired. Ask an admin of the organization for a new one."
    };
    PageError::Refused(StatusCode::GONE, message.into())
}

async fn invitation_page(
    s: &AppState,
    who: Option<&crate::auth::Principal>,
    token: &str,
    status: StatusCode,
    form: Option<&Form>,
    errors: &ValidationErrors,
) -> Result<Response, PageError> {
    let inv = s
        .store
        .invitation(&secret::hash_secret(token))
        .await?
        .ok_or(PageError::NotFound)?;
    if !inv.is_open(chrono::Utc::now()) {
        return Err(closed_invitation(&inv));
    }
    let existing = s.store.user_by_email(&inv.email).await?;
    let chrome = match who {
        Some(p) => Chrome::load(s, p).await?,
        None => Chrome::default(),
    };
    render(
        status,
        &InvitationPage {
            active: "",
            chrome,
            org_name: inv.organization_name.clone(),
            role: inv.role.label().to_string(),
            email: inv.email.to_string(),
            action: format!("/invitations/{token}"),
            existing_account: existing.is_some(),
            signed_in_as_invitee: match (who, &existing) {
                (Some(p), Some(u)) => p.acting.user_id == u.id,
                _ => false,
            },
            error: summary(errors, |f| f.replace('_', " ")).join(" "),
            sections: account_sections(form, errors),
        },
    )
}

pub async fn invitation(
    State(s): State<AppState>,
    MaybeAuth(who): MaybeAuth,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    invitation_page(
        &s,
        who.as_ref(),
        &token,
        StatusCode::OK,
        None,
        &ValidationErrors::new(),
    )
    .await
}

pub async fn accept_invitation(
    State(s): State<AppState>,
    MaybeAuth(who): MaybeAuth,
    Path(token): Path<String>,
    form: Form,
) -> Result<Response, PageError> {
    let hash = secret::hash_secret(&token);
    let inv = s
        .store
        .invitation(&hash)
        .await?
        .ok_or(PageError::NotFound)?;
    if !inv.is_open(chrono::Utc::now()) {
        return Err(closed_invitation(&inv));
    }
    let existing = s.store.user_by_email(&inv.email).await?;
    let actor = Actor::new("web");
    let result = match existing {
        Some(user) => {
            // An existing account joins only when signed in as that account.
            if who.as_ref().map(|p| p.acting.user_id) != Some(user.id) {
                return Err(PageError::Refused(
                    StatusCode::FORBIDDEN,
                    format!("Sign in as {} to accept this invitation.", inv.email),
                ));
            }
            s.store
                .accept_invitation(&actor, &hash, None, Some(user.id))
                .await
        }
        None => {
            let pw = form.get("password");
            if let Err(fe) = check_password(pw, Some(&inv.email)) {
                let mut e = ValidationErrors::new();
                e.add(fe.field, fe.code, fe.message);
                return invitation_page(
                    &s,
                    who.as_ref(),
                    &token,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some(&form),
                    &e,
                )
                .await;
            }
            let hashed = password::hash(pw.to_string())
                .await
                .map_err(|e| PageError::Internal(e.into()))?;
            s.store
                .accept_invitation(
                    &actor,
                    &hash,
                    Some((form.get("display_name"), &hashed)),
                    None,
                )
                .await
        }
    };
    match result {
        Ok(_) => {
            if who.is_some() {
                Ok(see_other("/"))
            } else {
                Ok(see_other("/sign-in?next=/"))
            }
        }
        Err(StoreError::Validation(e)) => {
            invitation_page(
                &s,
                who.as_ref(),
                &token,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&form),
                &e,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
