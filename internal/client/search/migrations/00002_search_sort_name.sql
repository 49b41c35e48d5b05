-- +goose Up
-- The postings carry the client's sort name, so that ranking needs no join
-- with client_search_doc (which goes), and gain an index by client, so
-- that a query can take the clients of its rarest word and look up only
-- their postings instead of aggregating every posting of a common word.
-- Both indexes hold every column: lookups by word and by client read
-- nothing else.
DROP INDEX client_search_client;
ALTER TABLE client_search RENAME TO client_search_old;
CREATE TABLE client_search (
    key       TEXT NOT NULL,     -- @personal
    client_id TEXT NOT NULL,     -- @personal
    kind      INTEGER NOT NULL,  -- @internal
    sort_name TEXT NOT NULL,     -- @personal
    CONSTRAINT client_search_key PRIMARY KEY (key, client_id, kind, sort_name)
);
CREATE INDEX client_search_client ON client_search (client_id, key, kind, sort_name);
INSERT INTO client_search (key, client_id, kind, sort_name)
SELECT p.key, p.client_id, p.kind, COALESCE(d.sort_name, '')
FROM client_search_old p LEFT JOIN client_search_doc d ON d.client_id = p.client_id;
DROP TABLE client_search_old;
DROP TABLE client_search_doc;

-- +goose Down
CREATE TABLE client_search_doc (
    client_id TEXT NOT NULL PRIMARY KEY,
    sort_name TEXT NOT NULL
);
INSERT INTO client_search_doc (client_id, sort_name)
SELECT client_id, MAX(sort_name) FROM client_search GROUP BY client_id;
DROP INDEX client_search_client;
ALTER TABLE client_search RENAME TO client_search_new;
CREATE TABLE client_search (
    key       TEXT NOT NULL,
    client_id TEXT NOT NULL,
    kind      INTEGER NOT NULL,
    PRIMARY KEY (key, client_id, kind)
);
CREATE INDEX client_search_client ON client_search (client_id);
INSERT INTO client_search (key, client_id, kind)
SELECT DISTINCT key, client_id, kind FROM client_search_new;
DROP TABLE client_search_new;
