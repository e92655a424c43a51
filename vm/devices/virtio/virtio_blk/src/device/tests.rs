//! The device as a guest driver sees it: configuration space, BAR, queues end to end.

use super::*;
use crate::backend::FileBackend;
use crate::chain::Descriptor;
use crate::spec::blk_status;
use crate::spec::cap;
use crate::spec::desc;
use crate::spec::req;
use crate::test_support::FaultingTranslator;
use crate::test_support::RecordingDoorbells;
use crate::test_support::RecordingMsi;
use crate::test_support::TempFile;
use guestmem::GuestMemory;
use pci_core::spec as pci;
use std::time::Duration;
use std::time::Instant;

const DISK: u64 = 1 << 20;
const QSIZE: u16 = 16;
const DATA: u64 = 0x20_0000;

struct DQueue {
    base: u64,
    next_desc: u16,
    avail_idx: u16,
}

impl DQueue {
    fn desc(&self) -> u64 {
        self.base
    }
    fn avail(&self) -> u64 {
        self.base + 0x1000
    }
    fn used(&self) -> u64 {
        self.base + 0x2000
    }
}

struct Driver {
    dev: Arc<VirtioBlkDevice>,
    mem: GuestMemory,
    msi: Arc<RecordingMsi>,
    doorbells: Arc<RecordingDoorbells>,
    translator: Arc<FaultingTranslator>,
    file: TempFile,
    queues: Vec<DQueue>,
    qsize: u16,
}

fn device(options: VirtioBlkOptions, read_only: bool) -> Driver {
    let mem = GuestMemory::new(&[(0, 4 << 20)]).unwrap();
    let translator = Arc::new(FaultingTranslator::default());
    let rid = RequesterIdCell::new(0, 0x100);
    let dma = DmaTarget::new(mem.clone(), translator.clone(), rid.clone());
    let file = TempFile::new(DISK);
    let backend = Arc::new(FileBackend::open(file.path(), read_only).unwrap());
    let msi = Arc::new(RecordingMsi::default());
    let doorbells = Arc::new(RecordingDoorbells::default());
    let n = options.num_queues;
    let dev = VirtioBlkDevice::new(
        "vblk",
        options,
        backend,
        dma,
        msi.clone(),
        rid,
        doorbells.clone(),
    )
    .unwrap();
    Driver {
        dev,
        mem,
        msi,
        doorbells,
        translator,
        file,
        queues: (0..n)
            .map(|q| DQueue {
                base: 0x1_0000 * (u64::from(q) + 1) * 4,
                next_desc: 0,
                avail_idx: 0,
            })
            .collect(),
        qsize: QSIZE,
    }
}

fn options(num_queues: u16) -> VirtioBlkOptions {
    VirtioBlkOptions {
        num_queues,
        queue_size: QSIZE,
        serial: "disk-serial".into(),
    }
}

const ALL_FEATURES: u64 = features::VERSION_1
    | features::ACCESS_PLATFORM
    | features::BLK_F_FLUSH
    | features::RING_F_INDIRECT_DESC;

impl Driver {
    fn cw(&self, off: u64, bytes: &[u8]) {
        self.dev.bar_write(0, off, bytes);
    }
    fn cr8(&self, off: u64) -> u8 {
        let mut b = [0u8];
        self.dev.bar_read(0, off, &mut b);
        b[0]
    }
    fn cr16(&self, off: u64) -> u16 {
        let mut b = [0u8; 2];
        self.dev.bar_read(0, off, &mut b);
        u16::from_le_bytes(b)
    }
    fn cr32(&self, off: u64) -> u32 {
        let mut b = [0u8; 4];
        self.dev.bar_read(0, off, &mut b);
        u32::from_le_bytes(b)
    }
    fn status(&self) -> u8 {
        self.cr8(0x14)
    }
    fn set_status(&self, s: u8) {
        self.cw(0x14, &[s]);
    }

    fn find_cap(&self, id: u8) -> Option<u16> {
        let mut at = self.dev.config_read(pci::CAP_PTR, 1) as u16;
        let mut hops = 0;
        while at != 0 && hops < 48 {
            if self.dev.config_read(at, 1) as u8 == id {
                return Some(at);
            }
            at = self.dev.config_read(at + 1, 1) as u16;
            hops += 1;
        }
        None
    }

