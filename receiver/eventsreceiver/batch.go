package eventsreceiver // import "github.com/otelcol-events/otelcol-events/receiver/eventsreceiver"

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/httpapi"
)

type itemResult struct {
	Index  int                  `json:"index"`
	Status int                  `json:"status"`
	ID     string               `json:"id,omitempty"`
	Error  *httpapi.ErrorDetail `json:"error,omitempty"`
}

type batchResponse struct {
	Accepted int          `json:"accepted"`
	Rejected int          `json:"rejected"`
	Results  []itemResult `json:"results"`
}

// handleBatch accepts a JSON array or NDJSON of operations. Invalid items are
// rejected one by one; the valid ones go to the pipeline together, so a
// refusal (429/503) means none of them was acknowledged. It names the ids
// the items were given: in front of the kafka exporter a batch whose caller
// gave up may still be sent, and a retry with those ids stores nothing
// twice.
func (r *eventsReceiver) handleBatch(w http.ResponseWriter, req *http.Request) {
	if r.batchSlots != nil {
		if !r.acquireBatchSlot(w, req) {
			return
		}
		defer func() { <-r.batchSlots }()
	}
	data, rerr := r.readBody(req, true)
	if rerr != nil {
		writeRequestError(w, rerr)
		return
	}
	items, rerr := splitBatch(data, r.cfg.MaxBatchItems)
	if rerr != nil {
		writeRequestError(w, rerr)
		return
	}
	resp := batchResponse{Results: make([]itemResult, len(items))}
	ops := make([]event.Operation, 0, len(items))
	opIndex := make([]int, 0, len(items))
	for i, item := range items {
		op, rerr := r.batchItem(item)
		if rerr != nil {
			resp.Rejected++
			resp.Results[i] = itemResult{Index: i, Status: rerr.status, Error: &httpapi.ErrorDetail{Code: rerr.code, Message: rerr.message}}
			continue
		}
		ops = append(ops, op)
		opIndex = append(opIndex, i)
	}
	if len(ops) > 0 {
		ptrs := make([]*event.Operation, len(ops))
		for i := range ops {
			ptrs[i] = &ops[i]
		}
		if status, body := r.consume(req.Context(), ptrs); status != http.StatusAccepted {
			if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
				ids := make([]string, len(items))
				for k, i := range opIndex {
					ids[i] = ops[k].ID
				}
				httpapi.WriteRefusedBatch(w, status, body.Error.Code, body.Error.Message, ids, r.cfg.RetryAfter)
				return
			}
			httpapi.WriteError(w, status, body.Error.Code, body.Error.Message)
			return
		}
	}
	for k, i := range opIndex {
		resp.Accepted++
		resp.Results[i] = itemResult{Index: i, Status: http.StatusAccepted, ID: ops[k].ID}
	}
	status := http.StatusAccepted
	if resp.Accepted == 0 {
		status = http.StatusBadRequest
	}
	httpapi.WriteJSON(w, status, resp)
}

// acquireBatchSlot takes a batch slot (max_concurrent_batches), or answers
// the request and returns false. With no slot free, a request waits in line
// behind at most as many batches as there are slots; a longer line is
// overload and sheds at once (429), before the body is read.
func (r *eventsReceiver) acquireBatchSlot(w http.ResponseWriter, req *http.Request) bool {
	select {
	case r.batchSlots <- struct{}{}:
		return true
	default:
	}
	if r.batchWaiters.Add(1) > int64(cap(r.batchSlots)) {
		r.batchWaiters.Add(-1)
		httpapi.WriteRetryable(w, http.StatusTooManyRequests, httpapi.CodeOverloaded, fmt.Sprintf(
			"%d batches are being served and as many wait for their turn (max_concurrent_batches), retry later",
			cap(r.batchSlots)), r.cfg.RetryAfter)
		return false
	}
	defer r.batchWaiters.Add(-1)
	select {
	case r.batchSlots <- struct{}{}:
		return true
	case <-req.Context().Done():
		// The client left while it waited: nothing was read.
		httpapi.WriteRetryable(w, http.StatusServiceUnavailable, httpapi.CodeUnavailable,
			"the request ended while it waited for a batch slot (max_concurrent_batches), retry", r.cfg.RetryAfter)
		return false
	}
}

func (r *eventsReceiver) batchItem(item []byte) (event.Operation, *requestError) {
	b, rerr := decodeBody(item)
	if rerr != nil {
		return event.Operation{}, rerr
	}
	kind := event.OpCreate
	if b.Op != nil {
		if kind = event.ParseOp(*b.Op); kind == 0 {
			return event.Operation{}, badRequest(event.CodeInvalidField, `op: must be "create", "update" or "delete", got %q`, *b.Op)
		}
	}
	if kind != event.OpCreate && b.ID == nil {
		return event.Operation{}, badRequest(event.CodeMissingField, "id: required for %s", kind)
	}
	if kind == event.OpDelete {
		if b.setsAField() {
			return event.Operation{}, badRequest(event.CodeInvalidField, "a delete carries only op and id")
		}
		if b.ID != nil {
			if verr := r.limits.ValidateID(*b.ID); verr != nil {
				return event.Operation{}, badRequest(verr.Code, "%s", verr.Error())
			}
		}
		return event.Operation{Op: event.OpDelete, ID: *b.ID, Version: r.clock.Next()}, nil
	}
	op, rerr := r.operation(b, kind, "")
	if rerr == nil && kind == event.OpUpdate && op.Set == 0 {
		rerr = badRequest(event.CodeMissingField, "an update needs at least one of event_name, input, output, latency, error, attributes")
	}
	return op, rerr
}

// splitBatch returns the raw items of a JSON array or of NDJSON.
func splitBatch(data []byte, maxItems int) ([][]byte, *requestError) {
	trimmed := bytes.TrimSpace(data)
	var items [][]byte
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var raw []json.RawMessage
		if err := json.Unmarshal(trimmed, &raw); err != nil {
			return nil, jsonError(err)
		}
		items = make([][]byte, len(raw))
		for i, r := range raw {
			items[i] = r
		}
	} else {
		for line := range bytes.SplitSeq(trimmed, []byte("\n")) {
			if line = bytes.TrimSpace(line); len(line) > 0 {
				items = append(items, line)
			}
		}
	}
	if len(items) == 0 {
		return nil, badRequest(httpapi.CodeInvalidJSON, "the batch is empty")
	}
	if len(items) > maxItems {
		return nil, &requestError{status: http.StatusRequestEntityTooLarge, code: httpapi.CodeTooLarge,
			message: "the batch has " + itoa(len(items)) + " operations; at most " + itoa(maxItems) + " are allowed"}
	}
	return items, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
