// Command edgeguard-demo runs the demo: a simulated camera (an RTSP server
// offering video and an audio track, streaming a square on which people
// cross a line, loiter and fall) → the real service under the demo's
// policy → an embedded MQTT broker, printing every message that leaves the
// device, anonymised snapshots announced rather than printed. It is a
// binary of its own so that the simulator is never linked into the service.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/edgeguard/edgeguard/pipeline/tools/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run returns the exit code: 0 success, 1 failure, 2 usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("edgeguard-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: edgeguard-demo [--codec h264|h265] [--duration D] [--verbose]")
		fs.PrintDefaults()
	}
	codecName := fs.String("codec", "h264", "video codec of the simulated camera: h264 or h265")
	duration := fs.Duration("duration", 0, "stop after this long (e.g. 60s: the square shows every pattern in its first 25 s); 0 runs until Ctrl-C")
	verbose := fs.Bool("verbose", false, "also print the service's log to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "edgeguard-demo: takes no arguments, got %q\n", fs.Args())
		return 2
	}
	if *duration < 0 {
		fmt.Fprintf(stderr, "edgeguard-demo: --duration %v is negative; give a positive duration such as 60s, or 0 to run until Ctrl-C\n", *duration)
		return 2
	}
	c, err := demo.ParseCodec(*codecName)
	if err != nil {
		fmt.Fprintf(stderr, "edgeguard-demo: %v\n", err)
		return 2
	}
	var log *slog.Logger
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	if err := demo.Run(ctx, demo.Options{Out: stdout, Logger: log, Codec: c, Duration: *duration}); err != nil {
		fmt.Fprintf(stderr, "edgeguard-demo: %v\n", err)
		return 1
	}
	return 0
}
