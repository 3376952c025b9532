//! The operators' console: pages served by posgate itself from assets embedded in the binary
//! ([`assets`]), logged in through a session ([`session`]) and working through the admin API
//! like any other client, so that it can do nothing its credential cannot.

pub mod assets;
pub mod session;

use actix_web::web;

/// Registers the console's pages and its session resource.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(session::login)
        .service(session::current)
        .service(session::logout)
        .service(assets::root)
        .service(assets::index)
        .service(assets::asset);
}
