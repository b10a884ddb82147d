package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/policy"
)

// policyAudit is the retained message on <prefix>/<device>/policy.
type policyAudit struct {
	Name     string         `json:"name"`
	Version  string         `json:"version"`
	SHA256   string         `json:"sha256"`
	LoadedAt event.Time     `json:"loaded_at"`
	Summary  policy.Summary `json:"summary"`
}

// retainedAckWait is how long a retained device message (policy, audit key)
// waits for the broker's acknowledgement; unacknowledged it stays queued.
const retainedAckWait = 5 * time.Second

func publishPolicy(ctx context.Context, g *egress.Guard, pol *policy.Policy, ackWait time.Duration, log *slog.Logger) {
	a := policyAudit{Name: pol.Name, Version: pol.Version, SHA256: pol.SHA256, LoadedAt: event.Time{Time: time.Now()}, Summary: pol.Summary()}
	pctx, cancel := context.WithTimeout(ctx, ackWait)
	defer cancel()
	if err := g.PublishRetained(pctx, "policy", a); err != nil && !errors.Is(err, egress.ErrQueued) {
		log.Warn("policy audit message not published", "err", err)
	}
}

// publishPolicyRejection says on <prefix>/<device>/policy/error (retained)
// why a reload refused a policy; the previous policy stays in force.
func publishPolicyRejection(ctx context.Context, g *egress.Guard, err error) {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	g.PublishRetained(pctx, "policy/error", map[string]any{"error": err.Error(), "at": event.Time{Time: time.Now()}})
}

// clearPolicyRejection replaces a rejection with an empty error, before
// the new audit message, so that a late subscriber never reads a resolved
// problem as current.
func clearPolicyRejection(ctx context.Context, g *egress.Guard, pol *policy.Policy) {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	g.PublishRetained(pctx, "policy/error", map[string]any{"error": "", "resolved_by_sha256": pol.SHA256, "at": event.Time{Time: time.Now()}})
}
