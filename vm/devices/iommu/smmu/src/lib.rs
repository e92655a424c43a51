//! smmu
#![forbid(unsafe_code)]
