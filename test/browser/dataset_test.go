package browser

import (
	"cmp"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
)

// Hostile values: markup that would run if a page parsed data as HTML,
// quotes of both kinds, and text outside ASCII.
const (
	hostileName  = `<img src=x onerror="window.__xss=1">`
	quotedName   = `quote's "double" 日本語 🚀`
	hostileConv  = `thread <script>window.__xss=1</script> 'é' "q"/x`
	hostileError = `timeout <i>"x"</i> & 'y'`
	lateError    = `late <b onmouseover="window.__xss=1">!</b>`
)

var names = []string{"chat", "search", hostileName, quotedName}

// op is one write of the dataset; model is the state the API must show.
type stored struct {
	ID, Conv, Name, Input, Output, Error string
	Latency                              float64
	TS                                   time.Time
	Deleted                              bool
	Attrs                                map[string]string
}

type dataset struct {
	now    time.Time
	events map[string]*stored
	order  []string // ids in creation order
	// bigConvEvents events are in hostileConv: more than one page.
	bigConvEvents int
}

// daysBack spreads the events over the last 5 days, and a few 10 days
// back: outside the overview's default 7 days, inside its 30.
func daysBack(i int) int {
	if i%17 == 8 {
		return 10
	}
	return i % 5
}

func eventID(i int) string { return fmt.Sprintf(`ev-%02d 'q' "dq" ✓`, i) }

// newDataset builds 60 creates over the last 5 UTC days, then updates and
// deletes some of them: the figures of the pages come from the states
// after all of it.
func newDataset(now time.Time) *dataset {
	d := &dataset{now: now, events: map[string]*stored{}}
	for i := range 60 {
		conv := fmt.Sprintf("conv-%d <u>", i%5)
		if i < 25 {
			conv = hostileConv
			d.bigConvEvents++
		}
		e := &stored{
			ID:      eventID(i),
			Conv:    conv,
			Name:    names[i%len(names)],
			Input:   fmt.Sprintf(`input %d <img src=x onerror="window.__xss=1"> 'q' "dq" ✓`, i),
			Output:  fmt.Sprintf(`output %d </pre><script>window.__xss=1</script> 🚀`, i),
			Latency: float64(i*7%53) + 0.25*float64(i%4),
			TS:      now.Add(-time.Duration(daysBack(i))*24*time.Hour - time.Duration(i)*time.Minute).Truncate(time.Millisecond),
			Attrs:   map[string]string{"model": fmt.Sprintf(`m-%d "<x>"`, i%3)},
		}
		if i%5 == 0 {
			e.Error = hostileError
		}
		d.events[e.ID] = e
		d.order = append(d.order, e.ID)
	}
	return d
}

type write struct {
	method, path string
	body         map[string]any
}

// writes returns the creates (one batch) and the updates and deletes, and
// applies the latter to the model.
func (d *dataset) writes() (batch []map[string]any, later []write) {
	for _, id := range d.order {
		e := d.events[id]
		batch = append(batch, map[string]any{
			"id": e.ID, "conversation_id": e.Conv, "event_name": e.Name, "input": e.Input, "output": e.Output,
			"latency": e.Latency, "error": e.Error, "timestamp": e.TS.Format(time.RFC3339Nano), "attributes": e.Attrs,
		})
	}
	for i, id := range d.order {
		e := d.events[id]
		path := "/event/" + url.PathEscape(id)
		switch {
		case i%11 == 4:
			later = append(later, write{"DELETE", path, nil})
			e.Deleted = true
		case i%7 == 3:
			later = append(later, write{"PUT", path, map[string]any{"error": ""}})
			e.Error = ""
		case i%6 == 1:
			later = append(later, write{"PUT", path, map[string]any{"error": lateError, "latency": 999.5}})
			e.Error, e.Latency = lateError, 999.5
		}
	}
	return batch, later
}

func (d *dataset) visible(days int, name string) []*stored {
	first := d.now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
	var out []*stored
	for _, id := range d.order {
		e := d.events[id]
		if !e.Deleted && !e.TS.Before(first) && (name == "" || e.Name == name) {
			out = append(out, e)
		}
	}
	return out
}

