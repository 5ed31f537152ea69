-- Updraft's whole data model, in Airflow's concepts (see docs/architecture.md).
-- Forward-only. State values follow Airflow exactly; every enum-like column
-- has a CHECK, every reference a foreign key, every natural key a UNIQUE.

-- ---------------------------------------------------------------- DAG files
-- One row per .py file the DAG processor has seen in the dags folder.
CREATE TABLE dag_file (
    fileloc          text PRIMARY KEY,
    relative_fileloc text NOT NULL,
    content_hash     text NOT NULL,              -- sha256 of the file's bytes
    mtime            timestamptz,
    size_bytes       bigint NOT NULL CHECK (size_bytes >= 0),
    last_parsed_at   timestamptz NOT NULL DEFAULT now(),
    parse_duration_ms double precision NOT NULL DEFAULT 0 CHECK (parse_duration_ms >= 0),
    dag_count        integer NOT NULL DEFAULT 0 CHECK (dag_count >= 0),
    is_present       boolean NOT NULL DEFAULT true
);

-- ---------------------------------------------------------------- DAGs
CREATE TABLE dag (
    dag_id               text PRIMARY KEY
                         CHECK (dag_id ~ '^[A-Za-z0-9_.-]+$' AND length(dag_id) <= 250),
    fileloc              text NOT NULL,
    relative_fileloc     text NOT NULL,
    is_paused            boolean NOT NULL DEFAULT true,
    is_active            boolean NOT NULL DEFAULT true,  -- false once its file is gone or no longer defines it
    description          text,
    dag_display_name     text,
    owners               text NOT NULL DEFAULT 'airflow',
    schedule             jsonb NOT NULL,                  -- the serialized DAG's "schedule" object
    schedule_summary     text,                            -- human text: "@daily", "0 * * * *", "None"
    max_active_runs      integer CHECK (max_active_runs IS NULL OR max_active_runs > 0),
    max_active_tasks     integer CHECK (max_active_tasks IS NULL OR max_active_tasks > 0),
    max_consecutive_failed_dag_runs integer NOT NULL DEFAULT 0 CHECK (max_consecutive_failed_dag_runs >= 0),
    has_task_concurrency_limits boolean NOT NULL DEFAULT false,
    next_dagrun          timestamptz,
    next_dagrun_data_interval_start timestamptz,
    next_dagrun_data_interval_end   timestamptz,
    next_dagrun_create_after        timestamptz,
    last_parsed_at       timestamptz NOT NULL DEFAULT now(),
    last_expired_at      timestamptz,
    timetable_description text,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dag_fileloc_idx ON dag (fileloc);
CREATE INDEX dag_next_run_idx ON dag (next_dagrun_create_after)
    WHERE is_active AND NOT is_paused;

CREATE TABLE dag_tag (
    dag_id text NOT NULL REFERENCES dag (dag_id) ON DELETE CASCADE,
    name   text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    PRIMARY KEY (dag_id, name)
);

-- Source text of DAG files, shared by content hash (the code view, per version).
CREATE TABLE dag_code (
    source_hash text PRIMARY KEY,
    fileloc     text NOT NULL,
    source_code text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Every distinct serialized form of a DAG is a version; the highest
-- version_number is the current one. A new version only when the hash changes.
CREATE TABLE dag_version (
    id             bigserial PRIMARY KEY,
    dag_id         text NOT NULL REFERENCES dag (dag_id) ON DELETE CASCADE,
    version_number integer NOT NULL CHECK (version_number >= 1),
    dag_hash       text NOT NULL,                -- sha256 of the serialized JSON
    data           jsonb NOT NULL,               -- docs/serialized-dag.md
    fileloc        text NOT NULL,
    source_hash    text NOT NULL REFERENCES dag_code (source_hash),
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dag_id, version_number)
);

-- The current version of each DAG: what the scheduler and the UI read.
CREATE TABLE serialized_dag (
    dag_id         text PRIMARY KEY REFERENCES dag (dag_id) ON DELETE CASCADE,
    dag_version_id bigint NOT NULL REFERENCES dag_version (id),
    dag_hash       text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Parse failures, one per file (Airflow's import_error).
CREATE TABLE import_error (
    id          bigserial PRIMARY KEY,
    filename    text NOT NULL UNIQUE,
    kind        text NOT NULL CHECK (kind IN ('exception', 'import_unsupported', 'timeout', 'crashed',
                                              'exit', 'too_much_output', 'cycle', 'duplicate_task_id',
                                              'invalid_dag', 'processor')),
    message     text NOT NULL,
    line        integer CHECK (line IS NULL OR line > 0),
    stacktrace  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Problems found at parse time that do not stop the DAG from loading.
CREATE TABLE dag_warning (
    dag_id       text NOT NULL REFERENCES dag (dag_id) ON DELETE CASCADE,
    warning_type text NOT NULL,
    task_id      text NOT NULL DEFAULT '',
    message      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dag_id, warning_type, task_id, message)
);

-- ---------------------------------------------------------------- pools
CREATE TABLE pool (
    pool             text PRIMARY KEY CHECK (length(pool) BETWEEN 1 AND 256),
    slots            integer NOT NULL CHECK (slots >= -1),   -- -1 = unlimited, as in Airflow
    description      text,
    include_deferred boolean NOT NULL DEFAULT false
);
INSERT INTO pool (pool, slots, description) VALUES ('default_pool', 128, 'Default pool');

-- ---------------------------------------------------------------- backfills
CREATE TABLE backfill (
    id                 bigserial PRIMARY KEY,
    dag_id             text NOT NULL REFERENCES dag (dag_id) ON DELETE CASCADE,
    from_date          timestamptz NOT NULL,
    to_date            timestamptz NOT NULL,
    dag_run_conf       jsonb NOT NULL DEFAULT '{}',
    is_paused          boolean NOT NULL DEFAULT false,
    reprocess_behavior text NOT NULL DEFAULT 'none' CHECK (reprocess_behavior IN ('none', 'failed', 'completed')),
    max_active_runs    integer NOT NULL DEFAULT 10 CHECK (max_active_runs > 0),
    run_backwards      boolean NOT NULL DEFAULT false,
    triggering_user    text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    completed_at       timestamptz,
    CHECK (from_date <= to_date)
);
-- One active (not completed) backfill per DAG.
CREATE UNIQUE INDEX backfill_one_active_per_dag ON backfill (dag_id) WHERE completed_at IS NULL;

-- ---------------------------------------------------------------- DAG runs
CREATE TABLE dag_run (
    id                  bigserial PRIMARY KEY,
    dag_id              text NOT NULL REFERENCES dag (dag_id) ON DELETE CASCADE,
    run_id              text NOT NULL CHECK (length(run_id) BETWEEN 1 AND 250),
    run_type            text NOT NULL CHECK (run_type IN ('manual', 'scheduled', 'backfill', 'asset_triggered')),
    logical_date        timestamptz,
    data_interval_start timestamptz,
    data_interval_end   timestamptz,
    run_after           timestamptz NOT NULL DEFAULT now(),
    state               text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'success', 'failed')),
    conf                jsonb NOT NULL DEFAULT '{}',
    queued_at           timestamptz,
    start_date          timestamptz,
    end_date            timestamptz,
    backfill_id         bigint REFERENCES backfill (id) ON DELETE SET NULL,
    dag_version_id      bigint REFERENCES dag_version (id),
    triggered_by        text,                                   -- cli, ui, rest_api, scheduler, backfill, operator
    triggering_user     text,
    note                text,
    clear_number        integer NOT NULL DEFAULT 0 CHECK (clear_number >= 0),
    last_scheduling_decision timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dag_id, run_id),
    CHECK ((data_interval_start IS NULL) = (data_interval_end IS NULL)),
    CHECK (data_interval_start IS NULL OR data_interval_start <= data_interval_end),
    CHECK (state NOT IN ('success', 'failed') OR end_date IS NOT NULL)
);
-- Two schedulers can never create the same scheduled/backfill interval twice.
CREATE UNIQUE INDEX dag_run_scheduled_logical_date ON dag_run (dag_id, logical_date)
    WHERE run_type IN ('scheduled', 'backfill');
