package event // import "github.com/otelcol-events/otelcol-events/internal/event"

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Price is what a model costs, in US dollars per million tokens.
type Price struct {
	// Model is a model name, matched exactly, else as the longest prefix of
	// the event's model ("gpt-4o-mini" prices "gpt-4o-mini-2024-07-18").
	Model     string  `mapstructure:"model"`
	Input     float64 `mapstructure:"input"`
	Output    float64 `mapstructure:"output"`
	CacheRead float64 `mapstructure:"cache_read"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// DefaultPrices is the price table a component starts from: a few current
// models at the list prices their providers publish (standard tier). A
// configured table replaces it whole.
func DefaultPrices() []Price {
	return []Price{
		{Model: "gpt-4o", Input: 2.5, Output: 10, CacheRead: 1.25},
		{Model: "gpt-4o-mini", Input: 0.15, Output: 0.6, CacheRead: 0.075},
		{Model: "gpt-4.1", Input: 2, Output: 8, CacheRead: 0.5},
		{Model: "gpt-4.1-mini", Input: 0.4, Output: 1.6, CacheRead: 0.1},
		{Model: "gpt-4.1-nano", Input: 0.1, Output: 0.4, CacheRead: 0.025},
		{Model: "o3-mini", Input: 1.1, Output: 4.4, CacheRead: 0.55},
		{Model: "claude-sonnet-4", Input: 3, Output: 15, CacheRead: 0.3},
		{Model: "claude-3-5-haiku", Input: 0.8, Output: 4, CacheRead: 0.08},
	}
}

// ValidatePrices reports every problem of a price table at once.
func ValidatePrices(prices []Price) error {
	var errs []error
	seen := make(map[string]bool, len(prices))
	for i, p := range prices {
		switch {
		case p.Model == "":
			errs = append(errs, fmt.Errorf("prices[%d]: model must not be empty", i))
		case seen[p.Model]:
			errs = append(errs, fmt.Errorf("prices[%d]: model %q is listed twice", i, p.Model))
		}
		seen[p.Model] = true
		for _, v := range [...]struct {
			name  string
			value float64
		}{{"input", p.Input}, {"output", p.Output}, {"cache_read", p.CacheRead}} {
			if math.IsNaN(v.value) || math.IsInf(v.value, 0) || v.value < 0 {
				errs = append(errs, fmt.Errorf("prices[%d] (%s): %s must be a finite number >= 0", i, p.Model, v.name))
			}
		}
	}
	return errors.Join(errs...)
}

// PriceTable prices LLM calls. The zero value prices nothing.
type PriceTable struct {
	exact map[string]Price
	// byLength holds the models longest first, for the prefix match.
	byLength []Price
}

// NewPriceTable returns the table of prices (checked by ValidatePrices).
func NewPriceTable(prices []Price) *PriceTable {
	t := &PriceTable{exact: make(map[string]Price, len(prices)), byLength: append([]Price(nil), prices...)}
	for _, p := range prices {
		t.exact[p.Model] = p
	}
	// Insertion sort: a table has tens of entries.
	for i := 1; i < len(t.byLength); i++ {
		for j := i; j > 0 && len(t.byLength[j].Model) > len(t.byLength[j-1].Model); j-- {
			t.byLength[j], t.byLength[j-1] = t.byLength[j-1], t.byLength[j]
		}
	}
	return t
}

// Lookup returns the price of model: its exact entry, else the entry of the
// longest model name that model starts with.
func (t *PriceTable) Lookup(model string) (Price, bool) {
	if t == nil || model == "" {
		return Price{}, false
	}
	if p, ok := t.exact[model]; ok {
		return p, true
	}
	for _, p := range t.byLength {
		if strings.HasPrefix(model, p.Model) {
			return p, true
		}
	}
	return Price{}, false
}

// Cost returns the cost in US dollars of the call g describes, and false
// when its model has no price. Input tokens include the cached ones (as the
// GenAI conventions count them): those read from the cache cost the
// cache_read price, the rest (cache creation included) the input price.
// Reasoning tokens are part of the output tokens.
func (t *PriceTable) Cost(g *Generation) (float64, bool) {
	p, ok := t.Lookup(g.Model)
	if !ok {
		return 0, false
	}
	cached := min(g.CacheReadTokens, g.InputTokens)
	usd := float64(g.InputTokens-cached)*p.Input + float64(cached)*p.CacheRead + float64(g.OutputTokens)*p.Output
	return usd / 1e6, true
}
