package v1

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Hash returns a short, stable digest of the spec with its defaults filled
// in: the first 16 hex digits of the SHA-256 of its JSON encoding. Two specs
// that differ only in a defaulted field left out hash the same. workerd
// stores it in the io.minkube.spec-hash container label to tell when a
// container must be recreated. A nil spec hashes as an empty one.
func (s *TaskSpec) Hash() string {
	var spec TaskSpec
	if s != nil {
		spec = *s.DeepCopy()
	}
	setSpecDefaults(&spec)
	// A TaskSpec holds only strings, integers, maps and slices of them, so
	// encoding cannot fail; encoding/json sorts map keys.
	b, _ := json.Marshal(&spec)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// MilliCPU returns the CPU quantity in thousandths of a CPU; 0 when it is
// empty, invalid or negative.
func (r Resources) MilliCPU() int64 {
	q, ok := parseNonNegative(r.CPU)
	if !ok {
		return 0
	}
	return q.MilliValue()
}

// MemoryBytes returns the memory quantity in bytes, rounded up; 0 when it
// is empty, invalid or negative.
func (r Resources) MemoryBytes() int64 { return quantityBytes(r.Memory) }

// DiskBytes returns the disk quantity in bytes, rounded up; 0 when it is
// empty, invalid or negative.
func (r Resources) DiskBytes() int64 { return quantityBytes(r.Disk) }

func quantityBytes(s string) int64 {
	q, ok := parseNonNegative(s)
	if !ok {
		return 0
	}
	return q.Value()
}

func parseNonNegative(s string) (resource.Quantity, bool) {
	if s == "" {
		return resource.Quantity{}, false
	}
	q, err := resource.ParseQuantity(s)
	if err != nil || q.Sign() < 0 {
		return resource.Quantity{}, false
	}
	return q, true
}

// FormatQuantity renders a byte count as a binary-SI quantity for a
// ResourceList: "24Gi", "256Mi", or plain digits when no suffix divides it.
func FormatQuantity(bytes int64) string {
	return resource.NewQuantity(bytes, resource.BinarySI).String()
}

// ParseQuantity parses a Kubernetes quantity ("24Gi", "1G", "1500") into a
// whole number, rounding a fraction up ("500m" is 1). It returns an error
// wrapping ErrNegativeQuantity for a negative quantity, and the parser's
// error for anything that is not a quantity.
func ParseQuantity(s string) (int64, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, fmt.Errorf("parse quantity %q: %w", truncate(s), err)
	}
	if q.Sign() < 0 {
		return 0, fmt.Errorf("parse quantity %q: %w", truncate(s), ErrNegativeQuantity)
	}
	return q.Value(), nil
}
