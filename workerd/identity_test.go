package workerd_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/pki"
	"github.com/minkube/minkube/workerd"
	"github.com/minkube/minkube/workerd/runtime/runtimetest"
)

// TestWorker_KeepsItsIdentity: a restarted worker registers again with
// its own token (not the join token, which would be refused under a name
// in use), and serves the certificate it was issued from the start.
func TestWorker_KeepsItsIdentity(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "worker-1.credential")
	withFile := func(o *workerd.Options) { o.CredentialFile = file }
	fake := runtimetest.New(testImage)
	mgr := &fakeManager{}
	first := mustStartWorker(t, fake, mgr, withFile)
	first.mustRegistered(t, 1)
	if err := first.stop(t); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("credential file mode %o, want 600", mode)
	}

	mgr.setRegisterErr(&v1.Status{Code: http.StatusServiceUnavailable, Reason: v1.StatusReasonServiceUnavailable, Message: "manager starting"})
	second := mustStartWorker(t, fake, mgr, withFile)
	mustEventually(t, "a registration attempt", func() bool { return mgr.registerAttempts() >= 2 })
	// Before the manager answers, the worker already serves the
	// certificate the CA issued it: the manager's pushes verify.
	if _, _, err := second.try(t, second.http, http.MethodGet, "/healthz", "", nil); err != nil {
		t.Errorf("GET /healthz of the restarted worker, verifying it: %v", err)
	}
	mgr.setRegisterErr(nil)
	second.mustRegistered(t, 2)
	if got := mgr.registrationTokens(); got[0] != joinToken || got[len(got)-1] != workerToken {
		t.Errorf("registered with %q; want the join token first, then the worker's own", got)
	}
}

// TestWorker_ForgetsATokenTheManagerDoesNotKnow: a token the manager
// refuses (its store was wiped) is dropped and the worker joins anew with
// the join token, keeping its key.
func TestWorker_ForgetsATokenTheManagerDoesNotKnow(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "worker-1.credential")
	key := mustCredentialKey(t, file)
	mgr := &fakeManager{}
	h := mustStartWorker(t, runtimetest.New(testImage), mgr, func(o *workerd.Options) { o.CredentialFile = file })
	h.mustRegistered(t, 1)
	if got := mgr.registrationTokens(); !slices.Equal(got, []string{"stale-token", joinToken}) {
		t.Errorf("registered with %q; want the stale token, then the join token", got)
	}
	var cred struct{ Token, Key string }
	data, err := os.ReadFile(file)
	if err != nil || json.Unmarshal(data, &cred) != nil {
		t.Fatalf("read the credential file: %v", err)
	}
	if cred.Token != workerToken || cred.Key != key {
		t.Errorf("credential file token %q (key kept: %v); want the new token and the same key", cred.Token, cred.Key == key)
	}
}

// mustCredentialKey writes a credential file, as an earlier registration
// would have, holding a token the manager does not know; it returns the
// file's key.
func mustCredentialKey(t *testing.T, file string) string {
	t.Helper()
	key, err := pki.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(map[string]string{"token": "stale-token", "key": string(keyPEM)})
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return string(keyPEM)
}

// TestWorker_StopsEverythingWhenDeleted: told it was deleted, a worker
// stops every task it runs.
func TestWorker_StopsEverythingWhenDeleted(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	mgr := &fakeManager{}
	h := mustStartWorker(t, fake, mgr, nil)
	token := h.mustRegistered(t, 1)
	task := newTask("web", "uid-web-1")
	h.mustAssign(t, token, task, http.StatusCreated)
	h.mustRunning(t, token, task.Metadata.UID, 0)

	mgr.setRegisterErr(&v1.Status{Code: http.StatusForbidden, Reason: v1.StatusReasonForbidden, Message: "worker worker-1 was deleted",
		Details: &v1.StatusDetails{Causes: []v1.StatusCause{{Reason: v1.CauseWorkerDeleted, Field: "metadata.name"}}}})
	mgr.setReportErr(&v1.Status{Code: http.StatusUnauthorized, Reason: v1.StatusReasonUnauthorized, Message: "worker worker-1 was deleted"})
	mustEventually(t, "the task's containers gone", func() bool { return len(h.containers(t, task.Metadata.UID)) == 0 })
	if tasks := h.mustTasks(t, token); len(tasks) != 0 {
		t.Errorf("the deleted worker still holds %d tasks", len(tasks))
	}
}
