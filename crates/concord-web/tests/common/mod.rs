//! The test harness: a real Concord server on 127.0.0.1:0 over a fresh database, a home
//! organization with an admin and a read-write API token, and typed helpers.
//! `on_both!` runs a test on SQLite always and on PostgreSQL when CONCORD_TEST_POSTGRES_URL is set.

#![allow(dead_code)]

use std::sync::OnceLock;

use concord_domain::account::{Email, Role, TokenScope};
use concord_domain::organization::{OrgKind, OrganizationInput};
use concord_domain::OrgId;
use concord_storage::testing::fresh_store;
use concord_storage::{Actor, Backend, Store};
use concord_web::auth::{password, secret};
use serde_json::{json, Value};

/// The password of every test account.
pub const PASSWORD: &str = "harbor lantern violet";

/// One Argon2id hash of [`PASSWORD`], computed once per test binary (hashing is slow on purpose).
pub fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| password::hash_blocking(PASSWORD).expect("hash"))
}

pub struct TestApp {
    pub base: String,
    /// A client without cookies; requests carry the home admin's read-write token.
    pub client: reqwest::Client,
    pub store: Store,
    /// The home organization (the one the default token acts for).
    pub home: i64,
    pub token: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A member of an organization: their e-mail and a token of theirs.
pub struct Member {
    pub email: String,
    pub org: i64,
    pub token: String,
}

impl TestApp {
    /// Starts the app on a free port over a fresh, migrated database (`None`: backend not configured).
    pub async fn spawn(backend: Backend, test: &str) -> Option<TestApp> {
        let store = fresh_store(backend, test).await?;
        Some(TestApp::start(store).await)
    }

    /// [`TestApp::spawn`], also answering the database URL, for tests that reach the database
    /// behind the store's back (to tamper with the ledger, say).
    pub async fn spawn_with_url(backend: Backend, test: &str) -> Option<(TestApp, String)> {
        let url = match backend {
            Backend::Sqlite => concord_storage::testing::fresh_sqlite_url(),
            Backend::Postgres => concord_storage::testing::fresh_postgres_url(test).await?,
        };
        let store = Store::connect(
            &url,
            &concord_storage::ConnectOptions {
                max_connections: 4,
                ..concord_storage::ConnectOptions::default()
            },
        )
        .await
        .expect("connect to test database");
        store.migrate().await.expect("migrate test database");
        Some((TestApp::start(store).await, url))
    }

