-- +goose Up
CREATE TABLE staff (
    id            TEXT PRIMARY KEY,            -- @internal
    username      TEXT NOT NULL UNIQUE,        -- @personal
    display_name  TEXT NOT NULL,               -- @personal
    role          TEXT NOT NULL,               -- @internal
    password_hash TEXT NOT NULL,               -- @security
    lang          TEXT NOT NULL DEFAULT '',    -- @internal
    failed_logins INTEGER NOT NULL DEFAULT 0,  -- @security
    locked_until  TEXT,                        -- @security
    disabled      INTEGER NOT NULL DEFAULT 0,  -- @internal
    version       INTEGER NOT NULL DEFAULT 1,  -- @internal
    created_at    TEXT NOT NULL,               -- @internal
    updated_at    TEXT NOT NULL                -- @internal
);

-- A caseload entry is an institution, unit or probation office id, or '*'
-- for a national role.
CREATE TABLE staff_caseload (
    staff_id    TEXT NOT NULL REFERENCES staff (id), -- @internal
    location_id TEXT NOT NULL,                       -- @internal
    PRIMARY KEY (staff_id, location_id)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,                   -- @security
    staff_id   TEXT NOT NULL REFERENCES staff (id), -- @internal
    csrf       TEXT NOT NULL,                       -- @security
    remote     TEXT NOT NULL,                       -- @personal
    created_at TEXT NOT NULL,                       -- @internal
    last_seen  TEXT NOT NULL,                       -- @internal
    expires_at TEXT NOT NULL                        -- @internal
);
CREATE INDEX sessions_staff ON sessions (staff_id);

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,      -- @internal
    name       TEXT NOT NULL,         -- @internal
    token_hash TEXT NOT NULL UNIQUE,  -- @security
    role       TEXT NOT NULL,         -- @internal
    created_by TEXT NOT NULL,         -- @internal
    created_at TEXT NOT NULL,         -- @internal
    expires_at TEXT,                  -- @internal
    revoked_at TEXT                   -- @internal
);

CREATE TABLE api_token_caseload (
    token_id    TEXT NOT NULL REFERENCES api_tokens (id), -- @internal
    location_id TEXT NOT NULL,                            -- @internal
    PRIMARY KEY (token_id, location_id)
);

-- Break-glass: access outside the caseload with a written reason, allowed
-- for a limited time, flagged and reviewed by security.
CREATE TABLE break_glass (
    id          TEXT PRIMARY KEY,  -- @internal
    staff_id    TEXT NOT NULL,     -- @internal
    client_id   TEXT NOT NULL,     -- @personal
    reason      TEXT NOT NULL,     -- @personal
    created_at  TEXT NOT NULL,     -- @internal
    expires_at  TEXT NOT NULL,     -- @internal
    reviewed_by TEXT,              -- @internal
    reviewed_at TEXT,              -- @internal
    review_note TEXT,              -- @personal
    review_ok   INTEGER            -- @internal
);
CREATE INDEX break_glass_staff_client ON break_glass (staff_id, client_id, expires_at);
CREATE INDEX break_glass_review ON break_glass (reviewed_at, created_at);

CREATE TABLE idempotency (
    key        TEXT NOT NULL,  -- @internal
    principal  TEXT NOT NULL,  -- @internal
    route      TEXT NOT NULL,  -- @internal
    status     INTEGER NOT NULL, -- @internal
    body       TEXT NOT NULL,  -- @personal
    location   TEXT NOT NULL,  -- @internal
    created_at TEXT NOT NULL,  -- @internal
    PRIMARY KEY (principal, key)
);

-- +goose Down
DROP TABLE idempotency;
DROP TABLE break_glass;
DROP TABLE api_token_caseload;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE staff_caseload;
DROP TABLE staff;
