package eventnormalizerprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

func TestFactory(t *testing.T) {
	t.Parallel()
	f := NewFactory()
	assert.Equal(t, "eventnormalizer", f.Type().String())
	assert.Equal(t, &Config{Limits: event.DefaultLimits(), PartitionBuckets: event.DefaultPartitionBuckets, MaxResourceBytes: event.DefaultMaxResourceBytes, ConversationID: event.DefaultConversationConfig()}, f.CreateDefaultConfig())
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	f := NewFactory()
	sink := new(consumertest.LogsSink)
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), sink)
	require.NoError(t, err)
	assert.False(t, p.Capabilities().MutatesData)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))

	require.NoError(t, p.ConsumeLogs(context.Background(), newLogs(nil,
		withAttrs(map[string]any{"gen_ai.conversation.id": "c", "gen_ai.operation.name": "chat"}),
		withAttrs(map[string]any{"gen_ai.operation.name": "chat"}),
	)))
	require.NoError(t, p.ConsumeLogs(context.Background(), newLogs(nil,
		withAttrs(map[string]any{"gen_ai.operation.name": "chat"}),
	)), "a batch with nothing valid left is not an error for the sender")
	require.NoError(t, p.Shutdown(context.Background()))

	batches := sink.AllLogs()
	require.Len(t, batches, 1, "nothing goes on when every record is dropped")
	ops := decode(t, batches[0])
	require.Len(t, ops, 1)
	assert.Equal(t, "chat", ops[0].Name)
}

func TestShutdownWithoutStart(t *testing.T) {
	t.Parallel()
	f := NewFactory()
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, p.Shutdown(context.Background()))
}
