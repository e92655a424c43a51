use super::*;
use guestmem::GuestMemory;
use iommu_common::DmaFault;
use iommu_common::DmaFaultKind;
use iommu_common::DmaPerms;
use iommu_common::DmaRequest;
use iommu_common::DmaTranslator;
use iommu_common::MsiMessage;
use iommu_common::Translation;
use pci_core::MsiVector;
use std::collections::BTreeSet;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering;

#[derive(Default)]
struct Vector(AtomicU32);

impl MsiVector for Vector {
    fn set_message(&self, _msg: Option<MsiMessage>) {}
    fn signal(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Default)]
struct Msi(Mutex<Vec<Arc<Vector>>>);

impl MsiController for Msi {
    fn new_vector(&self, _rid: RequesterIdCell) -> Arc<dyn MsiVector> {
        let v = Arc::new(Vector::default());
        self.0.lock().push(v.clone());
        v
    }
}

/// Identity, but the listed pages fault.
#[derive(Default)]
struct Faulting(Mutex<BTreeSet<u64>>);

impl DmaTranslator for Faulting {
    fn translate(&self, req: &DmaRequest) -> Result<Translation, DmaFault> {
        if self.0.lock().contains(&(req.iova >> 12)) {
            return Err(DmaFault {
                request: *req,
                kind: DmaFaultKind::NotMapped,
            });
        }
        Ok(Translation {
            gpa: req.iova,
            page_size: 4096,
            perms: DmaPerms::RW,
        })
    }
}

struct Env {
    dev: Arc<DmaTestDevice>,
    mem: GuestMemory,
    msi: Arc<Msi>,
    faults: Arc<Faulting>,
}

fn env() -> Env {
    let mem = GuestMemory::new(&[(0, 4 << 20)]).unwrap();
    let faults = Arc::new(Faulting::default());
    let rid = RequesterIdCell::new(0, 0x200);
    let msi = Arc::new(Msi::default());
    let dev = DmaTestDevice::new(
        "dma0",
        DmaTarget::new(mem.clone(), faults.clone(), rid.clone()),
        msi.clone(),
        rid,
    )
    .unwrap();
    Env {
        dev,
        mem,
        msi,
        faults,
    }
}

impl Env {
    fn w32(&self, off: u64, v: u32) {
        self.dev.bar_write(0, off, &v.to_le_bytes());
    }
    fn w64(&self, off: u64, v: u64) {
        self.dev.bar_write(0, off, &v.to_le_bytes());
    }
    fn r32(&self, off: u64) -> u32 {
        let mut b = [0u8; 4];
        self.dev.bar_read(0, off, &mut b);
        u32::from_le_bytes(b)
    }
    fn r64(&self, off: u64) -> u64 {
        let mut b = [0u8; 8];
        self.dev.bar_read(0, off, &mut b);
        u64::from_le_bytes(b)
    }
    fn signals(&self) -> u32 {
        self.msi.0.lock()[0].0.load(Ordering::SeqCst)
    }
    fn enable_msix(&self) {
        self.w64(u64::from(MSIX_TABLE), 0xfee0_0000);
        self.w32(u64::from(MSIX_TABLE) + 8, 0x45);
        self.w32(u64::from(MSIX_TABLE) + 12, 0);
        let cap = self.dev.msix_cap;
        self.dev.config_write(cap + 2, 2, 0x8000);
    }
}

#[test]
fn identity_and_bar() {
    let e = env();
    assert_eq!(
        e.dev.config_read(spec::VENDOR, 2),
        u32::from(spec::VENDOR_ID)
    );
    assert_eq!(e.dev.config_read(spec::DEVICE, 2), u32::from(DEVICE_ID));
    assert_eq!(e.dev.config_read(spec::CLASS_REVISION, 4) >> 8, CLASS);
    e.dev.config_write(spec::BAR0, 4, u32::MAX);
    e.dev.config_write(spec::BAR0 + 4, 4, u32::MAX);
    assert_eq!(e.dev.config_read(spec::BAR0, 4), 0xffff_f004);
    assert_eq!(e.dev.config_read(spec::BAR0 + 4, 4), u32::MAX);
    assert_ne!(e.dev.msix_cap, 0);
    assert_eq!(e.dev.config_read(e.dev.msix_cap + 2, 2) & 0x7ff, 0);
    assert_eq!(e.r32(ID), ID_VALUE);
    assert_eq!(e.r32(MAX_LENGTH_REG), MAX_LENGTH);
    assert_eq!(e.r32(STATUS), STATUS_IDLE);
}

