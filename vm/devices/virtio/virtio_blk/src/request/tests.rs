use super::*;
use crate::backend::FileBackend;
use crate::test_support::FaultingTranslator;
use crate::test_support::TempFile;
use guestmem::GuestMemory;
use iommu_common::DmaTarget;
use iommu_common::IdentityTranslator;
use iommu_common::RequesterIdCell;
use std::sync::Arc;

const DISK: u64 = 1 << 20;
const HDR: u64 = 0x1000;
const DATA: u64 = 0x10000;
const STATUS: u64 = 0x2000;

struct Env {
    mem: GuestMemory,
    dma: DmaTarget,
    translator: Arc<FaultingTranslator>,
    file: TempFile,
    backend: FileBackend,
    bounce: Vec<u8>,
}

fn env(read_only: bool) -> Env {
    let mem = GuestMemory::new(&[(0, 1 << 20)]).unwrap();
    let translator = Arc::new(FaultingTranslator::default());
    let dma = DmaTarget::new(mem.clone(), translator.clone(), RequesterIdCell::new(0, 8));
    let file = TempFile::new(DISK);
    let backend = FileBackend::open(file.path(), read_only).unwrap();
    Env {
        mem,
        dma,
        translator,
        file,
        backend,
        bounce: vec![0; BOUNCE_BYTES],
    }
}

impl Env {
    fn run(&mut self, chain: &[Segment]) -> Result<Completion, RequestError> {
        let id = *b"serial-number-000001";
        let mut ctx = RequestContext {
            mem: &self.dma,
            backend: &self.backend,
            id: &id,
            bounce: &mut self.bounce,
        };
        process(&mut ctx, chain)
    }

    fn header(&self, kind: u32, sector: u64) {
        self.mem.write_plain(HDR, &[kind, 0]).unwrap();
        self.mem.write_plain(HDR + 8, &sector).unwrap();
        self.mem.write_plain(STATUS, &0xffu8).unwrap();
    }

    fn status(&self) -> u8 {
        self.mem.read_plain(STATUS).unwrap()
    }

    fn file_bytes(&self, offset: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        std::os::unix::fs::FileExt::read_exact_at(
            &std::fs::File::open(self.file.path()).unwrap(),
            &mut v,
            offset,
        )
        .unwrap();
        v
    }
}

fn r(addr: u64, len: u32) -> Segment {
    Segment {
        addr,
        len,
        writable: false,
    }
}

