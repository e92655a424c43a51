//! vmm_core
#![forbid(unsafe_code)]
