//! Shared rig for the whole-device integration tests: guest RAM, an SMMU brought up
//! the way Linux does it (linear stream table, queues, IRQs), STE/CD writers, a page
//! table builder for every granule, and event-queue reading.
#![allow(dead_code)]

use guestmem::GuestMemory;
use iommu_common::*;
use parking_lot::Mutex;
use smmu::spec::event::EventRecord;
use smmu::spec::regs::*;
use smmu::walk::Granule;
use smmu::*;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub const RAM: u64 = 64 << 20;
pub const ITS_DOORBELL: u64 = 0x0808_0040;
pub const STRTAB: u64 = 0x10_0000;
pub const STRTAB_LOG2: u8 = 8;
pub const CMDQ: u64 = 0x20_0000;
pub const EVTQ: u64 = 0x21_0000;
/// Event queue: 2^7 entries.
pub const EVTQ_LOG2: u32 = 7;

pub const AF: u64 = 1 << 10;
/// Stage 1 leaf attributes: unprivileged read/write.
pub const S1_RW: u64 = AF | (1 << 6);
/// Stage 1 leaf attributes: unprivileged read-only.
pub const S1_RO: u64 = AF | (3 << 6);
/// Stage 2 leaf attributes: S2AP = `ap` (bit 0 read, bit 1 write).
pub const fn s2_attrs(ap: u64) -> u64 {
    AF | (ap << 6)
}

/// Records every interrupt the SMMU raises. MSIs to `ITS_DOORBELL` are accepted,
/// anything else aborts.
#[derive(Default)]
pub struct Irqs {
    pub msis: Mutex<Vec<(SmmuIrq, MsiMessage)>>,
    pub wired: Mutex<Vec<SmmuIrq>>,
    pub sevs: AtomicUsize,
}

impl SmmuInterrupts for Irqs {
    fn msi(&self, source: SmmuIrq, msg: MsiMessage) -> bool {
        self.msis.lock().push((source, msg));
        msg.address == ITS_DOORBELL
    }
    fn wired(&self, source: SmmuIrq) {
        self.wired.lock().push(source);
    }
    fn sev(&self) {
        self.sevs.fetch_add(1, Ordering::SeqCst);
    }
}

pub struct Rig {
    pub smmu: Smmu,
    pub mem: GuestMemory,
    pub irqs: Arc<Irqs>,
    pub cmd_prod: u32,
}

pub fn req(sid: u16, iova: u64, write: bool) -> DmaRequest {
    let access = if write {
        DmaAccess::Write
    } else {
        DmaAccess::Read
    };
    DmaRequest::new(RequesterId::new(0, sid), iova, access)
}

