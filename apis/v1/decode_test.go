package v1

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// wantDocErr is one expected problem: its document, Task name, field path
// (a path ending in "[" matches any index) and a fragment of its message.
type wantDocErr struct {
	index int
	name  string
	field string
	msg   string
}

func checkDocErrors(t *testing.T, file string, err error, want []wantDocErr) {
	t.Helper()
	var derrs DocumentErrors
	if !errors.As(err, &derrs) {
		t.Fatalf("error %v (%T) is not a DocumentErrors", err, err)
	}
	if len(derrs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(derrs), len(want), err)
	}
	for i, w := range want {
		g := derrs[i]
		fieldOK := g.Field == w.field || strings.HasSuffix(w.field, "[") && strings.HasPrefix(g.Field, w.field)
		if g.File != file || g.Index != w.index || g.Name != w.name || !fieldOK || !strings.Contains(g.Message, w.msg) {
			t.Errorf("error %d = %q\nwant file %q, document %d, name %q, field %q, message containing %q",
				i, g.Error(), file, w.index, w.name, w.field, w.msg)
		}
	}
}

func mustReadFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseManifests_Bad(t *testing.T) {
	tests := []struct {
		file string
		want []wantDocErr
	}{
		{"unknown-field.yaml", []wantDocErr{{1, "web", "spec.imagePullPolicy", "unknown field"}}},
		{"bad-name.yaml", []wantDocErr{{1, "Web_1", "metadata.name", `"Web_1" is not a valid name: a lowercase RFC 1123 label`}}},
		{"missing-image.yaml", []wantDocErr{{1, "web", "spec.image", "required"}}},
		{"port-zero.yaml", []wantDocErr{{1, "web", "spec.ports[0].containerPort", "must be 1..65535"}}},
		{"port-too-big.yaml", []wantDocErr{{1, "web", "spec.ports[1].containerPort", "must be 1..65535"}}},
		{"bad-quantity.yaml", []wantDocErr{{1, "web", "spec.resources.memory", `"256MB" is not a valid quantity`}}},
		{"duplicate-key.yaml", []wantDocErr{{1, "web", "spec.image", "duplicate key (first set on line 6)"}}},
		{"wrong-kind.yaml", []wantDocErr{{1, "", "kind", `must be Task, got "Pod"`}}},
		{"wrong-apiversion.yaml", []wantDocErr{{1, "web", "apiVersion", `must be minkube.io/v1, got "v1"`}}},
		{"empty.yaml", []wantDocErr{{0, "", "", "no Task documents found"}}},
		{"comments-only.yaml", []wantDocErr{{0, "", "", "no Task documents found"}}},
		{"not-yaml.yaml", []wantDocErr{{2, "", "", "not valid YAML: line 10: did not find expected ',' or '}'"}}},
		{"wrong-type.yaml", []wantDocErr{{1, "web", "spec.ports[0].containerPort", `must be an integer, got string "x"`}}},
		{"duplicate-port-names.yaml", []wantDocErr{{1, "web", "spec.ports[1].name", `duplicate port name "http"`}}},
		{"two-problems.yaml", []wantDocErr{
			{1, "web", "spec.ports[0].containerPort", "must be 1..65535"},
			{1, "web", "spec.restartPolicy", `must be one of Always, OnFailure, Never, got "Sometimes"`},
			{1, "web", "spec.bogus", "unknown field"},
		}},
		{"second-not-task.yaml", []wantDocErr{{2, "", "kind", `must be Task, got "Worker"`}}},
		{"list.yaml", []wantDocErr{{1, "", "", "must be a Task object, got a list"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tt.file)
			docs, err := ParseManifests(path, mustReadFile(t, path))
			if docs != nil {
				t.Errorf("got %d documents with the error, want none", len(docs))
			}
			checkDocErrors(t, path, err, tt.want)
		})
	}
}

