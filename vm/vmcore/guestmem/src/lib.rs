//! guestmem
#![forbid(unsafe_code)]
