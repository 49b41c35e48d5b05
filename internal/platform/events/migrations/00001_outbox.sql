-- +goose Up
-- Events written in the same transaction as the change they describe; the
-- relay publishes them to JetStream and marks them published.
CREATE TABLE outbox (
    id           TEXT PRIMARY KEY,   -- @internal
    type         TEXT NOT NULL,      -- @internal
    subject      TEXT NOT NULL,      -- @personal
    time         TEXT NOT NULL,      -- @internal
    data         TEXT NOT NULL,      -- @special-category
    published_at TEXT,               -- @internal
    attempts     INTEGER NOT NULL DEFAULT 0 -- @internal
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;

-- Which events each consumer has applied, so a redelivered event is applied
-- once.
CREATE TABLE consumed_events (
    consumer TEXT NOT NULL,  -- @internal
    event_id TEXT NOT NULL,  -- @internal
    at       TEXT NOT NULL,  -- @internal
    PRIMARY KEY (consumer, event_id)
);

-- +goose Down
DROP TABLE consumed_events;
DROP TABLE outbox;
