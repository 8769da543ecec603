package serve

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of a Throttle.
const (
	// FailureBurst is how many failed authentications a client may make
	// before it is throttled.
	FailureBurst = 10
	// FailureEvery is how often a throttled client earns one more try.
	FailureEvery = 6 * time.Second
	// maxTracked bounds the clients a Throttle remembers; past it, those
	// whose allowance is whole again are forgotten.
	maxTracked = 4096
)

// Throttle counts failed authentications per client address: each takes
// one try from the client's allowance (FailureBurst, one back every
// FailureEvery). A client with none left is throttled: its failures are
// answered 429 Too Many Requests, with the time until its next try, and
// cost the server no more than that. Requests that authenticate are never
// throttled, so a client that shares an address with a guesser keeps
// working. It is safe for concurrent use.
type Throttle struct {
	burst int
	every time.Duration
	now   func() time.Time

	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

// NewThrottle returns a Throttle with the default allowance.
func NewThrottle() *Throttle { return newThrottle(FailureBurst, FailureEvery, time.Now) }

func newThrottle(burst int, every time.Duration, now func() time.Time) *Throttle {
	return &Throttle{burst: burst, every: every, now: now, clients: map[string]*rate.Limiter{}}
}

// Failed records a failed authentication of r's client. It returns 0
// while the client has tries left, else how long until its next one.
func (t *Throttle) Failed(r *http.Request) time.Duration {
	ip := ClientIP(r)
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	lim, ok := t.clients[ip]
	if !ok {
		if len(t.clients) >= maxTracked {
			t.forgetWhole(now)
		}
		lim = rate.NewLimiter(rate.Every(t.every), t.burst)
		t.clients[ip] = lim
	}
	if lim.AllowN(now, 1) {
		return 0
	}
	return time.Duration((1 - lim.TokensAt(now)) * float64(t.every))
}

// RetryAfter is a wait as the Retry-After header gives it: whole
// seconds, rounded up.
func RetryAfter(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}

// forgetWhole drops the clients whose allowance is whole again.
func (t *Throttle) forgetWhole(now time.Time) {
	for ip, lim := range t.clients {
		if lim.TokensAt(now) >= float64(t.burst) {
			delete(t.clients, ip)
		}
	}
}