CREATE INDEX dag_run_active_idx ON dag_run (dag_id, state) WHERE state IN ('queued', 'running');
CREATE INDEX dag_run_dag_logical_idx ON dag_run (dag_id, logical_date DESC, id DESC);

CREATE TABLE backfill_dag_run (
    id               bigserial PRIMARY KEY,
    backfill_id      bigint NOT NULL REFERENCES backfill (id) ON DELETE CASCADE,
    dag_run_id       bigint REFERENCES dag_run (id) ON DELETE SET NULL,
    logical_date     timestamptz NOT NULL,
    sort_ordinal     integer NOT NULL CHECK (sort_ordinal >= 1),
    exception_reason text CHECK (exception_reason IS NULL OR exception_reason IN
                        ('in_flight', 'already_exists', 'unknown')),
    UNIQUE (backfill_id, logical_date),
    UNIQUE (backfill_id, sort_ordinal)
);

-- ---------------------------------------------------------------- workers and jobs
CREATE TABLE worker (
    id                uuid PRIMARY KEY,
    hostname          text NOT NULL,
    pid               integer NOT NULL,
    queues            text[] NOT NULL DEFAULT ARRAY['default'],
    concurrency       integer NOT NULL CHECK (concurrency > 0),
    state             text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'stopping', 'stopped', 'dead')),
    started_at        timestamptz NOT NULL DEFAULT now(),
    last_heartbeat_at timestamptz NOT NULL DEFAULT now(),
    stopped_at        timestamptz
);
CREATE INDEX worker_alive_idx ON worker (last_heartbeat_at) WHERE state = 'running';

