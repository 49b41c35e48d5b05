-- +goose Up
-- Photographs attached to a registration: a contraband find as it was
-- found, damage, an injury. Appended, never replaced; once the
-- registration is submitted a photo stays with it. The image is
-- @special-category: it may show a person, their body or their cell.
-- image is BYTEA: PostgreSQL's binary type; SQLite stores the []byte as a
-- BLOB under any type name.
CREATE TABLE registration_photos (
    id              TEXT PRIMARY KEY,          -- @internal
    registration_id TEXT NOT NULL,             -- @internal
    content_type    TEXT NOT NULL,             -- @internal
    image           BYTEA NOT NULL,            -- @special-category
    byte_size       INTEGER NOT NULL,          -- @internal
    width           INTEGER NOT NULL,          -- @internal
    height          INTEGER NOT NULL,          -- @internal
    caption         TEXT NOT NULL DEFAULT '',  -- @personal
    uploaded_by_id  TEXT NOT NULL,             -- @internal
    uploaded_by     TEXT NOT NULL,             -- @personal
    uploaded_at     TEXT NOT NULL              -- @personal
);
CREATE INDEX registration_photos_reg ON registration_photos (registration_id, uploaded_at);

-- +goose Down
DROP TABLE registration_photos;
