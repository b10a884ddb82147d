package app

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/policy"
)

// state is what runs: the configuration and the policy in force, and the
// cameras built from them.
type state struct {
	cfg  *config.Config
	pol  *policy.Policy
	cams []cameraConfig
}

// nextState is a reload built in full and checked, not applied yet: the
// files loaded and validated, the policy checked against the
// configuration, the cameras to start or restart built once, the
// anonymiser for the policy made.
type nextState struct {
	state
	plan  cameraPlan
	snaps *nextSnapshots
}

// rejection is a reload refused, before anything changed. policy says the
// policy (or the configuration's needs against it) was at fault: that is
// published on policy/error as it always was; anything else is a problem
// of the configuration file, reported as config_error in the health.
type rejection struct {
	policy bool
	err    error
}

// reloader puts one part of a prepared reload in force. None can fail:
// everything that can was done by prepare. The order matters: the
// anonymiser for the new policy is in place before the guard lets
// anything new pass, and the cameras change last, when the rules their
// events meet are the new ones.
type reloader struct {
	name  string
	apply func(*nextState)
}

func (a *app) reloaders() []reloader {
	return []reloader{
		{"snapshots", func(n *nextState) { n.snaps.commit() }},
		{"egress guard", func(n *nextState) { a.guard.SetRules(n.pol) }},
		{"observe", func(n *nextState) {
			a.obs.SetPolicy(n.pol.Name, n.pol.SHA256)
			a.obs.SetEventTypes(ConfigEventTypes(n.cfg))
		}},
		{"outbox", func(n *nextState) { a.box.SetMaxAge(outboxMaxAge(n.pol)) }},
		{"cameras", func(n *nextState) { a.cams.apply(n.plan) }},
	}
}

// reload reads the configuration file (when Run has its path) and the
// policy again, builds the new state in full and then applies it; a reload
// that fails changes nothing and says why.
func (a *app) reload(ctx context.Context) {
	n, rej := a.prepare()
	if rej != nil {
		a.reject(ctx, rej)
		return
	}
	for _, r := range a.reloaders() {
		r.apply(n)
	}
	a.cur = n.state
	if a.watching {
		a.watch.follow(a.watched()...) // the policy file may be another now
	}
	if a.policyRejected {
		clearPolicyRejection(ctx, a.guard, n.pol)
		a.policyRejected = false
	}
	a.setConfigError("")
	publishPolicy(ctx, a.guard, n.pol, retainedAckWait, a.log)
	a.audit.reloaded(a.opts.ConfigPath, n.cfg, n.pol)
	if a.opts.ConfigPath != "" {
		a.log.Info("configuration reloaded", "path", a.opts.ConfigPath, "cameras", len(n.cams),
			"started", ids(n.plan.start), "restarted", ids(n.plan.restart), "stopped", n.plan.stop)
	}
	a.log.Info("policy reloaded", "policy", n.pol.Name, "policy_sha256", n.pol.SHA256)
}

// prepare builds the next state without changing the running one.
func (a *app) prepare() (*nextState, *rejection) {
	cfg := a.cur.cfg
	if a.opts.ConfigPath != "" {
		next, err := config.Load(a.opts.ConfigPath)
		if err != nil {
			return nil, &rejection{err: err}
		}
		if err := needsRestart(a.opts.ConfigPath, cfg, next); err != nil {
			return nil, &rejection{err: err}
		}
		// The logger is made once, before Run (and --log-level may
		// override the file), so the running one stays.
		if next.Log != cfg.Log {
			a.log.Warn("log settings are applied at start only; the running ones stay until a restart",
				"running", cfg.Log, "file", next.Log)
			next.Log = cfg.Log
		}
		cfg = next
	}
	pol := a.opts.Policy
	if pol == nil {
		p, err := LoadPolicy(cfg)
		if err != nil {
			return nil, &rejection{policy: true, err: err}
		}
		pol = p
	}
	warnings, err := checkPolicy(cfg, pol)
	for _, w := range warnings {
		a.log.Warn(w)
	}
	if err != nil {
		return nil, &rejection{policy: true, err: err}
	}
	cams, err := cameraConfigs(cfg, pol)
	if err != nil {
		return nil, &rejection{err: err}
	}
	plan, err := planCameras(a.cur.cams, cams, pol, a.cams.check)
	if err != nil {
		return nil, &rejection{err: err}
	}
	// Last: nothing after it can fail, so the anonymiser it may build is
	// always committed.
	snaps, err := a.snaps.prepare(pol)
	if err != nil {
		return nil, &rejection{policy: true, err: err}
	}
	return &nextState{state: state{cfg: cfg, pol: pol, cams: cams}, plan: plan, snaps: snaps}, nil
}

func (a *app) reject(ctx context.Context, r *rejection) {
	a.audit.rejected(a.opts.ConfigPath, a.cur.cfg, r)
	if r.policy {
		a.log.Error("policy reload rejected; the previous policy stays in force", "err", r.err)
		publishPolicyRejection(ctx, a.guard, r.err)
		a.policyRejected = true
		return
	}
	a.log.Error("configuration reload rejected; the configuration and policy in force stay", "path", a.opts.ConfigPath, "err", r.err)
	a.setConfigError(r.err.Error())
}

// setConfigError reports msg as the health's config_error (the retained
// health message and /readyz); "" clears it.
func (a *app) setConfigError(msg string) {
	if msg == a.configError {
		return
	}
	a.configError = msg
	a.obs.SetConfigError(msg)
	a.health.setConfigError(msg)
}

// watched are the files a reload reads.
func (a *app) watched() []string {
	paths := []string{a.opts.ConfigPath}
	if a.opts.Policy == nil {
		paths = append(paths, a.cur.cfg.Policy)
	}
	return paths
}

// needsRestart refuses a configuration that changes what only a start
// applies: the device id (topics, client id), the MQTT session, the HTTP
// endpoint's address and the outbox. It names every such setting that
// changed.
func needsRestart(path string, cur, next *config.Config) error {
	var changed []string
	if cur.Device != next.Device {
		changed = append(changed, "device")
	}
	changed = append(changed, changedFields("mqtt", cur.MQTT, next.MQTT)...)
	changed = append(changed, changedFields("http", cur.HTTP, next.HTTP)...)
	changed = append(changed, changedFields("outbox", cur.Outbox, next.Outbox)...)
	changed = append(changed, changedFields("audit", cur.Audit, next.Audit)...)
	if len(changed) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s changed, which needs a restart (applied only at start); nothing was reloaded",
		path, strings.Join(changed, ", "))
}

// changedFields are the settings (by their keys in the file) in which the
// structs a and b of one type differ.
func changedFields(prefix string, a, b any) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := range va.NumField() {
		f := va.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			name = strings.ToLower(f.Name)
		}
		key := prefix + "." + name
		x, y := va.Field(i).Interface(), vb.Field(i).Interface()
		if f.Type.Kind() == reflect.Struct {
			out = append(out, changedFields(key, x, y)...)
		} else if !reflect.DeepEqual(x, y) {
			out = append(out, key)
		}
	}
	return out
}
