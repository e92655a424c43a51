//! The seams every emulated IOMMU in this VMM plugs into.
//!
//! * DMA translation: a device's access (requester, IOVA, read/write) goes through a
//!   [`DmaTranslator`], which answers with a [`Translation`] or a [`DmaFault`]. The IOMMU
//!   records the fault the architectural way itself (fault recording registers, event
//!   log, event queue); the caller only learns that the access failed.
//! * Interrupts: every interrupt source ends as an [`MsiMessage`]. An IOMMU that remaps
//!   or tags interrupts implements [`MsiRemapper`].
//!
//! Nothing here is specific to one IOMMU architecture.

#![forbid(unsafe_code)]

pub mod dma;
pub mod dma_target;
pub mod msi;
pub mod requester;

pub use dma::DmaAccess;
pub use dma::DmaFault;
pub use dma::DmaFaultKind;
pub use dma::DmaPerms;
pub use dma::DmaRequest;
pub use dma::DmaTranslator;
pub use dma::IdentityTranslator;
pub use dma::Translation;
pub use dma_target::DmaTarget;
pub use msi::MsiBlocked;
pub use msi::MsiMessage;
pub use msi::MsiRemapper;
pub use msi::MsiSink;
pub use msi::PassthroughMsi;
pub use msi::RemapChangeListener;
pub use msi::RemappedMsi;
pub use requester::RequesterId;
pub use requester::RequesterIdCell;