#[test]
fn registers_32_and_64_bit() {
    let e = env();
    e.w32(ADDR_A_LO, 0x1234_5000);
    e.w32(ADDR_A_HI, 0x1);
    assert_eq!(e.r64(ADDR_A_LO), 0x1_1234_5000);
    e.w64(ADDR_B_LO, 0xdead_beef_0000_1000);
    assert_eq!(e.r32(ADDR_B_HI), 0xdead_beef);
    assert_eq!(e.r32(ADDR_B_LO), 0x1000);
    e.w32(FILL, 0x1ab);
    assert_eq!(e.r32(FILL), 0xab);
    // Read-only registers ignore writes; odd widths are ignored.
    e.w32(ID, 0);
    e.w32(STATUS, 7);
    assert_eq!(e.r32(ID), ID_VALUE);
    assert_eq!(e.r32(STATUS), STATUS_IDLE);
    e.dev.bar_write(0, LENGTH, &[1, 2]);
    e.dev.bar_write(0, LENGTH + 2, &[1, 2, 3, 4]);
    assert_eq!(e.r32(LENGTH), 0);
    let mut b = [0xffu8; 2];
    e.dev.bar_read(0, ID, &mut b);
    assert_eq!(b, [0, 0]);
    let mut b = [0u8; 4];
    e.dev.bar_read(0, 0xffc, &mut b);
    e.dev.bar_read(0, u64::MAX - 3, &mut b);
    e.dev.bar_write(0, u64::MAX - 7, &[0; 8]);
    assert_eq!(b, [0; 4]);
}

#[test]
fn copy_and_fill() {
    let e = env();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 13) as u8).collect();
    e.mem.write_at(0x10_0000, &data).unwrap();
    e.w64(ADDR_A_LO, 0x10_0000);
    e.w64(ADDR_B_LO, 0x20_0001);
    e.w32(LENGTH, data.len() as u32);
    e.w32(COMMAND, CMD_COPY);
    assert_eq!(e.r32(STATUS), STATUS_DONE);
    assert_eq!(e.r32(COMPLETIONS), 1);
    let mut back = vec![0u8; data.len()];
    e.mem.read_at(0x20_0001, &mut back).unwrap();
    assert_eq!(back, data);

    e.w32(FILL, 0x5a);
    e.w32(LENGTH, 5000);
    e.w32(COMMAND, CMD_FILL);
    assert_eq!(e.r32(STATUS), STATUS_DONE);
    let mut f = vec![0u8; 5002];
    e.mem.read_at(0x20_0000, &mut f).unwrap();
    assert_eq!(f[0], 0);
    assert!(f[1..5001].iter().all(|&b| b == 0x5a));
    assert_eq!(f[5001], data[5000]);
    assert_eq!(e.r32(COMPLETIONS), 2);
    // Zero length completes without touching anything.
    e.w32(LENGTH, 0);
    e.w32(COMMAND, CMD_COPY);
    assert_eq!(e.r32(STATUS), STATUS_DONE);
}

#[test]
fn overlapping_copy_is_memmove() {
    let e = env();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + 1) as u8).collect();
    e.mem.write_at(0x10_0000, &data).unwrap();
    e.w64(ADDR_A_LO, 0x10_0000);
    e.w64(ADDR_B_LO, 0x10_0000 + 1000);
    e.w32(LENGTH, data.len() as u32);
    e.w32(COMMAND, CMD_COPY);
    let mut back = vec![0u8; data.len()];
    e.mem.read_at(0x10_0000 + 1000, &mut back).unwrap();
    assert_eq!(back, data);
    // And downward.
    e.w64(ADDR_A_LO, 0x10_0000 + 1000);
    e.w64(ADDR_B_LO, 0x10_0000);
    e.w32(COMMAND, CMD_COPY);
    e.mem.read_at(0x10_0000, &mut back).unwrap();
    assert_eq!(back, data);
}

