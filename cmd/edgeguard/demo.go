package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/edgeguard/edgeguard/pipeline/codec"
	"github.com/edgeguard/edgeguard/pipeline/demo"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "demo [--codec h264|h265] [--duration D] [--verbose]", stdout, stderr)
	codecName := fs.String("codec", "h264", "video codec of the simulated camera: h264 or h265")
	duration := fs.Duration("duration", 0, "stop after this long (e.g. 60s); 0 runs until Ctrl-C")
	verbose := fs.Bool("verbose", false, "also print the service's log to stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf(fs, "demo takes no arguments, got %q", fs.Args())
	}
	if *duration < 0 {
		return usageErrorf(fs, "--duration %v is negative; give a positive duration such as 60s, or 0 to run until Ctrl-C", *duration)
	}
	c, err := codec.ParseCodec(*codecName)
	if err != nil {
		return usageError{err.Error()}
	}
	var log *slog.Logger
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	return demo.Run(ctx, demo.Options{Out: stdout, Logger: log, Codec: c, Duration: *duration})
}
