//! Device simulators: programs that behave like the real terminals of a spec, for the
//! tests, the load benchmarks and operators checking an installation
//! (`posgate simulate`).

pub mod ktv_venue;
pub mod mqtt_device;
