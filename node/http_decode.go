package node

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// readBody reads the whole request body, at most maxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	return readBodyLimit(w, r, maxBodyBytes)
}

// readBodyLimit reads the whole request body, at most limit bytes: a
// longer body is body_too_large (413), another read error bad_json (400).
func readBodyLimit(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *apiError) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := readAllSized(http.MaxBytesReader(w, r.Body, limit), r.ContentLength, limit)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, bodyTooLarge(limit)
		}
		return nil, &apiError{status: http.StatusBadRequest, code: "bad_json", message: "reading the body: " + err.Error()}
	}
	return body, nil
}

// bodyTooLarge refuses a body longer than limit bytes.
func bodyTooLarge(limit int64) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: "body_too_large",
		message: fmt.Sprintf("request body exceeds %d bytes", limit)}
}

// readAllSized reads rd to its end, in one allocation when the request
// announced its length (and that length is within limit).
func readAllSized(rd io.Reader, length, limit int64) ([]byte, error) {
	if length <= 0 || length > limit {
		return io.ReadAll(rd)
	}
	body := make([]byte, length, length+1)
	if _, err := io.ReadFull(rd, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	// Anything beyond the announced length is an error of the reader's.
	var extra [1]byte
	if n, err := rd.Read(extra[:]); n > 0 || err != nil && err != io.EOF {
		if err == nil {
			err = errors.New("body longer than its Content-Length")
		}
		return nil, err
	}
	return body, nil
}

// decodeJSON decodes body strictly into dst: one JSON value, no unknown
// fields, nothing after it. An empty body is accepted only when allowEmpty.
func decodeJSON(body []byte, dst any, allowEmpty bool) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return nil
		}
		return &apiError{status: http.StatusBadRequest, code: "bad_json", message: "request body is empty; a JSON object is required"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, dec.InputOffset())
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return &apiError{status: http.StatusBadRequest, code: "bad_json",
			message: fmt.Sprintf("unexpected data after the JSON value at offset %d", dec.InputOffset())}
	}
	return nil
}

// decodeError classifies a json.Decoder error.
func decodeError(err error, offset int64) *apiError {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &apiError{status: http.StatusBadRequest, code: "bad_json",
			message: fmt.Sprintf("malformed JSON at offset %d: %v", se.Offset, err)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &apiError{status: http.StatusBadRequest, code: "bad_json",
			message: fmt.Sprintf("malformed JSON: unexpected end of input at offset %d", offset)}
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return &apiError{status: http.StatusBadRequest, code: "invalid_argument",
			message: fmt.Sprintf("%s: expected %s, got JSON %s (offset %d)", field, te.Type, te.Value, te.Offset)}
	}
	// encoding/json has no typed error for unknown fields.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return &apiError{status: http.StatusBadRequest, code: "unknown_field",
			message: fmt.Sprintf("unknown field %q", name)}
	}
	// Errors from a field's own UnmarshalJSON, e.g. a malformed time.
	return &apiError{status: http.StatusBadRequest, code: "invalid_argument", message: err.Error()}
}

// readWrite reads the body of a write, strictly decodes it into dst (an
// empty body is accepted when allowEmpty) and picks its idempotency key:
// the Idempotency-Key header, else the body's request_id, which key
// returns once dst is decoded. It has answered the request when ok is
// false.
func readWrite(w http.ResponseWriter, r *http.Request, dst any, allowEmpty bool, key func() string) (body []byte, id string, ok bool) {
	body, aerr := readBody(w, r)
	if aerr != nil {
		writeAPIError(w, aerr)
		return nil, "", false
	}
	if aerr := decodeJSON(body, dst, allowEmpty); aerr != nil {
		writeAPIError(w, aerr)
		return nil, "", false
	}
	id, aerr = requestID(r, key())
	if aerr != nil {
		writeAPIError(w, aerr)
		return nil, "", false
	}
	return body, id, true
}

// requestID picks the idempotency key of a write: the Idempotency-Key
// header, else the body's request_id, else a fresh random one.
func requestID(r *http.Request, fromBody string) (string, *apiError) {
	return requestIDFrom(r.Header, fromBody)
}

// requestIDFrom is requestID for a request's headers.
func requestIDFrom(h http.Header, fromBody string) (string, *apiError) {
	hdr := h.Get(headerIdempotencyKey)
	switch {
	case hdr != "" && fromBody != "" && hdr != fromBody:
		return "", invalidArg("request_id: differs from the Idempotency-Key header")
	case hdr != "":
		return hdr, nil
	case fromBody != "":
		return fromBody, nil
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:]), nil
}

// isStale reports whether the request asks for a local (?stale) read.
func isStale(r *http.Request) bool {
	q := r.URL.Query()
	if !q.Has("stale") {
		return false
	}
	return !strings.EqualFold(q.Get("stale"), "false")
}
