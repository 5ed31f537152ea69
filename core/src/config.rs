//! The one typed `Settings`, loaded and validated once at start-up:
//! defaults → `$UPDRAFT_HOME/updraft.toml` → environment.
//!
//! Environment names: `UPDRAFT__SECTION__KEY` (e.g. `UPDRAFT__CORE__DAGS_FOLDER`),
//! plus Airflow's own names for the settings Airflow has
//! (`AIRFLOW__CORE__DAGS_FOLDER`, `AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`…), so an
//! existing Airflow environment file just works. `UPDRAFT__…` wins over
//! `AIRFLOW__…`. This module is the only place that reads the environment.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{Error, Result};

/// Everything configurable, typed and validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub home: PathBuf,
    pub core: CoreSettings,
    pub database: DatabaseSettings,
    pub dag_processor: DagProcessorSettings,
    pub scheduler: SchedulerSettings,
    pub webserver: WebserverSettings,
    pub worker: WorkerSettings,
    pub hitl: HitlSettings,
    pub telemetry: TelemetrySettings,
    pub api_auth: ApiAuthSettings,
}

#[derive(Debug, Clone)]
pub struct CoreSettings {
    pub dags_folder: PathBuf,
    /// Airflow's `[core] dags_are_paused_at_creation`.
    pub dags_are_paused_at_creation: bool,
    /// Airflow's `[core] dag_ignore_file_syntax`: `regexp` (default) or `glob`.
    pub dag_ignore_file_syntax: String,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// A `postgres://` URL; `None` means "use the embedded database"
    /// (`standalone` only).
    pub url: Option<SecretString>,
    pub max_connections: u32,
}

#[derive(Debug, Clone)]
pub struct DagProcessorSettings {
    /// Airflow's `[core] dagbag_import_timeout`: seconds a file may take to parse.
    pub parse_timeout_secs: f64,
    /// Parse servers run in parallel (Airflow's `[dag_processor] parsing_processes`).
    pub parsing_processes: usize,
    /// How often the folder is re-scanned for changes, in seconds.
    pub refresh_interval_secs: f64,
    /// Parse servers idle this long (seconds) are stopped; the next refresh
    /// with files to parse starts fresh ones. Each is an interpreter of
    /// ~27 MB, idle most of the time once the folder is loaded.
    pub idle_server_ttl_secs: f64,
    /// A file that prints more than this while parsing becomes an import error.
    pub max_output_bytes: u64,
    /// A virtualenv made with the same interpreter Updraft embeds, whose
    /// packages DAG files may import.
    pub python_venv: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    /// Airflow's `[scheduler] catchup_by_default` (2.x default: true).
    pub catchup_by_default: bool,
    /// Airflow's `[scheduler] create_cron_data_intervals` (2.x default: true).
    pub create_cron_data_intervals: bool,
}

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Task instances one worker runs at once (Airflow's `[celery]
    /// worker_concurrency`, default 16); `standalone`'s worker pool uses it.
    pub concurrency: usize,
}

/// How a process reports on itself (docs/observability.md).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TelemetrySettings {
    /// `[logging] format = "json"`: one JSON object per log line (default
    /// `text`).
    pub json_logs: bool,
    /// `[traces] otlp_endpoint`, or OpenTelemetry's standard
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: export spans over OTLP/HTTP there.
    pub otlp_endpoint: Option<String>,
}

/// The REST API's tokens (Airflow's `[api_auth]` section).
#[derive(Debug, Clone)]
pub struct ApiAuthSettings {
    /// The HMAC key of the JWTs `POST /auth/token` issues. Unset: a random
    /// key per process (tokens die with it, and two webservers do not
    /// accept each other's).
    pub jwt_secret: Option<SecretString>,
    /// How long a token is valid, in seconds (Airflow's default: 86400).
    pub jwt_expiration_time: u64,
}

#[derive(Debug, Clone)]
pub struct WebserverSettings {
    pub host: String,
    pub port: u16,
    /// The site's public address (`[webserver] base_url`, Airflow's
    /// `[api] base_url`), without a trailing slash: the HITL respond link
    /// is `{base_url}/required-actions/{ti_id}`.
    pub base_url: Option<String>,
    /// The session cookie carries `Secure` (Airflow's `[webserver]
    /// cookie_secure`); on by default when `base_url` is https.
    pub cookie_secure: bool,
}

