-- +goose Up
-- A registration is a legally required record of something that happened
-- to or around a client: use of force, restraint during transport, a
-- contraband find, an incident, a radicalisation concern. Once submitted
-- its content is never changed in place: corrections are amendments.
CREATE TABLE registrations (
    id                 TEXT PRIMARY KEY,              -- @internal
    kind               TEXT NOT NULL,                 -- @personal
    client_id          TEXT NOT NULL,                 -- @internal
    institution_id     TEXT NOT NULL DEFAULT '',      -- @internal
    unit_id            TEXT NOT NULL DEFAULT '',      -- @internal
    occurred_at        TEXT NOT NULL,                 -- @personal
    place              TEXT NOT NULL DEFAULT '',      -- @personal
    details            TEXT NOT NULL,                 -- @special-category
    status             TEXT NOT NULL,                 -- @personal
    author_id          TEXT NOT NULL,                 -- @internal
    author_name        TEXT NOT NULL,                 -- @personal
    -- The Idempotency-Key the author sent with the first request: a retry
    -- finds the registration instead of making a second one. Stored with
    -- the registration, in its transaction, so a crash cannot separate them.
    idem_key           TEXT NOT NULL DEFAULT '',      -- @internal
    created_at         TEXT NOT NULL,                 -- @internal
    updated_at         TEXT NOT NULL,                 -- @internal
    submitted_at       TEXT NOT NULL DEFAULT '',      -- @personal
    reviewed_at        TEXT NOT NULL DEFAULT '',      -- @personal
    reviewer_id        TEXT NOT NULL DEFAULT '',      -- @internal
    reviewer_name      TEXT NOT NULL DEFAULT '',      -- @personal
    review_comment     TEXT NOT NULL DEFAULT '',      -- @personal
    closed_at          TEXT NOT NULL DEFAULT '',      -- @personal
    client_informed_at TEXT NOT NULL DEFAULT '',      -- @personal
    client_informed_by TEXT NOT NULL DEFAULT '',      -- @personal
    version            INTEGER NOT NULL DEFAULT 1     -- @internal
);
CREATE UNIQUE INDEX registrations_idem ON registrations (author_id, idem_key) WHERE idem_key <> '';
CREATE INDEX registrations_client ON registrations (client_id, occurred_at);
CREATE INDEX registrations_status ON registrations (status, submitted_at);
CREATE INDEX registrations_place ON registrations (institution_id, unit_id, occurred_at);

-- Who was involved, in which role (officer who used force, escort,
-- victim, perpetrator, witness…). Clients and staff are linked by id.
CREATE TABLE registration_parties (
    registration_id TEXT NOT NULL,            -- @internal
    seq             INTEGER NOT NULL,         -- @internal
    party_type      TEXT NOT NULL,            -- @internal
    party_id        TEXT NOT NULL DEFAULT '', -- @internal
    name            TEXT NOT NULL,            -- @personal
    role            TEXT NOT NULL,            -- @personal
    PRIMARY KEY (registration_id, seq)
);
CREATE INDEX registration_parties_party ON registration_parties (party_id, party_type);

-- The workflow history: created, submitted, returned, accepted, closed,
-- amended, statements and complaints.
CREATE TABLE registration_history (
    id              TEXT PRIMARY KEY,         -- @internal
    registration_id TEXT NOT NULL,            -- @internal
    at              TEXT NOT NULL,            -- @personal
    actor_id        TEXT NOT NULL,            -- @internal
    actor_name      TEXT NOT NULL,            -- @personal
    action          TEXT NOT NULL,            -- @personal
    comment         TEXT NOT NULL DEFAULT ''  -- @personal
);
CREATE INDEX registration_history_reg ON registration_history (registration_id, at);

-- Corrections to a submitted registration or statement, appended with who
-- and why; the original stays as it was submitted.
CREATE TABLE registration_amendments (
    id              TEXT PRIMARY KEY,          -- @internal
    registration_id TEXT NOT NULL,             -- @internal
    statement_id    TEXT NOT NULL DEFAULT '',  -- @internal
    field           TEXT NOT NULL,             -- @personal
    old_value       TEXT NOT NULL,             -- @special-category
    new_value       TEXT NOT NULL,             -- @special-category
    reason          TEXT NOT NULL,             -- @personal
    author_id       TEXT NOT NULL,             -- @internal
    author_name     TEXT NOT NULL,             -- @personal
    at              TEXT NOT NULL              -- @personal
);
CREATE INDEX registration_amendments_reg ON registration_amendments (registration_id, at);

-- Each involved officer's own account, requested when the report is
-- submitted.
CREATE TABLE registration_statements (
    id              TEXT PRIMARY KEY,          -- @internal
    registration_id TEXT NOT NULL,             -- @internal
    staff_id        TEXT NOT NULL,             -- @internal
    staff_name      TEXT NOT NULL,             -- @personal
    status          TEXT NOT NULL,             -- @personal
    text            TEXT NOT NULL DEFAULT '',  -- @special-category
    requested_at    TEXT NOT NULL,             -- @personal
    submitted_at    TEXT NOT NULL DEFAULT '',  -- @personal
    reminded_at     TEXT NOT NULL DEFAULT '',  -- @internal
    overdue_at      TEXT NOT NULL DEFAULT '',  -- @internal
    version         INTEGER NOT NULL DEFAULT 1, -- @internal
    UNIQUE (registration_id, staff_id)
);
CREATE INDEX registration_statements_staff ON registration_statements (staff_id, status);
CREATE INDEX registration_statements_open ON registration_statements (status, requested_at);

-- A client's complaint about a registration (use of force, restraints):
-- a deadline, a handler and a decision.
CREATE TABLE registration_complaints (
    id              TEXT PRIMARY KEY,          -- @internal
    registration_id TEXT NOT NULL,             -- @internal
    client_id       TEXT NOT NULL,             -- @internal
    received_at     TEXT NOT NULL,             -- @personal
    text            TEXT NOT NULL,             -- @special-category
    deadline        TEXT NOT NULL,             -- @personal
    handler_id      TEXT NOT NULL,             -- @internal
    handler_name    TEXT NOT NULL,             -- @personal
    status          TEXT NOT NULL,             -- @personal
    outcome         TEXT NOT NULL DEFAULT '',  -- @personal
    decision        TEXT NOT NULL DEFAULT '',  -- @special-category
    decided_at      TEXT NOT NULL DEFAULT '',  -- @personal
    decided_by_name TEXT NOT NULL DEFAULT '',  -- @personal
    version         INTEGER NOT NULL DEFAULT 1 -- @internal
);
CREATE INDEX registration_complaints_reg ON registration_complaints (registration_id);
CREATE INDEX registration_complaints_open ON registration_complaints (status, deadline);

-- +goose Down
DROP TABLE registration_complaints;
DROP TABLE registration_statements;
DROP TABLE registration_amendments;
DROP TABLE registration_history;
DROP TABLE registration_parties;
DROP TABLE registrations;
