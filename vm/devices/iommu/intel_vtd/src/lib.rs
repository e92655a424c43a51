//! An Intel VT-d remapping unit emulator (Intel Virtualization Technology for
//! Directed I/O Architecture Specification, rev 4.x), legacy translation mode, pure
//! Rust and independent of the host.
//!
//! * [`IntelVtd`] is the device: its 4 KiB register page ([`IntelVtd::mmio_read`],
//!   [`IntelVtd::mmio_write`]), root and context tables, second-level page walks
//!   (3- and 4-level, 4 KiB / 2 MiB / 1 GiB pages), pass-through contexts, primary
//!   fault recording with the fault event MSI, queued and register-based
//!   invalidation, and interrupt remapping (remappable and compatibility formats,
//!   xAPIC and x2APIC destinations, source validation).
//! * It implements [`iommu_common::DmaTranslator`] (DMA remapping; faults land in
//!   the fault recording registers) and [`iommu_common::MsiRemapper`] (interrupt
//!   remapping). Its own fault-event and invalidation-event interrupts go straight to
//!   the [`iommu_common::MsiSink`] it was built with and are never remapped.
//!
//! Nothing is cached: every translation walks the guest's tables, so context-cache,
//! IOTLB and interrupt-entry-cache invalidations are validated and completed with
//! nothing to drop (CAP.CM = 0). Interrupt-entry-cache invalidations, interrupt
//! remapping enable/disable, CFI changes and SIRTP still notify the
//! [`iommu_common::RemapChangeListener`], because the VMM caches remapped MSIs in
//! its interrupt routes.
#![forbid(unsafe_code)]

mod config;
mod context;
mod device;
mod fault;
mod global;
mod intremap;
mod iotlb;
mod irq;
mod mem;
mod qi;
mod ratelimit;
mod reginval;
mod regs;
pub mod spec;
mod state;
#[cfg(test)]
mod test_util;
mod translate;
mod walk;

pub use config::ConfigError;
pub use config::VtdConfig;
pub use device::IntelVtd;
pub use state::VtdStats;
