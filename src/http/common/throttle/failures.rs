//! Failed attempts per key in a fixed window, for the login lock.
//!
//! Not `governor`: its GCRA cells can only be spent, never looked at or given back, and a lock
//! that counts failures only must let an attempt through before it is known to fail, yet count
//! it while it runs (or N concurrent guesses would all pass a check made before any of them
//! failed). So an attempt books a failure up front and gives it back when it succeeds.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// At most `max` failures per key within `window` of the key's first one.
pub struct Failures<K> {
    max: u32,
    window: Duration,
    windows: Mutex<HashMap<K, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

/// A failure booked in advance by [`Failures::book`], to give back if the attempt succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booking(Instant);

impl<K: Hash + Eq + Clone> Failures<K> {
    /// `max` failures a minute; None when `max` is 0 (off).
    pub fn per_minute(max: u32) -> Option<Failures<K>> {
        (max > 0).then(|| Failures {
            max,
            window: Duration::from_secs(60),
            windows: Mutex::new(HashMap::new()),
        })
    }

    fn windows(&self) -> MutexGuard<'_, HashMap<K, Window>> {
        // A panic elsewhere cannot leave a count half-written: every update is one assignment.
        self.windows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts an attempt as failed before it runs, unless `max` failures are already counted in
    /// the key's window: then the time until the window ends.
    pub fn book(&self, key: &K, now: Instant) -> Result<Booking, Duration> {
        let mut windows = self.windows();
        let window = windows.entry(key.clone()).or_insert(Window {
            started: now,
            count: 0,
        });
        let age = now.saturating_duration_since(window.started);
        if age >= self.window {
            *window = Window {
                started: now,
                count: 0,
            };
        } else if window.count >= self.max {
            return Err(self.window - age);
        }
        window.count += 1;
        Ok(Booking(window.started))
    }

    /// Gives back a booked failure (the attempt succeeded, or never reached the check), unless
    /// its window has ended since.
    pub fn give_back(&self, key: &K, booking: Booking) {
        if let Some(window) = self.windows().get_mut(key) {
            if Booking(window.started) == booking {
                window.count = window.count.saturating_sub(1);
            }
        }
    }

    /// Forgets ended windows, so memory stays bounded by recent attempts.
    pub fn forget_ended(&self, now: Instant) {
        let window = self.window;
        self.windows()
            .retain(|_, w| now.saturating_duration_since(w.started) < window);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::Failures;

    #[test]
    fn max_failures_lock_the_key_until_its_window_ends() {
        let failures = Failures::per_minute(2).unwrap();
        let start = Instant::now();
        assert!(failures.book(&"a", start).is_ok());
        assert!(failures.book(&"a", start).is_ok());
        let later = start + Duration::from_secs(20);
        assert_eq!(failures.book(&"a", later), Err(Duration::from_secs(40)));
        assert!(failures.book(&"b", later).is_ok());
        assert!(failures.book(&"a", start + Duration::from_secs(60)).is_ok());
    }

    #[test]
    fn a_given_back_booking_does_not_count() {
        let failures = Failures::per_minute(1).unwrap();
        let now = Instant::now();
        for _ in 0..5 {
            let booking = failures.book(&"a", now).unwrap();
            failures.give_back(&"a", booking);
        }
        let kept = failures.book(&"a", now);
        assert!(kept.is_ok());
        assert!(failures.book(&"a", now).is_err());
        // A booking of an ended window gives nothing back to the next one.
        let next = now + Duration::from_secs(61);
        let fresh = failures.book(&"a", next).unwrap();
        failures.give_back(&"a", kept.unwrap());
        assert!(failures.book(&"a", next).is_err());
        failures.give_back(&"a", fresh);
        assert!(failures.book(&"a", next).is_ok());
    }

    #[test]
    fn ended_windows_are_forgotten_and_zero_is_off() {
        let failures = Failures::per_minute(1).unwrap();
        let now = Instant::now();
        failures.book(&"a", now).unwrap();
        failures.forget_ended(now + Duration::from_secs(61));
        assert!(failures.windows().is_empty());
        assert!(Failures::<&str>::per_minute(0).is_none());
    }
}
