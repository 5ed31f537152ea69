//! One module per page group, each with its `router()`.

pub mod hitl;
pub mod home;
pub mod login;
pub mod static_files;
