//! The MSI seam: interrupt remapping (VT-d, AMD-Vi) and device-id tagging (SMMUv3 with a
//! GICv3 ITS).

use crate::RequesterId;
use std::fmt;

/// An MSI as written by a device: a 32-bit `data` to `address`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MsiMessage {
    /// The doorbell address (x86: 0xFEEx_xxxx; Arm: the ITS GITS_TRANSLATER).
    pub address: u64,
    /// The payload.
    pub data: u32,
}

/// An MSI after the IOMMU has seen it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RemappedMsi {
    /// The message to deliver (remapped, or with its doorbell address translated).
    pub msg: MsiMessage,
    /// The device id the interrupt controller sees with the write (GICv3 ITS DeviceID),
    /// when the platform tags MSIs with one; `None` on x86.
    pub device_id: Option<u32>,
}

/// The IOMMU refused the MSI. It has recorded the reason architecturally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MsiBlocked {
    /// The requester whose MSI was blocked.
    pub requester: RequesterId,
    /// The message as the device wrote it.
    pub msg: MsiMessage,
}

impl fmt::Display for MsiBlocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "msi {:#x}/{:#x} from {} blocked",
            self.msg.address, self.msg.data, self.requester
        )
    }
}

impl std::error::Error for MsiBlocked {}

/// Remaps or tags a requester's MSI. Called when the guest programs a vector (and
/// again whenever the IOMMU's remapping state changes).
pub trait MsiRemapper: Send + Sync {
    /// Returns the message to deliver, or `Err` if the IOMMU blocks it.
    fn remap(&self, requester: RequesterId, msg: MsiMessage) -> Result<RemappedMsi, MsiBlocked>;
}

/// Delivers an MSI as-is (no remapping): how an IOMMU raises its own interrupts
/// (fault events, completion waits, event logs), which are never remapped.
pub trait MsiSink: Send + Sync {
    /// Delivers `msg`.
    fn signal_msi(&self, msg: MsiMessage);
}

/// Told when an interrupt remapper's decisions may have changed (a remapping-table
/// invalidation, remapping enabled or disabled, a new table pointer), so every live
/// route can be remapped again. Called outside the remapper's locks.
pub trait RemapChangeListener: Send + Sync {
    /// Remapping state changed; re-run `MsiRemapper::remap` for live routes.
    fn remapping_changed(&self);
}

/// No IOMMU: messages pass unchanged and untagged.
#[derive(Debug, Clone, Copy, Default)]
pub struct PassthroughMsi;

impl MsiRemapper for PassthroughMsi {
    fn remap(&self, _requester: RequesterId, msg: MsiMessage) -> Result<RemappedMsi, MsiBlocked> {
        Ok(RemappedMsi {
            msg,
            device_id: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passthrough_keeps_message() {
        let msg = MsiMessage {
            address: 0xfee0_0000,
            data: 0x41,
        };
        let r = PassthroughMsi
            .remap(RequesterId::new(0, 0x10), msg)
            .unwrap();
        assert_eq!(r.msg, msg);
        assert_eq!(r.device_id, None);
    }
}
