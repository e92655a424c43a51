//! A small model of Linux's amd_iommu driver and guest memory layout for tests.
#![allow(dead_code)]

use amd_iommu::spec::cmd::opcode;
use amd_iommu::spec::dte::Dte0;
use amd_iommu::spec::dte::Dte1;
use amd_iommu::spec::dte::Dte2;
use amd_iommu::spec::event::Event;
use amd_iommu::spec::pte::Pte;
use amd_iommu::spec::regs::*;
use amd_iommu::AmdIommu;
use amd_iommu::AmdIommuConfig;
use guestmem::GuestMemory;
use iommu_common::MsiMessage;
use iommu_common::MsiSink;
use iommu_common::RemapChangeListener;
use parking_lot::Mutex;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub const RAM: u64 = 0x100_0000;
pub const CMD_BUF: u64 = 0x1_0000;
pub const EVT_LOG: u64 = 0x2_0000;
pub const SEM: u64 = 0x3_0000;
pub const IRT: u64 = 0x4_0000;
pub const DEV_TABLE: u64 = 0x20_0000;
pub const TABLES: u64 = 0x60_0000;
pub const IOMMU_BDF: u16 = 0x0010;

#[derive(Default)]
pub struct Msis(pub Mutex<Vec<MsiMessage>>);

impl MsiSink for Msis {
    fn signal_msi(&self, msg: MsiMessage) {
        self.0.lock().push(msg);
    }
}

#[derive(Default)]
pub struct Listener(pub AtomicU32);

