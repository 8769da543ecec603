package v1

// KindTable is the kind of a Table.
const KindTable = "Table"

// Column types of a Table: how to read a cell.
const (
	// ColumnString is text to print as it is.
	ColumnString = "string"
	// ColumnInteger is a decimal integer.
	ColumnInteger = "integer"
	// ColumnDate is an RFC 3339 time, empty when unknown; mkctl prints
	// how long ago it was (the AGE column).
	ColumnDate = "date"
)

// Table is a list as the rows and columns mkctl prints, Kubernetes'
// server-side Table: GET /api/v1/tasks?as=table answers one instead of a
// TaskList, a fraction of its size, for a client that shows a table
// rather than reads the objects.
type Table struct {
	TypeMeta `json:",inline"`
	Metadata ListMeta `json:"metadata"`
	// ColumnDefinitions describe the cells of every row, in order.
	ColumnDefinitions []TableColumn `json:"columnDefinitions"`
	Rows              []TableRow    `json:"rows"`
}

// TableColumn describes one column of a Table.
type TableColumn struct {
	// Name is the column's header: NAME, PHASE...
	Name string `json:"name"`
	// Type is ColumnString, ColumnInteger or ColumnDate.
	Type string `json:"type"`
	// Priority 0 is a column of the table; 1 one that only the wide
	// table (mkctl -o wide) shows.
	Priority int `json:"priority"`
}

// TableRow is one object's row: a cell per column, as text.
type TableRow struct {
	Cells []string `json:"cells"`
}

// NoValue is the cell of a column with nothing to show, as kubectl prints
// it.
const NoValue = "<none>"
