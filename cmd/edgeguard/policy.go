package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/edgeguard/edgeguard/pipeline/app"
	"github.com/edgeguard/edgeguard/pipeline/config"
	"github.com/edgeguard/edgeguard/policy"
)

const policyUsage = `Usage:
  edgeguard policy check FILE...            validate; exit 1 with precise messages
  edgeguard policy explain [--lang en|de] FILE
  edgeguard policy diff [--lang en|de] OLD NEW
                                            what the new version changes in what leaves the device
  edgeguard policy preview --config FILE --camera ID --out PNG
                                            one frame from the camera, as a snapshot would show it
`

func cmdPolicy(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, policyUsage)
		return usageError{"policy needs a subcommand"}
	}
	switch args[0] {
	case "check":
		return policyCheck(args[1:], stdout, stderr)
	case "explain":
		return policyExplain(args[1:], stdout, stderr)
	case "diff":
		return policyDiff(args[1:], stdout, stderr)
	case "preview":
		return policyPreview(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, policyUsage)
		return nil
	}
	fmt.Fprint(stderr, policyUsage)
	msg := fmt.Sprintf("unknown policy subcommand %q", args[0])
	if s := suggest(args[0], []string{"check", "explain", "diff", "preview"}); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return usageError{msg}
}

func policyCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("policy check", "policy check FILE...", stdout, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErrorf(fs, "policy check needs at least one FILE")
	}
	failed := 0
	for _, f := range fs.Args() {
		p, err := policy.Load(f)
		if err != nil {
			fmt.Fprintln(stderr, err)
			failed++
			continue
		}
		fmt.Fprintf(stdout, "%s: ok (policy %q version %q, sha256 %s)\n", f, p.Name, p.Version, p.SHA256)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d policy files are invalid", failed, fs.NArg())
	}
	return nil
}

func policyExplain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("policy explain", "policy explain [--lang en|de] FILE", stdout, stderr)
	lang := fs.String("lang", "en", "language: en or de")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf(fs, "policy explain needs exactly one FILE")
	}
	p, err := policy.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	text, err := p.Explain(*lang)
	if err != nil {
		return usageError{err.Error()}
	}
	fmt.Fprint(stdout, text)
	return nil
}

func policyDiff(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("policy diff", "policy diff [--lang en|de] OLD NEW", stdout, stderr)
	lang := fs.String("lang", "en", "language: en or de")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageErrorf(fs, "policy diff needs OLD and NEW")
	}
	oldP, err := policy.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	newP, err := policy.Load(fs.Arg(1))
	if err != nil {
		return err
	}
	changes := policy.Diff(oldP, newP)
	if len(changes) == 0 {
		text, err := policy.NoChangeText(oldP, newP, *lang)
		if err != nil {
			return usageError{err.Error()}
		}
		fmt.Fprintln(stdout, text)
		return nil
	}
	for _, c := range changes {
		text, err := c.Text(*lang)
		if err != nil {
			return usageError{err.Error()}
		}
		fmt.Fprintln(stdout, text)
	}
	return nil
}

func policyPreview(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("policy preview", "policy preview --config FILE --camera ID --out PNG [--policy FILE]", stdout, stderr)
	cfgPath := fs.String("config", "", "operator configuration (YAML) naming the camera and the policy")
	camID := fs.String("camera", "", "camera id from the configuration")
	out := fs.String("out", "", "PNG file to write")
	polPath := fs.String("policy", "", "policy file to preview instead of the configuration's (e.g. a draft)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" || *camID == "" || *out == "" || fs.NArg() > 0 {
		return usageErrorf(fs, "policy preview needs --config, --camera and --out")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if *polPath != "" {
		cfg.Policy = *polPath
	}
	pol, err := app.LoadPolicy(cfg)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	res, err := app.Preview(context.Background(), app.PreviewOptions{Config: cfg, Policy: pol, Camera: *camID, Out: *out, Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %dx%d, camera %s, policy %q (sha256 %.12s…), %d privacy zone(s) filled and outlined\n",
		*out, res.Width, res.Height, *camID, pol.Name, pol.SHA256, res.Zones)
	// The same name /readyz shows under snapshots.face_detector.
	if res.NoDetector != "" {
		fmt.Fprintf(stdout, "face detector: %s (%s)\n", res.Detector, res.NoDetector)
	} else {
		fmt.Fprintf(stdout, "face detector: %s\n", res.Detector)
	}
	if res.Withheld {
		fmt.Fprintf(stdout, "WITHHELD: this frame could not be anonymised (%s); a snapshot would not leave the device\n", res.Reason)
	}
	if !res.SnapshotsAllowed {
		fmt.Fprintln(stdout, "note: this policy does not allow snapshots (egress.snapshots: false): no image leaves the device; the preview shows what would leave if it did")
	}
	return nil
}
