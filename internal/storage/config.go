package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
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
	}
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