-- Heartbeats of the other long-running components (Airflow's `job` table).
CREATE TABLE job (
    id                bigserial PRIMARY KEY,
    job_type          text NOT NULL CHECK (job_type IN ('scheduler', 'dag_processor', 'triggerer', 'webserver')),
    hostname          text NOT NULL,
    pid               integer NOT NULL,
    state             text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'success', 'failed', 'restarting')),
    started_at        timestamptz NOT NULL DEFAULT now(),
    latest_heartbeat  timestamptz NOT NULL DEFAULT now(),
    ended_at          timestamptz
);
CREATE INDEX job_type_heartbeat_idx ON job (job_type, latest_heartbeat DESC);

-- ---------------------------------------------------------------- task instances
CREATE TABLE task_instance (
    id               uuid PRIMARY KEY,
    dag_id           text NOT NULL,
    run_id           text NOT NULL,
    task_id          text NOT NULL CHECK (length(task_id) BETWEEN 1 AND 250),
    map_index        integer NOT NULL DEFAULT -1 CHECK (map_index >= -1),
    state            text CHECK (state IS NULL OR state IN (
                         'scheduled', 'queued', 'running', 'success', 'failed', 'skipped',
                         'upstream_failed', 'up_for_retry', 'up_for_reschedule', 'deferred',
                         'removed', 'restarting')),
    try_number       integer NOT NULL DEFAULT 0 CHECK (try_number >= 0),
    max_tries        integer NOT NULL DEFAULT 0 CHECK (max_tries >= 0),
    operator         text,
    pool             text NOT NULL DEFAULT 'default_pool' REFERENCES pool (pool) ON UPDATE CASCADE,
    pool_slots       integer NOT NULL DEFAULT 1 CHECK (pool_slots >= 1),
    queue            text NOT NULL DEFAULT 'default',
    priority_weight  integer NOT NULL DEFAULT 1,
    worker_id        uuid REFERENCES worker (id) ON DELETE SET NULL,
    hostname         text,
    pid              integer,
    lease_expires_at timestamptz,           -- a worker owns a running TI until then; heartbeats extend it
    last_heartbeat_at timestamptz,
    queued_at        timestamptz,
    start_date       timestamptz,
    end_date         timestamptz,
    duration         double precision CHECK (duration IS NULL OR duration >= 0),
    next_retry_at    timestamptz,           -- up_for_retry / up_for_reschedule: not before this
    rendered_fields  jsonb,                 -- rendered template fields (masked)
    note             text,
    dag_version_id   bigint REFERENCES dag_version (id),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dag_id, run_id, task_id, map_index),
    FOREIGN KEY (dag_id, run_id) REFERENCES dag_run (dag_id, run_id) ON DELETE CASCADE ON UPDATE CASCADE,
    CHECK (state IS DISTINCT FROM 'running' OR worker_id IS NOT NULL OR hostname IS NOT NULL)
);
CREATE INDEX ti_state_idx ON task_instance (state, pool, priority_weight DESC)
    WHERE state IN ('scheduled', 'queued', 'running', 'up_for_retry', 'up_for_reschedule', 'deferred');
