package fsm

// Bodies of the scheduling commands, shared by the command codec, the
// snapshot's scheduler config record and SchedulerConfigDigest. The
// layout is documented on SchedulerConfigDigest.

func encSchedulerConfig(w *wbuf, c *SchedulerConfig) {
	w.str(c.Strategy)
	encIntMap(w, c.StageWIP)
	encIntMap(w, c.BucketWIP)
	encIntMap(w, c.Mix)
	w.uvarint(uint64(len(c.Rules)))
	for _, r := range c.Rules {
		w.str(r.Pattern)
		w.str(r.AgentType)
	}
	w.uvarint(uint64(len(c.Pipelines)))
	for i := range c.Pipelines {
		p := &c.Pipelines[i]
		w.str(p.Name)
		w.uvarint(uint64(len(p.Stages)))
		for _, s := range p.Stages {
			w.str(s.Name)
			w.str(s.AgentType)
			w.str(s.Stage)
			w.varint(s.Effort)
		}
	}
	// AutoAndon is a trailing section, written only when not empty: a
	// config without it encodes (and digests) as it did before the field
	// existed, and entries and snapshots written then still decode.
	if len(c.AutoAndon) > 0 {
		w.strs(c.AutoAndon)
	}
}

// decSchedulerConfig reads what encSchedulerConfig wrote. Empty maps and
// lists decode as nil.
func decSchedulerConfig(r *rbuf) SchedulerConfig {
	var c SchedulerConfig
	c.Strategy = r.str()
	c.StageWIP = decIntMap(r)
	c.BucketWIP = decIntMap(r)
	c.Mix = decIntMap(r)
	if n := r.count(2); n > 0 {
		c.Rules = make([]DelegationRule, n)
		for i := 0; i < n && r.err == nil; i++ {
			c.Rules[i] = DelegationRule{Pattern: r.str(), AgentType: r.str()}
		}
	}
	if n := r.count(2); n > 0 {
		c.Pipelines = make([]PipelineTemplate, n)
		for i := 0; i < n && r.err == nil; i++ {
			p := &c.Pipelines[i]
			p.Name = r.str()
			if m := r.count(4); m > 0 {
				p.Stages = make([]PipelineStage, m)
				for k := 0; k < m && r.err == nil; k++ {
					p.Stages[k] = PipelineStage{Name: r.str(), AgentType: r.str(), Stage: r.str(), Effort: r.varint()}
				}
			}
		}
	}
	if len(r.b) > 0 && r.err == nil {
		c.AutoAndon = r.nameList()
		if len(c.AutoAndon) == 0 {
			r.fail("empty auto andon section")
		}
	}
	return c
}

// encIntMap writes m's entries in increasing key order.
func encIntMap(w *wbuf, m map[string]int) {
	keys := sortedIntKeys(m)
	w.uvarint(uint64(len(keys)))
	for _, k := range keys {
		w.str(k)
		w.varint(int64(m[k]))
	}
}

// decIntMap requires keys in strictly increasing order, which rules out
// duplicates and keeps the encoding canonical.
func decIntMap(r *rbuf) map[string]int {
	n := r.count(2)
	if n == 0 {
		return nil
	}
	m := make(map[string]int, n)
	prev := ""
	for i := 0; i < n && r.err == nil; i++ {
		k := r.str()
		if i > 0 && k <= prev {
			r.fail("map keys not in strictly increasing order")
		}
		prev = k
		v := r.varint()
		if int64(int(v)) != v {
			r.fail("map value %d out of range", v)
		}
		m[k] = int(v)
	}
	return m
}

func encRunPipeline(w *wbuf, c *RunPipeline) {
	w.str(c.Pipeline)
	w.str(c.Title)
	w.str(c.Description)
	w.str(c.Bucket)
	w.byte1(byte(c.Priority))
	w.strs(c.Labels)
	w.bytes(c.Payload)
	w.varint(c.Deadline)
}

func decRunPipeline(r *rbuf, c *RunPipeline) {
	c.Pipeline = r.name()
	c.Title = r.str()
	c.Description = r.str()
	c.Bucket = r.name()
	c.Priority = Priority(r.byte1())
	c.Labels = r.nameList()
	c.Payload = r.bytes()
	c.Deadline = r.varint()
}
