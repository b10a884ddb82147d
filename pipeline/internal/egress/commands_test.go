package egress_test

import (
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
)

// operatorClient is a control room's MQTT client.
func operatorClient(t *testing.T, url string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("operator-" + strings.ReplaceAll(t.Name(), "/", "-")).SetProtocolVersion(4))
	if tok := c.Connect(); !tok.WaitTimeout(guardTimeout) || tok.Error() != nil {
		t.Fatalf("operator connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func send(t *testing.T, c mqtt.Client, topic, payload string, retained bool) {
	t.Helper()
	if tok := c.Publish(topic, 1, retained, payload); !tok.WaitTimeout(guardTimeout) || tok.Error() != nil {
		t.Fatalf("operator publish %s: %v", topic, tok.Error())
	}
}

// TestServeCommands: the guard hands over the commands under the command
// prefix for its device only, in order, also after a reconnect on a clean
// session (which forgets subscriptions); a retained command is not obeyed
// again when the broker replays it at the subscription (live, the broker
// clears the retain flag, so it is taken like any other); a reply goes out
// on a result topic only.
func TestServeCommands(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b testBroker) {
		f := newGuard(t, b.url, allowAll, func(c *egress.Config) { c.CleanSession = true })
		got := make(chan egress.Command, 16)
		if err := f.g.ServeCommands(egress.CommandsConfig{Prefix: "ctl/room", Handle: func(c egress.Command) { got <- c }}); err != nil {
			t.Fatal(err)
		}
		if err := f.g.ServeCommands(egress.CommandsConfig{Prefix: "ctl/room", Handle: func(egress.Command) {}}); err == nil {
			t.Error("ServeCommands twice: no error")
		}
		f.connect(t)
		waitUntil(t, "the command topics subscribed", func() bool { return strings.Contains(f.logs.String(), "mqtt command topics subscribed") })
		sub := mosquittotest.Subscribe(t, b.url, "ctl/room/box1/#")
		op := operatorClient(t, b.url)

		send(t, op, "eg/test/box1/cam1/analysis/set", `{"outside":"the command prefix"}`, false)
		send(t, op, "ctl/room/box2/cam1/analysis/set", `{"other":"device"}`, false)
		send(t, op, "ctl/room/box1/cam1/analysis/set", `{"retained":true}`, true)
		send(t, op, "ctl/room/box1/cam1/status/set", `{"not":"a command topic"}`, false)
		send(t, op, "ctl/room/box1/analysis/set", `{"n":1}`, false)
		send(t, op, "ctl/room/box1/cam1/analysis/set", `{"n":2}`, false)
		send(t, op, "ctl/room/box1/cam1/events/ev-1/review", `{"n":3}`, false)
		want := []struct{ levels, payload string }{
			{"cam1/analysis/set", `{"retained":true}`}, {"analysis/set", `{"n":1}`}, {"cam1/analysis/set", `{"n":2}`}, {"cam1/events/ev-1/review", `{"n":3}`},
		}
		for _, w := range want {
			select {
			case c := <-got:
				if strings.Join(c.Levels, "/") != w.levels || string(c.Payload) != w.payload {
					t.Errorf("command %q %s, want %q %s", strings.Join(c.Levels, "/"), c.Payload, w.levels, w.payload)
				}
			case <-time.After(guardTimeout):
				t.Fatalf("command %s not handed over", w.levels)
			}
		}

		// The reply, through the guard, on a result topic only.
		if err := f.g.PublishCommandResult(ctxT(t), "cam1/analysis/set/result", map[string]any{"ok": true}); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"cam1/events", "cam1/analysis/set", "cam1/status/result", "a/b/c/d/e/review/result", "+/analysis/set/result", "cam1//analysis/set/result"} {
			if err := f.g.PublishCommandResult(ctxT(t), bad, map[string]any{"ok": true}); err == nil {
				t.Errorf("PublishCommandResult(%q): no error", bad)
			}
		}
		sub.WaitFor(t, lastIs("ctl/room/box1/cam1/analysis/set/result", `{"ok":true}`), guardTimeout)

		// A connection lost and made again: subscribed again.
		f.gate.cut()
		waitUntil(t, "the reconnect", func() bool { return f.g.Stats().Connects >= 2 })
		waitUntil(t, "the command topics subscribed again", func() bool {
			return strings.Count(f.logs.String(), "mqtt command topics subscribed") >= 2
		})
		send(t, op, "ctl/room/box1/cam2/analysis/set", `{"n":4}`, false)
		select {
		case c := <-got:
			if strings.Join(c.Levels, "/") != "cam2/analysis/set" {
				t.Errorf("after reconnect: command %q", c.Levels)
			}
		case <-time.After(guardTimeout):
			t.Fatal("no command after the reconnect")
		}
		if f.g.CommandDropped() != 1 {
			t.Errorf("dropped %d, want 1 (the retained one, replayed at the new subscription)", f.g.CommandDropped())
		}
	})
}

