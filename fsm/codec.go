package fsm

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// CodecVersion is the body version this package writes after the type byte.
// A new body layout gets a new version (and a decoder for the old one)
// rather than a changed meaning.
const CodecVersion byte = 1

// CodecVersionExt is the body version of a CreateWorkOrder or Transition
// that uses a field added after version 1: the version 1 body followed by
// the extension (CreateWorkOrder: Spec.Retry as uvarint MaxAttempts,
// varint InitialDelay, uvarint Factor, varint MaxDelay; Transition:
// NoRetry as a bool byte). Encode writes it only when such a field is
// set, so every other command keeps its version 1 bytes and an older node
// decodes it; Decode accepts version 1 for every type and this version for
// those two.
const CodecVersionExt byte = 2

// CodecVersionRunTimeout is the body version of a CreateWorkOrder that
// sets Spec.RunTimeout: the CodecVersionExt body (Spec.Retry always
// written, zero or not) followed by RunTimeout as a varint of
// nanoseconds. Encode writes it only when RunTimeout is set, so every
// other command keeps its version 1 or CodecVersionExt bytes; Decode
// accepts it for CreateWorkOrder only.
const CodecVersionRunTimeout byte = 3

// Codec errors. A committed entry that fails with anything other than
// ErrUnknownIgnorable is fatal to Apply.
var (
	// ErrUnknownIgnorable: the type is unknown to this build but carries
	// IgnoreUnknownTypeFlag, so Apply skips the entry.
	ErrUnknownIgnorable = errors.New("fsm: unknown command type marked ignorable")
	// ErrUnknownType: the type is unknown and not ignorable.
	ErrUnknownType = errors.New("fsm: unknown command type")
	// ErrUnsupportedVersion: the body version byte is not one this build
	// reads for the command type (CodecVersion for every type,
	// CodecVersionExt and CodecVersionRunTimeout for the types above).
	ErrUnsupportedVersion = errors.New("fsm: unsupported command version")
)

// Encode returns the wire form of c: one MessageType byte, one version byte
// (CodecVersion, or CodecVersionExt or CodecVersionRunTimeout when a field
// that needs it is set), then the body. The body is a hand-written binary layout:
// uvarint for unsigned integers and lengths, zig-zag varint for signed
// integers, uvarint-length-prefixed strings and bytes, and fields in
// declaration order. Evidence outputs are written in sorted key order, so
// equal commands encode to equal bytes. A Batch holds the full encodings of
// its commands, each length-prefixed; Batches do not nest.
func Encode(c Command) ([]byte, error) {
	w := &wbuf{b: make([]byte, 0, 128)}
	if err := encodeTo(w, c, true); err != nil {
		return nil, err
	}
	return w.b, nil
}

