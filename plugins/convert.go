package plugins

import (
	"fmt"
	"time"

	pb "github.com/hive-swarm/hive/plugins/proto"
)

// This file converts between the Go types and their protobuf form. Both
// sides of the protocol use it: the host in Client, plugins in the SDK.

// Proto returns t as its protobuf message.
func (t *Task) Proto() *pb.Task {
	p := &pb.Task{
		WorkOrderId: t.WorkOrderID,
		Attempt:     t.Attempt,
		Title:       t.Title,
		Description: t.Description,
		AgentType:   t.AgentType,
		Payload:     t.Payload,
		Labels:      t.Labels,
		Config:      t.Config,
	}
	if !t.Deadline.IsZero() {
		p.DeadlineUnixNano = t.Deadline.UnixNano()
	}
	return p
}

// TaskFromProto returns the task p carries.
func TaskFromProto(p *pb.Task) *Task {
	t := &Task{
		WorkOrderID: p.GetWorkOrderId(),
		Attempt:     p.GetAttempt(),
		Title:       p.GetTitle(),
		Description: p.GetDescription(),
		AgentType:   p.GetAgentType(),
		Payload:     p.GetPayload(),
		Labels:      p.GetLabels(),
		Config:      p.GetConfig(),
	}
	if n := p.GetDeadlineUnixNano(); n != 0 {
		t.Deadline = time.Unix(0, n)
	}
	return t
}

// Proto returns r as its protobuf message.
func (r *Result) Proto() *pb.Result {
	p := &pb.Result{
		ExitStatus: int32(r.ExitStatus),
		Outputs:    r.Outputs,
		Message:    r.Message,
	}
	if !r.LogDigest.IsZero() {
		p.LogDigest = r.LogDigest[:]
	}
	if !r.EvidenceDigest.IsZero() {
		p.EvidenceDigest = r.EvidenceDigest[:]
	}
	for _, a := range r.Artifacts {
		p.Artifacts = append(p.Artifacts, &pb.Artifact{
			Name:      a.Name,
			Path:      a.Path,
			Size:      uint64(a.Size),
			Sha256:    a.SHA256[:],
			MediaType: a.MediaType,
		})
	}
	return p
}

// ResultFromProto returns the result p carries; malformed digests are an
// error.
func ResultFromProto(p *pb.Result) (*Result, error) {
	r := &Result{
		ExitStatus: int(p.GetExitStatus()),
		Outputs:    p.GetOutputs(),
		Message:    p.GetMessage(),
	}
	var err error
	if r.LogDigest, err = digestFromBytes(p.GetLogDigest()); err != nil {
		return nil, fmt.Errorf("log digest: %w", err)
	}
	if r.EvidenceDigest, err = digestFromBytes(p.GetEvidenceDigest()); err != nil {
		return nil, fmt.Errorf("evidence digest: %w", err)
	}
	for _, a := range p.GetArtifacts() {
		d, err := digestFromBytes(a.GetSha256())
		if err != nil {
			return nil, fmt.Errorf("artifact %q: %w", a.GetName(), err)
		}
		r.Artifacts = append(r.Artifacts, Artifact{
			Name:      a.GetName(),
			Path:      a.GetPath(),
			Size:      int64(a.GetSize()),
			SHA256:    d,
			MediaType: a.GetMediaType(),
		})
	}
	return r, nil
}

// Proto returns d as its protobuf message (ProtocolVersion is not sent:
// the handshake carries it).
func (d *Description) Proto() *pb.DescribeResponse {
	p := &pb.DescribeResponse{Name: d.Name, Version: d.Version, Features: d.Features}
	for _, t := range d.Types {
		p.Types = append(p.Types, &pb.AgentType{
			Name:           t.Name,
			Description:    t.Description,
			Capabilities:   t.Capabilities,
			ConfigSchema:   t.ConfigSchema,
			MaxConcurrency: uint32(t.MaxConcurrency),
		})
	}
	return p
}

// DescriptionFromProto returns the description p carries.
func DescriptionFromProto(p *pb.DescribeResponse) *Description {
	d := &Description{Name: p.GetName(), Version: p.GetVersion(), Features: p.GetFeatures()}
	for _, t := range p.GetTypes() {
		d.Types = append(d.Types, AgentType{
			Name:           t.GetName(),
			Description:    t.GetDescription(),
			Capabilities:   t.GetCapabilities(),
			ConfigSchema:   t.GetConfigSchema(),
			MaxConcurrency: int(t.GetMaxConcurrency()),
		})
	}
	return d
}

// eventFromProto converts a progress or log event; ok is false for a
// result or an empty event.
func eventFromProto(p *pb.ExecuteEvent) (ev Event, ok bool) {
	ev = Event{Seq: p.GetSeq(), Time: time.Unix(0, p.GetTimeUnixNano())}
	switch e := p.GetEvent().(type) {
	case *pb.ExecuteEvent_Progress:
		ev.Kind = EventProgress
		ev.Progress = Progress{Stage: e.Progress.GetStage(), Percent: e.Progress.GetPercent(), Message: e.Progress.GetMessage()}
		return ev, true
	case *pb.ExecuteEvent_Log:
		ev.Kind = EventLog
		ev.Log = LogLine{Stream: Stream(e.Log.GetStream()), Line: e.Log.GetLine()}
		return ev, true
	}
	return ev, false
}