    fn enable_msix(&self) {
        let cap = self.find_cap(pci::CAP_ID_MSIX).unwrap();
        self.dev.config_write(cap + 2, 2, 0x8000);
        let count = self.dev.config_read(cap + 2, 2) as u64 & 0x7ff;
        for i in 0..=count {
            let e = u64::from(layout::MSIX_TABLE_OFFSET) + 16 * i;
            self.cw(e, &0xfee0_0000u64.to_le_bytes());
            self.cw(e + 8, &(0x40 + i as u32).to_le_bytes());
            self.cw(e + 12, &0u32.to_le_bytes());
        }
    }

    /// Negotiates `features`, sets up every queue (vector = queue + 1, config vector
    /// 0), and sets DRIVER_OK.
    fn bring_up(&mut self, features: u64) {
        self.enable_msix();
        self.set_status(0);
        self.set_status(status::ACKNOWLEDGE | status::DRIVER);
        self.cw(0x08, &0u32.to_le_bytes());
        self.cw(0x0c, &(features as u32).to_le_bytes());
        self.cw(0x08, &1u32.to_le_bytes());
        self.cw(0x0c, &((features >> 32) as u32).to_le_bytes());
        self.set_status(status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK);
        assert_ne!(self.status() & status::FEATURES_OK, 0);
        self.cw(0x10, &0u16.to_le_bytes());
        for (i, q) in self.queues.iter_mut().enumerate() {
            q.next_desc = 0;
            q.avail_idx = 0;
            self.mem.fill_at(q.base, 0, 0x3000).unwrap();
            self.dev.bar_write(0, 0x16, &(i as u16).to_le_bytes());
            self.dev.bar_write(0, 0x18, &self.qsize.to_le_bytes());
            self.dev.bar_write(0, 0x1a, &(i as u16 + 1).to_le_bytes());
            self.dev.bar_write(0, 0x20, &q.desc().to_le_bytes());
            self.dev.bar_write(0, 0x28, &q.avail().to_le_bytes());
            self.dev.bar_write(0, 0x30, &q.used().to_le_bytes());
            self.dev.bar_write(0, 0x1c, &1u16.to_le_bytes());
        }
        self.set_status(
            status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK,
        );
        assert_eq!(self.status() & status::DRIVER_OK, status::DRIVER_OK);
    }

    /// Writes descriptors (chained in order) and makes them available, without a kick.
    fn offer(&mut self, q: usize, bufs: &[(u64, u32, bool)]) -> u16 {
        let qsize = self.qsize;
        let dq = &mut self.queues[q];
        let head = dq.next_desc;
        for (i, &(addr, len, writable)) in bufs.iter().enumerate() {
            let idx = dq.next_desc % qsize;
            let last = i + 1 == bufs.len();
            let d = Descriptor {
                addr,
                len,
                flags: if writable { desc::F_WRITE } else { 0 }
                    | if last { 0 } else { desc::F_NEXT },
                next: (idx + 1) % qsize,
            };
            self.mem
                .write_plain(dq.desc() + 16 * u64::from(idx), &d)
                .unwrap();
            dq.next_desc = (dq.next_desc + 1) % qsize;
        }
        self.publish(q, head);
        head
    }

    fn publish(&mut self, q: usize, head: u16) {
        let qsize = self.qsize;
        let dq = &mut self.queues[q];
        let slot = u64::from(dq.avail_idx % qsize);
        self.mem
            .write_plain(dq.avail() + 4 + 2 * slot, &head)
            .unwrap();
        dq.avail_idx = dq.avail_idx.wrapping_add(1);
        self.mem.write_plain(dq.avail() + 2, &dq.avail_idx).unwrap();
    }

    fn kick(&self, q: u16) {
        // As a vCPU whose write reached userspace would.
        self.dev.bar_write(
            0,
            layout::NOTIFY_OFFSET + 4 * u64::from(q),
            &q.to_le_bytes(),
        );
    }

    fn used_idx(&self, q: usize) -> u16 {
        self.mem.read_plain(self.queues[q].used() + 2).unwrap()
    }

