package eventnormalizerprocessor

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

func TestConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		id      component.ID
		want    *Config
		wantErr []string
	}{
		{
			file: "config.yaml",
			id:   component.NewID(componentType),
			want: &Config{Limits: event.DefaultLimits(), PartitionBuckets: event.DefaultPartitionBuckets, MaxResourceBytes: event.DefaultMaxResourceBytes, ConversationID: event.DefaultConversationConfig()},
		},
		{
			file: "config.yaml",
			id:   component.NewIDWithName(componentType, "tight"),
			want: &Config{Limits: event.Limits{
				MaxIDBytes:        64,
				MaxKeyFieldBytes:  256,
				MaxTextFieldBytes: 65536,
				MaxAttributes:     16,
				MaxAttributeBytes: 512,
			}, PartitionBuckets: 3, MaxResourceBytes: 1 << 20, ConversationID: event.DefaultConversationConfig()},
		},
		{
			file: "invalid_limits.yaml",
			id:   component.NewID(componentType),
			wantErr: []string{
				"limits::max_id_bytes: must be between 36 and 128, got 0",
				"limits::max_key_field_bytes: must be between 1 and 1024, got -1",
				"limits::max_text_field_bytes: must be between 1 and 1048576, got 2097152",
				"limits::max_attributes: must be between 1 and 128, got 129",
				"limits::max_attribute_bytes: must be between 1 and 4096, got 4097",
				"partition_buckets: must be between 1 and 1024, got 1025",
				"max_resource_bytes: must not be negative, got -1",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.id.String(), func(t *testing.T) {
			t.Parallel()
			cm, err := confmaptest.LoadConf(filepath.Join("testdata", tt.file))
			require.NoError(t, err)
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			cfg := createDefaultConfig().(*Config)
			require.NoError(t, sub.Unmarshal(cfg))

			err = cfg.Validate()
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, want := range tt.wantErr {
					assert.ErrorContains(t, err, want)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestConfigUnknownField(t *testing.T) {
	t.Parallel()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "unknown_field.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewID(componentType).String())
	require.NoError(t, err)
	assert.ErrorContains(t, sub.Unmarshal(createDefaultConfig()), "max_ids_bytes")
}

func TestConfigStruct(t *testing.T) {
	t.Parallel()
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
	require.NoError(t, createDefaultConfig().(*Config).Validate())
}
