package app

import (
	"context"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"

	"gocv.io/x/gocv"

	"github.com/edgeguard/edgeguard/pipeline/internal/egress/anonymise"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/outbox"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/snapshot"
	"github.com/edgeguard/edgeguard/policy"
)

// snapshots connects the cameras to the snapshot worker and keeps the
// anonymiser in line with the policy in force. The anonymiser (and its face
// detector) exists only while the policy allows snapshots; a new one is
// built when the anonymisation settings change, and until it is warmed up
// every snapshot is withheld (fail closed).
type snapshots struct {
	worker   *snapshot.Worker
	log      *slog.Logger
	override func(anonymise.Config) anonymise.Config // tests

	pol  atomic.Pointer[policy.Policy]
	anon atomic.Pointer[anonymise.Anonymiser]

	mu      sync.Mutex // serialises setPolicy
	current *anonymise.Config
}

func (s *snapshots) Wanted() bool {
	p := s.pol.Load()
	return p != nil && p.AllowsSnapshots()
}

func (s *snapshots) Submit(frame *gocv.Mat, camera, eventID string, blobs []image.Rectangle) {
	s.worker.Submit(frame, camera, eventID, blobs)
}

func (s *snapshots) anonymiser() *anonymise.Anonymiser { return s.anon.Load() }

// setPolicy switches to p. It never leaves a window in which an image could
// leave under settings weaker than p's: the policy pointer that gates
// snapshots is swapped after the anonymiser for p is in place.
func (s *snapshots) setPolicy(p *policy.Policy) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !p.AllowsSnapshots() {
		s.pol.Store(p)
		s.replace(nil, nil)
		return nil
	}
	cfg := anonymise.FromPolicy(p.Anonymisation)
	cfg.Logger = s.log
	if s.override != nil {
		cfg = s.override(cfg)
	}
	if s.current == nil || !sameAnonymisation(*s.current, cfg) || s.anon.Load() == nil {
		a, err := anonymise.New(cfg)
		if err != nil {
			return err
		}
		s.replace(a, &cfg)
	}
	s.pol.Store(p)
	return nil
}

func (s *snapshots) replace(a *anonymise.Anonymiser, cfg *anonymise.Config) {
	if old := s.anon.Swap(a); old != nil {
		// Apply serialises with Close: a snapshot in progress finishes
		// first, later ones see a closed anonymiser and are withheld.
		old.Close()
	}
	s.current = cfg
}

func sameAnonymisation(a, b anonymise.Config) bool {
	return a.Method == b.Method && a.PixelateBlocks == b.PixelateBlocks && a.BlurSigma == b.BlurSigma &&
		a.Margin == b.Margin && a.Persons == b.Persons
}

func (s *snapshots) close() { s.mu.Lock(); s.replace(nil, nil); s.mu.Unlock() }

// outboxSnapshots is the snapshot worker's Publisher: finished images go
// into the outbox, behind their situation's start, not straight to the
// guard, which could not yet have judged the start during a backlog.
type outboxSnapshots struct{ box *outbox.Outbox }

func (q outboxSnapshots) PublishSnapshot(ctx context.Context, camera, eventID string, jpeg []byte) error {
	return q.box.Snapshot(ctx, camera, eventID, jpeg)
}
