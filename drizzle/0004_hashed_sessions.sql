-- Sessions are now stored under the SHA-256 of their token, never the token itself
-- (server/auth/session-tokens.ts): a copy of the database no longer lets anyone in. Sessions
-- stored the old way cannot be told from new ones by the server, so they end here: everyone
-- logs in once more after this upgrade (README, Upgrading). Nothing else is touched.
DELETE FROM `sessions`;
