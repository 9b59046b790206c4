package eventsqueryextension // import "github.com/otelcol-events/otelcol-events/extension/eventsqueryextension"

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component/componentstatus"
)

// statusBoard keeps the latest status event of every component of the
// collector, as the host reports them to the extension (Changed). It is the
// one place that turns component statuses into GET /health: a component
// whose latest status is an error makes the collector degraded until it
// reports StatusOK again.
type statusBoard struct {
	mu     sync.Mutex
	latest map[string]componentState // by "kind/id"
}

type componentState struct {
	status componentstatus.Status
	err    error
	since  time.Time
}

func newStatusBoard() *statusBoard {
	return &statusBoard{latest: make(map[string]componentState)}
}

// changed records a status event. The host may call it before Start, after
// Shutdown and concurrently with itself.
func (b *statusBoard) changed(source *componentstatus.InstanceID, ev *componentstatus.Event) {
	if source == nil || ev == nil {
		return
	}
	key := fmt.Sprintf("%s/%s", kindName(source), source.ComponentID())
	b.mu.Lock()
	defer b.mu.Unlock()
	b.latest[key] = componentState{status: ev.Status(), err: ev.Err(), since: ev.Timestamp()}
}

// kindName is the kind as the configuration spells it: "exporter".
func kindName(id *componentstatus.InstanceID) string {
	return strings.ToLower(id.Kind().String())
}

// healthReason is one reason of a degraded /health.
type healthReason struct {
	// Source is what is unhealthy: a component ("exporter/clickhouseevents")
	// or "data_age".
	Source string `json:"source"`
	// Status is the component's status (RecoverableError, PermanentError,
	// FatalError) or, for data_age, "Lagging".
	Status  string `json:"status"`
	Message string `json:"message"`
	// Since is when the component reported the status (RFC 3339).
	Since string `json:"since,omitempty"`
}

// reasons lists the components whose latest status is an error, by source.
func (b *statusBoard) reasons() []healthReason {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []healthReason
	for key, st := range b.latest {
		switch st.status {
		case componentstatus.StatusRecoverableError, componentstatus.StatusPermanentError, componentstatus.StatusFatalError:
			msg := ""
			if st.err != nil {
				msg = st.err.Error()
			}
			r := healthReason{Source: key, Status: strings.TrimPrefix(st.status.String(), "Status"), Message: msg}
			if !st.since.IsZero() {
				r.Since = st.since.UTC().Format(timestampLayout)
			}
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(x, y healthReason) int { return cmp.Compare(x.Source, y.Source) })
	return out
}