/// `[hitl]`: where human-in-the-loop requests and answers are announced.
#[derive(Debug, Clone, Default)]
pub struct HitlSettings {
    /// A Kafka topic receiving a JSON event per request and per answer
    /// (docs/hitl.md); unset: none is sent.
    pub kafka_topic: Option<String>,
    /// The Kafka connection the events go through.
    pub kafka_conn_id: String,
}

impl Settings {
    /// Loads from the process environment and the config file it names.
    pub fn load() -> Result<Self> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Self::load_from(&env)
    }

    /// Loads from an explicit environment (tests pass their own).
    pub fn load_from(env: &HashMap<String, String>) -> Result<Self> {
        let home = match env.get("UPDRAFT_HOME").filter(|v| !v.is_empty()) {
            Some(h) => PathBuf::from(h),
            None => default_home(env)?,
        };
        let file_path = env
            .get("UPDRAFT_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join("updraft.toml"));
        let file = FileConfig::read(&file_path)?;
        let layered = Layers { env, file: &file };
        let settings = Settings {
            core: CoreSettings {
                dags_folder: layered
                    .string("core", "dags_folder", &["AIRFLOW__CORE__DAGS_FOLDER"])
                    .map(|s| expand_home(&s, env))
                    .unwrap_or_else(|| home.join("dags")),
                dags_are_paused_at_creation: layered.parse(
                    "core",
                    "dags_are_paused_at_creation",
                    &["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"],
                    true,
                )?,
                dag_ignore_file_syntax: layered
                    .string(
                        "core",
                        "dag_ignore_file_syntax",
                        &["AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX"],
                    )
                    .unwrap_or_else(|| "regexp".to_owned())
                    .to_ascii_lowercase(),
            },
            database: DatabaseSettings {
                url: layered
                    .string("database", "url", &["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
                    .map(|u| normalize_database_url(&u))
                    .transpose()?
                    .map(SecretString::from),
                max_connections: layered.parse("database", "max_connections", &[], 10)?,
            },
            dag_processor: DagProcessorSettings {
                parse_timeout_secs: layered.parse(
                    "dag_processor",
                    "parse_timeout",
                    &["AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT"],
                    30.0,
                )?,
                parsing_processes: layered.parse(
                    "dag_processor",
                    "parsing_processes",
                    &["AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES"],
                    std::thread::available_parallelism().map_or(2, |n| n.get()),
                )?,
                refresh_interval_secs: layered.parse(
                    "dag_processor",
                    "refresh_interval",
                    &["AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL"],
                    5.0,
                )?,
                idle_server_ttl_secs: layered.parse(
                    "dag_processor",
                    "idle_server_ttl",
                    &[],
                    10.0,
                )?,
                max_output_bytes: layered.parse(
                    "dag_processor",
                    "max_output_bytes",
                    &[],
                    1024 * 1024,
                )?,
                python_venv: layered
                    .string("dag_processor", "python_venv", &[])
                    .map(|s| expand_home(&s, env)),
            },
            scheduler: SchedulerSettings {
                catchup_by_default: layered.parse(
                    "scheduler",
                    "catchup_by_default",
                    &["AIRFLOW__SCHEDULER__CATCHUP_BY_DEFAULT"],
                    true,
                )?,
                create_cron_data_intervals: layered.parse(
                    "scheduler",
                    "create_cron_data_intervals",
                    &["AIRFLOW__SCHEDULER__CREATE_CRON_DATA_INTERVALS"],
                    true,
                )?,
            },
            webserver: {
                let base_url = layered
                    .string(
                        "webserver",
                        "base_url",
                        &["AIRFLOW__API__BASE_URL", "AIRFLOW__WEBSERVER__BASE_URL"],
                    )
                    .map(|u| u.trim().trim_end_matches('/').to_owned())
                    .filter(|u| !u.is_empty());
                let https = base_url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https://"));
                WebserverSettings {
                    host: layered
                        .string(
                            "webserver",
                            "host",
                            &["AIRFLOW__WEBSERVER__WEB_SERVER_HOST"],
                        )
                        .unwrap_or_else(|| "127.0.0.1".to_owned()),
                    port: layered.parse(
                        "webserver",
                        "port",
                        &["AIRFLOW__WEBSERVER__WEB_SERVER_PORT", "AIRFLOW__API__PORT"],
                        8080,
                    )?,
                    base_url,
                    cookie_secure: layered.parse(
                        "webserver",
                        "cookie_secure",
                        &["AIRFLOW__WEBSERVER__COOKIE_SECURE"],
                        https,
                    )?,
                }
            },
            hitl: HitlSettings {
                kafka_topic: layered
                    .string("hitl", "kafka_topic", &[])
                    .filter(|t| !t.trim().is_empty()),
                kafka_conn_id: layered
                    .string("hitl", "kafka_conn_id", &[])
                    .unwrap_or_else(|| "kafka_default".to_owned()),
            },
            worker: WorkerSettings {
                concurrency: layered.parse(
                    "worker",
                    "concurrency",
                    &["AIRFLOW__CELERY__WORKER_CONCURRENCY"],
                    16,
                )?,
            },
            telemetry: TelemetrySettings {
                json_logs: match layered.string("logging", "format", &[]).as_deref() {
                    None | Some("text") => false,
                    Some("json") => true,
                    Some(other) => {
                        return Err(Error::Config(format!(
                            "logging.format = {other:?}: expected \"text\" or \"json\""
                        )));
                    }
                },
                otlp_endpoint: layered
                    .string("traces", "otlp_endpoint", &["OTEL_EXPORTER_OTLP_ENDPOINT"])
                    .filter(|e| !e.trim().is_empty()),
            },
            api_auth: ApiAuthSettings {
                jwt_secret: layered
                    .string("api_auth", "jwt_secret", &["AIRFLOW__API_AUTH__JWT_SECRET"])
                    .filter(|s| !s.is_empty())
                    .map(SecretString::from),
                jwt_expiration_time: layered.parse(
                    "api_auth",
                    "jwt_expiration_time",
                    &["AIRFLOW__API_AUTH__JWT_EXPIRATION_TIME"],
                    86_400,
                )?,
            },
            home,
        };
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<()> {
        if !matches!(self.core.dag_ignore_file_syntax.as_str(), "regexp" | "glob") {
            return Err(Error::Config(format!(
                "core.dag_ignore_file_syntax = {:?}: expected \"regexp\" or \"glob\"",
                self.core.dag_ignore_file_syntax
            )));
        }
        let p = &self.dag_processor;
        if !(p.parse_timeout_secs.is_finite() && p.parse_timeout_secs > 0.0) {
            return Err(Error::Config(
                "dag_processor.parse_timeout must be a positive number of seconds".into(),
            ));
        }
        if p.parsing_processes == 0 {
            return Err(Error::Config(
                "dag_processor.parsing_processes must be at least 1".into(),
            ));
        }
        if !(p.refresh_interval_secs.is_finite() && p.refresh_interval_secs > 0.0) {
            return Err(Error::Config(
                "dag_processor.refresh_interval must be positive".into(),
            ));
        }
        if !(p.idle_server_ttl_secs.is_finite() && p.idle_server_ttl_secs >= 0.0) {
            return Err(Error::Config(
                "dag_processor.idle_server_ttl must be zero or positive".into(),
            ));
        }
        if self.worker.concurrency == 0 {
            return Err(Error::Config(
                "worker.concurrency must be at least 1".into(),
            ));
        }
        if self.database.max_connections == 0 {
            return Err(Error::Config(
                "database.max_connections must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The database URL, or a clear error saying how to set one.
    pub fn database_url(&self) -> Result<&str> {
        self.database
            .url
            .as_ref()
            .map(|u| u.expose_secret())
            .ok_or_else(|| {
                Error::Config(
                    "no database configured: set UPDRAFT__DATABASE__URL (or \
                     AIRFLOW__DATABASE__SQL_ALCHEMY_CONN) to a postgres:// URL, \
                     or run `updraft standalone`, which starts its own"
                        .into(),
                )
            })
    }
}

fn default_home(env: &HashMap<String, String>) -> Result<PathBuf> {
    env.get("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| Path::new(h).join("updraft"))
        .ok_or_else(|| Error::Config("neither UPDRAFT_HOME nor HOME is set".into()))
}

fn expand_home(value: &str, env: &HashMap<String, String>) -> PathBuf {
    match (value.strip_prefix("~/"), env.get("HOME")) {
        (Some(rest), Some(home)) => Path::new(home).join(rest),
        _ => PathBuf::from(value),
    }
}

/// Accepts `postgres://`, `postgresql://` and SQLAlchemy's
/// `postgresql+<driver>://` forms; anything else is a clear error.
pub fn normalize_database_url(url: &str) -> Result<String> {
    let url = url.trim();
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| Error::Config(format!("database URL {url:?} has no scheme")))?;
    let base = scheme.split('+').next().unwrap_or(scheme);
    if base != "postgres" && base != "postgresql" {
        return Err(Error::Config(format!(
            "database URL scheme {scheme:?} is not supported: Updraft stores its state in \
             PostgreSQL (postgres:// or postgresql+psycopg2:// URLs)"
        )));
    }
    Ok(format!("postgres://{rest}"))
}

/// `updraft.toml`: `[section] key = value`.
#[derive(Debug, Default, Deserialize)]
struct FileConfig(HashMap<String, HashMap<String, toml::Value>>);

impl FileConfig {
    fn read(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(Error::ConfigFile {
                    path: path.to_owned(),
                    message: e.to_string(),
                });
            }
        };
        toml::from_str(&text).map_err(|e| Error::ConfigFile {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    fn get(&self, section: &str, key: &str) -> Option<String> {
        let value = self.0.get(section)?.get(key)?;
        Some(match value {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

struct Layers<'a> {
    env: &'a HashMap<String, String>,
    file: &'a FileConfig,
}

impl Layers<'_> {
    /// The first of: `UPDRAFT__SECTION__KEY`, the Airflow names, the file.
    fn string(&self, section: &str, key: &str, airflow_names: &[&str]) -> Option<String> {
        let own = format!(
            "UPDRAFT__{}__{}",
            section.to_uppercase(),
            key.to_uppercase()
        );
        std::iter::once(own.as_str())
            .chain(airflow_names.iter().copied())
            .find_map(|name| self.env.get(name).filter(|v| !v.is_empty()).cloned())
            .or_else(|| self.file.get(section, key))
    }

    fn parse<T: std::str::FromStr>(
        &self,
        section: &str,
        key: &str,
        airflow_names: &[&str],
        default: T,
    ) -> Result<T> {
        match self.string(section, key, airflow_names) {
            None => Ok(default),
            Some(raw) => parse_value(&raw).ok_or_else(|| {
                Error::Config(format!(
                    "{section}.{key} = {raw:?} is not a valid {}",
                    std::any::type_name::<T>()
                ))
            }),
        }
    }
}

/// Parses a setting, accepting Airflow's spellings of booleans (`True`, `False`).
fn parse_value<T: std::str::FromStr>(raw: &str) -> Option<T> {
    let trimmed = raw.trim();
    trimmed.parse().ok().or_else(|| {
        let lowered = trimmed.to_ascii_lowercase();
        let canonical = match lowered.as_str() {
            "1" | "yes" | "on" | "t" => "true",
            "0" | "no" | "off" | "f" => "false",
            other => other,
        };
        canonical.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_live_under_home() {
        let s = Settings::load_from(&env(&[("UPDRAFT_HOME", "/nonexistent/uh")])).expect("load");
        assert_eq!(s.core.dags_folder, PathBuf::from("/nonexistent/uh/dags"));
        assert!(s.database.url.is_none());
        assert_eq!(s.dag_processor.parse_timeout_secs, 30.0);
        assert_eq!(s.webserver.port, 8080);
        assert_eq!(s.worker.concurrency, 16);
        assert!(s.database_url().is_err());
    }

    // Invariant: JSON logs and OTLP export are opt-in, and a misspelt log
    // format is an error, not silently text.
    #[test]
    fn telemetry_settings() {
        let s = Settings::load_from(&env(&[("UPDRAFT_HOME", "/nonexistent/uh")])).expect("load");
        assert_eq!(s.telemetry, TelemetrySettings::default());
        let s = Settings::load_from(&env(&[
            ("UPDRAFT_HOME", "/nonexistent/uh"),
            ("UPDRAFT__LOGGING__FORMAT", "json"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
        ]))
        .expect("load");
        assert!(s.telemetry.json_logs);
        assert_eq!(
            s.telemetry.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318")
        );
        let bad = Settings::load_from(&env(&[
            ("UPDRAFT_HOME", "/nonexistent/uh"),
            ("UPDRAFT__LOGGING__FORMAT", "yaml"),
        ]));
        assert!(bad.is_err_and(|e| e.to_string().contains("logging.format")));
    }

    #[test]
    fn airflow_environment_names_work_and_updraft_names_win() {
        let e = env(&[
            ("UPDRAFT_HOME", "/nonexistent/uh"),
            ("AIRFLOW__CORE__DAGS_FOLDER", "/af/dags"),
            (
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                "postgresql+psycopg2://airflow:pw@db:5432/airflow",
            ),
            ("AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT", "12.5"),
            ("AIRFLOW__SCHEDULER__CATCHUP_BY_DEFAULT", "False"),
            ("UPDRAFT__WEBSERVER__PORT", "9999"),
            ("AIRFLOW__WEBSERVER__WEB_SERVER_PORT", "1111"),
        ]);
        let s = Settings::load_from(&e).expect("load");
        assert_eq!(s.core.dags_folder, PathBuf::from("/af/dags"));
        assert_eq!(
            s.database_url().expect("url"),
            "postgres://airflow:pw@db:5432/airflow"
        );
        assert_eq!(s.dag_processor.parse_timeout_secs, 12.5);
        assert!(!s.scheduler.catchup_by_default);
        assert_eq!(s.webserver.port, 9999);

        let mut e2 = e.clone();
        e2.insert("UPDRAFT__CORE__DAGS_FOLDER".into(), "/mine".into());
        assert_eq!(
            Settings::load_from(&e2).expect("load").core.dags_folder,
            PathBuf::from("/mine")
        );
    }

    #[test]
    fn file_layer_sits_between_defaults_and_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("updraft.toml"),
            "[core]\ndags_folder = \"/from/file\"\n[webserver]\nport = 7000\n",
        )
        .expect("write");
        let home = dir.path().to_str().expect("utf8");
        let s = Settings::load_from(&env(&[("UPDRAFT_HOME", home)])).expect("load");
        assert_eq!(s.core.dags_folder, PathBuf::from("/from/file"));
        assert_eq!(s.webserver.port, 7000);
        let s = Settings::load_from(&env(&[
            ("UPDRAFT_HOME", home),
            ("UPDRAFT__WEBSERVER__PORT", "7001"),
        ]))
        .expect("load");
        assert_eq!(s.webserver.port, 7001);
    }

    // Invariant: an https base_url turns Secure cookies on unless
    // cookie_secure says otherwise; [hitl] defaults to no topic.
    #[test]
    fn base_url_cookie_secure_and_hitl() {
        let home = ("UPDRAFT_HOME", "/nonexistent/uh");
        let s = Settings::load_from(&env(&[home])).expect("load");
        assert_eq!(s.webserver.base_url, None);
        assert!(!s.webserver.cookie_secure);
        assert_eq!(s.hitl.kafka_topic, None);
        assert_eq!(s.hitl.kafka_conn_id, "kafka_default");
        let s = Settings::load_from(&env(&[
            home,
            ("AIRFLOW__API__BASE_URL", "https://air.example/"),
            ("UPDRAFT__HITL__KAFKA_TOPIC", "hitl"),
        ]))
        .expect("load");
        assert_eq!(s.webserver.base_url.as_deref(), Some("https://air.example"));
        assert!(s.webserver.cookie_secure);
        assert_eq!(s.hitl.kafka_topic.as_deref(), Some("hitl"));
        let s = Settings::load_from(&env(&[
            home,
            ("UPDRAFT__WEBSERVER__BASE_URL", "https://u.example"),
            ("AIRFLOW__WEBSERVER__COOKIE_SECURE", "False"),
        ]))
        .expect("load");
        assert!(!s.webserver.cookie_secure);
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let err = Settings::load_from(&env(&[
            ("UPDRAFT_HOME", "/nonexistent/uh"),
            ("UPDRAFT__WEBSERVER__PORT", "eighty"),
        ]))
        .expect_err("bad port");
        assert!(err.to_string().contains("webserver.port"), "{err}");

        let err = Settings::load_from(&env(&[
            ("UPDRAFT_HOME", "/nonexistent/uh"),
            (
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                "sqlite:////tmp/airflow.db",
            ),
        ]))
        .expect_err("sqlite");
        assert!(err.to_string().contains("PostgreSQL"), "{err}");

        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("updraft.toml"), "[core\n").expect("write");
        let err = Settings::load_from(&env(&[(
            "UPDRAFT_HOME",
            dir.path().to_str().expect("utf8"),
        )]))
        .expect_err("broken toml");
        assert!(err.to_string().contains("updraft.toml"), "{err}");
    }
}
