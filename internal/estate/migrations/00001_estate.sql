-- +goose Up
-- Institutions, their units, and probation offices form one tree of
-- locations; a staff member's caseload names nodes of this tree.
CREATE TABLE locations (
    id             TEXT PRIMARY KEY,            -- @internal
    kind           TEXT NOT NULL,               -- @public
    parent_id      TEXT,                        -- @internal
    code           TEXT NOT NULL UNIQUE,        -- @public
    name           TEXT NOT NULL,               -- @public
    category       TEXT NOT NULL DEFAULT '',    -- @public
    security_level INTEGER NOT NULL DEFAULT 0,  -- @public
    gender         TEXT NOT NULL DEFAULT 'any', -- @public
    region         TEXT NOT NULL DEFAULT '',    -- @public
    address        TEXT NOT NULL DEFAULT '',    -- @public
    lat            DOUBLE PRECISION,            -- @public
    lon            DOUBLE PRECISION,            -- @public
    version        INTEGER NOT NULL DEFAULT 1,  -- @internal
    created_at     TEXT NOT NULL,               -- @internal
    updated_at     TEXT NOT NULL                -- @internal
);
CREATE INDEX locations_parent ON locations (parent_id);

-- Cells keep an occupancy counter that the client register changes in the
-- same transaction as an admission or transfer, with a conditional update,
-- so that capacity holds under concurrent moves on both engines.
CREATE TABLE cells (
    id             TEXT PRIMARY KEY,            -- @internal
    unit_id        TEXT NOT NULL,               -- @internal
    label          TEXT NOT NULL,               -- @public
    capacity       INTEGER NOT NULL,            -- @public
    occupied       INTEGER NOT NULL DEFAULT 0,  -- @internal
    security_level INTEGER NOT NULL DEFAULT 0,  -- @public
    gender         TEXT NOT NULL DEFAULT 'any', -- @public
    accessible     INTEGER NOT NULL DEFAULT 0,  -- @public
    smoking        INTEGER NOT NULL DEFAULT 0,  -- @public
    note           TEXT NOT NULL DEFAULT '',    -- @internal
    version        INTEGER NOT NULL DEFAULT 1,  -- @internal
    created_at     TEXT NOT NULL,               -- @internal
    updated_at     TEXT NOT NULL,               -- @internal
    CHECK (occupied >= 0 AND occupied <= capacity),
    UNIQUE (unit_id, label)
);

-- A cell is out of use (repair, damage, quarantine) for a period; an open
-- period has no until_at.
CREATE TABLE cell_closures (
    id         TEXT PRIMARY KEY,  -- @internal
    cell_id    TEXT NOT NULL,     -- @internal
    from_at    TEXT NOT NULL,     -- @internal
    until_at   TEXT,              -- @internal
    reason     TEXT NOT NULL,     -- @internal
    created_by TEXT NOT NULL,     -- @internal
    created_at TEXT NOT NULL      -- @internal
);
CREATE INDEX cell_closures_cell ON cell_closures (cell_id, from_at);

-- +goose Down
DROP TABLE cell_closures;
DROP TABLE cells;
DROP TABLE locations;
