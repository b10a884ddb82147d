package app

import (
	"errors"
	"fmt"

	"github.com/edgeguard/edgeguard/models"
	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/policy"
)

// Checked is what Check found: what Run would start with.
type Checked struct {
	// Policy is the policy that would be in force.
	Policy *policy.Policy
	// Outbox is where events would wait; its directory exists and is
	// writable.
	Outbox config.OutboxPlace
	// Cameras is the number of enabled cameras.
	Cameras int
	// Warnings are what works but should not (a policy that lists a camera
	// it does not need, a password file others can read), one sentence
	// each; Run logs each once at start.
	Warnings []string
}

// Check finds everything Run would refuse, before anything starts: the
// files the configuration names exist and can be read (located at the key
// naming them), the policy loads and allows what the configuration needs,
// the MQTT password and TLS files can be used, at least one camera is
// enabled, and the outbox directory can be used. It connects to nothing:
// no broker, no camera, no HTTP port. Its only write is the outbox's
// (config.Outbox.Resolve): the directory is created if missing and proven
// writable by creating and removing one file.
//
// Run calls it first and `edgeguard config check` calls it alone, so the
// two cannot disagree. The error reports every problem, one per line; the
// warnings come back with it too.
func Check(cfg *config.Config) (*Checked, error) { return check(cfg, nil) }

// check is Check with the policy given (Options.Policy: the demo, tests)
// instead of loaded from cfg.Policy; then that file is not looked at.
func check(cfg *config.Config, pol *policy.Policy) (*Checked, error) {
	var errs []error
	files := *cfg
	if pol != nil {
		files.Policy = ""
	}
	warnings, err := files.CheckFiles()
	failed := func(key string) bool { return false }
	if err != nil {
		errs = append(errs, err)
		var fe config.Errors
		if errors.As(err, &fe) {
			failed = func(key string) bool {
				for _, e := range fe {
					if e.Path == key {
						return true
					}
				}
				return false
			}
		}
	}
	// A file reported missing is not read again for a second message.
	if pol == nil && !failed("policy") {
		if pol, err = LoadPolicy(cfg); err != nil {
			errs = append(errs, err)
		}
	}
	if pol != nil {
		w, err := checkPolicy(cfg, pol)
		warnings = append(warnings, w...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	n := 0
	for _, c := range cfg.Cameras {
		if c.Enabled {
			n++
		}
	}
	if n == 0 {
		errs = append(errs, errors.New("no enabled cameras in the configuration"))
	}
	if !failed("mqtt.password_file") {
		if _, err := cfg.MQTT.Password(); err != nil {
			errs = append(errs, err)
		}
	}
	if !failed("mqtt.tls.ca_file") && !failed("mqtt.tls.cert_file") && !failed("mqtt.tls.key_file") {
		if _, err := cfg.MQTT.TLSConfig(); err != nil {
			errs = append(errs, err)
		}
	}
	w, err := checkModels(cfg, pol, nil)
	warnings = append(warnings, w...)
	if err != nil {
		errs = append(errs, err)
	}
	place, err := cfg.Outbox.Resolve(cfg.Device, config.OSStateEnv())
	if err != nil {
		errs = append(errs, err)
	}
	chk := &Checked{Policy: pol, Outbox: place, Cameras: n, Warnings: warnings}
	return chk, errors.Join(errs...)
}

// checkModels finds the model files the configuration needs: NanoDet for a
// camera that asks for person_detector: dnn (it cannot start without it)
// or leaves the default (which then falls back to the shape heuristic),
// and BlazeFace where the policy lets snapshots out (without it every image
// is withheld). What is missing is said before anything starts, with the
// install command, rather than found in the log of a running service.
// dirs are where to look (nil: models.DefaultDirs).
func checkModels(cfg *config.Config, pol *policy.Policy, dirs []string) (warnings []string, err error) {
	var errs []error
	var defaulted []string
	nanodet := ""
	for i, c := range cfg.Cameras {
		if !c.Enabled || (c.PersonDetector != "" && c.PersonDetector != config.PersonDetectorDNN) {
			continue
		}
		if nanodet == "" {
			nanodet = "found"
			if _, err := models.Locate(models.NanoDet, dirs...); err != nil {
				nanodet = err.Error()
			}
		}
		if nanodet == "found" {
			continue
		}
		if c.PersonDetector == config.PersonDetectorDNN {
			errs = append(errs, fmt.Errorf("cameras[%d].person_detector (camera %s): dnn needs the NanoDet model: %s", i, c.ID, nanodet))
		} else {
			defaulted = append(defaulted, c.ID)
		}
	}
	if len(defaulted) > 0 {
		warnings = append(warnings, fmt.Sprintf("cameras %v use the shape heuristic instead of the default person detector (dnn): %s", defaulted, nanodet))
	}
	if pol != nil && pol.AllowsSnapshots() {
		if _, err := models.Locate(models.BlazeFace, dirs...); err != nil {
			warnings = append(warnings, fmt.Sprintf("the policy allows snapshots, but every image will be withheld without the face detector: %s", err))
		}
	}
	return warnings, errors.Join(errs...)
}