// TestParseManifests_BadCorpusCovered makes sure every file of the bad
// corpus has a case above.
func TestParseManifests_BadCorpusCovered(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*"))
	if err != nil || len(files) < 17 {
		t.Fatalf("bad corpus: %d files, %v", len(files), err)
	}
	for _, f := range files {
		docs, err := ParseManifests(f, mustReadFile(t, f))
		if err == nil || docs != nil {
			t.Errorf("%s: parsed without error", f)
		}
	}
}

func TestParseManifests_Inline(t *testing.T) {
	const head = "apiVersion: minkube.io/v1\nkind: Task\nmetadata:\n  name: web\n"
	tests := []struct {
		name string
		yaml string
		want []wantDocErr
	}{
		{"string for int in JSON", `{"apiVersion":"minkube.io/v1","kind":"Task","metadata":{"name":"web"},"spec":{"image":"a","ports":[{"containerPort":"80"}]}}`,
			[]wantDocErr{{1, "web", "spec.ports[0].containerPort", `must be an integer, got string "80"`}}},
		{"number for string", head + "spec:\n  image: a\n  env: [{name: A, value: 1.0}]\n",
			[]wantDocErr{{1, "web", "spec.env[0].value", `must be a string, got number 1.0 (write "1.0" for a string)`}}},
		{"float for int", head + "spec:\n  image: a\n  ports: [{containerPort: 80.5}]\n",
			[]wantDocErr{{1, "web", "spec.ports[0].containerPort", "must be an integer, got number 80.5"}}},
		{"int out of range", head + "spec:\n  image: a\n  ports: [{containerPort: 99999999999}]\n",
			[]wantDocErr{{1, "web", "spec.ports[0].containerPort", "must be an integer from -2147483648 to 2147483647, got 99999999999"}}},
		{"object for list", head + "spec:\n  image: a\n  ports: {containerPort: 80}\n",
			[]wantDocErr{{1, "web", "spec.ports", "must be a list, got an object"}}},
		{"list for object", head + "spec: [a]\n",
			[]wantDocErr{{1, "web", "spec", "must be an object, got a list"}}},
		{"case hint", head + "spec:\n  Image: a\n",
			[]wantDocErr{{1, "web", "spec.image", "required"}, {1, "web", "spec.Image", `unknown field; did you mean "image"?`}}},
		{"duplicate label", head + "  labels:\n    app: a\n    app: b\nspec: {image: a}\n",
			[]wantDocErr{{1, "web", "metadata.labels[app]", "duplicate key (first set on line 6)"}}},
		{"duplicate in a later document", head + "spec: {image: a}\n---\n" + strings.Replace(head, "web", "api", 1) + "spec: {image: a, image: b}\n",
			[]wantDocErr{{2, "api", "spec.image", "duplicate key (first set on line 11)"}}},
		{"bad time", head + "  creationTimestamp: yesterday\nspec: {image: a}\n",
			[]wantDocErr{{1, "web", "metadata.creationTimestamp", `must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got string "yesterday"`}}},
		{"unsupported tag", head + "spec: {image: !custom a}\n",
			[]wantDocErr{{1, "web", "spec.image", "unsupported YAML tag !custom"}}},
		{"non-string key", head + "spec: {image: a, [x]: 1}\n",
			[]wantDocErr{{1, "web", "spec", "keys must be strings, got a list"}}},
		{"same name twice", head + "spec: {image: a}\n---\n" + head + "spec: {image: b}\n",
			[]wantDocErr{{2, "web", "metadata.name", `Task "web" is already defined in document 1`}}},
		{"wrong type and required together", head + "spec:\n  image: 5\n",
			[]wantDocErr{{1, "web", "spec.image", `must be a string, got number 5`}}},
		{"status is type checked", head + "spec: {image: a}\nstatus: {restartCount: many}\n",
			[]wantDocErr{{1, "web", "status.restartCount", "must be an integer"}}},
		{"scalar document", "just a string\n", []wantDocErr{{1, "", "", `must be a Task object, got string "just a string"`}}},
		{"control characters", "a: \x01\n", []wantDocErr{{1, "", "", "not valid YAML: control characters are not allowed"}}},
		{"merge bomb", mergeBomb(), []wantDocErr{{1, "web", "metadata.labels", "document expands to too many values (too many YAML aliases)"}}},
		{"errors are capped", head + "spec:\n  image: a\n  command: [" + strings.Repeat("[], ", 500) + "]\n",
			append(repeatWant(wantDocErr{1, "web", "spec.command[", "must be a string, got a list"}, maxDocumentErrors),
				wantDocErr{1, "web", "", "too many problems"})},
		{"self-merging anchor", head + "spec: &s\n  image: a\n  <<: *s\n",
			[]wantDocErr{{1, "web", "spec", "<< merges nest deeper than 32"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := ParseManifests("inline.yaml", []byte(tt.yaml))
			if docs != nil {
				t.Errorf("got %d documents with the error, want none", len(docs))
			}
			checkDocErrors(t, "inline.yaml", err, tt.want)
		})
	}
}

// mergeBomb is a small document whose "<<" merges would expand one
// mapping thousands of times.
func mergeBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: minkube.io/v1\nkind: Task\nmetadata:\n  name: web\n  annotations: &m {")
	for i := range 100 {
		fmt.Fprintf(&b, "k%d: v, ", i)
	}
	b.WriteString("}\n  labels: {<<: [")
	b.WriteString(strings.Repeat("*m, ", 5000))
	b.WriteString("]}\nspec: {image: a}\n")
	return b.String()
}

// laughsBomb is a document of about a kilobyte whose nested "<<" merges
// would visit ten to the ninth mappings: each level merges the one
// before ten times (the "billion laughs" of YAML aliases).
func laughsBomb(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: minkube.io/v1\nkind: Task\nmetadata:\n  name: %s\n  labels:\n    <<:\n    - &l0 {", name)
	for i := range 10 {
		fmt.Fprintf(&b, "k%d: v, ", i)
	}
	b.WriteString("}\n")
	for level := 1; level < 10; level++ {
		fmt.Fprintf(&b, "    - &l%d {<<: [%s]}\n", level, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", level-1), 10), ", "))
	}
	b.WriteString("spec: {image: a}\n")
	return b.String()
}

func repeatWant(w wantDocErr, n int) []wantDocErr {
	out := make([]wantDocErr, n)
	for i := range out {
		out[i] = w
	}
	return out
}

func TestParseManifests_Good(t *testing.T) {
	path := filepath.Join("testdata", "manifests", "good-multi.yaml")
	docs, err := ParseManifests(path, mustReadFile(t, path))
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	want := []Document{
		{File: path, Index: 1, Task: Task{
			TypeMeta: TypeMeta{APIVersion: APIVersion, Kind: KindTask},
			Metadata: ObjectMeta{
				Name:        "web",
				Labels:      map[string]string{"app": "web", "tier": "frontend"},
				Annotations: map[string]string{AnnotationSource: "good-multi.yaml"},
			},
			Spec: TaskSpec{
				Image:   "nginx:1.27",
				Command: []string{"/docker-entrypoint.sh"},
				Args:    []string{"nginx", "-g", "daemon off;"},
				Env:     []EnvVar{{Name: "MODE", Value: "prod"}, {Name: "my.env-name", Value: "8080"}},
				Ports: []Port{
					{Name: "http", ContainerPort: 80, HostPort: 18080, Protocol: ProtocolTCP},
					{Name: "dns", ContainerPort: 53, Protocol: ProtocolUDP},
				},
				Resources:     Resources{CPU: "500m", Memory: "256Mi", Disk: "1Gi"},
				RestartPolicy: RestartAlways,
				HealthCheck: &HealthCheck{HTTP: &HTTPCheck{Path: "/healthz", Port: "http"},
					PeriodSeconds: DefaultPeriodSeconds, TimeoutSeconds: DefaultTimeoutSeconds, FailureThreshold: DefaultFailureThreshold},
				NodeSelector: map[string]string{"disk": "ssd"},
			},
		}},
		{File: path, Index: 2, Task: Task{
			TypeMeta: TypeMeta{APIVersion: APIVersion, Kind: KindTask},
			Metadata: ObjectMeta{
				Name: "batch", UID: "3f2a9c1e-0000-4000-8000-000000000001", ResourceVersion: "42",
				Generation: 3, CreationTimestamp: &created,
			},
			Spec: TaskSpec{
				Image:         "registry.local:5000/team/batch-job@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				RestartPolicy: RestartOnFailure,
				HealthCheck: &HealthCheck{Exec: &ExecCheck{Command: []string{"/bin/true"}},
					PeriodSeconds: 30, TimeoutSeconds: DefaultTimeoutSeconds, FailureThreshold: DefaultFailureThreshold},
			},
			// The status in the file is dropped.
		}},
	}
	if !reflect.DeepEqual(docs, want) {
		t.Errorf("got\n%s\nwant\n%s", mustJSON(t, docs), mustJSON(t, want))
	}
}

func TestParseManifests_GoodCorpus(t *testing.T) {
	tests := []struct {
		file  string
		names []string
	}{
		{"good-multi.yaml", []string{"web", "batch"}},
		{"good-json.yaml", []string{"api"}},
		{"good-anchors.yaml", []string{"worker-a"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "manifests", tt.file)
			docs, err := ParseManifests(path, mustReadFile(t, path))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, d := range docs {
				names = append(names, d.Task.Metadata.Name)
			}
			if !reflect.DeepEqual(names, tt.names) {
				t.Errorf("names = %v, want %v", names, tt.names)
			}
		})
	}
}

func TestParseManifests_AnchorsAndMerges(t *testing.T) {
	path := filepath.Join("testdata", "manifests", "good-anchors.yaml")
	docs, err := ParseManifests(path, mustReadFile(t, path))
	if err != nil {
		t.Fatal(err)
	}
	spec := docs[0].Task.Spec
	wantEnv := []EnvVar{{Name: "MODE", Value: "batch"}, {Name: "MODE2", Value: "batch"}}
	wantSel := map[string]string{"app": "queue", "role": "queue-worker"}
	wantCmd := []string{"sh", "-c", "sleep 3600"}
	if !reflect.DeepEqual(spec.Env, wantEnv) || !reflect.DeepEqual(spec.NodeSelector, wantSel) ||
		!reflect.DeepEqual(spec.Command, wantCmd) || !reflect.DeepEqual(spec.HealthCheck.Exec.Command, wantCmd) {
		t.Errorf("spec = %s", mustJSON(t, spec))
	}
}

func TestParseManifests_Separators(t *testing.T) {
	const task = "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: %s}\nspec: {image: nginx}\n"
	tests := []struct {
		name  string
		data  string
		names []string
	}{
		{"leading separator", "---\n" + fmt.Sprintf(task, "a"), []string{"a"}},
		{"CRLF", strings.ReplaceAll(fmt.Sprintf(task, "a")+"---\n"+fmt.Sprintf(task, "b"), "\n", "\r\n"), []string{"a", "b"}},
		{"separator with trailing space and comment", fmt.Sprintf(task, "a") + "---   \n--- # next\n" + fmt.Sprintf(task, "b"), []string{"a", "b"}},
		{"content on the separator line", "--- {apiVersion: minkube.io/v1, kind: Task, metadata: {name: a}, spec: {image: x}}\n", []string{"a"}},
		{"document end marker", fmt.Sprintf(task, "a") + "...\n---\n" + fmt.Sprintf(task, "b"), []string{"a", "b"}},
		{"byte order mark", "\ufeff" + fmt.Sprintf(task, "a"), []string{"a"}},
		{"dashes inside a block scalar are not separators", "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: a}\nspec:\n  image: nginx\n  args:\n    - |\n      ---x\n      ----\n", []string{"a"}},
		{"null document skipped", "~\n---\n" + fmt.Sprintf(task, "a"), []string{"a"}},
		{"JSON with a slash escape", `{"apiVersion":"minkube.io/v1","kind":"Task","metadata":{"name":"a"},"spec":{"image":"ghcr.io\/x"}}`, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := ParseManifests("f.yaml", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for i, d := range docs {
				names = append(names, d.Task.Metadata.Name)
				if d.Index != i+1 {
					t.Errorf("document %q has index %d, want %d", d.Task.Metadata.Name, d.Index, i+1)
				}
			}
			if !reflect.DeepEqual(names, tt.names) {
				t.Errorf("names = %v, want %v", names, tt.names)
			}
		})
	}
}

// TestParseManifests_Limits checks the limits of a manifest file: a file
// of many small documents is read whatever its total, up to
// MaxManifestSize; a document over MaxDocumentSize is refused by number
// and line, the other documents being checked as usual.
func TestParseManifests_Limits(t *testing.T) {
	// 5 MiB of small manifests, generated here rather than kept in the
	// repository.
	var b bytes.Buffer
	n := 0
	for ; b.Len() < 5<<20; n++ {
		fmt.Fprintf(&b, "---\napiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: t-%d}\nspec: {image: nginx}\n", n)
	}
	docs, err := ParseManifests("many.yaml", b.Bytes())
	if err != nil {
		t.Fatalf("5 MiB of small documents: %.500v", err)
	}
	if len(docs) != n || docs[n-1].Task.Metadata.Name != fmt.Sprintf("t-%d", n-1) || docs[n-1].Index != n {
		t.Errorf("read %d documents, the last %+v; want %d", len(docs), docs[len(docs)-1].Task.Metadata, n)
	}

	huge := bytes.Repeat([]byte("#"), MaxManifestSize+1)
	_, err = ParseManifests("huge.yaml", huge)
	checkDocErrors(t, "huge.yaml", err, []wantDocErr{{0, "", "", fmt.Sprintf("file is %d bytes, over the limit of %d bytes", MaxManifestSize+1, MaxManifestSize)}})

	doc := func(name string, argBytes int) string {
		return "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: " + name + "}\nspec:\n  image: nginx\n  args: [\"" +
			strings.Repeat("x", argBytes) + "\"]\n"
	}
	under := doc("under", MaxDocumentSize-200)
	over := doc("over", MaxDocumentSize)
	if len(under) > MaxDocumentSize || len(over) <= MaxDocumentSize {
		t.Fatalf("test documents are %d and %d bytes", len(under), len(over))
	}
	docs, err = ParseManifests("big.yaml", []byte(under+"---\n"+doc("small", 10)))
	if err != nil || len(docs) != 2 {
		t.Errorf("a document just under the limit: %d documents, %v", len(docs), err)
	}
	_, err = ParseManifests("big.yaml", []byte(doc("a", 1)+"---\n"+over+"---\n"+doc("c", 1)+"---\n"+doc("Bad_Name", 1)))
	checkDocErrors(t, "big.yaml", err, []wantDocErr{
		{2, "", "", fmt.Sprintf("is %d bytes (from line 8), over the limit of %d bytes for one document", len(over), MaxDocumentSize)},
		{4, "Bad_Name", "metadata.name", "is not a valid name"},
	})
	if got := err.Error(); !strings.HasPrefix(got, "big.yaml: document 2: is ") {
		t.Errorf("Error() = %q, want it to name the file and the document", got)
	}
}

func TestDocumentError_Error(t *testing.T) {
	tests := []struct {
		err  DocumentError
		want string
	}{
		{DocumentError{File: "a.yaml", Index: 2, Name: "web", Field: "spec.ports[0].containerPort", Message: "must be 1..65535"},
			`a.yaml: document 2 (Task "web"): spec.ports[0].containerPort: must be 1..65535`},
		{DocumentError{File: "a.yaml", Index: 2, Field: "kind", Message: `must be Task, got "Worker"`},
			`a.yaml: document 2: kind: must be Task, got "Worker"`},
		{DocumentError{File: "a.yaml", Index: 1, Name: "web", Message: "something"},
			`a.yaml: document 1 (Task "web"): something`},
		{DocumentError{File: "a.yaml", Message: "no Task documents found"}, `a.yaml: no Task documents found`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
	errs := DocumentErrors{tests[0].err, tests[3].err}
	if got, want := errs.Error(), tests[0].want+"\n"+tests[3].want; got != want {
		t.Errorf("DocumentErrors.Error() = %q, want %q", got, want)
	}
}

func TestDecodeTask(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantName string // "-" for no Task at all
		want     []FieldError
	}{
		{"valid JSON", `{"apiVersion":"minkube.io/v1","kind":"Task","metadata":{"name":"web"},"spec":{"image":"nginx","ports":[{"containerPort":80}]}}`, "web", nil},
		{"valid YAML", "kind: Task\nmetadata: {name: web}\nspec: {image: nginx}\n", "web", nil},
		{"no validation", `{"metadata":{"name":"Not Valid"},"spec":{"ports":[{"containerPort":0}]}}`, "Not Valid", nil},
		{"every problem at once", `{"metadata":{"name":"web","nmae":"x"},"spec":{"image":"a","image":"b","ports":[{"containerPort":"80"}],"restartPolicy":true}}`, "web",
			[]FieldError{
				{"metadata.nmae", "unknown field"},
				{"spec.image", "duplicate key (first set on line 1)"},
				{"spec.ports[0].containerPort", `must be an integer, got string "80"`},
				{"spec.restartPolicy", "must be a string, got boolean true"},
			}},
		{"JSON is case-sensitive", `{"Metadata":{"name":"web"}}`, "", []FieldError{{"Metadata", `unknown field; did you mean "metadata"?`}}},
		{"big integer", `{"spec":{"ports":[{"containerPort":123456789012345678901234567890}]}}`, "",
			[]FieldError{{"spec.ports[0].containerPort", "must be an integer from -2147483648 to 2147483647"}}},
		{"exponent", `{"spec":{"ports":[{"containerPort":8e3}]}}`, "", []FieldError{{"spec.ports[0].containerPort", "must be an integer, got number 8e3"}}},
		{"null is empty", `{"metadata":null,"spec":{"image":null,"ports":null}}`, "", nil},
		{"empty", " \n", "-", []FieldError{{"", "empty body"}}},
		{"broken JSON", `{"metadata": {`, "-", []FieldError{{"", "not valid JSON"}}},
		{"trailing data", `{"metadata": {}} {}`, "-", []FieldError{{"", "not valid JSON"}}},
		{"two YAML documents", "kind: Task\n---\nkind: Task\n", "-", []FieldError{{"", "must hold exactly one object"}}},
		{"array", `[{"kind":"Task"}]`, "-", []FieldError{{"", "must be a Task object, got a list"}}},
		{"other kind", `{"kind":"Worker","spec":{"address":"x"}}`, "-", []FieldError{{"kind", `must be Task, got "Worker"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task, errs := DecodeTask([]byte(tt.body))
			wantErrors(t, errs, tt.want...)
			if tt.wantName == "-" {
				if task != nil {
					t.Errorf("got a Task for a body that holds none: %+v", task)
				}
				return
			}
			if task == nil {
				t.Fatal("no Task")
			}
			if task.Metadata.Name != tt.wantName {
				t.Errorf("name = %q, want %q", task.Metadata.Name, tt.wantName)
			}
		})
	}
}

// TestDecodeTask_RoundTrip decodes the JSON encoding of a Task with every
// field set back to the same Task.
func TestDecodeTask_RoundTrip(t *testing.T) {
	task := validTask()
	now := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	code := int32(3)
	task.Metadata.UID, task.Metadata.ResourceVersion, task.Metadata.Generation = "u-1", "17", 4
	task.Metadata.CreationTimestamp = &now
	task.Status = TaskStatus{Phase: PhaseRunning, Worker: "w", Ports: []PortStatus{{Name: "http", ContainerPort: 80, HostPort: 8080}},
		ExitCode: &code, StartedAt: &now, Conditions: []Condition{{Type: TaskReady, Status: ConditionTrue, LastTransitionTime: &now}}}
	got, errs := DecodeTask([]byte(mustJSON(t, task)))
	if errs != nil {
		t.Fatal(errs)
	}
	if !reflect.DeepEqual(got, task) {
		t.Errorf("got\n%s\nwant\n%s", mustJSON(t, got), mustJSON(t, task))
	}
}

func BenchmarkDecodeTask(b *testing.B) {
	body := []byte(mustJSON(b, validTask()))
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, errs := DecodeTask(body); errs != nil {
			b.Fatal(errs)
		}
	}
}

// TestParseManifests_Hostile feeds inputs shaped to make a parser work
// hard; each must still end in the right error (the fuzz target checks
// that nothing panics).
func TestParseManifests_Hostile(t *testing.T) {
	const head = "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: a}\n"
	tests := []struct {
		name string
		data string
		want []wantDocErr
	}{
		{"a million blank documents", strings.Repeat("---\n", 250000), []wantDocErr{{0, "", "", "no Task documents found"}}},
		{"many broken documents", strings.Repeat("a: [\n---\n", 5000), append(func() []wantDocErr {
			var w []wantDocErr
			for i := range maxFileErrors {
				w = append(w, wantDocErr{i + 1, "", "", "not valid YAML"})
			}
			return w
		}(), wantDocErr{0, "", "", "too many problems; stopped after 1000"})},
		{"deep nesting", strings.Repeat("[", 9000) + strings.Repeat("]", 9000), []wantDocErr{{1, "", "", "must be a Task object, got a list"}}},
		{"deep JSON nesting", `{"spec":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `}`, []wantDocErr{
			{1, "", "apiVersion", "required"}, {1, "", "kind", "required"}, {1, "", "metadata.name", "required"},
			{1, "", "spec", "must be an object, got a list"},
		}},
		{"billion laughs", laughsBomb("a"), []wantDocErr{{1, "a", "metadata.labels", "document expands to too many values (too many YAML aliases)"}}},
		{"huge image", head + "spec: {image: " + strings.Repeat("a", 1000000) + "}", []wantDocErr{{1, "a", "spec.image", "must be at most 456 characters"}}},
		{"many bad ports", head + "spec:\n  image: a\n  ports:\n" + strings.Repeat("  - {containerPort: 0}\n", 20000),
			append(repeatWant(wantDocErr{1, "a", "spec.ports[", "must be 1..65535"}, maxDocumentErrors), wantDocErr{1, "a", "", "too many problems"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseManifests("hostile.yaml", []byte(tt.data))
			checkDocErrors(t, "hostile.yaml", err, tt.want)
		})
	}
}

// TestParseManifests_LinesAndSuggestions checks that field problems name
// the file line they are on, and that a misspelt field gets the name it
// probably meant.
func TestParseManifests_LinesAndSuggestions(t *testing.T) {
	const head = "apiVersion: minkube.io/v1\nkind: Task\nmetadata:\n  name: web\nspec:\n  image: nginx:1.27\n"
	tests := []struct {
		name, doc string
		want      []string // Field: Message
	}{
		{"swapped letters", head + "  agrs: [a]\n", []string{`spec.agrs: unknown field; did you mean "args"? (line 7)`}},
		{"wrong case", head + "  restartpolicy: Never\n", []string{`spec.restartpolicy: unknown field; did you mean "restartPolicy"? (line 7)`}},
		{"a letter too many", head + "  nodeSelectorr: {}\n", []string{`spec.nodeSelectorr: unknown field; did you mean "nodeSelector"? (line 7)`}},
		{"nothing close", head + "  imagePullPolicy: Always\n", []string{`spec.imagePullPolicy: unknown field (line 7)`}},
		{"short and far", head + "  xy: 1\n", []string{`spec.xy: unknown field (line 7)`}},
		{"wrong type, second document", "---\n" + head + "---\n" + head + "  args: 5\n", []string{`spec.args: must be a list, got number 5 (line 15)`}},
		{"nested", head + "  ports:\n    - containerPort: 80\n      hostPrt: 8080\n", []string{`spec.ports[0].hostPrt: unknown field; did you mean "hostPort"? (line 9)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseManifests("web.yaml", []byte(tt.doc))
			var derrs DocumentErrors
			if !errors.As(err, &derrs) {
				t.Fatalf("err = %v, want DocumentErrors", err)
			}
			var got []string
			for _, de := range derrs {
				got = append(got, de.Field+": "+de.Message)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"args", "args", 0}, {"agrs", "args", 1}, {"arg", "args", 1}, {"argss", "args", 1},
		{"image", "imagee", 1}, {"", "env", 3}, {"ports", "prots", 1}, {"abc", "xyz", 3},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestParseManifests_IntOrString checks that quantities and health check
// ports take plain numbers, as Kubernetes manifests write them, and that
// other strings still refuse them.
func TestParseManifests_IntOrString(t *testing.T) {
	const head = "apiVersion: minkube.io/v1\nkind: Task\nmetadata:\n  name: web\nspec:\n  image: nginx:1.27\n"
	good := []struct {
		name, doc string
		check     func(*Task) bool
	}{
		{"cpu 1", head + "  resources: {cpu: 1, memory: 268435456, disk: 1e9}\n", func(t *Task) bool {
			return t.Spec.Resources.CPU == "1" && t.Spec.Resources.MilliCPU() == 1000 &&
				t.Spec.Resources.MemoryBytes() == 256<<20 && t.Spec.Resources.DiskBytes() == 1e9
		}},
		{"cpu 0.5", head + "  resources: {cpu: 0.5}\n", func(t *Task) bool { return t.Spec.Resources.MilliCPU() == 500 }},
		{"cpu as a string", head + "  resources: {cpu: \"2\"}\n", func(t *Task) bool { return t.Spec.Resources.MilliCPU() == 2000 }},
		{"hex integer", head + "  resources: {cpu: 0x2}\n", func(t *Task) bool { return t.Spec.Resources.CPU == "2" }},
		{"http port by number", head + "  ports: [{containerPort: 8080}]\n  healthCheck: {http: {path: /, port: 8080}}\n",
			func(t *Task) bool { return t.Spec.HealthCheck.HTTP.Port == "8080" }},
		{"tcp port by number, JSON", `{"apiVersion":"minkube.io/v1","kind":"Task","metadata":{"name":"web"},"spec":{"image":"nginx:1.27","healthCheck":{"tcp":{"port":5432}}}}`,
			func(t *Task) bool { return t.Spec.HealthCheck.TCP.Port == "5432" }},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := ParseManifests("web.yaml", []byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(&docs[0].Task) {
				t.Errorf("decoded %+v", docs[0].Task.Spec)
			}
		})
	}
	bad := []struct{ name, doc, want string }{
		{"port out of range", head + "  healthCheck: {tcp: {port: 70000}}\n", `spec.healthCheck.tcp.port: must be a port name of this task or a number 1..65535, got "70000"`},
		{"negative cpu", head + "  resources: {cpu: -1}\n", `spec.resources.cpu: "-1" is not a valid quantity: must not be negative`},
		{"a list is no quantity", head + "  resources: {cpu: [1]}\n", `spec.resources.cpu: must be a string, got a list (line 7)`},
		{"env values stay strings", head + "  env: [{name: A, value: 1}]\n", `spec.env[0].value: must be a string, got number 1 (write "1" for a string) (line 7)`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseManifests("web.yaml", []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// BenchmarkParseManifests_10000 reads one file of 10,000 Task documents,
// what mkctl apply -f does before it sends anything.
func BenchmarkParseManifests_10000(b *testing.B) {
	var data bytes.Buffer
	for i := range 10000 {
		fmt.Fprintf(&data, "---\napiVersion: minkube.io/v1\nkind: Task\nmetadata:\n  name: t-%05d\n  labels: {app: bench}\nspec:\n  image: minkube/testapp:dev\n  args: [serve, --port, '8080']\n  ports:\n  - containerPort: 8080\n", i)
	}
	b.SetBytes(int64(data.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseManifests("bench.yaml", data.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}
