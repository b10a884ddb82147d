package mosquittotest_test

import (
	"net"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
)

const guard = 20 * time.Second // failure guard only

func publish(t *testing.T, url, topic, payload string, retained bool) {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("pub-" + t.Name()).SetProtocolVersion(4))
	if tok := c.Connect(); !tok.WaitTimeout(guard) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(250)
	if tok := c.Publish(topic, 1, retained, payload); !tok.WaitTimeout(guard) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

func has(topic, payload string, retained bool) func([]mosquittotest.Message) bool {
	return func(ms []mosquittotest.Message) bool {
		for _, m := range ms {
			if m.Topic == topic && string(m.Payload) == payload && m.Retained == retained {
				return true
			}
		}
		return false
	}
}

func TestStartSubscribeRetained(t *testing.T) {
	b := mosquittotest.Start(t)
	publish(t, b.URL(), "a/b", "kept", true)

	s := mosquittotest.Subscribe(t, b.URL(), "a/#")
	s.WaitFor(t, has("a/b", "kept", true), guard)

	publish(t, b.URL(), "a/c", "live", false)
	got := s.WaitFor(t, has("a/c", "live", false), guard)
	if len(got) != 2 {
		t.Fatalf("want 2 messages, got:\n%s", mosquittotest.Dump(got))
	}
}

func TestStopRestartSamePort(t *testing.T) {
	b := mosquittotest.Start(t)
	addr := b.Addr()
	s := mosquittotest.Subscribe(t, b.URL(), "x/#")

	b.Stop()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("broker still accepts connections after Stop")
	}
	b.Stop() // idempotent

	b.Restart()
	if b.Addr() != addr {
		t.Fatalf("address changed: %s → %s", addr, b.Addr())
	}
	// The subscriber resubscribes on reconnect; publish until it sees one,
	// because messages sent before its resubscription are (correctly) missed.
	deadline := time.Now().Add(guard)
	for len(s.Messages()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("subscriber did not resubscribe after restart")
		}
		publish(t, b.URL(), "x/y", "after-restart", false)
		time.Sleep(50 * time.Millisecond)
	}
	s.WaitFor(t, has("x/y", "after-restart", false), guard)
}

func TestKill(t *testing.T) {
	b := mosquittotest.Start(t)
	b.Kill()
	if c, err := net.DialTimeout("tcp", b.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatalf("broker still accepts connections after Kill")
	}
	b.Restart()
	publish(t, b.URL(), "k", "v", false)
}
