package fsm

import (
	"strconv"
	"unicode/utf8"
)

// Limits enforced by Validate (and again by Apply).
const (
	MaxTitleLen       = 500       // runes
	MaxDescriptionLen = 64 << 10  // bytes
	MaxNameLen        = 128       // kind, stage, agent, node, request ID
	MaxLabels         = 32        // labels per work order
	MaxLabelLen       = 64        // bytes per label
	MaxPayload        = 256 << 10 // bytes of work order payload
	MaxDependsOn      = 100       // IDs per spec or dependency command
	MaxNoteLen        = 4 << 10   // progress note, reason
	MaxEvidence       = 256 << 10 // bytes of evidence (outputs, artifact, log)
	MaxEvidenceOuts   = 64        // named evidence outputs
	MaxNamespaceLen   = 128       // bytes; [a-zA-Z0-9_.-]
	MaxKeyLen         = 512       // bytes of memory key
	MaxValueLen       = 256 << 10 // bytes of memory value
	MaxImportEntries  = 10_000    // entries per MemoryImport
	MaxBatch          = 10_000    // commands per Batch
	MaxScore          = 10        // PriorityScore upper bound
)

// Validate checks c without looking at state, before it is proposed.
// It returns an *Error with code invalid_argument (or self_dependency) and
// a message naming the offending field. Apply runs the same checks, so an
// invalid command that is proposed anyway fails cleanly.
//
// Validate also compiles the delegation patterns of a SetSchedulerConfig
// (see SchedulerConfig.Validate); Apply does not, so that the outcome of a
// committed entry never depends on the regexp package of the build that
// applies it.
func Validate(c Command) error {
	if err := validate(c); err != nil {
		return err
	}
	if err := compileCommandRules(c); err != nil {
		return err
	}
	return nil
}

// compileCommandRules compiles the delegation patterns of c, or of the
// commands of a Batch c.
func compileCommandRules(c Command) *Error {
	switch c := c.(type) {
	case *SetSchedulerConfig:
		return compileRules(c.Config.Rules)
	case *Batch:
		for i, sub := range c.Commands {
			if err := compileCommandRules(sub); err != nil {
				return &Error{Code: err.Code, Message: "commands[" + strconv.Itoa(i) + "]: " + err.Message}
			}
		}
	}
	return nil
}

func validate(c Command) *Error {
	switch c := c.(type) {
	case *Batch:
		if len(c.Commands) == 0 || len(c.Commands) > MaxBatch {
			return Errorf(ErrInvalidArgument, "batch: %d commands (want 1..%d)", len(c.Commands), MaxBatch)
		}
		for i, sub := range c.Commands {
			if _, ok := sub.(*Batch); ok {
				return Errorf(ErrInvalidArgument, "batch: commands[%d]: nested batch", i)
			}
			if err := validate(sub); err != nil {
				return &Error{Code: err.Code, Message: "commands[" + strconv.Itoa(i) + "]: " + err.Message, Cycle: err.Cycle}
			}
		}
		return nil
	case nil:
		return Errorf(ErrInvalidArgument, "command: nil")
	}
	err, known := validateBody(c)
	if !known {
		return Errorf(ErrInvalidArgument, "command: unsupported type %T", c)
	}
	// Every known type embeds a Header; its error wins over the body's.
	if herr := validateHeader(headerOf(c)); herr != nil {
		return herr
	}
	return err
}

// validateBody checks the fields of c, a command other than a Batch,
// besides its Header; known is false for a type this package does not
// know.
func validateBody(c Command) (err *Error, known bool) {
	switch c := c.(type) {
	case *CreateWorkOrder:
		return validateSpec(&c.Spec), true
	case *Transition:
		return validateTransition(c), true
	case *AddDependency:
		return validateEdges(c.ID, c.DependsOn), true
	case *RemoveDependency:
		return validateEdges(c.ID, c.DependsOn), true
	case *MemoryPut:
		return validateEntry(c.Namespace, c.Key, c.Value, c.ExpiresAt), true
	case *MemoryDelete:
		return validateEntry(c.Namespace, c.Key, nil, 0), true
	case *MemoryImport:
		return validateImport(c), true
	case *Tick:
		return nil, true
	case *SetSchedulerConfig:
		return validateSchedulerConfig(&c.Config), true
	case *Assign:
		return validateAssign(c), true
	case *RunPipeline:
		return validateRunPipeline(c), true
	case *AndonTrigger:
		return validateAndonTrigger(c), true
	case *AndonUpdate:
		return validateAndonUpdate(c), true
	case *AndonResolve:
		return validateAndonResolve(c), true
	case *SLAEvent:
		return validateSLAEvent(c), true
	case *RecordStale:
		return validateRecordStale(c), true
	}
	return nil, false
}

