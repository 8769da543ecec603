#!/usr/bin/env bash
# bench.sh runs Minkube's benchmarks and prints their figures; `make bench`
# runs it after `make images`. The end-to-end ones run real processes on
# the Docker engine, built without the race detector. BENCHTIME (default
# 10x) sets their -benchtime; SLOW=1 adds the worker-loss benchmark, which
# takes about a minute an iteration with the default timeouts, and the
# Docker API calls of a worker at 10, 100 and 300 running tasks (several
# minutes: it starts 410 containers), and the growth comparison (below).
#
# `hack/bench.sh growth [FLAGS]` runs hack/scale's growth comparison:
# 10,000 tasks on 100 hollow workers against 100,000 on 1,000, both in
# each of three runs, and the ratios of the manager's CPU and memory per
# task (about ten minutes and 2.5 GB; SLOW=1 adds it to `make bench`).
#
# `hack/bench.sh scale [FLAGS]` runs only the scale benchmark (hack/scale):
# a built manager (bolt store) and 100 hollow workers in one process, 10,000
# tasks from 32 parallel clients, the table of figures with their goals,
# median of 3 runs; it takes several minutes, and `make bench` ends with it.
# FLAGS go to hack/scale (-runs, -tasks, -workers, -profile DIR, ...; see
# go run ./hack/scale -h).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# runscale builds minkube and mkctl and runs hack/scale on them with the
# arguments given.
runscale() {
	local bin
	bin="$(mktemp -d)"
	go build -o "$bin/" ./cmd/minkube ./cmd/mkctl
	go run ./hack/scale -bin "$bin" "$@"
	rm -rf "$bin"
}

scale() {
	echo "== scale: 10,000 tasks on 100 hollow workers, median of 3 runs (several minutes)"
	runscale "$@"
}

growth() {
	echo "== growth: 10,000 tasks on 100 hollow workers against 100,000 on 1,000, both in each of 3 runs (about ten minutes)"
	runscale -growth 10 "$@"
}

case "${1:-}" in
scale | growth)
	cmd="$1"
	shift
	"$cmd" "$@"
	exit 0
	;;
esac

benchtime="${BENCHTIME:-10x}"
export MINKUBE_E2E_NORACE=1

echo "== one task: apply to Running, next to plain docker run -d (same run)"
go test -run '^$' -bench 'BenchmarkApplyToRunning|BenchmarkDockerRun' -benchtime "$benchtime" -count 1 ./test/e2e/

echo "== drift: docker kill to running again"
go test -run '^$' -bench 'BenchmarkDriftKillToRunning' -benchtime "$benchtime" -count 1 ./test/e2e/

echo "== manifests directory: file saved to Running, file deleted to container gone"
go test -run '^$' -bench 'BenchmarkGitOps' -benchtime "$benchtime" -count 1 ./test/e2e/

echo "== leader manager killed (kill -9) to a new leader: three managers with embedded etcd, median of 5"
go test -run '^$' -bench 'BenchmarkLeaderFailover' -benchtime 5x -count 1 ./test/e2e/

echo "== 1,000 tasks: apply to Running on simulated workers, bolt and etcd in the same run"
go test -run '^$' -bench 'BenchmarkApply' -benchtime 3x -count 1 -timeout 20m ./cmd/minkube/

if [[ "${SLOW:-0}" == 1 ]]; then
	echo "== worker lost to its task running elsewhere (default flags)"
	go test -run '^$' -bench 'BenchmarkWorkerLossToRunningElsewhere' -benchtime 1x -count 1 -timeout 20m ./test/e2e/
	echo "== Docker API calls per second of one worker, nothing changing, 10/100/300 tasks"
	go test -run '^$' -bench 'BenchmarkDockerAPICalls' -benchtime 1x -count 1 -timeout 30m ./test/e2e/
fi

echo "== DNS: queries/s at 10,000 tasks (Go load loop; dnsperf when installed)"
go test -run '^$' -bench 'BenchmarkServer' -benchtime 3s -count 1 ./discovery/
go test -run '^$' -bench 'BenchmarkDNSPerf' -benchtime 1x -count 1 ./discovery/

echo "== placement: 10,000 tasks on 100 workers"
go test -run '^$' -bench 'Place|Tracker' -benchtime 1s -count 1 ./controllers/scheduler/

echo "== /metrics of the manager at 10,000 tasks: time and bytes of one scrape"
go test -run '^$' -bench 'BenchmarkMetrics_10000Tasks' -benchtime 2s -count 1 ./apiserver/

echo "== lists and mkctl at 10,000 stored tasks: a list in process, mkctl's table printing, then a real manager: get (table, -o json), apply -f of 10,000 documents, memory across 25 lists"
go test -run '^$' -bench 'BenchmarkList_10000Tasks' -benchtime 20x -count 1 ./apiserver/
go test -run '^$' -bench 'BenchmarkPrintTaskTable_10000' -benchtime 20x -count 1 ./cmd/mkctl/
go test -run '^$' -bench 'BenchmarkScaleRead' -benchtime 5x -count 1 -timeout 30m ./test/e2e/
go test -run '^$' -bench 'BenchmarkScaleApply' -benchtime 3x -count 1 -timeout 30m ./test/e2e/
go test -run '^$' -bench 'BenchmarkScaleMemory' -benchtime 1x -count 1 -timeout 30m ./test/e2e/

echo "== store (bolt, and etcd against a real etcd the test starts), cache, queue, validation"
go test -run '^$' -bench . -benchtime 1s -count 1 ./store/... ./reconcile/ ./apis/v1/

scale

if [[ "${SLOW:-0}" == 1 ]]; then
	growth
fi
