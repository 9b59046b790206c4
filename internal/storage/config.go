package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
)

// Config holds the ClickHouse connection settings shared by the exporter and
// the query extension.
type Config struct {
	// Endpoint is tcp://host:port (or clickhouse://host:port) for a server,
	// or chdb:///path/to/data for the embedded engine.
	Endpoint string `mapstructure:"endpoint"`
	// Username and Password authenticate to a server.
	Username string              `mapstructure:"username"`
	Password configopaque.String `mapstructure:"password"`
	// Database holds the tables; created when missing.
	Database string `mapstructure:"database"`
	// ChdbLibrary is the path of libchdb.so, needed only for chdb:// endpoints.
	ChdbLibrary string `mapstructure:"chdb_library"`
	// DialTimeout bounds connecting to a server.
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
	// TTL drops analytics rows older than this (whole days; 0 keeps them).
	TTL time.Duration `mapstructure:"ttl"`
	// Cluster would create the tables ON CLUSTER with Replicated engines and
	// a Distributed table; not available yet, so Validate refuses it.
	Cluster string `mapstructure:"cluster"`
	// Embedded sets up the embedded engine (chdb:// endpoints only).
	Embedded EmbeddedConfig `mapstructure:"embedded"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// NewDefaultConfig returns the defaults of the original project: a local
// server on the native port and the event_analytics database.
func NewDefaultConfig() Config {
	return Config{
		Endpoint:    "tcp://localhost:9000",
		Username:    "default",
		Database:    "event_analytics",
		DialTimeout: 10 * time.Second,
		Embedded:    NewDefaultEmbeddedConfig(),
	}
}

// EmbeddedConfig holds the start-up settings of the embedded engine. The
// engine lives in the collector's process and starts once, so every
// component that opens it (the exporter, the query extension) must give the
// same settings. Sizes are in bytes, as in ClickHouse's server settings of
// the same names.
type EmbeddedConfig struct {
	// MaxServerMemoryUsage bounds the memory the engine tracks for its
	// queries, inserts and merges; past it they fail. 0 keeps the engine's
	// default, 90% of the machine's memory.
	MaxServerMemoryUsage uint64 `mapstructure:"max_server_memory_usage"`
	// MarkCacheSize bounds the cache of marks (where each granule starts in
	// the column files), which point reads use; ClickHouse's default is 5 GiB.
	MarkCacheSize uint64 `mapstructure:"mark_cache_size"`
	// PrimaryIndexCacheSize bounds the cache of the parts' primary indexes.
	PrimaryIndexCacheSize uint64 `mapstructure:"primary_index_cache_size"`
	// IndexMarkCacheSize bounds the cache of the marks of skip indexes.
	IndexMarkCacheSize uint64 `mapstructure:"index_mark_cache_size"`
	// UncompressedCacheSize bounds the cache of decompressed blocks (0: none,
	// as in ClickHouse).
	UncompressedCacheSize uint64 `mapstructure:"uncompressed_cache_size"`
	// QueryConditionCacheSize bounds the cache of which granules matched a
	// filter.
	QueryConditionCacheSize uint64 `mapstructure:"query_condition_cache_size"`
	// Allocator holds the options of the engine's allocator, jemalloc, in its
	// MALLOC_CONF syntax; empty keeps the engine's. JE_MALLOC_CONF in the
	// environment takes precedence.
	Allocator string `mapstructure:"allocator"`
	// ServerSettings are further ClickHouse server settings by name, passed
	// as they are (e.g. background_pool_size: 4).
	ServerSettings map[string]any `mapstructure:"server_settings"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// NewDefaultEmbeddedConfig returns settings for an engine that shares a
// collector's memory: caches bounded to tens of MiB instead of ClickHouse's
// GiB-sized defaults, and an allocator that returns freed memory within a
// second from one arena instead of after five seconds from one arena per
// CPU, without a cache per thread (the engine keeps hundreds of threads,
// and an idle thread's cache is never emptied). BENCHMARKS.md ("Collector
// memory") has the measurements.
func NewDefaultEmbeddedConfig() EmbeddedConfig {
	return EmbeddedConfig{
		MarkCacheSize:           64 << 20,
		PrimaryIndexCacheSize:   64 << 20,
		IndexMarkCacheSize:      16 << 20,
		QueryConditionCacheSize: 16 << 20,
		Allocator:               "percpu_arena:disabled,narenas:1,dirty_decay_ms:1000,tcache:false",
	}
}

// Settings returns the server settings of the engine by name.
func (c *EmbeddedConfig) Settings() map[string]string {
	s := map[string]string{
		"mark_cache_size":            strconv.FormatUint(c.MarkCacheSize, 10),
		"primary_index_cache_size":   strconv.FormatUint(c.PrimaryIndexCacheSize, 10),
		"index_mark_cache_size":      strconv.FormatUint(c.IndexMarkCacheSize, 10),
		"uncompressed_cache_size":    strconv.FormatUint(c.UncompressedCacheSize, 10),
		"query_condition_cache_size": strconv.FormatUint(c.QueryConditionCacheSize, 10),
	}
	if c.MaxServerMemoryUsage > 0 {
		s["max_server_memory_usage"] = strconv.FormatUint(c.MaxServerMemoryUsage, 10)
	}
	for name, value := range c.ServerSettings {
		s[name] = fmt.Sprint(value)
	}
	return s
}

var (
	serverSettingName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)
	allocatorOptions  = regexp.MustCompile(`^[a-z_]+:[^,:\s]+(,[a-z_]+:[^,:\s]+)*$`)
)

