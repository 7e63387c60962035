//! The test harness: a real Concord server on 127.0.0.1:0 over a fresh database, and typed helpers.
//! `on_both!` runs a test on SQLite always and on PostgreSQL when CONCORD_TEST_POSTGRES_URL is set.

#![allow(dead_code)]

use concord_storage::testing::fresh_store;
use concord_storage::{Backend, Store};
use serde_json::{json, Value};

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Store,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestApp {
    /// Starts the app on a free port over a fresh, migrated database (`None`: backend not configured).
    pub async fn spawn(backend: Backend, test: &str) -> Option<TestApp> {
        let store = fresh_store(backend, test).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = concord_web::AppState {
            store: store.clone(),
        };
        tokio::spawn(async move {
            concord_web::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .expect("server");
        });
        Some(TestApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            store,
            shutdown: Some(tx),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> (u16, Value) {
        let r = self
            .client
            .request(method, self.url(path))
            .json(body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    pub async fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(pairs)
            .send()
            .await
            .expect("request")
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

    /// Creates a partnership between `a` and `b` through the API and returns its id.
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
