package events

import (
	"encoding/json"
	"sync"
)

// encoding is the JSON of one event without its ID, encoded at most once
// and shared by every copy of the event handed to subscribers: the ID is
// the only field a subscriber sets on its copy.
type encoding struct {
	once sync.Once
	body []byte // json.Marshal of the event with ID ""
}

func newEncoding() *encoding { return new(encoding) }

// AppendJSON appends e encoded as by json.Marshal to dst and returns the
// extended buffer. Events received from a Subscription share one encoding
// of their payload across all subscribers, so the stream encodes each
// event once however many subscribers follow it; a copy whose fields
// (other than ID) are changed must not be encoded with AppendJSON.
func (e *Event) AppendJSON(dst []byte) []byte {
	if e.enc == nil || !plainID(e.ID) {
		ev := *e // only this path lets the event escape
		b, err := json.Marshal(&ev)
		if err != nil {
			return dst // cannot happen: events hold only strings and numbers
		}
		return append(dst, b...)
	}
	body := e.enc.get(e)
	if e.ID == "" || len(body) < 2 {
		return append(dst, body...)
	}
	// json.Marshal writes "id" first, as the struct declares it; an ID
	// of digits and dots needs no escaping.
	dst = append(dst, `{"id":"`...)
	dst = append(dst, e.ID...)
	dst = append(dst, `",`...)
	return append(dst, body[1:]...)
}

// get returns the shared encoding of e, encoding it on first use.
func (c *encoding) get(e *Event) []byte {
	c.once.Do(func() {
		ev := *e
		ev.ID, ev.enc = "", nil
		c.body, _ = json.Marshal(&ev) // cannot fail: strings and numbers only
	})
	return c.body
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
