//! Pure hardware types from the Arm SMMUv3 architecture specification (IHI 0070):
//! register offsets and layouts, stream table and context descriptor formats, command
//! and event records, and the AArch64 translation table descriptor bits the SMMU walks.
//!
//! Nothing here has behaviour beyond field access.

pub mod cd;
pub mod cmd;
pub mod event;
pub mod pte;
pub mod regs;
pub mod ste;
