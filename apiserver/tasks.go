package apiserver

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/julienschmidt/httprouter"
	"k8s.io/apimachinery/pkg/labels"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
)

// taskFilter selects tasks by label selector and worker.
type taskFilter struct {
	selector labels.Selector
	worker   string
}

func parseTaskFilter(r *http.Request) (taskFilter, error) {
	q := r.URL.Query()
	f := taskFilter{selector: labels.Everything(), worker: q.Get("worker")}
	if s := q.Get("labelSelector"); s != "" {
		sel, err := labels.Parse(s)
		if err != nil {
			return f, errBadRequest("labelSelector %q: %v", s, err)
		}
		f.selector = sel
	}
	return f, nil
}

// everything reports whether the filter lets every task through.
func (f taskFilter) everything() bool { return f.worker == "" && f.selector.Empty() }

func (f taskFilter) match(t *v1.Task) bool {
	if f.worker != "" && t.Status.Worker != f.worker {
		return false
	}
	return f.selector.Empty() || f.selector.Matches(labels.Set(t.Metadata.Labels))
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	f, err := parseTaskFilter(r)
	if err != nil {
		return err
	}
	table, err := asTable(r)
	if err != nil {
		return err
	}
	if watch, _ := strconv.ParseBool(r.URL.Query().Get("watch")); watch {
		if table {
			return errBadRequest("as=table lists; it does not apply to a watch")
		}
		return s.watchTasks(w, r, f)
	}
	var items []*v1.Task
	var rev int64
	if f.worker != "" && f.selector.Empty() {
		items, rev = s.st.TaskCache.ByIndex(store.IndexWorker, f.worker), s.st.TaskCache.Revision()
	} else {
		items, rev = s.st.TaskCache.ListRevision()
	}
	if table {
		writeTaskTable(w, items, rev, f)
		return nil
	}
	writeTaskList(w, items, rev, f)
	return nil
}

// asTable reads the as parameter: "table" asks for a Table rather than
// the objects.
func asTable(r *http.Request) (bool, error) {
	switch as := r.URL.Query().Get("as"); {
	case as == "":
		return false, nil
	case strings.EqualFold(as, "table"):
		return true, nil
	default:
		return false, errBadRequest("as=%q: the one representation on offer is as=table", as)
	}
}

// tableHead is what a Table holds before its rows.
type tableHead struct {
	listHead
	ColumnDefinitions []v1.TableColumn `json:"columnDefinitions"`
}

// writeTaskTable streams the Task table (v1.TaskTableRow) of the items f
// lets through.
func writeTaskTable(w http.ResponseWriter, items []*v1.Task, rev int64, f taskFilter) {
	l := startList(w, tableHead{listHead: newListHead(v1.KindTable, rev), ColumnDefinitions: v1.TaskTableColumns}, "rows")
	for _, t := range items {
		if f.match(t) {
			l.item(v1.TaskTableRow(t))
		}
	}
	l.end()
}

// writeTaskList streams the TaskList of the items f lets through.
func writeTaskList(w http.ResponseWriter, items []*v1.Task, rev int64, f taskFilter) {
	var keep func(*v1.Task) bool
	if !f.everything() {
		keep = f.match
	}
	writeList(w, v1.KindTaskList, rev, items, keep)
}

