//! `updraft __parse-server`: the child that parses DAG files with embedded Python.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ParseServerArgs {
    /// The extracted compatibility package.
    #[arg(long)]
    pub compat_dir: PathBuf,
    /// A virtualenv whose packages DAG files may import.
    #[arg(long)]
    pub venv: Option<PathBuf>,
}

pub fn run(args: &ParseServerArgs) -> ExitCode {
    let options = updraft_python::ParseServerOptions {
        compat_dir: args.compat_dir.clone(),
        venv: args.venv.clone(),
    };
    match updraft_python::run_parse_server(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("updraft parse server: {e}");
            ExitCode::FAILURE
        }
    }
}
