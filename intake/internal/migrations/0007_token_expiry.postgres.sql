-- API tokens expire (hotline user token --ttl; NULL is never). The tokens made before this
-- version keep working for a year from the upgrade: time to list and replace them, without
-- leaving them valid for ever. last_used is when a token was last used, to the hour.
ALTER TABLE api_tokens ADD COLUMN expires timestamptz, ADD COLUMN expires_ns smallint NOT NULL DEFAULT 0,
    ADD COLUMN last_used timestamptz, ADD COLUMN last_used_ns smallint NOT NULL DEFAULT 0;

UPDATE api_tokens SET expires = now() + interval '365 days';
