package v1

import "strings"

// Fast checks of the Kubernetes name syntaxes. They agree with the
// functions of k8s.io/apimachinery's util/validation and api/validate/content
// packages (names_test.go holds them to that) but neither allocate nor run
// a regexp, since ValidateTask runs on every write; those functions still
// word the messages once a check fails.

const (
	maxLabelLength     = 63  // a DNS-1123 label, a label name or value
	maxSubdomainLength = 253 // a DNS-1123 subdomain
)

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isAlnum(c byte) bool { return isLowerAlnum(c) || c >= 'A' && c <= 'Z' }

// isDNS1123Label matches validation.IsDNS1123Label: up to 63 lowercase
// alphanumerics or '-', starting and ending with an alphanumeric.
func isDNS1123Label(s string) bool {
	return len(s) <= maxLabelLength && isDNSLabelChars(s)
}

func isDNSLabelChars(s string) bool {
	if s == "" || !isLowerAlnum(s[0]) || !isLowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

// isDNS1123Subdomain matches validation.IsDNS1123Subdomain: up to 253
// characters of dot-separated labels.
func isDNS1123Subdomain(s string) bool {
	if s == "" || len(s) > maxSubdomainLength {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if !isDNSLabelChars(label) {
			return false
		}
	}
	return true
}

// isLabelName matches the name part of a label key, which is also the
// syntax of a non-empty label value: up to 63 alphanumerics, '-', '_' or
// '.', starting and ending with an alphanumeric.
func isLabelName(s string) bool {
	if s == "" || len(s) > maxLabelLength || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// isLabelValue matches content.IsLabelValue.
func isLabelValue(s string) bool { return s == "" || isLabelName(s) }

// isLabelKey matches content.IsLabelKey, the former IsQualifiedName: a
// name, optionally after a DNS-1123 subdomain prefix and '/'.
func isLabelKey(s string) bool {
	prefix, name, found := strings.Cut(s, "/")
	if !found {
		return isLabelName(s)
	}
	return isDNS1123Subdomain(prefix) && isLabelName(name)
}

// isEnvVarName matches validation.IsEnvVarName: letters, digits, '_', '-'
// or '.', not starting with a digit, and not ".", ".." or "..".
func isEnvVarName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' || strings.HasPrefix(s, "..") || s == "." {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}
