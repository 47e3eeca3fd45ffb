-- Staff numbers (工号), which residents see instead of names: AUTOINCREMENT never gives a number
-- twice, even after an account is deleted (a rowid may be reused).

CREATE TABLE staff_numbers (
    number    INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name TEXT    NOT NULL UNIQUE
) STRICT;

INSERT INTO staff_numbers (number, user_name) SELECT rowid, name FROM users ORDER BY rowid;
