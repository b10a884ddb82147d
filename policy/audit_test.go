package policy

import (
	"testing"
	"time"
)

// TestRetentionAudit: retention.audit defaults to 183 days, the AI Act's
// minimum, and a shorter one is refused, naming the field.
func TestRetentionAudit(t *testing.T) {
	tests := []struct {
		name, set string
		want      time.Duration
		err       string
	}{
		{"not set", "", MinAuditRetention, ""},
		{"a year", "  audit: 365d\n", 365 * 24 * time.Hour, ""},
		{"exactly 183d", "  audit: 183d\n", MinAuditRetention, ""},
		{"too short", "  audit: 90d\n", 0, "p.yaml:13:3: retention.audit: 90d is too short; allowed: at least 183d (the AI Act asks for six months), or leave it out for 183d"},
		{"zero", "  audit: 0s\n", 0, "p.yaml:13:3: retention.audit: 0s is too short; allowed: at least 183d (the AI Act asks for six months), or leave it out for 183d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("p.yaml", []byte(edit(t, "  outbox: 24h\n", "  outbox: 24h\n"+tt.set)))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Retention.Audit != tt.want {
				t.Errorf("retention.audit %s, want %s", p.Retention.Audit, tt.want)
			}
		})
	}
}
