//! The device: register file behind one lock, MMIO entry points, and the DMA
//! translator (StreamID = requester ID).

use crate::config::ConfigError;
use crate::config::SmmuConfig;
use crate::irq::Pending;
use crate::irq::SmmuInterrupts;
use crate::spec::event::EventRecord;
use crate::spec::regs::Gerror;
use crate::spec::regs::MMIO_SIZE;
use crate::state::State;
use guestmem::GuestMemory;
use iommu_common::DmaFault;
use iommu_common::DmaFaultKind;
use iommu_common::DmaPerms;
use iommu_common::DmaRequest;
use iommu_common::DmaTranslator;
use iommu_common::Translation;
use parking_lot::Mutex;
use std::sync::Arc;

/// One emulated SMMUv3 covering one PCI segment's root complex.
#[derive(Clone)]
pub struct Smmu {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    irqs: Arc<dyn SmmuInterrupts>,
    segment: u16,
}

impl std::fmt::Debug for Smmu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smmu")
            .field("segment", &self.inner.segment)
            .finish()
    }
}

impl Smmu {
    /// Size of the MMIO region (pages 0 and 1).
    pub const MMIO_SIZE: u64 = MMIO_SIZE;

    /// Creates an SMMU in its reset state for PCI `segment`, reading tables and
    /// queues from `mem` and signalling through `irqs`.
    pub fn new(
        config: SmmuConfig,
        segment: u16,
        mem: GuestMemory,
        irqs: Arc<dyn SmmuInterrupts>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::new(config, mem)),
                irqs,
                segment,
            }),
        })
    }

    /// The PCI segment this SMMU translates for.
    pub fn segment(&self) -> u16 {
        self.inner.segment
    }

    /// The advertised configuration.
    pub fn config(&self) -> SmmuConfig {
        self.inner.state.lock().caps.clone()
    }

    /// MMIO read at `offset` within the SMMU's region.
    pub fn mmio_read(&self, offset: u64, data: &mut [u8]) {
        self.inner.state.lock().mmio_read(offset, data);
    }

    /// MMIO write at `offset` within the SMMU's region.
    pub fn mmio_write(&self, offset: u64, data: &[u8]) {
        let mut state = self.inner.state.lock();
        state.mmio_write(offset, data);
        self.deliver(state);
    }

    /// Convenience: 32-bit register read.
    pub fn read32(&self, offset: u64) -> u32 {
        let mut b = [0; 4];
        self.mmio_read(offset, &mut b);
        u32::from_le_bytes(b)
    }

    /// Convenience: 32-bit register write.
    pub fn write32(&self, offset: u64, value: u32) {
        self.mmio_write(offset, &value.to_le_bytes());
    }

    /// Convenience: 64-bit register read.
    pub fn read64(&self, offset: u64) -> u64 {
        let mut b = [0; 8];
        self.mmio_read(offset, &mut b);
        u64::from_le_bytes(b)
    }

    /// Convenience: 64-bit register write.
    pub fn write64(&self, offset: u64, value: u64) {
        self.mmio_write(offset, &value.to_le_bytes());
    }

    /// Delivers the interrupts decided under the lock, after dropping it. MSIs that
    /// target guest RAM are plain memory writes; others go to the interrupt sink. An
    /// MSI nobody accepts raises the matching GERROR.MSI_*_ABT_ERR.
    fn deliver<'a>(&'a self, mut state: parking_lot::MutexGuard<'a, State>) {
        for _round in 0..2 {
            if state.pending.is_empty() {
                return;
            }
            let pending = std::mem::take(&mut state.pending);
            let mem = state.mem.clone();
            drop(state);
            let mut aborted = Gerror::new();
            for p in pending {
                match p {
                    Pending::Msi(src, msg) => {
                        let ok = mem.write_at(msg.address, &msg.data.to_le_bytes()).is_ok()
                            || self.inner.irqs.msi(src, msg);
                        if !ok {
                            aborted = match src {
                                crate::irq::SmmuIrq::EventQueue => {
                                    aborted.with_msi_eventq_abt_err(true)
                                }
                                crate::irq::SmmuIrq::Gerror => {
                                    aborted.with_msi_gerror_abt_err(true)
                                }
                                crate::irq::SmmuIrq::CmdSync => aborted.with_msi_cmdq_abt_err(true),
                            };
                        }
                    }
                    Pending::Wired(src) => self.inner.irqs.wired(src),
                    Pending::Sev => self.inner.irqs.sev(),
                }
            }
            state = self.inner.state.lock();
            if aborted.into_bits() == 0 {
                return;
            }
            state.raise_gerror(aborted);
        }
        // A GERROR MSI that aborts again is recorded (MSI_GERROR_ABT_ERR) but not
        // retried: no interrupt loop.
        state.pending.clear();
    }

    fn record<'a>(
        &'a self,
        mut state: parking_lot::MutexGuard<'a, State>,
        ev: Option<EventRecord>,
    ) {
        if let Some(ev) = ev {
            state.record_event(ev);
        }
        self.deliver(state);
    }
}

