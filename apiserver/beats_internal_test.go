package apiserver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"
)

// The calls that fall in one window return together when it ends, and
// not before; a call after it opens the next; a call whose context ends
// returns then; with no window a call returns at once. The clock is
// synctest's: time moves only when every goroutine waits.
func TestWriteGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const window = time.Hour
		g := &writeGroup{window: window}
		start := time.Now()
		returned := make(chan time.Duration, 3)
		call := func() {
			go func() {
				g.wait(context.Background())
				returned <- time.Since(start)
			}()
		}
		// Three calls within one window: the first opens it.
		call()
		time.Sleep(window / 2)
		call()
		time.Sleep(window / 4)
		call()
		synctest.Wait()
		select {
		case at := <-returned:
			t.Fatalf("a call returned %s in, before its window ended", at)
		default:
		}
		time.Sleep(window / 4)
		synctest.Wait()
		for range 3 {
			select {
			case at := <-returned:
				if at != window {
					t.Errorf("a call of the first window returned %s in, want %s: it opened a window of its own", at, window)
				}
			default:
				t.Fatal("the first window ended, and not all 3 of its calls returned")
			}
		}

		// The next call opens a window of its own.
		time.Sleep(window / 10)
		call()
		time.Sleep(window)
		synctest.Wait()
		if at := <-returned; at != window+window/10+window {
			t.Errorf("the next call returned %s in, want %s", at, window+window/10+window)
		}

		// A call whose context ends does not wait for its window.
		ctx, cancel := context.WithCancel(context.Background())
		gone := make(chan struct{})
		go func() {
			g.wait(ctx)
			close(gone)
		}()
		synctest.Wait()
		cancel()
		synctest.Wait()
		select {
		case <-gone:
		default:
			t.Error("a call whose context ended still waits")
		}

		// No window: no wait, no time passes.
		before := time.Now()
		(&writeGroup{window: -1}).wait(context.Background())
		if d := time.Since(before); d != 0 {
			t.Errorf("with no window a call took %s", d)
		}
	})
}

// Reports enter the gate while their announced sizes fit in it together,
// and wait, unread, while they do not; one of unknown or larger size
// counts as the whole gate, so it enters alone and still enters; one
// whose client gives up while waiting returns its context's error and
// holds nothing. The clock is synctest's: a report still waiting once
// every goroutine waits is blocked for good.
func TestReportGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newReportGate(100)
		report := func(ctx context.Context, length int64) *http.Request {
			r := httptest.NewRequestWithContext(ctx, http.MethodPut, "/api/v1/workers/w/status", nil)
			r.ContentLength = length
			return r
		}
		type entered struct {
			release func()
			err     error
		}
		// try starts a report's wait at the gate; its result arrives on
		// the channel once it enters or gives up.
		try := func(ctx context.Context, length int64) <-chan entered {
			ch := make(chan entered, 1)
			go func() {
				release, err := g.enter(report(ctx, length))
				ch <- entered{release, err}
			}()
			return ch
		}
		in := func(ch <-chan entered, what string) func() {
			t.Helper()
			synctest.Wait()
			select {
			case e := <-ch:
				if e.err != nil {
					t.Fatalf("%s: %v", what, e.err)
				}
				return e.release
			default:
				t.Fatalf("%s: still waiting at the gate", what)
				return nil
			}
		}
		waiting := func(ch <-chan entered, what string) {
			t.Helper()
			synctest.Wait()
			select {
			case e := <-ch:
				t.Fatalf("%s entered (err %v); it should wait", what, e.err)
			default:
			}
		}
		ctx := context.Background()

		first := in(try(ctx, 60), "a report of 60 bytes at an empty gate")
		second := in(try(ctx, 40), "a report of 40 bytes beside 60")
		third := try(ctx, 1)
		waiting(third, "a report of 1 byte beside 100")
		first()
		thirdRelease := in(third, "the report of 1 byte once 60 left")

		unknown := try(ctx, -1)
		waiting(unknown, "a report of unknown length beside 41 bytes")
		second()
		waiting(unknown, "a report of unknown length beside 1 byte")
		thirdRelease()
		unknownRelease := in(unknown, "the report of unknown length at an empty gate")
		small := try(ctx, 1)
		waiting(small, "a report of 1 byte beside one of unknown length")
		unknownRelease()
		smallRelease := in(small, "the report of 1 byte once the one of unknown length left")
		smallRelease()

		large := in(try(ctx, 5000), "a report larger than the gate at an empty gate")
		gone, giveUp := context.WithCancel(ctx)
		gaveUp := try(gone, 10)
		waiting(gaveUp, "a report of 10 bytes beside a larger one")
		giveUp()
		synctest.Wait()
		if e := <-gaveUp; !errors.Is(e.err, context.Canceled) {
			t.Fatalf("a report whose client gave up: err %v, want context.Canceled", e.err)
		}
		large()
		in(try(ctx, 100), "a report of the gate's whole size after the one that gave up")()
	})
}