// dayRows is the days table: date, events, errors.
func (d *dataset) dayRows(days int, name string) [][]string {
	first := d.now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
	counts := map[string][2]int{}
	for _, e := range d.visible(days, name) {
		c := counts[e.TS.UTC().Format(time.DateOnly)]
		c[0]++
		if e.Error != "" {
			c[1]++
		}
		counts[e.TS.UTC().Format(time.DateOnly)] = c
	}
	var rows [][]string
	for i := range days {
		day := first.AddDate(0, 0, i).Format(time.DateOnly)
		rows = append(rows, []string{day, strconv.Itoa(counts[day][0]), strconv.Itoa(counts[day][1])})
	}
	return rows
}

// p95Rows is the latency chart: name, p95 (the API's number), shown text;
// most events first, then name.
func (d *dataset) p95Rows(days int) [][]string {
	lat := map[string][]float64{}
	for _, e := range d.visible(days, "") {
		lat[e.Name] = append(lat[e.Name], e.Latency)
	}
	var keys []string
	for k := range lat {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(len(lat[b]), len(lat[a])), cmp.Compare(a, b)) })
	var rows [][]string
	for _, k := range keys {
		v := slices.Clone(lat[k])
		slices.Sort(v)
		p := v[int(0.95*float64(len(v)))]
		rows = append(rows, []string{k, strconv.FormatFloat(p, 'f', -1, 64), fmtMs(p)})
	}
	return rows
}

// topErrorRows is the top error sessions table over the last days days:
// conversation, errors, events, rate.
func (d *dataset) topErrorRows(days int) [][]string {
	type agg struct{ errors, total int }
	byConv := map[string]*agg{}
	for _, e := range d.visible(days, "") {
		a := byConv[e.Conv]
		if a == nil {
			a = &agg{}
			byConv[e.Conv] = a
		}
		a.total++
		if e.Error != "" {
			a.errors++
		}
	}
	var convs []string
	for c, a := range byConv {
		if a.errors > 0 {
			convs = append(convs, c)
		}
	}
	rate := func(c string) float64 { return float64(byConv[c].errors) / float64(byConv[c].total) }
	slices.SortFunc(convs, func(a, b string) int {
		return cmp.Or(cmp.Compare(rate(b), rate(a)), cmp.Compare(byConv[b].errors, byConv[a].errors), cmp.Compare(a, b))
	})
	var rows [][]string
	for _, c := range convs[:min(10, len(convs))] {
		rows = append(rows, []string{c, strconv.Itoa(byConv[c].errors), strconv.Itoa(byConv[c].total),
			strconv.FormatFloat(rate(c)*100, 'f', 1, 64) + "%"})
	}
	return rows
}

// conversation returns the visible events of conv in the API's order.
func (d *dataset) conversation(conv string) []*stored {
	var out []*stored
	for _, id := range d.order {
		if e := d.events[id]; !e.Deleted && e.Conv == conv {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *stored) int { return cmp.Or(a.TS.Compare(b.TS), cmp.Compare(a.ID, b.ID)) })
	return out
}

// fmtMs is the pages' formatting of a latency.
func fmtMs(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) + " ms"
}

func TestDatasetShape(t *testing.T) {
	d := newDataset(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	d.writes()
	if n := len(d.conversation(hostileConv)); n <= 20 {
		t.Fatalf("the big conversation has %d visible events; the pager needs more than a page of 20", n)
	}
	// The 30-day view must show other figures than the 7-day one.
	if reflect.DeepEqual(d.topErrorRows(7), d.topErrorRows(30)) || reflect.DeepEqual(d.p95Rows(7), d.p95Rows(30)) {
		t.Fatal("the events older than 7 days change nothing the overview shows")
	}
	if len(d.topErrorRows(7)) < 2 || len(d.p95Rows(7)) != len(names) {
		t.Fatalf("dataset too small: %v %v", d.topErrorRows(7), d.p95Rows(7))
	}
}
