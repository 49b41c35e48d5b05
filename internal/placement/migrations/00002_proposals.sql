-- +goose Up
-- A batch placement proposal: the optimiser's move list for a scope (a
-- unit, an institution, the caseload, or the day's intake), kept so that
-- it can be reviewed and accepted later, by another manager too. What it
-- was computed on is kept with it (fingerprint, the cell of every person
-- and the state of every cell) so that accepting can tell what changed.
CREATE TABLE placement_proposals (
    id              TEXT PRIMARY KEY,          -- @internal
    scope           TEXT NOT NULL,             -- @internal
    location_id     TEXT NOT NULL DEFAULT '',  -- @internal
    scope_name      TEXT NOT NULL,             -- @internal
    units           TEXT NOT NULL,             -- @internal
    created_by_id   TEXT NOT NULL,             -- @internal
    created_by_name TEXT NOT NULL,             -- @personal
    created_at      TEXT NOT NULL,             -- @personal
    status          TEXT NOT NULL,             -- @internal
    fingerprint     TEXT NOT NULL,             -- @internal
    snapshot        TEXT NOT NULL,             -- @personal
    locks           TEXT NOT NULL DEFAULT '[]', -- @personal
    people          INTEGER NOT NULL,          -- @internal
    cost_before     TEXT NOT NULL,             -- @security
    cost_after      TEXT NOT NULL DEFAULT '',  -- @security
    broken_before   TEXT NOT NULL DEFAULT '[]', -- @security
    conflicts       TEXT NOT NULL DEFAULT '[]', -- @security
    proven          INTEGER NOT NULL DEFAULT 0, -- @internal
    elapsed_ms      INTEGER NOT NULL DEFAULT 0, -- @internal
    version         INTEGER NOT NULL DEFAULT 1  -- @internal
);
CREATE INDEX placement_proposals_created ON placement_proposals (created_at);

-- The moves of a proposal, in the optimiser's order; each is applied at
-- most once, and records who accepted it and in which acceptance.
CREATE TABLE placement_proposal_moves (
    proposal_id      TEXT NOT NULL,            -- @internal
    seq              INTEGER NOT NULL,         -- @internal
    client_id        TEXT NOT NULL,            -- @internal
    client_name      TEXT NOT NULL,            -- @personal
    client_number    TEXT NOT NULL,            -- @personal
    from_cell_id     TEXT NOT NULL,            -- @internal
    from_place       TEXT NOT NULL,            -- @internal
    to_cell_id       TEXT NOT NULL,            -- @internal
    to_place         TEXT NOT NULL,            -- @internal
    reasons          TEXT NOT NULL DEFAULT '[]', -- @security
    status           TEXT NOT NULL,            -- @internal
    applied_at       TEXT NOT NULL DEFAULT '', -- @personal
    applied_by_id    TEXT NOT NULL DEFAULT '', -- @internal
    applied_by_name  TEXT NOT NULL DEFAULT '', -- @personal
    acceptance_id    TEXT NOT NULL DEFAULT '', -- @internal
    PRIMARY KEY (proposal_id, seq)
);

-- Each acceptance of (part of) a proposal: who, when, which moves were
-- chosen, what was applied and what was refused and why. The
-- Idempotency-Key of the accepting request is kept here, so a repeat
-- (a double click, a retry after a lost answer) finds this acceptance
-- instead of starting another.
CREATE TABLE placement_proposal_acceptances (
    id               TEXT PRIMARY KEY,         -- @internal
    proposal_id      TEXT NOT NULL,            -- @internal
    idem_key         TEXT NOT NULL DEFAULT '', -- @internal
    accepted_by_id   TEXT NOT NULL,            -- @internal
    accepted_by_name TEXT NOT NULL,            -- @personal
    accepted_at      TEXT NOT NULL,            -- @personal
    chosen           TEXT NOT NULL,            -- @internal
    apply_rest       INTEGER NOT NULL DEFAULT 0, -- @internal
    status           TEXT NOT NULL,            -- @internal
    applied          TEXT NOT NULL DEFAULT '[]', -- @internal
    refused          TEXT NOT NULL DEFAULT '[]'  -- @security
);
CREATE UNIQUE INDEX placement_proposal_acceptances_key ON placement_proposal_acceptances (proposal_id, accepted_by_id, idem_key) WHERE idem_key <> '';
CREATE INDEX placement_proposal_acceptances_proposal ON placement_proposal_acceptances (proposal_id, accepted_at);

-- +goose Down
DROP TABLE placement_proposal_acceptances;
DROP TABLE placement_proposal_moves;
DROP TABLE placement_proposals;