CREATE INDEX ti_run_idx ON task_instance (dag_id, run_id);
CREATE INDEX ti_worker_idx ON task_instance (worker_id) WHERE worker_id IS NOT NULL;

-- One row per finished try (Airflow's task_instance_history).
CREATE TABLE task_instance_history (
    id               bigserial PRIMARY KEY,
    ti_id            uuid NOT NULL REFERENCES task_instance (id) ON DELETE CASCADE,
    try_number       integer NOT NULL CHECK (try_number >= 1),
    state            text NOT NULL CHECK (state IN ('success', 'failed', 'skipped', 'upstream_failed',
                                                    'up_for_retry', 'up_for_reschedule', 'removed', 'restarting')),
    operator         text,
    hostname         text,
    worker_id        uuid REFERENCES worker (id) ON DELETE SET NULL,
    start_date       timestamptz,
    end_date         timestamptz,
    duration         double precision,
    rendered_fields  jsonb,
    error            text,
    UNIQUE (ti_id, try_number)
);

-- Sensors in reschedule mode (Airflow's task_reschedule).
CREATE TABLE task_reschedule (
    id              bigserial PRIMARY KEY,
    ti_id           uuid NOT NULL REFERENCES task_instance (id) ON DELETE CASCADE,
    try_number      integer NOT NULL CHECK (try_number >= 1),
    start_date      timestamptz NOT NULL,
    end_date        timestamptz NOT NULL,
    reschedule_date timestamptz NOT NULL
);
CREATE INDEX task_reschedule_ti_idx ON task_reschedule (ti_id, try_number);

CREATE TABLE xcom (
    ti_id      uuid NOT NULL REFERENCES task_instance (id) ON DELETE CASCADE,
    dag_id     text NOT NULL,
    run_id     text NOT NULL,
    task_id    text NOT NULL,
    map_index  integer NOT NULL DEFAULT -1,
    key        text NOT NULL CHECK (length(key) BETWEEN 1 AND 512),
    value      jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dag_id, run_id, task_id, map_index, key)
);
CREATE INDEX xcom_ti_idx ON xcom (ti_id);

-- Task logs, in chunks, so any webserver can read a log while the task runs.
CREATE TABLE task_log (
    ti_id      uuid NOT NULL REFERENCES task_instance (id) ON DELETE CASCADE,
    try_number integer NOT NULL CHECK (try_number >= 1),
    seq        integer NOT NULL CHECK (seq >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    content    text NOT NULL,
    PRIMARY KEY (ti_id, try_number, seq)
);

-- Kafka produce idempotency: what each try of a task already delivered, so a
-- retried task does not publish the same message twice.
CREATE TABLE kafka_delivery (
    ti_id        uuid NOT NULL REFERENCES task_instance (id) ON DELETE CASCADE,
    message_seq  integer NOT NULL CHECK (message_seq >= 0),
    try_number   integer NOT NULL CHECK (try_number >= 1),
    topic        text NOT NULL,
    kafka_partition integer,
    kafka_offset bigint,
    delivered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ti_id, message_seq)
);

-- ---------------------------------------------------------------- human in the loop
CREATE TABLE hitl_detail (
    ti_id             uuid PRIMARY KEY REFERENCES task_instance (id) ON DELETE CASCADE,
    subject           text NOT NULL,
    body              text,
    options           jsonb NOT NULL CHECK (jsonb_typeof(options) = 'array' AND jsonb_array_length(options) > 0),
    defaults          jsonb CHECK (defaults IS NULL OR jsonb_typeof(defaults) = 'array'),
    multiple          boolean NOT NULL DEFAULT false,
    params            jsonb NOT NULL DEFAULT '{}',
    assigned_users    jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(assigned_users) = 'array'),
    created_at        timestamptz NOT NULL DEFAULT now(),
    timeout_at        timestamptz,
    responded_at      timestamptz,
    responded_by      jsonb,                 -- {"id": ..., "name": ...}; null on timeout
    chosen_options    jsonb CHECK (chosen_options IS NULL OR jsonb_typeof(chosen_options) = 'array'),
    params_input      jsonb,
    timed_out         boolean NOT NULL DEFAULT false,
    -- An answer is all or nothing: a response has both its time and its choice.
    CHECK ((responded_at IS NULL) = (chosen_options IS NULL))
);
CREATE INDEX hitl_pending_idx ON hitl_detail (created_at) WHERE responded_at IS NULL;

