//! The demo data loads through the product's own validation, on both databases, and covers what
//! the brief asks for.

use concord_domain::paging::PageRequest;
use concord_domain::partnership::{PartnershipFilter, PartnershipSort, PartnershipType};
use concord_storage::testing::fresh_store;
use concord_storage::{Actor, Backend, Store};

async fn check(store: Store) {
    let summary = concord::demo::load(&store).await.expect("demo loads");
    assert!(summary.contains("organizations"));
    let orgs = store.all_organizations().await.unwrap();
    assert!(orgs.len() >= 12);
    let in_sample_states = orgs
        .iter()
        .filter(|o| matches!(o.profile.address.state.as_deref(), Some("CT" | "MA" | "RI")))
        .count();
    assert!(
        in_sample_states * 2 > orgs.len(),
        "most organizations are in CT, MA or RI"
    );
    let all = store
        .list_partnerships(
            &Actor::new("test"),
            &PartnershipFilter {
                include_archived: true,
                ..PartnershipFilter::default()
            },
            PartnershipSort::Name,
            PageRequest::new(Some(1), Some(100)).unwrap(),
        )
        .await
        .unwrap();
    assert!(all.total >= 6);
    for t in PartnershipType::ALL {
        assert!(
            all.items.iter().any(|p| p.partnership_type == *t),
            "a {t} partnership"
        );
    }
    assert!(
        concord::demo::load(&store).await.is_err(),
        "the demo refuses a non-empty database"
    );
}

#[tokio::test]
async fn demo_loads_on_sqlite() {
    check(fresh_store(Backend::Sqlite, "demo").await.unwrap()).await;
}

#[tokio::test]
async fn demo_loads_on_postgres() {
    if let Some(store) = fresh_store(Backend::Postgres, "demo").await {
        check(store).await;
    }
}
