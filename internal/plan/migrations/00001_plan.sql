-- +goose Up
-- An action plan (handlingsplan / handleplan): goals with measures, who is
-- responsible, dates and status, the client's own view and follow-up
-- notes. The editable content is one JSON document, validated in Go, so a
-- save is one versioned row and a conflict compares two whole documents.
-- A plan's goals, measures and comments are about the person's treatment,
-- health and behaviour: special-category data.
CREATE TABLE plans (
    id              TEXT PRIMARY KEY,            -- @internal
    client_id       TEXT NOT NULL,               -- @internal
    status          TEXT NOT NULL,               -- @personal
    document        TEXT NOT NULL,               -- @special-category
    version         INTEGER NOT NULL DEFAULT 1,  -- @internal
    created_at      TEXT NOT NULL,               -- @internal
    created_by      TEXT NOT NULL,               -- @internal
    created_by_name TEXT NOT NULL,               -- @personal
    updated_at      TEXT NOT NULL,               -- @internal
    updated_by      TEXT NOT NULL,               -- @internal
    updated_by_name TEXT NOT NULL,               -- @personal
    activated_at    TEXT,                        -- @personal
    closed_at       TEXT                         -- @personal
);
CREATE INDEX plans_client ON plans (client_id, created_at);
-- One active plan per person at a time (the service also checks records
-- merged into the person).
CREATE UNIQUE INDEX plans_one_active ON plans (client_id) WHERE status = 'active';

-- Every saved version in full: who saved it, when, how (created, saved,
-- autosaved, status changed, a conflict resolved) and what changed
-- against the version before, so the history can show each one.
CREATE TABLE plan_versions (
    plan_id       TEXT NOT NULL,     -- @internal
    version       INTEGER NOT NULL,  -- @internal
    status        TEXT NOT NULL,     -- @personal
    document      TEXT NOT NULL,     -- @special-category
    changes       TEXT NOT NULL,     -- @special-category
    kind          TEXT NOT NULL,     -- @internal
    saved_at      TEXT NOT NULL,     -- @internal
    saved_by      TEXT NOT NULL,     -- @internal
    saved_by_name TEXT NOT NULL,     -- @personal
    PRIMARY KEY (plan_id, version)
);

-- A save refused because someone else saved first, kept until its author
-- chooses between the two: the text typed must survive a reload, a closed
-- tab or another device. One per plan and member of staff.
CREATE TABLE plan_conflicts (
    plan_id      TEXT NOT NULL,     -- @internal
    staff_id     TEXT NOT NULL,     -- @internal
    base_version INTEGER NOT NULL,  -- @internal
    document     TEXT NOT NULL,     -- @special-category
    saved_at     TEXT NOT NULL,     -- @internal
    PRIMARY KEY (plan_id, staff_id)
);

-- +goose Down
DROP TABLE plan_conflicts;
DROP TABLE plan_versions;
DROP TABLE plans;
