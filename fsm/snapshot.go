package fsm

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/raft"
)

// Snapshot stream layout (version 4). Integers in the header are
// big-endian; records use the command codec's primitives (see Encode).
//
//	"HIVESNAP"            8 bytes magic
//	version               1 byte (4; 1 to 3 are still read, see below)
//	index                 u64  last applied raft index
//	clock                 i64  state clock
//	wo_seq                u64  last work order number
//	receipt_seq           u64  last receipt number
//	idem_seq              u64  last idempotency record number
//	chain_head            32 bytes
//	records               [type byte][uvarint length][body], tables in this
//	                      order, each in key order: work orders (by seq),
//	                      receipts (by seq), memory (by namespace, key),
//	                      idempotency records (by age), then exactly one
//	                      scheduler config record, then andons (by seq)
//	end                   type 0, then uvarint total record count
//
// Version 3, written before per-work-order run timeouts, differs only in
// that its work order records end after PredictedFinish: it restores with
// RunTimeout 0 (the executing node's default) on every work order.
// Version 2, written before failure handling existed, differs in that its
// work order records end after PipelineStep, its idempotency records have
// no andon, and it has no andon records: it restores with
// DefaultRetryPolicy() on every work order and the other failure-handling
// fields zero. Version 1, written before scheduling existed, also ends
// work order records before Pipeline and PipelineStep and has no
// scheduler config record; it restores with both fields empty and
// DefaultSchedulerConfig(). The WIP counters and the open-andon list are
// not stored: Restore rebuilds them.
//
// Equal states give byte-identical snapshots. Readers validate everything
// (order, counters, links, receipt hashes) and fail on the first problem.
const (
	snapMagic     = "HIVESNAP"
	snapVersion   = 4
	snapVersionV3 = 3       // the format before run timeouts; still read
	snapVersionV2 = 2       // the format before failure handling; still read
	snapVersionV1 = 1       // the format before scheduling; still read
	maxRecord     = 4 << 20 // largest record a reader accepts

	recEnd         = 0
	recWorkOrder   = 1
	recReceipt     = 2
	recMemory      = 3
	recIdem        = 4
	recSchedConfig = 5 // version 2
	recAndon       = 6 // version 3
)

// ErrBadSnapshot is returned (wrapped) by Restore for a snapshot it cannot
// accept; the FSM keeps its current state.
var ErrBadSnapshot = errors.New("fsm: bad snapshot")

type fsmSnapshot struct{ s *state }

// Persist writes the snapshot to sink.
func (f *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := writeSnapshot(sink, f.s); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

// Release is a no-op: the snapshot holds only an immutable clone.
func (f *fsmSnapshot) Release() {}

func writeSnapshot(out io.Writer, s *state) error {
	bw := bufio.NewWriterSize(out, 256<<10)
	var hdr []byte
	hdr = append(hdr, snapMagic...)
	hdr = append(hdr, snapVersion)
	hdr = binary.BigEndian.AppendUint64(hdr, s.index)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(s.clock))
	hdr = binary.BigEndian.AppendUint64(hdr, s.woSeq)
	hdr = binary.BigEndian.AppendUint64(hdr, s.rcptSeq)
	hdr = binary.BigEndian.AppendUint64(hdr, s.idemSeq)
	hdr = append(hdr, s.head[:]...)
	bw.Write(hdr)

	w := &wbuf{}
	var count uint64
	rec := func(typ byte) {
		var pre [1 + binary.MaxVarintLen64]byte
		pre[0] = typ
		n := binary.PutUvarint(pre[1:], uint64(len(w.b)))
		bw.Write(pre[:1+n])
		bw.Write(w.b)
		w.b = w.b[:0]
		count++
	}
	s.wos.ascend(0, func(wo *WorkOrder) bool { encWorkOrder(w, wo); rec(recWorkOrder); return true })
	s.receipts.ascend(0, func(r *Receipt) bool { encReceipt(w, r); rec(recReceipt); return true })
	s.mem.Ascend(func(e *MemoryEntry) bool { encMemory(w, e); rec(recMemory); return true })
	s.idem.ascend(func(it idemItem) bool {
		encIdem(w, it.rec)
		rec(recIdem)
		return true
	})
	encSchedulerConfig(w, &s.sched.cfg)
	rec(recSchedConfig)
	s.andons.ascend(1, func(a *Andon) bool { encAndon(w, a); rec(recAndon); return true })
	bw.WriteByte(recEnd)
	var tail [binary.MaxVarintLen64]byte
	bw.Write(tail[:binary.PutUvarint(tail[:], count)])
	return bw.Flush()
}

func readSnapshot(in io.Reader) (*state, error) {
	s, err := decodeSnapshot(bufio.NewReaderSize(in, 256<<10))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	return s, nil
}

func decodeSnapshot(br *bufio.Reader) (*state, error) {
	hdr := make([]byte, len(snapMagic)+1+5*8+32)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if string(hdr[:8]) != snapMagic {
		return nil, errors.New("not a Hive snapshot (bad magic)")
	}
	version := hdr[8]
	if version < snapVersionV1 || version > snapVersion {
		return nil, fmt.Errorf("unsupported version %d", version)
	}
	s := newState()
	h := hdr[9:]
	s.index = binary.BigEndian.Uint64(h)
	s.clock = int64(binary.BigEndian.Uint64(h[8:]))
	s.woSeq = binary.BigEndian.Uint64(h[16:])
	wantRcpt := binary.BigEndian.Uint64(h[24:])
	s.idemSeq = binary.BigEndian.Uint64(h[32:])
	var wantHead [32]byte
	copy(wantHead[:], h[40:])

	ld := &loader{s: s, version: version}
	var buf []byte
	var count uint64
	for {
		typ, err := br.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", count, err)
		}
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, fmt.Errorf("record %d length: %w", count, err)
		}
		if typ == recEnd {
			if n != count {
				return nil, fmt.Errorf("trailer counts %d records, read %d", n, count)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				return nil, errors.New("trailing bytes after the end record")
			}
			break
		}
		if n > maxRecord {
			return nil, fmt.Errorf("record %d: length %d over the %d limit", count, n, maxRecord)
		}
		if uint64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, fmt.Errorf("record %d: %w", count, err)
		}
		if err := ld.load(typ, buf); err != nil {
			return nil, fmt.Errorf("record %d: %w", count, err)
		}
		count++
	}
	if s.rcptSeq != wantRcpt || s.head != wantHead {
		return nil, fmt.Errorf("receipt chain ends at %d, header says %d (or the head hash differs)", s.rcptSeq, wantRcpt)
	}
	if err := ld.finish(); err != nil {
		return nil, err
	}
	return s, nil
}
