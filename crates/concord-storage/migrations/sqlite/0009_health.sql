-- Health, risk and continuity (issue 6): the joint health survey, the risk register, the
-- stakeholder roster with continuity tasks, acknowledged early warnings, per-organization health
-- weights, and the precomputed health of each partnership that the portfolio dashboard reads.

-- A survey round of one partnership, opened by an alliance manager; members of every party answer.
CREATE TABLE survey_rounds (
    id             INTEGER PRIMARY KEY,
    partnership_id INTEGER NOT NULL REFERENCES partnerships (id),
    number         INTEGER NOT NULL,
    title          TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    opened_at      TEXT NOT NULL,
    opened_by_name TEXT NOT NULL,
    closes_on      TEXT,
    closed_at      TEXT,
    CONSTRAINT survey_rounds_number_unique UNIQUE (partnership_id, number)
);
CREATE UNIQUE INDEX survey_rounds_one_open ON survey_rounds (partnership_id) WHERE status = 'open';

-- One answer per person and round: a 1-5 score per dimension and a comment that only the
-- respondent's organization may read. Results never show who answered what.
CREATE TABLE survey_responses (
    id              INTEGER PRIMARY KEY,
    round_id        INTEGER NOT NULL REFERENCES survey_rounds (id),
    partnership_id  INTEGER NOT NULL REFERENCES partnerships (id),
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    trust           INTEGER NOT NULL CHECK (trust BETWEEN 1 AND 5),
    communication   INTEGER NOT NULL CHECK (communication BETWEEN 1 AND 5),
    shared_vision   INTEGER NOT NULL CHECK (shared_vision BETWEEN 1 AND 5),
    culture_fit     INTEGER NOT NULL CHECK (culture_fit BETWEEN 1 AND 5),
    governance      INTEGER NOT NULL CHECK (governance BETWEEN 1 AND 5),
    value_realised  INTEGER NOT NULL CHECK (value_realised BETWEEN 1 AND 5),
    fairness        INTEGER NOT NULL CHECK (fairness BETWEEN 1 AND 5),
    transparency    INTEGER NOT NULL CHECK (transparency BETWEEN 1 AND 5),
    innovation      INTEGER NOT NULL CHECK (innovation BETWEEN 1 AND 5),
    comment         TEXT NOT NULL DEFAULT '',
    submitted_at    TEXT NOT NULL,
    CONSTRAINT survey_responses_one_per_person UNIQUE (round_id, user_id)
);
CREATE INDEX survey_responses_by_partnership ON survey_responses (partnership_id, round_id, organization_id);

-- The risk register. A shared risk is seen by every party; a private one is seen only by
-- `private_org_id`, the organization that wrote it, and does not count in the shared health score.
CREATE TABLE risks (
    id               INTEGER PRIMARY KEY,
    partnership_id   INTEGER NOT NULL REFERENCES partnerships (id),
    category         TEXT NOT NULL,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    likelihood       INTEGER NOT NULL CHECK (likelihood BETWEEN 1 AND 5),
    impact           INTEGER NOT NULL CHECK (impact BETWEEN 1 AND 5),
    owner_org_id     INTEGER REFERENCES organizations (id),
    owner_name       TEXT NOT NULL DEFAULT '',
    mitigation       TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL CHECK (status IN ('open', 'mitigating', 'closed')),
    review_on        TEXT,
    visibility       TEXT NOT NULL CHECK (visibility IN ('shared', 'private')),
    private_org_id   INTEGER REFERENCES organizations (id),
    seeded           INTEGER NOT NULL DEFAULT 0,
    created_by_name  TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CHECK ((visibility = 'private') = (private_org_id IS NOT NULL))
);
CREATE INDEX risks_by_partnership ON risks (partnership_id, status);