// ownKeys are the server settings with a key of their own in EmbeddedConfig.
var ownKeys = []string{"max_server_memory_usage", "mark_cache_size", "primary_index_cache_size", "index_mark_cache_size", "uncompressed_cache_size", "query_condition_cache_size"}

// Validate reports every problem of the settings at once. The collector
// calls it on its own, as it calls Validate on every nested configuration.
func (c *EmbeddedConfig) Validate() error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(c.ServerSettings)) {
		switch {
		case !serverSettingName.MatchString(name):
			errs = append(errs, fmt.Errorf("server_settings: %q is not a setting name", name))
		case name == "path":
			errs = append(errs, errors.New("server_settings: path comes from the endpoint"))
		case slices.Contains(ownKeys, name):
			errs = append(errs, fmt.Errorf("server_settings: %s has a key of its own", name))
		default:
			if err := checkSettingValue(c.ServerSettings[name]); err != nil {
				errs = append(errs, fmt.Errorf("server_settings: %s: %w", name, err))
			}
		}
	}
	if c.Allocator != "" && !allocatorOptions.MatchString(c.Allocator) {
		errs = append(errs, fmt.Errorf("allocator: %q is not a list of name:value options separated by commas", c.Allocator))
	}
	return errors.Join(errs...)
}

// checkSettingValue accepts the scalar values a server setting can take.
func checkSettingValue(v any) error {
	switch v := v.(type) {
	case string:
		if strings.ContainsAny(v, "\x00\n") {
			return errors.New("the value contains a NUL or a newline")
		}
	case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
	default:
		return fmt.Errorf("the value must be a string, a number or a boolean, not %T", v)
	}
	return nil
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate reports every problem of the settings at once.
func (c *Config) Validate() error {
	var errs []error
	kind, _, err := c.parseEndpoint()
	if err != nil {
		errs = append(errs, err)
	}
	if kind == endpointEmbedded && c.ChdbLibrary == "" {
		errs = append(errs, errors.New("chdb_library: required for a chdb:// endpoint (the path of libchdb.so; `make chdb` installs it)"))
	}
	if !identifier.MatchString(c.Database) {
		errs = append(errs, fmt.Errorf("database: %q is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)", c.Database))
	}
	if c.DialTimeout < 0 {
		errs = append(errs, errors.New("dial_timeout: must not be negative"))
	}
	if c.TTL < 0 || (c.TTL > 0 && c.TTL < 24*time.Hour) {
		errs = append(errs, errors.New("ttl: must be 0 (keep everything) or at least 24h"))
	}
	if c.Cluster != "" {
		errs = append(errs, errors.New("cluster: ON CLUSTER schemas are not supported yet; leave it empty"))
	}
	return errors.Join(errs...)
}

type endpointKind int

const (
	endpointServer endpointKind = iota + 1
	endpointEmbedded
)

// parseEndpoint returns the kind of the endpoint and its address: host:port
// for a server, the data directory for chDB.
func (c *Config) parseEndpoint() (endpointKind, string, error) {
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return 0, "", fmt.Errorf("endpoint: %w", err)
	}
	switch u.Scheme {
	case "tcp", "clickhouse":
		if u.Host == "" {
			return 0, "", fmt.Errorf("endpoint: %q has no host:port", c.Endpoint)
		}
		return endpointServer, u.Host, nil
	case "chdb":
		// chdb:///abs/path and chdb://./relative/path are both accepted.
		path := u.Host + u.Path
		if u.Opaque != "" {
			path = u.Opaque
		}
		if strings.TrimSpace(path) == "" {
			return 0, "", fmt.Errorf("endpoint: %q has no data directory", c.Endpoint)
		}
		return endpointEmbedded, path, nil
	default:
		return 0, "", fmt.Errorf("endpoint: scheme of %q must be tcp, clickhouse or chdb", c.Endpoint)
	}
}
