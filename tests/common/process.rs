//! Real `posgate serve` processes for the cluster tests: spawned on free ports with the
//! test token and card key, waited for until `/readyz` answers, stopped with signals.

use super::{client, TOKEN};
use std::time::Duration;
use tokio::process::{Child, Command};

/// A loopback TCP port nobody listens on (now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A `posgate serve` process and its HTTP base URL.
pub struct Replica {
    pub child: Child,
    pub base: String,
}

impl Replica {
    /// Spawns a replica on PostgreSQL `url` with MQTT off, after `env` (more
    /// `POSGATE_...` variables, which win), and waits until it is ready.
    pub async fn spawn(url: &str, env: &[(&str, String)]) -> Replica {
        Replica::spawn_on(url, free_port(), env).await
    }

    /// [`Replica::spawn`] on HTTP port `port` (a restarted replica keeps its address).
    pub async fn spawn_on(url: &str, port: u16, env: &[(&str, String)]) -> Replica {
        let mut command = Command::new(env!("CARGO_BIN_EXE_posgate"));
        command
            .arg("serve")
            .env("POSGATE_DATABASE_URL", url)
            .env("POSGATE_DATABASE_POOL_SIZE", "4")
            .env("POSGATE_ADMIN_TOKEN", TOKEN)
            .env("POSGATE_ADMIN_REQUESTS_PER_MINUTE", "0")
            .env(
                "POSGATE_CARDS_HMAC_KEY",
                "cluster-test-card-key-0123456789abcdef",
            )
            .env("POSGATE_HTTP_LISTEN", format!("127.0.0.1:{port}"))
            .env("POSGATE_HTTP_WORKERS", "2")
            .env("POSGATE_ACCOUNTS_SHARDS", "2")
            .env("POSGATE_LOG_FILTER", "warn")
            .env("POSGATE_MQTT_ENABLED", "false")
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("spawn posgate");
        let base = format!("http://127.0.0.1:{port}");
        let http = client();
        for _ in 0..400 {
            if let Ok(res) = http.get(format!("{base}/readyz")).send().await {
                if res.status() == 200 {
                    return Replica { child, base };
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("replica on {base} did not become ready");
    }

    /// Sends `signal` (`TERM`, `KILL`...) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("replica pid");
        let sent = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .expect("send a signal");
        assert!(sent.success(), "kill -{signal} {pid}");
    }

    /// Sends SIGTERM and waits (at most `within`) for the process to exit; its status.
    pub async fn terminate(mut self, within: Duration) -> std::process::ExitStatus {
        self.signal("TERM");
        tokio::time::timeout(within, self.child.wait())
            .await
            .expect("the replica stops in time")
            .expect("wait for the replica")
    }
}
