package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/util/jsonpath"

	gojson "github.com/goccy/go-json"
	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/tidwall/pretty"
	"sigs.k8s.io/yaml"
)

// outputFormat is the value of -o.
type outputFormat string

// Output formats.
const (
	outputTable outputFormat = ""
	outputWide  outputFormat = "wide"
	outputJSON  outputFormat = "json"
	outputYAML  outputFormat = "yaml"
	outputName  outputFormat = "name"
	// outputJSONPath and outputCustom take their template after "=".
	outputJSONPath outputFormat = "jsonpath"
	outputCustom   outputFormat = "custom-columns"
)

// outputFormats lists the values of -o, for help and completion.
var outputFormats = []string{"wide", "json", "yaml", "name", "jsonpath=", "custom-columns="}

// newPrinter checks -o and --sort-by and returns the printer they ask for.
func newPrinter(output, sortBy string, noHeaders bool, now time.Time) (printer, error) {
	p := printer{noHeaders: noHeaders, now: now}
	name, arg, hasArg := strings.Cut(output, "=")
	switch f := outputFormat(name); {
	case !hasArg && (f == outputTable || f == outputWide || f == outputJSON || f == outputYAML || f == outputName):
		p.format = f
	case f == outputJSONPath:
		jp, err := parseJSONPath("jsonpath", arg, false)
		if err != nil {
			return p, err
		}
		p.format, p.jsonPath = f, jp
	case f == outputCustom:
		cols, err := parseColumns(arg)
		if err != nil {
			return p, err
		}
		p.format, p.columns = f, cols
	default:
		return p, fmt.Errorf("unknown output format %q: use wide, json, yaml, name, jsonpath=TEMPLATE or custom-columns=HEADER:PATH,...", output)
	}
	if sortBy != "" {
		jp, err := parseJSONPath("--sort-by", sortBy, true)
		if err != nil {
			return p, err
		}
		p.sortBy = jp
	}
	return p, nil
}

// none is shown in a table cell that has no value, as kubectl does.
const none = v1.NoValue

// printer renders Tasks and Workers in one output format.
type printer struct {
	format    outputFormat
	noHeaders bool
	// now is the time AGE is measured from.
	now time.Time
	// jsonPath is the template of -o jsonpath, columns those of -o
	// custom-columns, sortBy the path of --sort-by.
	jsonPath *jsonpath.JSONPath
	columns  []column
	sortBy   *jsonpath.JSONPath
}

// tabular reports whether the printer writes a table.
func (p printer) tabular() bool {
	return p.format == outputTable || p.format == outputWide || p.format == outputCustom
}

// header returns the table's columns: the custom ones, or the kind's.
func (p printer) header(standard []string) []string {
	if p.format == outputCustom {
		return customHeader(p.columns)
	}
	return standard
}

// printTasks prints list. single says the user asked for one Task by name:
// json and yaml then print that Task rather than a TaskList.
func (p printer) printTasks(w io.Writer, list *v1.TaskList, single bool) error {
	for i := range list.Items {
		setKind(&list.Items[i].TypeMeta, v1.KindTask)
	}
	if err := sortItems(list.Items, p.sortBy); err != nil {
		return err
	}
	switch p.format {
	case outputJSON, outputYAML, outputJSONPath:
		if single && len(list.Items) == 1 {
			return p.printObject(w, &list.Items[0])
		}
		setKind(&list.TypeMeta, v1.KindTaskList)
		if list.Items == nil {
			list.Items = []v1.Task{}
		}
		return p.printObject(w, list)
	case outputName:
		return printNames(w, kindTask, len(list.Items), func(i int) string { return list.Items[i].Metadata.Name })
	}
	wide := p.format == outputWide
	rows := make([][]string, 0, len(list.Items))
	for i := range list.Items {
		rows = append(rows, p.taskRow(&list.Items[i], wide))
	}
	return p.printTable(w, p.header(taskHeader(wide)), rows)
}

// printObject writes obj in the printer's object format: JSON, YAML or
// the jsonpath template.
func (p printer) printObject(w io.Writer, obj any) error {
	if p.format == outputJSONPath {
		return printJSONPath(w, p.jsonPath, obj)
	}
	return printObject(w, p.format, obj)
}

