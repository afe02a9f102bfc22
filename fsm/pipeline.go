package fsm

import (
	"strings"
	"unicode/utf8"
)

// Pipeline runs. RunPipeline instantiates a template in one Apply, so a
// run is created whole or not at all:
//
//   - the run: a parent work order with the request's title, description,
//     bucket, priority, labels, payload and deadline, Pipeline = the
//     template name, no Kind, Stage or Effort. It depends on every stage
//     and has them as children, so it is blocked (never queued, never in
//     flight, never scheduled) until all of them have completed; then it
//     completes by itself in the same Apply (receipt completed, from
//     blocked), and whatever depends on the run unblocks. A stage that
//     fails or is cancelled leaves the run blocked with the reason
//     dependency_failed:WO-n (or dependency_cancelled:…); cancelling the
//     run cancels its unfinished stages.
//   - the stages: one work order per template stage, in order, children
//     of the run, each depending on the one before, so only the first is
//     queued. Each gets the request's fields and Kind = the stage's agent
//     type, Stage = its WIP stage (PipelineStage.WIPStage), Effort,
//     Pipeline, PipelineStep = the stage's name, and the title
//     "<title> (<stage name>)".
//
// The run's IDs are consecutive: the run is WO-n, its stages WO-n+1 … in
// order. Result.WorkOrder is the run and Result.IDs the stages. To keep
// "completes when its stages do" true, a run takes no new sub-work orders
// and its edges to its stages cannot be removed (ErrInvalidTransition);
// edges between stages can, which lets later stages run earlier.

// isPipelineRun reports whether wo is the parent work order of a pipeline
// run.
func isPipelineRun(wo *WorkOrder) bool { return wo.Pipeline != "" && wo.PipelineStep == "" }

// applyRunPipeline creates a pipeline run (see above). An unknown template
// is ErrNotFound.
func applyRunPipeline(t *tx, c Command) *Error {
	rp := c.(*RunPipeline)
	cfg := t.s.sched.cfg
	tpl, ok := cfg.Pipeline(rp.Pipeline)
	if !ok {
		have := make([]string, len(cfg.Pipelines))
		for i := range cfg.Pipelines {
			have[i] = cfg.Pipelines[i].Name
		}
		return Errorf(ErrNotFound, "pipeline %q not found (have: %s)", rp.Pipeline, strings.Join(have, ", "))
	}
	spec := WorkOrderSpec{Title: rp.Title, Bucket: rp.Bucket, Priority: rp.Priority, Labels: rp.Labels}
	base := WorkOrder{
		Description: rp.Description,
		Bucket:      DeriveBucket(&spec),
		Priority:    DerivePriority(&spec),
		Labels:      normLabels(rp.Labels),
		Payload:     rp.Payload,
		Pipeline:    tpl.Name,
		CreatedAt:   t.now,
		UpdatedAt:   t.now,
		Deadline:    rp.Deadline,
		CreateIndex: t.index,
		ModifyIndex: t.index,
		Retry:       DefaultRetryPolicy(),
	}
	if base.Deadline == 0 {
		base.Deadline = t.slaDeadline(base.Bucket)
	}
	n := len(tpl.Stages)
	runSeq := t.woSeq + 1
	ids := stageIDs(runSeq, n)
	run := base
	run.ID, run.Seq, run.Title = FormatID(runSeq), runSeq, rp.Title
	run.DependsOn = ids
	run.Children = append([]string(nil), ids...)
	run.State, run.BlockedReason = StateBlocked, ReasonDependencies
	t.create(&run)
	t.receipt(&run, EventCreated, "", "", nil)
	for i, st := range tpl.Stages {
		wo := base
		wo.ID, wo.Seq = ids[i], runSeq+1+uint64(i)
		wo.Title = rp.Title + " (" + st.Name + ")"
		wo.Kind, wo.Stage, wo.Effort, wo.PipelineStep = st.AgentType, st.WIPStage(), st.Effort, st.Name
		wo.Parent = run.ID
		wo.Dependents = []string{run.ID}
		if i+1 < n {
			wo.Dependents = append(wo.Dependents, ids[i+1])
		}
		wo.State = StateQueued
		if i > 0 {
			wo.DependsOn = ids[i-1 : i : i]
			wo.State, wo.BlockedReason = StateBlocked, ReasonDependencies
		}
		t.create(&wo)
		t.receipt(&wo, EventCreated, "", "", nil)
	}
	t.woSeq = runSeq + uint64(n)
	t.resWO = &run
	t.resIDs = append([]string(nil), ids...)
	t.count = n
	return nil
}

// finishRun completes the pipeline run m (writable, blocked) whose
// dependencies, its stages among them, have all completed, and settles
// its dependents.
func (t *tx) finishRun(m *WorkOrder) {
	m.State, m.BlockedReason = StateCompleted, ""
	m.CompletedAt = t.now
	t.receipt(m, EventCompleted, StateBlocked, "", nil)
	t.settle(m)
}

// stageIDs returns the IDs of the n stages of the run with sequence
// number run (for an idempotent replay of RunPipeline).
func stageIDs(run uint64, n int) []string {
	if run == 0 || n <= 0 {
		return nil
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = FormatID(run + 1 + uint64(i))
	}
	return ids
}

// validateRunPipeline checks a RunPipeline without the state; the stage
// titles "<title> (<stage name>)" must fit MaxTitleLen, hence the shorter
// MaxPipelineTitleLen.
func validateRunPipeline(rp *RunPipeline) *Error {
	if msg := checkConfigName(rp.Pipeline); msg != "" {
		return Errorf(ErrInvalidArgument, "pipeline: %s", msg)
	}
	if n := utf8.RuneCountInString(rp.Title); n > MaxPipelineTitleLen {
		return Errorf(ErrInvalidArgument, "title: %d characters (max %d for a pipeline run)", n, MaxPipelineTitleLen)
	}
	return validateSpec(&WorkOrderSpec{Title: rp.Title, Description: rp.Description, Bucket: rp.Bucket,
		Priority: rp.Priority, Labels: rp.Labels, Payload: rp.Payload, Deadline: rp.Deadline})
}
