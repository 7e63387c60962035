//! Sign-in, sessions, CSRF, API tokens, invitations and the acting organization, over a real
//! socket on SQLite and (when configured) PostgreSQL. Every piece of bad input gets its 401, 403,
//! 404, 410, 422 or 429 and writes nothing.

mod common;

use common::{csrf_in, TestApp, PASSWORD};
use concord_domain::account::{Email, Role, TokenScope};
use concord_domain::{OrgId, UserId};
use concord_storage::Actor;
use concord_web::auth::secret::hash_secret;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::Response;
use serde_json::{json, Value};

/// The one message of every failed sign-in.
const INVALID: &str = "Invalid credentials.";
/// A password that meets the rule and is not the harness's [`PASSWORD`].
const NEW_PASSWORD: &str = "copper meadow kestrel";

// ---------------------------------------------------------------------------------------------
// Helpers: requests that carry an explicit session cookie (or none), and what came back
// ---------------------------------------------------------------------------------------------

/// Posts the sign-in form from a client without cookies, carrying `cookie` as the session if given.
async fn sign_in_raw(app: &TestApp, cookie: Option<&str>, pairs: &[(&str, &str)]) -> Response {
    let mut req = app.client.post(app.url("/sign-in")).form(pairs);
    if let Some(c) = cookie {
        req = req.header(COOKIE, format!("concord_session={c}"));
    }
    req.send().await.expect("sign-in request")
}

/// Signs in with `email` and `password` (no previous session) and returns the session id.
async fn session_id(app: &TestApp, email: &str, password: &str) -> String {
    let r = sign_in_raw(
        app,
        None,
        &[("email", email), ("password", password), ("next", "/")],
    )
    .await;
    assert_eq!(r.status(), 303, "sign-in as {email} succeeds");
    new_session_cookie(&r).expect("a session cookie")
}

/// The `Set-Cookie` header that sets or clears `concord_session`, if any.
fn session_set_cookie(r: &Response) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("concord_session="))
        .map(str::to_string)
}

/// The new session id a response sets (`None` when it sets none, or clears it).
fn new_session_cookie(r: &Response) -> Option<String> {
    let header = session_set_cookie(r)?;
    let value = header
        .strip_prefix("concord_session=")?
        .split(';')
        .next()?
        .to_string();
    (!value.is_empty()).then_some(value)
}

