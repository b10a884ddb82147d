package mosquittotest_test

import (
	"crypto/tls"
	"net"
	"strings"
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

func TestStartWithTLSAndPassword(t *testing.T) {
	pki := mosquittotest.NewPKI(t)
	b := mosquittotest.StartWith(t, mosquittotest.Options{
		TLS: pki.Server(), RequireCertificate: true,
		PasswordFile: mosquittotest.NewPasswordFile(t, "tester", "pw-Xy9"),
	})
	if !strings.HasPrefix(b.URL(), "ssl://") {
		t.Fatalf("URL = %s, want ssl://", b.URL())
	}
	co := mosquittotest.ClientOptions{TLS: pki.ClientTLS(), Username: "tester", Password: "pw-Xy9"}
	s := mosquittotest.SubscribeWith(t, b.URL(), "a/#", co)

	connect := func(name string, edit func(*mqtt.ClientOptions)) error {
		o := mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID(name).SetProtocolVersion(4).
			SetTLSConfig(pki.ClientTLS()).SetUsername("tester").SetPassword("pw-Xy9").SetConnectTimeout(guard)
		edit(o)
		c := mqtt.NewClient(o)
		tok := c.Connect()
		if !tok.WaitTimeout(guard) {
			t.Fatalf("%s: connect hangs", name)
		}
		if tok.Error() == nil {
			if tok := c.Publish("a/"+name, 1, false, "hi"); !tok.WaitTimeout(guard) || tok.Error() != nil {
				t.Fatalf("%s: publish: %v", name, tok.Error())
			}
			c.Disconnect(250)
		}
		return tok.Error()
	}
	if err := connect("ok", func(*mqtt.ClientOptions) {}); err != nil {
		t.Fatalf("with CA, client certificate and password: %v", err)
	}
	s.WaitFor(t, has("a/ok", "hi", false), guard)
	for name, edit := range map[string]func(*mqtt.ClientOptions){
		"no-client-cert": func(o *mqtt.ClientOptions) { o.SetTLSConfig(&tls.Config{RootCAs: pki.ClientTLS().RootCAs}) },
		"wrong-password": func(o *mqtt.ClientOptions) { o.SetPassword("nope") },
		"anonymous":      func(o *mqtt.ClientOptions) { o.SetUsername("").SetPassword("") },
		"plain-tcp":      func(o *mqtt.ClientOptions) { o.Servers = nil; o.AddBroker("tcp://" + b.Addr()) },
	} {
		if err := connect(name, edit); err == nil {
			t.Errorf("%s: connected, want refused", name)
		}
	}
}

func TestHasIDs(t *testing.T) {
	msgs := []mosquittotest.Message{
		{Payload: []byte(`{"id":"a","phase":"start"}`)},
		{Payload: []byte(`not json`)},
		{Payload: []byte(`{"id":"b"}`)},
		{Payload: []byte(`{"id":"a"}`)}, // redelivered
	}
	for _, tt := range []struct {
		ids  []string
		want bool
	}{
		{nil, true},
		{[]string{"a"}, true},
		{[]string{"a", "b"}, true},
		{[]string{"a", "c"}, false},
		{[]string{""}, false},
	} {
		if got := mosquittotest.HasIDs(tt.ids...)(msgs); got != tt.want {
			t.Errorf("HasIDs(%q) = %v, want %v", tt.ids, got, tt.want)
		}
	}
}