impl DmaTranslator for Smmu {
    fn translate(&self, req: &DmaRequest) -> Result<Translation, DmaFault> {
        let mut state = self.inner.state.lock();
        state.stats.translations += 1;
        // GBPA governs all traffic while SMMUEN = 0 (IHI 0070 §6.3, SMMU_GBPA); an
        // address beyond the OAS aborts without an event even in bypass (§3.4).
        if !state.cr0.smmuen() {
            return if state.gbpa.abort() || req.iova >> state.caps.oas_bits != 0 {
                state.stats.faults += 1;
                Err(DmaFault {
                    request: *req,
                    kind: DmaFaultKind::Blocked,
                })
            } else {
                Ok(Translation {
                    gpa: req.iova,
                    page_size: 1 << 30,
                    perms: DmaPerms::RW,
                })
            };
        }
        let write = matches!(req.access, iommu_common::DmaAccess::Write);
        // StreamID = requester ID within this SMMU's segment.
        let sid = req.requester.bdf as u32;
        let result = state.pipeline().translate(sid, req.pasid, req.iova, write);
        match result {
            Ok(t) => Ok(t),
            Err(fault) => {
                state.stats.faults += 1;
                if state.log_limit.allow() {
                    tracing::debug!(
                        requester = %req.requester,
                        iova = req.iova,
                        kind = ?fault.kind,
                        "smmu: dma fault"
                    );
                }
                self.record(state, fault.event);
                Err(DmaFault {
                    request: *req,
                    kind: fault.kind,
                })
            }
        }
    }
}

impl inspect::Inspect for Smmu {
    fn inspect(&self, node: &mut inspect::Node) {
        let s = self.inner.state.lock();
        node.value("segment", self.inner.segment as u64)
            .hex("cr0", s.cr0.into_bits())
            .hex("gbpa", s.gbpa.into_bits())
            .hex("irq_ctrl", s.irq_ctrl.into_bits())
            .hex("gerror", s.gerror)
            .hex("gerrorn", s.gerrorn)
            .hex("strtab_base", s.strtab_base.into_bits())
            .hex("strtab_base_cfg", s.strtab_base_cfg.into_bits())
            .hex("cmdq_base", s.cmdq_base.into_bits())
            .hex("cmdq_prod", s.cmdq_prod)
            .hex("cmdq_cons", s.cmdq_cons)
            .value("cmdq_err", s.cmdq_err as u64)
            .hex("eventq_base", s.eventq_base.into_bits())
            .hex("eventq_prod", s.eventq_prod)
            .hex("eventq_cons", s.eventq_cons)
            .value("translations", s.stats.translations)
            .value("faults", s.stats.faults)
            .value("events", s.stats.events)
            .value("events_dropped", s.stats.events_dropped)
            .value("commands", s.stats.commands)
            .value("invalidations", s.stats.invalidations)
            .value("syncs", s.stats.syncs)
            .value("logs_suppressed", s.log_limit.suppressed);
    }
}
