package v1

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParseManifests checks that ParseManifests never panics, and that
// what it accepts is a fixed point: every Task it returns is valid, encodes
// to JSON, and parses back to the same Task. DecodeTask gets the same
// inputs and must not panic either. The seeds are the good and broken
// manifests under testdata plus the corpus in testdata/fuzz.
func FuzzParseManifests(f *testing.F) {
	for _, pattern := range []string{"testdata/manifests/*", "testdata/bad/*"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			f.Add(mustReadFile(f, file))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = DecodeTask(data)
		docs, err := ParseManifests("fuzz.yaml", data)
		if err != nil {
			if docs != nil {
				t.Fatalf("documents returned with error %v", err)
			}
			if _, ok := err.(DocumentErrors); !ok {
				t.Fatalf("error %T is not a DocumentErrors", err)
			}
			return
		}
		for _, d := range docs {
			if errs := ValidateTask(&d.Task); errs != nil {
				t.Fatalf("accepted an invalid Task: %v", errs)
			}
			b, err := json.Marshal(&d.Task)
			if err != nil {
				t.Fatalf("marshal accepted Task: %v", err)
			}
			again, err := ParseManifests("again.json", b)
			if err != nil {
				t.Fatalf("re-parse of %s: %v", b, err)
			}
			if len(again) != 1 || !reflect.DeepEqual(again[0].Task, d.Task) {
				t.Fatalf("re-parse differs:\nfirst  %s\nagain  %s", b, mustJSON(t, again))
			}
			if cp := d.Task.DeepCopy(); !reflect.DeepEqual(cp, &d.Task) {
				t.Fatalf("DeepCopy differs")
			}
		}
	})
}

// TestFuzzCorpusPresent keeps the committed seed corpus from disappearing
// unnoticed: plain go test runs it as part of FuzzParseManifests.
func TestFuzzCorpusPresent(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzParseManifests"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("seed corpus: %d files, %v", len(entries), err)
	}
}