func encodeTo(w *wbuf, c Command, top bool) error {
	if c == nil {
		return fmt.Errorf("fsm: encode: nil command")
	}
	w.byte1(byte(c.Type()))
	vpos := len(w.b)
	w.byte1(CodecVersion)
	switch c := c.(type) {
	case *Batch:
		if !top {
			return fmt.Errorf("fsm: encode: nested batch")
		}
		w.uvarint(uint64(len(c.Commands)))
		for i, sub := range c.Commands {
			inner := &wbuf{b: make([]byte, 0, 128)}
			if err := encodeTo(inner, sub, false); err != nil {
				return fmt.Errorf("commands[%d]: %w", i, err)
			}
			w.bytes(inner.b)
		}
	case *CreateWorkOrder:
		encHeader(w, &c.Header)
		s := &c.Spec
		w.str(s.Title)
		w.str(s.Description)
		w.str(s.Kind)
		w.str(s.Bucket)
		w.byte1(byte(s.Priority))
		w.varint(int64(s.PriorityScore))
		w.strs(s.Labels)
		w.bytes(s.Payload)
		w.varint(s.Effort)
		w.str(s.Stage)
		w.str(s.Signal)
		w.strs(s.DependsOn)
		w.varint(s.Deadline)
		w.str(s.Parent)
		switch {
		case s.RunTimeout != 0:
			w.b[vpos] = CodecVersionRunTimeout
			encRetry(w, &s.Retry)
			w.varint(int64(s.RunTimeout))
		case s.Retry != (RetryPolicy{}):
			w.b[vpos] = CodecVersionExt
			encRetry(w, &s.Retry)
		}
	case *Transition:
		encHeader(w, &c.Header)
		w.str(c.ID)
		w.str(string(c.Action))
		w.uvarint(c.Attempt)
		w.str(c.Agent)
		w.str(c.Stage)
		w.str(c.Progress)
		encEvidence(w, c.Evidence)
		w.str(c.Reason)
		w.boolean(c.Cascade)
		if c.NoRetry {
			w.b[vpos] = CodecVersionExt
			w.boolean(c.NoRetry)
		}
	case *AddDependency:
		encHeader(w, &c.Header)
		w.str(c.ID)
		w.strs(c.DependsOn)
	case *RemoveDependency:
		encHeader(w, &c.Header)
		w.str(c.ID)
		w.strs(c.DependsOn)
	case *MemoryPut:
		encHeader(w, &c.Header)
		w.str(c.Namespace)
		w.str(c.Key)
		w.bytes(c.Value)
		w.varint(c.ExpiresAt)
	case *MemoryDelete:
		encHeader(w, &c.Header)
		w.str(c.Namespace)
		w.str(c.Key)
	case *MemoryImport:
		encHeader(w, &c.Header)
		w.uvarint(uint64(len(c.Entries)))
		for i := range c.Entries {
			e := &c.Entries[i]
			w.str(e.Namespace)
			w.str(e.Key)
			w.bytes(e.Value)
			w.varint(e.ExpiresAt)
		}
	case *Tick:
		encHeader(w, &c.Header)
	case *SetSchedulerConfig:
		encHeader(w, &c.Header)
		encSchedulerConfig(w, &c.Config)
	case *Assign:
		encHeader(w, &c.Header)
		w.str(c.ID)
		w.str(c.Node)
		w.str(c.AgentType)
	case *RunPipeline:
		encHeader(w, &c.Header)
		encRunPipeline(w, c)
	case *AndonTrigger, *AndonUpdate, *AndonResolve, *SLAEvent, *RecordStale:
		encFailureCommand(w, c)
	default:
		return fmt.Errorf("fsm: encode: unsupported command %T", c)
	}
	return nil
}

// Decode parses what Encode wrote. It never panics and never allocates
// more than the input's length from a length prefix. An unknown type with
// IgnoreUnknownTypeFlag returns ErrUnknownIgnorable (and a nil Command);
// inside a Batch such a command is dropped.
func Decode(b []byte) (Command, error) {
	return (*decoder)(nil).decode(b, true)
}

