-- A ticket's access code: the resident's proof of the ticket, given at creation, with which it is
-- followed and rated (docs/intake.md). Tickets made before it have none ('') and are followed
-- from the conversation that opened them, or by staff.
ALTER TABLE tickets ADD COLUMN access_code TEXT NOT NULL DEFAULT '';
