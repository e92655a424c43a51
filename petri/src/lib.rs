//! petri
#![forbid(unsafe_code)]
