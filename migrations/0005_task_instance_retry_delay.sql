-- The task's retry timing, copied onto each task instance at creation (like
-- its pool and caps), so the scheduler can give a reaped try (a worker that
-- died) the task's own retry_delay without reading the serialized DAG.
-- NULL retry_delay: the scheduler's default (rows created before this).
ALTER TABLE task_instance
    ADD COLUMN retry_delay double precision CHECK (retry_delay >= 0),
    ADD COLUMN retry_exponential_backoff boolean NOT NULL DEFAULT false,
    ADD COLUMN max_retry_delay double precision CHECK (max_retry_delay >= 0);
