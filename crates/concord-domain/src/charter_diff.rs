//! What changed between two charter versions, section by section. Items with an id (goals,
//! metrics, commitments, ideas) are matched by id, so an edited metric shows as one change with
//! its fields; other list items are matched by their whole content (added or removed).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::charter::{section_title, Charter};

string_enum! {
    /// How an item changed.
    pub enum ChangeKind {
        Added = "added" => "Added",
        Removed = "removed" => "Removed",
        Changed = "changed" => "Changed",
    }
}

/// One change between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Change {
    /// The JSON key of the section (`metrics`, `governance.alliance_managers` …).
    pub section: String,
    /// The section's title.
    pub section_title: String,
    pub kind: ChangeKind,
    /// What the item is, in words ("metric 3: Dental visits within 30 days").
    pub item: String,
    /// For `changed`: the field that changed.
    pub field: Option<String>,
    /// The value before, as JSON text (for `removed` and `changed`).
    pub before: Option<String>,
    /// The value after, as JSON text (for `added` and `changed`).
    pub after: Option<String>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".to_string(),
        other => other.to_string(),
    }
}

/// A short name for a list item: its id and the first descriptive field it has.
fn label(section: &str, v: &Value) -> String {
    let singular = match section {
        "goals" => "goal",
        "alone_goals" => "goal alone",
        "metrics" => "metric",
        "commitments" => "commitment",
        "stakes" => "stake",
        "tradeoffs" => "tradeoff",
        "coopetition.areas" => "area",
        "governance.alliance_managers" => "alliance manager",
        "governance.steering_group" => "steering member",
        "innovation_agenda" => "idea",
        "exit_criteria" => "exit criterion",
        "value_flows" => "value flow",
        _ => "item",
    };
    let obj = match v {
        Value::Object(o) => o,
        other => return format!("{singular}: {}", text(other)),
    };
    let name = ["title", "name", "what", "goal", "description", "kind"]
        .iter()
        .find_map(|k| obj.get(*k).filter(|v| !text(v).is_empty()).map(text))
        .or_else(|| obj.get("user_id").map(|u| format!("user {}", text(u))))
        .unwrap_or_default();
    match obj.get("id").and_then(Value::as_u64) {
        Some(id) => format!("{singular} {id}: {name}"),
        None => format!("{singular}: {name}"),
    }
}

fn push(
    out: &mut Vec<Change>,
    section: &str,
    kind: ChangeKind,
    item: String,
    field: Option<String>,
    before: Option<&Value>,
    after: Option<&Value>,
) {
    let top = section.split('.').next().unwrap_or(section);
    out.push(Change {
        section: section.to_string(),
        section_title: section_title(top).to_string(),
        kind,
        item,
        field,
        before: before.map(text),
        after: after.map(text),
    });
}

fn diff_list(out: &mut Vec<Change>, section: &str, a: &[Value], b: &[Value]) {
    let before = out.len();
    let id_of = |v: &Value| v.get("id").and_then(Value::as_u64);
    for old in a.iter().filter(|v| id_of(v).is_some()) {
        let id = id_of(old);
        match b.iter().find(|n| id_of(n) == id) {
            None => push(
                out,
                section,
                ChangeKind::Removed,
                label(section, old),
                None,
                Some(old),
                None,
            ),
            Some(new) if new != old => {
                let (Value::Object(o), Value::Object(n)) = (old, new) else {
                    continue;
                };
                for (k, ov) in o {
                    let nv = n.get(k).unwrap_or(&Value::Null);
                    if nv != ov {
                        push(
                            out,
                            section,
                            ChangeKind::Changed,
                            label(section, new),
                            Some(k.clone()),
                            Some(ov),
                            Some(nv),
                        );
                    }
                }
            }
            Some(_) => {}
        }
    }
    for new in b.iter().filter(|v| id_of(v).is_some()) {
        if !a.iter().any(|o| id_of(o) == id_of(new)) {
            push(
                out,
                section,
                ChangeKind::Added,
                label(section, new),
                None,
                None,
                Some(new),
            );
        }
    }
    // Items without an id are compared as multisets: a dropped duplicate is a removal.
    let plain_a: Vec<&Value> = a.iter().filter(|v| id_of(v).is_none()).collect();
    let plain_b: Vec<&Value> = b.iter().filter(|v| id_of(v).is_none()).collect();
    let mut seen: Vec<&Value> = Vec::new();
    for v in plain_a.iter().chain(plain_b.iter()) {
        if seen.contains(v) {
            continue;
        }
        seen.push(v);
        let in_a = plain_a.iter().filter(|x| *x == v).count();
        let in_b = plain_b.iter().filter(|x| *x == v).count();
        let (kind, n) = if in_a > in_b {
            (ChangeKind::Removed, in_a - in_b)
        } else {
            (ChangeKind::Added, in_b - in_a)
        };
        for _ in 0..n {
            let (bv, av) = match kind {
                ChangeKind::Removed => (Some(*v), None),
                _ => (None, Some(*v)),
            };
            push(out, section, kind, label(section, v), None, bv, av);
        }
    }
    // Same items, different order: still a change to what is signed.
    if out.len() == before && a != b {
        push(
            out,
            section,
            ChangeKind::Changed,
            format!(
                "the order of {}",
                section_title(section.split('.').next().unwrap_or(section)).to_lowercase()
            ),
            Some("order".to_string()),
            None,
            None,
        );
    }
}

