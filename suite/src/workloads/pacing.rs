//! Poisson pacing of a loop of invocations.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

/// Paces a loop at a mean gap (seconds; 0 = no pacing) with exponential
/// gaps: Poisson arrivals at the target rate.
pub struct Pacer {
    gap: f64,
    next: Instant,
}

impl Pacer {
    pub fn new(gap: f64) -> Pacer {
        Pacer {
            gap,
            next: Instant::now(),
        }
    }

    /// Sleep until the next arrival; false if `deadline` came first.
    pub fn wait(&mut self, rng: &mut ChaCha8Rng, deadline: Instant) -> bool {
        if self.gap <= 0.0 {
            return true;
        }
        let u: f64 = rng.gen_range(f64::EPSILON..1.0);
        self.next += Duration::from_secs_f64(-u.ln() * self.gap);
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep((self.next - now).min(deadline.saturating_duration_since(now)));
            return Instant::now() < deadline;
        }
        if now - self.next > Duration::from_secs(1) {
            self.next = now; // do not burst after a long stall
        }
        true
    }
}
