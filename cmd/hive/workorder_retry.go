package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/hive-swarm/hive/api"
	"github.com/urfave/cli/v2"
)

// maxRetries is the most --retries accepts (the server allows 100
// attempts).
const maxRetries = 99

// retryPolicy builds the retry policy of "wo create" from --retries,
// --retry-delay, --retry-factor and --retry-max, or nil when none is
// given (the server's defaults apply). --retries N means N retries after
// the first attempt: max_attempts N+1.
func retryPolicy(c *cli.Context) (*api.RetryPolicy, error) {
	if !c.IsSet("retries") && !c.IsSet("retry-delay") && !c.IsSet("retry-factor") && !c.IsSet("retry-max") {
		return nil, nil
	}
	p := &api.RetryPolicy{}
	if c.IsSet("retries") {
		n := c.Int("retries")
		if n < 0 || n > maxRetries {
			return nil, invalidf("--retries: %d is not between 0 and %d", n, maxRetries)
		}
		p.MaxAttempts = n + 1
	}
	for _, d := range []struct {
		flag string
		dst  *string
	}{{"retry-delay", &p.InitialDelay}, {"retry-max", &p.MaxDelay}} {
		if !c.IsSet(d.flag) {
			continue
		}
		v := c.Duration(d.flag)
		if v <= 0 {
			return nil, invalidf("--%s: %s is not a positive duration", d.flag, v)
		}
		*d.dst = v.String()
	}
	if c.IsSet("retry-factor") {
		f := c.Float64("retry-factor")
		if math.IsNaN(f) || f < 1 || f > 10 {
			return nil, invalidf("--retry-factor: %v is not between 1 and 10", f)
		}
		p.Factor = f
	}
	return p, nil
}

// retryText renders a retry policy: "3 attempts, backoff 1s ×2 up to 1m0s".
func retryText(p *api.RetryPolicy) string {
	if p == nil {
		return ""
	}
	if p.MaxAttempts == 1 {
		return "1 attempt (no retries)"
	}
	return fmt.Sprintf("%d attempts, backoff %s ×%v up to %s", p.MaxAttempts, p.InitialDelay, p.Factor, p.MaxDelay)
}

// addFailureFields adds the pipeline, retry, andon and SLA lines of "wo
// show", leaving out those that do not apply.
func addFailureFields(f *fields, wo *api.WorkOrder) {
	if wo.Pipeline != "" {
		f.add("Pipeline", strings.TrimSuffix(wo.Pipeline+" / "+wo.PipelineStep, " / "))
	}
	f.add("Retry", retryText(wo.Retry))
	if wo.Retries > 0 {
		f.add("Retries", wo.Retries)
	}
	if wo.NotBefore != nil && wo.NotBefore.After(now()) {
		f.add("Not before", stamp(*wo.NotBefore))
	}
	if wo.LastReason != "" {
		f.add("Last reason", wo.LastReason)
	}
	if wo.Andon != "" {
		f.add("Quarantined by", wo.Andon)
	}
	if wo.FixFor != "" {
		f.add("Fix for", wo.FixFor)
	}
	if wo.SLABreached != nil {
		f.add("SLA", "breached (deadline "+stamp(*wo.SLABreached)+")")
	} else if wo.SLAWarned != nil {
		f.add("SLA", "warning (deadline "+stamp(*wo.SLAWarned)+")")
	}
	if wo.PredictedFinish != nil {
		f.add("Predicted finish", stamp(*wo.PredictedFinish))
	}
}
