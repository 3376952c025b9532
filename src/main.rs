//! The `posgate` command: `serve`, `migrate`, `config`, `simulate`, `simulate-ktv`.

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
    /// Play a KTV venue system: upload a realtime snapshot and a business date of bills over
    /// HTTP (sealed with --key, plain without), then, with --amqp-url, answer WJ091 requests
    /// from RabbitMQ out of the same data until interrupted.
    SimulateKtv(SimulateKtvArgs),
}

#[derive(clap::Args)]
struct SimulateKtvArgs {
    /// The venue's companycode (registered with POST /admin/v1/venues).
    #[arg(long)]
    companycode: String,
    /// The venue's AES key, 16 characters or 32 hex digits; absent: plain JSON uploads.
    #[arg(long, env = "POSGATE_SIM_KTV_KEY", hide_env_values = true)]
    key: Option<String>,
    /// Cipher of sealed uploads (the gateway's `ktv.cipher_mode`).
    #[arg(long, default_value = "aes-128-ecb-pkcs7")]
    cipher_mode: String,
    /// Upload base URL (the gateway's `ktv.upload_path`).
    #[arg(long, default_value = "http://127.0.0.1:8080/gateway/upload")]
    url: String,
    /// Business date of the generated bills.
    #[arg(long, default_value = "2024-01-01")]
    date: String,
    /// Bills generated for the date.
    #[arg(long, default_value_t = 100)]
    bills: u64,
    /// Bills uploaded (the first ones); the rest are only available over WJ091.
    #[arg(long, default_value_t = 100)]
    upload: u64,
    /// Bills per vouchers upload.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// RabbitMQ URL; absent: upload only.
    #[arg(long)]
    amqp_url: Option<String>,
    /// Exchange the gateway publishes WJ091 requests to (`amqp.exchange`).
    #[arg(long, default_value = "posgate.wj091")]
    exchange: String,
}

async fn simulate_ktv(args: SimulateKtvArgs) -> Result<(), String> {
    use posgate::sim::ktv_venue::{SimVenue, Uploader, VenueData};
    use posgate_protocols::ktv::{AesKey, CompanyCode};
    let code = CompanyCode::parse(&args.companycode).map_err(|e| e.to_string())?;
    let key = match &args.key {
        None => None,
        Some(k) if k.len() == 32 => Some(AesKey::from_hex(k).map_err(|e| e.to_string())?),
        Some(k) => Some(AesKey::from_text(k).map_err(|e| e.to_string())?),
    };
    let data = VenueData::generate(&args.date, args.bills);
    let mode = posgate_protocols::ktv::AesMode::parse(&args.cipher_mode)
        .ok_or_else(|| format!("unknown cipher mode {}", args.cipher_mode))?;
    let uploader = Uploader::new(args.url.clone(), code.clone(), key).with_mode(mode);
    let reply = uploader
        .realtime(&format!("{} 21:00:00", args.date), &data.realtime)
        .await
        .map_err(|e| e.to_string())?;
    println!("realtime: ret {} {}", reply.ret, reply.msg);
    let bills = &data.bills[&args.date];
    let upload = bills
        .len()
        .min(usize::try_from(args.upload).unwrap_or(usize::MAX));
    for chunk in bills[..upload].chunks(args.batch.max(1)) {
        let started = std::time::Instant::now();
        let reply = uploader.vouchers(chunk).await.map_err(|e| e.to_string())?;
        println!(
            "vouchers: {} bills, ret {} {} ({:.1} ms)",
            chunk.len(),
            reply.ret,
            reply.msg,
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    if let Some(url) = &args.amqp_url {
        let venue = SimVenue::serve(url, &args.exchange, &code, data)
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "answering WJ091 for {code} on exchange {}; Ctrl-C to stop",
            args.exchange
        );
        let _ = tokio::signal::ctrl_c().await;
        println!(
            "{} WJ091 requests answered",
            venue.requests.load(std::sync::atomic::Ordering::Relaxed)
        );
        venue.stop().await;
    }
    Ok(())
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
            Command::SimulateKtv(args) => simulate_ktv(args).await,
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
