-- Accounts and the boundary between partners: users, memberships with a role, server-side
-- sessions, API tokens, invitations, sign-in throttling, private notes; a richer, append-only audit log.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    disabled_at   TEXT,
    CONSTRAINT users_email_unique UNIQUE (email)
);

CREATE TABLE memberships (
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    role            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (user_id, organization_id)
);
CREATE INDEX memberships_by_org ON memberships (organization_id);

-- Only a hash of the session id is stored: a copy of the database does not hand out sessions.
CREATE TABLE sessions (
    id_hash       TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    acting_org_id INTEGER NOT NULL REFERENCES organizations (id),
    csrf_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    name            TEXT NOT NULL,
    scope           TEXT NOT NULL,
    token_hash      TEXT NOT NULL,
    prefix          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    last_used_at    TEXT,
    revoked_at      TEXT,
    CONSTRAINT api_tokens_hash_unique UNIQUE (token_hash)
);
CREATE INDEX api_tokens_by_org ON api_tokens (organization_id, user_id);

CREATE TABLE invitations (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    email           TEXT NOT NULL,
    role            TEXT NOT NULL,
    token_hash      TEXT NOT NULL,
    invited_by      INTEGER REFERENCES users (id),
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    accepted_at     TEXT,
    accepted_by     INTEGER REFERENCES users (id),
    CONSTRAINT invitations_hash_unique UNIQUE (token_hash)
);
CREATE INDEX invitations_by_org ON invitations (organization_id, id);

CREATE TABLE sign_in_failures (
    throttle_key TEXT NOT NULL,
    failed_at    TEXT NOT NULL
);
CREATE INDEX sign_in_failures_by_key ON sign_in_failures (throttle_key, failed_at);

CREATE TABLE partnership_notes (
    id              INTEGER PRIMARY KEY,
    partnership_id  INTEGER NOT NULL REFERENCES partnerships (id) ON DELETE CASCADE,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    author_user_id  INTEGER NOT NULL REFERENCES users (id),
    body            TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX partnership_notes_by_owner ON partnership_notes (partnership_id, organization_id, id);

ALTER TABLE audit_log ADD COLUMN user_id INTEGER;
ALTER TABLE audit_log ADD COLUMN acting_org_id INTEGER;
ALTER TABLE audit_log ADD COLUMN before_state TEXT;
ALTER TABLE audit_log ADD COLUMN after_state TEXT;
ALTER TABLE audit_log ADD COLUMN request_id TEXT;
CREATE INDEX audit_log_by_user ON audit_log (user_id, id);

-- Which organizations an audit entry concerns (their admins may read it).
CREATE TABLE audit_log_orgs (
    audit_id        INTEGER NOT NULL REFERENCES audit_log (id),
    organization_id INTEGER NOT NULL,
    PRIMARY KEY (organization_id, audit_id)
);

-- The audit log is append-only.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
