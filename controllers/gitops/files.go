package gitops

import (
	"os"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// fileSig identifies one version of a file's content as well as stat can:
// size, modification time and inode (a rename over the file changes it).
// Timestamps are coarse (a few milliseconds), so a file named by an event
// is read again whatever its signature says.
type fileSig struct {
	size  int64
	mtime int64 // UnixNano
	ino   uint64
}

func statSig(path string) (fileSig, error) {
	info, err := os.Stat(path)
	if err != nil {
		return fileSig{}, err
	}
	return fileSig{size: info.Size(), mtime: info.ModTime().UnixNano(), ino: inode(info)}, nil
}

func (s fileSig) modified() time.Time { return time.Unix(0, s.mtime) }

// fileEntry is what the last read of a manifest file found.
type fileEntry struct {
	sig fileSig
	// docs are the file's Tasks when it parsed; nil when it is empty or
	// broken.
	docs []v1.Document
	// errs are the problems of a broken file; nil when it parsed.
	errs v1.DocumentErrors
	// empty: the file holds no document at all (v1.IsEmptyManifest).
	empty bool
}

// parseEntry parses the content of the file rel into an entry. An empty
// file (v1.IsEmptyManifest) is not taken to declare no Tasks: a save cut
// short or a file truncated before it is written looks the same, and
// must not delete what runs. Its Tasks are kept until it holds documents
// again or is deleted.
func parseEntry(rel string, sig fileSig, data []byte) *fileEntry {
	e := &fileEntry{sig: sig}
	if v1.IsEmptyManifest(data) {
		e.empty = true
		return e
	}
	docs, err := v1.ParseManifests(rel, data)
	if err != nil {
		e.errs = documentErrors(rel, err)
		return e
	}
	e.docs = docs
	return e
}

// documentErrors turns a parse or read error into DocumentErrors.
func documentErrors(rel string, err error) v1.DocumentErrors {
	if derrs, ok := err.(v1.DocumentErrors); ok {
		return derrs
	}
	return v1.DocumentErrors{{File: rel, Message: err.Error()}}
}
