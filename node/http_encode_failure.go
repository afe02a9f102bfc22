package node

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/hive-swarm/hive/api"
)

// appendWorkOrderFailureJSON appends the pipeline and failure-handling
// fields of w (api.WorkOrder's fields after ModifyIndex) as
// json.Marshal writes them; appendWorkOrderJSON calls it last.
func appendWorkOrderFailureJSON(b []byte, w *api.WorkOrder) ([]byte, error) {
	b = appendOptString(b, `,"pipeline":`, w.Pipeline)
	b = appendOptString(b, `,"pipeline_step":`, w.PipelineStep)
	if w.Retry != nil {
		b = append(b, `,"retry":`...)
		var err error
		if b, err = appendRetryJSON(b, w.Retry); err != nil {
			return nil, err
		}
	}
	if w.Retries != 0 {
		b = append(b, `,"retries":`...)
		b = strconv.AppendUint(b, uint64(w.Retries), 10)
	}
	var err error
	if b, err = appendOptTimes(b, optTime{`,"not_before":`, w.NotBefore}); err != nil {
		return nil, err
	}
	b = appendOptString(b, `,"last_reason":`, w.LastReason)
	b = appendOptString(b, `,"andon":`, w.Andon)
	b = appendOptString(b, `,"fix_for":`, w.FixFor)
	return appendOptTimes(b, optTime{`,"sla_warned":`, w.SLAWarned}, optTime{`,"sla_breached":`, w.SLABreached},
		optTime{`,"predicted_finish":`, w.PredictedFinish})
}

// appendRetryJSON appends p as json.Marshal does. Factors outside the
// range where encoding/json writes plain decimals go through it.
func appendRetryJSON(b []byte, p *api.RetryPolicy) ([]byte, error) {
	if abs := math.Abs(p.Factor); p.Factor != 0 && (math.IsNaN(abs) || abs < 1e-6 || abs >= 1e21) {
		q, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		return append(b, q...), nil
	}
	b = append(b, '{')
	start := len(b)
	sep := func() {
		if len(b) > start {
			b = append(b, ',')
		}
	}
	if p.MaxAttempts != 0 {
		sep()
		b = append(b, `"max_attempts":`...)
		b = strconv.AppendInt(b, int64(p.MaxAttempts), 10)
	}
	if p.InitialDelay != "" {
		sep()
		b = appendJSONString(append(b, `"initial_delay":`...), p.InitialDelay)
	}
	if p.Factor != 0 {
		sep()
		b = strconv.AppendFloat(append(b, `"factor":`...), p.Factor, 'f', -1, 64)
	}
	if p.MaxDelay != "" {
		sep()
		b = appendJSONString(append(b, `"max_delay":`...), p.MaxDelay)
	}
	return append(b, '}'), nil
}
