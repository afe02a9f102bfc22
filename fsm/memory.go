package fsm

import (
	"path"
	"strings"
)

// Swarm memory is a namespaced key/value store. An entry with ExpiresAt ≠ 0
// is invisible once the state clock (the largest command time applied,
// also advanced by Tick) reaches ExpiresAt, and Apply deletes it before the
// next command runs, in expiry order, so every node drops it at the same
// index. Memory changes are not receipted: the receipt chain covers work
// orders.

// visible reports whether e is readable at state clock now.
func visible(e *MemoryEntry, now int64) bool { return e.ExpiresAt == 0 || e.ExpiresAt > now }

// pruneExpired deletes the entries that expired by the state clock and
// returns how many.
func pruneExpired(s *state) int {
	n := 0
	for {
		k, ok := s.memExpiry.Min()
		if !ok || k.at > s.clock {
			return n
		}
		s.memExpiry.DeleteMin()
		s.mem.Delete(&MemoryEntry{Namespace: k.ns, Key: k.key})
		n++
	}
}

// putMemory stores a new entry object, keeping the expiry index in step.
func putMemory(t *tx, ns, key string, value []byte, expiresAt int64) *MemoryEntry {
	s := t.s
	e := &MemoryEntry{Namespace: ns, Key: key, Value: value, ExpiresAt: expiresAt,
		CreateIndex: t.index, ModifyIndex: t.index, UpdatedAt: t.now}
	if old, ok := s.mem.Get(e); ok {
		e.CreateIndex = old.CreateIndex
		if old.ExpiresAt != 0 {
			s.memExpiry.Delete(expiryKey{old.ExpiresAt, ns, key})
		}
	}
	s.mem.ReplaceOrInsert(e)
	if expiresAt != 0 {
		s.memExpiry.ReplaceOrInsert(expiryKey{expiresAt, ns, key})
	}
	return e
}

// applyMemoryPut stores an entry. An ExpiresAt at or before the state clock
// is refused (ErrInvalidArgument): the entry would never be visible.
func applyMemoryPut(t *tx, c Command) *Error {
	p := c.(*MemoryPut)
	if p.ExpiresAt != 0 && p.ExpiresAt <= t.now {
		return Errorf(ErrInvalidArgument, "expires_at: %d is not after the state clock %d", p.ExpiresAt, t.now)
	}
	t.resMem = putMemory(t, p.Namespace, p.Key, p.Value, p.ExpiresAt)
	return nil
}

// applyMemoryDelete removes an entry; ErrNotFound when there is none.
func applyMemoryDelete(t *tx, c Command) *Error {
	d := c.(*MemoryDelete)
	s := t.s
	old, ok := s.mem.Get(&MemoryEntry{Namespace: d.Namespace, Key: d.Key})
	if !ok {
		return Errorf(ErrNotFound, "memory entry %s/%s not found", d.Namespace, d.Key)
	}
	s.mem.Delete(old)
	if old.ExpiresAt != 0 {
		s.memExpiry.Delete(expiryKey{old.ExpiresAt, old.Namespace, old.Key})
	}
	return nil
}

// applyMemoryImport stores entries in order (a later duplicate wins);
// entries already expired by the state clock are skipped. Result.Count is
// the number stored.
func applyMemoryImport(t *tx, c Command) *Error {
	im := c.(*MemoryImport)
	for i := range im.Entries {
		e := &im.Entries[i]
		if e.ExpiresAt != 0 && e.ExpiresAt <= t.now {
			continue
		}
		putMemory(t, e.Namespace, e.Key, e.Value, e.ExpiresAt)
		t.count++
	}
	return nil
}

// applyTick only advances the clock, which applyCommand already did;
// Result.Count is the number of entries that expired.
func applyTick(*tx, Command) *Error { return nil }

// Memory returns the visible entry ns/key, or ErrNotFound.
func (v *View) Memory(ns, key string) (*MemoryEntry, error) {
	e, ok := v.s.mem.Get(&MemoryEntry{Namespace: ns, Key: key})
	if !ok || !visible(e, v.s.clock) {
		return nil, Errorf(ErrNotFound, "memory entry %s/%s not found", ns, key)
	}
	return e, nil
}

// MemoryQuery returns the visible entries of namespace ns ("" for all
// namespaces) whose key starts with prefix and, when pattern is not empty,
// matches it as a path.Match glob; sorted by namespace, then key. A
// malformed pattern is ErrInvalidArgument.
func (v *View) MemoryQuery(ns, prefix, pattern string) ([]*MemoryEntry, error) {
	if pattern != "" {
		if _, err := path.Match(pattern, ""); err != nil {
			return nil, Errorf(ErrInvalidArgument, "pattern: %v", err)
		}
	}
	var out []*MemoryEntry
	fn := func(e *MemoryEntry) bool {
		if ns != "" && e.Namespace != ns {
			return false
		}
		if ns != "" && !strings.HasPrefix(e.Key, prefix) {
			return false
		}
		if !strings.HasPrefix(e.Key, prefix) || !visible(e, v.s.clock) {
			return true
		}
		if pattern != "" {
			if ok, _ := path.Match(pattern, e.Key); !ok {
				return true
			}
		}
		out = append(out, e)
		return true
	}
	if ns == "" {
		v.s.mem.Ascend(fn)
	} else {
		v.s.mem.AscendGreaterOrEqual(&MemoryEntry{Namespace: ns, Key: prefix}, fn)
	}
	return out, nil
}

// NextExpiry returns the earliest ExpiresAt among stored entries, or 0 when
// none expires. The leader proposes a Tick when it is due.
func (v *View) NextExpiry() int64 {
	if k, ok := v.s.memExpiry.Min(); ok {
		return k.at
	}
	return 0
}
