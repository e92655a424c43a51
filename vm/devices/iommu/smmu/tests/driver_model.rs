//! Brings the SMMU up in the order Linux's arm-smmu-v3 driver does (probe IDRs, reset
//! GBPA, allocate queues and the stream table, enable CMDQ, invalidate everything,
//! enable EVTQ and IRQs, enable SMMUEN, install STE/CD, CFGI + CMD_SYNC), then
//! translates DMA and checks faults land in the event queue. Also the SMMU hostile
//! inputs that need the whole device.

use guestmem::GuestMemory;
use iommu_common::*;
use parking_lot::Mutex;
use smmu::spec::regs::*;
use smmu::*;
use std::sync::Arc;

#[derive(Default)]
struct Irqs {
    msis: Mutex<Vec<(SmmuIrq, MsiMessage)>>,
    wired: Mutex<Vec<SmmuIrq>>,
}

impl SmmuInterrupts for Irqs {
    fn msi(&self, source: SmmuIrq, msg: MsiMessage) -> bool {
        self.msis.lock().push((source, msg));
        msg.address == ITS_DOORBELL
    }
    fn wired(&self, source: SmmuIrq) {
        self.wired.lock().push(source);
    }
}

const ITS_DOORBELL: u64 = 0x0808_0040;
const STRTAB: u64 = 0x10_0000;
const L2: u64 = 0x12_0000;
const CMDQ: u64 = 0x20_0000;
const EVTQ: u64 = 0x21_0000;
const CD: u64 = 0x30_0000;
const PGD: u64 = 0x40_0000;
const RAM: u64 = 64 << 20;
const DEV: RequesterId = RequesterId::new(0, 0x0108);

struct Rig {
    smmu: Smmu,
    mem: GuestMemory,
    irqs: Arc<Irqs>,
    cmd_prod: u32,
}

impl Rig {
    fn new(cfg: SmmuConfig) -> Self {
        let mem = GuestMemory::new(&[(0, RAM)]).unwrap();
        let irqs = Arc::new(Irqs::default());
        let smmu = Smmu::new(cfg, 0, mem.clone(), irqs.clone()).unwrap();
        Rig {
            smmu,
            mem,
            irqs,
            cmd_prod: 0,
        }
    }

    fn w64(&self, gpa: u64, v: u64) {
        self.mem.write_plain(gpa, &v).unwrap();
    }

    fn r64(&self, gpa: u64) -> u64 {
        self.mem.read_plain::<u64>(gpa).unwrap()
    }

    fn cmd(&mut self, c0: u64, c1: u64) {
        let idx = self.cmd_prod & 0xff;
        self.w64(CMDQ + idx as u64 * 16, c0);
        self.w64(CMDQ + idx as u64 * 16 + 8, c1);
        self.cmd_prod = (self.cmd_prod + 1) & 0x1ff;
        self.smmu.write32(CMDQ_PROD, self.cmd_prod);
    }

    fn sync(&mut self) {
        self.cmd(0x46, 0);
        assert_eq!(
            self.smmu.read32(CMDQ_CONS),
            self.cmd_prod,
            "CMD_SYNC consumed"
        );
    }

    fn cr0(&self, v: u32) {
        self.smmu.write32(CR0, v);
        assert_eq!(self.smmu.read32(CR0ACK), v);
    }

