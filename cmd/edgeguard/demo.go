package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/edgeguard/edgeguard/pipeline/codec"
	"github.com/edgeguard/edgeguard/pipeline/demo"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "demo [--codec h264|h265] [--duration D] [--verbose]", stderr)
	codecName := fs.String("codec", "h264", "video codec of the simulated camera: h264 or h265")
	duration := fs.Duration("duration", 0, "stop after this long (e.g. 60s); 0 runs until Ctrl-C")
	verbose := fs.Bool("verbose", false, "also print the service's log to stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
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
