-- The guide's versions (intake/guideversion.go): each the whole guide directory, packed as a
-- gzipped tar (files), numbered 1, 2, … and never changed once stored; the current version is the
-- highest number. A rollback is a new version with an earlier one's files (rollback_of).
-- published: Unix nanoseconds.
CREATE TABLE guide_versions (
    number      bigint PRIMARY KEY,
    author      text   NOT NULL,
    note        text   NOT NULL,
    published   bigint NOT NULL,
    rollback_of bigint NOT NULL DEFAULT 0,
    digest      text   NOT NULL,
    files       bytea  NOT NULL
);
