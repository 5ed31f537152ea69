//! One module per page group, each with its `router()`.

pub mod dag;
mod grid;
pub mod home;
pub mod login;
pub mod static_files;
mod task_instance;
