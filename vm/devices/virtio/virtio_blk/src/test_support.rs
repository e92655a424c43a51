//! Test doubles: temporary disk images, recording MSI controllers and doorbell
//! registrars, and a translator that faults chosen pages.

use iommu_common::DmaAccess;
use iommu_common::DmaFault;
use iommu_common::DmaFaultKind;
use iommu_common::DmaPerms;
use iommu_common::DmaRequest;
use iommu_common::DmaTranslator;
use iommu_common::MsiMessage;
use iommu_common::Translation;
use parking_lot::Mutex;
use pci_core::DoorbellRegistrar;
use pci_core::MsiController;
use pci_core::MsiVector;
use pci_core::RequesterIdCell;
use std::collections::BTreeSet;
use std::path::Path;
use std::path::PathBuf;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use vmm_sys_util::eventfd::EventFd;

/// A file in the temp directory, removed on drop.
pub struct TempFile(PathBuf);

impl TempFile {
    /// A zero-filled file of `len` bytes.
    pub fn new(len: u64) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "virtio_blk-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(len).unwrap();
        Self(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A vector that counts signals.
#[derive(Default)]
pub struct RecordingVector {
    pub messages: Mutex<Vec<Option<MsiMessage>>>,
    pub signals: AtomicU32,
}

impl MsiVector for RecordingVector {
    fn set_message(&self, msg: Option<MsiMessage>) {
        self.messages.lock().push(msg);
    }
    fn signal(&self) {
        self.signals.fetch_add(1, Ordering::SeqCst);
    }
}

/// Hands out recording vectors and keeps them in creation order.
#[derive(Default)]
pub struct RecordingMsi {
    pub vectors: Mutex<Vec<Arc<RecordingVector>>>,
}

impl RecordingMsi {
    /// Signals of vector `i` so far.
    pub fn signals(&self, i: usize) -> u32 {
        self.vectors.lock()[i].signals.load(Ordering::SeqCst)
    }
}

impl MsiController for RecordingMsi {
    fn new_vector(&self, _rid: RequesterIdCell) -> Arc<dyn MsiVector> {
        let v = Arc::new(RecordingVector::default());
        self.vectors.lock().push(v.clone());
        v
    }
}

/// One doorbell call: `(register?, address, len, datamatch)`.
pub type DoorbellCall = (bool, u64, u32, Option<u64>);

/// Records doorbell (un)registrations as `(register?, address, len, datamatch)`.
#[derive(Default)]
pub struct RecordingDoorbells {
    pub log: Mutex<Vec<DoorbellCall>>,
    /// The registered events (cloned), by address.
    pub events: Mutex<Vec<(u64, EventFd)>>,
}

impl DoorbellRegistrar for RecordingDoorbells {
    fn register(
        &self,
        address: u64,
        len: u32,
        datamatch: Option<u64>,
        event: &EventFd,
    ) -> std::io::Result<()> {
        self.log.lock().push((true, address, len, datamatch));
        self.events.lock().push((address, event.try_clone()?));
        Ok(())
    }

    fn unregister(
        &self,
        address: u64,
        len: u32,
        datamatch: Option<u64>,
        _event: &EventFd,
    ) -> std::io::Result<()> {
        self.log.lock().push((false, address, len, datamatch));
        self.events.lock().retain(|(a, _)| *a != address);
        Ok(())
    }
}

/// Identity, except that the listed 4 KiB pages fault (and are counted).
#[derive(Default)]
pub struct FaultingTranslator {
    pub faulting_pages: Mutex<BTreeSet<u64>>,
    /// Pages that allow reads only.
    pub read_only_pages: Mutex<BTreeSet<u64>>,
    pub faults: AtomicU32,
}

impl FaultingTranslator {
    /// Makes the page containing `addr` fault.
    pub fn fault_page(&self, addr: u64) {
        self.faulting_pages.lock().insert(addr >> 12);
    }
}

impl DmaTranslator for FaultingTranslator {
    fn translate(&self, req: &DmaRequest) -> Result<Translation, DmaFault> {
        let page = req.iova >> 12;
        let ro = self.read_only_pages.lock().contains(&page);
        if self.faulting_pages.lock().contains(&page) || (ro && req.access == DmaAccess::Write) {
            self.faults.fetch_add(1, Ordering::SeqCst);
            return Err(DmaFault {
                request: *req,
                kind: DmaFaultKind::NotMapped,
            });
        }
        Ok(Translation {
            gpa: req.iova,
            page_size: 4096,
            perms: if ro { DmaPerms::RO } else { DmaPerms::RW },
        })
    }
}
