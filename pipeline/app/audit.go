package app

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/edgeguard/edgeguard/internal/redact"
	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/pipeline/event"
	"github.com/edgeguard/edgeguard/pipeline/internal/audit"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/pipeline/internal/egress/outbox"
	"github.com/edgeguard/edgeguard/policy"
)

// AuditReport is what VerifyAudit read (see audit.Report).
type AuditReport = audit.Report

// VerifyAudit checks the audit trail in dir (`edgeguard audit verify`):
// with the public key at keyPath, or the one in dir when keyPath is "".
// The error names the first record that does not hold.
func VerifyAudit(dir, keyPath string) (AuditReport, error) {
	if keyPath == "" {
		return audit.Verify(dir)
	}
	pub, err := audit.ReadPublicKey(keyPath)
	if err != nil {
		return AuditReport{}, err
	}
	return audit.VerifyKey(dir, pub)
}

// ExportAudit writes the records of the trail in dir from from to to as
// JSON lines (`edgeguard audit export`); see audit.Export.
func ExportAudit(dir string, from, to time.Time, w io.Writer) error {
	return audit.Export(dir, from, to, w)
}

// auditTrail is the service's audit trail: what the app and the guard
// record goes through Record. A nil log (outbox.memory without audit.dir)
// records nothing. A failing trail does not stop the service: it is
// logged once, as an error, and counted on by whoever reads the log; the
// events themselves still obey the policy.
type auditTrail struct {
	log    *audit.Log
	logger *slog.Logger
	lock   *outbox.DirLock
	dir    string // "" without a trail

	mu      sync.Mutex
	failing bool
	cams    map[string]string // the last state recorded per camera
}

// openAudit opens the trail of cfg, its outbox being in boxDir, and
// records the start, the configuration and the policy.
func openAudit(cfg *config.Config, configPath, boxDir string, pol *policy.Policy, log *slog.Logger) (*auditTrail, error) {
	t := &auditTrail{logger: log, cams: map[string]string{}}
	dir, why := cfg.Audit.ResolveDir(boxDir)
	if dir == "" {
		log.Warn("no audit trail: " + why)
		return t, nil
	}
	l, lock, err := lockAndOpen(dir, pol.Retention.Audit, log)
	if err != nil {
		return nil, err
	}
	t.log, t.lock, t.dir = l, lock, dir
	seq, _ := l.Head()
	log.Info("audit trail", "dir", dir, "why", why, "seq", seq, "retention", pol.Retention.Audit, "key_sha256", audit.Fingerprint(l.PublicKey()))
	t.Record(audit.Record{Kind: audit.KindStart, Who: "edgeguard " + buildVersion()})
	if configPath != "" {
		t.Record(audit.Record{Kind: audit.KindConfigLoaded, File: configPath, SHA256: fileSHA256(configPath)})
	}
	t.policyLoaded(cfg, pol)
	return t, nil
}

// lockAndOpen creates the trail's directory, locks it (one service per
// trail: a second one would interleave its chain) and opens the trail
// with the given retention (0: no pruning).
func lockAndOpen(dir string, retention time.Duration, log *slog.Logger) (*audit.Log, *outbox.DirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("audit.dir: %s cannot be used: %w; set audit.dir to a directory edgeguard can write", dir, err)
	}
	lock, err := outbox.LockDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("audit.dir: %w", err)
	}
	l, err := audit.Open(audit.Config{Dir: dir, Retention: retention, Logger: log})
	if err != nil {
		lock.Release()
		return nil, nil, fmt.Errorf("audit.dir: %w", err)
	}
	return l, lock, nil
}

// recordRefusedStart puts a start that check refused into the trail, when
// the configuration says where the trail is: the issue's "every policy and
// configuration loaded or rejected" holds for the start too, so a box that
// did not run for days shows why. The trail is opened without pruning (the
// policy that says how long to keep it may be what failed; the next start
// prunes) and only for this record; a trail that another instance holds,
// or that cannot be opened, is left alone with a log line: the refusal
// itself stands either way.
func recordRefusedStart(cfg *config.Config, configPath string, given *policy.Policy, chk *Checked, refusal error, log *slog.Logger) {
	outboxDir := ""
	if chk != nil {
		outboxDir = chk.Outbox.Dir
	}
	dir, _ := cfg.Audit.ResolveDir(outboxDir)
	if dir == "" {
		return
	}
	l, lock, err := lockAndOpen(dir, 0, log)
	if err != nil {
		log.Warn("refused start not recorded in the audit trail", "dir", dir, "err", err)
		return
	}
	defer lock.Release()
	r := audit.Record{Kind: audit.KindConfigRejected, File: configPath, SHA256: fileSHA256(configPath)}
	if given == nil && (chk == nil || chk.Policy == nil) && cfg.Policy != "" {
		// The policy did not load: the file to name is the policy's.
		r = audit.Record{Kind: audit.KindPolicyRejected, File: cfg.Policy, SHA256: fileSHA256(cfg.Policy)}
	}
	r.What, r.Detail = "start refused", refusal.Error()
	if err := l.Append(r); err != nil {
		log.Warn("refused start not recorded in the audit trail", "dir", dir, "err", err)
	}
	if err := l.Close(); err != nil {
		log.Warn("audit trail not closed cleanly", "dir", dir, "err", err)
	}
}

