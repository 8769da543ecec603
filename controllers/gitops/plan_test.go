package gitops

import (
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

// TestMakePlan_DeletesWaitForSettlingFiles covers a Task moved from a.yaml
// to b.yaml while b.yaml is still being written: a.yaml no longer declares
// it and b.yaml cannot be read yet. Deleting it then would restart it under
// a new uid once b.yaml settles, so deletes wait; a broken file does not
// hold them up, or one bad file would stop every delete for good.
func TestMakePlan_DeletesWaitForSettlingFiles(t *testing.T) {
	stored := []*v1.Task{{Metadata: v1.ObjectMeta{Name: "x", Annotations: map[string]string{v1.AnnotationSource: "a.yaml"}}}}
	tests := []struct {
		name       string
		b          fileView
		wantDelete bool
	}{
		{"b.yaml settling", fileView{rel: "b.yaml", frozen: true}, false},
		{"b.yaml broken", fileView{rel: "b.yaml", frozen: true, broken: true}, true},
		{"b.yaml declares nothing", fileView{rel: "b.yaml"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := makePlan([]fileView{{rel: "a.yaml"}, tt.b}, stored)
			deleted := false
			for _, a := range p.actions {
				if a.kind == deleteAction && a.name == "x" {
					deleted = true
				}
			}
			if deleted != tt.wantDelete {
				t.Errorf("plan deletes x = %t, want %t (actions %+v)", deleted, tt.wantDelete, p.actions)
			}
		})
	}
}
