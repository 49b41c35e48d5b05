-- +goose Up
-- One record per person for life; custody and community periods are stays
-- under it, so alerts and history survive re-admission and recall.
CREATE TABLE clients (
    id                  TEXT PRIMARY KEY,           -- @internal
    number              TEXT NOT NULL UNIQUE,       -- @personal
    given_name          TEXT NOT NULL,              -- @personal
    family_name         TEXT NOT NULL,              -- @personal
    birth_date          TEXT NOT NULL,              -- @personal
    sex                 TEXT NOT NULL,              -- @personal
    national_id         TEXT,                       -- @personal
    national_id_country TEXT,                       -- @personal
    nationality         TEXT NOT NULL DEFAULT '',   -- @personal
    languages           TEXT NOT NULL DEFAULT '',   -- @personal
    photo               TEXT,                       -- @personal
    status              TEXT NOT NULL,              -- @personal
    institution_id      TEXT,                       -- @personal
    unit_id             TEXT,                       -- @personal
    cell_id             TEXT,                       -- @personal
    office_id           TEXT,                       -- @personal
    home_location       TEXT NOT NULL,              -- @internal
    stay_id             TEXT,                       -- @internal
    merged_into         TEXT,                       -- @internal
    version             INTEGER NOT NULL DEFAULT 1, -- @internal
    created_at          TEXT NOT NULL,              -- @internal
    updated_at          TEXT NOT NULL               -- @internal
);
CREATE INDEX clients_national_id ON clients (national_id);
CREATE INDEX clients_cell ON clients (cell_id);
CREATE INDEX clients_unit ON clients (unit_id, status);
CREATE INDEX clients_institution ON clients (institution_id, status);
CREATE INDEX clients_office ON clients (office_id, status);

CREATE TABLE client_aliases (
    id        TEXT PRIMARY KEY,     -- @internal
    client_id TEXT NOT NULL,        -- @internal
    name      TEXT NOT NULL,        -- @personal
    created_at TEXT NOT NULL        -- @internal
);
CREATE INDEX client_aliases_client ON client_aliases (client_id);

-- The legal basis for holding or supervising a person: remand, a prison
-- sentence or a community sentence.
CREATE TABLE legal_bases (
    id          TEXT PRIMARY KEY,            -- @internal
    client_id   TEXT NOT NULL,               -- @internal
    kind        TEXT NOT NULL,               -- @special-category
    start_date  TEXT NOT NULL,               -- @special-category
    length_days INTEGER NOT NULL DEFAULT 0,  -- @special-category
    end_date    TEXT,                        -- @special-category
    offences    TEXT NOT NULL,               -- @special-category
    court       TEXT NOT NULL DEFAULT '',    -- @special-category
    case_ref    TEXT NOT NULL DEFAULT '',    -- @special-category
    ended_at    TEXT,                        -- @special-category
    version     INTEGER NOT NULL DEFAULT 1,  -- @internal
    created_at  TEXT NOT NULL,               -- @internal
    created_by  TEXT NOT NULL                -- @internal
);
CREATE INDEX legal_bases_client ON legal_bases (client_id);

CREATE TABLE stays (
    id             TEXT PRIMARY KEY,  -- @internal
    client_id      TEXT NOT NULL,     -- @internal
    kind           TEXT NOT NULL,     -- @personal
    legal_basis_id TEXT,              -- @internal
    started_at     TEXT NOT NULL,     -- @personal
    ended_at       TEXT,              -- @personal
    end_reason     TEXT,              -- @personal
    location_id    TEXT NOT NULL      -- @personal
);
CREATE INDEX stays_client ON stays (client_id, started_at);

CREATE TABLE movements (
    id                  TEXT PRIMARY KEY,  -- @internal
    client_id           TEXT NOT NULL,     -- @internal
    stay_id             TEXT,              -- @internal
    kind                TEXT NOT NULL,     -- @personal
    at                  TEXT NOT NULL,     -- @personal
    from_status         TEXT NOT NULL,     -- @personal
    to_status           TEXT NOT NULL,     -- @personal
    from_cell           TEXT,              -- @personal
    to_cell             TEXT,              -- @personal
    from_location       TEXT,              -- @personal
    to_location         TEXT,              -- @personal
    reason              TEXT NOT NULL,     -- @personal
    by_staff            TEXT NOT NULL      -- @internal
);
CREATE INDEX movements_client ON movements (client_id, at);

CREATE TABLE alerts (
    id          TEXT PRIMARY KEY,           -- @internal
    client_id   TEXT NOT NULL,              -- @internal
    kind        TEXT NOT NULL,              -- @special-category
    note        TEXT NOT NULL DEFAULT '',   -- @special-category
    starts_at   TEXT NOT NULL,              -- @special-category
    ends_at     TEXT,                       -- @special-category
    set_by      TEXT NOT NULL,              -- @internal
    set_by_name TEXT NOT NULL,              -- @personal
    ended_by    TEXT,                       -- @internal
    version     INTEGER NOT NULL DEFAULT 1, -- @internal
    created_at  TEXT NOT NULL               -- @internal
);
CREATE INDEX alerts_client ON alerts (client_id);

-- The person's timeline: one line per thing that happened, newest first.
-- Other capabilities add lines through the client service.
CREATE TABLE client_history (
    id         TEXT PRIMARY KEY,  -- @internal
    client_id  TEXT NOT NULL,     -- @internal
    at         TEXT NOT NULL,     -- @personal
    kind       TEXT NOT NULL,     -- @personal
    summary    TEXT NOT NULL,     -- @special-category
    actor_id   TEXT NOT NULL,     -- @internal
    actor_name TEXT NOT NULL,     -- @personal
    ref_type   TEXT NOT NULL DEFAULT '', -- @internal
    ref_id     TEXT NOT NULL DEFAULT ''  -- @internal
);
CREATE INDEX client_history_client ON client_history (client_id, at);

CREATE TABLE client_merges (
    id          TEXT PRIMARY KEY,  -- @internal
    survivor_id TEXT NOT NULL,     -- @internal
    merged_id   TEXT NOT NULL,     -- @internal
    reason      TEXT NOT NULL,     -- @personal
    moved       TEXT NOT NULL,     -- @internal
    merged_at   TEXT NOT NULL,     -- @internal
    merged_by   TEXT NOT NULL,     -- @internal
    undone_at   TEXT,              -- @internal
    undone_by   TEXT               -- @internal
);
CREATE INDEX client_merges_survivor ON client_merges (survivor_id);
CREATE INDEX client_merges_merged ON client_merges (merged_id);

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,  -- @internal
    value BIGINT NOT NULL    -- @internal
);
INSERT INTO counters (name, value) VALUES ('client_number', 0);

-- +goose Down
DROP TABLE counters;
DROP TABLE client_merges;
DROP TABLE client_history;
DROP TABLE alerts;
DROP TABLE movements;
DROP TABLE stays;
DROP TABLE legal_bases;
DROP TABLE client_aliases;
DROP TABLE clients;