fn w(addr: u64, len: u32) -> Segment {
    Segment {
        addr,
        len,
        writable: true,
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

#[test]
fn write_then_read() {
    let mut e = env(false);
    let data = pattern(4096, 7);
    e.mem.write_at(DATA, &data).unwrap();
    e.header(req::OUT, 3);
    let c = e
        .run(&[
            r(HDR, 16),
            r(DATA, 1024),
            r(DATA + 1024, 3072),
            w(STATUS, 1),
        ])
        .unwrap();
    assert_eq!(c.status, blk_status::OK, "{:?}", c.failure);
    assert_eq!(c.used_len, 1);
    assert_eq!(e.status(), blk_status::OK);
    assert_eq!(e.file_bytes(3 * 512, 4096), data);

    e.header(req::IN, 3);
    let c = e
        .run(&[
            r(HDR, 16),
            w(DATA + 0x8000, 512),
            w(DATA + 0x9000, 3584),
            w(STATUS, 1),
        ])
        .unwrap();
    assert_eq!(c.status, blk_status::OK);
    assert_eq!(c.used_len, 4097);
    let mut back = vec![0; 4096];
    e.mem.read_at(DATA + 0x8000, &mut back[..512]).unwrap();
    e.mem.read_at(DATA + 0x9000, &mut back[512..]).unwrap();
    assert_eq!(back, data);
}

#[test]
fn large_read_through_bounce_buffer() {
    let mut e = env(false);
    let data = pattern(200 << 10, 3);
    std::os::unix::fs::FileExt::write_all_at(
        &std::fs::OpenOptions::new()
            .write(true)
            .open(e.file.path())
            .unwrap(),
        &data,
        4096,
    )
    .unwrap();
    e.header(req::IN, 8);
    let c = e
        .run(&[r(HDR, 16), w(DATA, 200 << 10), w(STATUS, 1)])
        .unwrap();
    assert_eq!(c.status, blk_status::OK);
    let mut back = vec![0; 200 << 10];
    e.mem.read_at(DATA, &mut back).unwrap();
    assert_eq!(back, data);
}

#[test]
fn header_and_status_framing_is_free() {
    let mut e = env(false);
    e.header(req::FLUSH, 0);
    // Header split 5 + 11, an empty descriptor, status at the end of a larger buffer.
    let c = e
        .run(&[r(HDR, 5), r(HDR + 5, 11), r(0x3000, 0), w(STATUS - 3, 4)])
        .unwrap();
    assert_eq!(c.status, blk_status::OK);
    assert_eq!(e.status(), blk_status::OK);
}

#[test]
fn get_id() {
    let mut e = env(false);
    e.header(req::GET_ID, 0);
    let c = e.run(&[r(HDR, 16), w(DATA, 20), w(STATUS, 1)]).unwrap();
    assert_eq!(c.status, blk_status::OK);
    assert_eq!(c.used_len, 21);
    assert_eq!(
        e.mem.read_plain::<[u8; 20]>(DATA).unwrap(),
        *b"serial-number-000001"
    );
    // A shorter buffer gets a prefix; a longer one only 20 bytes.
    let c = e
        .run(&[r(HDR, 16), w(DATA + 100, 4), w(STATUS, 1)])
        .unwrap();
    assert_eq!((c.status, c.used_len), (blk_status::OK, 5));
    let c = e
        .run(&[r(HDR, 16), w(DATA + 200, 64), w(STATUS, 1)])
        .unwrap();
    assert_eq!((c.status, c.used_len), (blk_status::OK, 21));
}

#[test]
fn range_and_size_checks() {
    let mut e = env(false);
    for (sector, len) in [
        (DISK / 512, 512u32),
        (DISK / 512 - 1, 1024),
        (u64::MAX, 512),
        (u64::MAX / 512, 1024),
    ] {
        e.header(req::IN, sector);
        let c = e.run(&[r(HDR, 16), w(DATA, len), w(STATUS, 1)]).unwrap();
        assert_eq!(c.status, blk_status::IOERR);
        assert!(matches!(c.failure, Some(Failure::OutOfRange { .. })));
        assert_eq!(e.status(), blk_status::IOERR);
    }
    e.header(req::IN, 0);
    let c = e.run(&[r(HDR, 16), w(DATA, 100), w(STATUS, 1)]).unwrap();
    assert_eq!(c.failure, Some(Failure::Unaligned(100)));
    // Claims more than the cap: fails before touching (nonexistent) memory.
    let c = e
        .run(&[
            r(HDR, 16),
            w(DATA, u32::MAX),
            w(DATA, u32::MAX),
            w(STATUS, 1),
        ])
        .unwrap();
    assert!(matches!(c.failure, Some(Failure::TooLarge(_))));
}

#[test]
fn wrong_directions_and_layout() {
    let mut e = env(false);
    // A read whose data buffer the device may not write.
    e.header(req::IN, 0);
    let c = e.run(&[r(HDR, 16), r(DATA, 512), w(STATUS, 1)]).unwrap();
    assert_eq!(c.failure, Some(Failure::Direction));
    assert_eq!(e.status(), blk_status::IOERR);
    // A write whose data buffer is device-writable.
    e.header(req::OUT, 0);
    let c = e.run(&[r(HDR, 16), w(DATA, 512), w(STATUS, 1)]).unwrap();
    assert_eq!(c.failure, Some(Failure::Direction));
    // Readable after writable.
    e.header(req::IN, 0);
    let c = e
        .run(&[r(HDR, 16), w(DATA, 512), r(DATA, 512), w(STATUS, 1)])
        .unwrap();
    assert_eq!(c.failure, Some(Failure::Layout));
    // Short header.
    let c = e.run(&[r(HDR, 8), w(STATUS, 1)]).unwrap();
    assert_eq!(c.failure, Some(Failure::ShortHeader));
    // Unknown type.
    e.header(0x77, 0);
    let c = e.run(&[r(HDR, 16), w(STATUS, 1)]).unwrap();
    assert_eq!(c.status, blk_status::UNSUPP);
    assert_eq!(e.status(), blk_status::UNSUPP);
}

#[test]
fn no_usable_status() {
    let mut e = env(false);
    e.header(req::IN, 0);
    assert_eq!(e.run(&[]), Err(RequestError::NoStatus));
    assert_eq!(e.run(&[r(HDR, 16)]), Err(RequestError::NoStatus));
    assert_eq!(
        e.run(&[r(HDR, 16), w(DATA, 0)]),
        Err(RequestError::NoStatus)
    );
    assert_eq!(
        e.run(&[r(HDR, 16), w(u64::MAX, 2)]),
        Err(RequestError::NoStatus)
    );
    // Status beyond RAM.
    assert_eq!(
        e.run(&[r(HDR, 16), w(0x4000_0000, 1)]),
        Err(RequestError::StatusWrite(0x4000_0000))
    );
}

#[test]
fn read_only_disk() {
    let mut e = env(true);
    e.header(req::OUT, 0);
    let c = e.run(&[r(HDR, 16), r(DATA, 512), w(STATUS, 1)]).unwrap();
    assert_eq!(c.failure, Some(Failure::ReadOnly));
    e.header(req::IN, 0);
    let c = e.run(&[r(HDR, 16), w(DATA, 512), w(STATUS, 1)]).unwrap();
    assert_eq!(c.status, blk_status::OK);
}

#[test]
fn iommu_faults_fail_the_request() {
    let mut e = env(false);
    // The second data page faults: the read fails, the status still says so.
    e.translator.fault_page(DATA + 0x1000);
    e.header(req::IN, 0);
    let c = e.run(&[r(HDR, 16), w(DATA, 8192), w(STATUS, 1)]).unwrap();
    assert_eq!(c.status, blk_status::IOERR);
    assert_eq!(c.failure, Some(Failure::Dma(DATA + 0x1000)));
    assert_eq!(e.status(), blk_status::IOERR);
    assert!(
        e.translator
            .faults
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 1
    );

    // A write from a faulting page leaves the disk untouched.
    e.mem.write_at(DATA + 0x1000, &[0xaa; 512]).unwrap();
    e.header(req::OUT, 0);
    let c = e
        .run(&[r(HDR, 16), r(DATA + 0x1000, 512), w(STATUS, 1)])
        .unwrap();
    assert_eq!(c.status, blk_status::IOERR);
    assert_eq!(e.file_bytes(0, 512), vec![0; 512]);

    // A header on a faulting page.
    e.translator.fault_page(HDR);
    let c = e.run(&[r(HDR, 16), w(STATUS, 1)]).unwrap();
    assert_eq!(c.failure, Some(Failure::Dma(HDR)));

    // Data written to a page the IOMMU maps read-only.
    e.translator.faulting_pages.lock().clear();
    e.translator.read_only_pages.lock().insert(DATA >> 12);
    e.header(req::IN, 0);
    let c = e.run(&[r(HDR, 16), w(DATA, 512), w(STATUS, 1)]).unwrap();
    assert_eq!(c.failure, Some(Failure::Dma(DATA)));

    // A faulting status byte: the driver cannot learn the outcome.
    e.translator.fault_page(STATUS);
    assert_eq!(
        e.run(&[r(HDR, 16), w(STATUS, 1)]),
        Err(RequestError::StatusWrite(STATUS))
    );
}

#[test]
fn beyond_ram_buffers() {
    let mut e = env(false);
    e.header(req::IN, 0);
    let c = e
        .run(&[r(HDR, 16), w(0x7000_0000, 512), w(STATUS, 1)])
        .unwrap();
    assert_eq!(c.failure, Some(Failure::Dma(0x7000_0000)));
    // A buffer that wraps the address space.
    let c = e
        .run(&[r(HDR, 16), w(u64::MAX - 511, 1024), w(STATUS, 1)])
        .unwrap();
    assert_eq!(c.status, blk_status::IOERR);
}

#[test]
fn identity_translator_round_trip() {
    let mut e = env(false);
    // The same requests through a plain identity DmaTarget.
    e.dma = DmaTarget::new(
        e.mem.clone(),
        Arc::new(IdentityTranslator),
        RequesterIdCell::new(0, 8),
    );
    e.mem.write_at(DATA, &[0x3c; 1024]).unwrap();
    e.header(req::OUT, 100);
    let c = e.run(&[r(HDR, 16), r(DATA, 1024), w(STATUS, 1)]).unwrap();
    assert_eq!(c.status, blk_status::OK);
    e.header(req::IN, 100);
    let c = e
        .run(&[r(HDR, 16), w(DATA + 0x1000, 1024), w(STATUS, 1)])
        .unwrap();
    assert_eq!(c.status, blk_status::OK);
    assert_eq!(
        e.mem.read_plain::<[u8; 4]>(DATA + 0x1000 + 1020).unwrap(),
        [0x3c; 4]
    );
    assert_eq!(e.file_bytes(100 * 512, 1024), vec![0x3c; 1024]);
}