-- The stakeholder roster of both parties.
CREATE TABLE stakeholders (
    id              INTEGER PRIMARY KEY,
    partnership_id  INTEGER NOT NULL REFERENCES partnerships (id),
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    name            TEXT NOT NULL,
    title           TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    role            TEXT NOT NULL,
    influence       TEXT NOT NULL CHECK (influence IN ('low', 'medium', 'high')),
    engagement      TEXT NOT NULL CHECK (engagement IN ('low', 'medium', 'high')),
    status          TEXT NOT NULL CHECK (status IN ('active', 'departed')),
    departed_on     TEXT,
    successor_id    INTEGER REFERENCES stakeholders (id),
    briefed_on      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX stakeholders_by_partnership ON stakeholders (partnership_id, organization_id);

-- Re-education tasks raised when a champion, sponsor or alliance manager departs; assigned to
-- that person's party until a successor is named and briefed.
CREATE TABLE continuity_tasks (
    id              INTEGER PRIMARY KEY,
    partnership_id  INTEGER NOT NULL REFERENCES partnerships (id),
    stakeholder_id  INTEGER NOT NULL REFERENCES stakeholders (id),
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    topic           TEXT NOT NULL,
    what            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'done')),
    created_at      TEXT NOT NULL,
    done_at         TEXT,
    done_by_name    TEXT NOT NULL DEFAULT '',
    CONSTRAINT continuity_tasks_unique UNIQUE (stakeholder_id, topic)
);
CREATE INDEX continuity_tasks_by_partnership ON continuity_tasks (partnership_id, status);

-- Acknowledged early warnings. `warning_key` names the rule and its evidence (for example
-- `metric_off_track:3:2026-05-01`), so new evidence raises a new warning.
CREATE TABLE warning_acks (
    id               INTEGER PRIMARY KEY,
    partnership_id   INTEGER NOT NULL REFERENCES partnerships (id),
    warning_key      TEXT NOT NULL,
    organization_id  INTEGER NOT NULL REFERENCES organizations (id),
    acknowledged_by  TEXT NOT NULL,
    note             TEXT NOT NULL,
    acknowledged_at  TEXT NOT NULL,
    CONSTRAINT warning_acks_unique UNIQUE (partnership_id, warning_key)
);

-- Health-score weights per organization (JSON: concord_domain::health::score::Weights).
CREATE TABLE health_settings (
    organization_id INTEGER PRIMARY KEY REFERENCES organizations (id),
    weights         TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- Anything that changes a partnership's health bumps its version (triggers below, in the write's
-- own transaction); the precomputed health is valid while its version matches and it was computed
-- today (lateness and overdue reviews move with the calendar).
CREATE TABLE health_marks (
    partnership_id INTEGER PRIMARY KEY REFERENCES partnerships (id),
    version        INTEGER NOT NULL
);
CREATE TABLE health_cache (
    partnership_id INTEGER PRIMARY KEY REFERENCES partnerships (id),
    version        INTEGER NOT NULL,
    computed_on    TEXT NOT NULL,
    drivers        TEXT NOT NULL,
    warnings       TEXT NOT NULL,
    next_review    TEXT,
    computed_at    TEXT NOT NULL
);
-- One driver snapshot per partnership and day: the trend and the sparkline.
CREATE TABLE health_history (
    partnership_id INTEGER NOT NULL REFERENCES partnerships (id),
    on_date        TEXT NOT NULL,
    drivers        TEXT NOT NULL,
    PRIMARY KEY (partnership_id, on_date)
);

