//! What the load tools read off their samples and off the processes they
//! measure: latency percentiles, and a process's resident memory and CPU
//! time from `/proc` (Linux; `None` elsewhere or for a process that is gone).

use std::time::Duration;

/// The value at fraction `p` (0.0 to 1.0) of `sorted`, nearest rank;
/// zero for no samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Resident memory of process `pid` in MB, from `/proc/<pid>/status`.
pub fn rss_mb(pid: Option<u32>) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// CPU time (user + system) a process has used so far, from
/// `/proc/<pid>/stat`; `None` for no pid or no such process.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    // The command name (field 2) may hold spaces; what follows its `)` is
    // fields 3 onwards, of which utime and stime are 14 and 15.
    let mut rest = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let utime: f64 = rest.next()?.parse().ok()?;
    let stime: f64 = rest.next()?.parse().ok()?;
    // Linux reports these in USER_HZ, 100 per second on every architecture
    // it supports.
    Some((utime + stime) / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 0.50), Duration::from_millis(51));
        assert_eq!(percentile(&samples, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&samples, 1.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 0.99), Duration::ZERO);
    }

    #[test]
    fn this_process_has_a_resident_size_and_cpu_time() {
        let me = Some(std::process::id());
        assert!(rss_mb(me).is_some_and(|mb| mb > 0.0));
        assert!(cpu_seconds(me).is_some_and(|s| s >= 0.0));
        assert_eq!(rss_mb(None), None);
        assert_eq!(cpu_seconds(None), None);
    }
}
