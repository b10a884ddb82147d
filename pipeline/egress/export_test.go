package egress

import (
	"context"
	"net"
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

// RedactUserinfo exposes the status error scrubber.
var RedactUserinfo = redactUserinfo
