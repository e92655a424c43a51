//! vmm_tests
#![forbid(unsafe_code)]
