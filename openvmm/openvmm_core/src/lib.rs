//! openvmm_core
#![forbid(unsafe_code)]
