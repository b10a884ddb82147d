package policy

// AllowsSnapshots reports whether images (anonymised snapshots) may leave
// the device at all; off unless the policy says `egress.snapshots: true`.
func (p *Policy) AllowsSnapshots() bool { return p.Egress.Snapshots }
