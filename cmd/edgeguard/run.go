package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/edgeguard/edgeguard/pipeline/app"
	"github.com/edgeguard/edgeguard/pipeline/config"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "run --config FILE [--log-format text|json] [--log-level LEVEL]", stdout, stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML), e.g. configs/edgeguard.yaml")
	logFormat := fs.String("log-format", "", "override log.format: "+strings.Join(config.LogFormats, " or "))
	logLevel := fs.String("log-level", "", "override log.level: "+strings.Join(config.LogLevels, ", "))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" || fs.NArg() > 0 {
		return usageErrorf(fs, "run needs --config FILE and no other arguments")
	}
	// The same values as log.level and log.format in the file: a flag must
	// not get past what the file refuses.
	for _, f := range []struct {
		name, v string
		allowed []string
	}{{"--log-level", *logLevel, config.LogLevels}, {"--log-format", *logFormat, config.LogFormats}} {
		if f.v != "" && !slices.Contains(f.allowed, f.v) {
			return usageErrorf(fs, "%s: unknown value %q; allowed: %s", f.name, f.v, strings.Join(f.allowed, ", "))
		}
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if *logFormat != "" {
		cfg.Log.Format = *logFormat
	}
	if *logLevel != "" {
		cfg.Log.Level = *logLevel
	}
	log := cfg.Log.NewLogger(stderr)
	reload := make(chan struct{}, 1)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()
	// SIGHUP and edits of the file reload the configuration and the
	// policy (app.Options.ConfigPath).
	return app.Run(ctx, app.Options{Config: cfg, ConfigPath: *cfgPath, Logger: log, Reload: reload})
}
