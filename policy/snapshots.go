package policy

// AllowsSnapshots reports whether images (anonymised snapshots) may leave
// the device at all; off unless the policy says `egress.snapshots: true`.
func (p *Policy) AllowsSnapshots() bool { return p.Egress.Snapshots }

// AllowsLiveView reports whether the local web console may show the
// cameras' current pictures, anonymised like snapshots; off unless the
// policy says `egress.live_view: true` (which needs snapshots).
func (p *Policy) AllowsLiveView() bool { return p.Egress.LiveView && p.Egress.Snapshots }
