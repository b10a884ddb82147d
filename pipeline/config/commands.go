package config

import (
	"strings"

	"github.com/edgeguard/edgeguard/policy/yamlstrict"
)

// Commands are the operator commands the service accepts over MQTT
// (docs/oversight.md): pausing and resuming analysis, and reviews of
// events. Only topics under Prefix are subscribed to; who may publish
// there is the broker's ACL's to decide.
type Commands struct {
	// Enabled subscribes to the command topics (default true: the human
	// oversight a deployer owes, Art. 14 AI Act). false: no commands, and
	// the pause state saved earlier still holds.
	Enabled bool `yaml:"enabled"`
	// Prefix is the first topic levels of the commands,
	// <prefix>/<device>/...; "" (the default) is mqtt.topic_prefix. A
	// prefix of its own lets the broker's ACL give the command topics to
	// the control room alone.
	Prefix string `yaml:"prefix"`
}

// ResolvePrefix is the prefix commands are under: Prefix, or the MQTT
// topic prefix when it is empty.
func (c Commands) ResolvePrefix(mqttPrefix string) string {
	if c.Prefix != "" {
		return c.Prefix
	}
	return mqttPrefix
}

func validateCommands(d *yamlstrict.Decoder, c *Commands) {
	p := c.Prefix
	switch {
	case p == "":
	case strings.ContainsAny(p, "+#"):
		d.Errorf("commands.prefix", "must not contain the MQTT wildcards + or #; e.g. edgeguard-control, or \"\" for mqtt.topic_prefix")
	case strings.HasPrefix(p, "$"):
		d.Errorf("commands.prefix", "must not start with $ (reserved for the broker)")
	case strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//"):
		d.Errorf("commands.prefix", "must not start or end with / or contain //; e.g. city/edgeguard-control")
	case len(p) > 128 || hasControl(p) || strings.ContainsRune(p, ' '):
		d.Errorf("commands.prefix", "must be at most 128 characters without spaces")
	}
}
