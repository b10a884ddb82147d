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

	mu sync.Mutex // serialises prepare, commit and close
	// current is the policy section the anonymiser in force was made
	// from: a reload with an equal section keeps it (and its loaded face
	// detector). Compared as a whole value, so a field added to the
	// section is never left out of the comparison.
	current *policy.Anonymisation
}

func (s *snapshots) Wanted() bool {
	p := s.pol.Load()
	return p != nil && p.AllowsSnapshots()
}

func (s *snapshots) Submit(frame *gocv.Mat, camera, eventID string, blobs []image.Rectangle) {
	s.worker.Submit(frame, camera, eventID, blobs)
}

func (s *snapshots) anonymiser() *anonymise.Anonymiser { return s.anon.Load() }

// setPolicy switches to p: prepare, then commit.
func (s *snapshots) setPolicy(p *policy.Policy) error {
	next, err := s.prepare(p)
	if err != nil {
		return err
	}
	next.commit()
	return nil
}

// nextSnapshots is a policy's snapshot settings made ready by prepare, not
// yet in force: commit puts them in force. Only the reloading goroutine
// prepares and commits, one at a time, and a reload prepares them last, so
// that what it prepared is always committed.
type nextSnapshots struct {
	s    *snapshots
	pol  *policy.Policy
	swap bool                  // the anonymiser changes (to anon, nil when snapshots are off)
	anon *anonymise.Anonymiser // built for pol
	cfg  *policy.Anonymisation // what anon was made from
}

// prepare builds what p needs beyond a pointer swap: the anonymiser (and
// its face detector) when p's anonymisation differs from the one in force.
// Nothing changes until commit.
func (s *snapshots) prepare(p *policy.Policy) (*nextSnapshots, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !p.AllowsSnapshots() {
		return &nextSnapshots{s: s, pol: p, swap: true}, nil
	}
	cfg := anonymise.FromPolicy(p.Anonymisation)
	cfg.Logger = s.log
	if s.override != nil {
		cfg = s.override(cfg)
	}
	if s.current != nil && *s.current == p.Anonymisation && s.anon.Load() != nil {
		return &nextSnapshots{s: s, pol: p}, nil
	}
	a, err := anonymise.New(cfg)
	if err != nil {
		return nil, err
	}
	section := p.Anonymisation
	return &nextSnapshots{s: s, pol: p, swap: true, anon: a, cfg: &section}, nil
}

// commit puts the prepared settings in force. It never leaves a window in
// which an image could leave under settings weaker than the policy's: the
// policy pointer that gates snapshots is swapped after the anonymiser for
// it is in place, and before the anonymiser goes when snapshots go off.
func (n *nextSnapshots) commit() {
	s := n.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !n.pol.AllowsSnapshots() {
		s.pol.Store(n.pol)
		s.replace(nil, nil)
		return
	}
	if n.swap {
		s.replace(n.anon, n.cfg)
	}
	s.pol.Store(n.pol)
}

func (s *snapshots) replace(a *anonymise.Anonymiser, cfg *policy.Anonymisation) {
	if old := s.anon.Swap(a); old != nil {
		// Apply serialises with Close: a snapshot in progress finishes
		// first, later ones see a closed anonymiser and are withheld.
		old.Close()
	}
	s.current = cfg
}

// close closes the anonymiser; no image leaves after it.
func (s *snapshots) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replace(nil, nil)
	return nil
}

// outboxSnapshots is the snapshot worker's Publisher: finished images go
// into the outbox, behind their situation's start, not straight to the
// guard, which could not yet have judged the start during a backlog.
type outboxSnapshots struct{ box *outbox.Outbox }

func (q outboxSnapshots) PublishSnapshot(ctx context.Context, camera, eventID string, jpeg []byte) error {
	return q.box.Snapshot(ctx, camera, eventID, jpeg)
}