// TestServeCommandsBusyHandler: a handler that does not return does not
// hold up the MQTT client: the guard keeps publishing and commands over the
// queue's bound are dropped, counted.
func TestServeCommandsBusyHandler(t *testing.T) {
	b := startMosquitto(t)
	f := newGuard(t, b.url, allowAll, nil)
	release := make(chan struct{})
	defer close(release)
	if err := f.g.ServeCommands(egress.CommandsConfig{Prefix: "eg/test", QueueSize: 1, Handle: func(egress.Command) { <-release }}); err != nil {
		t.Fatal(err)
	}
	f.connect(t)
	waitUntil(t, "the command topics subscribed", func() bool { return strings.Contains(f.logs.String(), "mqtt command topics subscribed") })
	op := operatorClient(t, b.url)
	for range 5 {
		send(t, op, "eg/test/box1/analysis/set", `{}`, false)
	}
	// One in the handler, one queued, three dropped.
	waitUntil(t, "commands over the bound dropped", func() bool { return f.g.CommandDropped() == 3 })
	sub := mosquittotest.Subscribe(t, b.url, "eg/test/box1/#")
	if err := f.g.PublishRetained(ctxT(t), "info", map[string]string{"a": "b"}); err != nil {
		t.Fatalf("publish while the handler is busy: %v", err)
	}
	sub.WaitFor(t, lastIs("eg/test/box1/info", `{"a":"b"}`), guardTimeout)
}

func TestServeCommandsRejectsBadConfig(t *testing.T) {
	b := startMosquitto(t)
	f := newGuard(t, b.url, allowAll, nil)
	for _, cfg := range []egress.CommandsConfig{
		{Prefix: "ctl"},
		{Prefix: "ctl/#", Handle: func(egress.Command) {}},
		{Prefix: "", Handle: func(egress.Command) {}},
	} {
		if err := f.g.ServeCommands(cfg); err == nil {
			t.Errorf("ServeCommands(prefix %q): no error", cfg.Prefix)
		}
	}
	if err := f.g.PublishCommandResult(ctxT(t), "analysis/set/result", map[string]any{"ok": true}); err == nil {
		t.Error("PublishCommandResult without ServeCommands: no error")
	}
}

// TestIsCommandTopic: exactly the topics ServeCommands subscribes to, the
// ones the embedded broker seals; replies and other topics are not.
func TestIsCommandTopic(t *testing.T) {
	for topic, want := range map[string]bool{
		"ctl/edge-01/analysis/set":                   true,
		"ctl/edge-01/cam1/analysis/set":              true,
		"ctl/edge-01/cam1/events/01a2/review":        true,
		"ctl/edge-01/analysis/set/result":            false,
		"ctl/edge-01/cam1/analysis/set/result":       false,
		"ctl/edge-01/cam1/events/01a2/review/result": false,
		"ctl/edge-01//analysis/set":                  false,
		"ctl/edge-02/cam1/analysis/set":              false,
		"other/edge-01/cam1/analysis/set":            false,
		"ctl/edge-01/cam1/status":                    false,
		"ctl/edge-01/cam1/events":                    false,
	} {
		if got := egress.IsCommandTopic("ctl", "edge-01", topic); got != want {
			t.Errorf("IsCommandTopic(%q) = %v, want %v", topic, got, want)
		}
	}
}
