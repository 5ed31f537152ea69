-- Human in the loop: which try asked. A resumed deferral (same try) reads the
-- answer; a new try (retry, clear) asks again, resetting the row.
ALTER TABLE hitl_detail ADD COLUMN try_number integer NOT NULL DEFAULT 1 CHECK (try_number >= 1);
