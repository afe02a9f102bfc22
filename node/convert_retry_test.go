package node

import "testing"

// FuzzCreateRetry checks that a retry policy the API accepts is one the
// state machine accepts, and that everything else is a 400.
func FuzzCreateRetry(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"max_attempts":1}`, `{"max_attempts":100,"initial_delay":"168h","factor":10,"max_delay":"168h"}`,
		`{"initial_delay":"2m"}`, `{"max_delay":"1s"}`, `{"initial_delay":"1ms","max_delay":"1ns"}`,
		`{"factor":1.005}`, `{"factor":9.99}`, `{"factor":1e300}`, `{"factor":-2}`, `{"max_attempts":101}`,
		`{"initial_delay":"1.5h"}`, `{"max_delay":"0s"}`, `null`,
	} {
		f.Add([]byte(`{"title":"x","retry":` + s + `}`))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, cmd := checkCreate(t, body, decodeCreateJSON)
		if req == nil || req.Retry == nil {
			return
		}
		// What was accepted comes back as it was meant.
		got := retryToAPI(cmd.Spec.Retry.WithDefaults())
		if req.Retry.MaxAttempts != 0 && got.MaxAttempts != req.Retry.MaxAttempts ||
			req.Retry.Factor != 0 && got.Factor != float64(cmd.Spec.Retry.Factor)/100 {
			t.Fatalf("policy %+v became %+v", req.Retry, got)
		}
	})
}