// taskHeader returns the columns of the Task table.
func taskHeader(wide bool) []string { return tableHeader(v1.TaskTableColumns, wide) }

// tableHeader returns the names of the columns of cols that the table
// shows.
func tableHeader(cols []v1.TableColumn, wide bool) []string {
	var h []string
	for _, c := range cols {
		if shown(c, wide) {
			h = append(h, c.Name)
		}
	}
	return h
}

// taskRow returns the cells of t in the Task table: those of
// v1.TaskTableRow, the table the manager serves, shown the same way.
func (p printer) taskRow(t *v1.Task, wide bool) []string {
	if p.format == outputCustom {
		return customRow(p.columns, t)
	}
	return p.tableRow(v1.TaskTableColumns, v1.TaskTableRow(t), wide)
}

// shown reports whether the table shows column c: those of priority 0
// always, the others with -o wide.
func shown(c v1.TableColumn, wide bool) bool { return c.Priority == 0 || wide }

// tableRow returns the cells of row that the table shows, with each date
// shown as an age.
func (p printer) tableRow(cols []v1.TableColumn, row v1.TableRow, wide bool) []string {
	out := make([]string, 0, len(cols))
	for i, c := range cols {
		if !shown(c, wide) {
			continue
		}
		var cell string
		if i < len(row.Cells) {
			cell = row.Cells[i]
		}
		if c.Type == v1.ColumnDate {
			cell = p.dateCell(cell)
		}
		out = append(out, cell)
	}
	return out
}

// dateCell shows a date cell as the time since then (the AGE column).
func (p printer) dateCell(cell string) string {
	if cell == "" {
		return age(p.now, nil)
	}
	t, err := time.Parse(time.RFC3339Nano, cell)
	if err != nil {
		return cell
	}
	return age(p.now, &t)
}

// printTaskTable prints a Task table the manager built (or one built from
// the Tasks), in the format of -o: the table, the wide table or
// task/NAME lines. It is printTasks without the objects, for those
// formats and no --sort-by (usesTable).
func (p printer) printTaskTable(w io.Writer, tbl *v1.Table) error {
	if p.format == outputName {
		col := slices.IndexFunc(tbl.ColumnDefinitions, func(c v1.TableColumn) bool { return c.Name == "NAME" })
		if col < 0 {
			return errors.New("the manager's table of tasks has no NAME column")
		}
		return printNames(w, kindTask, len(tbl.Rows), func(i int) string {
			if cells := tbl.Rows[i].Cells; col < len(cells) {
				return cells[col]
			}
			return ""
		})
	}
	wide := p.format == outputWide
	rows := make([][]string, 0, len(tbl.Rows))
	for _, r := range tbl.Rows {
		rows = append(rows, p.tableRow(tbl.ColumnDefinitions, r, wide))
	}
	return p.printTable(w, tableHeader(tbl.ColumnDefinitions, wide), rows)
}

// usesTable reports whether the printer needs no more of a list than its
// table: the table, the wide table and names, in the manager's order.
func (p printer) usesTable() bool {
	return p.sortBy == nil && (p.format == outputTable || p.format == outputWide || p.format == outputName)
}

// passesJSON reports whether the printer prints a list the way the manager
// encoded it, indented or as YAML: -o json and -o yaml without
// --sort-by.
func (p printer) passesJSON() bool {
	return p.sortBy == nil && (p.format == outputJSON || p.format == outputYAML)
}

