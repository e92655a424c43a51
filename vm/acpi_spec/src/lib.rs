//! ACPI table layouts as plain bytes: zerocopy structures for the system description
//! tables this VMM emits (ACPI 6.5 and the DMAR, IVRS and IORT specifications).
//!
//! This crate holds no policy: builders live in `vmm_core::acpi`.

#![forbid(unsafe_code)]

pub mod dmar;
pub mod fadt;
pub mod gas;
pub mod header;
pub mod iort;
pub mod ivrs;
pub mod madt;
pub mod mcfg;
pub mod rsdp;
pub mod table;

pub use header::SdtHeader;
pub use table::Table;
