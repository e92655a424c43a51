//! The aarch64 interrupt path through the SMMU: a device's MSI is a DMA write to the
//! ITS doorbell, so its address is translated by the SMMU like any other write, and
//! the ITS learns the writer from the DeviceID the IORT maps its RID to:
//! `(segment << 16) | RID` in this VMM.

use crate::device::Smmu;
use iommu_common::DmaAccess;
use iommu_common::DmaRequest;
use iommu_common::DmaTranslator;
use iommu_common::MsiBlocked;
use iommu_common::MsiMessage;
use iommu_common::MsiRemapper;
use iommu_common::RemappedMsi;
use iommu_common::RequesterId;

/// The ITS DeviceID this VMM gives `requester` (matches the IORT ID mappings).
pub const fn its_device_id(requester: RequesterId) -> u32 {
    requester.segment_rid()
}

impl MsiRemapper for Smmu {
    /// Translates the doorbell IOVA as a write by `requester` and tags the message
    /// with its ITS DeviceID. A translation fault is recorded in the event queue like
    /// any DMA fault, and the MSI is blocked.
    fn remap(&self, requester: RequesterId, msg: MsiMessage) -> Result<RemappedMsi, MsiBlocked> {
        let req = DmaRequest::new(requester, msg.address, DmaAccess::Write);
        match self.translate(&req) {
            Ok(t) if t.valid_len() >= 4 => Ok(RemappedMsi {
                msg: MsiMessage {
                    address: t.gpa,
                    data: msg.data,
                },
                device_id: Some(its_device_id(requester)),
            }),
            _ => Err(MsiBlocked { requester, msg }),
        }
    }
}
