-- A photo the resident sent in the chat is a turn of its own: the turn names the attachment.
ALTER TABLE turns ADD COLUMN attachment TEXT NOT NULL DEFAULT '';