// reportedEvents are the last n situations the trail says the cameras
// reported while not paused (published, or withheld by the policy), oldest
// first: what a review may name after a restart. Nil without a trail.
func (t *auditTrail) reportedEvents(n int) ([]audit.Entry, error) {
	if t == nil || t.dir == "" {
		return nil, nil
	}
	seen := map[string]bool{}
	return audit.Recent(t.dir, n, func(e audit.Entry) bool {
		reported := e.Kind == audit.KindEventPublished || (e.Kind == audit.KindEventWithheld && e.Reason != withheldPaused)
		if !reported || e.EventID == "" || seen[e.EventID] {
			return false
		}
		seen[e.EventID] = true
		return true
	})
}

// buildVersion is the module's version as built (for the start record).
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(unknown)"
}

// Record appends r; safe for concurrent use (the guard calls it).
func (t *auditTrail) Record(r audit.Record) {
	if t == nil || t.log == nil {
		return
	}
	if r.Kind == audit.KindCameraState {
		t.mu.Lock()
		same := t.cams[r.Camera] == r.State
		t.cams[r.Camera] = r.State
		t.mu.Unlock()
		if same {
			return // a re-sent status is not a change
		}
	}
	r.Detail = redact.Text(r.Detail)
	err := t.log.Append(r)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case err != nil && !t.failing:
		t.failing = true
		t.logger.Error("audit trail: record not written; later records are not written either until this is fixed", "kind", r.Kind, "err", err)
	case err == nil && t.failing:
		t.failing = false
		t.logger.Info("audit trail: records written again")
	}
}

func (t *auditTrail) policyLoaded(cfg *config.Config, pol *policy.Policy) {
	file := cfg.Policy
	if file == "" {
		file = "(built-in)"
	}
	t.Record(audit.Record{Kind: audit.KindPolicyLoaded, File: file, SHA256: pol.SHA256, What: pol.Name + " " + pol.Version})
	if t != nil && t.log != nil {
		t.log.SetRetention(pol.Retention.Audit)
	}
}

// reloaded records a reload applied.
func (t *auditTrail) reloaded(configPath string, cfg *config.Config, pol *policy.Policy) {
	if configPath != "" {
		t.Record(audit.Record{Kind: audit.KindConfigLoaded, File: configPath, SHA256: fileSHA256(configPath)})
	}
	t.policyLoaded(cfg, pol)
}

// rejected records a reload refused.
func (t *auditTrail) rejected(configPath string, cfg *config.Config, r *rejection) {
	if r.policy {
		t.Record(audit.Record{Kind: audit.KindPolicyRejected, File: cfg.Policy, SHA256: fileSHA256(cfg.Policy), Detail: r.err.Error()})
		return
	}
	t.Record(audit.Record{Kind: audit.KindConfigRejected, File: configPath, SHA256: fileSHA256(configPath), Detail: r.err.Error()})
}

// close records the stop and closes the trail; the last thing undone.
func (t *auditTrail) close() error {
	if t.log == nil {
		return nil
	}
	t.Record(audit.Record{Kind: audit.KindStop})
	err := t.log.Close()
	t.lock.Release()
	return err
}

// auditor is what the guard records through (nil when there is no trail,
// so the guard does not call into nothing).
func (t *auditTrail) auditor() egress.Auditor {
	if t.log == nil {
		return nil
	}
	return t
}

// auditKey is the retained message on <prefix>/<device>/audit/key: the
// public key the trail verifies with and the chain head at the start, so
// that a copy off the box shows a replaced key or a rewritten trail.
type auditKey struct {
	Algorithm string     `json:"algorithm"`
	PublicKey string     `json:"public_key"` // base64 of the 32 bytes
	SHA256    string     `json:"sha256"`     // of the key's bytes
	HeadSeq   uint64     `json:"head_seq"`
	HeadHash  string     `json:"head_sha256"`
	At        event.Time `json:"at"`
}

// publishAuditKey publishes the key through the guard, retained, and
// records that it did.
func publishAuditKey(ctx context.Context, g *egress.Guard, t *auditTrail, ackWait time.Duration, log *slog.Logger) {
	if t.log == nil {
		return
	}
	pub := t.log.PublicKey()
	seq, head := t.log.Head()
	msg := auditKey{Algorithm: "ed25519", PublicKey: base64.StdEncoding.EncodeToString(pub), SHA256: audit.Fingerprint(pub),
		HeadSeq: seq, HeadHash: head, At: event.Time{Time: time.Now()}}
	pctx, cancel := context.WithTimeout(ctx, ackWait)
	defer cancel()
	if err := g.PublishRetained(pctx, "audit/key", msg); err != nil && !errors.Is(err, egress.ErrQueued) {
		log.Warn("audit key not published", "err", err)
		return
	}
	t.Record(audit.Record{Kind: audit.KindKeyPublished, SHA256: msg.SHA256, Who: "mqtt audit/key"})
}

// auditHeadInterval is how often the chain head is published again, so a
// copy off the box holds a recent head, not only the one of the last
// start: a trail cut short or rewritten after it no longer contains a head
// the control room stored (docs/audit.md). Hourly: each is one retained
// message and one record.
const auditHeadInterval = time.Hour

// publishAuditHeads publishes the key and chain head every interval until
// ctx ends; without a trail it returns at once.
func (a *app) publishAuditHeads(ctx context.Context) error {
	if a.audit == nil || a.audit.log == nil {
		return nil
	}
	t := time.NewTicker(cmp.Or(a.opts.auditHeadEvery, auditHeadInterval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			// Queued, not awaited: the outbox delivers it in order.
			publishAuditKey(ctx, a.guard, a.audit, 0, a.log)
		}
	}
}

// fileSHA256 is the SHA-256 of a file's bytes, "" when it cannot be read.
func fileSHA256(path string) string {
	if path == "" {
		return ""
	}
	b, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return ""
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