func validateImport(c *MemoryImport) *Error {
	if len(c.Entries) == 0 || len(c.Entries) > MaxImportEntries {
		return Errorf(ErrInvalidArgument, "entries: %d (want 1..%d)", len(c.Entries), MaxImportEntries)
	}
	for i := range c.Entries {
		e := &c.Entries[i]
		if err := validateEntry(e.Namespace, e.Key, e.Value, e.ExpiresAt); err != nil {
			return Errorf(ErrInvalidArgument, "entries[%d]: %s", i, err.Message)
		}
	}
	return nil
}

func validateHeader(h *Header) *Error {
	switch {
	case len(h.RequestID) > MaxNameLen:
		return Errorf(ErrInvalidArgument, "request_id: longer than %d bytes", MaxNameLen)
	case len(h.Node) > MaxNameLen:
		return Errorf(ErrInvalidArgument, "node: longer than %d bytes", MaxNameLen)
	case h.Time < 0:
		return Errorf(ErrInvalidArgument, "time: negative")
	}
	return nil
}

func validateSpec(s *WorkOrderSpec) *Error {
	n := utf8.RuneCountInString(s.Title)
	switch {
	case n == 0:
		return Errorf(ErrInvalidArgument, "title: empty")
	case n > MaxTitleLen:
		return Errorf(ErrInvalidArgument, "title: %d characters (max %d)", n, MaxTitleLen)
	case !utf8.ValidString(s.Title):
		return Errorf(ErrInvalidArgument, "title: not valid UTF-8")
	case len(s.Description) > MaxDescriptionLen:
		return Errorf(ErrInvalidArgument, "description: longer than %d bytes", MaxDescriptionLen)
	case len(s.Kind) > MaxNameLen:
		return Errorf(ErrInvalidArgument, "kind: longer than %d bytes", MaxNameLen)
	case s.Bucket != "" && !validBucket(s.Bucket):
		return Errorf(ErrInvalidArgument, "bucket: unknown bucket %q", s.Bucket)
	case s.Priority != 0 && !s.Priority.Valid():
		return Errorf(ErrInvalidArgument, "priority: unknown priority %d", s.Priority)
	case s.PriorityScore != 0 && (s.PriorityScore < 1 || s.PriorityScore > MaxScore):
		return Errorf(ErrInvalidArgument, "priority_score: %d outside 1..%d", s.PriorityScore, MaxScore)
	case len(s.Labels) > MaxLabels:
		return Errorf(ErrInvalidArgument, "labels: %d labels (max %d)", len(s.Labels), MaxLabels)
	case len(s.Payload) > MaxPayload:
		return Errorf(ErrInvalidArgument, "payload: %d bytes (max %d)", len(s.Payload), MaxPayload)
	case s.Effort < 0:
		return Errorf(ErrInvalidArgument, "effort: negative")
	case len(s.Stage) > MaxNameLen:
		return Errorf(ErrInvalidArgument, "stage: longer than %d bytes", MaxNameLen)
	case len(s.Signal) > MaxNameLen:
		return Errorf(ErrInvalidArgument, "signal: longer than %d bytes", MaxNameLen)
	case s.Deadline < 0:
		return Errorf(ErrInvalidArgument, "deadline: negative")
	case len(s.DependsOn) > MaxDependsOn:
		return Errorf(ErrInvalidArgument, "depends_on: %d IDs (max %d)", len(s.DependsOn), MaxDependsOn)
	case s.Parent != "" && !validID(s.Parent):
		return Errorf(ErrInvalidArgument, "parent: malformed work order ID %q", s.Parent)
	}
	if err := validateRetry(&s.Retry); err != nil {
		return err
	}
	if err := validateRunTimeout(s.RunTimeout); err != nil {
		return err
	}
	for i, l := range s.Labels {
		if l == "" || len(l) > MaxLabelLen || !printable(l) {
			return Errorf(ErrInvalidArgument, "labels[%d]: want 1..%d printable bytes", i, MaxLabelLen)
		}
	}
	for i, d := range s.DependsOn {
		if !validID(d) {
			return Errorf(ErrInvalidArgument, "depends_on[%d]: malformed work order ID %q", i, d)
		}
		if d == s.Parent {
			return Errorf(ErrInvalidArgument, "depends_on[%d]: a sub-work order cannot depend on its parent %s", i, d)
		}
	}
	return nil
}

