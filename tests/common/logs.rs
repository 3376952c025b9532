//! Capturing what the gateway logs, to check that no card data, key or code is in it.

use std::sync::{Arc, Mutex, OnceLock};

/// Where the captured log lines go.
pub type Captured = Arc<Mutex<Vec<u8>>>;

/// Everything logged by this test binary from the first call on (all of its tests), at
/// trace level for posgate, actix and the database and MQTT clients. Installs the global
/// subscriber once.
pub fn captured() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs: Captured = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "info,posgate=trace,posgate_actors=trace,posgate_protocols=trace,\
                 actix_web=trace,actix_http=trace,actix_server=trace,tokio_postgres=trace,\
                 rusqlite=trace,rumqttc=trace,lapin=debug",
            ))
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        logs
    })
    .clone()
}

/// The captured text so far.
pub fn text(logs: &Captured) -> String {
    String::from_utf8_lossy(&logs.lock().unwrap()).into_owned()
}

struct LogSink(Captured);

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