impl RemapChangeListener for Listener {
    fn remapping_changed(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

pub struct Harness {
    pub iommu: Arc<AmdIommu>,
    pub mem: GuestMemory,
    pub msis: Arc<Msis>,
    pub listener: Arc<Listener>,
    pub cmd_tail: u64,
    pub sem_val: u64,
    next_table: u64,
}

impl Harness {
    pub fn new(xtsup: bool) -> Self {
        let mem = GuestMemory::new(&[(0, RAM)]).unwrap();
        let msis = Arc::new(Msis::default());
        let iommu = AmdIommu::new(
            AmdIommuConfig {
                intremap: true,
                xtsup,
                segment: 0,
                iommu_bdf: IOMMU_BDF,
            },
            mem.clone(),
            msis.clone(),
        );
        let listener = Arc::new(Listener::default());
        iommu.set_remap_listener(listener.clone());
        Self {
            iommu,
            mem,
            msis,
            listener,
            cmd_tail: 0,
            sem_val: 0,
            next_table: TABLES,
        }
    }

    pub fn read64(&self, off: u64) -> u64 {
        let mut b = [0; 8];
        self.iommu.mmio_read(off, &mut b);
        u64::from_le_bytes(b)
    }

    pub fn write64(&self, off: u64, v: u64) {
        self.iommu.mmio_write(off, &v.to_le_bytes());
    }

    pub fn read32(&self, off: u64) -> u32 {
        let mut b = [0; 4];
        self.iommu.mmio_read(off, &mut b);
        u32::from_le_bytes(b)
    }

    pub fn write32(&self, off: u64, v: u32) {
        self.iommu.mmio_write(off, &v.to_le_bytes());
    }

    /// `iommu_feature_set` of init.c: read-modify-write of the control register.
    pub fn feature(&self, bit: u32, on: bool) {
        let c = self.read64(CONTROL);
        let c = if on { c | (1 << bit) } else { c & !(1 << bit) };
        self.write64(CONTROL, c);
    }

    pub fn status(&self) -> Status {
        Status::from_bits(self.read32(STATUS).into())
    }

    /// Linux's init order (init.c: early_enable_iommu, then the event log, PCI init
    /// and interrupts).
    pub fn linux_init(&mut self) {
        let xt = self.iommu.config().xtsup;
        // iommu_disable
        for bit in [12, 3, 2, 28, 29, 13, 14, 0, 59] {
            self.feature(bit, false);
        }
        // iommu_init_flags: IVHD flags clear, coherent, 1 s invalidation timeout.
        for bit in [1, 8, 9, 11] {
            self.feature(bit, false);
        }
        self.feature(10, true);
        let c = self.read64(CONTROL) & !(7 << 5);
        self.write64(CONTROL, c | (4 << 5));
        // iommu_set_device_table: 2 MiB (0x1ff + 1 pages).
        self.write64(DEV_TABLE_BASE, DEV_TABLE | 0x1ff);
        // iommu_enable_command_buffer: 512 entries, then reset head and tail.
        self.write64(CMD_BUF_BASE, CMD_BUF | (9 << 56));
        self.feature(12, false);
        self.write32(CMD_BUF_HEAD, 0);
        self.write32(CMD_BUF_TAIL, 0);
        self.cmd_tail = 0;
        self.feature(12, true);
        // iommu_enable_ga, iommu_enable_xt
        self.feature(17, true);
        if xt {
            self.feature(50, true);
        }
        self.feature(0, true);
        self.flush_all();
        // iommu_enable_event_buffer: 512 entries.
        self.write64(EVENT_LOG_BASE, EVT_LOG | (9 << 56));
        self.write32(EVENT_LOG_HEAD, 0);
        self.write32(EVENT_LOG_TAIL, 0);
        self.feature(2, true);
        // amd_iommu_init_pci: capability and EFR, then block every device
        // (init_device_table_dma: V = TV = 1) with interrupt remapping on
        // (init_device_table), then flush again.
        let mut hdr = [0; 4];
        self.iommu.iommu_cap_read(0, &mut hdr);
        assert_ne!(u32::from_le_bytes(hdr) & (1 << 27), 0, "EFRSup");
        assert_eq!(self.read64(EXT_FEATURES), self.iommu.efr());
        for devid in 0..=0x1ffu64 {
            let dte = DEV_TABLE + devid * 32;
            self.mem.write_plain(dte, &0b11u64).unwrap();
            self.mem.write_plain(dte + 16, &1u64).unwrap();
        }
        self.flush_all();
        // amd_iommu_enable_interrupts: INTCAPXT in x2APIC mode, else PCI MSI.
        if xt {
            let xtv = IntCapXt::new()
                .with_vector(0x24)
                .with_dest_lo(0x12_3456)
                .with_dest_hi(0x01);
            self.write64(INTCAPXT_EVT, xtv.into_bits());
            self.write64(INTCAPXT_PPR, xtv.into_bits());
            self.write64(INTCAPXT_GALOG, xtv.into_bits());
            self.feature(51, true);
        } else {
            self.iommu.set_msi(0xfee0_0000, 0x0024, true);
        }
        self.feature(3, true);
    }

    /// Queues one command at the tail and rings the doorbell (iommu_queue_command).
    pub fn queue(&mut self, cmd: [u64; 2]) {
        let size = 512 * 16;
        self.mem.write_plain(CMD_BUF + self.cmd_tail, &cmd).unwrap();
        self.cmd_tail = (self.cmd_tail + 16) % size;
        self.write32(CMD_BUF_TAIL, self.cmd_tail as u32);
    }

    /// COMPLETION_WAIT storing the next semaphore value; returns whether it landed.
    pub fn sync(&mut self) -> bool {
        self.sem_val += 1;
        let cmd0 = SEM | 1 | (u64::from(opcode::COMPLETION_WAIT) << 60);
        self.queue([cmd0, self.sem_val]);
        self.mem.read_plain::<u64>(SEM).unwrap() == self.sem_val
    }

    /// amd_iommu_flush_all_caches with IASup: INVALIDATE_IOMMU_ALL + COMPLETION_WAIT.
    pub fn flush_all(&mut self) {
        self.queue([u64::from(opcode::INVALIDATE_IOMMU_ALL) << 60, 0]);
        assert!(self.sync(), "completion wait");
    }

    pub fn alloc_table(&mut self) -> u64 {
        let t = self.next_table;
        self.next_table += 0x1000;
        self.mem.fill_at(t, 0, 0x1000).unwrap();
        t
    }

    /// Maps `iova` -> `gpa` (4 KiB) in a `levels`-level table rooted at `root`.
    pub fn map(&mut self, root: u64, levels: u8, iova: u64, gpa: u64, ir: bool, iw: bool) {
        let mut table = root;
        for level in (2..=levels).rev() {
            let idx = (iova >> (12 + 9 * (u32::from(level) - 1))) & 511;
            let slot = table + idx * 8;
            let pte = Pte::from_bits(self.mem.read_plain(slot).unwrap());
            table = if pte.pr() {
                pte.address()
            } else {
                let next = self.alloc_table();
                let pde = Pte::new()
                    .with_pr(true)
                    .with_next_level(level - 1)
                    .with_addr(next >> 12)
                    .with_ir(true)
                    .with_iw(true);
                self.mem.write_plain(slot, &pde.into_bits()).unwrap();
                next
            };
        }
        let idx = (iova >> 12) & 511;
        let pte = Pte::new()
            .with_pr(true)
            .with_addr(gpa >> 12)
            .with_ir(ir)
            .with_iw(iw);
        self.mem
            .write_plain(table + idx * 8, &pte.into_bits())
            .unwrap();
    }

    /// set_dte_entry: a translated domain.
    pub fn set_dte(&self, devid: u16, mode: u8, root: u64, domain: u16) {
        let q0 = Dte0::new()
            .with_v(true)
            .with_tv(true)
            .with_mode(mode)
            .with_pt_root(root >> 12)
            .with_ir(true)
            .with_iw(true);
        let q1 = Dte1::new().with_domain_id(domain);
        let base = DEV_TABLE + u64::from(devid) * 32;
        self.mem.write_plain(base, &q0.into_bits()).unwrap();
        self.mem.write_plain(base + 8, &q1.into_bits()).unwrap();
    }

    /// Raw DTE quadword write.
    pub fn set_dte_q(&self, devid: u16, q: usize, value: u64) {
        self.mem
            .write_plain(DEV_TABLE + u64::from(devid) * 32 + q as u64 * 8, &value)
            .unwrap();
    }

    /// The interrupt half of a DTE: remap through `table` with 2^len entries.
    pub fn set_irt(&self, devid: u16, table: u64, len: u8) {
        let q2 = Dte2::new()
            .with_iv(true)
            .with_int_tab_len(len)
            .with_int_table_root(table >> 6)
            .with_int_ctl(2);
        self.set_dte_q(devid, 2, q2.into_bits());
    }

    /// Drains the event log like iommu_poll_events: head to tail, then head = tail.
    pub fn events(&self) -> Vec<Event> {
        let head = self.read32(EVENT_LOG_HEAD) as u64;
        let tail = self.read32(EVENT_LOG_TAIL) as u64;
        let size = 512 * 16;
        let mut out = Vec::new();
        let mut at = head;
        while at != tail {
            let b: [u8; 16] = self.mem.read_plain(EVT_LOG + at).unwrap();
            out.push(Event::from_bytes(&b));
            at = (at + 16) % size;
        }
        self.write32(EVENT_LOG_HEAD, tail as u32);
        out
    }

    pub fn take_msis(&self) -> Vec<MsiMessage> {
        std::mem::take(&mut *self.msis.0.lock())
    }
}
