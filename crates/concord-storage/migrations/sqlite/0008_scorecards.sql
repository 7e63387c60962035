-- Fit scorecards, scorecard settings and competitor lists: all PRIVATE to the organization that
-- wrote them (`organization_id`), read only with `organization_id = acting organization`.

-- Weights and must-pass gates per evaluating organization (JSON: concord_domain Settings).
CREATE TABLE scorecard_settings (
    organization_id INTEGER PRIMARY KEY REFERENCES organizations (id),
    settings        TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- One scorecard per evaluator and candidate. The candidate is an ecosystem organization
-- (candidate_source = 'organization', candidate_ref = its id) or a market candidate from public
-- data (market_candidates.source and ref). `snapshot` is what was known of the candidate when
-- the scorecard was created (name, kind, location, size, capabilities, star rating), so it
-- survives re-imports. Promotion sets candidate_org_id and partnership_id.
CREATE TABLE scorecards (
    id               INTEGER PRIMARY KEY,
    organization_id  INTEGER NOT NULL REFERENCES organizations (id),
    candidate_source TEXT NOT NULL,
    candidate_ref    TEXT NOT NULL,
    candidate_org_id INTEGER REFERENCES organizations (id),
    snapshot         TEXT NOT NULL,
    judgements       TEXT NOT NULL DEFAULT '{}',
    partnership_id   INTEGER REFERENCES partnerships (id),
    promoted_at      TEXT,
    created_by       INTEGER REFERENCES users (id),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CONSTRAINT scorecards_candidate_unique UNIQUE (organization_id, candidate_source, candidate_ref)
);
CREATE INDEX scorecards_by_org ON scorecards (organization_id, updated_at);

-- Ecosystem organizations the acting organization regards as competitors, with a note.
CREATE TABLE competitors (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    competitor_id   INTEGER NOT NULL REFERENCES organizations (id),
    note            TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    CONSTRAINT competitors_unique UNIQUE (organization_id, competitor_id)
);
