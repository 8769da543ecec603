package e2e

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/pki"
)

// TestSecurity drives one cluster through what its security promises:
// TLS on the API, a worker's name that an impostor cannot take, bounded
// servers, a worker removed for good, a rotated token, and no secret in a
// log or on a command line.
func TestSecurity(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	w1 := c.addWorker("w1")
	w2 := c.addWorker("w2")
	addr := strings.TrimPrefix(c.server, "https://")

	t.Run("plain HTTP is refused; HTTPS with the CA works", func(t *testing.T) {
		resp, err := http.Get("http://" + addr + "/api/v1/tasks")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTPS") {
			t.Errorf("GET http:// = %d %q, want 400 saying the server speaks HTTPS", resp.StatusCode, body)
		}
		out, err := exec.Command("curl", "-sS", "--cacert", c.caFile, "https://"+addr+"/healthz").CombinedOutput()
		if err != nil || string(out) != "ok\n" {
			t.Errorf("curl --cacert CA https://.../healthz = %q, %v; want ok", out, err)
		}
		if out, err := exec.Command("curl", "-sS", "https://"+addr+"/healthz").CombinedOutput(); err == nil {
			t.Errorf("curl https:// without the CA = %q; want a certificate it does not trust", out)
		}
		if out, err := exec.Command("curl", "-sS", "-f", "http://"+addr+"/healthz").CombinedOutput(); err == nil {
			t.Errorf("curl http://.../healthz = %q; want it refused", out)
		}
		// The manager wrote mkctl's config, CA included: mkctl needs no
		// flag at all.
		cmd := exec.Command(filepath.Join(binDir, "mkctl"), "get", "workers", "-o", "name")
		cmd.Env = append(os.Environ(), "HOME="+c.home)
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "worker/"+w1) {
			t.Errorf("mkctl with no flags: %q, %v", out, err)
		}
	})

	t.Run("an impostor cannot take a worker's name", func(t *testing.T) {
		before := c.mustWorker(t, w1)
		imp := c.startEnv("impostor", nil, "worker", "--manager", c.server, "--name", w1,
			"--listen", freeAddr(t), "--join-token-file", c.joinFile, "--data-dir", filepath.Join(c.dir, "impostor"),
			"--port-host-ip", "127.0.0.1", "--dns-server=")
		defer imp.stop()
		waitFor(t, 30*time.Second, "the impostor refused", func() bool {
			return strings.Contains(imp.log.String(), "the manager refuses this worker") &&
				strings.Contains(c.manager.log.String(), "registration refused")
		})
		waitFor(t, 30*time.Second, "a RegistrationRefused event about "+w1, func() bool {
			list, err := c.client().ListEvents(t.Context(), "")
			if err != nil {
				return false
			}
			for _, e := range list.Items {
				if e.InvolvedObject.Kind == v1.KindWorker && e.InvolvedObject.Name == w1 && e.Reason == "RegistrationRefused" {
					return true
				}
			}
			return false
		})
		after := c.mustWorker(t, w1)
		if after.Spec.Address != before.Spec.Address || after.Metadata.UID != before.Metadata.UID || after.Status.Phase != v1.WorkerReady {
			t.Errorf("%s after the impostor: %+v %s, want its address %s and Ready", w1, after.Spec, after.Status.Phase, before.Spec.Address)
		}
	})

	t.Run("a body that trickles is cut after the read timeout", func(t *testing.T) {
		conn, err := tlsDial(c, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "PUT /api/v1/tasks/slow HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", addr, c.token)
		start := time.Now()
		sent := make(chan int, 1)
		go func() {
			n := 0
			for ; n < 1000; n++ { // one byte every 2s: 2000s to send it whole
				if _, err := conn.Write([]byte(" ")); err != nil {
					break
				}
				time.Sleep(2 * time.Second)
			}
			sent <- n
		}()
		// Meanwhile the manager serves everyone else.
		if err := c.client().Healthz(t.Context()); err != nil {
			t.Errorf("healthz while a body trickles: %v", err)
		}
		select {
		case n := <-sent:
			t.Logf("cut after %s and %d bytes", time.Since(start).Round(time.Second), n)
		case <-time.After(3 * time.Minute):
			t.Fatal("the connection is still open after 3 minutes")
		}
	})

	t.Run("a deleted worker is gone for good", func(t *testing.T) {
		c.apply(taskYAML("pinned", "  nodeSelector: {host: w2}\n", "log", "--every", "10s"))
		c.mkctl("label", "worker", w2, "host=w2")
		running := c.waitTask("pinned", 60*time.Second, "Running on "+w2, func(t *v1.Task) bool {
			return t.Status.Phase == v1.PhaseRunning && t.Status.Worker == w2
		})
		c.mkctl("label", "worker", w1, "host=w2")
		if out := c.mkctl("delete", "worker", w2); out != "worker/"+w2+" deleted\n" {
			t.Errorf("mkctl delete worker = %q", out)
		}
		c.waitTask("pinned", 60*time.Second, "Running on "+w1, func(t *v1.Task) bool {
			return t.Status.Phase == v1.PhaseRunning && t.Status.Worker == w1
		})
		// w2 is told it was deleted when it registers again, and stops
		// what it ran.
		waitFor(t, 60*time.Second, w2+" told it was deleted", func() bool {
			return strings.Contains(c.workers[w2].log.String(), "this worker was deleted")
		})
		waitFor(t, 60*time.Second, "the old copy's container removed", func() bool {
			return len(containersOf(t, running.Metadata.UID)) == 1 // the copy on w1
		})
		for _, ct := range containersOf(t, running.Metadata.UID) {
			if ct.Labels[labelWorker] != w1 {
				t.Errorf("container %s of %s left on %s", ct.ID[:12], running.Metadata.Name, ct.Labels[labelWorker])
			}
		}
		time.Sleep(3 * time.Second) // several of w2's registration attempts
		if _, errOut, code := c.mkctlRaw("get", "worker", w2); code == 0 || !strings.Contains(errOut, "not found") {
			t.Errorf("get worker %s after delete: exit %d %q; want not found", w2, code, errOut)
		}
	})

	t.Run("no secret in a log or on a command line", func(t *testing.T) {
		secrets := c.secrets(t)
		procs := []*proc{c.manager}
		for _, p := range c.workers {
			procs = append(procs, p)
		}
		for _, p := range procs {
			cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.cmd.Process.Pid))
			if err != nil {
				continue // it ended
			}
			for what, s := range secrets {
				if bytes.Contains(cmdline, []byte(s)) {
					t.Errorf("the %s is on the command line of %s", what, p.name)
				}
				if strings.Contains(p.log.String(), s) {
					t.Errorf("the %s is in the log of %s", what, p.name)
				}
			}
		}
	})

	t.Run("the admin token rotates without restarting anything", func(t *testing.T) {
		dataDir := filepath.Join(c.dir, "manager")
		old := c.token
		cmd := exec.Command(filepath.Join(binDir, "minkube"), "token", "rotate", "--data-dir", dataDir)
		cmd.Env = append(os.Environ(), "HOME="+c.home)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("minkube token rotate: %v: %s", err, out)
		}
		data, err := os.ReadFile(filepath.Join(dataDir, "token"))
		if err != nil {
			t.Fatal(err)
		}
		c.token = strings.TrimSpace(string(data))
		if c.token == old {
			t.Fatal("the token did not change")
		}
		waitFor(t, 30*time.Second, "the old token refused", func() bool {
			_, errOut, code := c.mkctlRaw("get", "workers", "--token", old)
			return code != 0 && strings.Contains(errOut, "rejected the token")
		})
		c.mkctl("get", "workers")
		// mkctl's config holds the new token.
		cmd = exec.Command(filepath.Join(binDir, "mkctl"), "get", "workers", "-o", "name")
		cmd.Env = append(os.Environ(), "HOME="+c.home)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("mkctl with the config after the rotation: %q, %v", out, err)
		}
		// The worker keeps its heartbeats and its tasks.
		since := time.Now()
		waitFor(t, 30*time.Second, w1+" heartbeating after the rotation", func() bool {
			w, err := c.client().GetWorker(t.Context(), w1)
			return err == nil && w.Status.Phase == v1.WorkerReady && w.Status.LastHeartbeatTime != nil && w.Status.LastHeartbeatTime.After(since)
		})
		if strings.Contains(c.workers[w1].log.String(), "registering again") {
			t.Errorf("%s had to register again after the rotation", w1)
		}
	})
}

// mustWorker returns the worker as the API shows it.
func (c *cluster) mustWorker(t *testing.T, name string) *v1.Worker {
	t.Helper()
	w, err := c.client().GetWorker(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// secrets returns every token of the cluster: the admin token, the join
// token's secret, and each worker's own token.
func (c *cluster) secrets(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{"admin token": c.token}
	data, err := os.ReadFile(c.joinFile)
	if err != nil {
		t.Fatal(err)
	}
	join, err := pki.ParseJoinToken(string(data))
	if err != nil {
		t.Fatal(err)
	}
	out["join token"] = join.Secret
	for name := range c.workers {
		data, err := os.ReadFile(filepath.Join(c.dir, name, "worker-"+name+".credential"))
		if err != nil {
			continue
		}
		var cred struct{ Token string }
		if json.Unmarshal(data, &cred) == nil && cred.Token != "" {
			out["token of "+name] = cred.Token
		}
	}
	return out
}

// tlsDial opens a TLS connection to the manager, verified with the
// cluster's CA.
func tlsDial(c *cluster, addr string) (net.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, c.tlsConfig())
}
