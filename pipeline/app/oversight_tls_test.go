package app

import (
	"context"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/internal/testlog"
	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/internal/audit"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/oversight"
)

// TestOversightCertificates runs the service with its embedded broker and
// a TLS listener for the control room (mqtt.embedded_tls): an operator's
// client with a certificate of the client CA pauses a camera, and the
// certificate's subject, not the payload's operator, is who the reply, the
// camera's status and the audit trail name (the payload's operator is in
// the trail as what it claimed); the same command from a client of the
// plain loopback listener, also one carrying a forged envelope, is refused
// with a reply and changes nothing.
func TestOversightCertificates(t *testing.T) {
	if testing.Short() {
		t.Skip("real broker and cameras")
	}
	pki := mosquittotest.NewPKI(t)
	cfg := testConfig(t, "", map[string]string{"cam1": staticCamera(t).URL()})
	cfg.MQTT.EmbeddedAddr = freeAddr(t)
	cfg.MQTT.EmbeddedTLS = config.EmbeddedTLS{Addr: freeAddr(t), CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile}
	cfg.HTTP.Addr = freeAddr(t)
	cfg.Audit.Dir = t.TempDir()
	cfg.Commands.Prefix = "ctl"
	logs := &testlog.Buffer{}
	stop := runUntilStopped(t, Options{Config: cfg, Logger: jsonLogger(logs)})
	defer stop()
	waitLog(t, logs, 30*time.Second, "mqtt command topics subscribed", "ctl")

	// The operator's client connects to the TLS listener only; the replies
	// are read there too.
	tlsURL := "ssl://" + cfg.MQTT.EmbeddedTLS.Addr
	sub := mosquittotest.SubscribeWith(t, tlsURL, "ctl/#", mosquittotest.ClientOptions{TLS: pki.ClientTLS()})
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(tlsURL).SetClientID("alice").SetProtocolVersion(4).SetTLSConfig(pki.ClientTLS()))
	if tok := c.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatalf("operator over TLS: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	operator := controlRoom{t, c}
	local := newControlRoom(t, "tcp://"+cfg.MQTT.EmbeddedAddr)
	const subject = "CN=edgeguard-test-client"

	// From the plain listener: refused, whatever the payload says.
	forged := string(oversight.Seal(subject, []byte(`{"state":"paused","operator":"mallory","reason":"r"}`)))
	for _, p := range []string{`{"state":"paused","operator":"mallory","reason":"r"}`, forged} {
		r := command(t, local, sub, "ctl/e2e/cam1/analysis/set", p)
		if r.OK || !strings.Contains(r.Error, "no client certificate") {
			t.Errorf("plain listener %.40s: reply %+v, want refused for want of a certificate", p, r)
		}
	}
	if r := command(t, local, sub, "ctl/e2e/cam1/events/01a2/review", `{"verdict":"dismissed","operator":"mallory"}`); r.OK || !strings.Contains(r.Error, "no client certificate") {
		t.Errorf("plain listener review: reply %+v", r)
	}

	// Over TLS: the certificate names the operator.
	r := command(t, operator, sub, "ctl/e2e/cam1/analysis/set", `{"state":"paused","operator":"bob","reason":"maintenance"}`)
	if !r.OK || r.Operator != subject || r.CertificateSubject != subject {
		t.Fatalf("pause over TLS: reply %+v, want operator and certificate_subject %q", r, subject)
	}
	status := mosquittotest.SubscribeWith(t, tlsURL, "edgeguard/e2e/cam1/status", mosquittotest.ClientOptions{TLS: pki.ClientTLS()})
	status.WaitFor(t, func(m []mosquittotest.Message) bool {
		st, _ := lastStatus(m, "cam1")
		return st.Analysis != nil && st.Analysis.Operator == subject && st.Analysis.Reason == "maintenance"
	}, 30*time.Second)
	e := waitTrail(t, cfg.Audit.Dir, "the pause by the certificate's subject", func(e audit.Entry) bool {
		return e.Kind == audit.KindCommand && e.Result == "ok" && strings.Contains(e.What, "paused")
	})
	if e.Who != subject || !strings.Contains(e.What, `operator field: "bob"`) {
		t.Errorf("trail record %+v: want who %q and the payload's operator as claimed", e, subject)
	}
	for _, e := range trail(cfg.Audit.Dir) {
		if e.Kind == audit.KindCommand && strings.Contains(e.What+e.Who, "mallory") {
			t.Errorf("a refused command's claimed operator is recorded as who sent it: %+v", e)
		}
	}
	stop()
	if _, err := VerifyAudit(cfg.Audit.Dir, ""); err != nil {
		t.Errorf("audit verify: %v", err)
	}
}

// TestEmbeddedTLSRefusesStart: a TLS listener that cannot check its
// clients (a key that is not the certificate's) stops the start, naming
// the files; the box does not run with commands open to anyone.
func TestEmbeddedTLSRefusesStart(t *testing.T) {
	pki := mosquittotest.NewPKI(t)
	cfg := testConfig(t, "", map[string]string{"cam1": "rtsp://127.0.0.1:1/never"})
	cfg.MQTT.EmbeddedAddr = freeAddr(t)
	cfg.MQTT.EmbeddedTLS = config.EmbeddedTLS{Addr: freeAddr(t), CertFile: pki.ServerCert, KeyFile: pki.ClientKey, ClientCAFile: pki.CAFile}
	cfg.HTTP.Addr = freeAddr(t)
	err := Run(context.Background(), Options{Config: cfg, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), pki.ServerCert) || !strings.Contains(err.Error(), pki.ClientKey) || strings.Contains(err.Error(), "another broker") {
		t.Fatalf("Run = %v; want the start refused, naming the certificate and the key", err)
	}
}
