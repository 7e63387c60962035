//! What signing in and authenticating cost.
//!
//! 1. Argon2id with Concord's parameters: the time to hash and to verify a password.
//! 2. The cost authentication adds to an API read: the same handler (`GET /api/v1/openapi.json`,
//!    a static document) requested with no credentials and with a valid bearer token, which makes
//!    the middleware hash the token, look it up with its membership, and build the principal.
//!    Requests alternate, one at a time, over loopback; the difference of the medians is the cost.
//!
//! Run: `cargo run --release -p concord-web --example auth_bench [-- --database-url URL]`
//! (default: a fresh SQLite file; for PostgreSQL pass an empty database's URL).

use std::time::{Duration, Instant};

use concord_domain::account::{Email, Role, TokenScope};
use concord_domain::organization::{OrgKind, OrganizationInput};
use concord_storage::{Actor, ConnectOptions, Store};
use concord_web::auth::{password, secret};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .iter()
        .position(|a| a == "--database-url")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(concord_storage::testing::fresh_sqlite_url);
    let n: usize = args
        .iter()
        .position(|a| a == "--requests")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);

    println!(
        "Argon2id parameters: m = {} KiB, t = {}, p = {}",
        password::MEMORY_KIB,
        password::ITERATIONS,
        password::LANES
    );
    let mut hashes = Vec::new();
    let mut hash_times = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        hashes.push(password::hash_blocking("harbor lantern violet").expect("hash"));
        hash_times.push(t.elapsed());
    }
    let mut verify_times = Vec::new();
    for h in &hashes {
        let t = Instant::now();
        assert!(password::verify_blocking("harbor lantern violet", h));
        verify_times.push(t.elapsed());
    }
    hash_times.sort();
    verify_times.sort();
    println!(
        "hash:   median {:.1} ms (min {:.1}, max {:.1}) over {} runs",
        ms(percentile(&hash_times, 0.5)),
        ms(hash_times[0]),
        ms(*hash_times.last().unwrap()),
        hash_times.len()
    );
    println!(
        "verify: median {:.1} ms (min {:.1}, max {:.1}) over {} runs",
        ms(percentile(&verify_times, 0.5)),
        ms(verify_times[0]),
        ms(*verify_times.last().unwrap()),
        verify_times.len()
    );

    let store = Store::connect(&url, &ConnectOptions::default())
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let operator = Actor::new("bench");
    let org = store
        .create_organization(
            &operator,
            &OrganizationInput {
                name: format!("Bench Org {}", uuid::Uuid::new_v4().simple()),
                kind: OrgKind::HealthSystem,
                ..OrganizationInput::default()
            },
        )
        .await
        .expect("organization")
        .id;
    let email = Email::parse(&format!(
        "bench-{}@example.org",
        uuid::Uuid::new_v4().simple()
    ))
    .unwrap();
    let user = store
        .create_user(&operator, &email, "Bench", &hashes[0], org, Role::Admin)
        .await
        .expect("user");
    let acting = store.acting(user.id, org).await.unwrap().unwrap();
    let token = secret::new_secret(secret::TOKEN_PREFIX);
    store
        .create_token(
            &operator,
            &acting,
            "bench",
            TokenScope::Read,
            &secret::hash_secret(&token),
            &token[..10],
        )
        .await
        .expect("token");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = concord_web::AppState::new(store.clone());
    tokio::spawn(concord_web::serve(listener, state, std::future::pending()));
    let client = reqwest::Client::new();
    let target = format!("http://{addr}/api/v1/openapi.json");

    // Warm up both paths.
    for _ in 0..200 {
        client
            .get(&target)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        client
            .get(&target)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    let (mut anon, mut authed) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t = Instant::now();
        let r = client.get(&target).send().await.unwrap();
        assert!(r.status().is_success());
        r.bytes().await.unwrap();
        anon.push(t.elapsed());
        let t = Instant::now();
        let r = client
            .get(&target)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        r.bytes().await.unwrap();
        authed.push(t.elapsed());
    }
    anon.sort();
    authed.sort();
    let (a50, b50) = (percentile(&anon, 0.5), percentile(&authed, 0.5));
    println!("database: {}", store.backend().name());
    println!(
        "unauthenticated GET: p50 {:.3} ms, p99 {:.3} ms ({n} requests)",
        ms(a50),
        ms(percentile(&anon, 0.99))
    );
    println!(
        "bearer-token GET:    p50 {:.3} ms, p99 {:.3} ms ({n} requests)",
        ms(b50),
        ms(percentile(&authed, 0.99))
    );
    println!(
        "authentication adds: {:.3} ms at p50",
        ms(b50.saturating_sub(a50))
    );
}
