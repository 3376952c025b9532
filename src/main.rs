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
    /// Play a consumption machine against a broker: go online, send consumptions (re-sending
    /// the same posNum when an answer is late), then query the balance; print every answer.
    Simulate(SimulateArgs),
}

#[derive(clap::Args)]
struct SimulateArgs {
    /// Broker address (the embedded broker listens on 127.0.0.1:1884 by default).
    #[arg(long, default_value = "127.0.0.1:1884")]
    broker: String,
    /// Topic prefix.
    #[arg(long, default_value = "jdev")]
    prefix: String,
    /// Device id (a registered mqtt_pos terminal's code).
    #[arg(long)]
    device: String,
    /// User id of the consuming account.
    #[arg(long)]
    user: String,
    /// Consumptions to send.
    #[arg(long, default_value_t = 1)]
    count: u64,
    /// Amount of each consumption, fen (before discount).
    #[arg(long, default_value_t = 100)]
    amount: i64,
    /// Consumption mode (1 online amount, 41 copies, 51 offline amount...).
    #[arg(long, default_value_t = 1)]
    mode: i64,
    /// First posNum (each consumption uses the next).
    #[arg(long, default_value_t = 1)]
    first_pos_num: u64,
}

async fn simulate(args: SimulateArgs) -> Result<(), String> {
    use posgate::sim::mqtt_device::{consumption, SimDevice};
    let (host, port) = args
        .broker
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or("--broker must be host:port")?;
    let mut device = SimDevice::connect(&host, port, &args.prefix, &args.device)
        .await
        .map_err(|e| e.to_string())?;
    device.online().await.map_err(|e| e.to_string())?;
    let mut latencies = Vec::new();
    let mut refused = 0;
    for n in 0..args.count {
        let mut body = consumption(args.mode, args.first_pos_num + n, &args.user, args.amount);
        if args.mode == 51 {
            body["offlineMoney"] = args.amount.into();
        }
        let started = std::time::Instant::now();
        let answer = device.consume(&body).await.map_err(|e| e.to_string())?;
        latencies.push(started.elapsed());
        if answer["xfCode"] != 0 {
            refused += 1;
        }
        println!("{answer}");
    }
    println!(
        "{}",
        device
            .balance(&args.user)
            .await
            .map_err(|e| e.to_string())?
    );
    latencies.sort();
    if let (Some(p50), Some(max)) = (latencies.get(latencies.len() / 2), latencies.last()) {
        println!(
            "{} consumptions, {refused} refused, p50 {:.1} ms, max {:.1} ms",
            latencies.len(),
            p50.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
    }
    Ok(())
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
            Command::Simulate(args) => simulate(args).await,
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
