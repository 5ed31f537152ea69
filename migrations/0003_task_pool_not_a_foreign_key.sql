-- A task may name a pool that does not exist (yet): Airflow creates its runs,
-- never queues those tasks, and shows a "non-existent pool" DAG warning. A
-- foreign key made creating the whole run fail instead.
ALTER TABLE task_instance DROP CONSTRAINT IF EXISTS task_instance_pool_fkey;