    /// Linux probe + reset sequence (arm_smmu_device_hw_probe / _reset).
    fn bring_up(&mut self) {
        let idr0 = Idr0::from_bits(self.smmu.read32(IDR0));
        assert_eq!(idr0.ttf(), 0b10);
        assert!(idr0.s1p() && idr0.s2p() && idr0.msi());
        assert_eq!(idr0.st_level(), 1);
        let idr1 = Idr1::from_bits(self.smmu.read32(IDR1));
        assert!(!idr1.tables_preset() && !idr1.queues_preset() && !idr1.rel());
        assert!(idr1.cmdqs() >= 8 && idr1.eventqs() >= 7 && idr1.sidsize() == 16);
        let idr5 = Idr5::from_bits(self.smmu.read32(IDR5));
        assert!(idr5.gran4k() && idr5.gran16k() && idr5.gran64k());
        assert_eq!(oas_bits(idr5.oas()), Some(48));
        // Disable, then GBPA abort update handshake.
        self.cr0(0);
        self.smmu.write32(
            GBPA,
            Gbpa::new().with_abort(true).with_update(true).into_bits(),
        );
        assert!(!Gbpa::from_bits(self.smmu.read32(GBPA)).update());
        // 2-level stream table with SPLIT 8, LOG2SIZE 16.
        self.smmu.write64(STRTAB_BASE, STRTAB);
        self.smmu.write32(
            STRTAB_BASE_CFG,
            StrtabBaseCfg::new()
                .with_fmt(1)
                .with_split(8)
                .with_log2size(16)
                .into_bits(),
        );
        // Queues.
        self.smmu.write64(CMDQ_BASE, CMDQ | 8);
        self.smmu.write32(CMDQ_PROD, 0);
        self.smmu.write32(CMDQ_CONS, 0);
        self.smmu.write64(EVENTQ_BASE, EVTQ | 7);
        self.smmu.write32(EVENTQ_PROD, 0);
        self.smmu.write32(EVENTQ_CONS, 0);
        // Enable the command queue and invalidate everything.
        self.cr0(0b1000);
        self.cmd(0x04, 31); // CFGI_ALL
        self.cmd(0x30, 0); // TLBI_NSNH_ALL
        self.sync();
        // Event queue, MSIs, IRQs.
        self.cr0(0b1100);
        self.smmu.write64(EVENTQ_IRQ_CFG0, ITS_DOORBELL);
        self.smmu.write32(EVENTQ_IRQ_CFG1, 0x21);
        self.smmu.write64(GERROR_IRQ_CFG0, ITS_DOORBELL);
        self.smmu.write32(GERROR_IRQ_CFG1, 0x22);
        self.smmu.write32(IRQ_CTRL, 0b101);
        assert_eq!(self.smmu.read32(IRQ_CTRLACK), 0b101);
        self.cr0(0b1101);
    }

    /// Installs a stage 1 (4K, 48-bit) STE + CD for DEV, mapping `iova` → `pa`.
    fn install_s1(&mut self, iova: u64, pa: u64, ap_ro: bool) {
        let sid = DEV.bdf as u64;
        // L1 descriptor for sid >> 8, span 9 (256 STEs).
        self.w64(STRTAB + (sid >> 8) * 8, L2 | 9);
        let ste = L2 + (sid & 0xff) * 64;
        self.w64(ste, 1 | (0b101 << 1) | CD);
        // CD: T0SZ 16, TG0 4K, EPD1, V, IPS 48, AA64, R, ASID 1.
        let cd0 = 16 | (1 << 30) | (1 << 31) | (5 << 32) | (1 << 41) | (1 << 45) | (1 << 48);
        self.w64(CD, cd0);
        self.w64(CD + 8, PGD);
        // Four levels: PGD → 0x41_0000 → 0x42_0000 → 0x43_0000 → page.
        let idx = |l: u32| (iova >> (39 - 9 * l)) & 0x1ff;
        self.w64(PGD + idx(0) * 8, 0x41_0000 | 3);
        self.w64(0x41_0000 + idx(1) * 8, 0x42_0000 | 3);
        self.w64(0x42_0000 + idx(2) * 8, 0x43_0000 | 3);
        let ap = if ap_ro { 3 << 6 } else { 1 << 6 };
        self.w64(0x43_0000 + idx(3) * 8, pa | 3 | (1 << 10) | ap);
        self.cmd(0x03 | (sid << 32), 1); // CFGI_STE leaf
        self.cmd(0x05 | (sid << 32), 1); // CFGI_CD leaf
        self.cmd(0x11 | (1 << 48), 0); // TLBI_NH_ASID
        self.sync();
    }

    fn events(&self) -> Vec<[u64; 4]> {
        let prod = self.smmu.read32(EVENTQ_PROD) & 0xff;
        let cons = self.smmu.read32(EVENTQ_CONS) & 0xff;
        (cons..prod)
            .map(|i| {
                let a = EVTQ + (i as u64 & 0x7f) * 32;
                [
                    self.r64(a),
                    self.r64(a + 8),
                    self.r64(a + 16),
                    self.r64(a + 24),
                ]
            })
            .collect()
    }
}

fn dma(smmu: &Smmu, iova: u64, access: DmaAccess) -> Result<Translation, DmaFault> {
    smmu.translate(&DmaRequest::new(DEV, iova, access))
}

