//! The DMA translation seam.

use crate::RequesterId;
use std::fmt;

/// Direction of a DMA access, from the device's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DmaAccess {
    /// The device reads guest memory.
    Read,
    /// The device writes guest memory.
    Write,
}

/// One translation request: who, where, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaRequest {
    /// The requester (segment + BDF) that issued the access.
    pub requester: RequesterId,
    /// The I/O virtual address being accessed.
    pub iova: u64,
    /// Read or write.
    pub access: DmaAccess,
    /// PASID (PCIe) / SubstreamID (SMMU), when the transaction carries one.
    pub pasid: Option<u32>,
}

impl DmaRequest {
    /// A request without a PASID.
    pub const fn new(requester: RequesterId, iova: u64, access: DmaAccess) -> Self {
        Self {
            requester,
            iova,
            access,
            pasid: None,
        }
    }

    /// The same request carrying `pasid`.
    pub const fn with_pasid(mut self, pasid: u32) -> Self {
        self.pasid = Some(pasid);
        self
    }
}

/// What a successful translation permits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DmaPerms {
    /// Reads are allowed.
    pub read: bool,
    /// Writes are allowed.
    pub write: bool,
}

impl DmaPerms {
    /// Read and write.
    pub const RW: Self = Self {
        read: true,
        write: true,
    };
    /// Read only.
    pub const RO: Self = Self {
        read: true,
        write: false,
    };
    /// Write only.
    pub const WO: Self = Self {
        read: false,
        write: true,
    };

    /// Whether `access` is allowed.
    pub const fn allows(&self, access: DmaAccess) -> bool {
        match access {
            DmaAccess::Read => self.read,
            DmaAccess::Write => self.write,
        }
    }

    /// Permissions allowed by both.
    pub const fn intersect(self, other: Self) -> Self {
        Self {
            read: self.read && other.read,
            write: self.write && other.write,
        }
    }
}

/// A successful translation of one IOVA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    /// The guest physical address the IOVA maps to.
    pub gpa: u64,
    /// Size of the naturally aligned mapping (page or block) containing the IOVA: a power
    /// of two. The IOVA's offset within it maps linearly.
    pub page_size: u64,
    /// What the mapping permits (the requested access is always among them).
    pub perms: DmaPerms,
}

impl Translation {
    /// Bytes from `gpa` to the end of the mapping: how far an access starting at the
    /// translated IOVA may run before it must be translated again.
    pub const fn valid_len(&self) -> u64 {
        let size = if self.page_size == 0 {
            1
        } else {
            self.page_size
        };
        size - (self.gpa & (size - 1))
    }
}

/// Why a translation failed, coarsely (the IOMMU keeps the architectural detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DmaFaultKind {
    /// The IOMMU blocks this requester (translation disabled with abort, abort config,
    /// no valid context/device entry).
    Blocked,
    /// Bad or unsupported configuration (invalid table entry contents).
    BadConfig,
    /// No mapping for the address.
    NotMapped,
    /// A mapping exists but does not allow the access.
    Permission,
    /// An address exceeded a configured address size.
    AddressSize,
    /// Access flag clear and not updated by hardware.
    Access,
    /// A table or descriptor could not be read from guest memory.
    WalkError,
}

/// A failed translation. The IOMMU has already recorded it architecturally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaFault {
    /// The request that faulted.
    pub request: DmaRequest,
    /// Why.
    pub kind: DmaFaultKind,
}

impl fmt::Display for DmaFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "dma {:?} by {} at iova {:#x} faulted: {:?}",
            self.request.access, self.request.requester, self.request.iova, self.kind
        )
    }
}

impl std::error::Error for DmaFault {}

/// Translates device DMA: implemented by every emulated IOMMU.
pub trait DmaTranslator: Send + Sync {
    /// Translates one access. On failure the IOMMU records the fault itself; the caller
    /// fails the access cleanly.
    fn translate(&self, req: &DmaRequest) -> Result<Translation, DmaFault>;
}

/// No IOMMU: every IOVA is its GPA.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentityTranslator;

impl DmaTranslator for IdentityTranslator {
    fn translate(&self, req: &DmaRequest) -> Result<Translation, DmaFault> {
        Ok(Translation {
            gpa: req.iova,
            page_size: 1 << 12,
            perms: DmaPerms::RW,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_len_within_page() {
        let t = Translation {
            gpa: 0x20_1234,
            page_size: 0x1000,
            perms: DmaPerms::RO,
        };
        assert_eq!(t.valid_len(), 0x1000 - 0x234);
        let t = Translation {
            gpa: 0x4000_0000,
            page_size: 1 << 30,
            perms: DmaPerms::RO,
        };
        assert_eq!(t.valid_len(), 1 << 30);
    }

    #[test]
    fn perms() {
        assert!(DmaPerms::RO.allows(DmaAccess::Read));
        assert!(!DmaPerms::RO.allows(DmaAccess::Write));
        assert_eq!(DmaPerms::RW.intersect(DmaPerms::WO), DmaPerms::WO);
    }

    #[test]
    fn identity() {
        let req = DmaRequest::new(RequesterId::new(0, 8), 0x1234, DmaAccess::Write);
        let t = IdentityTranslator.translate(&req).unwrap();
        assert_eq!(t.gpa, 0x1234);
        let dynamic: &dyn DmaTranslator = &IdentityTranslator;
        assert!(dynamic.translate(&req.with_pasid(3)).is_ok());
    }
}
