//! An Arm SMMUv3 emulator (IHI 0070), pure Rust and independent of the host
//! architecture.
//!
//! * [`Smmu`] is the device: MMIO registers (pages 0 and 1), stream tables (linear
//!   and 2-level), context descriptors, AArch64 stage 1 / stage 2 / nested walks for
//!   4K, 16K and 64K granules, the command queue, the event queue with overflow,
//!   GERROR, and MSI or wired interrupts.
//! * It implements [`iommu_common::DmaTranslator`] (StreamID = requester ID) and
//!   [`iommu_common::MsiRemapper`] (doorbell translated, MSI tagged with the ITS
//!   DeviceID `(segment << 16) | RID`).
//! * [`iort`] builds the IORT that describes it to the guest.
//!
//! No translation or configuration caching is done, so invalidation commands are
//! validated and acknowledged but have nothing to drop.
#![forbid(unsafe_code)]

mod cmdq;
pub mod config;
mod context;
mod device;
mod eventq;
mod fault;
pub mod iort;
pub mod irq;
mod mem;
pub mod msi;
mod queue;
mod ratelimit;
mod regs;
pub mod spec;
mod state;
mod stream;
#[cfg(test)]
mod test_util;
mod translate;
pub mod walk;

pub use cmdq::tlbi_range;
pub use config::SmmuConfig;
pub use device::Smmu;
pub use irq::SmmuInterrupts;
pub use irq::SmmuIrq;
pub use msi::its_device_id;
