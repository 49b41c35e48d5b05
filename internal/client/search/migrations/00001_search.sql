-- +goose Up
-- The vocabulary: every distinct folded name word in the register, reached
-- from its keys (kind 0 the word itself, 1 its second folding — aa/å,
-- Carlsson/Karlsson —, 2 a one-rune deletion, 3 a two-rune deletion,
-- 4 a prefix). It links no word to a person; Prune removes words that no
-- person carries any more. Keys and terms are compared only for equality,
-- so the database's collation does not matter.
CREATE TABLE search_term (
    key  TEXT NOT NULL,     -- @personal
    kind INTEGER NOT NULL,  -- @internal
    term TEXT NOT NULL,     -- @personal
    PRIMARY KEY (key, kind, term)
);

-- Postings: which client carries which folded name word or identity
-- number (kind 0 given name, 1 family name, 2 alias, 3 identity number).
CREATE TABLE client_search (
    key       TEXT NOT NULL,     -- @personal
    client_id TEXT NOT NULL,     -- @personal
    kind      INTEGER NOT NULL,  -- @internal
    PRIMARY KEY (key, client_id, kind)
);
CREATE INDEX client_search_client ON client_search (client_id);

-- One row per indexed client: the folded "family given" name that orders
-- equally good hits.
CREATE TABLE client_search_doc (
    client_id TEXT NOT NULL PRIMARY KEY,  -- @personal
    sort_name TEXT NOT NULL               -- @personal
);

-- +goose Down
DROP TABLE client_search_doc;
DROP TABLE client_search;
DROP TABLE search_term;
