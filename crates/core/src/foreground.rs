//! Work a person is waiting for (the daemon's HTTP requests), counted while it is in
//! flight, so that background work (a backup's copying, compressing and checking) can step
//! aside between its small steps.
//!
//! Why not the scheduler alone: the backup's thread already runs at SCHED_IDLE, which gives
//! a core to a request the moment it wakes. On a two-core server the backup then runs on
//! the *other* core, sharing the caches and memory bandwidth with the request, and a
//! request under a backup took twice as long at the 99th percentile. Pausing between
//! steps while a request is in flight leaves the request the machine to itself; the
//! backup takes a little longer when the daemon is busy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Held for as long as one piece of foreground work is in flight.
#[must_use = "the work counts as in flight only while this is held"]
pub struct InFlight(());

impl InFlight {
    pub fn start() -> InFlight {
        IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
        InFlight(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Whether foreground work is in flight now.
pub fn busy() -> bool {
    IN_FLIGHT.load(Ordering::Relaxed) > 0
}

/// The longest one call of [`step_aside`] waits: under a steady stream of requests the
/// background work still moves (a step per this), and never stalls for good.
pub const MOST: Duration = Duration::from_millis(25);

/// Called by background work between two small steps (on its own thread, never on the
/// async runtime): waits while foreground work is in flight, at most [`MOST`]. Answers
/// how long it waited.
pub fn step_aside() -> Duration {
    let start = Instant::now();
    while busy() && start.elapsed() < MOST {
        std::thread::sleep(Duration::from_micros(250));
    }
    start.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn background_work_waits_while_a_request_is_in_flight_and_not_longer_than_its_bound() {
        // One test touches the process-wide count, so no other test sees it moved.
        assert!(!busy());
        assert!(step_aside() < MOST);
        let request = InFlight::start();
        assert!(busy());
        let waited = step_aside();
        assert!(waited >= MOST, "waited {waited:?} with a request in flight");
        let second = InFlight::start();
        drop(request);
        assert!(busy(), "one of two still in flight");
        drop(second);
        assert!(!busy());
        // Released mid-wait: the wait ends with it, well before the bound.
        let request = InFlight::start();
        let waiter = std::thread::spawn(step_aside);
        while !busy() {}
        drop(request);
        assert!(waiter.join().unwrap() < Duration::from_secs(5));
    }
}
