//! The SMMU's own interrupts end to end: wired lines when MSIs are not advertised (or
//! no MSI address is programmed), CMD_SYNC SIG_SEV, and MSI writes that abort raising
//! GERROR.MSI_*_ABT_ERR (IHI 0070 §3.18, §4.7.3, §7.5).

mod common;

use common::*;
use smmu::spec::regs::*;
use smmu::*;
use std::sync::atomic::Ordering;

/// Nothing decodes this address: neither RAM nor the doorbell.
const NOWHERE: u64 = 0x9_0000_0000;

fn illegal_command(rig: &mut Rig) {
    rig.cmd(0xff, 0);
    assert_eq!((rig.smmu.read32(CMDQ_CONS) >> 24) & 0x7f, 1);
}

#[test]
fn wired_lines_without_msi_support() {
    let mut rig = Rig::new(SmmuConfig {
        msi: false,
        ..SmmuConfig::default()
    });
    rig.bring_up();
    assert!(!Idr0::from_bits(rig.smmu.read32(IDR0)).msi());
    // An event (C_BAD_STE for a zeroed STE) pulses the event queue line.
    assert!(rig.dma(3, 0, false).is_err());
    assert_eq!(rig.take_events().len(), 1);
    assert_eq!(*rig.irqs.wired.lock(), [SmmuIrq::EventQueue]);
    // A global error pulses the GERROR line.
    illegal_command(&mut rig);
    assert_eq!(
        *rig.irqs.wired.lock(),
        [SmmuIrq::EventQueue, SmmuIrq::Gerror]
    );
    assert!(rig.irqs.msis.lock().is_empty(), "no MSI without IDR0.MSI");
}

#[test]
fn wired_when_msi_address_is_zero_and_masking() {
    let rig = Rig::up();
    rig.smmu.write64(EVENTQ_IRQ_CFG0, 0);
    rig.dma(3, 0, false).unwrap_err();
    assert_eq!(*rig.irqs.wired.lock(), [SmmuIrq::EventQueue]);
    // IRQ_CTRL.EVENTQ_IRQEN = 0: the event is written but nothing is signalled.
    rig.smmu.write32(IRQ_CTRL, 0b001);
    assert_eq!(rig.smmu.read32(IRQ_CTRLACK), 0b001);
    rig.dma(3, 0, false).unwrap_err();
    assert_eq!(rig.take_events().len(), 2);
    assert_eq!(rig.irqs.wired.lock().len(), 1);
    assert!(rig.irqs.msis.lock().is_empty());
}

#[test]
fn cmd_sync_sig_sev() {
    let mut rig = Rig::up();
    assert_eq!(rig.irqs.sevs.load(Ordering::SeqCst), 0);
    rig.cmd(0x46 | (2 << 12), 0);
    assert_eq!(rig.smmu.read32(CMDQ_CONS), rig.cmd_prod);
    assert_eq!(rig.irqs.sevs.load(Ordering::SeqCst), 1);
    // SIG_NONE: nothing.
    rig.sync();
    assert_eq!(rig.irqs.sevs.load(Ordering::SeqCst), 1);
    assert!(rig.irqs.msis.lock().is_empty());
}

#[test]
fn event_msi_abort_raises_gerror() {
    let rig = Rig::up();
    rig.smmu.write64(EVENTQ_IRQ_CFG0, NOWHERE);
    rig.dma(3, 0, false).unwrap_err();
    // The event itself was written.
    assert_eq!(rig.take_events().len(), 1);
    let active = rig.smmu.read32(GERROR) ^ rig.smmu.read32(GERRORN);
    assert!(
        Gerror::from_bits(active).msi_eventq_abt_err(),
        "{active:#x}"
    );
    // ... and GERROR's own MSI went to the doorbell.
    let msis = rig.irqs.msis.lock().clone();
    assert_eq!(
        msis.last().copied(),
        Some((
            SmmuIrq::Gerror,
            iommu_common::MsiMessage {
                address: ITS_DOORBELL,
                data: 0x22
            }
        ))
    );
}

#[test]
fn cmd_sync_msi_abort_raises_gerror() {
    let mut rig = Rig::up();
    rig.cmd(0x46 | (1 << 12) | (9u64 << 32), NOWHERE);
    assert_eq!(rig.smmu.read32(CMDQ_CONS), rig.cmd_prod, "SYNC completes");
    let gerror = Gerror::from_bits(rig.smmu.read32(GERROR) ^ rig.smmu.read32(GERRORN));
    assert!(gerror.msi_cmdq_abt_err());
    assert!(!gerror.cmdq_err(), "not a command error");
    // Acknowledging clears it.
    rig.smmu.write32(GERRORN, rig.smmu.read32(GERROR));
    assert_eq!(rig.smmu.read32(GERROR) ^ rig.smmu.read32(GERRORN), 0);
}

#[test]
fn gerror_msi_abort_is_recorded_without_looping() {
    let mut rig = Rig::up();
    rig.smmu.write64(GERROR_IRQ_CFG0, NOWHERE);
    illegal_command(&mut rig);
    let gerror = Gerror::from_bits(rig.smmu.read32(GERROR) ^ rig.smmu.read32(GERRORN));
    assert!(
        gerror.cmdq_err() && gerror.msi_gerror_abt_err(),
        "{gerror:?}"
    );
    // One attempt for CMDQ_ERR; the abort of that MSI is recorded, not retried forever.
    let tries = rig
        .irqs
        .msis
        .lock()
        .iter()
        .filter(|(s, _)| *s == SmmuIrq::Gerror)
        .count();
    assert!((1..=2).contains(&tries), "{tries}");
}
