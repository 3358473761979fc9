-- The survey store, SQLite flavour. Keep in step with ../../postgres and
-- src/schema.rs: ids BIGINT (INTEGER PRIMARY KEY is the 64-bit rowid),
-- JSON as TEXT, times as UTC unix milliseconds.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'statistician', 'uploader', 'respondent')),
    province INTEGER,
    disabled BOOLEAN NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    CHECK ((role = 'uploader') = (province IS NOT NULL))
);

CREATE TABLE instruments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    definition TEXT NOT NULL,
    published_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (name, version)
);

-- A published instrument version never changes and is never deleted.
CREATE TRIGGER instruments_published_immutable
BEFORE UPDATE ON instruments
WHEN OLD.published_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'published instrument versions are immutable');
END;

CREATE TRIGGER instruments_published_undeletable
BEFORE DELETE ON instruments
WHEN OLD.published_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'published instrument versions are immutable');
END;

CREATE TABLE rounds (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    instrument_id BIGINT NOT NULL REFERENCES instruments (id),
    rule TEXT NOT NULL,
    margins TEXT NOT NULL,
    opens_at BIGINT,
    closes_at BIGINT,
    status TEXT NOT NULL CHECK (status IN ('draft', 'open', 'closed')),
    open_online BOOLEAN NOT NULL,
    data_version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE batches (
    id INTEGER PRIMARY KEY,
    round_id BIGINT NOT NULL REFERENCES rounds (id),
    province INTEGER NOT NULL,
    uploader_id BIGINT REFERENCES users (id),
    file_name TEXT NOT NULL,
    file_hash TEXT NOT NULL,
    rows_total INTEGER NOT NULL,
    rows_accepted INTEGER NOT NULL,
    rows_rejected INTEGER NOT NULL,
    rows_duplicate INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('committed')),
    created_at BIGINT NOT NULL,
    UNIQUE (round_id, file_hash)
);

CREATE TABLE responses (
    id INTEGER PRIMARY KEY,
    round_id BIGINT NOT NULL REFERENCES rounds (id),
    respondent_id TEXT NOT NULL CHECK (length(respondent_id) BETWEEN 1 AND 64),
    province INTEGER NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('online', 'paper', 'tablet')),
    instrument_id BIGINT NOT NULL REFERENCES instruments (id),
    answers TEXT NOT NULL,
    demographics TEXT NOT NULL,
    paradata TEXT NOT NULL,
    batch_id BIGINT REFERENCES batches (id),
    submission_id TEXT UNIQUE,
    started_at BIGINT,
    submitted_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (round_id, province, respondent_id)
);
CREATE INDEX responses_round_id ON responses (round_id, id);
CREATE INDEX responses_batch ON responses (batch_id);

CREATE TABLE invite_codes (
    code TEXT PRIMARY KEY NOT NULL,
    round_id BIGINT NOT NULL REFERENCES rounds (id),
    province INTEGER,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    used_at BIGINT,
    session_id TEXT
);
CREATE INDEX invite_codes_round ON invite_codes (round_id);

CREATE TABLE respondent_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    round_id BIGINT NOT NULL REFERENCES rounds (id),
    respondent_id TEXT NOT NULL,
    invite_code TEXT UNIQUE REFERENCES invite_codes (code),
    answers TEXT NOT NULL,
    paradata TEXT NOT NULL,
    revision BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    submitted_at BIGINT,
    response_id BIGINT REFERENCES responses (id)
);
CREATE INDEX respondent_sessions_round ON respondent_sessions (round_id);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);

CREATE TABLE estimate_cache (
    round_id BIGINT NOT NULL REFERENCES rounds (id),
    data_version BIGINT NOT NULL,
    query TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (round_id, data_version, query)
);