impl Rig {
    pub fn new(cfg: SmmuConfig) -> Self {
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

    /// A default SMMU, brought up.
    pub fn up() -> Self {
        let mut rig = Rig::new(SmmuConfig::default());
        rig.bring_up();
        rig
    }

    pub fn w64(&self, gpa: u64, v: u64) {
        self.mem.write_plain(gpa, &v).unwrap();
    }

    pub fn r64(&self, gpa: u64) -> u64 {
        self.mem.read_plain::<u64>(gpa).unwrap()
    }

    pub fn cmd(&mut self, c0: u64, c1: u64) {
        let idx = self.cmd_prod & 0xff;
        self.w64(CMDQ + idx as u64 * 16, c0);
        self.w64(CMDQ + idx as u64 * 16 + 8, c1);
        self.cmd_prod = (self.cmd_prod + 1) & 0x1ff;
        self.smmu.write32(CMDQ_PROD, self.cmd_prod);
    }

    /// CMD_SYNC (SIG_NONE), checked consumed.
    pub fn sync(&mut self) {
        self.cmd(0x46, 0);
        assert_eq!(
            self.smmu.read32(CMDQ_CONS),
            self.cmd_prod,
            "CMD_SYNC consumed"
        );
    }

    pub fn cr0(&self, v: u32) {
        self.smmu.write32(CR0, v);
        assert_eq!(self.smmu.read32(CR0ACK), v);
    }

    /// Linear stream table of 2^STRTAB_LOG2 STEs, queues, event/GERROR MSIs to the
    /// doorbell, everything enabled.
    pub fn bring_up(&mut self) {
        self.cr0(0);
        self.smmu.write64(STRTAB_BASE, STRTAB);
        self.smmu.write32(
            STRTAB_BASE_CFG,
            StrtabBaseCfg::new().with_log2size(STRTAB_LOG2).into_bits(),
        );
        self.smmu.write64(CMDQ_BASE, CMDQ | 8);
        self.smmu.write64(EVENTQ_BASE, EVTQ | EVTQ_LOG2 as u64);
        self.cr0(0b1000);
        self.cmd(0x04, 31); // CFGI_ALL
        self.cmd(0x30, 0); // TLBI_NSNH_ALL
        self.sync();
        self.cr0(0b1100);
        self.smmu.write64(EVENTQ_IRQ_CFG0, ITS_DOORBELL);
        self.smmu.write32(EVENTQ_IRQ_CFG1, 0x21);
        self.smmu.write64(GERROR_IRQ_CFG0, ITS_DOORBELL);
        self.smmu.write32(GERROR_IRQ_CFG1, 0x22);
        self.smmu.write32(IRQ_CTRL, 0b101);
        self.cr0(0b1101);
    }

    pub fn write_ste(&self, sid: u64, ste: [u64; 8]) {
        for (i, d) in ste.iter().enumerate() {
            self.w64(STRTAB + sid * 64 + i as u64 * 8, *d);
        }
    }

    /// CFGI_STE (leaf) + CMD_SYNC.
    pub fn cfgi_ste(&mut self, sid: u64) {
        self.cmd(0x03 | (sid << 32), 1);
        self.sync();
    }

    /// CFGI_CD for SSID 0 + CMD_SYNC.
    pub fn cfgi_cd(&mut self, sid: u64) {
        self.cmd(0x05 | (sid << 32), 1);
        self.sync();
    }

    /// Events between CONS and PROD; consumes them.
    pub fn take_events(&self) -> Vec<EventRecord> {
        let mask = (1u32 << (EVTQ_LOG2 + 1)) - 1;
        let prod = self.smmu.read32(EVENTQ_PROD);
        let mut cons = self.smmu.read32(EVENTQ_CONS) & mask;
        let mut out = Vec::new();
        while cons != prod & mask {
            let a = EVTQ + (cons as u64 & ((1 << EVTQ_LOG2) - 1)) * 32;
            out.push(EventRecord([
                self.r64(a),
                self.r64(a + 8),
                self.r64(a + 16),
                self.r64(a + 24),
            ]));
            cons = (cons + 1) & mask;
        }
        self.smmu.write32(EVENTQ_CONS, cons);
        out
    }

    /// Exactly one new event.
    pub fn one_event(&self) -> EventRecord {
        let ev = self.take_events();
        assert_eq!(ev.len(), 1, "{ev:x?}");
        ev[0]
    }

    pub fn dma(&self, sid: u16, iova: u64, write: bool) -> Result<Translation, DmaFault> {
        self.smmu.translate(&req(sid, iova, write))
    }

    pub fn dma_ssid(
        &self,
        sid: u16,
        ssid: u32,
        iova: u64,
        write: bool,
    ) -> Result<Translation, DmaFault> {
        self.smmu.translate(&req(sid, iova, write).with_pasid(ssid))
    }
}

/// CD.TG0 / STE.S2TG encoding of a granule.
pub const fn tg(g: Granule) -> u64 {
    match g {
        Granule::K4 => 0,
        Granule::K64 => 1,
        Granule::K16 => 2,
    }
}

/// STE.S2SL0 for a stage 2 start level.
pub fn s2sl0(g: Granule, level: u8) -> u64 {
    match (g, level) {
        (Granule::K4, l) => 2 - l as u64,
        (_, l) => 3 - l as u64,
    }
}

/// STE word 0 for `config` with a linear CD table at `cd` of 2^`cdmax` CDs.
pub fn ste0(config: u64, cd: u64, cdmax: u64) -> u64 {
    1 | (config << 1) | cd | (cdmax << 59)
}

/// Stage 2 STE words 2 and 3: S2R set, S2AA64, 48-bit S2PS.
pub fn ste_s2(g: Granule, ipa_bits: u32, level: u8, ttb: u64) -> [u64; 2] {
    let w2 = ((64 - ipa_bits as u64) << 32)
        | (s2sl0(g, level) << 38)
        | (tg(g) << 46)
        | (5 << 48)
        | (1 << 51)
        | (1 << 58);
    [w2, ttb]
}

/// CD words 0 and 1: TTB0 only, V, AA64, R, 48-bit IPS, ASID.
pub fn cd(g: Granule, va_bits: u32, ttb: u64, asid: u64) -> [u64; 2] {
    let w0 = (64 - va_bits as u64)
        | (tg(g) << 6)
        | (1 << 30)
        | (1 << 31)
        | (5 << 32)
        | (1 << 41)
        | (1 << 45)
        | (asid << 48);
    [w0, ttb]
}

/// Builds translation tables in guest memory for one granule and input size. Tables
/// live in a "table space" (PA, or IPA for a nested stage 1) backed linearly by PAs.
pub struct Tables {
    pub granule: Granule,
    pub input_bits: u32,
    pub start_level: u8,
    /// Root table address in table space.
    pub root: u64,
    next: u64,
    space_base: u64,
    pa_base: u64,
}

impl Tables {
    /// Tables allocated from `space_base` in table space, written at `pa_base`.
    pub fn new(
        g: Granule,
        input_bits: u32,
        start_level: u8,
        space_base: u64,
        pa_base: u64,
    ) -> Self {
        let start_bits = input_bits - g.level_shift(start_level);
        let root_size = (8u64 << start_bits).max(1 << g.shift());
        Tables {
            granule: g,
            input_bits,
            start_level,
            root: space_base,
            next: space_base + root_size,
            space_base,
            pa_base,
        }
    }

