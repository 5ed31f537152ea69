-- What the tries of a Kafka produce task delivered: ranges of the task's
-- message numbers (the order its producer function or value yields them)
-- that the broker acknowledged. A later try skips them, so a retried task
-- does not publish the same messages twice. Clearing the task forgets them
-- (a cleared task publishes again, as the user asked).
--
-- It replaces 0001's one-row-per-message table (100,000 rows for a big
-- task), which nothing ever wrote: no worker ran Kafka tasks before this
-- migration, so dropping it loses nothing.
DROP TABLE kafka_delivery;
CREATE TABLE kafka_delivery (
    ti_id uuid NOT NULL REFERENCES task_instance (id) ON DELETE CASCADE,
    first_seq bigint NOT NULL CHECK (first_seq >= 0),
    last_seq bigint NOT NULL CHECK (last_seq >= first_seq),
    try_number integer NOT NULL,
    topic text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ti_id, first_seq)
);
