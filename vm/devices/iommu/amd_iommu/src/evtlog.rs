//! The event log (#48882 §2.5 and §3.4.3/§3.4.10): a ring of 16-byte entries the
//! IOMMU appends at the tail and software consumes from the head.

use crate::spec::event::Event;
use crate::spec::event::EVENT_SIZE;
use crate::spec::regs::Status;
use crate::state::State;

impl State {
    /// Appends `ev` to the log (#48882 §2.5): dropped while the log is not running;
    /// on a full log (one free slot kept, tail + 16 == head) EventOverflow is set, the
    /// log stops until software restarts it, and nothing is written past the ring.
    /// A tail or head pointer outside the ring, or a ring outside guest RAM, stops
    /// the log the same way.
    pub fn log_event(&mut self, ev: Event) {
        if !self.evt_running() {
            self.stats.events_dropped += 1;
            return;
        }
        let ring = self.evt_ring();
        let size = ring.len_bytes();
        let tail = self.evt_tail;
        let head = self.evt_head;
        let next = (tail + EVENT_SIZE) % size;
        if tail >= size || head >= size || next == head {
            self.overflow();
            return;
        }
        let addr = ring.address().wrapping_add(tail);
        if self.mem.write_at(addr, &ev.to_bytes()).is_err() {
            if self.log_limit.allow() {
                tracing::warn!(addr, "amd-iommu: event log outside guest memory");
            }
            self.overflow();
            return;
        }
        self.evt_tail = next;
        self.stats.events += 1;
        if self.ctrl().event_int_en() {
            self.raise_status(Status::new().with_event_log_int(true).into_bits());
        }
    }

    fn overflow(&mut self) {
        self.stats.events_dropped += 1;
        self.evt_stopped = true;
        if self.ctrl().event_int_en() {
            self.raise_status(Status::new().with_event_overflow(true).into_bits());
        } else {
            self.status_w1c |= Status::new().with_event_overflow(true).into_bits();
        }
    }
}
