// Package api is the Go client for Hive's HTTP API and holds its JSON types.
// It imports nothing else of Hive, so programs can use it without pulling in
// the server.
//
// Routes (every node answers all of them; writes on a follower are
// forwarded to the leader; reads are linearizable unless ?stale is given):
//
//	POST   /v1/workorders                         CreateWorkOrderRequest -> 201 WorkOrder
//	POST   /v1/workorders/batch                   CreateWorkOrderBatchRequest -> 201 CreateWorkOrderBatchResponse (one raft entry)
//	GET    /v1/workorders                         ?state=&bucket=&priority=&type=&label=&parent=&after=&limit= -> WorkOrderList
//	GET    /v1/workorders/{id}                    -> WorkOrder
//	POST   /v1/workorders/{id}/{action}           action: start|advance|progress|complete|fail|cancel; TransitionRequest -> WorkOrder (204 with Prefer: return=minimal)
//	POST   /v1/workorders/{id}/dependencies       DependencyRequest -> WorkOrder (adds edges)
//	DELETE /v1/workorders/{id}/dependencies       DependencyRequest -> WorkOrder (removes edges)
//	GET    /v1/workorders/{id}/explain            -> Explanation (why it is not running: one Reason per cause)
//	GET    /v1/queue                              ?bucket=&limit= -> WorkOrderList, queued work orders in run order
//	POST   /v1/andon                              TriggerAndonRequest -> 201 Andon (quarantines the work order, stops
//	                                              its bucket or pipeline, creates the fix work order fix_work_order)
//	GET    /v1/andon                              ?state=open|resolved|all (default open) -> AndonList (andons, stopped_lines)
//	GET    /v1/andon/{id}                         -> Andon
//	PATCH  /v1/andon/{id}                         UpdateAndonRequest -> Andon (edits the whys and root cause)
//	POST   /v1/andon/{id}/resolve                 ResolveAndonRequest -> Andon (resumes the line, ends the quarantine)
//	GET    /v1/scheduler                          -> SchedulerStatus (config in force, its digest, WIP in flight per stage and bucket)
//	PUT    /v1/scheduler                          SetSchedulerConfigRequest -> SchedulerStatus (replaces the config; absent fields take defaults)
//	GET    /v1/pipelines                          -> PipelineList (templates of the config in force)
//	GET    /v1/pipelines/{name}                   -> Pipeline
//	POST   /v1/pipelines/{name}/runs              RunPipelineRequest -> 201 PipelineRun (the run and its stage work orders)
//	GET    /v1/kanban                             ?limit= -> KanbanBoard (unfinished work per stage and state, with WIP limits)
//	GET    /v1/receipts                           ?workorder=&hash=&since=&until=&from=&limit= -> ReceiptList
//	GET    /v1/receipts/{seq}                     -> Receipt
//	GET    /v1/receipts/verify                    ?from=&to= -> VerifyReport (ok=false when the chain is broken)
//	GET    /v1/receipts/export                    ?from=&to= -> JSON Lines, one Receipt per line
//	PUT    /v1/memory/{namespace}/{key}           MemoryPutRequest -> MemoryEntry
//	GET    /v1/memory/{namespace}/{key}           -> MemoryEntry
//	DELETE /v1/memory/{namespace}/{key}           -> 204
//	GET    /v1/memory/{namespace}                 ?prefix=&pattern= -> MemoryList
//	GET    /v1/memory                             ?namespace= -> MemoryList (export)
//	POST   /v1/memory                             MemoryImportRequest -> MemoryImportResult (import)
//	GET    /v1/members                            -> MemberList
//	GET    /v1/status                             -> Status
//	PUT    /v1/agent/join                         ?address=HOST:PORT (repeatable) -> 200; this node joins those gossip addresses
//	PUT    /v1/agent/leave                        -> 200; this node leaves the cluster gracefully and shuts down
//	GET    /v1/agent/logs                         ?n= -> text/plain: this node's recent log lines (info and above), oldest first
//	GET    /v1/events                             ?topic=&workorder=&index=&after=&heartbeat= -> Server-Sent Events, or
//	                                              JSON Lines with Accept: application/x-ndjson; resumes with Last-Event-ID
//	GET    /api/stream                            the same stream, for the dashboard
//	GET    /api/health                            -> Health (200 when ready, 503 with the same body when not)
//	GET    /api/metrics/summary                   -> MetricsSummary (counts by state, bucket and stage; WIP; members)
//	GET    /metrics                               Prometheus text exposition (hive_ prefix)
//
// Durations in bodies (ttl, retry.initial_delay, retry.max_delay) are Go
// duration strings such as "1m30s"; effort is whole seconds.
//
// since/until take RFC 3339 times or Unix nanoseconds. Every answer that
// reads state carries the X-Hive-Index header (the raft index it reflects).
// Writes accept an Idempotency-Key header (or request_id in the body): a
// retry with the same key is answered with the first outcome.
//
// Errors are {"error":{"code":"…","message":"…"}} with these stable codes:
//
//	400 bad_json, unknown_field, invalid_argument
//	404 not_found, no_route
//	405 method_not_allowed
//	409 invalid_transition, blocked_by_dependencies, already_started,
//	    stale_attempt, cycle (with "cycle":[ids]), self_dependency,
//	    children_unfinished, wip_limit, config_changed (PUT /v1/scheduler
//	    with a check_digest that is no longer the config in force),
//	    line_stopped (an open andon stops the work order's bucket or pipeline)
//	413 body_too_large (bodies are limited to 1 MiB)
//	503 no_leader, timeout
//	500 internal
package api
