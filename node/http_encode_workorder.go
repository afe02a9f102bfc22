package node

import (
	"encoding/json"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/hive-swarm/hive/api"
)

// Every write answers with a work order, and encoding/json's reflection
// was a tenth of a busy leader's CPU. appendWorkOrderJSON writes the same
// bytes as json.Marshal(*api.WorkOrder) by hand. It knows the fields of
// api.WorkOrder as they are listed in workOrderJSONFields; a server whose
// api.WorkOrder differs from that list (a field added, renamed or
// retyped) uses encoding/json instead (workOrderEncoderMatches), so the
// short cut can never answer with a stale shape.

// workOrderJSONFields lists api.WorkOrder's fields in order, as name, JSON
// tag and Go type, exactly as appendWorkOrderJSON writes them.
var workOrderJSONFields = [...][3]string{
	{"ID", "id", "string"},
	{"Title", "title", "string"},
	{"Description", "description,omitempty", "string"},
	{"Type", "type,omitempty", "string"},
	{"Bucket", "bucket", "string"},
	{"Priority", "priority", "string"},
	{"Labels", "labels,omitempty", "[]string"},
	{"Payload", "payload,omitempty", "json.RawMessage"},
	{"Effort", "effort,omitempty", "int64"},
	{"Stage", "stage,omitempty", "string"},
	{"Signal", "signal,omitempty", "string"},
	{"DependsOn", "depends_on,omitempty", "[]string"},
	{"Dependents", "dependents,omitempty", "[]string"},
	{"Parent", "parent,omitempty", "string"},
	{"Children", "children,omitempty", "[]string"},
	{"State", "state", "string"},
	{"BlockedReason", "blocked_reason,omitempty", "string"},
	{"Attempt", "attempt", "uint64"},
	{"Node", "node,omitempty", "string"},
	{"Agent", "agent,omitempty", "string"},
	{"Progress", "progress,omitempty", "string"},
	{"Result", "result,omitempty", "*api.Evidence"},
	{"CreatedAt", "created_at", "time.Time"},
	{"UpdatedAt", "updated_at", "time.Time"},
	{"Deadline", "deadline,omitempty", "*time.Time"},
	{"StartedAt", "started_at,omitempty", "*time.Time"},
	{"CompletedAt", "completed_at,omitempty", "*time.Time"},
	{"CreateIndex", "create_index", "uint64"},
	{"ModifyIndex", "modify_index", "uint64"},
	// written by appendWorkOrderFailureJSON (http_encode_failure.go):
	{"Pipeline", "pipeline,omitempty", "string"},
	{"PipelineStep", "pipeline_step,omitempty", "string"},
	{"Retry", "retry,omitempty", "*api.RetryPolicy"},
	{"Retries", "retries,omitempty", "uint32"},
	{"NotBefore", "not_before,omitempty", "*time.Time"},
	{"LastReason", "last_reason,omitempty", "string"},
	{"Andon", "andon,omitempty", "string"},
	{"FixFor", "fix_for,omitempty", "string"},
	{"SLAWarned", "sla_warned,omitempty", "*time.Time"},
	{"SLABreached", "sla_breached,omitempty", "*time.Time"},
	{"PredictedFinish", "predicted_finish,omitempty", "*time.Time"},
	// written by appendWorkOrderJSON after the failure fields:
	{"RunTimeout", "run_timeout,omitempty", "string"},
}

// workOrderEncoderMatches reports whether api.WorkOrder has exactly the
// fields appendWorkOrderJSON writes.
func workOrderEncoderMatches() bool {
	t := reflect.TypeFor[api.WorkOrder]()
	if t.NumField() != len(workOrderJSONFields) {
		return false
	}
	for i, want := range workOrderJSONFields {
		f := t.Field(i)
		if f.Name != want[0] || f.Tag.Get("json") != want[1] || f.Type.String() != want[2] {
			return false
		}
	}
	return true
}

// marshalWorkOrder encodes w as json.Marshal does, by hand when fast.
func marshalWorkOrder(w *api.WorkOrder, fast bool) ([]byte, error) {
	if !fast {
		return json.Marshal(w)
	}
	return appendWorkOrderJSON(make([]byte, 0, 512), w)
}

