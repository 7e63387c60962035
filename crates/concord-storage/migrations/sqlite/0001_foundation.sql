-- Foundation: the capability catalogue, organizations, partnerships, stage history, audit log.
-- Timestamps are RFC 3339 text in UTC; JSON documents are text.

CREATE TABLE capabilities (
    code            TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    category        TEXT NOT NULL,
    continuum_level TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT capabilities_name_unique UNIQUE (name)
);

CREATE TABLE organizations (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    name_key       TEXT NOT NULL,
    kind           TEXT NOT NULL,
    npi            TEXT,
    ccn            TEXT,
    address_line1  TEXT,
    city           TEXT,
    state          TEXT,
    zip            TEXT,
    latitude       REAL,
    longitude      REAL,
    providers      INTEGER,
    beds           INTEGER,
    covered_lives  INTEGER,
    revenue_band   TEXT,
    mission        TEXT,
    org_values     TEXT NOT NULL DEFAULT '[]',
    business_model TEXT NOT NULL DEFAULT '{}',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    CONSTRAINT organizations_name_key_unique UNIQUE (name_key),
    CONSTRAINT organizations_npi_unique UNIQUE (npi)
);
CREATE INDEX organizations_kind ON organizations (kind, name_key);

CREATE TABLE organization_capabilities (
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    direction       TEXT NOT NULL CHECK (direction IN ('offered', 'sought')),
    capability_code TEXT NOT NULL REFERENCES capabilities (code),
    position        INTEGER NOT NULL,
    PRIMARY KEY (organization_id, direction, capability_code)
);
CREATE INDEX organization_capabilities_by_code ON organization_capabilities (capability_code, direction);

CREATE TABLE partnerships (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,
    purpose          TEXT NOT NULL DEFAULT '',
    partnership_type TEXT NOT NULL,
    stage            TEXT NOT NULL,
    archived_at      TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX partnerships_listing ON partnerships (archived_at, updated_at);
CREATE INDEX partnerships_stage ON partnerships (stage);
CREATE INDEX partnerships_type ON partnerships (partnership_type);

CREATE TABLE partnership_parties (
    partnership_id  INTEGER NOT NULL REFERENCES partnerships (id) ON DELETE CASCADE,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    role            TEXT NOT NULL,
    position        INTEGER NOT NULL,
    PRIMARY KEY (partnership_id, organization_id)
);
CREATE INDEX partnership_parties_by_org ON partnership_parties (organization_id);

CREATE TABLE stage_changes (
    id             INTEGER PRIMARY KEY,
    partnership_id INTEGER NOT NULL REFERENCES partnerships (id) ON DELETE CASCADE,
    from_stage     TEXT,
    to_stage       TEXT NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    changed_at     TEXT NOT NULL
);
CREATE INDEX stage_changes_by_partnership ON stage_changes (partnership_id, id);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    occurred_at TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_by_entity ON audit_log (entity, entity_id, id);
