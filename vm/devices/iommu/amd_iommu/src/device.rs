//! The device: state behind one lock, MMIO and PCI entry points, the DMA translator
//! and the MSI remapper. Interrupts and remap notifications decided under the lock
//! are delivered after it is dropped.

use crate::spec::regs::MMIO_SIZE;
use crate::state::State;
use guestmem::GuestMemory;
use iommu_common::DmaFault;
use iommu_common::DmaRequest;
use iommu_common::DmaTranslator;
use iommu_common::MsiBlocked;
use iommu_common::MsiMessage;
use iommu_common::MsiRemapper;
use iommu_common::MsiSink;
use iommu_common::RemapChangeListener;
use iommu_common::RemappedMsi;
use iommu_common::RequesterId;
use iommu_common::Translation;
use parking_lot::Mutex;
use parking_lot::MutexGuard;
use std::sync::Arc;

/// How one AMD IOMMU is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmdIommuConfig {
    /// Interrupt remapping offered. When false, MSIs pass unchanged.
    pub intremap: bool,
    /// x2APIC support (EFR.XTSup: XTEn and IntCapXTEn).
    pub xtsup: bool,
    /// The PCI segment this IOMMU translates for.
    pub segment: u16,
    /// The IOMMU's own PCI function (bus << 8 | devfn), for the IVHD and as the
    /// requester of its own MSI.
    pub iommu_bdf: u16,
}

impl AmdIommuConfig {
    /// The extended feature register a unit with this configuration advertises (what
    /// the IVHD's EFR image must hold).
    pub fn efr(&self) -> u64 {
        crate::state::efr_for(self)
    }
}

/// One emulated AMD IOMMU covering one PCI segment's root complex.
pub struct AmdIommu {
    state: Mutex<State>,
    msi: Arc<dyn MsiSink>,
    listener: Mutex<Option<Arc<dyn RemapChangeListener>>>,
}

impl std::fmt::Debug for AmdIommu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.lock();
        f.debug_struct("AmdIommu")
            .field("config", &s.config)
            .field("control", &format_args!("{:#x}", s.control))
            .finish()
    }
}

impl AmdIommu {
    /// Size of the MMIO register region: 16 KiB, what Linux maps when the EFR does not
    /// advertise performance counters.
    pub const MMIO_SIZE: u64 = MMIO_SIZE;

    /// An IOMMU in its reset state, reading tables from `memory` and raising its own
    /// interrupts through `msi`.
    pub fn new(config: AmdIommuConfig, memory: GuestMemory, msi: Arc<dyn MsiSink>) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::new(config, memory)),
            msi,
            listener: Mutex::new(None),
        })
    }

    /// Who is told when interrupt remapping decisions may have changed.
    pub fn set_remap_listener(&self, listener: Arc<dyn RemapChangeListener>) {
        *self.listener.lock() = Some(listener);
    }

    /// The configuration.
    pub fn config(&self) -> AmdIommuConfig {
        self.state.lock().config
    }

    /// The extended feature register, which an IVHD of type 11h/40h must carry.
    pub fn efr(&self) -> u64 {
        self.state.lock().efr
    }

    /// MMIO read at `offset` within the register region.
    pub fn mmio_read(&self, offset: u64, data: &mut [u8]) {
        self.state.lock().mmio_read(offset, data);
    }

    /// MMIO write at `offset` within the register region.
    pub fn mmio_write(&self, offset: u64, data: &[u8]) {
        let mut s = self.state.lock();
        s.mmio_write(offset, data);
        self.finish(s);
    }

    /// Reads the IOMMU capability block (id 0Fh, [`crate::spec::pci::CAP_LEN`]
    /// bytes) at `offset` from its start. Byte 1 (next pointer) reads as zero.
    pub fn iommu_cap_read(&self, offset: u16, data: &mut [u8]) {
        self.state.lock().iommu_cap_read(offset, data);
    }

    /// Writes the IOMMU capability block (only the base address registers change).
    pub fn iommu_cap_write(&self, offset: u16, data: &[u8]) {
        self.state.lock().iommu_cap_write(offset, data);
    }

    /// Reads the MSI capability ([`crate::spec::pci::MSI_CAP_LEN`] bytes) at
    /// `offset` from its start. Byte 1 (next pointer) reads as zero.
    pub fn msi_cap_read(&self, offset: u16, data: &mut [u8]) {
        self.state.lock().msi_cap_read(offset, data);
    }

    /// Writes the MSI capability.
    pub fn msi_cap_write(&self, offset: u16, data: &[u8]) {
        self.state.lock().msi_cap_write(offset, data);
    }

    /// Firmware programming of the capability's base address registers (16 KiB
    /// aligned; sets the Enable bit).
    pub fn set_mmio_base(&self, base: u64) {
        let mut s = self.state.lock();
        s.pci.base_lo =
            (base as u32 & crate::spec::pci::BASE_LO_MASK) | crate::spec::pci::BASE_ENABLE;
        s.pci.base_hi = (base >> 32) as u32;
    }

    /// The register base the capability holds, if enabled.
    pub fn mmio_base(&self) -> Option<u64> {
        let s = self.state.lock();
        (s.pci.base_lo & crate::spec::pci::BASE_ENABLE != 0).then(|| {
            u64::from(s.pci.base_lo & crate::spec::pci::BASE_LO_MASK)
                | (u64::from(s.pci.base_hi) << 32)
        })
    }

    /// Sets the MSI capability contents directly (same effect as config writes).
    pub fn set_msi(&self, address: u64, data: u16, enabled: bool) {
        let mut s = self.state.lock();
        s.pci.msi_address = address & !3;
        s.pci.msi_data = data;
        s.pci.msi_control = u16::from(enabled) * crate::spec::pci::MSI_CTRL_ENABLE;
    }

    /// Delivers what was decided under the lock: interrupts first, then the remap
    /// listener, both outside the lock.
    fn finish(&self, mut s: MutexGuard<'_, State>) {
        let msis = std::mem::take(&mut s.pending_msis);
        let changed = std::mem::take(&mut s.remap_changed);
        drop(s);
        for m in msis {
            self.msi.signal_msi(m);
        }
        if changed {
            let listener = self.listener.lock().clone();
            if let Some(l) = listener {
                l.remapping_changed();
            }
        }
    }
}

impl DmaTranslator for AmdIommu {
    fn translate(&self, req: &DmaRequest) -> Result<Translation, DmaFault> {
        let mut s = self.state.lock();
        let result = s.translate(req);
        self.finish(s);
        result.map_err(|kind| DmaFault {
            request: *req,
            kind,
        })
    }
}

impl MsiRemapper for AmdIommu {
    fn remap(&self, requester: RequesterId, msg: MsiMessage) -> Result<RemappedMsi, MsiBlocked> {
        let mut s = self.state.lock();
        let out = s.remap_msi(requester, msg);
        self.finish(s);
        out.map(|msg| RemappedMsi {
            msg,
            device_id: None,
        })
        .ok_or(MsiBlocked { requester, msg })
    }
}

impl inspect::Inspect for AmdIommu {
    fn inspect(&self, node: &mut inspect::Node) {
        self.state.lock().inspect(node);
    }
}
