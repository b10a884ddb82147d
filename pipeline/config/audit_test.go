package config

import "testing"

// TestAuditResolveDir: the trail is beside the outbox unless audit.dir
// says otherwise, never shared by two outboxes, and absent with an outbox
// in memory only.
func TestAuditResolveDir(t *testing.T) {
	tests := []struct {
		audit, outbox, want string
	}{
		{"/srv/trail", "/var/lib/edgeguard/box/outbox", "/srv/trail"},
		{"", "/var/lib/edgeguard/box/outbox", "/var/lib/edgeguard/box/audit"},
		{"", "/data/outbox-a", "/data/outbox-a.audit"},
		{"", "/data/outbox-a/", "/data/outbox-a.audit"},
		{"", "", ""},
		{"/srv/trail", "", "/srv/trail"},
	}
	for _, tt := range tests {
		if got, why := (Audit{Dir: tt.audit}).ResolveDir(tt.outbox); got != tt.want || why == "" {
			t.Errorf("audit.dir %q, outbox %q: %q (%s), want %q", tt.audit, tt.outbox, got, why, tt.want)
		}
	}
}
