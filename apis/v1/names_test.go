package v1

import (
	"math/rand/v2"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
)

// TestNameChecks_AgreeWithKubernetes holds the fast name checks to the
// apimachinery functions they stand in for, on edge cases and on random
// strings over an alphabet of the characters that matter.
func TestNameChecks_AgreeWithKubernetes(t *testing.T) {
	checks := []struct {
		name string
		fast func(string) bool
		k8s  func(string) []string
	}{
		{"DNS1123Label", isDNS1123Label, validation.IsDNS1123Label},
		{"DNS1123Subdomain", isDNS1123Subdomain, validation.IsDNS1123Subdomain},
		{"LabelKey", isLabelKey, content.IsLabelKey},
		{"LabelValue", isLabelValue, content.IsLabelValue},
		{"EnvVarName", isEnvVarName, validation.IsEnvVarName},
	}
	inputs := []string{
		"", "a", "A", "0", "-", "_", ".", "..", "../a", "..a", ".a", "a.", "a-", "-a", "a-b", "a_b", "a.b",
		"a/b", "/b", "a/", "a/b/c", "example.com/name", "Example.com/name", "ex_ample.com/n", "a b", "a=b",
		"é", "1a", "a\n", strings.Repeat("a", 63), strings.Repeat("a", 64),
		strings.Repeat("a", 253), strings.Repeat("a", 254), strings.Repeat("a.", 126) + "a",
		strings.Repeat("a", 200) + "/" + strings.Repeat("b", 63),
	}
	const alphabet = "aZ09-_./=é \n"
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		inputs = append(inputs, b.String())
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			for _, in := range inputs {
				if got, want := c.fast(in), len(c.k8s(in)) == 0; got != want {
					t.Errorf("%q: fast check says %v, apimachinery says %v", in, got, want)
				}
			}
		})
	}
}
