// Package latency measures how long tasks take from their creation to
// their first placement (Scheduled) and to their first run (Running), as
// the histogram minkube_task_startup_duration_seconds{phase}. It watches
// the task cache of the manager that leads, so that each transition is
// counted once in the cluster, and keeps no state of its own: whether a
// transition is a task's first is read from the task (see Transitions).
package latency
