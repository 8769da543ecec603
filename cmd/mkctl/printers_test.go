package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-5 * time.Second, "<invalid>"},
		{-500 * time.Millisecond, "0s"},
		{5 * time.Second, "5s"},
		{119 * time.Second, "119s"},
		{3 * time.Minute, "3m"},
		{3*time.Minute + 20*time.Second, "3m20s"},
		{45 * time.Minute, "45m"},
		{179 * time.Minute, "179m"},
		{2 * time.Hour, "120m"},
		{3 * time.Hour, "3h"},
		{5*time.Hour + 30*time.Minute, "5h30m"},
		{30 * time.Hour, "30h"},
		{4 * 24 * time.Hour, "4d"},
		{4*24*time.Hour + 5*time.Hour, "4d5h"},
		{100 * 24 * time.Hour, "100d"},
		{3 * 365 * 24 * time.Hour, "3y"},
		{(3*365 + 10) * 24 * time.Hour, "3y10d"},
		{10 * 365 * 24 * time.Hour, "10y"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			if got := humanDuration(tt.d); got != tt.want {
				t.Errorf("humanDuration(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}

func TestHumanBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{-1, "0"},
		{0, "0"},
		{1023, "1023"},
		{1024, "1Ki"},
		{1536, "1.5Ki"},
		{512 << 20, "512Mi"},
		{1536 << 20, "1.5Gi"},
		{20 << 30, "20Gi"},
		{20<<30 + 300<<20, "20Gi"},
		{3 << 40, "3Ti"},
	}
	for _, tt := range tests {
		if got := humanBytes(tt.n); got != tt.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestParseResourceArgs(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantKind  string
		wantNames []string
		wantErr   string
	}{
		{name: "plural", args: []string{"tasks"}, wantKind: kindTask},
		{name: "singular with names", args: []string{"task", "a", "b"}, wantKind: kindTask, wantNames: []string{"a", "b"}},
		{name: "workers", args: []string{"Workers"}, wantKind: kindWorker},
		{name: "TYPE/NAME", args: []string{"task/a", "tasks/b"}, wantKind: kindTask, wantNames: []string{"a", "b"}},
		{name: "mixed types", args: []string{"task/a", "worker/b"}, wantErr: `"worker/b": all arguments must be of one type (task)`},
		{name: "mixed forms", args: []string{"task/a", "b"}, wantErr: `"b": arguments in TYPE/NAME form cannot be mixed with others`},
		{name: "unknown", args: []string{"pods"}, wantErr: `unknown resource type "pods": use tasks or workers`},
		{name: "none", wantErr: "you must specify the type of resource: tasks or workers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, names, err := parseResourceArgs("mkctl get", tt.args, kindTask, kindWorker)
			if tt.wantErr != "" {
				var ue *usageError
				if err == nil || err.Error() != tt.wantErr || !errors.As(err, &ue) {
					t.Fatalf("error = %v, want the usage error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if kind != tt.wantKind || len(names) != len(tt.wantNames) {
				t.Fatalf("got %q %v, want %q %v", kind, names, tt.wantKind, tt.wantNames)
			}
			for i := range names {
				if names[i] != tt.wantNames[i] {
					t.Errorf("names = %v, want %v", names, tt.wantNames)
				}
			}
		})
	}
}

func TestSourceNote(t *testing.T) {
	tests := map[string]string{
		client.SourceFlag:    "from --server",
		client.SourceEnv:     "from $MINKUBE_SERVER",
		"~/.minkube/config":  "from ~/.minkube/config",
		client.SourceDefault: "the default; set --server, $MINKUBE_SERVER or a context in ~/.minkube/config",
	}
	for source, want := range tests {
		if got := sourceNote(source); got != want {
			t.Errorf("sourceNote(%q) = %q, want %q", source, got, want)
		}
	}
}

func TestOneLine(t *testing.T) {
	tests := map[string]string{
		"plain":                    "plain",
		"  padded \n":              "padded",
		"first\nsecond\r\n  third": "first; second; third",
	}
	for in, want := range tests {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStreamTable(t *testing.T) {
	var b strings.Builder
	st := streamTable{w: &b}
	if err := st.start([]string{"NAME", "PHASE", "AGE"}, [][]string{{"a", "Running", "5s"}}, false); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][]string{{"longer-name", "Pending", "0s"}, {"b", "Scheduled", "1s"}} {
		if err := st.row(r); err != nil {
			t.Fatal(err)
		}
	}
	want := "NAME   PHASE     AGE\n" +
		"a      Running   5s\n" +
		"longer-name   Pending   0s\n" +
		"b             Scheduled   1s\n"
	if b.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestPrintJSONList_IndentsAsJSONIndent: a list printed as it came is
// byte for byte what json.Indent makes of it, for every kind of value,
// strings holding JSON's own punctuation and escapes, and empty objects
// and arrays, however the answer arrives.
func TestPrintJSONList_IndentsAsJSONIndent(t *testing.T) {
	item := `{"metadata":{"name":"a","labels":{},"annotations":{"x":"{\"y\": [1, 2]}, \\\"z\\\\"}},"spec":{"args":[],"env":[{"name":"A","value":"\u003c\u0026\u003e é \n\t"}]},` +
		`"status":{"ports":[{"containerPort":80,"hostPort":8080}],"exitCode":-1,"ratio":1.5e-3,"ok":true,"no":false,"none":null,"nested":[[],[{}],[[1]]]}}`
	lists := map[string]string{
		"two items":         ` {"apiVersion":"minkube.io/v1","kind":"TaskList","metadata":{"resourceVersion":"7"},"items":[` + item + `,{"metadata":{"name":"b"}}]}` + "\n",
		"one item":          `{"apiVersion":"minkube.io/v1","kind":"TaskList","metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"b"}}]}`,
		"no items":          `{"apiVersion":"minkube.io/v1","kind":"TaskList","metadata":{"resourceVersion":"7"},"items":[]}`,
		"null items":        `{"kind":"TaskList","metadata":{},"items":null}`,
		"kind after items":  `{"items":[` + item + `],"kind":"TaskList","extra":[1,{"<a>":"&"}]}`,
		"spaces everywhere": "\n{ \"kind\" : \"TaskList\" ,\n \"items\" : [ { \"a\" : [ 1 , 2 ] } , 3 ] }\n",
	}
	for name, raw := range lists {
		t.Run(name, func(t *testing.T) {
			var want bytes.Buffer
			if err := json.Indent(&want, bytes.TrimSpace([]byte(raw)), "", "    "); err != nil {
				t.Fatal(err)
			}
			want.WriteByte('\n')
			var streamed bytes.Buffer
			// Read a few bytes at a time, as a slow answer arrives.
			if err := printJSONListStream(&streamed, iotest.HalfReader(strings.NewReader(raw)), v1.KindTaskList); err != nil {
				t.Fatal(err)
			}
			if streamed.String() != want.String() {
				t.Errorf("printed\n%s\nwant\n%s", streamed.String(), want.String())
			}
		})
	}
}

// TestPrintJSONListStream_Refusals: an answer that is not a list of the
// kind asked for prints nothing; one that breaks off prints what came and
// says it broke.
func TestPrintJSONListStream_Refusals(t *testing.T) {
	tests := []struct {
		name, raw, wantErr, wantOut string
	}{
		{"another kind", `{"kind":"WorkerList","items":[{"metadata":{"name":"w"}}]}`, `a list of kind "WorkerList", not a TaskList`, ""},
		{"another kind after the items", `{"items":[{"a":1}],"kind":"WorkerList"}`, `a list of kind "WorkerList", not a TaskList`, ""},
		{"no kind", `{"items":[{"a":1}]}`, "an object of no kind, not a TaskList", ""},
		{"an array", `[{"kind":"TaskList"}]`, "not a JSON object but an array", ""},
		{"items not an array", `{"kind":"TaskList","items":{"a":1}}`, "items are not an array but an object", "{\n    \"kind\": \"TaskList\",\n    \"items\": "},
		{"two values", `{"kind":"TaskList","items":[]} {}`, "more than one JSON value", "{\n    \"kind\": \"TaskList\",\n    \"items\": []"},
		{"empty", ``, "ended before it was whole", ""},
		{"broken off", `{"kind":"TaskList","items":[{"a":1},{"b":`, "ended before it was whole",
			"{\n    \"kind\": \"TaskList\",\n    \"items\": [\n        {\n            \"a\": 1\n        }"},
		{"not JSON", `{"kind":"TaskList","items":[{"a":1},x]}`, "invalid character 'x'",
			"{\n    \"kind\": \"TaskList\",\n    \"items\": [\n        {\n            \"a\": 1\n        }"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := printJSONListStream(&out, strings.NewReader(tt.raw), v1.KindTaskList)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want one saying %q", err, tt.wantErr)
			}
			if out.String() != tt.wantOut {
				t.Errorf("printed %q, want %q", out.String(), tt.wantOut)
			}
		})
	}
}

// TestPrintJSONListStream_WriteError: a failed write is reported as one.
func TestPrintJSONListStream_WriteError(t *testing.T) {
	raw := `{"kind":"TaskList","items":[{"a":1}]}`
	err := printJSONListStream(failingWriter{}, strings.NewReader(raw), v1.KindTaskList)
	if err == nil || !strings.Contains(err.Error(), "write output") {
		t.Errorf("error = %v, want a write error", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
