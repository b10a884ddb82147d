package config

import (
	"strings"
	"testing"
)

func TestCommands(t *testing.T) {
	cfg, err := Parse("e.yaml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Commands.Enabled || cfg.Commands.Prefix != "" || cfg.Commands.ResolvePrefix(cfg.MQTT.TopicPrefix) != "edgeguard" {
		t.Errorf("default commands %+v, want enabled under mqtt.topic_prefix", cfg.Commands)
	}
	cfg, err = Parse("e.yaml", []byte(valid+"commands: {enabled: false, prefix: city/edgeguard-control}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Commands.Enabled || cfg.Commands.ResolvePrefix("edgeguard") != "city/edgeguard-control" {
		t.Errorf("commands %+v", cfg.Commands)
	}
	for _, tt := range []struct{ in, err string }{
		{"commands: {prefix: 'ctl/#'}", "commands.prefix: must not contain the MQTT wildcards"},
		{"commands: {prefix: $SYS}", "commands.prefix: must not start with $"},
		{"commands: {prefix: ctl/}", "commands.prefix: must not start or end with /"},
		{"commands: {prefix: a b}", "commands.prefix: must be at most 128 characters without spaces"},
		{"commands: {prefx: ctl}", "commands.prefx: unknown field"},
		{"commands: {enabled: maybe}", "commands.enabled"},
	} {
		_, err := Parse("e.yaml", []byte(valid+tt.in+"\n"))
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: %v, want %q", tt.in, err, tt.err)
		}
	}
}