-- Version bumps: every table a partnership's health is computed from.
CREATE TRIGGER partnership_parties_health_insert AFTER INSERT ON partnership_parties BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER partnership_parties_health_update AFTER UPDATE ON partnership_parties BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER partnership_parties_health_delete AFTER DELETE ON partnership_parties BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (OLD.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER charter_versions_health_insert AFTER INSERT ON charter_versions BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER charter_versions_health_update AFTER UPDATE ON charter_versions BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER metric_entries_health_insert AFTER INSERT ON metric_entries BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER commitment_reports_health_insert AFTER INSERT ON commitment_reports BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER meetings_health_insert AFTER INSERT ON meetings BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER meetings_health_update AFTER UPDATE ON meetings BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER meeting_actions_health_insert AFTER INSERT ON meeting_actions BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER meeting_actions_health_update AFTER UPDATE ON meeting_actions BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER reviews_health_insert AFTER INSERT ON reviews BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER reviews_health_update AFTER UPDATE ON reviews BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER survey_rounds_health_insert AFTER INSERT ON survey_rounds BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER survey_rounds_health_update AFTER UPDATE ON survey_rounds BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER survey_responses_health_insert AFTER INSERT ON survey_responses BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER risks_health_insert AFTER INSERT ON risks BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER risks_health_update AFTER UPDATE ON risks BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER risks_health_delete AFTER DELETE ON risks BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (OLD.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER stakeholders_health_insert AFTER INSERT ON stakeholders BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER stakeholders_health_update AFTER UPDATE ON stakeholders BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER stakeholders_health_delete AFTER DELETE ON stakeholders BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (OLD.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER continuity_tasks_health_insert AFTER INSERT ON continuity_tasks BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER continuity_tasks_health_update AFTER UPDATE ON continuity_tasks BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER warning_acks_health_insert AFTER INSERT ON warning_acks BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER warning_acks_health_delete AFTER DELETE ON warning_acks BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (OLD.partnership_id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER partnerships_health_insert AFTER INSERT ON partnerships BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER partnerships_health_update AFTER UPDATE ON partnerships BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES (NEW.id, 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER review_signatures_health_insert AFTER INSERT ON review_signatures BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES ((SELECT partnership_id FROM reviews WHERE id = NEW.review_id), 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER charter_signatures_health_insert AFTER INSERT ON charter_signatures BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES ((SELECT partnership_id FROM charter_versions WHERE id = NEW.version_id), 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER charter_acknowledgements_health_insert AFTER INSERT ON charter_acknowledgements BEGIN
    INSERT INTO health_marks (partnership_id, version) VALUES ((SELECT partnership_id FROM charter_versions WHERE id = NEW.version_id), 1)
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;

-- The risk register starts with three classic risks on every partnership (the texts of
-- concord_domain::health::risk::SEEDS, which seeds partnerships created from now on); the
-- partnerships that already exist get them here, shared, open and unowned.
INSERT INTO risks (partnership_id, category, title, description, likelihood, impact, owner_name,
                   mitigation, status, visibility, seeded, created_by_name, created_at, updated_at)
SELECT p.id, s.category, s.title, s.description, 3, 4, '', '', 'open', 'shared', 1,
       'Concord (seeded with the partnership)', p.created_at, p.created_at
FROM partnerships p
CROSS JOIN (
    SELECT 1 AS position, 'business_model' AS category,
           'Not understanding each other''s business model' AS title,
           'Each party may not know how the other earns its money, what its costs and constraints are, or what it must show its board, so a proposal that helps one side quietly hurts the other. Suggested mitigation: each party walks the other through its revenue, cost drivers and incentives, and the charter states what each side must get out of the partnership.' AS description
    UNION ALL
    SELECT 2 AS position, 'power_asymmetry' AS category,
           'Unaddressed power asymmetry' AS title,
           'When one party is much larger, holds the patients, the data or the money, the smaller one may stop raising problems and the partnership drifts toward one side''s interests. Suggested mitigation: name the imbalance openly, give each party decision rights and a veto on the matters that affect it, and review fairness in every health survey.' AS description
    UNION ALL
    SELECT 3 AS position, 'consumer_assumptions' AS category,
           'Untested assumptions about the consumer' AS title,
           'The partnership rests on beliefs about what patients, members or referring clinicians want and will do, and these have not been checked with them. Suggested mitigation: list the assumptions in the journey design, test the riskiest with real patients or clinicians in a small trial, and change the design with what is learnt.' AS description
) s
ORDER BY p.id, s.position;

-- The verdict kind of the charter, cached beside the health for the portfolio (health helper).
ALTER TABLE health_cache ADD COLUMN verdict TEXT;

-- A party renamed or re-profiled changes what the portfolio and the brief show of each of its
-- partnerships.
CREATE TRIGGER organizations_health_update AFTER UPDATE ON organizations BEGIN
    INSERT INTO health_marks (partnership_id, version)
        SELECT partnership_id, 1 FROM partnership_parties WHERE organization_id = NEW.id
        ON CONFLICT (partnership_id) DO UPDATE SET version = version + 1;
END;
