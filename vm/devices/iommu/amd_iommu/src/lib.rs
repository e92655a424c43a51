//! An AMD I/O Virtualization Technology (AMD-Vi) IOMMU emulator (AMD spec #48882),
//! pure Rust and independent of the host.
//!
//! * [`AmdIommu`] is the device: MMIO registers, the 256-bit device table, host (v1)
//!   page tables of 1 to 6 levels with level skipping and sized pages, the exclusion
//!   range, the command buffer, the event log with overflow, and interrupt remapping
//!   with 32-bit and 128-bit (GA) IRTEs and x2APIC (XT) destinations.
//! * It implements [`iommu_common::DmaTranslator`] (DeviceID = requester BDF) and
//!   [`iommu_common::MsiRemapper`].
//! * Its own interrupts (event log, completion wait) go to an
//!   [`iommu_common::MsiSink`] through the PCI MSI capability, or the INTCAPXT
//!   register when the guest enables IntCapXTEn.
//!
//! No translation cache is kept: every DMA translation and every MSI remap reads the
//! guest's tables, so the invalidation commands have nothing to drop and the
//! not-present cache capability (NpCache) is not advertised.
#![forbid(unsafe_code)]

mod cmdbuf;
mod device;
mod devtab;
mod evtlog;
mod intremap;
mod pci;
pub mod pci_function;
mod ratelimit;
mod regs;
pub mod spec;
mod state;
mod translate;
pub mod walk;

pub use device::AmdIommu;
pub use device::AmdIommuConfig;
pub use pci::IOAPIC_REQUESTER_BDF;
