package workerd

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/moby/sys/atomicwriter"

	"github.com/minkube/minkube/workerd/runtime"
)

// A worker may touch only the containers of its own cluster. The manager
// generates the cluster's id once and returns it at registration; the
// worker labels every container it creates with it (runtime.LabelCluster)
// and treats a container as its own only when:
//
//   - it carries the worker's name and the cluster's id; or
//   - it carries the worker's name and no cluster id at all (made before
//     clusters had ids) and the worker holds its task: task uids are
//     random, so the manager that assigned that uid here made it. Such a
//     container is adopted as it is; it is replaced, labelled, on the
//     next spec change. One whose task the worker does not hold is left
//     alone, running or not: it may be another cluster's.
//
// Until the worker knows its cluster id (registration, or the note below)
// it touches nothing.

// owns reports whether the worker may touch a container with labels, given
// its cluster id and whether it holds the container's task.
func owns(labels map[string]string, cluster string, held bool) bool {
	id, labelled := labels[runtime.LabelCluster]
	if labelled {
		return cluster != "" && id == cluster
	}
	return cluster != "" && held
}

// clusterNote is where a worker remembers the cluster it joined, so that
// after a restart it adopts its containers before the manager answers. The
// note is keyed by the join token: a worker given another cluster's token
// (or sharing the directory with another cluster's worker of the same
// name) finds no note of its own and waits for registration.
type clusterNote struct {
	path      string // "" remembers nothing
	tokenHash string
}

func newClusterNote(path, joinToken string) clusterNote {
	sum := sha256.Sum256([]byte(joinToken))
	return clusterNote{path: path, tokenHash: hex.EncodeToString(sum[:8])}
}

// load returns the cluster id remembered for this join token; "" when there
// is none.
func (n clusterNote) load() (string, error) {
	if n.path == "" {
		return "", nil
	}
	data, err := os.ReadFile(n.path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the cluster note %s: %w", n.path, err)
	}
	id, token, ok := strings.Cut(strings.TrimSpace(string(data)), " ")
	if !ok || token != n.tokenHash {
		return "", nil
	}
	return id, nil
}

// save remembers id for this join token, replacing the note atomically.
func (n clusterNote) save(id string) error {
	if n.path == "" {
		return nil
	}
	if err := atomicwriter.WriteFile(n.path, []byte(id+" "+n.tokenHash+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the cluster note %s: %w", n.path, err)
	}
	return nil
}
