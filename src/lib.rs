//! posgate: the gateway binary's library — configuration, wiring, the HTTP layer (admin
//! API, operations endpoints), telemetry. The domain lives in `posgate-actors`, the wire
//! codecs in `posgate-protocols`.

pub mod amqp;
pub mod app;
pub mod change_feed;
pub mod config;
pub mod console;
pub mod http;
pub mod jpos_sweeper;
pub mod ktv;
pub mod metric_catalog;
pub mod mqtt;
pub mod secret;
pub mod sim;
pub mod sms;
pub mod telemetry;
