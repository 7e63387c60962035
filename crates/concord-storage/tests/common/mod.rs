//! What the storage stories share: a test per database (`on_both!`), an operator, organizations
//! and members acting for them.

#![allow(dead_code)]

use concord_domain::account::{Email, Role};
use concord_domain::organization::{OrgKind, OrganizationInput};
use concord_domain::OrgId;
use concord_storage::{Actor, Store};

/// Runs the test body on a fresh SQLite database, and on a fresh PostgreSQL database when
/// CONCORD_TEST_POSTGRES_URL is set.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 8)]
            async fn sqlite() {
                let store = concord_storage::testing::fresh_store(
                    concord_storage::Backend::Sqlite,
                    stringify!($name),
                )
                .await
                .unwrap();
                ($body)(store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 8)]
            async fn postgres() {
                if let Some(store) = concord_storage::testing::fresh_store(
                    concord_storage::Backend::Postgres,
                    stringify!($name),
                )
                .await
                {
                    ($body)(store).await;
                }
            }
        }
    };
}

pub fn operator() -> Actor {
    Actor::new("test")
}

pub async fn org(store: &Store, name: &str, kind: OrgKind) -> OrgId {
    store
        .create_organization(
            &operator(),
            &OrganizationInput {
                name: name.into(),
                kind,
                ..OrganizationInput::default()
            },
        )
        .await
        .unwrap()
        .id
}

/// A user with a role in `org`, as the store sees them when they act.
pub async fn member(store: &Store, email: &str, org: OrgId, role: Role) -> Actor {
    let email = Email::parse(email).unwrap();
    let user = store
        .create_user(
            &operator(),
            &email,
            "Test Person",
            "$argon2id$not-used-here",
            org,
            role,
        )
        .await
        .unwrap();
    let acting = store.acting(user.id, org).await.unwrap().unwrap();
    Actor::person("test", &acting, None)
}

/// The user id of a person's actor.
pub fn uid(a: &Actor) -> i64 {
    a.acting.as_ref().unwrap().user_id.0
}
