//! One worker thread per queue: waits on the queue's doorbell eventfd, runs a bounded
//! batch of requests per wakeup, returns them on the used ring and raises the queue's
//! MSI-X vector.
//!
//! A batch is at most [`BATCH`] requests; if the ring still holds more, the worker
//! re-arms its own eventfd and yields, so a guest that keeps refilling a queue gets
//! interrupts at least every batch and cannot monopolise anything but its own thread.

use crate::backend::BlockBackend;
use crate::chain::Segment;
use crate::isr::Isr;
use crate::isr::ISR_CONFIG;
use crate::isr::ISR_QUEUE;
use crate::queue::QueueError;
use crate::queue::QueueParams;
use crate::queue::SplitQueue;
use crate::ratelimit::RateLimit;
use crate::request;
use crate::request::RequestContext;
use crate::request::RequestError;
use crate::request::BOUNCE_BYTES;
use crate::spec::blk_status;
use crate::spec::req;
use crate::spec::NO_VECTOR;
use iommu_common::DmaTarget;
use parking_lot::Mutex;
use pci_core::Msix;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::AtomicU16;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use vmm_sys_util::eventfd::EventFd;

/// Most requests handled per wakeup.
pub const BATCH: usize = 64;

/// Per-queue counters.
#[derive(Debug, Default, inspect::Inspect)]
pub struct QueueStats {
    /// Requests completed.
    pub requests: AtomicU64,
    /// Requests completed with a status other than OK.
    pub failed: AtomicU64,
    /// Interrupts raised.
    pub interrupts: AtomicU64,
    /// Wakeups.
    pub wakeups: AtomicU64,
}

/// What the workers share with the device.
pub struct Shared {
    /// The device's only view of guest memory.
    pub dma: DmaTarget,
    /// The disk.
    pub backend: Arc<dyn BlockBackend>,
    /// Interrupts.
    pub msix: Arc<Msix>,
    /// GET_ID answer.
    pub id: [u8; req::ID_BYTES],
    /// Set on unrecoverable queue errors; cleared by reset.
    pub needs_reset: AtomicBool,
    /// ISR status.
    pub isr: Isr,
    /// Configuration-change vector, mirrored from the common configuration.
    pub config_vector: AtomicU16,
    /// Queue vectors, mirrored from the common configuration.
    pub queue_vectors: Vec<AtomicU16>,
    /// Counters.
    pub stats: Vec<QueueStats>,
    /// Limits guest-triggerable log lines.
    pub log_limit: Mutex<RateLimit>,
}

impl Shared {
    fn signal(&self, vector: u16) {
        if vector != NO_VECTOR {
            self.msix.signal(vector as usize);
        }
    }

    /// Sets DEVICE_NEEDS_RESET and announces it with a configuration change.
    pub fn fail(&self, queue: Option<u16>, why: &dyn std::fmt::Display) {
        if self.log_limit.lock().allow() {
            tracing::warn!(queue, "virtio-blk needs reset: {why}");
        }
        if !self.needs_reset.swap(true, Ordering::SeqCst) {
            self.isr.raise(ISR_CONFIG);
            self.signal(self.config_vector.load(Ordering::SeqCst));
        }
    }

    fn raise_queue(&self, queue: u16) {
        self.isr.raise(ISR_QUEUE);
        self.stats[queue as usize]
            .interrupts
            .fetch_add(1, Ordering::Relaxed);
        self.signal(self.queue_vectors[queue as usize].load(Ordering::SeqCst));
    }
}

/// A running queue worker.
pub struct Worker {
    stop: Arc<AtomicBool>,
    notify: Arc<EventFd>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts serving queue `index` at `params` (validated), woken by `notify`.
    pub fn start(
        shared: Arc<Shared>,
        index: u16,
        params: QueueParams,
        indirect: bool,
        notify: Arc<EventFd>,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name(format!("virtio-blk-q{index}"))
            .spawn({
                let stop = stop.clone();
                let notify = notify.clone();
                move || {
                    run(
                        &shared,
                        index,
                        SplitQueue::new(params, indirect),
                        &notify,
                        &stop,
                    )
                }
            })?;
        Ok(Self {
            stop,
            notify,
            thread: Some(thread),
        })
    }

    /// Stops the worker after its current request and waits for it.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.notify.write(1);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

fn run(shared: &Shared, index: u16, mut queue: SplitQueue, notify: &EventFd, stop: &AtomicBool) {
    let mut chain = Vec::with_capacity(usize::from(queue.params().size));
    let mut bounce = vec![0u8; BOUNCE_BYTES];
    // Serve whatever was queued before the worker started.
    let mut pending = true;
    loop {
        if !pending {
            if let Err(err) = notify.read() {
                tracing::error!(
                    error = &err as &dyn std::error::Error,
                    "doorbell read failed"
                );
                return;
            }
        }
        pending = false;
        if stop.load(Ordering::SeqCst) {
            return;
        }
        shared.stats[index as usize]
            .wakeups
            .fetch_add(1, Ordering::Relaxed);
        match run_batch(shared, index, &mut queue, &mut chain, &mut bounce) {
            Ok(true) => {
                let _ = notify.write(1);
                std::thread::yield_now();
            }
            Ok(false) => {}
            Err(err) => {
                shared.fail(Some(index), &err);
                return;
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum BatchError {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Request(#[from] RequestError),
}

/// Runs up to [`BATCH`] requests; returns whether the batch was full (more may wait).
fn run_batch(
    shared: &Shared,
    index: u16,
    queue: &mut SplitQueue,
    chain: &mut Vec<Segment>,
    bounce: &mut [u8],
) -> Result<bool, BatchError> {
    let mem = &shared.dma;
    let stats = &shared.stats[index as usize];
    let mut done = 0;
    let result = (|| {
        while done < BATCH {
            let Some(head) = queue.pop(mem, chain)? else {
                break;
            };
            let mut ctx = RequestContext {
                mem,
                backend: &*shared.backend,
                id: &shared.id,
                bounce: &mut *bounce,
            };
            let c = request::process(&mut ctx, chain)?;
            if c.status != blk_status::OK {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                if let Some(f) = c.failure {
                    if shared.log_limit.lock().allow() {
                        tracing::warn!(queue = index, "virtio-blk request failed: {f}");
                    }
                }
            }
            stats.requests.fetch_add(1, Ordering::Relaxed);
            queue.push_used(mem, head, c.used_len)?;
            done += 1;
        }
        Ok::<_, BatchError>(())
    })();
    // Publish what completed, even if a later chain was malformed.
    if queue.publish(mem)? && queue.wants_interrupt(mem)? {
        shared.raise_queue(index);
    }
    result?;
    Ok(done == BATCH)
}