fn location(r: &Response) -> String {
    r.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// GET with `cookie` as the session id.
async fn get_with(app: &TestApp, cookie: &str, path: &str) -> Response {
    app.client
        .get(app.url(path))
        .header(COOKIE, format!("concord_session={cookie}"))
        .send()
        .await
        .expect("request")
}

/// Posts `form` with `cookie` as the session id.
async fn post_form_with(
    app: &TestApp,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> Response {
    app.client
        .post(app.url(path))
        .header(COOKIE, format!("concord_session={cookie}"))
        .form(form)
        .send()
        .await
        .expect("request")
}

/// Posts JSON with `cookie` as the session id and, if given, an `x-csrf-token` header.
async fn post_json_with(
    app: &TestApp,
    cookie: &str,
    csrf: Option<&str>,
    path: &str,
    body: &Value,
) -> Response {
    let mut req = app
        .client
        .post(app.url(path))
        .header(COOKIE, format!("concord_session={cookie}"))
        .json(body);
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    req.send().await.expect("request")
}

/// Sends `method path` with a raw `Authorization` header value.
async fn with_authorization(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    authorization: &str,
) -> Response {
    app.client
        .request(method, app.url(path))
        .header(AUTHORIZATION, authorization)
        .json(&json!({ "name": "Unauthorized Clinic", "kind": "health_system" }))
        .send()
        .await
        .expect("request")
}

/// Asserts a problem+json answer with this status and code, and returns it.
async fn problem(r: Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status, "{}", r.url());
    assert_eq!(
        r.headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
        "application/problem+json"
    );
    let p: Value = r.json().await.expect("problem body");
    assert_eq!(p["code"], code, "{p}");
    assert_eq!(p["status"], status, "{p}");
    p
}

async fn json_of(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn user_id(app: &TestApp, email: &str) -> Option<UserId> {
    app.store
        .user_by_email(&Email::parse(email).expect("email"))
        .await
        .expect("lookup")
        .map(|u| u.id)
}

async fn audit(app: &TestApp) -> i64 {
    app.store.audit_count().await.expect("audit count")
}

async fn org_count(app: &TestApp) -> u64 {
    app.get_json("/api/v1/organizations").await.1["total"]
        .as_u64()
        .expect("total")
}

/// A page request answered with a redirect to the sign-in page.
fn assert_to_sign_in(r: &Response) {
    assert_eq!(r.status(), 303, "{}", r.url());
    assert!(
        location(r).starts_with("/sign-in"),
        "redirects to sign-in, not {}",
        location(r)
    );
}

// ---------------------------------------------------------------------------------------------
// 1. Sign-in and sign-out
// ---------------------------------------------------------------------------------------------

on_both!(failed_sign_ins_are_generic_and_write_nothing, |app| {
    let audit_before = audit(&app).await;

    let wrong = sign_in_raw(
        &app,
        None,
        &[
            ("email", "admin@home.example"),
            ("password", "not the right password at all"),
            ("next", "/"),
        ],
    )
    .await;
    let unknown = sign_in_raw(
        &app,
        None,
        &[
            ("email", "nobody@home.example"),
            ("password", PASSWORD),
            ("next", "/"),
        ],
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert!(session_set_cookie(&wrong).is_none());
    assert!(session_set_cookie(&unknown).is_none());
    let wrong = wrong.text().await.unwrap();
    let unknown = unknown.text().await.unwrap();
    assert!(wrong.contains(INVALID), "{wrong}");
    assert!(unknown.contains(INVALID), "{unknown}");
    // The same page, word for word, once the echoed e-mail address is set aside: no hint which.
    assert_eq!(
        wrong.replace("admin@home.example", "EMAIL"),
        unknown.replace("nobody@home.example", "EMAIL")
    );

    // Empty, malformed and oversized input: 422 before any password is checked.
    let long_email = format!("{}@home.example", "a".repeat(250));
    let long_password = "p".repeat(1025);
    for (email, password) in [
        ("", PASSWORD),
        ("not-an-email", PASSWORD),
        ("admin@", PASSWORD),
        (long_email.as_str(), PASSWORD),
        ("admin@home.example", long_password.as_str()),
        ("admin@home.example", ""),
    ] {
        let r = sign_in_raw(
            &app,
            None,
            &[("email", email), ("password", password), ("next", "/")],
        )
        .await;
        assert_eq!(r.status(), 422, "email {email:.40}");
        assert!(session_set_cookie(&r).is_none());
        let body = r.text().await.unwrap();
        assert!(!body.contains(INVALID), "{body}");
    }
    // The oversized passwords were refused unread, so they count as no failure: with five more
    // the account would be locked, yet the right password still works.
    for _ in 0..5 {
        let r = sign_in_raw(
            &app,
            None,
            &[
                ("email", "admin@home.example"),
                ("password", long_password.as_str()),
            ],
        )
        .await;
        assert_eq!(r.status(), 422);
    }
    session_id(&app, "admin@home.example", PASSWORD).await;

    // Only the one successful sign-in is recorded.
    assert_eq!(
        audit(&app).await,
        audit_before + 1,
        "failed and refused sign-ins audit nothing"
    );
});

on_both!(
    sign_in_sets_a_strict_cookie_and_follows_only_same_site_next,
    |app| {
        for (next, expected) in [
            (
                "/partnerships?stage=proposal",
                "/partnerships?stage=proposal",
            ),
            ("https://evil.example", "/"),
            ("//evil.example/path", "/"),
            ("/\\evil.example", "/"),
            ("javascript:alert(1)", "/"),
        ] {
            let r = sign_in_raw(
                &app,
                None,
                &[
                    ("email", "admin@home.example"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
            assert_eq!(r.status(), 303, "next={next}");
            assert_eq!(location(&r), expected, "next={next}");
            let cookie = session_set_cookie(&r).expect("a session cookie");
            assert!(cookie.contains("; HttpOnly"), "{cookie}");
            assert!(cookie.contains("; SameSite=Lax"), "{cookie}");
            assert!(cookie.contains("; Path=/"), "{cookie}");
            assert!(new_session_cookie(&r).is_some_and(|v| v.len() >= 40));
        }
        // The sign-in page, too, only offers same-site paths to come back to.
        let r = app
            .client
            .get(app.url("/sign-in?next=https%3A%2F%2Fevil.example"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body = r.text().await.unwrap();
        assert!(!body.contains("evil.example"), "{body}");
    }
);

// Browsers drop tabs and line breaks from a URL before following it, so `/<TAB>/evil.example`
// leads off-site; and a line break cannot go into a `Location` header at all. Neither is a
// same-site path: both must land on `/`.
on_both!(
    sign_in_next_with_control_characters_is_not_followed,
    |app| {
        for next in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/ok\u{7f}",
        ] {
            let r = sign_in_raw(
                &app,
                None,
                &[
                    ("email", "admin@home.example"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
            assert_eq!(r.status(), 303, "next={next:?}");
            assert_eq!(location(&r), "/", "next={next:?}");
        }
        let r = app
            .client
            .get(app.url("/sign-in?next=%2F%09%2Fevil.example"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body = r.text().await.unwrap();
        assert!(!body.contains("evil.example"), "{body}");
    }
);

on_both!(sign_in_starts_a_new_session_and_sign_out_ends_it, |app| {
    let first = session_id(&app, "admin@home.example", PASSWORD).await;
    let page = get_with(&app, &first, "/").await;
    assert_eq!(page.status(), 200);
    let first_csrf = csrf_in(&page.text().await.unwrap()).expect("csrf");

    // Signing in again over the live session (a form post, so with its CSRF token).
    let r = sign_in_raw(
        &app,
        Some(&first),
        &[
            ("email", "admin@home.example"),
            ("password", PASSWORD),
            ("next", "/"),
            ("csrf", &first_csrf),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let second = new_session_cookie(&r).expect("a new session cookie");
    assert_ne!(second, first, "a new session id at sign-in");

    // The old cookie no longer works, on pages or on the API.
    assert_to_sign_in(&get_with(&app, &first, "/").await);
    problem(
        get_with(&app, &first, "/api/v1/me").await,
        401,
        "unauthenticated",
    )
    .await;
    let page = get_with(&app, &second, "/").await;
    assert_eq!(page.status(), 200);
    let csrf = csrf_in(&page.text().await.unwrap()).expect("csrf");
    assert_ne!(csrf, first_csrf, "a new CSRF token with the new session");

    // Signing out is a form post like any other: without the token it is refused.
    let r = post_form_with(&app, &second, "/sign-out", &[]).await;
    assert_eq!(r.status(), 403);
    assert_eq!(get_with(&app, &second, "/").await.status(), 200);

    let r = post_form_with(&app, &second, "/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/sign-in");
    let cleared = session_set_cookie(&r).expect("the cookie is cleared");
    assert!(cleared.starts_with("concord_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    let r = get_with(&app, &second, "/").await;
    assert_to_sign_in(&r);
    assert_eq!(location(&r), "/sign-in?next=%2F");
    problem(
        get_with(&app, &second, "/api/v1/me").await,
        401,
        "unauthenticated",
    )
    .await;
});

// ---------------------------------------------------------------------------------------------
// 2. Throttling
// ---------------------------------------------------------------------------------------------

on_both!(sign_in_is_throttled_per_account, |app| {
    app.member(
        "ann@home.example",
        app.home,
        Role::Contributor,
        TokenScope::Read,
    )
    .await;
    for i in 0..5 {
        let r = sign_in_raw(
            &app,
            None,
            &[
                ("email", "admin@home.example"),
                ("password", "wrong password, try again"),
            ],
        )
        .await;
        assert_eq!(r.status(), 401, "failure {}", i + 1);
    }
    // The sixth attempt is refused even with the right password, and starts no session.
    let r = sign_in_raw(
        &app,
        None,
        &[("email", "admin@home.example"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status(), 429);
    assert!(session_set_cookie(&r).is_none());
    let body = r.text().await.unwrap();
    assert!(body.contains("Too many failed sign-ins"), "{body}");
    // The e-mail address is normalized before it is counted: no way around by changing case.
    let r = sign_in_raw(
        &app,
        None,
        &[("email", " Admin@Home.Example "), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status(), 429);

    // Another account from the same address still signs in: the lock is per account.
    session_id(&app, "ann@home.example", PASSWORD).await;
});

on_both!(sign_in_is_throttled_per_address, |app| {
    for i in 0..20 {
        let email = format!("guess{i}@home.example");
        let r = sign_in_raw(
            &app,
            None,
            &[
                ("email", email.as_str()),
                ("password", "guessing passwords"),
            ],
        )
        .await;
        assert_eq!(r.status(), 401, "failure {}", i + 1);
    }
    // An e-mail address never tried before, with the right password, from the same address.
    let r = sign_in_raw(
        &app,
        None,
        &[("email", "admin@home.example"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status(), 429);
    assert!(session_set_cookie(&r).is_none());
});

// ---------------------------------------------------------------------------------------------
// 3. Forged and expired sessions
// ---------------------------------------------------------------------------------------------

/// A session cookie that resolves to nobody: pages send to sign-in, the API answers 401, and
/// nothing is written.
async fn assert_not_a_session(app: &TestApp, cookie: &str) {
    let audit_before = audit(app).await;
    let orgs_before = org_count(app).await;

    let r = get_with(app, cookie, "/").await;
    assert_to_sign_in(&r);
    assert_eq!(location(&r), "/sign-in?next=%2F");
    if cookie.len() <= 100 {
        let cleared = session_set_cookie(&r).expect("the dead cookie is dropped");
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
    }
    let r = get_with(app, cookie, "/partnerships?stage=proposal").await;
    assert_eq!(
        location(&r),
        "/sign-in?next=%2Fpartnerships%3Fstage%3Dproposal"
    );

    problem(
        get_with(app, cookie, "/api/v1/me").await,
        401,
        "unauthenticated",
    )
    .await;
    problem(
        get_with(app, cookie, "/api/v1/organizations").await,
        401,
        "unauthenticated",
    )
    .await;
    // Writes: unauthenticated too (not a CSRF complaint that would confirm a session exists).
    problem(
        post_json_with(
            app,
            cookie,
            Some("csrf"),
            "/api/v1/organizations",
            &json!({ "name": "Forged Clinic", "kind": "health_system" }),
        )
        .await,
        401,
        "unauthenticated",
    )
    .await;
    let r = post_form_with(
        app,
        cookie,
        "/organizations",
        &[
            ("name", "Forged Clinic"),
            ("kind", "health_system"),
            ("csrf", "csrf"),
        ],
    )
    .await;
    assert_to_sign_in(&r);

    // The sign-in page itself still works.
    assert_eq!(get_with(app, cookie, "/sign-in").await.status(), 200);

    assert_eq!(audit(app).await, audit_before);
    assert_eq!(org_count(app).await, orgs_before);
}

on_both!(forged_and_expired_sessions_are_signed_out, |app| {
    assert_not_a_session(&app, "made-up-session-id-that-was-never-issued").await;
    assert_not_a_session(&app, &"x".repeat(500)).await;

    let admin = user_id(&app, "admin@home.example").await.expect("admin");
    let expired = "an-expired-session-id-for-the-admin";
    app.store
        .create_session(
            &hash_secret(expired),
            admin,
            OrgId(app.home),
            "csrf",
            chrono::Duration::hours(-1),
        )
        .await
        .expect("session");
    assert_not_a_session(&app, expired).await;

    // The same session, unexpired, does work (so the refusal above is the expiry).
    let live = "a-live-session-id-for-the-admin";
    app.store
        .create_session(
            &hash_secret(live),
            admin,
            OrgId(app.home),
            "csrf",
            chrono::Duration::hours(1),
        )
        .await
        .expect("session");
    assert_eq!(get_with(&app, live, "/").await.status(), 200);
    let (status, me) = json_of(get_with(&app, live, "/api/v1/me").await).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["acting"]["org_id"], app.home);
});

// ---------------------------------------------------------------------------------------------
// 4. CSRF
// ---------------------------------------------------------------------------------------------

on_both!(writes_through_a_session_need_its_csrf_token, |app| {
    app.member(
        "ann@home.example",
        app.home,
        Role::AllianceManager,
        TokenScope::Read,
    )
    .await;
    let admin = app.sign_in("admin@home.example").await;
    let ann = app.sign_in("ann@home.example").await;
    assert_ne!(admin.csrf, ann.csrf);
    let audit_before = audit(&app).await;
    let orgs_before = org_count(&app).await;
    let form = [("name", "Forged Clinic"), ("kind", "health_system")];

    // A form post without the token, with an empty one, or with another session's.
    let r = admin.post_raw_form("/organizations", &form).await;
    assert_eq!(r.status(), 403);
    let body = r.text().await.unwrap();
    assert!(body.contains("CSRF"), "{body}");
    for token in ["", ann.csrf.as_str(), "not-a-token"] {
        let mut pairs = form.to_vec();
        pairs.push(("csrf", token));
        let r = admin.post_raw_form("/organizations", &pairs).await;
        assert_eq!(r.status(), 403, "csrf={token}");
    }
    // The token in the header of a form post must be right, too.
    let r = admin
        .client
        .post(format!("{}/organizations", admin.base))
        .header("x-csrf-token", &ann.csrf)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(audit(&app).await, audit_before);
    assert_eq!(org_count(&app).await, orgs_before);

    // API writes with the session cookie: no header, or a foreign one, is a `csrf` problem.
    let body = json!({ "name": "Forged Clinic", "kind": "health_system" });
    let r = admin
        .client
        .post(format!("{}/api/v1/organizations", admin.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(r, 403, "csrf").await;
    let r = admin
        .client
        .post(format!("{}/api/v1/organizations", admin.base))
        .header("x-csrf-token", &ann.csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(r, 403, "csrf").await;
    assert_eq!(audit(&app).await, audit_before);
    assert_eq!(org_count(&app).await, orgs_before);

    // With the session's own token both succeed.
    let r = admin
        .client
        .post(format!("{}/api/v1/organizations", admin.base))
        .header("x-csrf-token", &admin.csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = admin
        .post_form(
            "/organizations",
            &[("name", "Real Clinic"), ("kind", "health_system")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with("/organizations/"));
    assert_eq!(org_count(&app).await, orgs_before + 2);

    // Reads need no token.
    assert_eq!(admin.get("/api/v1/me").await.status(), 200);
});

// ---------------------------------------------------------------------------------------------
// 5. API tokens
// ---------------------------------------------------------------------------------------------

on_both!(unknown_and_malformed_tokens_are_refused, |app| {
    let audit_before = audit(&app).await;
    let oversized = format!("Bearer {}", "x".repeat(300));
    for authorization in [
        "Bearer cnc_this-token-was-never-issued",
        "Basic abc",
        "Basic YWRtaW5AaG9tZS5leGFtcGxlOmhhcmJvcg==",
        "cnc_a-token-without-a-scheme",
        oversized.as_str(),
    ] {
        for method in [reqwest::Method::GET, reqwest::Method::POST] {
            let path = if method == reqwest::Method::GET {
                "/api/v1/me"
            } else {
                "/api/v1/organizations"
            };
            let r = with_authorization(&app, method, path, authorization).await;
            problem(r, 401, "invalid_token").await;
        }
    }
    // A bad token is not rescued by a good session: the header decides.
    let admin = app.sign_in("admin@home.example").await;
    let r = admin
        .client
        .get(format!("{}/api/v1/me", admin.base))
        .header(AUTHORIZATION, "Bearer cnc_this-token-was-never-issued")
        .send()
        .await
        .unwrap();
    problem(r, 401, "invalid_token").await;
    // No credentials at all: 401 `unauthenticated`.
    let r = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    problem(r, 401, "unauthenticated").await;
    // Only the admin's sign-in is recorded.
    assert_eq!(audit(&app).await, audit_before + 1);
});

on_both!(read_only_tokens_cannot_write, |app| {
    let reader = app
        .member(
            "reader@home.example",
            app.home,
            Role::Admin,
            TokenScope::Read,
        )
        .await;
    let audit_before = audit(&app).await;
    let orgs_before = org_count(&app).await;
    let (status, page) = json_of(app.get_as(&reader.token, "/api/v1/organizations").await).await;
    assert_eq!(status, 200, "{page}");
    let (status, _) = json_of(app.get_as(&reader.token, "/api/v1/me").await).await;
    assert_eq!(status, 200);
    for (path, body) in [
        (
            "/api/v1/organizations",
            json!({ "name": "Read Only Clinic", "kind": "health_system" }),
        ),
        (
            "/api/v1/tokens",
            json!({ "name": "escalate", "scope": "read-write" }),
        ),
        (
            "/api/v1/invitations",
            json!({ "email": "someone@home.example", "role": "admin" }),
        ),
    ] {
        let r = app
            .client
            .post(app.url(path))
            .bearer_auth(&reader.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        problem(r, 403, "insufficient_scope").await;
    }
    assert_eq!(audit(&app).await, audit_before);
    assert_eq!(org_count(&app).await, orgs_before);
});

on_both!(tokens_are_shown_once_and_can_be_revoked, |app| {
    let audit_before = audit(&app).await;
    let orgs_before = org_count(&app).await;
    // Bad input first: nothing is created.
    for body in [
        json!({ "name": "", "scope": "read" }),
        json!({ "name": "x", "scope": "admin" }),
        json!({ "name": "x", "scope": "read", "expires": "never" }),
        json!({ "scope": "read" }),
    ] {
        let (status, p) = app.post_json("/api/v1/tokens", &body).await;
        assert_eq!(status, 422, "{body} {p}");
    }
    assert_eq!(audit(&app).await, audit_before);

    let (status, created) = app
        .post_json(
            "/api/v1/tokens",
            &json!({ "name": "nightly export", "scope": "read-write" }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"]
        .as_str()
        .expect("the token, once")
        .to_string();
    assert!(token.starts_with("cnc_"), "{token}");
    assert_eq!(created["scope"], "read-write");
    assert_eq!(created["prefix"], &token[..10]);
    let id = created["id"].as_i64().expect("id");
    assert_eq!(audit(&app).await, audit_before + 1);

    let (status, me) = json_of(app.get_as(&token, "/api/v1/me").await).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["acting"]["email"], "admin@home.example");

    // Listed, but never with the secret.
    let r = app.get("/api/v1/tokens").await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.contains(&token), "the list never shows a token");
    let list: Value = serde_json::from_str(&text).unwrap();
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .expect("listed");
    assert!(listed.get("token").is_none(), "{listed}");
    assert_eq!(listed["name"], "nightly export");
    assert!(listed["revoked_at"].is_null());

    // Someone else cannot revoke it, and an unknown id is not found.
    let ann = app
        .member(
            "ann@home.example",
            app.home,
            Role::Admin,
            TokenScope::ReadWrite,
        )
        .await;
    let before = audit(&app).await;
    let (status, p) = app
        .send_json_as(
            &ann.token,
            reqwest::Method::POST,
            &format!("/api/v1/tokens/{id}/revoke"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 404, "{p}");
    let (status, _) = app
        .post_json("/api/v1/tokens/999999/revoke", &json!({}))
        .await;
    assert_eq!(status, 404);
    assert_eq!(audit(&app).await, before);
    assert_eq!(app.get_as(&token, "/api/v1/me").await.status(), 200);

    // Revoked by its owner: 401 from then on.
    let r = app
        .client
        .post(app.url(&format!("/api/v1/tokens/{id}/revoke")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    problem(app.get_as(&token, "/api/v1/me").await, 401, "invalid_token").await;
    let r = app
        .client
        .post(app.url("/api/v1/organizations"))
        .bearer_auth(&token)
        .json(&json!({ "name": "After Revoke Clinic", "kind": "health_system" }))
        .send()
        .await
        .unwrap();
    problem(r, 401, "invalid_token").await;
    let (_, list) = app.get_json("/api/v1/tokens").await;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .expect("still listed");
    assert!(!listed["revoked_at"].is_null(), "{listed}");
    assert_eq!(org_count(&app).await, orgs_before);
});

on_both!(viewers_create_only_read_tokens, |app| {
    app.member(
        "viewer@home.example",
        app.home,
        Role::Viewer,
        TokenScope::Read,
    )
    .await;
    let viewer = app.sign_in("viewer@home.example").await;
    let audit_before = audit(&app).await;
    let post = |scope: &'static str| {
        viewer
            .client
            .post(format!("{}/api/v1/tokens", viewer.base))
            .header("x-csrf-token", &viewer.csrf)
            .json(&json!({ "name": "my token", "scope": scope }))
            .send()
    };
    problem(post("read-write").await.unwrap(), 403, "forbidden").await;
    assert_eq!(audit(&app).await, audit_before);

    let (status, created) = json_of(post("read").await.unwrap()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["scope"], "read");
    let token = created["token"].as_str().unwrap();
    assert_eq!(app.get_as(token, "/api/v1/me").await.status(), 200);
});

// ---------------------------------------------------------------------------------------------
// 6. Invitations
// ---------------------------------------------------------------------------------------------

/// Invites `email` as `role` to the home organization through the API; returns the link.
async fn invite(app: &TestApp, email: &str, role: &str) -> String {
    let (status, inv) = app
        .post_json(
            "/api/v1/invitations",
            &json!({ "email": email, "role": role }),
        )
        .await;
    assert_eq!(status, 201, "{inv}");
    inv["link"].as_str().expect("link").to_string()
}

async fn accept(app: &TestApp, link: &str, name: &str, password: &str) -> Response {
    app.client
        .post(app.url(link))
        .form(&[("display_name", name), ("password", password)])
        .send()
        .await
        .expect("request")
}

on_both!(
    only_admins_invite_and_bad_invitations_write_nothing,
    |app| {
        let manager = app
            .member(
                "manager@home.example",
                app.home,
                Role::AllianceManager,
                TokenScope::ReadWrite,
            )
            .await;
        let audit_before = audit(&app).await;

        let (status, p) = app
            .send_json_as(
                &manager.token,
                reqwest::Method::POST,
                "/api/v1/invitations",
                &json!({ "email": "new.person@home.example", "role": "viewer" }),
            )
            .await;
        assert_eq!(status, 403, "{p}");
        assert_eq!(p["code"], "forbidden");

        for (body, field) in [
            (
                json!({ "email": "not an email", "role": "viewer" }),
                "email",
            ),
            (json!({ "email": "", "role": "viewer" }), "email"),
            (
                json!({ "email": "x@home.example", "role": "owner" }),
                "role",
            ),
            (
                json!({ "email": "x@home.example", "role": "viewer", "org": 1 }),
                "org",
            ),
        ] {
            let (status, p) = app.post_json("/api/v1/invitations", &body).await;
            assert_eq!(status, 422, "{body} {p}");
            assert_eq!(p["field"], field, "{p}");
        }
        // Already a member: a conflict, not a second account.
        let (status, p) = app
            .post_json(
                "/api/v1/invitations",
                &json!({ "email": "manager@home.example", "role": "admin" }),
            )
            .await;
        assert_eq!(status, 409, "{p}");
        assert_eq!(audit(&app).await, audit_before);

        let (status, inv) = app
            .post_json(
                "/api/v1/invitations",
                &json!({ "email": "New.Person@Home.Example", "role": "contributor" }),
            )
            .await;
        assert_eq!(status, 201, "{inv}");
        assert!(inv["link"].as_str().unwrap().starts_with("/invitations/"));
        assert_eq!(inv["email"], "new.person@home.example");
        assert_eq!(inv["role"], "contributor");
        assert_eq!(inv["organization_id"], app.home);
        assert!(inv["accepted_at"].is_null());
        assert_eq!(audit(&app).await, audit_before + 1);
    }
);

on_both!(an_invitation_is_accepted_once, |app| {
    let link = invite(&app, "new.person@home.example", "contributor").await;

    let r = app.client.get(app.url(&link)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("Home Health System"), "{body}");
    assert!(body.contains("new.person@home.example"), "{body}");

    let r = accept(&app, &link, "New Person", NEW_PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/sign-in?next=/");
    assert!(user_id(&app, "new.person@home.example").await.is_some());

    // The new account signs in with its own password and acts for the inviting organization.
    let cookie = session_id(&app, "new.person@home.example", NEW_PASSWORD).await;
    let (status, me) = json_of(get_with(&app, &cookie, "/api/v1/me").await).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["acting"]["org_id"], app.home);
    assert_eq!(me["acting"]["role"], "contributor");
    assert_eq!(me["acting"]["display_name"], "New Person");
    assert_eq!(me["memberships"].as_array().unwrap().len(), 1);

    // The link is spent: opening it again is 410, and so is posting to it as the new account
    // (with its CSRF token). Nothing changes.
    let audit_before = audit(&app).await;
    let r = app.client.get(app.url(&link)).send().await.unwrap();
    assert_eq!(r.status(), 410);
    let page = get_with(&app, &cookie, "/").await;
    let csrf = csrf_in(&page.text().await.unwrap()).expect("csrf");
    let r = get_with(&app, &cookie, &link).await;
    assert_eq!(r.status(), 410);
    let r = post_form_with(
        &app,
        &cookie,
        &link,
        &[
            ("display_name", "Someone Else"),
            ("password", "another long passphrase"),
            ("csrf", &csrf),
        ],
    )
    .await;
    assert_eq!(r.status(), 410);
    assert_eq!(audit(&app).await, audit_before);
    assert_eq!(
        app.store
            .memberships(user_id(&app, "new.person@home.example").await.unwrap())
            .await
            .unwrap()
            .len(),
        1
    );
    // The password was not replaced.
    session_id(&app, "new.person@home.example", NEW_PASSWORD).await;
});

// Posting to a spent or expired link whose e-mail already has an account, without being signed
// in, is 410 like opening it (not 403 "sign in to accept", which invites a pointless sign-in).
on_both!(
    posting_to_a_closed_invitation_of_an_existing_account_is_gone,
    |app| {
        let link = invite(&app, "new.person@home.example", "contributor").await;
        let r = accept(&app, &link, "New Person", NEW_PASSWORD).await;
        assert_eq!(r.status(), 303);

        // An expired invitation for someone who already has an account (in another organization).
        let (_, _) = app
            .other_org("Valley Physicians", "pat@valley.example", Role::Admin)
            .await;
        let token = "an-expired-invitation-for-pat";
        app.store
            .create_invitation(
                &Actor::new("test"),
                OrgId(app.home),
                &Email::parse("pat@valley.example").unwrap(),
                Role::Viewer,
                &hash_secret(token),
                chrono::Duration::seconds(-5),
            )
            .await
            .expect("invitation");
        let expired = format!("/invitations/{token}");

        let audit_before = audit(&app).await;
        for link in [link.as_str(), expired.as_str()] {
            let r = app.client.get(app.url(link)).send().await.unwrap();
            assert_eq!(r.status(), 410, "GET {link}");
            let r = accept(&app, link, "Someone Else", "another long passphrase").await;
            assert_eq!(r.status(), 410, "POST {link}");
        }
        assert_eq!(audit(&app).await, audit_before);
        let pat = user_id(&app, "pat@valley.example").await.unwrap();
        assert_eq!(app.store.memberships(pat).await.unwrap().len(), 1);
    }
);

on_both!(bad_invitation_acceptances_are_refused, |app| {
    let link = invite(&app, "weak.password@home.example", "viewer").await;
    let audit_before = audit(&app).await;
    let too_long = "x".repeat(200);

    for (name, password) in [
        ("Weak Password", "short"),
        ("Weak Password", "password1234567"),
        ("Weak Password", "qwertyuiop12345"),
        ("Weak Password", "weak.password is my password"),
        ("Weak Password", too_long.as_str()),
        ("", NEW_PASSWORD),
    ] {
        let r = accept(&app, &link, name, password).await;
        assert_eq!(r.status(), 422, "password {password:.20} name {name}");
        let body = r.text().await.unwrap();
        assert!(body.contains("invitation-error"), "{body}");
        if password.len() >= 15 {
            assert!(!body.contains(password), "the password is not echoed");
        }
    }
    assert!(user_id(&app, "weak.password@home.example").await.is_none());
    assert_eq!(audit(&app).await, audit_before);
    // Still open after the refusals.
    let r = app.client.get(app.url(&link)).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // Expired.
    let token = "an-expired-invitation-token";
    let email = Email::parse("late.person@home.example").unwrap();
    app.store
        .create_invitation(
            &Actor::new("test"),
            OrgId(app.home),
            &email,
            Role::Contributor,
            &hash_secret(token),
            chrono::Duration::seconds(-5),
        )
        .await
        .expect("invitation");
    let audit_before = audit(&app).await;
    let expired = format!("/invitations/{token}");
    let r = app.client.get(app.url(&expired)).send().await.unwrap();
    assert_eq!(r.status(), 410);
    let r = accept(&app, &expired, "Late Person", NEW_PASSWORD).await;
    assert_eq!(r.status(), 410);
    assert!(user_id(&app, "late.person@home.example").await.is_none());

    // Unknown.
    let r = app
        .client
        .get(app.url("/invitations/no-such-invitation"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = accept(
        &app,
        "/invitations/no-such-invitation",
        "Nobody",
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(audit(&app).await, audit_before);
});

// ---------------------------------------------------------------------------------------------
// 7. Who am I, and acting for another organization
// ---------------------------------------------------------------------------------------------

on_both!(me_and_switching_the_acting_organization, |app| {
    let (status, me) = app.get_json("/api/v1/me").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["acting"]["org_id"], app.home);
    assert_eq!(me["acting"]["org_name"], "Home Health System");
    assert_eq!(me["acting"]["role"], "admin");
    assert_eq!(me["acting"]["email"], "admin@home.example");
    assert_eq!(
        me["memberships"],
        json!([{ "organization_id": app.home, "organization_name": "Home Health System", "role": "admin" }])
    );

    let (valley, _) = app
        .other_org("Valley Physicians", "pat@valley.example", Role::Admin)
        .await;
    let home_token = app
        .member(
            "pat@valley.example",
            app.home,
            Role::Contributor,
            TokenScope::ReadWrite,
        )
        .await
        .token;
    let (summit, _) = app
        .other_org("Summit Dental", "sam@summit.example", Role::Admin)
        .await;

    let pat = app.sign_in("pat@valley.example").await;
    let (status, me) = json_of(pat.get("/api/v1/me").await).await;
    assert_eq!(status, 200, "{me}");
    let memberships = me["memberships"].as_array().unwrap();
    assert_eq!(memberships.len(), 2, "{me}");
    let orgs: Vec<i64> = memberships
        .iter()
        .map(|m| m["organization_id"].as_i64().unwrap())
        .collect();
    assert!(orgs.contains(&app.home) && orgs.contains(&valley), "{me}");
    let first = me["acting"]["org_id"].as_i64().unwrap();
    let other = if first == app.home { valley } else { app.home };

    // Switching without the CSRF token, or to an organization pat is not a member of, changes nothing.
    let audit_before = audit(&app).await;
    let other_id = other.to_string();
    let r = pat
        .post_raw_form(
            "/session/organization",
            &[("organization_id", other_id.as_str())],
        )
        .await;
    assert_eq!(r.status(), 403);
    for target in [
        summit.to_string(),
        "999999".into(),
        "not-a-number".into(),
        String::new(),
    ] {
        let r = pat
            .post_form(
                "/session/organization",
                &[("organization_id", target.as_str())],
            )
            .await;
        assert_eq!(r.status(), 404, "switch to {target:?}");
    }
    let (_, me) = json_of(pat.get("/api/v1/me").await).await;
    assert_eq!(me["acting"]["org_id"], first);

    // Switching to the other membership.
    let r = pat
        .post_form(
            "/session/organization",
            &[("organization_id", other_id.as_str())],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/");
    let (status, me) = json_of(pat.get("/api/v1/me").await).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["acting"]["org_id"], other);
    let expected_role = if other == valley {
        "admin"
    } else {
        "contributor"
    };
    assert_eq!(me["acting"]["role"], expected_role);
    assert_eq!(me["memberships"].as_array().unwrap().len(), 2);
    // The refused switches wrote nothing; the switch itself is in the audit log.
    assert_eq!(audit(&app).await, audit_before + 1);

    // A token acts for the organization it was made for, whatever the session does.
    let (status, me) = json_of(app.get_as(&home_token, "/api/v1/me").await).await;
    assert_eq!(status, 200);
    assert_eq!(me["acting"]["org_id"], app.home);
    assert_eq!(me["acting"]["role"], "contributor");

    // A token cannot switch organizations (there is no session to switch).
    let r = app
        .client
        .post(app.url("/session/organization"))
        .bearer_auth(&home_token)
        .form(&[("organization_id", valley.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
});