func (d *decoder) decode(b []byte, top bool) (Command, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	t := MessageType(b[0])
	rt := b[1] == CodecVersionRunTimeout && t == CreateWorkOrderType
	ext := rt || b[1] == CodecVersionExt && (t == CreateWorkOrderType || t == TransitionType)
	if b[1] != CodecVersion && !ext && knownType(t) {
		return nil, fmt.Errorf("%w: type %d version %d", ErrUnsupportedVersion, t, b[1])
	}
	r := &rbuf{b: b[2:]}
	if d != nil {
		r.intern = &d.names
	}
	var c Command
	switch t {
	case BatchType:
		if !top {
			return nil, fmt.Errorf("%w: nested batch", ErrMalformed)
		}
		n := r.count(3)
		d.startBatch(n)
		bt := &Batch{Commands: make([]Command, 0, n)}
		for i := 0; i < n && r.err == nil; i++ {
			sub, err := d.decode(r.raw(), false)
			if r.err != nil {
				break
			}
			if errors.Is(err, ErrUnknownIgnorable) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("commands[%d]: %w", i, err)
			}
			bt.Commands = append(bt.Commands, sub)
		}
		c = bt
	case CreateWorkOrderType:
		x := d.newCreate(top)
		decHeader(r, &x.Header)
		s := &x.Spec
		s.Title = r.str()
		s.Description = r.str()
		s.Kind = r.name()
		s.Bucket = r.name()
		s.Priority = Priority(r.byte1())
		s.PriorityScore = int(r.varint())
		s.Labels = r.nameList()
		s.Payload = r.bytes()
		s.Effort = r.varint()
		s.Stage = r.name()
		s.Signal = r.name()
		s.DependsOn = r.strs()
		s.Deadline = r.varint()
		s.Parent = r.str()
		if ext {
			s.Retry = decRetry(r)
		}
		if rt {
			s.RunTimeout = time.Duration(r.varint())
		}
		c = x
	case TransitionType:
		x := d.newTransition(top)
		decHeader(r, &x.Header)
		x.ID = r.str()
		x.Action = Action(r.name())
		x.Attempt = r.uvarint()
		x.Agent = r.name()
		x.Stage = r.name()
		x.Progress = r.str()
		x.Evidence = decEvidence(r)
		x.Reason = r.str()
		x.Cascade = r.boolean()
		if ext {
			x.NoRetry = r.boolean()
		}
		c = x
	case AddDependencyType:
		x := &AddDependency{}
		decHeader(r, &x.Header)
		x.ID = r.str()
		x.DependsOn = r.strs()
		c = x
	case RemoveDependencyType:
		x := &RemoveDependency{}
		decHeader(r, &x.Header)
		x.ID = r.str()
		x.DependsOn = r.strs()
		c = x
	case MemoryPutType:
		x := &MemoryPut{}
		decHeader(r, &x.Header)
		x.Namespace = r.str()
		x.Key = r.str()
		x.Value = r.bytes()
		x.ExpiresAt = r.varint()
		c = x
	case MemoryDeleteType:
		x := &MemoryDelete{}
		decHeader(r, &x.Header)
		x.Namespace = r.str()
		x.Key = r.str()
		c = x
	case MemoryImportType:
		x := &MemoryImport{}
		decHeader(r, &x.Header)
		n := r.count(4)
		if n > 0 {
			x.Entries = make([]MemoryEntry, n)
		}
		for i := 0; i < n && r.err == nil; i++ {
			e := &x.Entries[i]
			e.Namespace = r.str()
			e.Key = r.str()
			e.Value = r.bytes()
			e.ExpiresAt = r.varint()
		}
		c = x
	case TickType:
		x := &Tick{}
		decHeader(r, &x.Header)
		c = x
	case SetSchedulerConfigType:
		x := &SetSchedulerConfig{}
		decHeader(r, &x.Header)
		x.Config = decSchedulerConfig(r)
		c = x
	case AssignType:
		x := d.newAssign(top)
		decHeader(r, &x.Header)
		x.ID = r.str()
		x.Node = r.name()
		x.AgentType = r.name()
		c = x
	case RunPipelineType:
		x := &RunPipeline{}
		decHeader(r, &x.Header)
		decRunPipeline(r, x)
		c = x
	case AndonTriggerType, AndonUpdateType, AndonResolveType, SLAEventType, RecordStaleType:
		c = decFailureCommand(r, t)
	default:
		if t&IgnoreUnknownTypeFlag != 0 {
			return nil, fmt.Errorf("%w: type %d", ErrUnknownIgnorable, t)
		}
		return nil, fmt.Errorf("%w: type %d", ErrUnknownType, t)
	}
	if err := r.done(); err != nil {
		return nil, fmt.Errorf("decode type %d: %w", t, err)
	}
	return c, nil
}

func knownType(t MessageType) bool { return t >= BatchType && t <= lastType }

func encHeader(w *wbuf, h *Header) {
	w.str(h.RequestID)
	w.varint(h.Time)
	w.str(h.Node)
}

func decHeader(r *rbuf, h *Header) {
	h.RequestID = r.str()
	h.Time = r.varint()
	h.Node = r.name()
}

// encEvidence writes a presence byte, then the evidence with its outputs in
// sorted key order.
func encEvidence(w *wbuf, e *Evidence) {
	if e == nil {
		w.byte1(0)
		return
	}
	w.byte1(1)
	w.varint(int64(e.ExitCode))
	keys := sortedKeys(e.Outputs)
	w.uvarint(uint64(len(keys)))
	for _, k := range keys {
		w.str(k)
		w.str(e.Outputs[k])
	}
	w.str(e.Artifact)
	w.str(e.Log)
}

// decEvidence requires output keys in strictly increasing order, which
// rules out duplicates and keeps the encoding canonical.
func decEvidence(r *rbuf) *Evidence {
	if !r.boolean() {
		return nil
	}
	e := &Evidence{ExitCode: int(r.varint())}
	n := r.count(2)
	if n > 0 {
		e.Outputs = make(map[string]string, n)
	}
	prev := ""
	for i := 0; i < n && r.err == nil; i++ {
		k := r.str()
		if i > 0 && k <= prev {
			r.fail("evidence outputs not in strictly increasing key order")
		}
		prev = k
		e.Outputs[k] = r.str()
	}
	e.Artifact = r.str()
	e.Log = r.str()
	return e
}

func sortedKeys(m map[string]string) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
