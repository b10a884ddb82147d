package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/config"
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

func publishPolicy(ctx context.Context, g *egress.Guard, pol *policy.Policy, log *slog.Logger) {
	a := policyAudit{Name: pol.Name, Version: pol.Version, SHA256: pol.SHA256, LoadedAt: event.Time{Time: time.Now()}, Summary: pol.Summary()}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := g.PublishRetained(pctx, "policy", a); err != nil && !errors.Is(err, egress.ErrQueued) {
		log.Warn("policy audit message not published", "err", err)
	}
}

// reloadPolicy builds the new policy fully before anything changes; a
// policy that fails to load changes nothing and is reported.
//
// A rejection is published retained on <prefix>/<device>/policy/error; the
// next successful reload replaces it with an empty error (before the new
// audit message), so a late subscriber never reads a resolved problem as
// current.
//
// prepare gets the new policy ready in the parts that need more than a
// pointer swap (the anonymiser) before the guard starts applying it.
func reloadPolicy(ctx context.Context, cfg *config.Config, g *egress.Guard, log *slog.Logger, clearRejection bool, prepare func(*policy.Policy) error) *policy.Policy {
	next, err := LoadPolicy(cfg)
	if err == nil {
		var warnings []string
		warnings, err = checkPolicy(cfg, next)
		for _, w := range warnings {
			log.Warn(w)
		}
	}
	if err == nil {
		err = prepare(next)
	}
	if err != nil {
		log.Error("policy reload rejected; the previous policy stays in force", "err", err)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		g.PublishRetained(pctx, "policy/error", map[string]any{"error": err.Error(), "at": event.Time{Time: time.Now()}})
		return nil
	}
	g.SetRules(next)
	if clearRejection {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		g.PublishRetained(pctx, "policy/error", map[string]any{"error": "", "resolved_by_sha256": next.SHA256, "at": event.Time{Time: time.Now()}})
		cancel()
	}
	publishPolicy(ctx, g, next, log)
	log.Info("policy reloaded", "policy", next.Name, "policy_sha256", next.SHA256)
	return next
}
