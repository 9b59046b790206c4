package eventsreceiver // import "github.com/otelcol-events/otelcol-events/receiver/eventsreceiver"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// Config defines the configuration of the events receiver.
type Config struct {
	// ServerConfig is a named field: embedded, its Unmarshal method would
	// become the whole config's and drop every other setting.
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`

	// MaxBatchItems bounds the operations of one POST /events/batch.
	MaxBatchItems int `mapstructure:"max_batch_items"`
	// MaxConcurrentBatches bounds the POST /events/batch requests being read,
	// decoded or waiting for their pipeline call at once; the others wait
	// their turn before their body is read, behind at most as many: past
	// that line a batch gets 429 at once. It bounds the memory that
	// concurrent batches hold (each up to max_request_body_size, and several
	// times that decoded). A request waiting for its group commit holds its
	// slot, so with group_commit::min_interval a pipeline call carries at
	// most this many batches. 0: no bound.
	MaxConcurrentBatches int `mapstructure:"max_concurrent_batches"`
	// PipelineTimeout bounds how long a write waits for the pipeline: for a
	// pipeline call to take its operations, then for that call (e.g. room in
	// a full persistent queue). Past it the request gets 503 with
	// Retry-After. In front of a persistent queue that answer is exact (the
	// operations were not stored); in front of an exporter queue with
	// wait_for_result, whose started attempts outlast their context, the
	// request stops waiting at twice the timeout and an operation whose call
	// goes on may still be sent: the refusal names its id. 0: no bound.
	PipelineTimeout time.Duration `mapstructure:"pipeline_timeout"`
	// MaxPendingOperations bounds the write operations waiting for the
	// pipeline (decoded, handed to it, not yet answered). A write that would
	// go past it gets 429 with Retry-After at once instead of waiting in
	// line: under overload, clients hear "later" rather than time out. A
	// request is admitted whatever its size when nothing else waits. 0: no
	// bound.
	MaxPendingOperations int `mapstructure:"max_pending_operations"`
	// MinFreeSpace refuses writes (503) while the file system of a directory
	// has less free space than a bound: see MinFreeSpaceConfig.
	MinFreeSpace MinFreeSpaceConfig `mapstructure:"min_free_space"`
	// RetryAfter is the Retry-After sent with 429 and 503 answers.
	RetryAfter time.Duration `mapstructure:"retry_after"`
	// GroupCommit hands the operations of concurrent requests to the pipeline
	// together.
	GroupCommit GroupCommitConfig `mapstructure:"group_commit"`
	// PartitionBuckets is the number of buckets (message keys) event ids are
	// spread over: each pipeline call carries one resource per bucket, which
	// the kafka exporter (partition_logs_by_resource_attributes) sends as one
	// message. Set it to the topic's partition count.
	PartitionBuckets int `mapstructure:"partition_buckets"`
	// MaxResourceBytes bounds the encoded records of one resource, which
	// the kafka exporter sends as one message: a bucket's records past it go
	// in another resource (another message), so that the operations that
	// one pipeline call carries never make a message larger than the
	// producer takes. A single operation larger than it goes alone. 0: no
	// bound.
	MaxResourceBytes int `mapstructure:"max_resource_bytes"`
	// Query names an eventsquery extension whose read routes this receiver
	// serves on its own port (the original API's single base URL).
	Query *component.ID `mapstructure:"query"`
	// HTTPTelemetry instruments every request with otelhttp (a span, and the
	// http.server.* metrics that the collector keeps at the detailed metrics
	// level). Off by default: it costs about 6% of the collector's CPU per
	// single POST, and the receiver's own metrics count every operation.
	HTTPTelemetry bool `mapstructure:"http_telemetry"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// GroupCommitConfig bounds group commit.
type GroupCommitConfig struct {
	// Workers is the number of pipeline calls in flight; 0 turns group
	// commit off (one call per request).
	Workers int `mapstructure:"workers"`
	// MaxSize bounds the operations of one call.
	MaxSize int `mapstructure:"max_size"`
	// MinInterval is the least time between the starts of two calls of a
	// worker: under load, a call carries the requests of a whole interval,
	// while a request after a quiet interval goes at once. 0 takes only the
	// requests already waiting. A non-zero interval is a deliberate wait;
	// the shipped configurations set none.
	MinInterval time.Duration `mapstructure:"min_interval"`
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if c.ServerConfig.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New("endpoint: required"))
	}
	if c.ServerConfig.MaxRequestBodySize <= 0 {
		errs = append(errs, fmt.Errorf("max_request_body_size: must be positive, got %d", c.ServerConfig.MaxRequestBodySize))
	}
	if c.MaxBatchItems <= 0 {
		errs = append(errs, fmt.Errorf("max_batch_items: must be positive, got %d", c.MaxBatchItems))
	}
	if c.MaxConcurrentBatches < 0 {
		errs = append(errs, fmt.Errorf("max_concurrent_batches: must not be negative, got %d", c.MaxConcurrentBatches))
	}
	if c.MaxPendingOperations < 0 {
		errs = append(errs, fmt.Errorf("max_pending_operations: must not be negative, got %d", c.MaxPendingOperations))
	}
	if c.MinFreeSpace.Directory != "" && c.MinFreeSpace.Bytes == 0 {
		errs = append(errs, errors.New("min_free_space::bytes: must be positive with a directory"))
	}
	if c.PipelineTimeout < 0 {
		errs = append(errs, fmt.Errorf("pipeline_timeout: must not be negative, got %s", c.PipelineTimeout))
	}
	if c.GroupCommit.Workers < 0 {
		errs = append(errs, fmt.Errorf("group_commit::workers: must not be negative, got %d", c.GroupCommit.Workers))
	}
	if c.GroupCommit.Workers > 0 && c.GroupCommit.MaxSize <= 0 {
		errs = append(errs, fmt.Errorf("group_commit::max_size: must be positive, got %d", c.GroupCommit.MaxSize))
	}
	if c.GroupCommit.MinInterval < 0 {
		errs = append(errs, fmt.Errorf("group_commit::min_interval: must not be negative, got %s", c.GroupCommit.MinInterval))
	}
	if err := event.ValidatePartitionBuckets(c.PartitionBuckets); err != nil {
		errs = append(errs, err)
	}
	if err := event.ValidateMaxResourceBytes(c.MaxResourceBytes); err != nil {
		errs = append(errs, err)
	}
	if c.RetryAfter < time.Second {
		errs = append(errs, fmt.Errorf("retry_after: must be at least 1s, got %s", c.RetryAfter))
	}
	return errors.Join(errs...)
}
