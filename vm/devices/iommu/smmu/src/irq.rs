//! The SMMU's own interrupts: event queue, GERROR and CMD_SYNC completion, as MSIs
//! (IDR0.MSI) or wired lines (IHI 0070 §3.18, "Interrupts and notifications").

use crate::spec::regs::Gerror;
use crate::spec::regs::IRQ_CFG0_ADDR_MASK;
use crate::state::State;
use iommu_common::MsiMessage;

/// Which SMMU interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SmmuIrq {
    /// Event queue became non-empty.
    EventQueue,
    /// A global error became active.
    Gerror,
    /// CMD_SYNC with CS = SIG_IRQ completed.
    CmdSync,
}

/// Where the SMMU's interrupts go. The VMM implements this: MSIs to the interrupt
/// controller (tagged with the SMMU's own device id from the IORT), wired lines as
/// GSIV edges.
pub trait SmmuInterrupts: Send + Sync {
    /// Delivers an MSI whose address is not guest RAM (a doorbell). Returns `false` if
    /// the write aborts (nothing decodes the address).
    fn msi(&self, source: SmmuIrq, msg: MsiMessage) -> bool;
    /// Pulses a wired interrupt line (used when the MSI address is 0).
    fn wired(&self, source: SmmuIrq);
    /// Sends an event to the PEs (CMD_SYNC with CS = SIG_SEV).
    fn sev(&self) {}
}

/// An interrupt decided under the lock, delivered after it is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pending {
    /// MSI write.
    Msi(SmmuIrq, MsiMessage),
    /// Wired pulse.
    Wired(SmmuIrq),
    /// SEV.
    Sev,
}

/// An interrupt source's MSI configuration (SMMU_*_IRQ_CFG0/1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct IrqCfg {
    /// CFG0: address.
    pub addr: u64,
    /// CFG1: data.
    pub data: u32,
    /// CFG2: attributes.
    pub attr: u32,
}

impl IrqCfg {
    /// The interrupt to send: an MSI if supported and an address is set, else wired.
    pub fn pending(&self, source: SmmuIrq, msi: bool) -> Pending {
        let addr = self.addr & IRQ_CFG0_ADDR_MASK;
        if msi && addr != 0 {
            Pending::Msi(
                source,
                MsiMessage {
                    address: addr,
                    data: self.data,
                },
            )
        } else {
            Pending::Wired(source)
        }
    }
}

impl State {
    /// Makes the errors in `bits` active (GERROR bit toggled away from GERRORN) unless
    /// already active, and raises the GERROR interrupt if enabled
    /// (IHI 0070 §7.5, "Global error recording").
    pub(crate) fn raise_gerror(&mut self, bits: Gerror) {
        let active = self.gerror ^ self.gerrorn;
        let new = bits.into_bits() & !active;
        if new == 0 {
            return;
        }
        self.gerror ^= new;
        if self.irq_ctrl.gerror_irqen() {
            let p = self.gerror_irq.pending(SmmuIrq::Gerror, self.caps.msi);
            self.pending.push(p);
        }
    }

    /// Whether the errors in `bits` are active.
    pub(crate) fn gerror_active(&self, bits: Gerror) -> bool {
        (self.gerror ^ self.gerrorn) & bits.into_bits() != 0
    }
}
