// Package stats samples the load of a worker's host from /proc and statfs:
// CPU use, memory, free disk under the worker's data directory and the
// one-minute load average, as reported in heartbeats and GET /api/v1/stats,
// and the capacity the scheduler places Tasks against.
//
// CPU percent is the busy share of all CPUs together (0 to 100, not 100 per
// CPU) between two readings of /proc/stat; a Sampler remembers the last
// reading, so each Sample speaks of the time since the one before, and the
// first of the time since boot.
//
// It reads Linux's /proc only; on other systems NewSampler fails.
package stats