// printYAMLList prints a list as the manager encoded it (passesJSON, -o
// yaml) with no decoding, as the YAML printObject writes
// (sigs.k8s.io/yaml converts JSON to YAML either way).
func printYAMLList(w io.Writer, raw []byte) error {
	data, err := yaml.JSONToYAML(raw)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// printJSONListStream prints a list as the manager encoded it (passesJSON,
// -o json), indented as printObject indents, item by item as it arrives:
// a list of thousands is never held whole, neither as it came nor
// indented (holding both cost mkctl most of its time in fresh memory).
// Nothing is printed until the list's kind is known to be kind; a list
// that breaks off midway has printed its items so far, and the error says
// where it broke.
//
// Each value comes out byte for byte as it came, indented as pretty and
// json.Indent indent it. The keys of the list's own object are written
// again from their decoded text (a key spelled with an escape, which the
// manager never sends, would come out unescaped).
func printJSONListStream(w io.Writer, r io.Reader, kind string) error {
	g := &gate{w: w}
	out := bufio.NewWriterSize(g, 64<<10)
	if err := streamJSONList(out, g, r, kind); err != nil {
		if g.on {
			_ = out.Flush() // what came before the break
		}
		return err
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return g.release()
}

func streamJSONList(out *bufio.Writer, g *gate, r io.Reader, kind string) error {
	// goccy's decoder: an item read whole takes it half the time
	// encoding/json's does, which scans it twice.
	dec := gojson.NewDecoder(r)
	what := func(err error) error {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("the list ended before it was whole: %w", err)
		}
		return err
	}
	if tok, err := dec.Token(); err != nil {
		return what(err)
	} else if tok != json.Delim('{') {
		return fmt.Errorf("the answer is not a JSON object but %s", describeToken(tok))
	}
	out.WriteString("{")
	seen := ""
	for n := 0; dec.More(); n++ {
		tok, err := dec.Token()
		if err != nil {
			return what(err)
		}
		key, _ := tok.(string)
		if n > 0 {
			out.WriteString(",")
		}
		out.WriteString("\n    ")
		writeJSONString(out, key)
		out.WriteString(": ")
		switch key {
		case "kind":
			var k json.RawMessage
			if err := dec.Decode(&k); err != nil {
				return what(err)
			}
			if err := json.Unmarshal(k, &seen); err != nil || seen != kind {
				return fmt.Errorf("the answer is a list of kind %s, not a %s", k, kind)
			}
			out.Write(k)
			g.open()
		case "items":
			if err := printJSONItems(out, dec); err != nil {
				return what(err)
			}
		default:
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return what(err)
			}
			writeIndented(out, v, "    ")
		}
	}
	if _, err := dec.Token(); err != nil { // the object's '}'
		return what(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("the answer holds more than one JSON value")
	}
	if seen != kind {
		return fmt.Errorf("the answer is an object of no kind, not a %s", kind)
	}
	out.WriteString("\n}\n")
	return nil
}

// printJSONItems writes the array the decoder is at, one item at a time,
// as printJSONListStream indents it: "null" or "[]" stay on the line.
func printJSONItems(out *bufio.Writer, dec *gojson.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('[') {
		if tok != nil {
			return fmt.Errorf("the list's items are not an array but %s", describeToken(tok))
		}
		out.WriteString("null")
		return nil
	}
	out.WriteString("[")
	n := 0
	var item json.RawMessage
	for ; dec.More(); n++ {
		item = item[:0]
		if err := dec.Decode(&item); err != nil {
			return err
		}
		if n > 0 {
			out.WriteString(",")
		}
		out.WriteString("\n        ")
		writeIndented(out, item, "        ")
	}
	if _, err := dec.Token(); err != nil { // ']'
		return err
	}
	if n > 0 {
		out.WriteString("\n    ")
	}
	out.WriteString("]")
	return nil
}

// writeIndented writes the JSON value v indented by pretty, each line but
// the first after prefix. A JSON string holds no raw newline, so every
// newline pretty writes starts a line.
func writeIndented(out *bufio.Writer, v json.RawMessage, prefix string) {
	data := bytes.TrimRight(pretty.PrettyOptions(v, &pretty.Options{Indent: "    ", Width: -1}), "\n")
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			out.Write(data)
			return
		}
		out.Write(data[:i+1])
		out.WriteString(prefix)
		data = data[i+1:]
	}
}

// writeJSONString writes s as a JSON string, without escaping HTML.
func writeJSONString(out *bufio.Writer, s string) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	out.Write(bytes.TrimRight(b.Bytes(), "\n"))
}

// describeToken words a JSON token for an error.
func describeToken(tok json.Token) string {
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}

// gate holds what is written to it until it is opened, and then passes
// it on: the start of a list is printed only once its kind is known.
type gate struct {
	w    io.Writer
	held bytes.Buffer
	on   bool
	err  error
}

func (g *gate) Write(p []byte) (int, error) {
	if !g.on {
		return g.held.Write(p)
	}
	if g.err != nil {
		return 0, g.err
	}
	return g.w.Write(p)
}

// open passes on what was held and lets what follows through.
func (g *gate) open() {
	if g.on {
		return
	}
	g.on = true
	_, g.err = g.w.Write(g.held.Bytes())
	g.held = bytes.Buffer{}
}

