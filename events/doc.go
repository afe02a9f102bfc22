// Package events turns committed state changes into a stream of typed
// events that clients can follow, filter and resume.
//
// # Sources
//
// Every receipt of the replicated chain produces exactly one event,
// typed by what the receipt records: andon receipts are andon.triggered,
// .updated or .resolved (topic "andon"); SLA receipts are sla.warning or
// sla.breached (topic "sla"); the other receipts of a work order are
// work-order events, "workorder." followed by the receipt's event name
// (topic "workorder": workorder.created, .assigned, .started, .progressed,
// .completed, .failed, .cancelled, .unblocked, …); any other receipt is
// receipt.appended (topic "receipt"). Each carries the receipt's sequence
// number and hash. A topic filter admits an event of its own topic and
// more: "receipt" admits every receipt-derived event, so it follows the
// whole chain one event per receipt, and "workorder" admits every one
// that names a work order, its andon and SLA events included
// (Event.InTopic). A subscriber of several topics receives each receipt
// once, never a copy per topic. The chain is replicated and kept in the
// state and in snapshots, so a subscriber can resume from ANY raft index,
// on any node, even after the node or the subscriber restarted: the
// broker re-reads the receipts from the index asked for, then follows new
// commits.
//
// Cluster events (topic "member": member.joined, .failed, .left; topic
// "leader": leader.changed) are node-local: each node sees them through
// its own gossip and raft, and keeps the latest RingSize of them in a
// bounded ring, stamped with the raft index applied when they happened.
//
// # Order and resume points
//
// A stream delivers, in order, the events of each raft index (one per
// receipt, in chain order), and a node-local event after the receipts of
// the index it was stamped with. Every event that ends a resumable
// position carries an ID, its cursor:
//
//	"N"    every event of raft index ≤ N has been delivered
//	"N.L"  … and node-local events up to local sequence L (streams whose
//	       filter admits node-local topics)
//
// Events in the middle of an index (more of the same index follow) carry
// no ID, so resuming after the last ID seen never loses or repeats an
// event. The SSE transport uses the ID as the SSE "id:" field, so a
// browser's Last-Event-ID resumes exactly. The local part L is meaningful
// only to the node process that issued it; elsewhere the stream resumes
// node-local events from N by their stamps.
//
// # Nothing is dropped silently
//
// When a resume point is older than what is retained (node-local events
// evicted from the ring, or from before this node process started), the
// stream first emits a "gap" event naming the first index from which the
// stream is complete, then continues. A subscriber that falls more than
// its buffer behind the live stream is cut off: its stream ends with a
// final "cutoff" event (Subscription.Final) with the reason and the
// cursor to resume from. Applying commits never waits for a subscriber:
// the broker reads the FSM from its own goroutine and only journals
// what it read. A subscriber that resumes from far back replays the
// state page by page as it reads, at its own pace, and joins the live
// stream once it has caught up.
//
// # Cost of many subscribers
//
// The dispatcher runs at most one round per few milliseconds. A round
// journals every commit since the last as one batch, shared by all
// subscribers, and wakes each live subscriber (a non-blocking signal);
// it hands no event to anyone. Each subscriber reads the journal from
// its own offset, at its own pace: a subscriber that leaves more than
// Config.Buffer events unread is cut off at the next round, and the
// journal keeps only what the others may still read. A batch's events
// are encoded once (JSON, SSE and NDJSON frames share one encoding), and
// subscribers of one shape (filter, format, position) share the batch's
// frames: the first to read them builds them, the others write the same
// bytes (Subscription.Frames). A subscriber thus costs a wake-up and a
// write per batch, not a copy and an encoding per event.
package events
