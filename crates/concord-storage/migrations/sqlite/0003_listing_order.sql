-- The default partnership list order (most recently updated first, open partnerships only).
CREATE INDEX partnerships_recent_open ON partnerships (updated_at DESC, id DESC) WHERE archived_at IS NULL;
