-- +goose Up
-- Stripe the chain: 16 independent chains, each with its own head row
-- (ids 1..16), so that appends to different stripes do not wait for each
-- other. Records of stripe c have seq ≡ c (mod 16), consecutive within
-- the stripe; audit_log itself is unchanged.
--
-- Row 0 is the origin: the head of the single chain written before this
-- migration, frozen (seq 0 and a zero hash in a new database). Records
-- with seq up to the origin's form that chain; the first record of every
-- stripe links to the origin's hash, and stripe c begins at the smallest
-- seq above the origin's that is ≡ c (mod 16). Each stripe head starts one
-- step (16) below its first seq, as if its last record were there.
INSERT INTO audit_head (id, seq, hash) SELECT 0, seq, hash FROM audit_head WHERE id = 1;
DELETE FROM audit_head WHERE id = 1;
WITH RECURSIVE stripe (c) AS (SELECT 1 UNION ALL SELECT c + 1 FROM stripe WHERE c < 16)
INSERT INTO audit_head (id, seq, hash)
SELECT stripe.c, audit_head.seq + 1 + ((stripe.c - audit_head.seq - 1) % 16 + 16) % 16 - 16, audit_head.hash
FROM stripe, audit_head WHERE audit_head.id = 0;

-- seq is no longer time order across stripes: the auditor's searches sort
-- by (at, seq).
DROP INDEX audit_log_at;
CREATE INDEX audit_log_at ON audit_log (at, seq);
DROP INDEX audit_log_client;
CREATE INDEX audit_log_client ON audit_log (client_id, at, seq);
DROP INDEX audit_log_actor;
CREATE INDEX audit_log_actor ON audit_log (actor_id, at, seq);

-- +goose Down
-- The stripes cannot become one chain again once they hold records: this
-- fails (seq may not be NULL) if any record was written after the origin.
INSERT INTO audit_head (id, seq, hash)
SELECT -1, NULL, 'striped records exist' FROM audit_log WHERE seq > (SELECT seq FROM audit_head WHERE id = 0) LIMIT 1;
DELETE FROM audit_head WHERE id > 0;
UPDATE audit_head SET id = 1 WHERE id = 0;
DROP INDEX audit_log_at;
CREATE INDEX audit_log_at ON audit_log (at);
DROP INDEX audit_log_client;
CREATE INDEX audit_log_client ON audit_log (client_id, seq);
DROP INDEX audit_log_actor;
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