#[test]
fn faults_and_bad_addresses() {
    let e = env();
    e.faults.0.lock().insert(0x30_1000 >> 12);
    // Copy into a range whose second page faults.
    e.w64(ADDR_A_LO, 0x10_0000);
    e.w64(ADDR_B_LO, 0x30_0000);
    e.w32(LENGTH, 0x2000);
    e.w32(COMMAND, CMD_COPY);
    assert_eq!(e.r32(STATUS), STATUS_DMA_FAILED);
    assert_eq!(e.r64(FAULT_ADDR_LO), 0x30_1000);
    // Fill from a faulting page.
    e.w64(ADDR_B_LO, 0x30_1800);
    e.w32(COMMAND, CMD_FILL);
    assert_eq!(e.r32(STATUS), STATUS_DMA_FAILED);
    assert_eq!(e.r64(FAULT_ADDR_LO), 0x30_1800);
    // Source beyond guest RAM.
    e.w64(ADDR_A_LO, 0x1_0000_0000);
    e.w64(ADDR_B_LO, 0x10_0000);
    e.w32(COMMAND, CMD_COPY);
    assert_eq!(e.r32(STATUS), STATUS_DMA_FAILED);
    // Wrapping the address space.
    e.w64(ADDR_A_LO, u64::MAX - 0xfff);
    e.w32(COMMAND, CMD_COPY);
    assert_eq!(e.r32(STATUS), STATUS_DMA_FAILED);
    e.w64(ADDR_B_LO, u64::MAX - 0xfff);
    e.w32(COMMAND, CMD_FILL);
    assert_eq!(e.r32(STATUS), STATUS_DMA_FAILED);
    // The device keeps working.
    e.w64(ADDR_A_LO, 0x10_0000);
    e.w64(ADDR_B_LO, 0x20_0000);
    e.w32(COMMAND, CMD_COPY);
    assert_eq!(e.r32(STATUS), STATUS_DONE);
    assert_eq!(e.r32(COMPLETIONS), 6);
}

#[test]
fn length_cap_and_bad_command() {
    let e = env();
    e.w64(ADDR_A_LO, 0x10_0000);
    e.w64(ADDR_B_LO, 0x20_0000);
    e.w32(FILL, 0xee);
    e.w32(LENGTH, MAX_LENGTH + 1);
    e.w32(COMMAND, CMD_FILL);
    assert_eq!(e.r32(STATUS), STATUS_BAD_LENGTH);
    assert_eq!(e.mem.read_plain::<u8>(0x20_0000).unwrap(), 0);
    e.w32(LENGTH, u32::MAX);
    e.w32(COMMAND, CMD_COPY);
    assert_eq!(e.r32(STATUS), STATUS_BAD_LENGTH);
    e.w32(LENGTH, MAX_LENGTH);
    e.w32(COMMAND, CMD_FILL);
    assert_eq!(e.r32(STATUS), STATUS_DONE);
    assert_eq!(
        e.mem
            .read_plain::<u8>(0x20_0000 + u64::from(MAX_LENGTH) - 1)
            .unwrap(),
        0xee
    );
    e.w32(COMMAND, 99);
    assert_eq!(e.r32(STATUS), STATUS_BAD_COMMAND);
    assert_eq!(e.r32(COMMAND), 99);
    assert_eq!(e.r32(COMPLETIONS), 4);
}

#[test]
fn msix_on_completion() {
    let e = env();
    // MSI-X disabled: no interrupt.
    e.w32(COMMAND, CMD_INTERRUPT);
    assert_eq!(e.signals(), 0);
    assert_eq!(e.r32(STATUS), STATUS_DONE);
    e.enable_msix();
    e.w32(COMMAND, CMD_INTERRUPT);
    assert_eq!(e.signals(), 1);
    e.w32(LENGTH, 16);
    e.w32(COMMAND, CMD_FILL);
    assert_eq!(e.signals(), 2);
    // Failed commands complete (and interrupt) too.
    e.w32(LENGTH, MAX_LENGTH + 1);
    e.w32(COMMAND, CMD_FILL);
    assert_eq!(e.signals(), 3);
    // Masked: pending, delivered on unmask.
    e.w32(u64::from(MSIX_TABLE) + 12, 1);
    e.w32(COMMAND, CMD_INTERRUPT);
    assert_eq!(e.signals(), 3);
    assert_eq!(e.r32(u64::from(MSIX_PBA)) & 1, 1);
    e.w32(u64::from(MSIX_TABLE) + 12, 0);
    assert_eq!(e.signals(), 4);
    let s = inspect::inspect_to_string(&*e.dev);
    assert!(s.contains("completions"), "{s}");
}
