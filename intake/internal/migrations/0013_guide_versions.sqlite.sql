-- The guide's versions (intake/guideversion.go): each the whole guide directory, packed as a
-- gzipped tar (files), numbered 1, 2, … and never changed once stored; the current version is the
-- highest number. A rollback is a new version with an earlier one's files (rollback_of).
-- published: Unix nanoseconds.
CREATE TABLE guide_versions (
    number      INTEGER PRIMARY KEY,
    author      TEXT    NOT NULL,
    note        TEXT    NOT NULL,
    published   INTEGER NOT NULL,
    rollback_of INTEGER NOT NULL DEFAULT 0,
    digest      TEXT    NOT NULL,
    files       BLOB    NOT NULL
) STRICT;
