-- +goose Up
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,   -- @internal
    id          TEXT NOT NULL,        -- @internal
    at          TEXT NOT NULL,        -- @internal
    actor_id    TEXT NOT NULL,        -- @personal
    actor_name  TEXT NOT NULL,        -- @personal
    role        TEXT NOT NULL,        -- @internal
    action      TEXT NOT NULL,        -- @internal
    client_id   TEXT,                 -- @personal
    object_type TEXT,                 -- @internal
    object_id   TEXT,                 -- @internal
    reason      TEXT,                 -- @personal
    break_glass INTEGER NOT NULL,     -- @internal
    remote      TEXT,                 -- @personal
    detail      TEXT,                 -- @personal
    prev_hash   TEXT NOT NULL,        -- @internal
    hash        TEXT NOT NULL         -- @internal
);
CREATE INDEX audit_log_client ON audit_log (client_id, seq);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_log_at ON audit_log (at);

-- The head of the chain: one row, updated by every append, so that appends
-- serialise on it and a truncated tail is detectable.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY,  -- @internal
    seq  BIGINT NOT NULL,      -- @internal
    hash TEXT NOT NULL         -- @internal
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- +goose Down
DROP TABLE audit_head;
DROP TABLE audit_log;
