-- +goose Up
-- A person's placement profile, appended: the newest counts, the older
-- ones are the person's history. The security classification is on the
-- estate's cell scale (1 highest … 3 lowest): the person needs a cell of
-- that level or a higher one. Restricted is remand with restrictions
-- decided by the prosecutor: alone in the cell.
CREATE TABLE placement_profiles (
    id              TEXT PRIMARY KEY,            -- @internal
    client_id       TEXT NOT NULL,               -- @internal
    security_level  INTEGER NOT NULL,            -- @security
    accessible      INTEGER NOT NULL DEFAULT 0,  -- @special-category
    restricted      INTEGER NOT NULL DEFAULT 0,  -- @security
    reasons         TEXT NOT NULL,               -- @special-category
    decided_by_id   TEXT NOT NULL,               -- @internal
    decided_by_name TEXT NOT NULL,               -- @personal
    decided_at      TEXT NOT NULL                -- @personal
);
CREATE INDEX placement_profiles_client ON placement_profiles (client_id, decided_at);

-- +goose Down
DROP TABLE placement_profiles;
