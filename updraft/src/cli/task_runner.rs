//! `updraft __task-runner`: the warm Python task runner the worker starts
//! (not for users). Runs before any async runtime: it embeds Python and forks.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct TaskRunnerArgs {
    /// The extracted compatibility package (default: extracted under
    /// `$UPDRAFT_HOME/python`, as for parse servers).
    #[arg(long)]
    pub compat_dir: Option<PathBuf>,
}

pub fn run(args: &TaskRunnerArgs) -> ExitCode {
    let prepared = (|| -> anyhow::Result<(PathBuf, PathBuf)> {
        let settings = updraft_core::config::Settings::load()?;
        let compat = match &args.compat_dir {
            Some(dir) => dir.clone(),
            None => updraft_python::compat::extract(&settings.home.join("python"))?,
        };
        Ok((compat, settings.core.dags_folder))
    })();
    let (compat_dir, dags_folder) = match prepared {
        Ok(p) => p,
        Err(e) => {
            eprintln!("updraft task runner: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    match updraft_python::run_task_server(&compat_dir, Some(&dags_folder)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("updraft task runner: {e}");
            ExitCode::FAILURE
        }
    }
}
