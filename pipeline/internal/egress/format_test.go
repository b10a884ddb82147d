package egress_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/policy"
)

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want egress.Format
	}{{"", egress.FormatEdgeguard}, {"edgeguard", egress.FormatEdgeguard}, {"onvif", egress.FormatONVIF}, {"both", egress.FormatBoth}} {
		if got, err := egress.ParseFormat(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, name := range egress.FormatNames {
		f, err := egress.ParseFormat(name)
		if err != nil || f.String() != name {
			t.Errorf("ParseFormat(%q) = %v, %v", name, f, err)
		}
	}
	if !slices.Equal(egress.FormatNames, config.MQTTFormats) {
		t.Errorf("egress.FormatNames %v, config.MQTTFormats %v: the config must allow exactly the formats the guard knows", egress.FormatNames, config.MQTTFormats)
	}
	if _, err := egress.ParseFormat("ONVIF"); err == nil || !strings.Contains(err.Error(), "edgeguard, onvif, both") {
		t.Errorf("err = %v, want the allowed values", err)
	}
}

// TestONVIFTopicsOnlyFromEvents: the ONVIF topics carry events, so nothing
// but the event path (which applies the policy) may publish on them.
func TestONVIFTopicsOnlyFromEvents(t *testing.T) {
	g, err := egress.New(egress.Config{Broker: "tcp://127.0.0.1:1", TopicPrefix: "eg", Device: "dev1", Logger: testlog.Discard()}, policy.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	err = g.PublishRetained(context.Background(), "onvif-ej/RuleEngine/FieldDetector/ObjectsInside", map[string]bool{"IsInside": true})
	if err == nil || !strings.Contains(err.Error(), "ONVIF") {
		t.Errorf("PublishRetained on an ONVIF topic: %v, want refused", err)
	}
	if _, err := g.EventPublisher(0, nil); err == nil {
		t.Error("EventPublisher(0) accepted")
	}
	if p, err := g.EventPublisher(egress.FormatBoth, nil); err != nil || p.Format() != egress.FormatBoth {
		t.Errorf("EventPublisher(both) = %v, %v", p, err)
	}
}