// release opens the gate at the end, and returns a write error met.
func (g *gate) release() error {
	g.open()
	if g.err != nil {
		return fmt.Errorf("write output: %w", g.err)
	}
	return nil
}

// printWorkers prints list; single as for printTasks.
func (p printer) printWorkers(w io.Writer, list *v1.WorkerList, single bool) error {
	for i := range list.Items {
		setKind(&list.Items[i].TypeMeta, v1.KindWorker)
	}
	if err := sortItems(list.Items, p.sortBy); err != nil {
		return err
	}
	switch p.format {
	case outputJSON, outputYAML, outputJSONPath:
		if single && len(list.Items) == 1 {
			return p.printObject(w, &list.Items[0])
		}
		setKind(&list.TypeMeta, v1.KindWorkerList)
		if list.Items == nil {
			list.Items = []v1.Worker{}
		}
		return p.printObject(w, list)
	case outputName:
		return printNames(w, kindWorker, len(list.Items), func(i int) string { return list.Items[i].Metadata.Name })
	}
	wide := p.format == outputWide
	rows := make([][]string, 0, len(list.Items))
	for i := range list.Items {
		rows = append(rows, p.workerRow(&list.Items[i], wide))
	}
	return p.printTable(w, p.header(workerHeader(wide)), rows)
}

// workerHeader returns the columns of the Worker table.
func workerHeader(wide bool) []string {
	h := []string{"NAME", "STATUS", "ADDRESS", "TASKS", "CPU", "MEMORY", "DISK", "AGE"}
	if wide {
		h = append(h, "LOAD", "LABELS")
	}
	return h
}

// workerRow returns the cells of wk in the Worker table. CPU is the host's
// CPU use; MEMORY and DISK are what is available and free.
func (p printer) workerRow(wk *v1.Worker, wide bool) []string {
	if p.format == outputCustom {
		return customRow(p.columns, wk)
	}
	st := wk.Status.Stats
	row := []string{
		wk.Metadata.Name,
		workerStatus(wk),
		orNone(wk.Spec.Address),
		strconv.Itoa(wk.Status.Tasks),
		fmt.Sprintf("%.0f%%", st.CPUPercent),
		humanBytes(st.MemoryAvailable),
		humanBytes(st.DiskFree),
		age(p.now, wk.Metadata.CreationTimestamp),
	}
	if wide {
		row = append(row, strconv.FormatFloat(st.Load1, 'f', 2, 64), labelList(wk.Metadata.Labels))
	}
	return row
}

// workerStatus is the STATUS column: the phase, with SchedulingDisabled
// added when the worker is cordoned.
func workerStatus(wk *v1.Worker) string {
	s := string(wk.Status.Phase)
	if s == "" {
		s = "Unknown"
	}
	if wk.Spec.Unschedulable {
		s += ",SchedulingDisabled"
	}
	return s
}

