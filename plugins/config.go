package plugins

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Config configures a Manager. Start from DefaultConfig; zero durations
// and capacities mean their defaults (a zero Backoff.Jitter means none).
type Config struct {
	// Agents maps an agent type to how its plugin runs.
	Agents map[string]AgentConfig
	// PluginDir, when set, is searched for plugin binaries named
	// hive-agent-<type> (see Discover): each one found runs agent type
	// <type> unless Agents configures that type, and a configured type
	// without a Path takes its binary from here.
	PluginDir string
	// Logger receives the Manager's logs and every plugin's stderr, each
	// plugin under the name "plugin.<type>". Nil discards them.
	Logger hclog.Logger
	// StartTimeout bounds one start of a plugin: its handshake, and its
	// answer to Describe.
	StartTimeout time.Duration
	// Backoff spaces the restarts of a plugin that crashed or failed to
	// start.
	Backoff Backoff
	// DefaultCapacity is the capacity of an agent type whose AgentConfig
	// sets none and whose plugin declares no MaxConcurrency.
	DefaultCapacity int
	// Env is added to the environment of every plugin.
	Env []string
	// DisableMTLS turns off go-plugin's automatic mutual TLS (see
	// LaunchConfig.DisableMTLS).
	DisableMTLS bool
	// TempDir is every plugin's LaunchConfig.TempDir: an existing
	// directory for their sockets and temporary files; empty: the
	// system's temporary directory.
	TempDir string
}

// AgentConfig says how one agent type's plugin runs.
type AgentConfig struct {
	Path string   // the plugin binary; empty: hive-agent-<type> in PluginDir
	Args []string // arguments of the binary
	Env  []string // added to the plugin's environment
	// Config is sent to the plugin in every task of this type
	// (Task.Config): JSON, described by the type's ConfigSchema.
	Config json.RawMessage
	// Capacity is how many tasks of this type may run at once in its
	// process. Zero means the plugin's MaxConcurrency for the type, or
	// Config.DefaultCapacity when it declares none. A capacity above the
	// plugin's MaxConcurrency is lowered to it.
	Capacity int
}

// Backoff is an exponential backoff with jitter: the first restart after
// a failure waits Initial, every further consecutive one twice as long,
// up to Max. A process that ran ResetAfter without failing starts over at
// Initial.
type Backoff struct {
	Initial    time.Duration
	Max        time.Duration
	ResetAfter time.Duration
	// Jitter spreads each delay uniformly by ± this fraction (0.2: ±20 %);
	// zero spreads nothing. DefaultConfig sets DefaultBackoffJitter.
	Jitter float64
}

// Defaults of Config.
const (
	DefaultCapacity          = 4
	DefaultBackoffInitial    = 500 * time.Millisecond
	DefaultBackoffMax        = time.Minute
	DefaultBackoffResetAfter = time.Minute
	DefaultBackoffJitter     = 0.2
)

// DefaultConfig returns a Config with every default set and no agents.
func DefaultConfig() Config {
	return Config{
		Agents:       map[string]AgentConfig{},
		StartTimeout: DefaultStartTimeout,
		Backoff: Backoff{
			Initial:    DefaultBackoffInitial,
			Max:        DefaultBackoffMax,
			ResetAfter: DefaultBackoffResetAfter,
			Jitter:     DefaultBackoffJitter,
		},
		DefaultCapacity: DefaultCapacity,
	}
}

// withDefaults returns a copy of c with zero fields set to their defaults
// and a copied Agents map.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.Agents = maps.Clone(c.Agents)
	if c.Agents == nil {
		c.Agents = map[string]AgentConfig{}
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = d.StartTimeout
	}
	if c.Backoff.Initial <= 0 {
		c.Backoff.Initial = d.Backoff.Initial
	}
	if c.Backoff.Max <= 0 {
		c.Backoff.Max = max(d.Backoff.Max, c.Backoff.Initial)
	}
	if c.Backoff.ResetAfter <= 0 {
		c.Backoff.ResetAfter = d.Backoff.ResetAfter
	}
	if c.DefaultCapacity <= 0 {
		c.DefaultCapacity = d.DefaultCapacity
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	return c
}

// Validate reports every problem of c at once: invalid type names,
// negative capacities, configurations that are not JSON, a backoff whose
// maximum is below its start or whose jitter is outside [0, 1).
func (c *Config) Validate() error {
	var errs []error
	for _, typ := range slices.Sorted(maps.Keys(c.Agents)) {
		a := c.Agents[typ]
		if strings.HasPrefix(typ, "hive.") {
			errs = append(errs, fmt.Errorf("agent type %q: the prefix \"hive.\" is reserved", typ))
		} else if err := ValidTypeName(typ); err != nil {
			errs = append(errs, err)
		}
		if a.Capacity < 0 {
			errs = append(errs, fmt.Errorf("agent type %q: negative capacity %d", typ, a.Capacity))
		}
		if len(a.Config) > 0 && !json.Valid(a.Config) {
			errs = append(errs, fmt.Errorf("agent type %q: config is not valid JSON", typ))
		}
	}
	if c.DefaultCapacity < 0 {
		errs = append(errs, fmt.Errorf("negative default capacity %d", c.DefaultCapacity))
	}
	if c.Backoff.Max > 0 && c.Backoff.Max < c.Backoff.Initial {
		errs = append(errs, fmt.Errorf("backoff: max %s is below initial %s", c.Backoff.Max, c.Backoff.Initial))
	}
	if c.Backoff.Jitter < 0 || c.Backoff.Jitter >= 1 {
		errs = append(errs, fmt.Errorf("backoff: jitter %g is outside [0, 1)", c.Backoff.Jitter))
	}
	return errors.Join(errs...)
}

// resolve merges the configured agents with the binaries found in
// PluginDir and returns the agent configuration of every type.
func (c *Config) resolve() (map[string]AgentConfig, error) {
	found := map[string]string{}
	if c.PluginDir != "" {
		var err error
		if found, err = Discover(c.PluginDir); err != nil {
			return nil, err
		}
	}
	agents := maps.Clone(c.Agents)
	var errs []error
	for _, typ := range slices.Sorted(maps.Keys(agents)) {
		a := agents[typ]
		if a.Path != "" {
			continue
		}
		path, ok := found[typ]
		if !ok {
			where := "no --plugin-dir is set"
			if c.PluginDir != "" {
				where = c.PluginDir + " has no " + BinaryPrefix + typ
			}
			errs = append(errs, fmt.Errorf("agent type %q: no plugin binary: set its path, or install %s%s in the plugin directory (%s)", typ, BinaryPrefix, typ, where))
			continue
		}
		a.Path = path
		agents[typ] = a
	}
	for typ, path := range found {
		if _, ok := agents[typ]; !ok {
			agents[typ] = AgentConfig{Path: path}
		}
	}
	return agents, errors.Join(errs...)
}
