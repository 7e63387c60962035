-- Reference data for partner discovery, imported from public files (NPPES, NUCC, CMS, Census).
-- Each source is imported as a new version beside the old one; the import ends by pointing
-- market_sources at the new version in one short transaction, so a query (which reads only the
-- active version of each source) sees the old data or the new, never a mix. Rows of inactive
-- versions are deleted afterwards.
-- JSON columns here are opaque blobs written and read whole, so they are TEXT on both databases.

-- The active version of each source and what its import reported.
CREATE TABLE market_sources (
    source        TEXT PRIMARY KEY,  -- zip, taxonomy, nppes, hospitals, postacute
    version       BIGINT NOT NULL,
    file_name     TEXT NOT NULL,
    rows_read     BIGINT NOT NULL,
    rows_loaded   BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    summary       TEXT NOT NULL DEFAULT '{}',
    imported_at   TIMESTAMPTZ NOT NULL
);

-- Hands out version numbers (one row per import started).
CREATE TABLE market_versions (
    id         BIGSERIAL PRIMARY KEY,
    source     TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL
);

-- ZIP (ZCTA) centroids.
CREATE TABLE market_zips (
    version   BIGINT NOT NULL,
    zip       TEXT NOT NULL,
    latitude  DOUBLE PRECISION NOT NULL,
    longitude DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (version, zip)
);

-- The NUCC taxonomy code set, each code with the capability it maps to (if any).
CREATE TABLE market_taxonomy (
    version         BIGINT NOT NULL,
    code            TEXT NOT NULL,
    grouping_name   TEXT NOT NULL,
    classification  TEXT NOT NULL,
    specialization  TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    capability_code TEXT,
    PRIMARY KEY (version, code)
);

-- NPPES providers (individuals and organizations) as imported.
CREATE TABLE market_providers (
    version        BIGINT NOT NULL,
    npi            TEXT NOT NULL,
    entity_type    INTEGER NOT NULL,
    name           TEXT NOT NULL,
    credential     TEXT NOT NULL DEFAULT '',
    address        TEXT NOT NULL,
    city           TEXT NOT NULL,
    state          TEXT NOT NULL,
    zip            TEXT NOT NULL,
    taxonomies     TEXT NOT NULL,  -- codes separated by '|', the primary first
    enumerated_on  TEXT,
    deactivated_on TEXT
);

-- Candidates a market scan can return: NPPES organizations (entity type 2), practices inferred
-- from individuals sharing a practice address, hospitals and post-acute facilities.
CREATE TABLE market_candidates (
    id            BIGSERIAL PRIMARY KEY,
    source        TEXT NOT NULL,
    version       BIGINT NOT NULL,
    kind          TEXT NOT NULL,  -- organization, practice, hospital, facility
    ref           TEXT NOT NULL,  -- NPI, CCN or the practice's address key; stable across imports
    name          TEXT NOT NULL,
    address       TEXT NOT NULL,
    city          TEXT NOT NULL,
    state         TEXT NOT NULL,
    zip           TEXT NOT NULL,
    latitude      DOUBLE PRECISION NOT NULL,
    longitude     DOUBLE PRECISION NOT NULL,
    providers     INTEGER,
    beds          INTEGER,
    specialties   TEXT NOT NULL DEFAULT '[]',  -- JSON array of taxonomy display names, most common first
    capabilities  TEXT NOT NULL DEFAULT '[]',  -- JSON array of capability codes
    facility_type TEXT,  -- hospital type or post-acute list
    ownership     TEXT,
    star_rating   INTEGER,
    detail        TEXT NOT NULL DEFAULT '{}',
    facility_list TEXT  -- the post-acute list a facility came from (postacute source only)
);
CREATE INDEX market_candidates_by_ref ON market_candidates (source, version, ref);

-- The radius index: one row per candidate and capability, keyed by the grid cell of its location
-- (concord_domain::market::geo::cell). It is COVERING: it carries copies of everything a scan
-- ranks, sorts and filters on, all INCLUDEd in the primary key's index, so the candidates of a
-- radius are an index-only range read per cell, and market_candidates is read only for the page
-- shown.
CREATE TABLE market_candidate_cells (
    capability_code TEXT NOT NULL,
    cell            BIGINT NOT NULL,
    candidate_id    BIGINT NOT NULL,
    source          TEXT NOT NULL,
    version         BIGINT NOT NULL,
    -- Copies of the candidate's columns of the same names.
    latitude        DOUBLE PRECISION NOT NULL,
    longitude       DOUBLE PRECISION NOT NULL,
    kind            TEXT NOT NULL,
    name            TEXT NOT NULL,
    state           TEXT NOT NULL,
    providers       INTEGER,
    beds            INTEGER,
    star_rating     INTEGER,
    -- Whether this capability is the candidate's main one (that of its primary taxonomy; for a
    -- practice, of the most common primary taxonomy among its providers).
    is_primary      INTEGER NOT NULL,  -- 1 or 0
    PRIMARY KEY (capability_code, cell, candidate_id)
        INCLUDE (source, version, latitude, longitude, kind, name, state, providers, beds, star_rating,
                 is_primary)
);
