//! inspect
#![forbid(unsafe_code)]
