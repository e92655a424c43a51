//! What a PCI function is to the root complex, and the interrupt seam it raises MSIs
//! through.

use crate::bar::BarInfo;
use iommu_common::MsiMessage;
pub use iommu_common::RequesterIdCell;
use std::sync::Arc;

/// One MSI or MSI-X vector's connection to the interrupt controller.
///
/// The implementation (the VMM's route registry) remaps the message through the
/// covering IOMMU when it is programmed, and raising the vector is an eventfd signal
/// that KVM delivers without a userspace exit.
pub trait MsiVector: Send + Sync {
    /// The guest programmed the vector (`None`: the vector cannot fire: MSI disabled).
    fn set_message(&self, msg: Option<MsiMessage>);
    /// Raises the vector.
    fn signal(&self);
}

/// Creates vectors for devices.
pub trait MsiController: Send + Sync {
    /// A new vector for the function whose requester id `rid` holds.
    fn new_vector(&self, rid: RequesterIdCell) -> Arc<dyn MsiVector>;
}

/// A PCI function as the root complex sees it.
pub trait PciDevice: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &str;
    /// Guest configuration read of `len` (1, 2 or 4) bytes.
    fn config_read(&self, offset: u16, len: usize) -> u32;
    /// Guest configuration write.
    fn config_write(&self, offset: u16, len: usize, value: u32);
    /// The BARs the function implements.
    fn bars(&self) -> Vec<BarInfo>;
    /// Guest read of a BAR.
    fn bar_read(&self, bar: u8, offset: u64, data: &mut [u8]);
    /// Guest write of a BAR.
    fn bar_write(&self, bar: u8, offset: u64, data: &[u8]);
    /// The root complex mapped (`Some(address)`) or unmapped a BAR, e.g. so the device
    /// can register doorbell eventfds.
    fn bar_mapped(&self, _bar: u8, _address: Option<u64>) {}
}

/// Registers doorbells: guest writes to `address` that signal `event` inside KVM
/// (ioeventfd) instead of exiting to userspace.
pub trait DoorbellRegistrar: Send + Sync {
    /// Starts signalling `event` on writes of `len` bytes to `address` (with `datamatch`,
    /// only writes of that value).
    fn register(
        &self,
        address: u64,
        len: u32,
        datamatch: Option<u64>,
        event: &vmm_sys_util::eventfd::EventFd,
    ) -> std::io::Result<()>;
    /// Stops what `register` started (same arguments).
    fn unregister(
        &self,
        address: u64,
        len: u32,
        datamatch: Option<u64>,
        event: &vmm_sys_util::eventfd::EventFd,
    ) -> std::io::Result<()>;
}
