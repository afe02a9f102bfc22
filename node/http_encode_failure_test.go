package node

import (
	"math"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

func TestAppendWorkOrderFailureJSONMatchesEncodingJSON(t *testing.T) {
	ts := time.Date(2026, 3, 4, 5, 6, 7, 890123000, time.UTC)
	for name, w := range map[string]*api.WorkOrder{
		"none": {ID: "WO-1"},
		"full": {ID: "WO-2", Pipeline: "default", PipelineStep: "plan <x>",
			Retry:   &api.RetryPolicy{MaxAttempts: 5, InitialDelay: "1s", Factor: 1.25, MaxDelay: "1m0s"},
			Retries: 4, NotBefore: &ts, LastReason: "exit \"1\"", Andon: "AN-1", FixFor: "AN-2",
			SLAWarned: &ts, SLABreached: &ts, PredictedFinish: &ts},
		"empty retry":   {Retry: &api.RetryPolicy{}},
		"only factor":   {Retry: &api.RetryPolicy{Factor: 10}},
		"only max":      {Retry: &api.RetryPolicy{MaxDelay: "2h"}},
		"tiny factor":   {Retry: &api.RetryPolicy{Factor: 1e-9, MaxAttempts: -1}},
		"huge factor":   {Retry: &api.RetryPolicy{Factor: -3e22}},
		"odd decimals":  {Retry: &api.RetryPolicy{Factor: 0.1 + 0.2}},
		"max attempts":  {Retry: &api.RetryPolicy{MaxAttempts: math.MaxInt}},
		"retries max":   {Retries: math.MaxUint32},
		"not before 0":  {NotBefore: &time.Time{}},
		"sla only warn": {SLAWarned: &ts},
	} {
		t.Run(name, func(t *testing.T) { checkWorkOrderJSON(t, w) })
	}
	if _, err := appendWorkOrderJSON(nil, &api.WorkOrder{Retry: &api.RetryPolicy{Factor: math.NaN()}}); err == nil {
		t.Fatal("a NaN factor encoded")
	}
}
