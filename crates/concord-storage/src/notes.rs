//! Internal notes on a partnership: private to the organization that wrote them. Another party to
//! the same partnership never sees them, in any list, page or response.

use chrono::{DateTime, Utc};

use concord_domain::account::Acting;
use concord_domain::note::{Note, NoteInput};
use concord_domain::{NoteId, OrgId, PartnershipId, UserId};

use crate::audit::{audit, Actor};
use crate::dialect::begin_write;
use crate::{now, Store, StoreError};

#[derive(sqlx::FromRow)]
struct NoteRow {
    id: i64,
    partnership_id: i64,
    organization_id: i64,
    author_user_id: i64,
    author_name: String,
    body: String,
    created_at: DateTime<Utc>,
}

impl From<NoteRow> for Note {
    fn from(r: NoteRow) -> Note {
        Note {
            id: NoteId(r.id),
            partnership_id: PartnershipId(r.partnership_id),
            organization_id: OrgId(r.organization_id),
            author_user_id: UserId(r.author_user_id),
            author_name: r.author_name,
            body: r.body,
            created_at: r.created_at,
        }
    }
}

const SELECT: &str = "SELECT n.id, n.partnership_id, n.organization_id, n.author_user_id, u.display_name AS author_name, \
     n.body, n.created_at FROM partnership_notes n JOIN users u ON u.id = n.author_user_id";

impl Store {
    /// The acting organization's own notes on a partnership it is party to, newest first.
    pub async fn notes(&self, actor: &Actor, id: PartnershipId) -> Result<Vec<Note>, StoreError> {
        self.get_partnership(actor, id).await?;
        let acting = person(actor)?;
        self.notes_of(acting.org_id, id).await
    }

    /// `org`'s notes on a partnership the caller has already been allowed to see.
    pub(crate) async fn notes_of(
        &self,
        org: OrgId,
        id: PartnershipId,
    ) -> Result<Vec<Note>, StoreError> {
        let sql = format!(
            "{SELECT} WHERE n.partnership_id = $1 AND n.organization_id = $2 ORDER BY n.id DESC"
        );
        let rows = run!(&self.read, |p| sqlx::query_as::<_, NoteRow>(&sql)
            .bind(id.0)
            .bind(org.0)
            .fetch_all(p)
            .await?);
        Ok(rows.into_iter().map(Note::from).collect())
    }

    /// Adds a note, private to the acting organization (contributors and above).
    pub async fn create_note(
        &self,
        actor: &Actor,
        id: PartnershipId,
        input: &NoteInput,
    ) -> Result<Note, StoreError> {
        self.get_partnership(actor, id).await?;
        let acting = person(actor)?;
        acting.require_contributor()?;
        let body = input.validate()?;
        let ts = now();
        let note_id = run!(&self.write, |p| {
            let mut tx = p.begin_with(begin_write(self.backend)).await?;
            let note_id: i64 = sqlx::query_scalar(
                "INSERT INTO partnership_notes (partnership_id, organization_id, author_user_id, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(id.0)
            .bind(acting.org_id.0)
            .bind(acting.user_id.0)
            .bind(&body)
            .bind(ts)
            .fetch_one(&mut *tx)
            .await?;
            // Private: the entry concerns the writing organization only, so only its admins read it.
            audit!(
                &mut *tx,
                actor,
                "create",
                "note",
                note_id,
                [acting.org_id.0],
                None,
                Some(serde_json::json!({ "partnership_id": id.0, "body": body }))
            );
            tx.commit().await?;
            note_id
        });
        let sql = format!("{SELECT} WHERE n.id = $1");
        let row = run!(&self.read, |p| sqlx::query_as::<_, NoteRow>(&sql)
            .bind(note_id)
            .fetch_one(p)
            .await?);
        Ok(row.into())
    }
}

/// Notes belong to an organization, so only a person acting for one can read or write them.
fn person(actor: &Actor) -> Result<&Acting, StoreError> {
    actor.acting.as_ref().ok_or_else(|| {
        StoreError::Forbidden("notes belong to an organization; sign in to read them".into())
    })
}
