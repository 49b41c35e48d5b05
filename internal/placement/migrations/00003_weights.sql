-- +goose Up
-- The soft-cost weights of an institution's placements, replacing the
-- defaults there. Only the terms the register can feed are kept; a change
-- is version checked and audited.
CREATE TABLE placement_weights (
    institution_id  TEXT PRIMARY KEY,          -- @internal
    risk            INTEGER NOT NULL,          -- @internal
    violence        INTEGER NOT NULL,          -- @internal
    move            INTEGER NOT NULL,          -- @internal
    transfer        INTEGER NOT NULL,          -- @internal
    smoking         INTEGER NOT NULL,          -- @internal
    updated_by_id   TEXT NOT NULL,             -- @internal
    updated_by_name TEXT NOT NULL,             -- @personal
    updated_at      TEXT NOT NULL,             -- @personal
    version         INTEGER NOT NULL DEFAULT 1 -- @internal
);

-- +goose Down
DROP TABLE placement_weights;
