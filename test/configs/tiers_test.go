package configs

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The Kafka topology in one collector, and the same topology as two tiers
// (docs/topologies.md, "Two tiers").
const fullConfig = "collector-config.yaml"

var tierConfigs = []string{"config/ingest-tier.yaml", "config/storage-tier.yaml"}

// componentKinds are the top-level sections that hold component configs.
var componentKinds = []string{"extensions", "receivers", "processors", "connectors", "exporters"}

type config struct {
	Extensions map[string]any `yaml:"extensions"`
	Receivers  map[string]any `yaml:"receivers"`
	Processors map[string]any `yaml:"processors"`
	Connectors map[string]any `yaml:"connectors"`
	Exporters  map[string]any `yaml:"exporters"`
	Service    struct {
		Extensions []string            `yaml:"extensions"`
		Telemetry  any                 `yaml:"telemetry"`
		Pipelines  map[string]pipeline `yaml:"pipelines"`
	} `yaml:"service"`
}

type pipeline struct {
	Receivers  []string `yaml:"receivers"`
	Processors []string `yaml:"processors"`
	Exporters  []string `yaml:"exporters"`
}

func (c *config) components(kind string) map[string]any {
	return map[string]map[string]any{
		"extensions": c.Extensions,
		"receivers":  c.Receivers,
		"processors": c.Processors,
		"connectors": c.Connectors,
		"exporters":  c.Exporters,
	}[kind]
}

// load parses a file of the repository as plain YAML: ${env:...} references
// stay text, so equal configs also use the same variables and defaults.
func load(t *testing.T, path string) *config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", path))
	require.NoError(t, err)
	var c config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&c), path)
	return &c
}

// TestTierComponentsEqualFullConfig: every component a tier configures is
// configured exactly as in collector-config.yaml (durability settings,
// environment variables, defaults), and so is the collector's telemetry.
func TestTierComponentsEqualFullConfig(t *testing.T) {
	full := load(t, fullConfig)
	for _, path := range tierConfigs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			tier := load(t, path)
			for _, kind := range componentKinds {
				for id, cfg := range tier.components(kind) {
					want, ok := full.components(kind)[id]
					if !assert.Truef(t, ok, "%s %s is not in %s", kind, id, fullConfig) {
						continue
					}
					assert.Equalf(t, want, cfg, "%s %s differs from %s", kind, id, fullConfig)
				}
			}
			assert.Equal(t, full.Service.Telemetry, tier.Service.Telemetry, "service::telemetry differs from %s", fullConfig)
		})
	}
}

// TestTiersSplitFullConfig: the tiers' pipelines together are exactly
// collector-config.yaml's, each in one tier, and so are its extensions.
func TestTiersSplitFullConfig(t *testing.T) {
	full := load(t, fullConfig)
	pipelines := map[string]pipeline{}
	extensions := map[string]bool{}
	for _, path := range tierConfigs {
		tier := load(t, path)
		for name, p := range tier.Service.Pipelines {
			_, dup := pipelines[name]
			assert.Falsef(t, dup, "pipeline %s is in more than one tier", name)
			pipelines[name] = p
		}
		for _, id := range tier.Service.Extensions {
			extensions[id] = true
		}
	}
	assert.Equal(t, full.Service.Pipelines, pipelines, "the tiers' pipelines together")
	assert.ElementsMatch(t, full.Service.Extensions, slices.Collect(maps.Keys(extensions)), "the tiers' extensions together")
}

// TestTierUsesWhatItConfigures: a tier configures exactly the components its
// service uses, and runs the extensions its components name (the events
// receiver's query, the kafka exporter's record partitioner), so that no
// tier keeps a leftover of the other half or misses a dependency.
func TestTierUsesWhatItConfigures(t *testing.T) {
	for _, path := range append([]string{fullConfig}, tierConfigs...) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			c := load(t, path)
			used := map[string]map[string]bool{}
			for _, kind := range componentKinds {
				used[kind] = map[string]bool{}
			}
			for _, id := range c.Service.Extensions {
				used["extensions"][id] = true
			}
			for name, p := range c.Service.Pipelines {
				for _, id := range p.Receivers {
					if _, isConnector := c.Connectors[id]; isConnector {
						used["connectors"][id] = true
					} else {
						used["receivers"][id] = true
					}
				}
				for _, id := range p.Processors {
					used["processors"][id] = true
				}
				for _, id := range p.Exporters {
					if _, isConnector := c.Connectors[id]; isConnector {
						used["connectors"][id] = true
					} else {
						used["exporters"][id] = true
					}
				}
				assert.NotEmptyf(t, p.Receivers, "pipeline %s has no receiver", name)
				assert.NotEmptyf(t, p.Exporters, "pipeline %s has no exporter", name)
			}
			for _, kind := range componentKinds {
				assert.ElementsMatchf(t, slices.Collect(maps.Keys(c.components(kind))), slices.Collect(maps.Keys(used[kind])),
					"%s configured vs used", kind)
			}
			for _, kind := range componentKinds {
				for id, cfg := range c.components(kind) {
					for _, ext := range extensionRefs(cfg) {
						assert.Truef(t, used["extensions"][ext], "%s %s names extension %s, which the service does not run", kind, id, ext)
					}
				}
			}
		})
	}
}

// extensionRefs returns the values of the settings that name an extension:
// `query` (events receiver) and `extension` (kafka exporter's
// record_partitioner), at any depth.
func extensionRefs(cfg any) []string {
	var refs []string
	switch v := cfg.(type) {
	case map[string]any:
		for key, val := range v {
			if s, ok := val.(string); ok && (key == "query" || key == "extension") {
				refs = append(refs, s)
				continue
			}
			refs = append(refs, extensionRefs(val)...)
		}
	case []any:
		for _, val := range v {
			refs = append(refs, extensionRefs(val)...)
		}
	}
	return refs
}
