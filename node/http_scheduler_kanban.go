package node

import (
	"net/http"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// Kanban board limits: each state of a column lists defaultKanbanLimit
// work orders unless ?limit= asks for another number, at most
// fsm.MaxListLimit; the counts always cover all of them.
const defaultKanbanLimit = 50

// kanbanStates are the lanes of a kanban column, in flow order: the
// states of unfinished work.
var kanbanStates = [...]fsm.State{
	fsm.StateBlocked, fsm.StateQueued, fsm.StateInProgress, fsm.StateReview, fsm.StateTesting,
}

// kanban handles GET /v1/kanban.
func (s *httpServer) kanban(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkQuery(q, "limit", "stale"); err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	limit, err := parseLimit(q, defaultKanbanLimit, fsm.MaxListLimit)
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	v := s.view(w, r)
	if v == nil {
		return
	}
	writeJSON(w, http.StatusOK, kanbanBoard(v, limit))
}

// kanbanBoard lays out the unfinished work orders of v: a column per
// stage (see api.KanbanBoard for the order), at most limit work orders
// per state of a column, oldest first. It walks the unfinished work
// orders once and converts only those it lists.
func kanbanBoard(v *fsm.View, limit int) *api.KanbanBoard {
	cfg := v.SchedulerConfig()
	active := v.ActiveCounts()
	board := &api.KanbanBoard{Columns: []*api.KanbanColumn{}, Index: v.Index()}
	for _, st := range kanbanStates {
		board.States = append(board.States, string(st))
	}
	cols := make(map[string]*api.KanbanColumn)
	column := func(stage string) *api.KanbanColumn {
		c := cols[stage]
		if c == nil {
			c = &api.KanbanColumn{Stage: stage, Limit: cfg.StageWIP[stage], InFlight: active.Stages[stage],
				Counts: make(map[string]int, len(kanbanStates)), WorkOrders: make(map[string][]*api.WorkOrder, len(kanbanStates))}
			for _, st := range kanbanStates {
				c.Counts[string(st)] = 0
				c.WorkOrders[string(st)] = []*api.WorkOrder{}
			}
			cols[stage] = c
		}
		return c
	}
	var seen []string
	for _, wo := range v.Unfinished() {
		if _, ok := cols[wo.Stage]; !ok && wo.Stage != "" {
			seen = append(seen, wo.Stage)
		}
		c := column(wo.Stage)
		st := string(wo.State)
		c.Counts[st]++
		if len(c.WorkOrders[st]) < limit {
			c.WorkOrders[st] = append(c.WorkOrders[st], workOrderToAPI(wo))
		}
		if wo.Stage == "" && inFlight(wo.State) {
			c.InFlight++
		}
	}
	for _, stage := range stageOrder(cfg, keys(cfg.StageWIP), keys(active.Stages), seen) {
		board.Columns = append(board.Columns, column(stage))
	}
	if c, ok := cols[""]; ok {
		board.Columns = append(board.Columns, c)
	}
	return board
}

// inFlight reports whether st counts against WIP limits.
func inFlight(st fsm.State) bool {
	return st == fsm.StateInProgress || st == fsm.StateReview || st == fsm.StateTesting
}
