package stats

import "strconv"

// binaryUnits are the Kubernetes binary suffixes, largest first.
var binaryUnits = []struct {
	suffix string
	size   int64
}{
	{"Ei", 1 << 60},
	{"Pi", 1 << 50},
	{"Ti", 1 << 40},
	{"Gi", 1 << 30},
	{"Mi", 1 << 20},
	{"Ki", 1 << 10},
}

// formatBytes writes n bytes as a Kubernetes quantity in the largest binary
// unit that loses less than 1% of n by rounding down: 24Gi, 15575Mi, 512.
// It never rounds up, so a capacity it states is always there. Negative n
// gives "0".
func formatBytes(n int64) string {
	if n <= 0 {
		return "0"
	}
	for _, u := range binaryUnits {
		q := n / u.size
		if q == 0 {
			continue
		}
		if lost := n - q*u.size; lost < n/100 || lost == 0 {
			return strconv.FormatInt(q, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