// appendWorkOrderJSON appends json.Marshal(w)'s bytes to b.
func appendWorkOrderJSON(b []byte, w *api.WorkOrder) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, w.ID)
	b = append(b, `,"title":`...)
	b = appendJSONString(b, w.Title)
	b = appendOptString(b, `,"description":`, w.Description)
	b = appendOptString(b, `,"type":`, w.Type)
	b = append(b, `,"bucket":`...)
	b = appendJSONString(b, w.Bucket)
	b = append(b, `,"priority":`...)
	b = appendJSONString(b, w.Priority)
	b = appendOptStrings(b, `,"labels":`, w.Labels)
	if len(w.Payload) > 0 {
		p, err := json.Marshal(w.Payload) // compacted and escaped as encoding/json does
		if err != nil {
			return nil, err
		}
		b = append(b, `,"payload":`...)
		b = append(b, p...)
	}
	if w.Effort != 0 {
		b = append(b, `,"effort":`...)
		b = strconv.AppendInt(b, w.Effort, 10)
	}
	b = appendOptString(b, `,"stage":`, w.Stage)
	b = appendOptString(b, `,"signal":`, w.Signal)
	b = appendOptStrings(b, `,"depends_on":`, w.DependsOn)
	b = appendOptStrings(b, `,"dependents":`, w.Dependents)
	b = appendOptString(b, `,"parent":`, w.Parent)
	b = appendOptStrings(b, `,"children":`, w.Children)
	b = append(b, `,"state":`...)
	b = appendJSONString(b, w.State)
	b = appendOptString(b, `,"blocked_reason":`, w.BlockedReason)
	b = append(b, `,"attempt":`...)
	b = strconv.AppendUint(b, w.Attempt, 10)
	b = appendOptString(b, `,"node":`, w.Node)
	b = appendOptString(b, `,"agent":`, w.Agent)
	b = appendOptString(b, `,"progress":`, w.Progress)
	if w.Result != nil {
		r, err := json.Marshal(w.Result)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"result":`...)
		b = append(b, r...)
	}
	var err error
	b = append(b, `,"created_at":`...)
	if b, err = appendJSONTime(b, w.CreatedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"updated_at":`...)
	if b, err = appendJSONTime(b, w.UpdatedAt); err != nil {
		return nil, err
	}
	if b, err = appendOptTimes(b, optTime{`,"deadline":`, w.Deadline}, optTime{`,"started_at":`, w.StartedAt},
		optTime{`,"completed_at":`, w.CompletedAt}); err != nil {
		return nil, err
	}
	b = append(b, `,"create_index":`...)
	b = strconv.AppendUint(b, w.CreateIndex, 10)
	b = append(b, `,"modify_index":`...)
	b = strconv.AppendUint(b, w.ModifyIndex, 10)
	if b, err = appendWorkOrderFailureJSON(b, w); err != nil {
		return nil, err
	}
	b = appendOptString(b, `,"run_timeout":`, w.RunTimeout)
	return append(b, '}'), nil
}

func appendOptString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendJSONString(append(b, key...), s)
}

func appendOptStrings(b []byte, key string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(b, key...)
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// optTime is a key and a time that is written only when not nil.
type optTime struct {
	key string
	t   *time.Time
}

// appendOptTimes appends the key and the time of each of ts whose time
// is not nil, in order.
func appendOptTimes(b []byte, ts ...optTime) ([]byte, error) {
	var err error
	for _, t := range ts {
		if t.t == nil {
			continue
		}
		b = append(b, t.key...)
		if b, err = appendJSONTime(b, *t.t); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// appendJSONString appends s as encoding/json writes a string: plain
// printable ASCII as it is, anything else (escapes, HTML characters,
// control characters, non-ASCII) through encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONTime appends t as time.Time.MarshalJSON does.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		q, err := t.MarshalJSON() // its error, as encoding/json would report it
		if err != nil {
			return nil, err
		}
		return append(b, q...), nil
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}
