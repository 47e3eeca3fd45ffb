-- API tokens expire (hotline user token --ttl; NULL is never). The tokens made before this
-- version keep working for a year from the upgrade: time to list and replace them, without
-- leaving them valid for ever.
ALTER TABLE api_tokens ADD COLUMN expires INTEGER;

UPDATE api_tokens SET expires = (CAST(strftime('%s', 'now') AS INTEGER) + 365 * 86400) * 1000000000;
