-- +goose Up
-- Every keyed POST first deletes its caller's expired keys; this index
-- makes that a range read instead of a scan of all the caller's keys (an
-- API client can hold many thousands within the 24 hours they are kept).
CREATE INDEX idempotency_expiry ON idempotency (principal, created_at);

-- +goose Down
DROP INDEX idempotency_expiry;
