package apiserver

import (
	"context"
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