-- ---------------------------------------------------------------- variables, connections
CREATE TABLE variable (
    key          text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 250),
    val          text NOT NULL,
    description  text,
    is_encrypted boolean NOT NULL DEFAULT false,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE connection (
    conn_id           text PRIMARY KEY CHECK (conn_id ~ '^[A-Za-z0-9_.-]+$' AND length(conn_id) <= 250),
    conn_type         text NOT NULL,
    description       text,
    host              text,
    schema            text,
    login             text,
    password          bytea,                 -- encrypted at rest
    port              integer CHECK (port IS NULL OR port BETWEEN 0 AND 65535),
    extra             bytea,                 -- encrypted at rest (may hold secrets: sasl.password…)
    is_encrypted      boolean NOT NULL DEFAULT true,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- users and access
CREATE TABLE role (
    id   smallserial PRIMARY KEY,
    name text NOT NULL UNIQUE
);
INSERT INTO role (name) VALUES ('Admin'), ('Op'), ('User'), ('Viewer'), ('Public');

CREATE TABLE app_user (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 256),
    email         text,
    first_name    text NOT NULL DEFAULT '',
    last_name     text NOT NULL DEFAULT '',
    password_hash text NOT NULL,             -- argon2 PHC string
    active        boolean NOT NULL DEFAULT true,
    failed_logins integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);
CREATE UNIQUE INDEX app_user_email_key ON app_user (lower(email)) WHERE email IS NOT NULL;

CREATE TABLE user_role (
    user_id bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    role_id smallint NOT NULL REFERENCES role (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);

-- Browser sessions: the cookie carries a random token; only its hash is stored.
CREATE TABLE user_session (
    token_hash   text PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX user_session_user_idx ON user_session (user_id);

-- API tokens (JWT ids for /auth/token, or long-lived tokens), hash only.
CREATE TABLE api_token (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    token_hash   text NOT NULL UNIQUE,
    description  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- Every state-changing action: who, when, what (Airflow's log / event log).
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    dttm       timestamptz NOT NULL DEFAULT now(),
    event      text NOT NULL,
    owner      text,                         -- username, or 'cli', 'scheduler'
    dag_id     text,
    run_id     text,
    task_id    text,
    map_index  integer,
    try_number integer,
    extra      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_dttm_idx ON audit_log (dttm DESC);
CREATE INDEX audit_log_dag_idx ON audit_log (dag_id, dttm DESC) WHERE dag_id IS NOT NULL;
