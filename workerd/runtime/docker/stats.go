package docker

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/docker/docker/api/types/container"

	"github.com/minkube/minkube/workerd/runtime"
)

// Stats reads the container's CPU time and working set with one one-shot
// stats call (the engine does not wait a second for a second reading). It
// returns an error wrapping runtime.ErrNotFound when there is no such
// container.
func (r *Runtime) Stats(ctx context.Context, id string) (runtime.Usage, error) {
	resp, err := r.cli.ContainerStatsOneShot(ctx, id)
	if err != nil {
		return runtime.Usage{}, wrapErr("stats", id, err)
	}
	defer resp.Body.Close()
	var st container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return runtime.Usage{}, fmt.Errorf("stats of container %s: %w", id, err)
	}
	return usageOf(st), nil
}

// usageOf converts the engine's stats. The working set is the usage less
// the inactive page cache, under its cgroup v2 name (inactive_file) or its
// cgroup v1 one (total_inactive_file), as docker stats computes it.
func usageOf(st container.StatsResponse) runtime.Usage {
	mem := st.MemoryStats.Usage
	inactive, ok := st.MemoryStats.Stats["inactive_file"]
	if !ok {
		inactive = st.MemoryStats.Stats["total_inactive_file"]
	}
	if inactive < mem {
		mem -= inactive
	}
	return runtime.Usage{
		CPUSeconds:  float64(st.CPUStats.CPUUsage.TotalUsage) / 1e9,
		MemoryBytes: int64(mem),
		Read:        st.Read,
	}
}
