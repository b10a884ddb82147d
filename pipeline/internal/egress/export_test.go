package egress

import (
	"context"
	"net"

	"github.com/edgeguard/edgeguard/pipeline/event"
)

// NewWithDialer is New with the network connection opened by dial, so tests
// can cut the guard's connection uncleanly (Last Will) or hold it off.
func NewWithDialer(cfg Config, r Rules, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*Guard, error) {
	return newGuard(cfg, r, dial)
}

// Filter exposes filter for table tests of the pure policy logic.
var Filter = filter

// ValidSegment and ValidPrefix expose the topic checks for fuzzing.
var (
	ValidSegment = validSegment
	ValidPrefix  = validPrefix
)

// Admit runs the guard's whole decision for ev (rules, schedule, rate limit)
// without publishing, for table tests of the pure logic.
func Admit(g *Guard, ev event.Event) error {
	_, _, err := g.admit(g.rules.Load().r, ev)
	return err
}

// OpenSituations is how many situations the rate limiter remembers.
func OpenSituations(g *Guard) int {
	g.limMu.Lock()
	defer g.limMu.Unlock()
	return len(g.lim.open)
}

// AdmitSnapshot runs PublishSnapshot's decision for a snapshot of the
// situation eventID without publishing.
func AdmitSnapshot(g *Guard, camera, eventID string) error {
	return g.admitSnapshot(g.rules.Load().r, camera, eventID)
}

// MaxEndedSituations is how many ended situations the limiter remembers
// for their snapshots.
const MaxEndedSituations = maxEndedSituations
