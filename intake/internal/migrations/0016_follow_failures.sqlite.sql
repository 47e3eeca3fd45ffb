-- A ticket's failed proofs (wrong access codes: intake.Service.Follow), kept in the store so that
-- every node counts the same ones: with n nodes each counting its own, a guesser had n times the
-- tries. One row a failure; at: Unix nanoseconds. Rows older than the window (an hour) are
-- deleted as failures come in.
CREATE TABLE follow_failures (
    number TEXT    NOT NULL,
    at     INTEGER NOT NULL
) STRICT;

CREATE INDEX follow_failures_number ON follow_failures (number, at);
CREATE INDEX follow_failures_at ON follow_failures (at);
