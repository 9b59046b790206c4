package eventspartitionerextension // import "github.com/otelcol-events/otelcol-events/extension/eventspartitionerextension"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
)

var componentType = component.MustNewType("eventspartitioner")

// Config has no settings: the partition count comes from the topic.
type Config struct {
	// prevent unkeyed literal initialization
	_ struct{}
}

// NewFactory creates a factory for the eventspartitioner extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(componentType, createDefaultConfig, createExtension, component.StabilityLevelAlpha)
}

func createDefaultConfig() component.Config { return &Config{} }

func createExtension(context.Context, extension.Settings, component.Config) (extension.Extension, error) {
	return &partitionerExtension{partitioner: newBucketPartitioner()}, nil
}
