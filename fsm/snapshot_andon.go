package fsm

import "fmt"

// Snapshot records of andons (since version 3), and the checks Restore runs on
// them and on the work orders' andon references.

func encAndon(w *wbuf, a *Andon) {
	w.uvarint(a.Seq)
	w.str(a.WorkOrder)
	w.str(string(a.Scope))
	w.str(a.Line)
	w.str(a.Class)
	w.str(a.Reason)
	w.strs(a.Whys)
	w.str(a.RootCause)
	w.str(a.Resolution)
	w.str(a.FixWorkOrder)
	w.boolean(a.Quarantined)
	w.str(string(a.State))
	w.str(a.Node)
	w.varint(a.TriggeredAt)
	w.varint(a.UpdatedAt)
	w.varint(a.ResolvedAt)
	w.uvarint(a.CreateIndex)
	w.uvarint(a.ModifyIndex)
}

func decAndon(r *rbuf) *Andon {
	a := &Andon{Seq: r.uvarint()}
	a.ID = FormatAndonID(a.Seq)
	a.WorkOrder = r.str()
	a.Scope = AndonScope(r.str())
	a.Line = r.str()
	a.Class = r.str()
	a.Reason = r.str()
	a.Whys = r.strs()
	a.RootCause = r.str()
	a.Resolution = r.str()
	a.FixWorkOrder = r.str()
	a.Quarantined = r.boolean()
	a.State = AndonState(r.str())
	a.Node = r.str()
	a.TriggeredAt = r.varint()
	a.UpdatedAt = r.varint()
	a.ResolvedAt = r.varint()
	a.CreateIndex = r.uvarint()
	a.ModifyIndex = r.uvarint()
	return a
}

// loadAndon checks a (numbered densely from 1, valid fields, work orders
// that exist) and stores it.
func (l *loader) loadAndon(a *Andon) error {
	s := l.s
	if a.Seq != uint64(s.andons.Len())+1 {
		return fmt.Errorf("andon seq %d, want %d", a.Seq, s.andons.Len()+1)
	}
	wo, ok1 := ParseID(a.WorkOrder)
	fix, ok2 := ParseID(a.FixWorkOrder)
	switch {
	case !ok1 || !ok2 || s.getWO(wo) == nil || s.getWO(fix) == nil:
		return fmt.Errorf("%s: work order %q or fix %q missing", a.ID, a.WorkOrder, a.FixWorkOrder)
	case a.Scope != ScopeBucket && a.Scope != ScopePipeline, a.State != AndonOpen && a.State != AndonResolved:
		return fmt.Errorf("%s: bad scope %q or state %q", a.ID, a.Scope, a.State)
	case validateWhys(a.Whys) != nil:
		return fmt.Errorf("%s: bad whys", a.ID)
	}
	s.andons.set(a.Seq, a)
	if a.State == AndonOpen {
		s.andonOpen = append(s.andonOpen, a.Seq)
	}
	return nil
}

// checkAndonRefs checks that a quarantined work order names an open andon
// pulled on it, and a fix work order an andon whose fix it is.
func (l *loader) checkAndonRefs(wo *WorkOrder) error {
	s := l.s
	if wo.Andon != "" {
		seq, _ := ParseAndonID(wo.Andon)
		if a := s.andons.get(seq); a == nil || a.State != AndonOpen || a.WorkOrder != wo.ID {
			return fmt.Errorf("%s: quarantined by %s, which is missing, resolved or pulled on another work order", wo.ID, wo.Andon)
		}
	}
	if wo.FixFor != "" {
		seq, _ := ParseAndonID(wo.FixFor)
		if a := s.andons.get(seq); a == nil || a.FixWorkOrder != wo.ID {
			return fmt.Errorf("%s: fix for %s, which is missing or has another fix", wo.ID, wo.FixFor)
		}
	}
	return nil
}

// optAndonID reports whether id is "" or a valid andon ID.
func optAndonID(id string) bool {
	if id == "" {
		return true
	}
	_, ok := ParseAndonID(id)
	return ok
}
