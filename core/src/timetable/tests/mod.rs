//! Timetable tests: the Airflow goldens (`golden`), building from the
//! serialized contract (`build`), and the parts the goldens do not reach
//! (`parts`: relativedelta, zones, cron forms, run_immediately).

mod build;
mod golden;
mod parts;

use chrono::{DateTime, Utc};

use super::ScheduleDefaults;
use crate::model::serialized::Schedule;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test datetime")
        .to_utc()
}

const V2_DEFAULTS: ScheduleDefaults = ScheduleDefaults {
    catchup_by_default: true,
    create_cron_data_intervals: true,
};
const V3_DEFAULTS: ScheduleDefaults = ScheduleDefaults {
    catchup_by_default: false,
    create_cron_data_intervals: false,
};

fn schedule(v: serde_json::Value) -> Schedule {
    serde_json::from_value(v).expect("schedule JSON")
}