func validateTransition(t *Transition) *Error {
	if !validID(t.ID) {
		return Errorf(ErrInvalidArgument, "id: malformed work order ID %q", t.ID)
	}
	if _, ok := transitions[t.Action]; !ok {
		return Errorf(ErrInvalidArgument, "action: unknown action %q", t.Action)
	}
	switch {
	case t.Action == ActionStart && t.Attempt != 0:
		return Errorf(ErrInvalidArgument, "attempt: must be 0 for start (start assigns the next attempt)")
	case t.Cascade && t.Action != ActionCancel:
		return Errorf(ErrInvalidArgument, "cascade: only valid with cancel")
	case t.NoRetry && t.Action != ActionFail:
		return Errorf(ErrInvalidArgument, "no_retry: only valid with fail")
	case len(t.Agent) > MaxNameLen:
		return Errorf(ErrInvalidArgument, "agent: longer than %d bytes", MaxNameLen)
	case len(t.Stage) > MaxNameLen:
		return Errorf(ErrInvalidArgument, "stage: longer than %d bytes", MaxNameLen)
	case len(t.Progress) > MaxNoteLen:
		return Errorf(ErrInvalidArgument, "progress: longer than %d bytes", MaxNoteLen)
	case len(t.Reason) > MaxNoteLen:
		return Errorf(ErrInvalidArgument, "reason: longer than %d bytes", MaxNoteLen)
	}
	if e := t.Evidence; e != nil {
		if len(e.Outputs) > MaxEvidenceOuts {
			return Errorf(ErrInvalidArgument, "evidence.outputs: %d outputs (max %d)", len(e.Outputs), MaxEvidenceOuts)
		}
		size := len(e.Artifact) + len(e.Log)
		for k, v := range e.Outputs {
			if k == "" {
				return Errorf(ErrInvalidArgument, "evidence.outputs: empty name")
			}
			size += len(k) + len(v)
		}
		if size > MaxEvidence {
			return Errorf(ErrInvalidArgument, "evidence: %d bytes (max %d)", size, MaxEvidence)
		}
	}
	return nil
}

func validateEdges(id string, deps []string) *Error {
	if !validID(id) {
		return Errorf(ErrInvalidArgument, "id: malformed work order ID %q", id)
	}
	if len(deps) == 0 || len(deps) > MaxDependsOn {
		return Errorf(ErrInvalidArgument, "depends_on: %d IDs (want 1..%d)", len(deps), MaxDependsOn)
	}
	for i, d := range deps {
		if !validID(d) {
			return Errorf(ErrInvalidArgument, "depends_on[%d]: malformed work order ID %q", i, d)
		}
		if d == id {
			return Errorf(ErrSelfDependency, "%s cannot depend on itself", id)
		}
	}
	return nil
}

func validateEntry(ns, key string, value []byte, expiresAt int64) *Error {
	if !ValidNamespace(ns) {
		return Errorf(ErrInvalidArgument, "namespace: %q is not 1..%d bytes of [a-zA-Z0-9_.-]", ns, MaxNamespaceLen)
	}
	if key == "" || len(key) > MaxKeyLen || !utf8.ValidString(key) || !printable(key) {
		return Errorf(ErrInvalidArgument, "key: want 1..%d bytes of printable UTF-8", MaxKeyLen)
	}
	if len(value) > MaxValueLen {
		return Errorf(ErrInvalidArgument, "value: %d bytes (max %d)", len(value), MaxValueLen)
	}
	if expiresAt < 0 {
		return Errorf(ErrInvalidArgument, "expires_at: negative")
	}
	return nil
}

// ValidNamespace reports whether ns is 1..128 bytes of [a-zA-Z0-9_.-].
func ValidNamespace(ns string) bool {
	if ns == "" || len(ns) > MaxNamespaceLen {
		return false
	}
	for i := 0; i < len(ns); i++ {
		c := ns[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// printable rejects ASCII control characters.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// ParseID returns the sequence number of a work order ID "WO-<n>" (n ≥ 1,
// decimal, no leading zeros).
func ParseID(id string) (uint64, bool) {
	if len(id) < 4 || len(id) > 23 || id[:3] != "WO-" || id[3] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(id[3:], 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

func validID(id string) bool {
	_, ok := ParseID(id)
	return ok
}

// FormatID returns the work order ID for sequence number seq.
func FormatID(seq uint64) string { return "WO-" + strconv.FormatUint(seq, 10) }
