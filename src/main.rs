use std::process::ExitCode;

use clap::Parser;
use workspaces::app::{open_store, shutdown_signal, Application};
use workspaces::cli::{AdminCommand, Cli, Command, EventsCommand, UserCommand};
use workspaces::clock::now_ms;
use workspaces::config::Config;
use workspaces::domain::Email;

/// mimalloc rather than the system allocator: a listing answer makes hundreds of small
/// allocations, which glibc's malloc served at 15-18% of the server's CPU (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    workspaces::telemetry::init(cli.log_format);
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

/// One line on standard output once the port is bound, so whoever started the server (a script,
/// a test, `--listen 127.0.0.1:0`) learns the address it actually got; with `--metrics-listen`,
/// a line `metrics on http://ADDR` before it. Logs go to standard error; a closed standard
/// output must not stop the server, so write errors are ignored.
fn announce(app: &Application) -> std::io::Result<()> {
    use std::io::Write;
    let addr = app.local_addr()?;
    let metrics = app.metrics_addr().transpose()?;
    let mut stdout = std::io::stdout().lock();
    let _ = metrics
        .map_or(Ok(()), |metrics| {
            writeln!(stdout, "metrics on http://{metrics}")
        })
        .and_then(|()| writeln!(stdout, "listening on http://{addr}"))
        .and_then(|()| stdout.flush());
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            let config = (*args).into_config(cli.database_url)?;
            tracing::debug!(?config, "configuration");
            // Listen for signals before the port opens, so none is missed during start-up.
            let stop = shutdown_signal()?;
            let app = Application::build(config).await?;
            announce(&app)?;
            app.run_until(stop).await?;
        }
        Command::Migrate => {
            open_store(&Config::for_database(cli.database_url)).await?;
            tracing::info!("migrations applied");
        }
        Command::User {
            command: UserCommand::Verify { email },
        } => {
            let store = open_store(&Config::for_database(cli.database_url)).await?;
            let Some(email) = Email::parse(&email) else {
                anyhow::bail!("not an e-mail address: {email}");
            };
            if !store
                .mark_validated_by_email(&email.key(), now_ms())
                .await?
            {
                tracing::error!("no account with e-mail {}", email.as_str());
                return Ok(ExitCode::from(2));
            }
            tracing::info!("account {} verified", email.as_str());
        }
        Command::Admin { command } => {
            let (email, admin) = match command {
                AdminCommand::Grant { email } => (email, true),
                AdminCommand::Revoke { email } => (email, false),
            };
            let store = open_store(&Config::for_database(cli.database_url)).await?;
            let Some(email) = Email::parse(&email) else {
                anyhow::bail!("not an e-mail address: {email}");
            };
            let what = if admin {
                "an administrator"
            } else {
                "not an administrator"
            };
            match store
                .set_instance_admin(&email.key(), admin, now_ms())
                .await?
            {
                None => {
                    tracing::error!("no active account with e-mail {}", email.as_str());
                    return Ok(ExitCode::from(2));
                }
                Some(false) => tracing::info!("account {} was already {what}", email.as_str()),
                Some(true) => tracing::info!("account {} is now {what}", email.as_str()),
            }
        }
        Command::Events {
            command: EventsCommand::Export { org, since },
        } => {
            let store = open_store(&Config::for_database(cli.database_url)).await?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let written = workspaces::export::export_events(&store, org, since, &mut out).await?;
            tracing::info!(written, "events exported");
        }
    }
    Ok(ExitCode::SUCCESS)
}
