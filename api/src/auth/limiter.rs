//! Throttling of failed logins, per account and per client IP.
//!
//! Counts failures in a sliding window kept in memory. With several api
//! nodes each keeps its own count, so an attacker spreading guesses over
//! nodes gets at most `nodes ×` the limit.
//! TODO(#2): share the counters through Postgres when the api scales out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Sliding-window failure counter keyed by string.
pub struct Limiter {
    window: Duration,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
    denials: Mutex<HashMap<String, Instant>>,
}

impl Limiter {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            failures: Mutex::new(HashMap::new()),
            denials: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds until `key` may try again, if it has `max` or more recent failures.
    pub fn blocked_for(&self, key: &str, max: u32) -> Option<u64> {
        let mut map = self.failures.lock().expect("limiter lock");
        let list = map.get_mut(key)?;
        self.prune(list);
        if list.len() < max as usize {
            return None;
        }
        let oldest = list.first()?;
        let wait = self.window.saturating_sub(oldest.elapsed());
        Some(wait.as_secs().max(1))
    }

    pub fn record_failure(&self, key: &str) {
        let mut map = self.failures.lock().expect("limiter lock");
        let list = map.entry(key.to_string()).or_default();
        self.prune(list);
        list.push(Instant::now());
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, l| l.last().is_some_and(|t| t.elapsed() < window));
        }
    }

    /// True the first time `key` is refused within a window: the refusal
    /// worth recording. Later ones in the same window return false.
    pub fn first_denial(&self, key: &str) -> bool {
        let mut map = self.denials.lock().expect("limiter lock");
        let fresh = map.get(key).is_none_or(|t| t.elapsed() >= self.window);
        if fresh {
            map.insert(key.to_string(), Instant::now());
            if map.len() > 100_000 {
                let window = self.window;
                map.retain(|_, t| t.elapsed() < window);
            }
        }
        fresh
    }

    pub fn clear(&self, key: &str) {
        self.failures.lock().expect("limiter lock").remove(key);
    }

    fn prune(&self, list: &mut Vec<Instant>) {
        list.retain(|t| t.elapsed() < self.window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_and_clears_on_success() {
        let l = Limiter::new(Duration::from_secs(60));
        for _ in 0..3 {
            assert!(l.blocked_for("a", 3).is_none());
            l.record_failure("a");
        }
        assert!(l.blocked_for("a", 3).is_some());
        assert!(l.blocked_for("b", 3).is_none());
        l.clear("a");
        assert!(l.blocked_for("a", 3).is_none());
    }
}