fn diff_value(out: &mut Vec<Change>, section: &str, a: &Value, b: &Value) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => diff_list(out, section, x, y),
        (Value::Object(x), Value::Object(y)) => {
            for (k, av) in x {
                let bv = y.get(k).unwrap_or(&Value::Null);
                diff_value(out, &format!("{section}.{k}"), av, bv);
            }
        }
        _ => {
            let top = section.split('.').next().unwrap_or(section);
            let field = section.rsplit('.').next().unwrap_or(section).to_string();
            push(
                out,
                top,
                ChangeKind::Changed,
                section_title(top).to_string(),
                Some(field),
                Some(a),
                Some(b),
            );
        }
    }
}

/// The charter's top-level fields in the order the charter page shows them.
const FIELD_ORDER: &[&str] = &[
    "summary",
    "starts_on",
    "ends_on",
    "goals",
    "alone_goals",
    "metrics",
    "commitments",
    "stakes",
    "tradeoffs",
    "coopetition",
    "governance",
    "innovation_agenda",
    "exit_criteria",
    "value_flows",
];

/// Every change from `a` to `b`, in section order.
pub fn diff(a: &Charter, b: &Charter) -> Vec<Change> {
    let (Ok(Value::Object(x)), Ok(Value::Object(y))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // In the order of the charter's fields (the JSON map itself is sorted by key).
    let mut keys: Vec<&str> = FIELD_ORDER.to_vec();
    keys.extend(
        x.keys()
            .map(String::as_str)
            .filter(|k| !FIELD_ORDER.contains(k)),
    );
    for k in keys {
        let av = x.get(k).unwrap_or(&Value::Null);
        let bv = y.get(k).unwrap_or(&Value::Null);
        diff_value(&mut out, k, av, bv);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charter::*;
    use crate::OrgId;
    use chrono::NaiveDate;

    fn metric(id: u32, name: &str, target: f64) -> Metric {
        Metric {
            id: Some(id),
            name: name.into(),
            category: MetricCategory::Access,
            unit: "%".into(),
            direction: Direction::Higher,
            baseline: 10.0,
            target,
            target_date: NaiveDate::from_ymd_opt(2027, 6, 30).unwrap(),
            cadence: ReportingCadence::Monthly,
            owner: OrgId(1),
        }
    }

    #[test]
    fn identical_charters_have_no_changes() {
        let c = Charter {
            metrics: vec![metric(1, "Visits", 40.0)],
            ..Charter::default()
        };
        assert!(diff(&c, &c).is_empty());
    }

    #[test]
    fn edited_metric_is_one_change_per_field_and_new_items_are_added() {
        let a = Charter {
            summary: "Old".into(),
            metrics: vec![metric(1, "Visits", 40.0), metric(2, "Wait", 20.0)],
            exit_criteria: vec!["Two missed reviews".into()],
            ..Charter::default()
        };
        let mut b = a.clone();
        b.summary = "New".into();
        b.metrics[0].target = 50.0;
        b.metrics.remove(1);
        b.metrics.push(metric(3, "Follow-ups", 30.0));
        b.exit_criteria = vec!["Three missed reviews".into()];
        b.governance.review_interval_months = Some(6);
        let d = diff(&a, &b);
        let find = |kind: ChangeKind, item: &str| {
            d.iter()
                .find(|c| c.kind == kind && c.item.contains(item))
                .unwrap_or_else(|| panic!("no {kind} change for {item} in {d:#?}"))
        };
        let t = find(ChangeKind::Changed, "metric 1");
        assert_eq!(t.field.as_deref(), Some("target"));
        assert_eq!(t.before.as_deref(), Some("40.0"));
        assert_eq!(t.after.as_deref(), Some("50.0"));
        find(ChangeKind::Removed, "metric 2: Wait");
        find(ChangeKind::Added, "metric 3: Follow-ups");
        find(ChangeKind::Removed, "Two missed reviews");
        find(ChangeKind::Added, "Three missed reviews");
        let s = d.iter().find(|c| c.section == "summary").unwrap();
        assert_eq!(s.after.as_deref(), Some("New"));
        let g = d
            .iter()
            .find(|c| c.field.as_deref() == Some("review_interval_months"))
            .unwrap();
        assert_eq!(g.section, "governance");
        assert_eq!(g.after.as_deref(), Some("6"));
        assert_eq!(d.len(), 7, "{d:#?}");
    }

    #[test]
    fn diff_is_symmetric_in_added_and_removed() {
        let a = Charter::default();
        let b = Charter {
            exit_criteria: vec!["x".into()],
            ..Charter::default()
        };
        assert_eq!(diff(&a, &b)[0].kind, ChangeKind::Added);
        assert_eq!(diff(&b, &a)[0].kind, ChangeKind::Removed);
    }
}