func (s *Server) getTask(w http.ResponseWriter, _ *http.Request, p httprouter.Params) error {
	name := p.ByName("name")
	t, ok := s.st.TaskCache.Get(name)
	if !ok {
		return errNotFound("task", name)
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// readTask decodes and validates a Task body. The name in the URL, when
// given, must match metadata.name.
func readTask(r *http.Request, urlName string) (*v1.Task, error) {
	data, buf, err := readBody(r)
	if err != nil {
		return nil, err
	}
	defer buf.Release() // DecodeTask copies what it keeps
	return decodeTask(data, urlName)
}

// decodeTask decodes, defaults and validates the Task of a request body;
// urlName is the name the URL gives it, "" for none.
func decodeTask(data []byte, urlName string) (*v1.Task, error) {
	if len(data) == 0 {
		return nil, errBadRequest("empty request body: send a Task as JSON")
	}
	t, ferrs := v1.DecodeTask(data)
	if t == nil {
		if len(ferrs) > 0 {
			return nil, errBadRequest("malformed JSON body: %v", ferrs)
		}
		return nil, errBadRequest("malformed JSON body")
	}
	name := t.Metadata.Name
	if name == "" {
		name = urlName
	}
	if len(ferrs) > 0 {
		return nil, errInvalid("Task", name, ferrs)
	}
	if urlName != "" && t.Metadata.Name != "" && t.Metadata.Name != urlName {
		return nil, errBadRequest("metadata.name %q does not match the name %q in the URL", t.Metadata.Name, urlName)
	}
	if t.Metadata.Name == "" {
		t.Metadata.Name = urlName
	}
	if t.APIVersion == "" && t.Kind == "" {
		t.TypeMeta = v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask}
	}
	v1.SetTaskDefaults(t)
	if ferrs := v1.ValidateTask(t); len(ferrs) > 0 {
		return nil, errInvalid("Task", name, ferrs)
	}
	return t, nil
}

func (s *Server) createTask(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	in, err := readTask(r, "")
	if err != nil {
		return err
	}
	return s.apply(w, r, in, store.ApplyOptions{CreateOnly: true})
}

// applyTask creates the task or updates its spec, labels and annotations.
// The status of the body is ignored: status is the system's. A Task the
// manifests directory manages keeps that annotation and refuses changes
// unless force=true (see keepSource).
func (s *Server) applyTask(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
	in, err := readTask(r, p.ByName("name"))
	if err != nil {
		return err
	}
	return s.apply(w, r, in, store.ApplyOptions{Adjust: keepSourceOf(r)})
}

// keepSourceOf is keepSource with the request's force=true|false.
func keepSourceOf(r *http.Request) func(cur, in *v1.Task) (*v1.Task, error) {
	force, _ := strconv.ParseBool(r.URL.Query().Get("force"))
	return keepSource(force)
}

// applyOptions completes opts with what every apply of r takes from it:
// dryRun=All, and the manager's clock.
func (s *Server) applyOptions(r *http.Request, opts store.ApplyOptions) store.ApplyOptions {
	opts.DryRun = dryRun(r)
	opts.Now = s.now
	return opts
}

// applyWriters is how many Tasks of one POST /api/v1/apply are applied at
// once: the store commits the writes that meet in one transaction.
const applyWriters = 32

// applyTasks applies each Task of a TaskList as applyTask would apply it
// alone, applyWriters at a time, and answers with an item per Task, in
// order: a Task refused is its item's error, not the request's. Tasks of
// one name are applied one after the other, in the order sent, as their
// PUTs would be. The answer comes once the cache shows every write
// (read-your-writes).
func (s *Server) applyTasks(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var list struct {
		v1.TypeMeta `json:",inline"`
		Metadata    v1.ListMeta       `json:"metadata"`
		Items       []json.RawMessage `json:"items"`
	}
	if err := decodeJSON(r, &list); err != nil {
		return err
	}
	if list.Kind != v1.KindTaskList || (list.APIVersion != "" && list.APIVersion != v1.APIVersion) {
		return errBadRequest("send a %s of apiVersion %s, not %q of %q", v1.KindTaskList, v1.APIVersion, list.Kind, list.APIVersion)
	}
	if len(list.Items) > v1.MaxApplyItems {
		return errBadRequest("%d tasks in one apply: at most %d", len(list.Items), v1.MaxApplyItems)
	}
	opts := s.applyOptions(r, store.ApplyOptions{Adjust: keepSourceOf(r)})
	items := make([]v1.ApplyResultItem, len(list.Items))
	fail := func(i int, err error) {
		st := s.statusOf(r, err)
		items[i].Error = &st
	}
	ins := make([]*v1.Task, len(list.Items))
	eachAtOnce(len(ins), applyWriters, func(i int) {
		in, err := decodeTask(list.Items[i], "")
		if err != nil {
			fail(i, err)
			return
		}
		ins[i] = in
	})
	// The Tasks of each name, in the order sent.
	var names [][]int
	byName := make(map[string]int, len(ins))
	for i, in := range ins {
		if in == nil {
			continue
		}
		g, ok := byName[in.Metadata.Name]
		if !ok {
			g = len(names)
			byName[in.Metadata.Name] = g
			names = append(names, nil)
		}
		names[g] = append(names[g], i)
	}
	eachAtOnce(len(names), applyWriters, func(g int) {
		for _, i := range names[g] {
			out, result, err := s.st.ApplyTask(r.Context(), ins[i], opts)
			if err != nil {
				fail(i, err)
				continue
			}
			items[i].Result, items[i].Task = string(result), out
		}
	})
	var newest int64
	for _, it := range items {
		if it.Task != nil && !opts.DryRun && it.Result != string(store.Unchanged) {
			rev, _ := store.ParseResourceVersion(it.Task.Metadata.ResourceVersion)
			newest = max(newest, rev)
		}
	}
	if newest > 0 {
		_ = s.st.TaskCache.WaitForRevision(r.Context(), newest)
	}
	writeJSON(w, http.StatusOK, &v1.ApplyResultList{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindApplyResultList}, Items: items})
	return nil
}

