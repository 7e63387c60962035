//! The demo: fictional organizations and partnerships (data/demo.json) loaded through the same
//! store methods as real input, so the demo can never hold what the product would refuse.

use serde::Deserialize;

use concord_domain::account::{Email, Role};
use concord_domain::organization::OrganizationInput;
use concord_domain::partnership::{PartnershipInput, PartnershipType, PartyInput, Stage};
use concord_domain::OrgId;
use concord_storage::{Actor, Backend, Store};

pub const DEFAULT_DEMO_DATABASE_URL: &str = "sqlite://concord-demo.db";
/// Every demo account's password (printed at start and in the README; demo data only).
pub const DEMO_PASSWORD: &str = "concord-demo-2026";
/// A demo adviser who belongs to two organizations, to show the organization switcher.
pub const DEMO_ADVISER: &str = "adviser@concord-demo.example";
pub const DEMO_JSON: &str = include_str!("../data/demo.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoData {
    organizations: Vec<OrganizationInput>,
    partnerships: Vec<DemoPartnership>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoPartnership {
    name: String,
    purpose: String,
    #[serde(rename = "type")]
    partnership_type: PartnershipType,
    parties: Vec<DemoParty>,
    stage_path: Vec<Stage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoParty {
    organization: String,
    role: String,
}

/// Deletes a SQLite demo database (and its WAL files) so the demo starts fresh. PostgreSQL
/// databases are left to [`load`], which refuses a non-empty one.
pub fn reset_sqlite_file(url: &str) -> Result<(), String> {
    if Backend::from_url(url).map_err(|e| e.to_string())? != Backend::Sqlite {
        return Ok(());
    }
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{path}{suffix}");
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove the old demo database {p}: {e}")),
        }
    }
    Ok(())
}

/// Loads the demo into an empty database and returns a summary to print.
pub async fn load(store: &Store) -> Result<String, String> {
    let data: DemoData =
        serde_json::from_str(DEMO_JSON).map_err(|e| format!("demo data is invalid: {e}"))?;
    if !store
        .all_organizations()
        .await
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Err(
            "the demo needs an empty database; this one already has organizations".to_string(),
        );
    }
    let actor = Actor::new("demo");
    let mut ids: Vec<(String, OrgId)> = Vec::new();
    for o in &data.organizations {
        let org = store
            .create_organization(&actor, o)
            .await
            .map_err(|e| format!("demo organization {}: {e}", o.name))?;
        ids.push((o.name.clone(), org.id));
    }
    // One admin per organization and a viewer or two; one password hash shared by all demo
    // accounts (hashing is deliberately slow).
    let hash = concord_web::auth::password::hash(DEMO_PASSWORD.to_string()).await?;
    let mut accounts = Vec::new();
    for (name, id) in &ids {
        let email = Email::parse(&format!("admin@{}.example", slug(name)))
            .map_err(|e| format!("demo account for {name}: {e}"))?;
        store
            .create_user(
                &actor,
                &email,
                &format!("{name} admin"),
                &hash,
                *id,
                Role::Admin,
            )
            .await
            .map_err(|e| format!("demo account {email}: {e}"))?;
        accounts.push(format!("  {email:<58} admin of {name}"));
    }
    if ids.len() >= 2 {
        let adviser = Email::parse(DEMO_ADVISER).map_err(|e| e.to_string())?;
        let user = store
            .create_user(
                &actor,
                &adviser,
                "Robin Adviser",
                &hash,
                ids[0].1,
                Role::Viewer,
            )
            .await
            .map_err(|e| format!("demo account {adviser}: {e}"))?;
        store
            .add_membership(&actor, user.id, ids[1].1, Role::AllianceManager)
            .await
            .map_err(|e| format!("demo account {adviser}: {e}"))?;
        accounts.push(format!(
            "  {DEMO_ADVISER:<58} viewer of {}, alliance manager of {}",
            ids[0].0, ids[1].0
        ));
    }
    for p in &data.partnerships {
        let parties = p
            .parties
            .iter()
            .map(|party| {
                ids.iter()
                    .find(|(n, _)| *n == party.organization)
                    .map(|(_, id)| PartyInput {
                        organization_id: *id,
                        role: party.role.clone(),
                    })
                    .ok_or_else(|| {
                        format!(
                            "demo party {} is not a demo organization",
                            party.organization
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let created = store
            .create_partnership(
                &actor,
                &PartnershipInput {
                    name: p.name.clone(),
                    purpose: p.purpose.clone(),
                    partnership_type: p.partnership_type,
                    parties,
                },
            )
            .await
            .map_err(|e| format!("demo partnership {}: {e}", p.name))?;
        for stage in &p.stage_path {
            store
                .transition_partnership(&actor, created.id, *stage, "Recorded with the demo data")
                .await
                .map_err(|e| format!("demo partnership {}: {e}", p.name))?;
        }
    }
    Ok(format!(
        "Demo loaded: {} organizations, {} partnerships.\nSign in with any of these accounts; the password of each is {DEMO_PASSWORD}\n{}",
        data.organizations.len(),
        data.partnerships.len(),
        accounts.join("\n")
    ))
}

/// "Quinnehtuk Valley Health" → "quinnehtuk-valley-health".
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}