    /// Serves `store` on a free port with a home organization and its admin's token.
    async fn start(store: Store) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = concord_web::AppState::new(store.clone());
        tokio::spawn(async move {
            concord_web::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .expect("server");
        });
        let home = store
            .create_organization(
                &Actor::new("test"),
                &OrganizationInput {
                    name: "Home Health System".into(),
                    kind: OrgKind::HealthSystem,
                    ..OrganizationInput::default()
                },
            )
            .await
            .expect("home organization")
            .id;
        let mut app = TestApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            store,
            home: home.0,
            token: String::new(),
            shutdown: Some(tx),
        };
        let admin = app
            .member(
                "admin@home.example",
                home.0,
                Role::Admin,
                TokenScope::ReadWrite,
            )
            .await;
        app.token = admin.token;
        app
    }

    /// Creates a user with `role` in `org` and a token of theirs with `scope`.
    pub async fn member(&self, email: &str, org: i64, role: Role, scope: TokenScope) -> Member {
        let e = Email::parse(email).expect("email");
        let user = match self.store.user_by_email(&e).await.expect("lookup") {
            Some(u) => {
                self.store
                    .add_membership(&Actor::new("test"), u.id, OrgId(org), role)
                    .await
                    .expect("membership");
                u
            }
            None => self
                .store
                .create_user(
                    &Actor::new("test"),
                    &e,
                    "Test Person",
                    password_hash(),
                    OrgId(org),
                    role,
                )
                .await
                .expect("user"),
        };
        let acting = self
            .store
            .acting(user.id, OrgId(org))
            .await
            .expect("acting")
            .expect("member");
        let token = secret::new_secret(secret::TOKEN_PREFIX);
        self.store
            .create_token(
                &Actor::new("test"),
                &acting,
                "test",
                scope,
                &secret::hash_secret(&token),
                &token[..10],
            )
            .await
            .expect("token");
        Member {
            email: email.into(),
            org,
            token,
        }
    }

    /// A new organization with one member of `role` (returns the organization id and the member).
    pub async fn other_org(&self, name: &str, email: &str, role: Role) -> (i64, Member) {
        let org = self
            .store
            .create_organization(
                &Actor::new("test"),
                &OrganizationInput {
                    name: name.into(),
                    kind: OrgKind::PhysicianGroup,
                    ..OrganizationInput::default()
                },
            )
            .await
            .expect("organization")
            .id
            .0;
        let m = self.member(email, org, role, TokenScope::ReadWrite).await;
        (org, m)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET as the home admin (token).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_as(&self.token, path).await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn send_json_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> (u16, Value) {
        let r = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> (u16, Value) {
        self.send_json_as(&self.token, method, path, body).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    /// Sends `body` with the given content type as `token` (a CSV upload, say).
    pub async fn send_text_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let r = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Posts a CSV file (`text/csv`) as the home admin.
    pub async fn post_csv(&self, path: &str, csv: impl Into<reqwest::Body>) -> (u16, Value) {
        self.send_text_as(&self.token, reqwest::Method::POST, path, "text/csv", csv)
            .await
    }

    /// Moves a partnership through `stages` in order (as the home admin), expecting each to
    /// succeed.
    pub async fn walk_stages(&self, pid: i64, stages: &[&str]) {
        for to in stages {
            let (status, body) = self
                .post_json(
                    &format!("/api/v1/partnerships/{pid}/transitions"),
                    &json!({ "to": to }),
                )
                .await;
            assert_eq!(status, 200, "to {to}: {body}");
        }
    }

    /// Creates an organization through the API and returns its id.
    pub async fn org(&self, name: &str, kind: &str) -> i64 {
        let (status, body) = self
            .post_json(
                "/api/v1/organizations",
                &json!({ "name": name, "kind": kind }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_i64().expect("id")
    }

    /// Creates a partnership between `a` and `b` through the API (the home organization must be
    /// one of them) and returns its id.
    pub async fn partnership(&self, name: &str, a: i64, b: i64) -> i64 {
        let (status, body) = self
            .post_json(
                "/api/v1/partnerships",
                &json!({
                    "name": name,
                    "purpose": "Shared care",
                    "type": "horizontally_adjacent",
                    "parties": [
                        { "organization_id": a, "role": "primary care" },
                        { "organization_id": b, "role": "dental" }
                    ]
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_i64().expect("id")
    }

    /// The user id behind a token.
    pub async fn user_id_of(&self, token: &str) -> i64 {
        let r = self.get_as(token, "/api/v1/me").await;
        let me: Value = r.json().await.expect("me");
        me["acting"]["user_id"].as_i64().expect("user id")
    }

    /// A charter that passes every verdict test between the home organization and `other`, with
    /// the given alliance managers (user ids).
    pub fn strategic_charter(&self, other: i64, home_manager: i64, other_manager: i64) -> Value {
        let a = self.home;
        let b = other;
        json!({
            "summary": "Dental care for primary-care patients who have none.",
            "starts_on": "2026-01-01",
            "ends_on": "2028-12-31",
            "goals": [ { "title": "Every diabetic patient sees a dentist yearly", "community_benefit": true } ],
            "alone_goals": [
                { "party": a, "goal": "Close the oral-health gap in diabetes care", "why": "No dentists on staff" },
                { "party": b, "goal": "Reach uninsured patients", "why": "No referral base" }
            ],
            "metrics": [
                { "name": "Dental visit within 60 days of referral", "category": "access", "unit": "%",
                  "direction": "higher", "baseline": 20.0, "target": 60.0, "target_date": "2027-06-30",
                  "cadence": "quarterly", "owner": b },
                { "name": "Cost per referred patient", "category": "financial", "unit": "USD",
                  "direction": "lower", "baseline": 400.0, "target": 300.0, "target_date": "2027-12-31",
                  "cadence": "annual", "owner": a }
            ],
            "commitments": [ { "party": a, "what": "Embed referral in the EHR", "due_on": "2026-03-31" } ],
            "stakes": [
                { "party": a, "kind": "benefit", "description": "Better diabetes outcomes", "magnitude": "high" },
                { "party": a, "kind": "risk", "description": "Staff time on referrals", "magnitude": "low" },
                { "party": b, "kind": "benefit", "description": "New patients", "magnitude": "medium" },
                { "party": b, "kind": "risk", "description": "Uncompensated chair time", "magnitude": "medium" }
            ],
            "coopetition": { "areas": [ { "kind": "service_line", "name": "Oral health for diabetics", "stance": "cooperate" } ],
                             "no_competing_areas": true },
            "governance": {
                "alliance_managers": [ { "party": a, "user_id": home_manager }, { "party": b, "user_id": other_manager } ],
                "meeting_cadence": "monthly", "review_interval_months": 6
            },
            "innovation_agenda": [ { "title": "Tele-dentistry screening in clinics" } ],
            "exit_criteria": [ "Two consecutive reviews below half the access target" ],
            "value_flows": [
                { "from": a, "to": b, "kind": "referral_volume" },
                { "from": a, "to": b, "kind": "shared_savings", "description": "Half of avoided ED visits" }
            ]
        })
    }

    /// Gives partnership `pid` (between home and `other`) an effective, strategic charter:
    /// drafted by home, stakes acknowledged and signed by both. Returns the other party's manager.
    pub async fn effective_charter(&self, pid: i64, other: i64) -> Member {
        self.effective_charter_with(pid, other, |_| {}).await
    }

    /// [`TestApp::effective_charter`] with the strategic charter changed by `edit` first (more
    /// metrics, other commitments, no review interval…). Returns the other party's manager.
    pub async fn effective_charter_with(
        &self,
        pid: i64,
        other: i64,
        edit: impl FnOnce(&mut Value),
    ) -> Member {
        let m = self
            .member(
                &format!("manager{other}@partner.example"),
                other,
                Role::AllianceManager,
                TokenScope::ReadWrite,
            )
            .await;
        let home_manager = self.user_id_of(&self.token).await;
        let other_manager = self.user_id_of(&m.token).await;
        let mut charter = self.strategic_charter(other, home_manager, other_manager);
        edit(&mut charter);
        let (status, draft) = self
            .send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/partnerships/{pid}/charter/draft"),
                &charter,
            )
            .await;
        assert_eq!(status, 200, "{draft}");
        let version = json!({ "version": draft["number"] });
        for token in [&self.token, &m.token] {
            for what in ["acknowledgements", "signatures"] {
                let (status, body) = self
                    .send_json_as(
                        token,
                        reqwest::Method::POST,
                        &format!("/api/v1/partnerships/{pid}/charter/{what}"),
                        &version,
                    )
                    .await;
                assert_eq!(status, 200, "{what}: {body}");
            }
        }
        m
    }

    /// Signs in through the sign-in form and returns a cookie-keeping session.
    pub async fn sign_in(&self, email: &str) -> Session {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .expect("client");
        let r = client
            .post(self.url("/sign-in"))
            .form(&[("email", email), ("password", PASSWORD), ("next", "/")])
            .send()
            .await
            .expect("sign in");
        assert_eq!(r.status(), 303, "sign-in as {email} succeeds");
        let mut s = Session {
            base: self.base.clone(),
            client,
            csrf: String::new(),
        };
        let html = s.get("/").await.text().await.expect("home page");
        s.csrf = csrf_in(&html).expect("the page carries a CSRF token");
        s
    }
}

/// The CSRF token in a page's forms.
pub fn csrf_in(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let j = html[i..].find('"')? + i;
    Some(html[i..j].to_string())
}

/// A signed-in browser-like client (cookies kept; forms carry the CSRF token).
pub struct Session {
    pub base: String,
    pub client: reqwest::Client,
    pub csrf: String,
}

impl Session {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request")
    }

    /// Posts a form with this session's CSRF token added.
    pub async fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        all.push(("csrf", &self.csrf));
        self.client
            .post(format!("{}{path}", self.base))
            .form(&all)
            .send()
            .await
            .expect("request")
    }

    /// Posts a form exactly as given (no CSRF token added).
    pub async fn post_raw_form(&self, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .form(pairs)
            .send()
            .await
            .expect("request")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Defines `mod $name { sqlite(), postgres() }`, each running `$body` with a fresh `TestApp`.
#[macro_export]
macro_rules! on_both {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                let $app = TestApp::spawn(concord_storage::Backend::Sqlite, stringify!($name))
                    .await
                    .expect("sqlite app");
                $body
            }
            #[tokio::test]
            async fn postgres() {
                if let Some($app) =
                    TestApp::spawn(concord_storage::Backend::Postgres, stringify!($name)).await
                {
                    $body
                }
            }
        }
    };
}

/// Who sends a request: a bearer token, or a signed-in browser session (cookie and CSRF header).
#[derive(Clone, Copy)]
pub enum Who<'a> {
    Token(&'a str),
    Web(&'a Session),
}

impl<'a> From<&'a String> for Who<'a> {
    fn from(t: &'a String) -> Self {
        Who::Token(t)
    }
}

impl<'a> From<&'a str> for Who<'a> {
    fn from(t: &'a str) -> Self {
        Who::Token(t)
    }
}

impl<'a> From<&'a Session> for Who<'a> {
    fn from(s: &'a Session) -> Self {
        Who::Web(s)
    }
}

impl TestApp {
    fn request_as(
        &self,
        who: Who<'_>,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::RequestBuilder {
        let req = match who {
            Who::Token(t) => self.client.request(method, self.url(path)).bearer_auth(t),
            Who::Web(s) => s
                .client
                .request(method, self.url(path))
                .header("x-csrf-token", &s.csrf),
        };
        match body {
            Some(b) => req.json(b),
            None => req,
        }
    }

    /// Sends `body` (or nothing) as `who`; answers the status and the JSON body.
    pub async fn call<'a>(
        &self,
        who: impl Into<Who<'a>>,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let r = self
            .request_as(who.into(), method, path, body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Asserts a problem+json answer with this status, `code` and `field` (empty: no field), and
    /// answers the problem.
    #[allow(clippy::too_many_arguments)]
    pub async fn expect_problem<'a>(
        &self,
        who: impl Into<Who<'a>>,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        status: u16,
        code: &str,
        field: &str,
    ) -> Value {
        let r = self
            .request_as(who.into(), method.clone(), path, body)
            .send()
            .await
            .expect("request");
        let got = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let p: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(got, status, "{method} {path}: {p}");
        assert_eq!(ct, "application/problem+json", "{method} {path}: {p}");
        assert_eq!(p["code"], code, "{method} {path}: {p}");
        if field.is_empty() {
            assert!(p.get("field").is_none(), "{method} {path}: {p}");
        } else {
            assert_eq!(p["field"], field, "{method} {path}: {p}");
        }
        assert_eq!(p["status"], status, "{method} {path}: {p}");
        p
    }

    /// A validation problem (422 `validation_failed`) whose first error is on `field` with
    /// `code`.
    pub async fn expect_invalid<'a>(
        &self,
        who: impl Into<Who<'a>>,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        field: &str,
        code: &str,
    ) -> Value {
        let p = self
            .expect_problem(
                who,
                method,
                path,
                Some(body),
                422,
                "validation_failed",
                field,
            )
            .await;
        assert_eq!(p["errors"][0]["field"], field, "{p}");
        assert_eq!(p["errors"][0]["code"], code, "{p}");
        p
    }

    /// Rows in the audit log (a refused write leaves it as it was).
    pub async fn audit_rows(&self) -> i64 {
        self.store.audit_count().await.expect("audit count")
    }
}
