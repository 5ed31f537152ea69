//! `updraft users create|list`, with Airflow's arguments (`airflow users
//! create -u -p -r -e -f -l`). Wiring only: the SQL is `core::store::users`,
//! the hashing `updraft_webserver::hash_password`.

use std::process::ExitCode;

use anyhow::Context;
use sqlx::PgPool;
use updraft_core::store::users::{self as store, CreateOutcome, NewUser};
use updraft_webserver::Role;

use crate::output::{Format, print_rows};

#[derive(Debug, clap::Subcommand)]
pub enum UsersCommand {
    /// Create a user.
    Create(CreateArgs),
    /// List the users.
    List {
        #[arg(short, long, value_enum, default_value_t)]
        output: Format,
    },
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    #[arg(short, long)]
    pub username: String,
    #[arg(short, long)]
    pub password: String,
    /// Admin, Op, User or Viewer.
    #[arg(short, long)]
    pub role: String,
    #[arg(short, long)]
    pub email: Option<String>,
    #[arg(short, long, default_value = "")]
    pub firstname: String,
    #[arg(short, long, default_value = "")]
    pub lastname: String,
}

const COLUMNS: &[&str] = &[
    "id",
    "username",
    "email",
    "first_name",
    "last_name",
    "roles",
];

pub async fn run(cmd: UsersCommand, pool: &PgPool) -> anyhow::Result<ExitCode> {
    match cmd {
        UsersCommand::Create(args) => {
            create(pool, &args).await?;
            println!(
                "User \"{}\" created with role \"{}\"",
                args.username, args.role
            );
        }
        UsersCommand::List { output } => print_rows(&store::list(pool).await?, COLUMNS, output)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates a user, or says clearly why not (unknown role, taken name).
pub async fn create(pool: &PgPool, args: &CreateArgs) -> anyhow::Result<i64> {
    if Role::parse(&args.role).is_none() {
        anyhow::bail!(
            "{} is not a valid role. Valid roles are: Admin, Op, User, Viewer",
            args.role
        );
    }
    if args.password.is_empty() {
        anyhow::bail!("The password must not be empty");
    }
    let password = args.password.clone();
    let hash = tokio::task::spawn_blocking(move || updraft_webserver::hash_password(&password))
        .await?
        .map_err(anyhow::Error::msg)?;
    let mut conn = pool.acquire().await?;
    let outcome = store::create(
        &mut conn,
        &NewUser {
            username: &args.username,
            password_hash: &hash,
            role: &args.role,
            email: args.email.as_deref(),
            first_name: &args.firstname,
            last_name: &args.lastname,
        },
    )
    .await
    .context("creating the user")?;
    match outcome {
        CreateOutcome::Created(id) => Ok(id),
        CreateOutcome::UsernameTaken => anyhow::bail!("{} already exist in the db", args.username),
        CreateOutcome::EmailTaken => anyhow::bail!(
            "A user with the email {} already exists",
            args.email.as_deref().unwrap_or_default()
        ),
        CreateOutcome::UnknownRole => anyhow::bail!("Role {} is not in the database", args.role),
    }
}
