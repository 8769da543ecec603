package apiserver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	v1 "github.com/minkube/minkube/apis/v1"
)

func decodeBody(body []byte, v any) error {
	r := httptest.NewRequest(http.MethodPut, "/api/v1/workers/w1/status", bytes.NewReader(body))
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, MaxBodyBytes)
	return decodeJSON(r, v)
}

// reportBody is a status report of one task that runs, as a worker sends
// it.
func reportBody(t testing.TB) []byte {
	now := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	rep := v1.StatusReport{
		Stats: v1.WorkerStats{CPUPercent: 12.5, MemoryTotal: 8 << 30, MemoryAvailable: 6 << 30, DiskTotal: 50 << 30, DiskFree: 40 << 30, Load1: 0.7, CPUs: 2},
		Tasks: []v1.TaskReport{{
			UID: "2b9d3a4e-5f60-4c71-8d92-a3b4c5d6e7f8", Name: "task-00042", Generation: 1,
			Status: v1.TaskStatus{
				Phase: v1.PhaseRunning, Worker: "hollow-7", ContainerID: strings.Repeat("ab", 32), StartedAt: &now,
				Conditions: []v1.Condition{
					{Type: v1.TaskScheduled, Status: v1.ConditionTrue, LastTransitionTime: &now},
					{Type: "Started", Status: v1.ConditionTrue, LastTransitionTime: &now},
					{Type: "Ready", Status: v1.ConditionTrue, LastTransitionTime: &now, Reason: "Running", Message: "the container runs"},
				},
			},
			Events: []v1.ReportedEvent{{Type: v1.EventNormal, Reason: "Pulled", Message: "image present"}},
		}},
		Conditions: []v1.Condition{{Type: "RuntimeReady", Status: v1.ConditionTrue, LastTransitionTime: &now}},
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// refuseUnknownFields is read back from goccy's Decoder: without it,
// Unmarshal would take a field the type has no room for.
func TestRefuseUnknownFields(t *testing.T) {
	var v struct{ A int }
	if err := json.UnmarshalWithOption([]byte(`{"A":1,"B":2}`), &v, refuseUnknownFields); err == nil {
		t.Error("Unmarshal with refuseUnknownFields took an unknown field")
	}
	if err := json.UnmarshalWithOption([]byte(`{"A":1}`), &v, refuseUnknownFields); err != nil || v.A != 1 {
		t.Errorf("Unmarshal with refuseUnknownFields = %v, A = %d", err, v.A)
	}
}

// FuzzDecodeJSON holds decodeJSON to the stream decoder it used alone
// before (decodeStream): the same bodies taken, with the same value, and
// the same words for the ones refused.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		``, ` `, `{}`, `[]`, `null`, `{"full":true}`, `{"full":true,"nope":1}`, `{"full":true} {}`,
		`{"full":true} ]`, `{"full":true}x`, `{"tasks":[{"uid":"a","status":{"phase":"Running"}}]}`,
		`{"tasks":[{"uid":"a","bogus":{}}]}`, `{"stats":{"cpuPercent":"high"}}`, `{"full":tru}`,
		`{"tasks":[{"uid":"\ud800"}]}`, "{\"digest\":\"bad\xffutf8\"}", `{"full":true,"full":false}`,
		`{"tasks":null,"conditions":[{"type":"RuntimeReady","status":"True"}]}`, `{"stats":{"cpus":1e3}}`, `{"stats":{"cpus":1.5}}`,
	} {
		f.Add([]byte(s))
	}
	f.Add(reportBody(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got, want v1.StatusReport
		gotErr, wantErr := decodeBody(data, &got), decodeStream(data, &want)
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Fatalf("decodeJSON(%q) = %v, the stream decoder %v", data, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeJSON(%q) = %+v, the stream decoder %+v", data, got, want)
		}
	})
}

// BenchmarkDecodeJSON_StatusReport decodes a one-task status report, as
// the manager does one for every task that starts: /unmarshal as
// decodeJSON does once the body is read, /stream as it did before.
func BenchmarkDecodeJSON_StatusReport(b *testing.B) {
	body := reportBody(b)
	b.Run("unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var rep v1.StatusReport
			if err := json.UnmarshalWithOption(body, &rep, refuseUnknownFields); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stream", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var rep v1.StatusReport
			if err := decodeStream(body, &rep); err != nil {
				b.Fatal(err)
			}
		}
	})
}
