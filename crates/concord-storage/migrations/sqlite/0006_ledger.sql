-- The metric ledger: one hash-chained, append-only sequence of entries per partnership. An entry
-- is a value of a charter metric for one period, or a correction of an earlier entry. Nothing is
-- ever updated or deleted (triggers refuse it); the current value of a period is the entry no
-- later entry supersedes. `value` is the canonical decimal text that is hashed, `value_num` the
-- same number for queries; `recorded_at` is the canonical timestamp text that is hashed.
CREATE TABLE metric_entries (
    partnership_id  INTEGER NOT NULL REFERENCES partnerships (id),
    seq             INTEGER NOT NULL,
    metric_id       INTEGER NOT NULL,
    period_start    TEXT NOT NULL,
    period_end      TEXT NOT NULL,
    value           TEXT NOT NULL,
    value_num       REAL NOT NULL,
    note            TEXT NOT NULL,
    source          TEXT NOT NULL,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    reported_by     INTEGER NOT NULL,
    recorded_at     TEXT NOT NULL,
    supersedes      INTEGER,
    reason          TEXT NOT NULL,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL,
    PRIMARY KEY (partnership_id, seq)
);
-- One original value per metric and period; each entry corrected at most once (a correction of a
-- correction continues the line), so the current value of a period is always one entry.
CREATE UNIQUE INDEX metric_entries_one_original ON metric_entries (partnership_id, metric_id, period_start)
    WHERE supersedes IS NULL;
CREATE UNIQUE INDEX metric_entries_one_correction ON metric_entries (partnership_id, supersedes)
    WHERE supersedes IS NOT NULL;

CREATE TRIGGER metric_entries_no_update BEFORE UPDATE ON metric_entries
BEGIN SELECT RAISE(ABORT, 'the metric ledger is append-only'); END;
CREATE TRIGGER metric_entries_no_delete BEFORE DELETE ON metric_entries
BEGIN SELECT RAISE(ABORT, 'the metric ledger is append-only'); END;

-- The last entry of each chain; its row lock serialises appends to one partnership.
CREATE TABLE ledger_heads (
    partnership_id INTEGER PRIMARY KEY REFERENCES partnerships (id),
    seq            INTEGER NOT NULL,
    hash           TEXT NOT NULL
);

-- Status reports on charter commitments (the latest one counts).
CREATE TABLE commitment_reports (
    id               INTEGER PRIMARY KEY,
    partnership_id   INTEGER NOT NULL REFERENCES partnerships (id),
    commitment_id    INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('open', 'done', 'dropped')),
    note             TEXT NOT NULL,
    organization_id  INTEGER NOT NULL REFERENCES organizations (id),
    reported_by_name TEXT NOT NULL,
    reported_at      TEXT NOT NULL
);
CREATE INDEX commitment_reports_by_partnership ON commitment_reports (partnership_id, commitment_id, id);

CREATE TABLE meetings (
    id               INTEGER PRIMARY KEY,
    partnership_id   INTEGER NOT NULL REFERENCES partnerships (id),
    held_on          TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('steering', 'working', 'executive')),
    attendees        TEXT NOT NULL,
    notes            TEXT NOT NULL,
    decisions        TEXT NOT NULL,
    recorded_by_name TEXT NOT NULL,
    recorded_at      TEXT NOT NULL
);
CREATE INDEX meetings_by_partnership ON meetings (partnership_id, held_on);

CREATE TABLE meeting_actions (
    id             INTEGER PRIMARY KEY,
    meeting_id     INTEGER NOT NULL REFERENCES meetings (id),
    partnership_id INTEGER NOT NULL REFERENCES partnerships (id),
    what           TEXT NOT NULL,
    owner_org      INTEGER NOT NULL REFERENCES organizations (id),
    owner_name     TEXT NOT NULL,
    due_on         TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('open', 'done', 'dropped')),
    note           TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX meeting_actions_by_partnership ON meeting_actions (partnership_id, status);

CREATE TABLE reviews (
    id              INTEGER PRIMARY KEY,
    partnership_id  INTEGER NOT NULL REFERENCES partnerships (id),
    number          INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'awaiting_signatures', 'closed')),
    trigger_kind    TEXT NOT NULL CHECK (trigger_kind IN ('scheduled', 'early')),
    reason          TEXT NOT NULL,
    due_on          TEXT NOT NULL,
    opened_at       TEXT NOT NULL,
    opened_by_name  TEXT NOT NULL,
    decision        TEXT CHECK (decision IN ('continue', 'expand', 'restructure', 'exit')),
    rationale       TEXT NOT NULL,
    decided_by_name TEXT NOT NULL,
    decided_at      TEXT,
    closed_at       TEXT,
    packet          TEXT,
    CONSTRAINT reviews_number_unique UNIQUE (partnership_id, number)
);
-- At most one review in progress per partnership.
CREATE UNIQUE INDEX reviews_one_open ON reviews (partnership_id) WHERE status <> 'closed';

CREATE TABLE review_signatures (
    review_id       INTEGER NOT NULL REFERENCES reviews (id),
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    signed_at       TEXT NOT NULL,
    PRIMARY KEY (review_id, organization_id)
);
