package v1

// MaxApplyItems is the most Tasks one POST /api/v1/apply takes; the body
// is bounded as every request's is (1 MiB).
const MaxApplyItems = 1000

// ApplyResultList answers POST /api/v1/apply, which applies every Task of a
// TaskList as PUT /api/v1/tasks/NAME would apply it alone: an item per
// Task, in the order sent.
type ApplyResultList struct {
	TypeMeta `json:",inline"`
	Items    []ApplyResultItem `json:"items"`
}

// ApplyResultItem is what became of one Task of an apply: either Result
// and the Task as stored, or the error the Task's own PUT would have
// answered.
type ApplyResultItem struct {
	// Result is created, configured or unchanged (what the
	// Minkube-Apply-Result header of a PUT says); empty with Error.
	Result string `json:"result,omitempty"`
	// Task is the Task as stored (with dryRun=All, as it would be).
	Task *Task `json:"task,omitempty"`
	// Error is why the Task was not applied.
	Error *Status `json:"error,omitempty"`
}
