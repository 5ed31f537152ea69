-- Browse › DAG runs and Task instances (/dag_runs, /task_instances) list
-- across DAGs newest first: with this index the unfiltered task instance
-- list walks runs in date order and reads their task instances through
-- ti_run_idx (2 ms instead of a 200 ms sort of 200,000 rows in the UI
-- benchmark). (Numbered 0008 by wt-graph so the branch builds; renumber at
-- merge.)
CREATE INDEX dag_run_run_after_idx ON dag_run (run_after DESC, id DESC);
