package events

import (
	"encoding/json"
	"strconv"
	"time"
)

// appendEventJSON appends e as json.Marshal encodes it, without
// reflection: each node encodes every event of its stream once, so this
// is on the path of every commit while anyone follows the stream. It
// reports false, having appended nothing, for a time json.Marshal
// rejects (year outside 0–9999). encode_test checks it against
// json.Marshal.
func appendEventJSON(dst []byte, e *Event) ([]byte, bool) {
	if !e.Time.IsZero() {
		if y := e.Time.Year(); y < 0 || y > 9999 {
			return dst, false
		}
	}
	d := dst
	d = append(d, '{')
	if e.ID != "" {
		d = appendJSONString(append(d, `"id":`...), e.ID)
		d = append(d, ',')
	}
	d = strconv.AppendUint(append(d, `"index":`...), e.Index, 10)
	d = appendJSONString(append(d, `,"topic":`...), string(e.Topic))
	d = appendJSONString(append(d, `,"type":`...), e.Type)
	if !e.Time.IsZero() {
		d = append(d, `,"time":"`...)
		d = append(e.Time.AppendFormat(d, time.RFC3339Nano), '"')
	}
	d = appendField(d, `,"workorder":`, e.WorkOrder)
	d = appendField(d, `,"event":`, e.Event)
	d = appendField(d, `,"from":`, e.From)
	d = appendField(d, `,"to":`, e.To)
	d = appendUintField(d, `,"attempt":`, e.Attempt)
	d = appendField(d, `,"node":`, e.Node)
	d = appendField(d, `,"agent":`, e.Agent)
	d = appendUintField(d, `,"receipt":`, e.Receipt)
	d = appendField(d, `,"hash":`, e.Hash)
	d = appendUintField(d, `,"local_seq":`, e.LocalSeq)
	d = appendField(d, `,"member":`, e.Member)
	d = appendField(d, `,"status":`, e.Status)
	d = appendField(d, `,"addr":`, e.Addr)
	d = appendField(d, `,"leader":`, e.Leader)
	d = appendField(d, `,"observer":`, e.Observer)
	d = appendField(d, `,"code":`, e.Code)
	d = appendField(d, `,"reason":`, e.Reason)
	d = appendField(d, `,"resume":`, e.Resume)
	if len(e.Topics) > 0 {
		d = append(d, `,"topics":[`...)
		for i, t := range e.Topics {
			if i > 0 {
				d = append(d, ',')
			}
			d = appendJSONString(d, string(t))
		}
		d = append(d, ']')
	}
	return append(d, '}'), true
}

// appendField appends an omitempty string member.
func appendField(d []byte, name, v string) []byte {
	if v == "" {
		return d
	}
	return appendJSONString(append(d, name...), v)
}

// appendUintField appends an omitempty number member.
func appendUintField(d []byte, name string, v uint64) []byte {
	if v == 0 {
		return d
	}
	return strconv.AppendUint(append(d, name...), v, 10)
}

// appendJSONString appends s quoted as json.Marshal quotes it: printable
// ASCII other than the characters it escapes is copied as is; any other
// string is left to json.Marshal.
func appendJSONString(d []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // cannot fail for a string
			return append(d, b...)
		}
	}
	d = append(d, '"')
	d = append(d, s...)
	return append(d, '"')
}
