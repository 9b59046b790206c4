package clickhouseeventsexporter // import "github.com/otelcol-events/otelcol-events/exporter/clickhouseeventsexporter"

import (
	"fmt"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
)

// statusReporter reports a recoverable error while inserts fail (the engine
// is down, its disk is full) and OK once one succeeds again: /health
// (eventsquery) shows the first as degraded. Only changes are reported, so
// the per-push cost is one atomic load.
type statusReporter struct {
	host    component.Host
	failing atomic.Bool
}

func (s *statusReporter) report(err error) {
	failing := err != nil
	if s.host == nil || s.failing.Load() == failing || s.failing.Swap(failing) == failing {
		return
	}
	if failing {
		componentstatus.ReportStatus(s.host, componentstatus.NewRecoverableErrorEvent(
			fmt.Errorf("ClickHouse does not take inserts: %w", err)))
		return
	}
	componentstatus.ReportStatus(s.host, componentstatus.NewEvent(componentstatus.StatusOK))
}
