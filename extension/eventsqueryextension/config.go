package eventsqueryextension // import "github.com/otelcol-events/otelcol-events/extension/eventsqueryextension"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelcol-events/otelcol-events/internal/storage"
)

// maxMaxLimit bounds max_limit: a page is built in memory before it is sent.
const maxMaxLimit = 100_000

// Config defines the configuration of the eventsquery extension.
type Config struct {
	// ServerConfig is a named field rather than an embedded one: embedding
	// would promote confighttp.ServerConfig.Unmarshal to Config, and confmap
	// would then decode only the server settings and silently drop the rest.
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`

	// ClickHouse holds the same connection settings as the clickhouseevents
	// exporter.
	ClickHouse storage.Config `mapstructure:"clickhouse"`

	// MaxLimit is the largest `limit` a request may ask for.
	MaxLimit int `mapstructure:"max_limit"`
	// QueryTimeout bounds each request, connecting to ClickHouse included.
	QueryTimeout time.Duration `mapstructure:"query_timeout"`
	// QueryMaxMemory bounds the memory of each read query, in bytes: the
	// ClickHouse setting max_memory_usage of the query, on either engine.
	// 0 leaves the engine's own setting (a server's profile; none for the
	// embedded engine).
	QueryMaxMemory uint64 `mapstructure:"query_max_memory"`

	// Health configures GET /health beyond the ClickHouse check.
	Health HealthConfig `mapstructure:"health"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// HealthConfig configures GET /health.
type HealthConfig struct {
	// MaxDataAge makes /health degraded while the newest stored operation
	// was accepted longer ago than this: the stored side lags (or nothing
	// was written for that long). 0 turns the check off.
	MaxDataAge time.Duration `mapstructure:"max_data_age"`
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if c.ServerConfig.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New("endpoint: required"))
	}
	if c.MaxLimit < 1 || c.MaxLimit > maxMaxLimit {
		errs = append(errs, fmt.Errorf("max_limit: must be between 1 and %d, got %d", maxMaxLimit, c.MaxLimit))
	}
	if c.QueryTimeout <= 0 {
		errs = append(errs, fmt.Errorf("query_timeout: must be positive, got %s", c.QueryTimeout))
	} else if wt := c.ServerConfig.WriteTimeout; wt > 0 && c.QueryTimeout >= wt {
		errs = append(errs, fmt.Errorf("query_timeout: must be shorter than write_timeout (%s), got %s; the answer could not be written", wt, c.QueryTimeout))
	}
	if c.Health.MaxDataAge < 0 {
		errs = append(errs, fmt.Errorf("health: max_data_age: must be 0 (off) or positive, got %s", c.Health.MaxDataAge))
	}
	if err := c.ClickHouse.Validate(); err != nil {
		errs = append(errs, prefixed("clickhouse", err)...)
	}
	return errors.Join(errs...)
}

// prefixed names the section of each problem of a joined error.
func prefixed(section string, err error) []error {
	var list []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		list = joined.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]error, len(list))
	for i, e := range list {
		out[i] = fmt.Errorf("%s: %w", section, e)
	}
	return out
}

var _ confmap.Unmarshaler = (*Config)(nil)

// Unmarshal decodes the config and refuses unknown keys. confmap decodes a
// struct with a squashed Unmarshaler (confighttp.ServerConfig) leniently,
// ignoring every key it does not know, so a misspelt `max_limt` or
// `clickhouse::databse` would pass silently; a strict pass over a mirror of
// the config without that Unmarshaler catches them first.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	// Named Config so that errors read "'eventsqueryextension.Config' has
	// invalid keys"; TestStrictMirrorMatchesConfig keeps it in step.
	type Config strictConfig
	if err := conf.Unmarshal(&Config{}); err != nil {
		return err
	}
	// confmap calls this method with a conf that skips it for the top-level
	// value: this decodes the fields, ServerConfig.Unmarshal included.
	return conf.Unmarshal(c)
}

// strictConfig mirrors Config with strictServerConfig in place of
// confighttp.ServerConfig.
type strictConfig struct {
	ServerConfig   strictServerConfig `mapstructure:",squash"`
	ClickHouse     storage.Config     `mapstructure:"clickhouse"`
	MaxLimit       int                `mapstructure:"max_limit"`
	QueryTimeout   time.Duration      `mapstructure:"query_timeout"`
	QueryMaxMemory uint64             `mapstructure:"query_max_memory"`
	Health         HealthConfig       `mapstructure:"health"`
}

// strictServerConfig has the fields of confighttp.ServerConfig but not its
// Unmarshal method.
type strictServerConfig confighttp.ServerConfig
