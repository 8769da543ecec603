package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

// A list-then-watch loop that starts over from a fresh list when the
// server says the watch's resourceVersion is gone.
func ExampleClient_WatchTasks() {
	ctx := context.TODO()
	c, err := client.New("127.0.0.1:7070", "TOKEN")
	if err != nil {
		slog.Error("client", "err", err)
		return
	}
	for ctx.Err() == nil {
		list, err := c.ListTasks(ctx, client.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			slog.Error("list tasks", "err", err)
			return
		}
		w, err := c.WatchTasks(ctx, list.Metadata.ResourceVersion, client.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			slog.Error("watch tasks", "err", err)
			return
		}
		for {
			ev, err := w.Next()
			if client.IsGone(err) || errors.Is(err, io.EOF) {
				break // list again
			}
			if err != nil {
				slog.Error("watch tasks", "err", err)
				return
			}
			if ev.Type != v1.Bookmark {
				fmt.Println(ev.Type, ev.Object.Metadata.Name)
			}
		}
		_ = w.Close()
	}
}
