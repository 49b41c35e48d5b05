-- +goose Up
-- A photograph of the person, for staff to recognise who is in front of
-- them. One per person (client_photos.client_id is unique): replacing it
-- replaces the row, removing it deletes the row. clients.photo (from
-- 00001) was never used and stays only so that no migration drops a column.
--
-- The image is @special-category: a facial image is biometric-adjacent
-- personal data (GDPR art. 4(14) and art. 9 once it is used to identify
-- someone, and faces can reveal health, religion or ethnic origin), and a
-- photo kept by the prison service also shows that the person has been in
-- its custody (art. 10). Every fetch of it is an audited read.
--
-- image is BYTEA: PostgreSQL's binary type; SQLite accepts any type name
-- and stores a []byte as a BLOB under it, so the bytes round-trip on both.
CREATE TABLE client_photos (
    id           TEXT PRIMARY KEY,         -- @internal
    client_id    TEXT NOT NULL UNIQUE,     -- @internal
    content_type TEXT NOT NULL,            -- @internal
    image        BYTEA NOT NULL,           -- @special-category
    byte_size    INTEGER NOT NULL,         -- @internal
    width        INTEGER NOT NULL,         -- @internal
    height       INTEGER NOT NULL,         -- @internal
    uploaded_by  TEXT NOT NULL,            -- @internal
    uploaded_at  TEXT NOT NULL             -- @internal
);

-- +goose Down
DROP TABLE client_photos;