#[test]
fn linux_bring_up_translate_and_fault() {
    let mut rig = Rig::new(SmmuConfig::default());
    // Before SMMUEN, GBPA (bypass at reset) lets traffic through.
    assert_eq!(dma(&rig.smmu, 0x1234, DmaAccess::Read).unwrap().gpa, 0x1234);
    rig.bring_up();
    rig.install_s1(0x7f12_3456_7000, 0x50_0000, false);
    let t = dma(&rig.smmu, 0x7f12_3456_7abc, DmaAccess::Write).unwrap();
    assert_eq!(t.gpa, 0x50_0abc);
    assert_eq!(t.page_size, 4096);
    assert!(rig.events().is_empty());

    // Unmapped IOVA → F_TRANSLATION in the event queue + event MSI.
    assert_eq!(
        dma(&rig.smmu, 0x1000, DmaAccess::Read).unwrap_err().kind,
        DmaFaultKind::NotMapped
    );
    let ev = rig.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0][0] & 0xff, 0x10);
    assert_eq!(ev[0][0] >> 32, DEV.bdf as u64);
    assert_eq!(ev[0][2], 0x1000);
    assert!(ev[0][1] & (1 << 35) != 0, "RnW = read");
    assert_eq!(
        rig.irqs.msis.lock().last().copied(),
        Some((
            SmmuIrq::EventQueue,
            MsiMessage {
                address: ITS_DOORBELL,
                data: 0x21
            }
        ))
    );
    // Software consumes.
    let prod = rig.smmu.read32(EVENTQ_PROD);
    rig.smmu.write32(EVENTQ_CONS, prod);

    // Read-only mapping → F_PERMISSION on write.
    rig.install_s1(0x2000, 0x60_0000, true);
    assert!(dma(&rig.smmu, 0x2000, DmaAccess::Read).is_ok());
    assert_eq!(
        dma(&rig.smmu, 0x2000, DmaAccess::Write).unwrap_err().kind,
        DmaFaultKind::Permission
    );
    let ev = rig.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0][0] & 0xff, 0x13);

    // Unknown StreamID (no L1 descriptor): C_BAD_STREAMID only with CR2.RECINVSID.
    let other = RequesterId::new(0, 0x2000);
    assert!(rig
        .smmu
        .translate(&DmaRequest::new(other, 0, DmaAccess::Read))
        .is_err());
    assert_eq!(rig.events().len(), 1);
    rig.smmu.write32(CR2, 0b010);
    assert!(rig
        .smmu
        .translate(&DmaRequest::new(other, 0, DmaAccess::Read))
        .is_err());
    let ev = rig.events();
    assert_eq!(ev.last().unwrap()[0] & 0xff, 0x02);
}

#[test]
fn cmd_sync_msi_writes_memory_like_linux_msipoll() {
    let mut rig = Rig::new(SmmuConfig::default());
    rig.bring_up();
    // Linux polls the CMD_SYNC slot itself: MSIAddress = the command, MSIData = 0.
    let slot = CMDQ + (rig.cmd_prod as u64 & 0xff) * 16;
    let cmd0 = 0x46 | (1 << 12) | (0xabcd_u64 << 32);
    rig.cmd(cmd0, slot);
    assert_eq!(rig.mem.read_plain::<u32>(slot).unwrap(), 0xabcd);
    // To the doorbell instead: goes to the interrupt sink.
    rig.cmd(0x46 | (1 << 12) | (7u64 << 32), ITS_DOORBELL);
    assert_eq!(
        rig.irqs.msis.lock().last().copied(),
        Some((
            SmmuIrq::CmdSync,
            MsiMessage {
                address: ITS_DOORBELL,
                data: 7
            }
        ))
    );
}

#[test]
fn illegal_command_stops_queue_until_gerrorn() {
    let mut rig = Rig::new(SmmuConfig::default());
    rig.bring_up();
    let before = rig.smmu.read32(CMDQ_CONS);
    rig.cmd(0xff, 0); // unknown opcode
    rig.cmd(0x46, 0);
    let cons = rig.smmu.read32(CMDQ_CONS);
    assert_eq!(cons & 0xfffff, before, "CONS stays on the bad command");
    assert_eq!((cons >> 24) & 0x7f, 1, "CERROR_ILL");
    let gerror = rig.smmu.read32(GERROR);
    assert_eq!(gerror & 1, 1);
    assert!(rig
        .irqs
        .msis
        .lock()
        .iter()
        .any(|(s, _)| *s == SmmuIrq::Gerror));
    // Software replaces the command with CMD_SYNC and acknowledges.
    rig.w64(CMDQ + before as u64 * 16, 0x46);
    rig.smmu.write32(GERRORN, gerror);
    assert_eq!(rig.smmu.read32(CMDQ_CONS), rig.cmd_prod);
}