    /// The PA backing table-space address `a`.
    pub fn pa(&self, a: u64) -> u64 {
        a - self.space_base + self.pa_base
    }

    /// Bytes of table space used so far.
    pub fn used(&self) -> u64 {
        self.next - self.space_base
    }

    fn index(&self, va: u64, level: u8) -> u64 {
        let shift = self.granule.level_shift(level);
        let bits = if level == self.start_level {
            self.input_bits - shift
        } else {
            self.granule.stride()
        };
        (va >> shift) & ((1 << bits) - 1)
    }

    /// Address (table space) of the descriptor for `va` at `leaf_level`, creating
    /// intermediate tables.
    pub fn slot(&mut self, mem: &GuestMemory, va: u64, leaf_level: u8) -> u64 {
        let mut table = self.root;
        for level in self.start_level..leaf_level {
            let addr = table + self.index(va, level) * 8;
            let d: u64 = mem.read_plain(self.pa(addr)).unwrap();
            table = if d & 3 == 3 {
                d & 0x0000_ffff_ffff_f000 & !((1 << self.granule.shift()) - 1)
            } else {
                let t = self.next;
                self.next += 1 << self.granule.shift();
                mem.write_plain(self.pa(addr), &(t | 3)).unwrap();
                t
            };
        }
        table + self.index(va, leaf_level) * 8
    }

    /// Maps `va` to `oa` with a page (level 3) or block (levels 1-2) of `attrs`.
    pub fn map(&mut self, mem: &GuestMemory, va: u64, oa: u64, level: u8, attrs: u64) {
        let slot = self.slot(mem, va, level);
        let kind = if level == 3 { 0b11 } else { 0b01 };
        mem.write_plain(self.pa(slot), &(oa | attrs | kind))
            .unwrap();
    }
}
