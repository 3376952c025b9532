//! Rates of the admin surface, per replica: each principal's admin requests
//! (`admin.requests_per_minute`) and the console logins of each source address
//! (`admin.console_logins_per_minute`), as token buckets (`governor`) whose burst is the
//! minute's quota. 0 turns a limit off.

use super::error::ApiError;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;

/// Sources remembered before the login limiter forgets those whose bucket is full again.
const LOGIN_SOURCES_KEPT: usize = 10_000;

/// The admin surface's rate limiters, stored as app data.
pub struct AdminLimits {
    requests: Option<DefaultKeyedRateLimiter<String>>,
    logins: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl AdminLimits {
    /// Limiters of `requests_per_minute` per principal and `logins_per_minute` per source.
    pub fn new(requests_per_minute: u32, logins_per_minute: u32) -> AdminLimits {
        AdminLimits {
            requests: NonZeroU32::new(requests_per_minute)
                .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            logins: NonZeroU32::new(logins_per_minute)
                .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
        }
    }

    /// Admits one admin request of `principal`, or refuses it (429).
    pub fn admit(&self, principal: &str) -> Result<(), ApiError> {
        match &self.requests {
            Some(l) if l.check_key(&principal.to_string()).is_err() => {
                metrics::counter!("posgate_admin_rate_limited_total", "what" => "requests")
                    .increment(1);
                Err(ApiError::rate_limited("admin requests"))
            }
            _ => Ok(()),
        }
    }

    /// Admits one console login attempt from `source`, or refuses it (429).
    pub fn admit_login(&self, source: Option<IpAddr>) -> Result<(), ApiError> {
        let (Some(l), Some(source)) = (&self.logins, source) else {
            return Ok(());
        };
        if l.len() > LOGIN_SOURCES_KEPT {
            l.retain_recent();
        }
        if l.check_key(&source).is_err() {
            metrics::counter!("posgate_admin_rate_limited_total", "what" => "logins").increment(1);
            return Err(ApiError::rate_limited("console logins from this address"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_principal_and_source_has_its_own_bucket() {
        let limits = AdminLimits::new(3, 2);
        for _ in 0..3 {
            assert!(limits.admit("alice").is_ok());
        }
        assert_eq!(
            limits.admit("alice").map_err(|e| e.code),
            Err("rate_limited")
        );
        assert!(limits.admit("bob").is_ok(), "bob's bucket is his own");
        let (a, b) = (Some([10, 0, 0, 1].into()), Some([10, 0, 0, 2].into()));
        assert!(limits.admit_login(a).is_ok() && limits.admit_login(a).is_ok());
        assert!(limits.admit_login(a).is_err());
        assert!(limits.admit_login(b).is_ok());
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let limits = AdminLimits::new(0, 0);
        for _ in 0..1000 {
            assert!(limits.admit("alice").is_ok());
            assert!(limits.admit_login(Some([10, 0, 0, 1].into())).is_ok());
        }
    }
}
