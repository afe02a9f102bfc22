// stream.js: the live event stream (/api/stream, SSE). EventSource
// reconnects by itself after a dropped connection or a cutoff, sending
// Last-Event-ID so the node resumes where the page left off. When the
// node refuses the stream (an HTTP error closes an EventSource for
// good), a new one is opened after a pause, resuming with ?after=.

/**
 * eventTypes are the named SSE events the page listens to: every type
 * the node emits (one event per receipt: "workorder." + its receipt
 * event name, andon.*, sla.* or receipt.appended; member, leader and
 * stream control types). EventSource only delivers named events to
 * their own listeners, so a type missing here is dropped
 * (stream_test.go checks the list).
 */
export const eventTypes = [
  'workorder.created', 'workorder.assigned', 'workorder.started', 'workorder.advanced',
  'workorder.progressed', 'workorder.completed', 'workorder.failed', 'workorder.cancelled',
  'workorder.requeued', 'workorder.blocked', 'workorder.unblocked', 'workorder.dependency_added',
  'workorder.dependency_removed', 'workorder.dependency_failed', 'workorder.dependency_cancelled',
  'workorder.child_added', 'workorder.scheduler_configured', 'workorder.retry_scheduled',
  'workorder.stale_rejected',
  'receipt.appended', 'member.joined', 'member.failed', 'member.left', 'leader.changed',
  'andon.triggered', 'andon.updated', 'andon.resolved', 'sla.warning', 'sla.breached', 'gap', 'cutoff',
];

const reopenMs = 3000;

/**
 * openStream follows the stream after the event ID (or raft index) after,
 * from the present when it is empty, calling onEvent(event) for each
 * event and onState(connected, why) when the connection comes or goes.
 */
export function openStream(onEvent, onState, after = '') {
  let lastId = after;
  let es = null;
  const open = () => {
    es = new EventSource(lastId ? `/api/stream?after=${encodeURIComponent(lastId)}` : '/api/stream');
    es.onopen = () => onState(true, '');
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        onState(false, 'the node refused the event stream; retrying');
        setTimeout(open, reopenMs);
      } else {
        onState(false, 'the event stream was interrupted; reconnecting');
      }
    };
    const handle = (msg) => {
      if (msg.lastEventId) lastId = msg.lastEventId;
      let ev;
      try {
        ev = JSON.parse(msg.data);
      } catch {
        return;
      }
      onEvent(ev);
    };
    for (const t of eventTypes) es.addEventListener(t, handle);
    es.onmessage = handle;
  };
  open();
}
