//! The PCI function: configuration space, BAR dispatch, and the glue between the
//! common configuration's actions and the queue workers.

use crate::backend::BlockBackend;
use crate::common_cfg::Action;
use crate::common_cfg::CommonConfig;
use crate::common_cfg::COMMON_CFG_LEN;
use crate::device_config::BlkConfig;
use crate::device_config::DEVICE_CFG_LEN;
use crate::layout;
use crate::layout::PciCfgWindow;
use crate::notify::Doorbells;
use crate::ratelimit::RateLimit;
use crate::spec;
use crate::spec::features;
use crate::spec::status;
use crate::spec::NO_VECTOR;
use crate::worker::QueueStats;
use crate::worker::Shared;
use crate::worker::Worker;
use iommu_common::DmaTarget;
use parking_lot::Mutex;
use pci_core::BarInfo;
use pci_core::ConfigSpace;
use pci_core::DoorbellRegistrar;
use pci_core::MsiController;
use pci_core::Msix;
use pci_core::PciDevice;
use pci_core::RequesterIdCell;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::AtomicU16;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Device options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtioBlkOptions {
    /// Request queues (1..=64; more than one offers VIRTIO_BLK_F_MQ).
    pub num_queues: u16,
    /// Maximum entries per queue (a power of two, 2..=1024).
    pub queue_size: u16,
    /// The GET_ID string (truncated to 20 bytes).
    pub serial: String,
}

impl Default for VirtioBlkOptions {
    fn default() -> Self {
        Self {
            num_queues: 2,
            queue_size: 256,
            serial: String::new(),
        }
    }
}

