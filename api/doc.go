// Package api is the Go client for Hive's HTTP API and holds its JSON types.
// It imports nothing else of Hive, so programs can use it without pulling in
// the server.
//
// Routes (every node answers all of them; writes on a follower are
// forwarded to the leader; reads are linearizable unless ?stale is given):
//
//	POST   /v1/workorders                         CreateWorkOrderRequest -> 201 WorkOrder
//	GET    /v1/workorders                         ?state=&bucket=&priority=&type=&label=&parent=&after=&limit= -> WorkOrderList
//	GET    /v1/workorders/{id}                    -> WorkOrder
//	POST   /v1/workorders/{id}/{action}           action: start|advance|progress|complete|fail|cancel; TransitionRequest -> WorkOrder
//	POST   /v1/workorders/{id}/dependencies       DependencyRequest -> WorkOrder (adds edges)
//	DELETE /v1/workorders/{id}/dependencies       DependencyRequest -> WorkOrder (removes edges)
//	GET    /v1/queue                              ?bucket=&limit= -> WorkOrderList, queued work orders in run order
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
//	    children_unfinished, wip_limit
//	413 body_too_large (bodies are limited to 1 MiB)
//	503 no_leader, timeout
//	500 internal
package api
