-- Per-task concurrency caps, copied from the serialized task when a run's
-- task instances are created (like pool and priority_weight), so queueing
-- needs no serialized DAG: max_active_tis_per_dag (across runs) and
-- max_active_tis_per_dagrun (within one run). NULL: no cap.
ALTER TABLE task_instance
    ADD COLUMN max_active_tis_per_dag integer CHECK (max_active_tis_per_dag >= 0),
    ADD COLUMN max_active_tis_per_dagrun integer CHECK (max_active_tis_per_dagrun >= 0);
