package event

import (
	"strings"
	"testing"
)

func TestPriceTableLookup(t *testing.T) {
	t.Parallel()
	table := NewPriceTable([]Price{
		{Model: "gpt-4o", Input: 2.5, Output: 10, CacheRead: 1.25},
		{Model: "gpt-4o-mini", Input: 0.15, Output: 0.6},
		{Model: "gpt-4o-mini-2024-07-18", Input: 1, Output: 1},
	})
	tests := []struct {
		model string
		want  string
	}{
		{"gpt-4o", "gpt-4o"},
		{"gpt-4o-2024-08-06", "gpt-4o"},
		{"gpt-4o-mini", "gpt-4o-mini"},
		{"gpt-4o-mini-2024-09-01", "gpt-4o-mini"},            // the longest prefix
		{"gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18"}, // exact first
		{"gpt-4", ""},
		{"GPT-4o", ""},
		{"", ""},
	}
	for _, tt := range tests {
		p, ok := table.Lookup(tt.model)
		if ok != (tt.want != "") || p.Model != tt.want {
			t.Errorf("Lookup(%q) = %q %v, want %q", tt.model, p.Model, ok, tt.want)
		}
	}
	var none *PriceTable
	if _, ok := none.Cost(&Generation{Model: "gpt-4o", InputTokens: 1}); ok {
		t.Error("a nil table priced a call")
	}
}

func TestPriceTableCost(t *testing.T) {
	t.Parallel()
	table := NewPriceTable([]Price{{Model: "m", Input: 2, Output: 8, CacheRead: 0.5}})
	tests := []struct {
		name string
		g    Generation
		want float64
	}{
		{"input and output", Generation{Model: "m", InputTokens: 1000, OutputTokens: 100}, (1000*2 + 100*8) / 1e6},
		{"cached input at the cache price", Generation{Model: "m", InputTokens: 1000, CacheReadTokens: 600, OutputTokens: 100}, (400*2 + 600*0.5 + 100*8) / 1e6},
		{"more cached than input counts the input only", Generation{Model: "m", InputTokens: 10, CacheReadTokens: 600}, 10 * 0.5 / 1e6},
		{"reasoning tokens are within the output", Generation{Model: "m", OutputTokens: 100, ReasoningTokens: 60}, 100 * 8 / 1e6},
	}
	for _, tt := range tests {
		if got, ok := table.Cost(&tt.g); !ok || got != tt.want {
			t.Errorf("%s: cost %v %v, want %v", tt.name, got, ok, tt.want)
		}
	}
}

func TestValidatePrices(t *testing.T) {
	t.Parallel()
	if err := ValidatePrices(DefaultPrices()); err != nil {
		t.Fatalf("default prices: %v", err)
	}
	err := ValidatePrices([]Price{{Model: ""}, {Model: "a", Input: -1}, {Model: "a"}})
	for _, want := range []string{"model must not be empty", "input must be", "listed twice"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}
