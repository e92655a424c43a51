//! The device glue: [`IntelVtd`] owns the state behind one lock, answers MMIO, and
//! implements the DMA and MSI seams. Interrupts it raises and remap-change
//! notifications are delivered after the lock is dropped.

use crate::config::VtdConfig;
use crate::state::State;
use crate::state::VtdStats;
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

/// An emulated Intel VT-d remapping unit (one DRHD).
pub struct IntelVtd {
    state: Mutex<State>,
    msi: Arc<dyn MsiSink>,
}

impl IntelVtd {
    /// Size of the register page, the DRHD's MMIO region.
    pub const MMIO_SIZE: u64 = crate::spec::regs::REG_PAGE_SIZE;

    /// A unit in its reset state. `memory` is where the guest's tables and queues
    /// live; `msi` delivers the unit's own fault and invalidation events. A config
    /// that [`VtdConfig::validate`] rejects is normalized (see there).
    pub fn new(config: VtdConfig, memory: GuestMemory, msi: Arc<dyn MsiSink>) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::new(&config, memory)),
            msi,
        })
    }

    /// Sets who is told when interrupt remapping decisions may have changed.
    pub fn set_remap_listener(&self, listener: Arc<dyn RemapChangeListener>) {
        self.state.lock().listener = Some(listener);
    }

    /// A guest read of the register page. Unsupported accesses read zeros.
    pub fn mmio_read(&self, offset: u64, data: &mut [u8]) {
        let mut state = self.state.lock();
        state.mmio_read(offset, data);
        self.finish(state);
    }

    /// A guest write to the register page. Unsupported accesses are ignored.
    pub fn mmio_write(&self, offset: u64, data: &[u8]) {
        let mut state = self.state.lock();
        state.mmio_write(offset, data);
        self.finish(state);
    }

    /// The configuration in use (after normalization).
    pub fn config(&self) -> VtdConfig {
        self.state.lock().caps.config.clone()
    }

    /// Counters.
    pub fn stats(&self) -> VtdStats {
        self.state.lock().stats
    }

    /// Drops the lock, then delivers interrupts and remap-change notifications.
    fn finish(&self, mut state: MutexGuard<'_, State>) {
        let effects = std::mem::take(&mut state.effects);
        let listener = effects
            .remap_changed
            .then(|| state.listener.clone())
            .flatten();
        drop(state);
        for msg in effects.msis {
            self.msi.signal_msi(msg);
        }
        if let Some(listener) = listener {
            listener.remapping_changed();
        }
    }
}

impl inspect::Inspect for IntelVtd {
    fn inspect(&self, node: &mut inspect::Node) {
        self.state.lock().inspect(node);
    }
}

impl DmaTranslator for IntelVtd {
    fn translate(&self, req: &DmaRequest) -> Result<Translation, DmaFault> {
        let mut state = self.state.lock();
        let result = state.translate_dma(req);
        self.finish(state);
        result.map_err(|kind| DmaFault {
            request: *req,
            kind,
        })
    }
}

impl MsiRemapper for IntelVtd {
    fn remap(&self, requester: RequesterId, msg: MsiMessage) -> Result<RemappedMsi, MsiBlocked> {
        let mut state = self.state.lock();
        let result = state.remap_msi(requester, msg);
        self.finish(state);
        match result {
            Ok(msg) => Ok(RemappedMsi {
                msg,
                device_id: None,
            }),
            Err(_) => Err(MsiBlocked { requester, msg }),
        }
    }
}
