package app

import (
	"context"
	"log/slog"
)

// The components app builds share one shape: a constructor builds it from
// the configuration and takes what it owns (a port, a directory, a
// session); Run(ctx) error runs its goroutines until ctx ends; Close()
// error releases what it owns. A component that must finish work on the
// way out (the outbox delivering what waits, the guard saying "offline")
// also has Drain(ctx) error, the same as Close but bounded by ctx instead
// of at once.
//
// stack is the cleanup of a start: each construction that succeeded
// pushes what undoes it, each Run started pushes what stops it, and unwind
// undoes them in reverse order. A start that fails half-way and a clean
// shutdown take the same path, so no error path keeps a list of its own.
type stack struct {
	log  *slog.Logger
	undo []undo
}

type undo struct {
	name  string
	close func() error
	// drain, if set, is used instead of close when unwinding gracefully.
	drain func(context.Context) error
}

// push adds what releases a component just built.
func (s *stack) push(name string, close func() error) {
	s.undo = append(s.undo, undo{name: name, close: close})
}

// pushDrain adds a component that is drained on a clean shutdown and
// closed at once when the start fails.
func (s *stack) pushDrain(name string, drain func(context.Context) error, close func() error) {
	s.undo = append(s.undo, undo{name: name, close: close, drain: drain})
}

// run starts a component's Run and pushes what stops it: cancel its ctx
// and wait for it to return. Each Run has a context of its own, not the
// caller's, so that the shutdown stops them one by one in reverse order
// (the cameras before the snapshot worker they feed, for instance) rather
// than all at once. A Run that ends with an error before it is stopped is
// logged; the service goes on without it.
func (s *stack) run(ctx context.Context, name string, run func(context.Context) error) {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := run(rctx); err != nil && rctx.Err() == nil {
			s.log.Error(name+" stopped", "err", err)
		}
	}()
	s.push(name, func() error {
		cancel()
		<-done
		return nil
	})
}

// unwind undoes everything pushed, last first. With ctx nil (a start that
// failed) each component is closed at once; otherwise (shutdown) those that
// drain do, within ctx. Failures are logged; unwinding goes on.
func (s *stack) unwind(ctx context.Context) {
	for i := len(s.undo) - 1; i >= 0; i-- {
		u := s.undo[i]
		var err error
		if ctx != nil && u.drain != nil {
			err = u.drain(ctx)
		} else {
			err = u.close()
		}
		if err != nil {
			s.log.Error(u.name+" not closed cleanly", "err", err)
		}
	}
	s.undo = nil
}
