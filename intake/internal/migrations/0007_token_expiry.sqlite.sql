-- API tokens expire (hotline user token --ttl; NULL is never). The tokens made before this
-- version keep working for a year from the upgrade: time to list and replace them, without
-- leaving them valid for ever. last_used is when a token was last used, to the hour.
ALTER TABLE api_tokens ADD COLUMN expires INTEGER;
ALTER TABLE api_tokens ADD COLUMN last_used INTEGER;

UPDATE api_tokens SET expires = (CAST(strftime('%s', 'now') AS INTEGER) + 365 * 86400) * 1000000000;
