package events

import (
	"encoding/json"
	"strconv"
	"sync"
)

// Format is how a transport frames events.
type Format int

// The formats.
const (
	// FormatSSE frames an event as Server-Sent Events: "id: ID" (when
	// the event has an ID), "event: TYPE", "data: JSON", a blank line.
	FormatSSE Format = iota
	// FormatNDJSON frames an event as one line of JSON.
	FormatNDJSON
)

// encoding is the SSE frame of one event without its ID, encoded at most
// once and shared by every subscriber of the event: the ID is the only
// part a subscriber sets. The NDJSON frame and the JSON are slices of it.
type encoding struct {
	once sync.Once
	sse  []byte // "event: TYPE\ndata: " JSON-without-ID "\n\n"
	json int    // offset of the JSON in sse
}

// get returns the shared SSE frame of e and the offset of its JSON,
// encoding it on first use.
func (c *encoding) get(e *Event) ([]byte, int) {
	c.once.Do(func() {
		ev := *e
		ev.ID, ev.enc = "", nil
		c.sse = make([]byte, 0, 512)
		c.sse = append(append(append(c.sse, "event: "...), e.Type...), "\ndata: "...)
		c.json = len(c.sse)
		c.sse = append(ev.marshal(c.sse), "\n\n"...)
	})
	return c.sse, c.json
}

// AppendJSON appends e encoded as by json.Marshal to dst and returns the
// extended buffer. Events received from a Subscription share one encoding
// of their payload across all subscribers, so the stream encodes each
// event once however many subscribers follow it; a copy whose fields
// (other than ID) are changed must not be encoded with AppendJSON.
func (e *Event) AppendJSON(dst []byte) []byte {
	if e.enc == nil || !plainID(e.ID) {
		return e.marshal(dst)
	}
	sse, j := e.enc.get(e)
	body := sse[j : len(sse)-2]
	if e.ID == "" || len(body) < 2 {
		return append(dst, body...)
	}
	return append(spliceID(append(dst, '{'), e.ID), body[1:]...)
}

// marshal appends json.Marshal of e.
func (e *Event) marshal(dst []byte) []byte {
	if d, ok := appendEventJSON(dst, e); ok {
		return d
	}
	ev := *e // only this path lets the event escape
	b, err := json.Marshal(&ev)
	if err != nil {
		return dst // cannot happen: events hold only strings and numbers
	}
	return append(dst, b...)
}

// spliceID appends the "id" member as json.Marshal writes it first (the
// struct declares it first); an ID of digits and dots needs no escaping.
func spliceID[S string | []byte](dst []byte, id S) []byte {
	dst = append(dst, `"id":"`...)
	dst = append(dst, id...)
	return append(dst, `",`...)
}

// AppendFrame appends e framed as f to dst and returns the extended
// buffer; the JSON is AppendJSON's.
func (e *Event) AppendFrame(dst []byte, f Format) []byte { return e.frame(dst, f) }

// frame appends e framed as f, with e.ID as it is.
func (e *Event) frame(dst []byte, f Format) []byte {
	if f == FormatNDJSON {
		return append(e.AppendJSON(dst), '\n')
	}
	if e.ID != "" {
		dst = append(append(append(dst, "id: "...), e.ID...), '\n')
	}
	dst = append(append(append(dst, "event: "...), e.Type...), "\ndata: "...)
	return append(e.AppendJSON(dst), "\n\n"...)
}

// appendFrame appends e framed as f with the ID id (when has) in place
// of e.ID, from the shared encoding when e has one.
func (e *Event) appendFrame(dst []byte, f Format, id Cursor, has bool) []byte {
	if e.enc == nil {
		ev := *e
		ev.ID = ""
		if has {
			ev.ID = id.String()
		}
		return ev.frame(dst, f)
	}
	sse, j := e.enc.get(e)
	if len(sse)-j < 4 { // "{}\n\n" at least; cannot happen
		return e.frame(dst, f)
	}
	if f == FormatNDJSON {
		if !has {
			return append(dst, sse[j:len(sse)-1]...)
		}
		dst = append(dst, '{')
		dst = appendCursor(append(dst, `"id":"`...), id)
		dst = append(dst, `",`...)
		return append(dst, sse[j+1:len(sse)-1]...)
	}
	if !has {
		return append(dst, sse...)
	}
	dst = append(dst, "id: "...)
	at := len(dst)
	dst = appendCursor(dst, id)
	to := len(dst)
	dst = append(dst, '\n')
	dst = append(dst, sse[:j+1]...)
	dst = spliceID(dst, dst[at:to])
	return append(dst, sse[j+1:]...)
}

// appendCursor appends c formatted as by Cursor.String.
func appendCursor(dst []byte, c Cursor) []byte {
	dst = strconv.AppendUint(dst, c.Index, 10)
	if c.HasLocal {
		dst = strconv.AppendUint(append(dst, '.'), c.Local, 10)
	}
	return dst
}

// plainID reports whether id is made of digits and dots only (a cursor),
// so that it can be spliced into JSON as is.
func plainID(id string) bool {
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}
