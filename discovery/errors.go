package discovery

import "errors"

// Sentinel errors. Returned errors wrap them with %w; test with errors.Is.
var (
	// ErrDomain means a zone name is not a DNS domain name.
	ErrDomain = errors.New("not a DNS domain name")
	// ErrTTL means a TTL is outside 1s..24h.
	ErrTTL = errors.New("TTL must be 1s..24h")
	// ErrNotSRVURL means a manager address is not a dns+srv:// URL.
	ErrNotSRVURL = errors.New("not a dns+srv:// URL")
	// ErrNoRecords means a lookup found no usable records: NXDOMAIN, an
	// empty answer, or SRV targets that have no address.
	ErrNoRecords = errors.New("no records")
	// ErrLookup means the DNS server could not be asked or answered with
	// an error code other than NXDOMAIN.
	ErrLookup = errors.New("DNS lookup failed")
)
