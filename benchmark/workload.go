package main

import (
	"encoding/json"
	"fmt"
	"time"
)

// stream names one family of events a run sends. Every field of an event is
// a pure function of its stream and index, so the tool never has to keep the
// bodies it sent to know what the collector must end up holding.
type stream struct {
	key   string // short tag in conversation ids: "c" insert, "b" batch, "f" freshness
	count int    // events in the stream
	convs int    // conversations the events are spread over
	names []string
}

// Events per conversation: enough to make conversation pages non-trivial.
const eventsPerConversation = 20

// maxAnalyticsRows is the query extension's maximum limit: a stream whose
// (event name, conversation) pairs fit in one /analytics/latency page can be
// counted exactly through the API.
const maxAnalyticsRows = 1000

func newStream(runID, key string, count int, names ...string) stream {
	convs := max(1, (count+eventsPerConversation-1)/eventsPerConversation)
	if key != "c" {
		// Batch and freshness events are counted end to end through
		// /analytics/latency, whose page holds at most 1000 conversations.
		convs = min(convs, maxAnalyticsRows)
	}
	full := make([]string, len(names))
	for i, n := range names {
		full[i] = runID + "_" + n
	}
	return stream{key: key, count: count, convs: convs, names: full}
}

// spec is the content of one create.
type spec struct {
	Conversation string
	Name         string
	Input        string
	Output       string
	Latency      float64
	Error        string
	Model        string
}

func (s stream) conversation(runID string, c int) string {
	return fmt.Sprintf("%s%d", s.conversationPrefix(runID), c)
}

// conversationPrefix starts every conversation id of the stream (and of no
// other stream: the keys are single distinct letters).
func (s stream) conversationPrefix(runID string) string {
	return runID + "-" + s.key
}

func (s stream) spec(runID string, i int) spec {
	sp := spec{
		Conversation: s.conversation(runID, i%s.convs),
		Name:         s.names[i%len(s.names)],
		// Sizes in the range of short LLM prompts and answers.
		Input:   fmt.Sprintf("What is the weather in city %d today? Answer in one sentence and cite a source.", i),
		Output:  fmt.Sprintf("It is sunny in city %d: 21 degrees, light wind from the west, no rain expected (source: fixture %d).", i, i),
		Latency: float64(i%997) + 0.5,
		Model:   fmt.Sprintf("model-%d", i%4),
	}
	if i%10 == 0 {
		sp.Error = "rate_limit"
	}
	return sp
}

// updated is the state after the update phase's merge patch: only error and
// latency change; input, output and the rest must be kept.
func (sp spec) updated(i int) spec {
	sp.Error = "timeout"
	sp.Latency = 5000 + float64(i%500)
	return sp
}

// createJSON is the body of POST /event/ (and of a batch item).
type createJSON struct {
	ConversationID string            `json:"conversation_id"`
	EventName      string            `json:"event_name"`
	Input          string            `json:"input"`
	Output         string            `json:"output"`
	Latency        float64           `json:"latency"`
	Error          string            `json:"error"`
	Attributes     map[string]string `json:"attributes,omitempty"`
}

func (sp spec) createJSON() createJSON {
	return createJSON{
		ConversationID: sp.Conversation, EventName: sp.Name, Input: sp.Input, Output: sp.Output,
		Latency: sp.Latency, Error: sp.Error, Attributes: map[string]string{"model": sp.Model},
	}
}

func (sp spec) createBody() []byte {
	b, _ := json.Marshal(sp.createJSON()) // cannot fail: strings, a float and a string map
	return b
}

// batchBody encodes the creates [from, to) of s as one JSON array.
func (s stream) batchBody(runID string, from, to int) []byte {
	items := make([]createJSON, 0, to-from)
	for i := from; i < to; i++ {
		items = append(items, s.spec(runID, i).createJSON())
	}
	b, _ := json.Marshal(items)
	return b
}

func updateBody(i int) []byte {
	sp := spec{}.updated(i)
	return fmt.Appendf(nil, `{"error":%q,"latency":%g}`, sp.Error, sp.Latency)
}

// newRunID returns a short id unique to this run: every conversation id and
// event name of the run starts with it, so that checks on a shared database
// see only this run's rows.
func newRunID(now time.Time) string {
	return fmt.Sprintf("bench%x", now.UnixNano()/int64(time.Millisecond))
}
