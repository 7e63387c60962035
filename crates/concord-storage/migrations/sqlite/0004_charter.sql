-- Charters: one row per version of a partnership's charter. The content is the whole document
-- (goals, metrics, commitments, stakes, coopetition, governance, innovation agenda, exit criteria,
-- value flows) as JSON, so a version is exactly what the parties signed; its SHA-256 is stored
-- beside it and copied into each signature.
CREATE TABLE charter_versions (
    id              INTEGER PRIMARY KEY,
    partnership_id  INTEGER NOT NULL REFERENCES partnerships (id),
    number          INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('draft', 'effective', 'superseded', 'withdrawn')),
    content         TEXT NOT NULL,
    content_sha256  TEXT NOT NULL,
    created_by      INTEGER REFERENCES users (id),
    created_by_name TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    effective_at    TEXT,
    CONSTRAINT charter_versions_number_unique UNIQUE (partnership_id, number)
);
-- At most one open draft and one effective version per partnership, whatever runs concurrently.
CREATE UNIQUE INDEX charter_one_draft ON charter_versions (partnership_id) WHERE status = 'draft';
CREATE UNIQUE INDEX charter_one_effective ON charter_versions (partnership_id) WHERE status = 'effective';

CREATE TABLE charter_signatures (
    version_id      INTEGER NOT NULL REFERENCES charter_versions (id),
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    content_sha256  TEXT NOT NULL,
    signed_at       TEXT NOT NULL,
    PRIMARY KEY (version_id, organization_id)
);

CREATE TABLE charter_acknowledgements (
    version_id      INTEGER NOT NULL REFERENCES charter_versions (id),
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    user_id         INTEGER REFERENCES users (id),
    acknowledged_at TEXT NOT NULL,
    PRIMARY KEY (version_id, organization_id)
);
