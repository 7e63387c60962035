-- Consumer journey maps. A journey's design (stages, handoffs, assumptions, with stable ids) is
-- one JSON document the parties edit together; trial runs and their feedback are rows of their
-- own, appended as they happen.
CREATE TABLE journeys (
    id                  INTEGER PRIMARY KEY,
    partnership_id      INTEGER NOT NULL REFERENCES partnerships (id),
    name                TEXT NOT NULL,
    end_user            TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    lull_threshold_days INTEGER NOT NULL,
    design              TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX journeys_by_partnership ON journeys (partnership_id);

CREATE TABLE trial_runs (
    id           INTEGER PRIMARY KEY,
    journey_id   INTEGER NOT NULL REFERENCES journeys (id),
    run_on       TEXT NOT NULL,
    participants TEXT NOT NULL,
    notes        TEXT NOT NULL DEFAULT '',
    created_by   INTEGER REFERENCES users (id),
    created_at   TEXT NOT NULL
);
CREATE INDEX trial_runs_by_journey ON trial_runs (journey_id);

CREATE TABLE trial_feedback (
    id             INTEGER PRIMARY KEY,
    trial_run_id   INTEGER NOT NULL REFERENCES trial_runs (id),
    journey_id     INTEGER NOT NULL REFERENCES journeys (id),
    stage_id       INTEGER NOT NULL,
    participant    TEXT NOT NULL,
    what_happened  TEXT NOT NULL,
    knew           TEXT NOT NULL DEFAULT '',
    felt           TEXT NOT NULL DEFAULT '',
    did            TEXT NOT NULL DEFAULT '',
    severity       TEXT NOT NULL CHECK (severity IN ('minor', 'major', 'blocking')),
    addressed_at   TEXT,
    addressed_note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX trial_feedback_by_journey ON trial_feedback (journey_id);
