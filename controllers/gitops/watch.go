package gitops

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"

	v1 "github.com/minkube/minkube/apis/v1"
)

// dirID identifies the directory a watched path leads to: its real path
// and inode. When either changes (a symbolic link was swapped, the
// directory was removed and made again) the watch is added anew.
type dirID struct {
	real string
	ino  uint64
}

// syncWatches points the watcher at the directories the files are read
// from now (as v1.WalkManifests listed them), and at the directory
// holding the manifests directory (to see it appear, disappear or be
// swapped). It reports whether every directory is watched. A directory
// watched anew is read again by a later pass, since a file written after
// the walk listed it and before its watch was added makes no event.
func (c *Controller) syncWatches(dirs []v1.ManifestDir) bool {
	complete := true
	want := make(map[string]dirID, len(dirs))
	for _, d := range dirs {
		info, err := os.Stat(d.Path)
		if err != nil {
			c.log.Debug("listing the directories to watch", "err", err)
			complete = false
			continue
		}
		want[d.Path] = dirID{real: d.Real, ino: inode(info)}
	}
	current := map[string]bool{}
	for _, p := range c.watcher.WatchList() {
		current[p] = true
	}
	for path := range c.watched {
		id, ok := want[path]
		if !ok || id != c.watched[path] || !current[path] {
			if current[path] {
				// The directory may be gone already; its watch then is too.
				_ = c.watcher.Remove(path)
			}
			delete(c.watched, path)
		}
	}
	for path, id := range want {
		if _, ok := c.watched[path]; ok {
			continue
		}
		if err := c.watcher.Add(path); err != nil {
			c.log.Warn("cannot watch a directory; its changes are seen by polling", "dir", path, "every", c.opts.Poll, "err", err)
			complete = false
			continue
		}
		c.watched[path] = id
		// What changed between the walk that found the directory and
		// this watch made no event: look at it again.
		c.notice(treeEvent, path)
	}
	c.syncParentWatch()
	watched := make(map[string]bool, len(c.watched))
	for path := range c.watched {
		watched[path] = true
	}
	c.mu.Lock()
	c.dirs = watched
	c.mu.Unlock()
	return complete
}

// eventScope says what an event asks a pass to read again.
type eventScope int

const (
	ignoreEvent eventScope = iota
	fileEvent              // the one file named
	treeEvent              // every file below the path
	allEvent               // everything
)

// classify decides what an fsnotify event means. Events only say "look
// again": what a pass does depends on the files alone.
func (c *Controller) classify(ev fsnotify.Event) (eventScope, string) {
	name := filepath.Clean(ev.Name)
	if name == c.dir {
		return allEvent, c.dir // the directory itself came, went or was swapped
	}
	dir, base := filepath.Split(name)
	dir = filepath.Clean(dir)
	if dir == c.parent && c.parent != "" {
		return ignoreEvent, "" // a neighbour of the manifests directory
	}
	if v1.IsManifestName(base) {
		return fileEvent, name
	}
	c.mu.Lock()
	watchedDir := c.dirs[name]
	c.mu.Unlock()
	if watchedDir {
		return treeEvent, name // a directory being read went or moved
	}
	info, err := os.Lstat(name)
	switch {
	case err == nil && (info.IsDir() || info.Mode()&fs.ModeSymlink != 0):
		// A new directory, or a link swapped: the files reached through
		// it are beside it (name -> ..data/name) or below it.
		return treeEvent, dir
	case err != nil && strings.HasPrefix(base, ".."):
		// The old side of an atomic "..data" swap, gone already.
		return treeEvent, dir
	}
	return ignoreEvent, "" // dotfiles, swap and backup files, other files
}

// watchLoop turns fsnotify events into requests for a pass, until ctx
// ends or the watcher closes.
func (c *Controller) watchLoop(ctx context.Context, w *fsnotify.Watcher) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if scope, path := c.classify(ev); scope != ignoreEvent {
				c.log.Debug("manifests changed", "path", ev.Name, "op", ev.Op.String())
				c.notice(scope, path)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				c.log.Warn("file events were lost; reading the whole manifests directory again", "dir", c.dir)
			} else {
				c.log.Warn("watching the manifests directory", "dir", c.dir, "err", err)
			}
			c.notice(allEvent, c.dir)
		}
	}
}
