package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// configJSON is the wire form of Config. Pointers tell a field that is
// absent (or null) from one that is present but empty.
type configJSON struct {
	Strategy   *Strategy         `json:"strategy"`
	StageWIP   *map[string]int   `json:"stage_wip"`
	BucketWIP  *map[string]int   `json:"bucket_wip"`
	Mix        *map[string]int   `json:"leveling_mix"`
	Delegation *[]DelegationRule `json:"delegation"`
	Pipelines  *[]Pipeline       `json:"pipelines"`
	Adaptive   *AdaptiveConfig   `json:"adaptive"`
}

// MarshalJSON encodes c with stable snake_case names:
//
//	{"strategy":"priority","stage_wip":{"code":5,...},"bucket_wip":{...},
//	 "leveling_mix":{"reliability":40,...},"delegation":[{"pattern":...,"agent_type":...}],
//	 "pipelines":[{"name":...,"stages":[...]}],
//	 "adaptive":{"deadline_risk_percent":25,"long_queue_factor":4}}
//
// Every field is written, nil maps and slices as {} and [] and an empty
// strategy as "priority", so the encoding says exactly what the config
// does and decodes back to an equivalent Config. Map keys are sorted, so
// equal configs encode to equal bytes.
func (c Config) MarshalJSON() ([]byte, error) {
	c = c.Clone()
	if c.StageWIP == nil {
		c.StageWIP = map[string]int{}
	}
	if c.BucketWIP == nil {
		c.BucketWIP = map[string]int{}
	}
	if c.Mix == nil {
		c.Mix = map[string]int{}
	}
	if c.Delegation == nil {
		c.Delegation = []DelegationRule{}
	}
	if c.Pipelines == nil {
		c.Pipelines = []Pipeline{}
	}
	for i := range c.Pipelines {
		if c.Pipelines[i].Stages == nil {
			c.Pipelines[i].Stages = []PipelineStage{}
		}
	}
	s := c.Strategy.orElseDefault()
	return json.Marshal(configJSON{
		Strategy:   &s,
		StageWIP:   &c.StageWIP,
		BucketWIP:  &c.BucketWIP,
		Mix:        &c.Mix,
		Delegation: &c.Delegation,
		Pipelines:  &c.Pipelines,
		Adaptive:   &c.Adaptive,
	})
}

// UnmarshalJSON decodes a config. A field that is absent or null takes its
// DefaultConfig value; a field that is present replaces the default whole
// (an empty "stage_wip": {} means no stage limits, not the defaults). Unknown
// fields are ignored, so a node can read a config written by a newer
// version; use ParseConfig for input from people, which refuses them and
// validates. UnmarshalJSON does not validate.
func (c *Config) UnmarshalJSON(data []byte) error {
	var w configJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	*c = w.apply()
	return nil
}

func (w *configJSON) apply() Config {
	c := DefaultConfig()
	if w.Strategy != nil {
		c.Strategy = *w.Strategy
	}
	if w.StageWIP != nil {
		c.StageWIP = nonNilMap(*w.StageWIP)
	}
	if w.BucketWIP != nil {
		c.BucketWIP = nonNilMap(*w.BucketWIP)
	}
	if w.Mix != nil {
		c.Mix = nonNilMap(*w.Mix)
	}
	if w.Delegation != nil {
		c.Delegation = *w.Delegation
	}
	if w.Pipelines != nil {
		c.Pipelines = *w.Pipelines
	}
	if w.Adaptive != nil {
		c.Adaptive = *w.Adaptive
	}
	return c
}

func nonNilMap(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

// ParseConfig decodes and validates a config given by a person or a
// script (hive scheduler set). Fields left out take their DefaultConfig
// values; the strategy name is case-insensitive and stored canonical;
// unknown fields, trailing data and invalid values are errors wrapping
// ErrInvalidConfig.
func ParseConfig(data []byte) (Config, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w configJSON
	if err := dec.Decode(&w); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Config{}, fmt.Errorf("%w: trailing data after the JSON object", ErrInvalidConfig)
	}
	c := w.apply()
	if s, err := ParseStrategy(string(c.Strategy)); err == nil {
		c.Strategy = s // accept "FIFO" or " fifo " from people, store the canonical name
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}
