package storetest

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/minkube/minkube/store"
)

// benchClients is how many goroutines per CPU the parallel benchmarks run:
// the manager serves many API requests and controllers at once, and a
// backend that batches commits only shows it with many writers.
const benchClients = 64

// benchValue is about the size of a stored Task.
var benchValue = make([]byte, 600)

// Bench runs the backend benchmarks against stores made by newStore. Each
// reports writes/s besides ns/op where it writes.
func Bench(b *testing.B, newStore func(b *testing.B) store.Store) {
	b.Run("Create", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		for i := 0; b.Loop(); i++ {
			if _, err := s.Create(ctx, "/bench/"+strconv.Itoa(i), benchValue); err != nil {
				b.Fatal(err)
			}
		}
		reportWrites(b)
	})

	b.Run("CreateParallel", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		var n atomic.Int64
		b.SetParallelism(benchClients)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				key := "/bench/" + strconv.FormatInt(n.Add(1), 10)
				if _, err := s.Create(ctx, key, benchValue); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportWrites(b)
	})

	b.Run("UpdateParallel", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		const keys = 1000
		for i := range keys {
			if _, err := s.Create(ctx, fmt.Sprintf("/bench/%d", i), benchValue); err != nil {
				b.Fatal(err)
			}
		}
		var n atomic.Int64
		b.SetParallelism(benchClients)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				key := fmt.Sprintf("/bench/%d", n.Add(1)%keys)
				if _, err := s.Update(ctx, key, benchValue, 0); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportWrites(b)
	})

	b.Run("GetParallel", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		if _, err := s.Create(ctx, "/bench/x", benchValue); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Get(ctx, "/bench/x"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// reportWrites adds a writes/s figure.
func reportWrites(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "writes/s")
	}
}