/// Error creating the device.
#[derive(Debug, thiserror::Error)]
pub enum NewError {
    /// `num_queues` outside 1..=64.
    #[error("virtio-blk: {0} queues requested (1..={max})", max = layout::MAX_QUEUES)]
    NumQueues(u16),
    /// `queue_size` not a power of two in 2..=1024.
    #[error("virtio-blk: queue size {0} is not a power of two in 2..=1024")]
    QueueSize(u16),
    /// No eventfd for a doorbell.
    #[error("virtio-blk: creating doorbell eventfds")]
    EventFd(#[source] std::io::Error),
    /// The configuration space overflowed (a bug).
    #[error(transparent)]
    ConfigSpace(#[from] pci_core::config_space::ConfigSpaceFull),
}

/// A virtio-blk PCI function (modern transport only, device id 0x1042).
pub struct VirtioBlkDevice {
    name: String,
    config: Mutex<ConfigSpace>,
    pci_cfg: PciCfgWindow,
    msix: Arc<Msix>,
    doorbells: Doorbells,
    blk_config: BlkConfig,
    transport: Mutex<Transport>,
    shared: Arc<Shared>,
}

struct Transport {
    common: CommonConfig,
    workers: Vec<Option<Worker>>,
    log_limit: RateLimit,
}

impl VirtioBlkDevice {
    /// Creates the device serving `backend`.
    ///
    /// `dma` is the device's only access to guest memory, `msi` creates its MSI-X
    /// vectors (one per queue plus one for configuration changes) for requester `rid`,
    /// and `doorbells` registers the queues' notification addresses when the BAR is
    /// mapped.
    pub fn new(
        name: impl Into<String>,
        options: VirtioBlkOptions,
        backend: Arc<dyn BlockBackend>,
        dma: DmaTarget,
        msi: Arc<dyn MsiController>,
        rid: RequesterIdCell,
        doorbells: Arc<dyn DoorbellRegistrar>,
    ) -> Result<Arc<Self>, NewError> {
        let n = options.num_queues;
        if !(1..=layout::MAX_QUEUES).contains(&n) {
            return Err(NewError::NumQueues(n));
        }
        let qs = options.queue_size;
        if !(2..=1024).contains(&qs) || !qs.is_power_of_two() {
            return Err(NewError::QueueSize(qs));
        }
        let mut device_features = features::VERSION_1
            | features::ACCESS_PLATFORM
            | features::RING_F_INDIRECT_DESC
            | features::BLK_F_FLUSH
            | features::BLK_F_SEG_MAX
            | features::BLK_F_BLK_SIZE;
        if n > 1 {
            device_features |= features::BLK_F_MQ;
        }
        if backend.read_only() {
            device_features |= features::BLK_F_RO;
        }

        let mut config = ConfigSpace::endpoint(
            spec::VIRTIO_VENDOR_ID,
            spec::PCI_DEVICE_ID_BASE + spec::DEVICE_TYPE_BLOCK,
            spec::CLASS_STORAGE_OTHER,
            spec::DEVICE_TYPE_BLOCK,
        );
        layout::BAR.install(&mut config);
        config.add_pcie_capability(pci_core::spec::PCIE_TYPE_ENDPOINT, None)?;
        let msix_count = n + 1;
        let msix = Msix::new(
            &mut config,
            msix_count,
            layout::BAR_INDEX,
            layout::MSIX_TABLE_OFFSET,
            layout::MSIX_PBA_OFFSET,
            &*msi,
            &rid,
        )?;
        let pci_cfg = layout::add_virtio_capabilities(&mut config, n)?;

        let mut id = [0u8; spec::req::ID_BYTES];
        let serial = options.serial.as_bytes();
        let len = serial.len().min(id.len());
        id[..len].copy_from_slice(&serial[..len]);

        let blk_config = BlkConfig::new(backend.len(), n, qs);
        let shared = Arc::new(Shared {
            dma,
            backend,
            msix: msix.clone(),
            id,
            needs_reset: AtomicBool::new(false),
            isr: Default::default(),
            config_vector: AtomicU16::new(NO_VECTOR),
            queue_vectors: (0..n).map(|_| AtomicU16::new(NO_VECTOR)).collect(),
            stats: (0..n).map(|_| QueueStats::default()).collect(),
            log_limit: Mutex::new(RateLimit::per_second(10)),
        });
        Ok(Arc::new(Self {
            name: name.into(),
            config: Mutex::new(config),
            pci_cfg,
            msix,
            doorbells: Doorbells::new(n, doorbells).map_err(NewError::EventFd)?,
            blk_config,
            transport: Mutex::new(Transport {
                common: CommonConfig::new(device_features, n, qs, msix_count),
                workers: (0..n).map(|_| None).collect(),
                log_limit: RateLimit::per_second(10),
            }),
            shared,
        }))
    }

    /// Queue `n`'s doorbell eventfd (what the VMM's ioeventfd signals).
    pub fn doorbell(&self, n: u16) -> Option<&vmm_sys_util::eventfd::EventFd> {
        (n < self.blk_config.num_queues).then(|| &**self.doorbells.event(n))
    }

    fn start_worker(&self, t: &mut Transport, n: u16) {
        let q = t.common.queues()[n as usize];
        if !q.enabled || t.workers[n as usize].is_some() {
            return;
        }
        let indirect = t.common.driver_features() & features::RING_F_INDIRECT_DESC != 0;
        match Worker::start(
            self.shared.clone(),
            n,
            q.params,
            indirect,
            self.doorbells.event(n).clone(),
        ) {
            Ok(w) => t.workers[n as usize] = Some(w),
            Err(err) => self.shared.fail(Some(n), &err),
        }
    }

    fn sync_vectors(&self, t: &Transport) {
        self.shared
            .config_vector
            .store(t.common.config_msix_vector(), Ordering::SeqCst);
        for (v, q) in self.shared.queue_vectors.iter().zip(t.common.queues()) {
            v.store(q.msix_vector, Ordering::SeqCst);
        }
    }

    fn stop_workers(t: &mut Transport) {
        for w in t.workers.iter_mut() {
            if let Some(w) = w.take() {
                w.stop();
            }
        }
    }

    fn common_write(&self, offset: u64, data: &[u8]) {
        let mut t = self.transport.lock();
        let action = t.common.write(offset, data);
        match action {
            Action::None => {}
            Action::Reset => {
                // In-flight requests finish before the reset is visible (§2.4).
                Self::stop_workers(&mut t);
                t.common.reset();
                self.shared.needs_reset.store(false, Ordering::SeqCst);
                self.shared.isr.clear();
            }
            Action::DriverOk => {
                for n in 0..self.blk_config.num_queues {
                    self.start_worker(&mut t, n);
                }
            }
            Action::QueueEnabled(n) => {
                if t.common.status() & status::DRIVER_OK != 0 {
                    self.start_worker(&mut t, n);
                }
            }
            Action::BadQueue(n) => self
                .shared
                .fail(Some(n), &"queue enabled with invalid parameters"),
            Action::Ignored(why) => {
                if t.log_limit.allow() {
                    tracing::debug!(device = self.name, "ignored common config write: {why}");
                }
            }
        }
        self.sync_vectors(&t);
    }

    fn bar_access_read(&self, offset: u64, data: &mut [u8]) {
        data.fill(0);
        let within = |base: u64, len: u64| offset.checked_sub(base).filter(|&o| o < len);
        if self.msix.claims(offset) {
            self.msix.read(offset, data);
        } else if let Some(o) = within(layout::COMMON_OFFSET, COMMON_CFG_LEN) {
            let needs_reset = self.shared.needs_reset.load(Ordering::SeqCst);
            self.transport.lock().common.read(o, data, needs_reset);
        } else if within(layout::ISR_OFFSET, 1).is_some() {
            if let Some(b) = data.first_mut() {
                *b = self.shared.isr.read_clear();
            }
        } else if let Some(o) = within(layout::DEVICE_CFG_OFFSET, DEVICE_CFG_LEN) {
            self.blk_config.read(o, data);
        }
    }

    fn bar_access_write(&self, offset: u64, data: &[u8]) {
        let within = |base: u64, len: u64| offset.checked_sub(base).filter(|&o| o < len);
        let notify_len =
            u64::from(self.blk_config.num_queues) * u64::from(layout::NOTIFY_MULTIPLIER);
        if self.msix.claims(offset) {
            self.msix.write(offset, data);
        } else if let Some(o) = within(layout::COMMON_OFFSET, COMMON_CFG_LEN) {
            self.common_write(o, data);
        } else if let Some(o) = within(layout::NOTIFY_OFFSET, notify_len) {
            self.doorbells.notify(o);
        }
    }

    /// The PCI-config access window (`VIRTIO_PCI_CAP_PCI_CFG`) was read or written.
    fn pci_cfg_access(&self, write: Option<u32>) -> Option<u32> {
        let target = self.pci_cfg.target(&self.config.lock());
        let (offset, len) = target?;
        match write {
            Some(v) => {
                self.bar_access_write(offset, &v.to_le_bytes()[..len]);
                None
            }
            None => {
                let mut b = [0u8; 4];
                self.bar_access_read(offset, &mut b[..len]);
                Some(u32::from_le_bytes(b))
            }
        }
    }
}

impl Drop for VirtioBlkDevice {
    fn drop(&mut self) {
        Self::stop_workers(&mut self.transport.lock());
    }
}

impl PciDevice for VirtioBlkDevice {
    fn name(&self) -> &str {
        &self.name
    }

    fn config_read(&self, offset: u16, len: usize) -> u32 {
        if self.pci_cfg.touches_data(offset, len) && offset == self.pci_cfg.data() {
            if let Some(v) = self.pci_cfg_access(None) {
                self.config.lock().set_u32(self.pci_cfg.data(), v);
            }
        }
        self.config.lock().read(offset, len)
    }

    fn config_write(&self, offset: u16, len: usize, value: u32) {
        {
            let mut c = self.config.lock();
            c.write(offset, len, value);
            self.msix.config_changed(&c);
        }
        if self.pci_cfg.touches_data(offset, len) && offset == self.pci_cfg.data() {
            let v = self.config.lock().read_u32(self.pci_cfg.data());
            self.pci_cfg_access(Some(v));
        }
    }

    fn bars(&self) -> Vec<BarInfo> {
        vec![layout::BAR]
    }

    fn bar_read(&self, bar: u8, offset: u64, data: &mut [u8]) {
        if bar != layout::BAR_INDEX {
            data.fill(0xff);
            return;
        }
        self.bar_access_read(offset, data);
    }

    fn bar_write(&self, bar: u8, offset: u64, data: &[u8]) {
        if bar == layout::BAR_INDEX {
            self.bar_access_write(offset, data);
        }
    }

    fn bar_mapped(&self, bar: u8, address: Option<u64>) {
        if bar == layout::BAR_INDEX {
            self.doorbells
                .set_base(address.and_then(|a| a.checked_add(layout::NOTIFY_OFFSET)));
        }
    }
}

impl inspect::Inspect for VirtioBlkDevice {
    fn inspect(&self, node: &mut inspect::Node) {
        let t = self.transport.lock();
        node.value("name", self.name.as_str())
            .field("common", &t.common)
            .value(
                "needs_reset",
                self.shared.needs_reset.load(Ordering::SeqCst),
            )
            .field("isr", &self.shared.isr)
            .field("device_config", &self.blk_config)
            .field("doorbells", &self.doorbells)
            .field("pci_cfg", &self.pci_cfg)
            .value("backend_read_only", self.shared.backend.read_only())
            .child("queues", |n| {
                for (i, s) in self.shared.stats.iter().enumerate() {
                    n.child(i.to_string(), |q| {
                        q.field("stats", s).value("running", t.workers[i].is_some());
                    });
                }
            })
            .value("log_suppressed", t.log_limit.suppressed);
    }
}

#[cfg(test)]
mod tests;
