//! An Arm SMMUv3 emulator (IHI 0070), pure Rust and independent of the host
//! architecture.
#![forbid(unsafe_code)]

pub mod config;
mod context;
mod fault;
mod mem;
pub mod spec;
mod stream;
#[cfg(test)]
mod test_util;
mod translate;
pub mod walk;
