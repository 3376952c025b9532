//! The `posgate` command: `serve`, `migrate`, `config`.

use clap::{Parser, Subcommand};
use posgate::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

/// posgate: actor-based multi-protocol payment gateway.
///
/// With no configuration it runs embedded: SQLite file posgate.db, HTTP on 127.0.0.1:8080,
/// an admin token generated and printed at start. Settings come from defaults, then the
/// TOML file given with --config, then POSGATE_<SECTION>_<KEY> environment variables.
#[derive(Parser)]
#[command(name = "posgate", version, after_long_help = Config::settings_help())]
struct Cli {
    /// TOML configuration file.
    #[arg(
        long,
        short,
        global = true,
        env = "POSGATE_CONFIG",
        value_name = "FILE"
    )]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway until SIGINT/SIGTERM (then finish in-flight work and exit).
    #[command(after_long_help = Config::settings_help())]
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the effective configuration (secrets masked) as TOML-like key = value lines.
    Config,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("posgate: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    posgate::telemetry::init_logging(&config.log);
    let result = actix_rt::System::new().block_on(async move {
        match cli.command {
            Command::Serve => {
                let running = posgate::app::start(config)
                    .await
                    .map_err(|e| e.to_string())?;
                running.wait().await.map_err(|e| e.to_string())
            }
            Command::Migrate => {
                let store = posgate::app::open_store(&config)
                    .await
                    .map_err(|e| e.to_string())?;
                println!(
                    "database ({}) is at the latest schema",
                    store.backend_name()
                );
                Ok(())
            }
            Command::Config => {
                for (key, value) in posgate::config::flatten(&config) {
                    println!("{key} = {value}");
                }
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "posgate failed");
            eprintln!("posgate: {e}");
            ExitCode::FAILURE
        }
    }
}
