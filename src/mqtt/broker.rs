//! The embedded MQTT broker (rumqttd) for single-process installs.
//!
//! `Broker::start` blocks and builds its own runtimes, so it runs on a plain thread. The
//! broker is not bound to this process's lifetime by anything but that thread: it stops when
//! the process exits.

use posgate_protocols::mqtt_pos::limits::PHOTO_PAYLOAD_BYTES_MAX;
use rumqttd::{Broker, ConnectionSettings, RouterConfig, ServerSettings};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

/// Starts the embedded broker on `listen` and waits until it accepts connections.
pub fn start(listen: &str) -> std::io::Result<()> {
    let addr: SocketAddr = listen.parse().map_err(|_| {
        std::io::Error::other(format!("mqtt.embedded_listen {listen:?} is not host:port"))
    })?;
    // Fail early and clearly if the port is taken (rumqttd would only log it).
    drop(std::net::TcpListener::bind(addr)?);
    let server = ServerSettings {
        name: "posgate-embedded".into(),
        listen: addr,
        tls: None,
        next_connection_delay_ms: 1,
        connections: ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: PHOTO_PAYLOAD_BYTES_MAX + 4096,
            max_inflight_count: 200,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    let config = rumqttd::Config {
        id: 0,
        router: RouterConfig {
            max_connections: 10_010,
            max_outgoing_packet_count: 200,
            max_segment_size: 100 * 1024 * 1024,
            max_segment_count: 10,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        ..Default::default()
    };
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            let mut broker = Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded MQTT broker stopped");
            }
        })?;
    for _ in 0..100 {
        if probe(addr).is_ok() {
            tracing::info!(%addr, "embedded MQTT broker listening");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(std::io::Error::other(format!(
        "embedded MQTT broker did not start on {addr}"
    )))
}

/// Checks that the broker answers: an MQTT 3.1.1 CONNECT, its CONNACK, a DISCONNECT. (A
/// bare TCP connect-and-close would make the broker log an error.)
fn probe(addr: SocketAddr) -> std::io::Result<()> {
    use std::io::{Read, Write};
    const CLIENT_ID: &[u8] = b"posgate-probe";
    // Variable header (10 bytes) + client id (2-byte length + bytes).
    let mut connect = vec![0x10, (10 + 2 + CLIENT_ID.len()) as u8];
    // Protocol name "MQTT", level 4, clean session, keep-alive 10 s.
    connect.extend_from_slice(&[0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x0a]);
    connect.extend_from_slice(&[0x00, CLIENT_ID.len() as u8]);
    connect.extend_from_slice(CLIENT_ID);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100))?;
    stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    stream.write_all(&connect)?;
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack)?;
    // Let the broker's router register the connection before it goes away again.
    std::thread::sleep(Duration::from_millis(50));
    stream.write_all(&[0xe0, 0x00])?;
    if connack[0] == 0x20 && connack[3] == 0x00 {
        Ok(())
    } else {
        Err(std::io::Error::other("unexpected CONNACK"))
    }
}