    fn wait_used(&self, q: usize, idx: u16) {
        let start = Instant::now();
        while self.used_idx(q) != idx {
            assert!(start.elapsed() < Duration::from_secs(10), "queue {q} stuck");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn wait_needs_reset(&self) {
        let start = Instant::now();
        while self.status() & status::DEVICE_NEEDS_RESET == 0 {
            assert!(start.elapsed() < Duration::from_secs(10), "no NEEDS_RESET");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn used_elem(&self, q: usize, slot: u16) -> [u32; 2] {
        self.mem
            .read_plain(self.queues[q].used() + 4 + 8 * u64::from(slot % self.qsize))
            .unwrap()
    }

    /// Header at `hdr`, status at `hdr + 16`.
    fn header(&self, hdr: u64, kind: u32, sector: u64) {
        self.mem.write_plain(hdr, &[kind, 0]).unwrap();
        self.mem.write_plain(hdr + 8, &sector).unwrap();
        self.mem.write_plain(hdr + 16, &0xffu8).unwrap();
    }

    fn req_status(&self, hdr: u64) -> u8 {
        self.mem.read_plain(hdr + 16).unwrap()
    }
}

#[test]
fn identity_and_class() {
    let d = device(options(2), false);
    assert_eq!(d.dev.config_read(pci::VENDOR, 2), 0x1af4);
    assert_eq!(d.dev.config_read(pci::DEVICE, 2), 0x1042);
    assert_eq!(d.dev.config_read(pci::CLASS_REVISION, 4), 0x0180_0001);
    assert_eq!(d.dev.config_read(pci::SUBSYSTEM, 2), 2);
    assert_eq!(d.dev.config_read(pci::HEADER_TYPE, 1), 0);
    assert_eq!(d.dev.name(), "vblk");
    assert!(VirtioBlkDevice::new(
        "x",
        options(0),
        Arc::new(FileBackend::open(d.file.path(), false).unwrap()),
        DmaTarget::new(
            d.mem.clone(),
            d.translator.clone(),
            RequesterIdCell::new(0, 0)
        ),
        d.msi.clone(),
        RequesterIdCell::new(0, 0),
        d.doorbells.clone(),
    )
    .is_err());
}

#[test]
fn bar_sizing() {
    let d = device(options(2), false);
    assert_eq!(d.dev.bars(), vec![layout::BAR]);
    d.dev.config_write(pci::BAR0, 4, u32::MAX);
    d.dev.config_write(pci::BAR0 + 4, 4, u32::MAX);
    // 32 KiB, 64-bit, prefetchable.
    assert_eq!(d.dev.config_read(pci::BAR0, 4), 0xffff_800c);
    assert_eq!(d.dev.config_read(pci::BAR0 + 4, 4), u32::MAX);
    // The other BARs are not implemented.
    d.dev.config_write(pci::BAR0 + 8, 4, u32::MAX);
    assert_eq!(d.dev.config_read(pci::BAR0 + 8, 4), 0);
}

#[test]
fn capability_chain() {
    let d = device(options(3), false);
    assert_ne!(
        d.dev.config_read(pci::STATUS, 2) as u16 & pci::STATUS_CAP_LIST,
        0
    );
    let mut at = d.dev.config_read(pci::CAP_PTR, 1) as u16;
    let mut ids = Vec::new();
    let mut vendor = Vec::new();
    while at != 0 {
        let id = d.dev.config_read(at, 1) as u8;
        ids.push(id);
        if id == pci::CAP_ID_VENDOR {
            let cfg_type = d.dev.config_read(at + 3, 1) as u8;
            let cap_len = d.dev.config_read(at + 2, 1) as u8;
            let bar = d.dev.config_read(at + 4, 1) as u8;
            let offset = d.dev.config_read(at + 8, 4);
            let length = d.dev.config_read(at + 12, 4);
            vendor.push((cfg_type, cap_len, bar, offset, length));
            if cfg_type == cap::NOTIFY_CFG {
                assert_eq!(d.dev.config_read(at + 16, 4), layout::NOTIFY_MULTIPLIER);
            }
        }
        at = d.dev.config_read(at + 1, 1) as u16;
        assert!(ids.len() < 16);
    }
    assert_eq!(ids[..2], [pci::CAP_ID_PCIE, pci::CAP_ID_MSIX]);
    assert_eq!(
        vendor,
        vec![
            (cap::COMMON_CFG, 16, 0, 0, 0x40),
            (cap::NOTIFY_CFG, 20, 0, 0x3000, 12),
            (cap::ISR_CFG, 16, 0, 0x1000, 1),
            (cap::DEVICE_CFG, 16, 0, 0x2000, 0x40),
            (cap::PCI_CFG, 20, 0, 0, 0),
        ]
    );
    // PCIe endpoint; MSI-X with 4 vectors, table and PBA in BAR 0.
    let pcie = d.find_cap(pci::CAP_ID_PCIE).unwrap();
    assert_eq!((d.dev.config_read(pcie + 2, 2) >> 4) & 0xf, 0);
    let msix = d.find_cap(pci::CAP_ID_MSIX).unwrap();
    assert_eq!(d.dev.config_read(msix + 2, 2) & 0x7ff, 3);
    assert_eq!(d.dev.config_read(msix + 4, 4), layout::MSIX_TABLE_OFFSET);
    assert_eq!(d.dev.config_read(msix + 8, 4), layout::MSIX_PBA_OFFSET);
    // The vendor capabilities are read-only for the guest.
    d.dev.config_write(msix + 12 + 8, 4, 0x1234);
}

#[test]
fn device_features_and_config() {
    let d = device(options(2), true);
    let f = u64::from(d.cr32(0x04)) | {
        d.cw(0x00, &1u32.to_le_bytes());
        u64::from(d.cr32(0x04)) << 32
    };
    for bit in [
        features::VERSION_1,
        features::ACCESS_PLATFORM,
        features::BLK_F_FLUSH,
        features::BLK_F_SEG_MAX,
        features::BLK_F_BLK_SIZE,
        features::BLK_F_MQ,
        features::BLK_F_RO,
        features::RING_F_INDIRECT_DESC,
    ] {
        assert_ne!(f & bit, 0, "{bit:#x}");
    }
    assert_eq!(f & features::RING_F_EVENT_IDX, 0);
    let mut cap = [0u8; 8];
    d.dev.bar_read(0, layout::DEVICE_CFG_OFFSET, &mut cap);
    assert_eq!(u64::from_le_bytes(cap), DISK / 512);
    assert_eq!(d.cr16(layout::DEVICE_CFG_OFFSET + 34), 2);
    // Single-queue, writable devices offer neither MQ nor RO.
    let d = device(options(1), false);
    assert_eq!(
        d.cr32(0x04) as u64 & (features::BLK_F_MQ | features::BLK_F_RO),
        0
    );
}

#[test]
fn doorbells_follow_bar_mapping() {
    let d = device(options(2), false);
    d.dev.bar_mapped(0, Some(0xe000_0000));
    d.dev.bar_mapped(1, Some(0x1234)); // not a BAR of ours
    d.dev.bar_mapped(0, Some(0x1_0000_0000));
    d.dev.bar_mapped(0, None);
    assert_eq!(
        *d.doorbells.log.lock(),
        vec![
            (true, 0xe000_3000, 2, None),
            (true, 0xe000_3004, 2, None),
            (false, 0xe000_3000, 2, None),
            (false, 0xe000_3004, 2, None),
            (true, 0x1_0000_3000, 2, None),
            (true, 0x1_0000_3004, 2, None),
            (false, 0x1_0000_3000, 2, None),
            (false, 0x1_0000_3004, 2, None),
        ]
    );
    // The registered eventfd is the queue's doorbell.
    d.dev.bar_mapped(0, Some(0xe000_0000));
    let events = d.doorbells.events.lock();
    events[1].1.write(1).unwrap();
    assert_eq!(d.dev.doorbell(1).unwrap().read().unwrap(), 1);
    assert!(d.dev.doorbell(2).is_none());
}

#[test]
fn write_read_flush_get_id_with_msix() {
    let mut d = device(options(2), false);
    d.bring_up(ALL_FEATURES);
    let pattern: Vec<u8> = (0..4096u32).map(|i| (i * 7) as u8).collect();
    d.mem.write_at(DATA, &pattern).unwrap();
    let hdr = 0x30_0000;
    d.header(hdr, req::OUT, 8);
    d.offer(
        0,
        &[(hdr, 16, false), (DATA, 4096, false), (hdr + 16, 1, true)],
    );
    d.kick(0);
    d.wait_used(0, 1);
    assert_eq!(d.req_status(hdr), blk_status::OK);
    let mut disk = vec![0u8; 4096];
    std::os::unix::fs::FileExt::read_exact_at(
        &std::fs::File::open(d.file.path()).unwrap(),
        &mut disk,
        8 * 512,
    )
    .unwrap();
    assert_eq!(disk, pattern);
    // Queue 0 uses vector 1.
    assert_eq!(d.msi.signals(1), 1);

    // Read it back on queue 1 (vector 2), kicked through the registered eventfd.
    let hdr = 0x30_1000;
    d.header(hdr, req::IN, 8);
    d.offer(
        1,
        &[
            (hdr, 16, false),
            (DATA + 0x4000, 4096, true),
            (hdr + 16, 1, true),
        ],
    );
    d.dev.doorbell(1).unwrap().write(1).unwrap();
    d.wait_used(1, 1);
    assert_eq!(d.req_status(hdr), blk_status::OK);
    assert_eq!(d.used_elem(1, 0), [0, 4097]);
    let mut back = vec![0u8; 4096];
    d.mem.read_at(DATA + 0x4000, &mut back).unwrap();
    assert_eq!(back, pattern);
    let start = Instant::now();
    while d.msi.signals(2) == 0 {
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::yield_now();
    }

    // Flush and GET_ID.
    let hdr = 0x30_2000;
    d.header(hdr, req::FLUSH, 0);
    d.offer(0, &[(hdr, 16, false), (hdr + 16, 1, true)]);
    let hdr2 = 0x30_3000;
    d.header(hdr2, req::GET_ID, 0);
    d.offer(
        0,
        &[
            (hdr2, 16, false),
            (DATA + 0x8000, 20, true),
            (hdr2 + 16, 1, true),
        ],
    );
    d.kick(0);
    d.wait_used(0, 3);
    assert_eq!(d.req_status(hdr), blk_status::OK);
    assert_eq!(d.req_status(hdr2), blk_status::OK);
    assert_eq!(
        d.mem.read_plain::<[u8; 20]>(DATA + 0x8000).unwrap(),
        *b"disk-serial\0\0\0\0\0\0\0\0\0"
    );
    // ISR shows queue interrupts and clears on read.
    assert_eq!(d.cr8(layout::ISR_OFFSET) & 1, 1);
    assert_eq!(d.cr8(layout::ISR_OFFSET), 0);
    let node = inspect::inspect_to_string(&*d.dev);
    assert!(node.contains("requests"), "{node}");
}

#[test]
fn no_interrupt_when_suppressed_or_masked() {
    let mut d = device(options(1), false);
    d.bring_up(ALL_FEATURES);
    d.mem
        .write_plain(d.queues[0].avail(), &crate::spec::AVAIL_F_NO_INTERRUPT)
        .unwrap();
    let hdr = 0x30_0000;
    d.header(hdr, req::FLUSH, 0);
    d.offer(0, &[(hdr, 16, false), (hdr + 16, 1, true)]);
    d.kick(0);
    d.wait_used(0, 1);
    assert_eq!(d.msi.signals(1), 0);
    // Masked vector: pending bit instead of a signal, delivered on unmask.
    d.mem.write_plain(d.queues[0].avail(), &0u16).unwrap();
    let e = u64::from(layout::MSIX_TABLE_OFFSET) + 16;
    d.cw(e + 12, &1u32.to_le_bytes());
    d.offer(0, &[(hdr, 16, false), (hdr + 16, 1, true)]);
    d.kick(0);
    d.wait_used(0, 2);
    let start = Instant::now();
    loop {
        let mut pba = [0u8; 8];
        d.dev
            .bar_read(0, u64::from(layout::MSIX_PBA_OFFSET), &mut pba);
        if pba[0] & 2 != 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::yield_now();
    }
    assert_eq!(d.msi.signals(1), 0);
    d.cw(e + 12, &0u32.to_le_bytes());
    assert_eq!(d.msi.signals(1), 1);
}

#[test]
fn iommu_fault_fails_request_and_device_continues() {
    let mut d = device(options(1), false);
    d.bring_up(ALL_FEATURES);
    d.translator.fault_page(DATA + 0x1000);
    let hdr = 0x30_0000;
    d.header(hdr, req::IN, 0);
    d.offer(
        0,
        &[(hdr, 16, false), (DATA, 8192, true), (hdr + 16, 1, true)],
    );
    d.kick(0);
    d.wait_used(0, 1);
    assert_eq!(d.req_status(hdr), blk_status::IOERR);
    assert_eq!(d.status() & status::DEVICE_NEEDS_RESET, 0);
    // Next request works.
    d.header(hdr, req::IN, 0);
    d.offer(
        0,
        &[(hdr, 16, false), (DATA, 4096, true), (hdr + 16, 1, true)],
    );
    d.kick(0);
    d.wait_used(0, 2);
    assert_eq!(d.req_status(hdr), blk_status::OK);
    // A faulting used ring: the queue is unusable.
    d.translator.fault_page(d.queues[0].used());
    d.offer(0, &[(hdr, 16, false), (hdr + 16, 1, true)]);
    d.kick(0);
    d.wait_needs_reset();
}

#[test]
fn descriptor_loop_needs_reset_then_reset_recovers() {
    let mut d = device(options(2), false);
    d.bring_up(ALL_FEATURES);
    let config_signals = d.msi.signals(0);
    // Descriptor 0 -> 1 -> 0 ...
    let q = &d.queues[0];
    for (i, next) in [(0u64, 1u16), (1, 0)] {
        d.mem
            .write_plain(
                q.desc() + 16 * i,
                &Descriptor {
                    addr: 0x30_0000,
                    len: 16,
                    flags: desc::F_NEXT,
                    next,
                },
            )
            .unwrap();
    }
    d.publish(0, 0);
    d.kick(0);
    d.wait_needs_reset();
    // Announced with a configuration change on vector 0.
    let start = Instant::now();
    while d.msi.signals(0) == config_signals {
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::yield_now();
    }
    assert_eq!(d.cr8(layout::ISR_OFFSET) & 2, 2);
    // Queue 1 still works.
    let hdr = 0x30_0000;
    d.header(hdr, req::FLUSH, 0);
    d.offer(1, &[(hdr, 16, false), (hdr + 16, 1, true)]);
    d.kick(1);
    d.wait_used(1, 1);
    // Reset clears it; the device works again.
    d.set_status(0);
    assert_eq!(d.status(), 0);
    d.bring_up(ALL_FEATURES);
    d.header(hdr, req::FLUSH, 0);
    d.offer(0, &[(hdr, 16, false), (hdr + 16, 1, true)]);
    d.kick(0);
    d.wait_used(0, 1);
    assert_eq!(d.req_status(hdr), blk_status::OK);
}

#[test]
fn hostile_rings() {
    // Each case leaves the device asking for a reset, nothing worse.
    type Case = fn(&mut Driver);
    let cases: [(&str, Case); 5] = [
        ("head out of range", |d| d.publish(0, QSIZE + 3)),
        ("next out of range", |d| {
            let q = &d.queues[0];
            d.mem
                .write_plain(
                    q.desc(),
                    &Descriptor {
                        addr: 0x30_0000,
                        len: 16,
                        flags: desc::F_NEXT,
                        next: 0xffff,
                    },
                )
                .unwrap();
            d.publish(0, 0);
        }),
        ("avail index jump", |d| {
            let q = &d.queues[0];
            d.mem.write_plain(q.avail() + 2, &(QSIZE + 1)).unwrap();
        }),
        ("descriptor beyond RAM", |d| {
            // Indirect table beyond guest memory.
            let q = &d.queues[0];
            d.mem
                .write_plain(
                    q.desc(),
                    &Descriptor {
                        addr: 0x1_0000_0000,
                        len: 64,
                        flags: desc::F_INDIRECT,
                        next: 0,
                    },
                )
                .unwrap();
            d.publish(0, 0);
        }),
        ("no status byte", |d| {
            d.header(0x30_0000, req::IN, 0);
            d.offer(0, &[(0x30_0000, 16, false), (DATA, 512, false)]);
        }),
    ];
    for (name, case) in cases {
        let mut d = device(options(1), false);
        d.bring_up(ALL_FEATURES);
        case(&mut d);
        d.kick(0);
        d.wait_needs_reset();
        assert_eq!(d.used_idx(0), 0, "{name}");
    }
}

#[test]
fn bad_queue_setup_needs_reset() {
    let d = device(options(1), false);
    d.cw(0x18, &100u16.to_le_bytes());
    d.cw(0x1c, &1u16.to_le_bytes());
    assert_ne!(d.status() & status::DEVICE_NEEDS_RESET, 0);
    d.set_status(0);
    assert_eq!(d.status(), 0);
}

#[test]
fn read_only_rejects_writes_and_too_long_chain_fails() {
    let mut d = device(options(1), true);
    d.bring_up(ALL_FEATURES | features::BLK_F_RO);
    let hdr = 0x30_0000;
    d.header(hdr, req::OUT, 0);
    d.offer(
        0,
        &[(hdr, 16, false), (DATA, 512, false), (hdr + 16, 1, true)],
    );
    d.kick(0);
    d.wait_used(0, 1);
    assert_eq!(d.req_status(hdr), blk_status::IOERR);
    // A chain of QSIZE + 1 descriptors (through an indirect table) is refused.
    let table = 0x31_0000u64;
    for i in 0..=QSIZE {
        d.mem
            .write_plain(
                table + 16 * u64::from(i),
                &Descriptor {
                    addr: hdr,
                    len: 16,
                    flags: desc::F_NEXT,
                    next: i + 1,
                },
            )
            .unwrap();
    }
    let head = d.offer(0, &[(table, 16 * (u32::from(QSIZE) + 1), false)]);
    let q = &d.queues[0];
    d.mem
        .write_plain(
            q.desc() + 16 * u64::from(head),
            &Descriptor {
                addr: table,
                len: 16 * (u32::from(QSIZE) + 1),
                flags: desc::F_INDIRECT,
                next: 0,
            },
        )
        .unwrap();
    d.kick(0);
    d.wait_needs_reset();
}

#[test]
fn bounded_batches_under_a_flood() {
    let mut d = device(
        VirtioBlkOptions {
            queue_size: 256,
            ..options(1)
        },
        false,
    );
    d.qsize = 256;
    d.bring_up(ALL_FEATURES);
    // 200 requests (all the same FLUSH chain) available before the first kick: far
    // more than one batch.
    let hdr = 0x30_0000;
    d.header(hdr, req::FLUSH, 0);
    let head = d.offer(0, &[(hdr, 16, false), (hdr + 16, 1, true)]);
    let total = 200u16;
    for _ in 1..total {
        d.publish(0, head);
    }
    d.kick(0);
    d.wait_used(0, total);
    let stats = &d.dev.shared.stats[0];
    assert_eq!(stats.requests.load(Ordering::SeqCst), u64::from(total));
    assert!(
        stats.wakeups.load(Ordering::SeqCst)
            >= u64::from(total).div_ceil(crate::worker::BATCH as u64)
    );
    assert!(stats.interrupts.load(Ordering::SeqCst) >= 3);
}

#[test]
fn pci_cfg_window_reaches_the_bar() {
    let d = device(options(2), false);
    let w = d.dev.pci_cfg;
    // Read num_queues (common config 0x12) through the window.
    d.dev.config_write(w.bar(), 1, 0);
    d.dev.config_write(w.offset(), 4, 0x12);
    d.dev.config_write(w.length(), 4, 2);
    assert_eq!(d.dev.config_read(w.data(), 4) & 0xffff, 2);
    // Write device_status through it.
    d.dev.config_write(w.offset(), 4, 0x14);
    d.dev.config_write(w.length(), 4, 1);
    d.dev
        .config_write(w.data(), 4, u32::from(status::ACKNOWLEDGE));
    assert_eq!(d.status(), status::ACKNOWLEDGE);
    // Invalid windows do nothing.
    d.dev.config_write(w.length(), 4, 3);
    d.dev.config_write(w.data(), 4, 0);
    d.dev.config_write(w.offset(), 4, 0xffff_fffc);
    d.dev.config_write(w.length(), 4, 4);
    d.dev.config_read(w.data(), 4);
    d.dev.config_write(w.bar(), 1, 5);
    d.dev.config_write(w.data(), 4, 0);
    assert_eq!(d.status(), status::ACKNOWLEDGE);
}

#[test]
fn hostile_bar_accesses() {
    let d = device(options(2), false);
    let mut big = [0u8; 64];
    for off in [
        0x3c,
        0xfff,
        0x1001,
        0x2038,
        0x3008,
        0x7ff8,
        0x8000,
        u64::MAX - 8,
    ] {
        d.dev.bar_read(0, off, &mut big);
        d.dev.bar_write(0, off, &big);
        d.dev.bar_read(0, off, &mut big[..1]);
        d.dev.bar_write(0, off, &big[..3]);
    }
    d.dev.bar_read(3, 0, &mut big);
    assert!(big.iter().all(|&b| b == 0xff));
    d.dev.bar_write(3, 0, &big);
    // Config space out of range.
    assert_eq!(d.dev.config_read(0xfff, 4), u32::MAX);
    d.dev.config_write(0xffe, 4, 0);
}