#[test]
fn every_unadvertised_command_is_illegal() {
    for opcode in [
        0x07u64, 0x18, 0x1a, 0x20, 0x21, 0x22, 0x23, 0x40, 0x41, 0x44, 0x45, 0x00, 0x99,
    ] {
        let mut rig = Rig::new(SmmuConfig::default());
        rig.bring_up();
        rig.cmd(opcode, 0);
        assert_eq!(
            (rig.smmu.read32(CMDQ_CONS) >> 24) & 0x7f,
            1,
            "opcode {opcode:#x}"
        );
    }
    // Every listed command is accepted.
    let mut rig = Rig::new(SmmuConfig::default());
    rig.bring_up();
    for (c0, c1) in [
        (0x01u64, 0u64),
        (0x02, 0x1000),
        (0x03 | (5 << 32), 1),
        (0x04 | (4 << 32), 3),
        (0x04, 31),
        (0x05 | (5 << 32), 0),
        (0x06 | (5 << 32), 0),
        (0x10, 0),
        (0x11 | (3 << 48), 0),
        (
            0x12 | (31 << 12) | (31 << 20),
            0xffff_ffff_ffff_fc00 | (3 << 10),
        ),
        (0x13 | (1 << 12), 0x1000 | (1 << 10)),
        (0x28, 0),
        (0x2a | (7 << 12) | (3 << 20), 0x8000 | (2 << 10)),
        (0x30, 0),
        (0x46 | (2 << 12), 0),
    ] {
        rig.cmd(c0, c1);
        assert_eq!(rig.smmu.read32(CMDQ_CONS), rig.cmd_prod, "command {c0:#x}");
    }
}

#[test]
fn cmdq_fetch_abort() {
    let rig = Rig::new(SmmuConfig::default());
    rig.smmu.write64(CMDQ_BASE, (RAM + 0x1000) | 8);
    rig.smmu.write32(CR0, 0b1000);
    rig.smmu.write32(CMDQ_PROD, 1);
    assert_eq!((rig.smmu.read32(CMDQ_CONS) >> 24) & 0x7f, 2, "CERROR_ABT");
    assert_eq!(rig.smmu.read32(GERROR) & 1, 1);
}

/// Hostile: a full event queue sets the overflow flag and writes nothing past it.
#[test]
fn event_queue_overflow() {
    let mut rig = Rig::new(SmmuConfig::default());
    rig.bring_up();
    rig.install_s1(0x8000_0000, 0x50_0000, false);
    // Shrink the event queue to 2 entries (EVENTQEN must be off to rebase).
    rig.cr0(0b1001);
    rig.smmu.write64(EVENTQ_BASE, EVTQ | 1);
    rig.smmu.write32(EVENTQ_PROD, 0);
    rig.smmu.write32(EVENTQ_CONS, 0);
    rig.cr0(0b1101);
    rig.w64(EVTQ + 64, 0x5a5a);
    for i in 0..10 {
        let _ = dma(&rig.smmu, 0x10_0000 + i * 0x1000, DmaAccess::Read);
    }
    let prod = rig.smmu.read32(EVENTQ_PROD);
    assert_eq!(prod & 0b11, 0b10, "full: index 0, wrap 1");
    assert_ne!(prod & EVENTQ_PROD_OVFLG, 0, "overflow flagged");
    assert_eq!(rig.r64(EVTQ + 64), 0x5a5a, "nothing written past the queue");
    // Acknowledge overflow and drain: new events flow again.
    rig.smmu.write32(EVENTQ_CONS, prod);
    let _ = dma(&rig.smmu, 0x10_0000, DmaAccess::Read);
    assert_eq!(rig.smmu.read32(EVENTQ_PROD) & 0b11, 0b11);
}

/// Hostile: CMDQ/EVENTQ LOG2SIZE above the IDR limit is capped; PROD with garbage
/// above the wrap bit never indexes outside the queue.
#[test]
fn hostile_queue_sizes_and_pointers() {
    let rig = Rig::new(SmmuConfig::default());
    rig.smmu.write64(CMDQ_BASE, (RAM - 0x1000) | 31);
    rig.smmu.write32(CR0, 0b1000);
    // With LOG2SIZE capped at 8, the queue is 4 KiB: ends exactly at RAM's end.
    rig.smmu.write32(CMDQ_PROD, 0xfff_ffff);
    let cons = rig.smmu.read32(CMDQ_CONS);
    assert_eq!(
        (cons >> 24) & 0x7f,
        1,
        "zeroed memory is opcode 0: illegal, not an abort"
    );
    rig.smmu.write64(EVENTQ_BASE, EVTQ | 31);
    rig.smmu.write32(EVENTQ_CONS, 0xffff_ffff);
    rig.smmu.write32(CR0, 0b1101);
}

