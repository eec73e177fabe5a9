-- Pairing codes are now stored as HMAC-SHA256 under a key derived from the service-role key,
-- so a copy of this table alone cannot be searched for live 40-bit codes. Codes made before
-- this version no longer match; they live at most 24 h, and a new one is one request away.
-- Running it again changes nothing.
comment on column public.pairings.code_hash is
  'HMAC-SHA256 hex of the one-time code under a key the control plane derives from the service-role key; the code itself is never stored.';
