//! The webserver: axum router for the UI (askama templates in `../ui`), the
//! REST API in Airflow's shape, `/health` and `/metrics`. Handlers stay thin
//! and call `updraft-core`'s services.
//!
//! Not built yet: this crate is the home of issues #5 and #6.
