-- +goose Up
-- A non-association: people who must be kept apart (co-accused on
-- remand, a gang conflict, victim and perpetrator, a threat) within a
-- scope. The placement rules and transport planning read it as a hard
-- rule, so it is never deleted: it is ended, with a reason.
CREATE TABLE placement_nonassociations (
    id              TEXT PRIMARY KEY,          -- @internal
    scope           TEXT NOT NULL,             -- @security
    reason_category TEXT NOT NULL,             -- @security
    reason          TEXT NOT NULL,             -- @security
    decided_by_id   TEXT NOT NULL,             -- @internal
    decided_by_name TEXT NOT NULL,             -- @personal
    decided_at      TEXT NOT NULL,             -- @personal
    review_date     TEXT NOT NULL,             -- @personal
    status          TEXT NOT NULL,             -- @security
    ended_at        TEXT NOT NULL DEFAULT '',  -- @personal
    ended_by_name   TEXT NOT NULL DEFAULT '',  -- @personal
    end_reason      TEXT NOT NULL DEFAULT '',  -- @security
    updated_at      TEXT NOT NULL,             -- @internal
    version         INTEGER NOT NULL DEFAULT 1 -- @internal
);
CREATE INDEX placement_nonassociations_review ON placement_nonassociations (status, review_date);

-- The people of a non-association, two or more, by the client id they
-- had when they were named (found again after a merge through the
-- client register's record ids).
CREATE TABLE placement_nonassociation_members (
    nonassociation_id TEXT NOT NULL, -- @internal
    client_id         TEXT NOT NULL, -- @internal
    PRIMARY KEY (nonassociation_id, client_id)
);
CREATE INDEX placement_nonassociation_members_client ON placement_nonassociation_members (client_id);

-- Every version of a non-association as it stood after each change, so
-- a decision can be followed back (who widened the scope, when).
CREATE TABLE placement_nonassociation_versions (
    nonassociation_id TEXT NOT NULL,    -- @internal
    version           INTEGER NOT NULL, -- @internal
    at                TEXT NOT NULL,    -- @personal
    actor_id          TEXT NOT NULL,    -- @internal
    actor_name        TEXT NOT NULL,    -- @personal
    action            TEXT NOT NULL,    -- @personal
    snapshot          TEXT NOT NULL,    -- @security
    PRIMARY KEY (nonassociation_id, version)
);

-- Cell-sharing risk assessments, appended: the newest counts, the older
-- ones are the person's history.
CREATE TABLE placement_sharing_assessments (
    id               TEXT PRIMARY KEY,         -- @internal
    client_id        TEXT NOT NULL,            -- @internal
    outcome          TEXT NOT NULL,            -- @security
    conditions       TEXT NOT NULL DEFAULT '', -- @security
    smoker           INTEGER NOT NULL DEFAULT 0, -- @personal
    reasons          TEXT NOT NULL,            -- @special-category
    assessed_by_id   TEXT NOT NULL,            -- @internal
    assessed_by_name TEXT NOT NULL,            -- @personal
    assessed_at      TEXT NOT NULL,            -- @personal
    review_date      TEXT NOT NULL             -- @personal
);
CREATE INDEX placement_sharing_assessments_client ON placement_sharing_assessments (client_id, assessed_at);

-- +goose Down
DROP TABLE placement_sharing_assessments;
DROP TABLE placement_nonassociation_versions;
DROP TABLE placement_nonassociation_members;
DROP TABLE placement_nonassociations;