// labelList renders k=v pairs in key order.
func labelList(m map[string]string) string {
	if len(m) == 0 {
		return none
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// printTable writes an aligned table, the way kubectl does.
func (p printer) printTable(w io.Writer, header []string, rows [][]string) error {
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 6, 4, 3, ' ', 0)
	if !p.noHeaders {
		fmt.Fprintln(tw, strings.Join(header, "\t"))
	}
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// printNames writes KIND/NAME lines.
func printNames(w io.Writer, kind string, n int, name func(int) string) error {
	bw := bufio.NewWriter(w)
	for i := range n {
		fmt.Fprintf(bw, "%s/%s\n", kind, name(i))
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// printObject writes obj as indented JSON or as YAML.
func printObject(w io.Writer, format outputFormat, obj any) error {
	var data []byte
	var err error
	switch format {
	case outputJSON:
		data, err = json.MarshalIndent(obj, "", "    ")
		data = append(data, '\n')
	case outputYAML:
		data, err = yaml.Marshal(obj)
	default:
		return fmt.Errorf("output format %q cannot print an object", format)
	}
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// setKind fills in apiVersion and kind when the server left them out.
func setKind(tm *v1.TypeMeta, kind string) {
	if tm.APIVersion == "" {
		tm.APIVersion = v1.APIVersion
	}
	if tm.Kind == "" {
		tm.Kind = kind
	}
}

func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}

// age is the AGE column: the time since created, in kubectl's words.
func age(now time.Time, created *time.Time) string {
	if created == nil || created.IsZero() {
		return "<unknown>"
	}
	return humanDuration(now.Sub(*created))
}

// humanDuration renders d the way kubectl's AGE column does: seconds up
// to two minutes, then minutes, hours, days and years, with a second unit
// while the first is small ("5s", "3m20s", "2h", "4d", "1y30d").
var humanDuration = duration.HumanDuration

// humanBytes renders a byte count in binary units, to two significant
// figures below 10 ("1.5Gi") and as a whole number above ("20Gi").
func humanBytes(n int64) string {
	if n < 1024 {
		if n < 0 {
			n = 0
		}
		return strconv.FormatInt(n, 10)
	}
	units := []string{"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}
	v := float64(n) / 1024
	u := 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if v < 10 {
		s := strconv.FormatFloat(v, 'f', 1, 64)
		return strings.TrimSuffix(s, ".0") + units[u]
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + units[u]
}

// printEvents prints list.
func (p printer) printEvents(w io.Writer, list *v1.EventList) error {
	for i := range list.Items {
		setKind(&list.Items[i].TypeMeta, v1.KindEvent)
	}
	if err := sortItems(list.Items, p.sortBy); err != nil {
		return err
	}
	switch p.format {
	case outputJSON, outputYAML, outputJSONPath:
		setKind(&list.TypeMeta, v1.KindEventList)
		if list.Items == nil {
			list.Items = []v1.Event{}
		}
		return p.printObject(w, list)
	case outputName:
		return printNames(w, kindEvent, len(list.Items), func(i int) string { return list.Items[i].Metadata.Name })
	}
	wide := p.format == outputWide
	rows := make([][]string, 0, len(list.Items))
	for i := range list.Items {
		rows = append(rows, p.eventRow(&list.Items[i], wide))
	}
	return p.printTable(w, p.header(eventHeader(wide)), rows)
}

// eventHeader returns the columns of the event table.
func eventHeader(wide bool) []string {
	if wide {
		return []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "SOURCE", "COUNT", "FIRST SEEN", "MESSAGE"}
	}
	return []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}
}

// eventRow returns the cells of e in the event table.
func (p printer) eventRow(e *v1.Event, wide bool) []string {
	if p.format == outputCustom {
		return customRow(p.columns, e)
	}
	row := []string{humanDuration(p.now.Sub(e.LastTimestamp)), e.Type, e.Reason, eventObject(e.InvolvedObject)}
	if wide {
		row = append(row, orNone(e.Source), strconv.Itoa(int(e.Count)), humanDuration(p.now.Sub(e.FirstTimestamp)))
	}
	return append(row, oneLine(e.Message))
}

// eventObject is the OBJECT column: kind/name in mkctl's words.
func eventObject(ref v1.ObjectReference) string {
	return strings.ToLower(ref.Kind) + "/" + ref.Name
}

// streamTable prints the rows of a table one at a time, as -w does: the
// column widths are set by the first rows printed, and a longer cell in a
// later row widens its column from that row on.
type streamTable struct {
	w      io.Writer
	widths []int
}

// gap is the space between columns, as printTable leaves.
const gap = 3

// start sets the widths from header and rows and prints them.
func (s *streamTable) start(header []string, rows [][]string, noHeaders bool) error {
	s.widths = make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, cell := range r {
			if i < len(s.widths) && len(cell) > s.widths[i] {
				s.widths[i] = len(cell)
			}
		}
	}
	if !noHeaders {
		if err := s.row(header); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if err := s.row(r); err != nil {
			return err
		}
	}
	return nil
}

// row prints one row.
func (s *streamTable) row(cells []string) error {
	var b strings.Builder
	for i, cell := range cells {
		b.WriteString(cell)
		if i == len(cells)-1 {
			break
		}
		if i >= len(s.widths) {
			s.widths = append(s.widths, 0)
		}
		s.widths[i] = max(s.widths[i], len(cell))
		b.WriteString(strings.Repeat(" ", s.widths[i]-len(cell)+gap))
	}
	b.WriteByte('\n')
	if _, err := io.WriteString(s.w, b.String()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
