//! intel_vtd

#![forbid(unsafe_code)]
