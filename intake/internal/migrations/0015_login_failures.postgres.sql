-- An account name's failed staff logins in a row (web/login.go), kept in the database so that
-- every node counts the same failures and holds the same lock. name_hash: the SHA-256 (hex) of
-- the name tried, never the name itself (people type their password there by mistake), so that
-- each row has one size; the name need not be an account's (a guessed name is locked like a real
-- one). last and locked_until: Unix nanoseconds; locked_until 0 when the name was never locked.
-- A success deletes the row; rows a day old and not locked are deleted as failures come in.
CREATE TABLE login_failures (
    name_hash    text   PRIMARY KEY,
    failures     integer NOT NULL,
    last         bigint NOT NULL,
    locked_until bigint NOT NULL DEFAULT 0
);

CREATE INDEX login_failures_last ON login_failures (last);
