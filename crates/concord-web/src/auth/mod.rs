//! Who is making a request, and for which organization.
//!
//! One middleware, [`authenticate`], runs before every handler. It resolves an
//! `Authorization: Bearer` API token or the session cookie into a [`Principal`] (the acting user
//! and organization, as a type) and puts it in the request's extensions. It also enforces, for
//! every route at once: CSRF on cookie-authenticated unsafe requests (a header or a form field
//! must carry the session's token), and read-only token scopes. Handlers then take [`Auth`]
//! (API: 401 problem when absent) or [`PageAuth`] (pages: redirect to sign-in when absent).

pub mod password;
pub mod secret;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use concord_domain::account::{Acting, TokenScope};
use concord_storage::Actor;

use crate::error::ApiError;
use crate::AppState;

pub const SESSION_COOKIE: &str = "concord_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "csrf";
/// A session lasts this long from sign-in.
pub const SESSION_HOURS: i64 = 12;

/// How the request was authenticated.
#[derive(Debug, Clone)]
pub enum Via {
    Session { id_hash: String, csrf_token: String },
    Token { scope: TokenScope },
}

/// The authenticated user acting for one organization.
#[derive(Debug, Clone)]
pub struct Principal {
    pub acting: Acting,
    pub via: Via,
    pub request_id: Option<String>,
}

impl Principal {
    /// The actor recorded in the audit log for this request.
    pub fn actor(&self) -> Actor {
        let label = match self.via {
            Via::Session { .. } => "web",
            Via::Token { .. } => "api",
        };
        Actor::person(label, &self.acting, self.request_id.clone())
    }

    /// The CSRF token to put in forms (empty for token-authenticated requests).
    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf_token, .. } => csrf_token,
            Via::Token { .. } => "",
        }
    }
}

fn is_unsafe(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The value of a cookie in the request, if present.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The `Set-Cookie` value for a new session.
pub fn session_cookie(value: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        SESSION_HOURS * 3600
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_session_cookie() -> HeaderValue {
    HeaderValue::from_static("concord_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

fn refuse(api: bool, status: StatusCode, code: &str, message: &str) -> Response {
    tracing::warn!(status = status.as_u16(), code, "request refused: {message}");
    if api {
        ApiError::new(status, code, message).into_response()
    } else {
        crate::pages::PageError::Refused(status, message.to_string()).into_response()
    }
}

/// Resolves the principal of every request; enforces CSRF and token scopes.
pub async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let api = parts.uri.path().starts_with("/api/");
    let request_id = parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let unsafe_method = is_unsafe(&parts.method);

    if let Some(authz) = parts.headers.get(header::AUTHORIZATION) {
        let token = authz
            .to_str()
            .ok()
            .and_then(|v| {
                // The scheme is case-insensitive (RFC 9110).
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(rest)
            })
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 200);
        let Some(token) = token else {
            return refuse(
                true,
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "use `Authorization: Bearer <token>` with an API token",
            );
        };
        let info = match state.store.token(&secret::hash_secret(token)).await {
            Ok(Some(info)) => info,
            Ok(None) => {
                return refuse(
                    true,
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "the API token is unknown or has been revoked",
                )
            }
            Err(e) => return ApiError::from(e).into_response(),
        };
        if unsafe_method && info.scope == TokenScope::Read {
            return refuse(
                true,
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "this API token is read-only",
            );
        }
        // Record use at most once a minute, off the request's path.
        let stale = info
            .last_used_at
            .is_none_or(|t| chrono::Utc::now() - t > chrono::Duration::minutes(1));
        if stale {
            let store = state.store.clone();
            let id = info.token_id;
            tokio::spawn(async move {
                let _ = store.touch_token(id).await;
            });
        }
        parts.extensions.insert(Principal {
            acting: info.acting,
            via: Via::Token { scope: info.scope },
            request_id,
        });
        return next.run(Request::from_parts(parts, body)).await;
    }

    let Some(session_id) =
        cookie(&parts.headers, SESSION_COOKIE).filter(|v| !v.is_empty() && v.len() <= 100)
    else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let id_hash = secret::hash_secret(&session_id);
    let session = match state.store.session(&id_hash).await {
        Ok(s) => s,
        Err(e) if api => return ApiError::from(e).into_response(),
        Err(e) => return crate::pages::PageError::from(e).into_response(),
    };
    let Some(session) = session else {
        // Expired or forged: carry on unauthenticated (sign-in pages still work) and drop the cookie.
        tracing::warn!("unknown or expired session cookie");
        let mut res = next.run(Request::from_parts(parts, body)).await;
        res.headers_mut()
            .append(header::SET_COOKIE, clear_session_cookie());
        return res;
    };
    let mut body = body;
    if unsafe_method {
        let from_header = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let presented = match from_header {
            Some(t) => Some(t),
            None => {
                let content_type = parts
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let is_form = content_type.starts_with("application/x-www-form-urlencoded");
                // A file upload's body is not read here (it may be large): its form carries the
                // token in the action's query string (`?csrf=…`) instead.
                let is_multipart = content_type
                    .get(..19)
                    .is_some_and(|p| p.eq_ignore_ascii_case("multipart/form-data"));
                if is_multipart {
                    parts.uri.query().and_then(|q| {
                        form_urlencoded::parse(q.as_bytes())
                            .find(|(k, _)| k == CSRF_FIELD)
                            .map(|(_, v)| v.into_owned())
                    })
                } else if is_form {
                    let bytes =
                        match axum::body::to_bytes(body, crate::extract::MAX_JSON_BYTES).await {
                            Ok(b) => b,
                            Err(_) => {
                                return refuse(
                                    api,
                                    StatusCode::PAYLOAD_TOO_LARGE,
                                    "payload_too_large",
                                    "the form is too large",
                                )
                            }
                        };
                    let token = form_urlencoded::parse(&bytes)
                        .find(|(k, _)| k == CSRF_FIELD)
                        .map(|(_, v)| v.into_owned());
                    body = Body::from(bytes);
                    token
                } else {
                    body = Body::empty();
                    None
                }
            }
        };
        let ok = presented.is_some_and(|t| secret::constant_time_eq(&t, &session.csrf_token));
        if !ok {
            return refuse(
                api,
                StatusCode::FORBIDDEN,
                "csrf",
                "the request did not carry this session's CSRF token; reload the page and try again",
            );
        }
    }
    parts.extensions.insert(Principal {
        acting: session.acting,
        via: Via::Session {
            id_hash,
            csrf_token: session.csrf_token,
        },
        request_id,
    });
    next.run(Request::from_parts(parts, body)).await
}

/// The principal of an API request; 401 problem+json when the request is not authenticated.
pub struct Auth(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Auth)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "sign in, or send `Authorization: Bearer <token>` with an API token",
                )
            })
    }
}

/// The principal of a page request; a redirect to the sign-in page when not signed in.
pub struct PageAuth(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for PageAuth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        match parts.extensions.get::<Principal>() {
            Some(p) => Ok(PageAuth(p.clone())),
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let target = if parts.method == Method::GET {
                    format!(
                        "/sign-in?next={}",
                        form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                    )
                } else {
                    "/sign-in".to_string()
                };
                Err(Redirect::to(&target).into_response())
            }
        }
    }
}

/// The principal when there is one (the sign-in page, the invitation page).
pub struct MaybeAuth(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeAuth {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeAuth(parts.extensions.get::<Principal>().cloned()))
    }
}
