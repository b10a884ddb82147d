package egress_test

import (
	"strings"
	"testing"

	"github.com/edgeguard/edgeguard/internal/mosquittotest"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
)

// TestClientIDTakeoverIsNamed: two guards with one client id on a real
// Mosquitto take the session from each other in a loop (the same config
// started twice). "mqtt connection lost, reconnecting err=EOF" again and
// again would leave the operator guessing (issue 18 item 1): the guard
// says, once, what is going on.
func TestClientIDTakeoverIsNamed(t *testing.T) {
	b := mosquittotest.Start(t)
	const id = "edgeguard-twin"
	same := func(c *egress.Config) { c.ClientID = id }
	first := newGuard(t, b.URL(), allowAll, same)
	first.connect(t)
	second := newGuard(t, b.URL(), allowAll, same)
	second.connect(t) // takes the session over: the first one's connection is closed

	const want = "the broker keeps closing the connection right after connecting: another client is probably using client id " +
		id + " (a second edgeguard with the same device or mqtt.client_id?)"
	said := func() int {
		return strings.Count(first.logs.String(), want) + strings.Count(second.logs.String(), want)
	}
	waitUntil(t, "the takeover error in the log", func() bool { return said() > 0 })
	for _, f := range []fixture{first, second} {
		if n := strings.Count(f.logs.String(), want); n > 1 {
			t.Errorf("said %d times by one guard, want once:\n%s", n, f.logs.String())
		}
	}
}
