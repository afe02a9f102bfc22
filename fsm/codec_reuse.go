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
	switch {
	case d == nil:
		return new(CreateWorkOrder)
	case top:
		d.create = CreateWorkOrder{}
		return &d.create
	case len(d.creates) < cap(d.creates):
		d.creates = append(d.creates, CreateWorkOrder{})
		return &d.creates[len(d.creates)-1]
	}
	return new(CreateWorkOrder)
}

func (d *decoder) newTransition(top bool) *Transition {
	switch {
	case d == nil:
		return new(Transition)
	case top:
		d.transition = Transition{}
		return &d.transition
	case len(d.transitions) < cap(d.transitions):
		d.transitions = append(d.transitions, Transition{})
		return &d.transitions[len(d.transitions)-1]
	}
	return new(Transition)
}

func (d *decoder) newAssign(top bool) *Assign {
	switch {
	case d == nil:
		return new(Assign)
	case top:
		d.assign = Assign{}
		return &d.assign
	case len(d.assigns) < cap(d.assigns):
		d.assigns = append(d.assigns, Assign{})
		return &d.assigns[len(d.assigns)-1]
	}
	return new(Assign)
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
	if cap(d.creates) < n {
		d.creates = make([]CreateWorkOrder, 0, n)
	}
	if cap(d.transitions) < n {
		d.transitions = make([]Transition, 0, n)
	}
	if cap(d.assigns) < n {
		d.assigns = make([]Assign, 0, n)
	}
	d.creates, d.transitions, d.assigns = d.creates[:0], d.transitions[:0], d.assigns[:0]
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