/// Hostile: an event queue beyond RAM raises EVENTQ_ABT_ERR instead of writing.
#[test]
fn event_queue_beyond_ram() {
    let mut rig = Rig::new(SmmuConfig::default());
    rig.bring_up();
    rig.install_s1(0x8000_0000, 0x50_0000, false);
    rig.cr0(0b1001);
    rig.smmu.write64(EVENTQ_BASE, (1 << 40) | 7);
    rig.cr0(0b1101);
    let _ = dma(&rig.smmu, 0x1000, DmaAccess::Read);
    assert_ne!(rig.smmu.read32(GERROR) & (1 << 2), 0);
}

#[test]
fn gbpa_abort_while_disabled() {
    let rig = Rig::new(SmmuConfig::default());
    rig.smmu
        .write32(GBPA, Gbpa::new().with_abort(true).into_bits());
    assert!(
        dma(&rig.smmu, 0x1000, DmaAccess::Read).is_ok(),
        "no UPDATE: ignored"
    );
    rig.smmu.write32(
        GBPA,
        Gbpa::new().with_abort(true).with_update(true).into_bits(),
    );
    assert_eq!(
        dma(&rig.smmu, 0x1000, DmaAccess::Read).unwrap_err().kind,
        DmaFaultKind::Blocked
    );
    let rig = Rig::new(SmmuConfig {
        gbpa_abort_at_reset: true,
        ..SmmuConfig::default()
    });
    assert!(dma(&rig.smmu, 0x1000, DmaAccess::Read).is_err());
}

#[test]
fn msi_wrapper_translates_doorbell_and_tags_device_id() {
    let mut rig = Rig::new(SmmuConfig::default());
    rig.bring_up();
    rig.install_s1(0xffff_f000, ITS_DOORBELL & !0xfff, false);
    let r = rig
        .smmu
        .remap(
            DEV,
            MsiMessage {
                address: 0xffff_f040,
                data: 5,
            },
        )
        .unwrap();
    assert_eq!(r.msg.address, ITS_DOORBELL);
    assert_eq!(r.device_id, Some(0x0108));
    let seg = RequesterId::new(3, 0x0108);
    assert_eq!(its_device_id(seg), 0x0003_0108);
    // Unmapped doorbell: blocked and recorded.
    assert!(rig
        .smmu
        .remap(
            DEV,
            MsiMessage {
                address: 0x7000_0000,
                data: 1
            }
        )
        .is_err());
    assert_eq!(rig.events().last().unwrap()[0] & 0xff, 0x10);
}

#[test]
fn register_access_rules() {
    let rig = Rig::new(SmmuConfig::default());
    // Page 1 and page 0 aliases of EVENTQ_PROD/CONS are the same register.
    rig.smmu.write32(EVENTQ_CONS_PAGE0, 5);
    assert_eq!(rig.smmu.read32(EVENTQ_CONS), 5);
    // 64-bit registers by halves.
    rig.smmu.write32(STRTAB_BASE, 0x1000);
    rig.smmu.write32(STRTAB_BASE + 4, 0x1);
    assert_eq!(rig.smmu.read64(STRTAB_BASE), 0x1_0000_1000);
    // Odd sizes and misaligned accesses: RAZ/WI.
    let mut b = [0xffu8; 2];
    rig.smmu.mmio_read(IDR0, &mut b);
    assert_eq!(b, [0, 0]);
    rig.smmu.mmio_write(CR0 + 1, &[1]);
    assert_eq!(rig.smmu.read32(CR0), 0);
    let mut b = [0xffu8; 8];
    rig.smmu.mmio_read(IDR0, &mut b);
    assert_eq!(b, [0; 8]);
    // IDRs are read-only; past the last register reads zero.
    let idr0 = rig.smmu.read32(IDR0);
    rig.smmu.write32(IDR0, 0);
    assert_eq!(rig.smmu.read32(IDR0), idr0);
    assert_eq!(rig.smmu.read32(Smmu::MMIO_SIZE + 0x100), 0);
    // STRTAB_BASE is ignored while SMMUEN = 1.
    rig.smmu.write32(CR0, 1);
    rig.smmu.write64(STRTAB_BASE, 0x2000);
    assert_eq!(rig.smmu.read64(STRTAB_BASE), 0x1_0000_1000);
}

#[test]
fn inspect_shows_state() {
    let rig = Rig::new(SmmuConfig::default());
    let s = inspect::inspect_to_string(&rig.smmu);
    assert!(s.contains("gbpa"), "{s}");
}
