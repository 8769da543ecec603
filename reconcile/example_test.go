package reconcile_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/minkube/minkube/reconcile"
)

func ExampleController() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	r := reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		// A real reconciler reads the current state of req.Key here and
		// converges it.
		fmt.Println("reconciling", req.Key)
		if req.Key == "db" {
			cancel() // stop the example after the last key
		}
		return reconcile.Result{}, nil
	})
	c := reconcile.New(r, reconcile.Options{Name: "example", Logger: slog.New(slog.DiscardHandler)})
	c.Enqueue("web")
	c.Enqueue("web") // de-duplicated: web is already waiting
	c.Enqueue("db")
	if err := c.Start(ctx); err != nil {
		fmt.Println("start:", err)
	}
	// Output:
	// reconciling web
	// reconciling db
}