func (s *Server) apply(w http.ResponseWriter, r *http.Request, in *v1.Task, opts store.ApplyOptions) error {
	opts = s.applyOptions(r, opts)
	out, result, err := s.st.ApplyTask(r.Context(), in, opts)
	if err != nil {
		return err
	}
	if !opts.DryRun && result != store.Unchanged {
		s.waitCache(r, out)
	}
	code := http.StatusOK
	if result == store.Created {
		code = http.StatusCreated
	}
	w.Header().Set(ApplyResultHeader, string(result))
	writeJSON(w, code, out)
	return nil
}

func (s *Server) deleteTask(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
	name := p.ByName("name")
	now := s.now().UTC()
	out, _, err := s.st.DeleteTask(r.Context(), name, now, nil)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("task", name)
	}
	if err != nil {
		return err
	}
	s.waitCache(r, out)
	writeJSON(w, http.StatusAccepted, out)
	return nil
}

func (s *Server) taskLogs(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
	name := p.ByName("name")
	t, ok := s.st.TaskCache.Get(name)
	if !ok {
		return errNotFound("task", name)
	}
	opts, err := v1.ParseLogOptions(r.URL.Query())
	if err != nil {
		return errBadRequest("%v", err)
	}
	if t.Status.Worker == "" {
		return errBadRequest("task %q has no worker yet (phase %s); its logs appear once it runs", name, t.Status.Phase)
	}
	if s.logs == nil {
		return newStatus(http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable, "this manager serves no logs")
	}
	wk, cred, err := s.taskWorker(t)
	if err != nil {
		return err
	}
	rc, err := s.logs.TaskLogs(r.Context(), wk, cred, t.Metadata.UID, opts)
	if err != nil {
		return workerFailure(err, fmt.Sprintf("logs of task %q", name), wk.Metadata.Name)
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	flushCopy(w, rc)
	return nil
}

// flushCopy copies src to w, flushing after every read so a follower sees
// lines as they come.
func flushCopy(w http.ResponseWriter, src io.Reader) {
	rc := http.NewResponseController(w)
	_ = rc.Flush() // the headers, at once: a quiet container may say nothing for long
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// waitCache makes a write visible to reads that follow it from the same
// client (read-your-writes), waiting for the cache to reach its revision.
// The write stands either way; a lagging read is all that is lost.
func (s *Server) waitCache(r *http.Request, t *v1.Task) {
	_ = s.st.TaskCache.WaitFor(r.Context(), t)
}

func dryRun(r *http.Request) bool {
	return r.URL.Query().Get("dryRun") == "All"
}
