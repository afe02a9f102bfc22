package fsm

// The decoder Apply uses (decode is in codec.go): command structs reused
// from entry to entry, and interned names.

// decoder is Decode for Apply, minus two kinds of allocation. It decodes
// the hot command types into structs it reuses from entry to entry, since
// Apply keeps no reference to a command once it returns (everything a
// command leaves in the state is copied out of it or was allocated by the
// decoder for it). And it interns the short strings that repeat from
// command to command: node and agent names, kinds, stages, labels. A nil
// *decoder decodes as Decode does.
type decoder struct {
	names       names
	create      CreateWorkOrder   // a command alone in its entry
	transition  Transition        // likewise
	creates     []CreateWorkOrder // the commands of a Batch
	transitions []Transition      // likewise
	assign      Assign            // a command alone in its entry
	assigns     []Assign          // the commands of a Batch
}

// maxReusedBatch bounds the Batch size whose commands the decoder keeps
// structs for.
const maxReusedBatch = 1024

func (d *decoder) newCreate(top bool) *CreateWorkOrder {
	if d == nil {
		return new(CreateWorkOrder)
	}
	return reuse(top, &d.create, &d.creates)
}

func (d *decoder) newTransition(top bool) *Transition {
	if d == nil {
		return new(Transition)
	}
	return reuse(top, &d.transition, &d.transitions)
}

func (d *decoder) newAssign(top bool) *Assign {
	if d == nil {
		return new(Assign)
	}
	return reuse(top, &d.assign, &d.assigns)
}

// reuse returns a zeroed struct to decode a command into: one, for a
// command alone in its entry (top); else the next of batch while its
// capacity (startBatch) lasts; else a new one.
func reuse[T any](top bool, one *T, batch *[]T) *T {
	var zero T
	switch {
	case top:
		*one = zero
		return one
	case len(*batch) < cap(*batch):
		*batch = append(*batch, zero)
		return &(*batch)[len(*batch)-1]
	}
	return new(T)
}

// startBatch readies the per-Batch structs for a Batch of n commands. The
// previous entry's commands are no longer in use.
func (d *decoder) startBatch(n int) {
	if d == nil {
		return
	}
	if n > maxReusedBatch {
		n = 0
	}
	d.creates, d.transitions, d.assigns = reserve(d.creates, n), reserve(d.transitions, n), reserve(d.assigns, n)
}

// reserve returns s emptied, or a new empty slice when s cannot hold n.
func reserve[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n)
	}
	return s[:0]
}

// names interns strings: a direct-mapped cache of recent names, by a hash
// of their bytes. A name that misses (or whose slot another name took) is
// allocated and takes the slot; the values are equal either way, so the
// cache only decides which allocation a string shares.
type names struct{ slots [256]string }

// maxNameLen bounds the strings worth interning.
const maxNameLen = 64

func (n *names) get(p []byte) string {
	if len(p) == 0 || len(p) > maxNameLen {
		return string(p)
	}
	h := uint32(2166136261)
	for _, c := range p {
		h = (h ^ uint32(c)) * 16777619
	}
	slot := &n.slots[h>>24]
	if *slot == string(p) {
		return *slot
	}
	*slot = string(p)
	return *slot
}

func newDecoder() *decoder { return &decoder{} }
