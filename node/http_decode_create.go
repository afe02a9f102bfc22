package node

import (
	"unicode/utf8"

	"github.com/hive-swarm/hive/api"
)

// decodeCreate decodes the body of POST /v1/workorders as decodeJSON
// does. Bodies made only of plain strings, integers and lists of strings,
// the usual shape of a create, are read by a small scanner, at a tenth of
// encoding/json's cost; anything else (escapes, payloads, deadlines, nulls,
// unknown or repeated keys, malformed input) goes through decodeJSON,
// which decides and words every error.
func decodeCreate(body []byte, req *api.CreateWorkOrderRequest) *apiError {
	if scanCreate(body, req) {
		return nil
	}
	*req = api.CreateWorkOrderRequest{}
	return decodeJSON(body, req, false)
}

// createScanner reads a create body in the subset decodeCreate takes.
type createScanner struct {
	b   []byte
	i   int
	bad bool
}

func (s *createScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and consumes c, or marks the scan bad.
func (s *createScanner) next(c byte) {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return
	}
	s.bad = true
}

// peek skips white space and returns the next byte (0 at the end).
func (s *createScanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str reads a string without escapes or control characters, in valid
// UTF-8.
func (s *createScanner) str() string {
	s.next('"')
	if s.bad {
		return ""
	}
	start, ascii := s.i, true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			if !ascii && !utf8.Valid(v) {
				s.bad = true // encoding/json replaces invalid bytes
				return ""
			}
			return string(v)
		case c == '\\' || c < 0x20:
			s.bad = true
			return ""
		case c >= utf8.RuneSelf:
			ascii = false
		}
		s.i++
	}
	s.bad = true
	return ""
}

// strs reads a list of strings; an empty list is non-nil, as encoding/json
// makes it.
func (s *createScanner) strs() []string {
	s.next('[')
	out := []string{}
	if s.peek() == ']' {
		s.i++
		return out
	}
	for !s.bad {
		out = append(out, s.str())
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return out
		default:
			s.bad = true
		}
	}
	return nil
}

// int reads an integer within [-1<<62, 1<<62] written as JSON writes one
// (no leading zeros, fraction or exponent).
func (s *createScanner) int() int64 {
	s.ws()
	neg := s.i < len(s.b) && s.b[s.i] == '-'
	if neg {
		s.i++
	}
	start := s.i
	var v int64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		if s.i-start >= 18 {
			s.bad = true
			return 0
		}
		v = v*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	n := s.i - start
	if n == 0 || n > 1 && s.b[start] == '0' {
		s.bad = true
		return 0
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			s.bad = true
			return 0
		}
	}
	if neg {
		v = -v
	}
	return v
}

// Bits of the keys seen, to send repeated keys to encoding/json.
const (
	ckTitle = 1 << iota
	ckDescription
	ckType
	ckBucket
	ckPriority
	ckPriorityScore
	ckLabels
	ckEffort
	ckStage
	ckSignal
	ckDependsOn
	ckParent
	ckRequestID
	ckRunTimeout
)

// scanCreate fills req from body and reports true when body is in the
// subset; otherwise req is to be thrown away.
func scanCreate(body []byte, req *api.CreateWorkOrderRequest) bool {
	s := &createScanner{b: body}
	s.next('{')
	if s.peek() == '}' {
		s.i++
		s.ws()
		return !s.bad && s.i == len(s.b)
	}
	seen := 0
	for !s.bad {
		key := s.str()
		s.next(':')
		if s.bad {
			return false
		}
		var bit int
		switch key {
		case "title":
			bit, req.Title = ckTitle, s.str()
		case "description":
			bit, req.Description = ckDescription, s.str()
		case "type":
			bit, req.Type = ckType, s.str()
		case "bucket":
			bit, req.Bucket = ckBucket, s.str()
		case "priority":
			bit, req.Priority = ckPriority, s.str()
		case "priority_score":
			v := s.int()
			if int64(int(v)) != v {
				return false
			}
			bit, req.PriorityScore = ckPriorityScore, int(v)
		case "labels":
			bit, req.Labels = ckLabels, s.strs()
		case "effort":
			bit, req.Effort = ckEffort, s.int()
		case "stage":
			bit, req.Stage = ckStage, s.str()
		case "signal":
			bit, req.Signal = ckSignal, s.str()
		case "depends_on":
			bit, req.DependsOn = ckDependsOn, s.strs()
		case "parent":
			bit, req.Parent = ckParent, s.str()
		case "request_id":
			bit, req.RequestID = ckRequestID, s.str()
		case "run_timeout":
			bit, req.RunTimeout = ckRunTimeout, s.str()
		default:
			return false // payload, deadline, an unknown key, or another spelling
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			s.ws()
			return !s.bad && s.i == len(s.b)
		default:
			return false
		}
	}
	return false
}
