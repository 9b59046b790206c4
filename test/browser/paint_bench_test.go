package browser

import (
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

// BenchmarkOverviewPaint loads the overview of a running collector
// (DASHBOARD_URL, e.g. http://127.0.0.1:8080/ui/) b.N times and reports
// when the page first painted and when its data was drawn, both from the
// start of the navigation (the Paint Timing entry and the page's own
// "dashboard:rendered" mark):
//
//	cd test/browser && DASHBOARD_URL=http://127.0.0.1:8080/ui/ CHROMIUM=$(../../scripts/chromium.sh) \
//	  go test -run '^$' -bench OverviewPaint -benchtime 5x .
func BenchmarkOverviewPaint(b *testing.B) {
	url := os.Getenv("DASHBOARD_URL")
	if url == "" {
		b.Fatal("DASHBOARD_URL is not set: the overview of a running collector, e.g. http://127.0.0.1:8080/ui/")
	}
	br := newBrowser(b)
	var fcp, data float64
	for range b.N {
		br.run(b, "open the overview", chromedp.Navigate(url))
		br.waitFor(b, jsLoaded)
		var marks []float64
		br.eval(b, `[performance.getEntriesByName("first-contentful-paint")[0].startTime, performance.getEntriesByName("dashboard:rendered")[0].startTime]`, &marks)
		fcp += marks[0]
		data += marks[1]
	}
	b.ReportMetric(fcp/float64(b.N), "paint-ms/op")
	b.ReportMetric(data/float64(b.N), "data-ms/op")
}
