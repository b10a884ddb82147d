// Command edgeguard is privacy-first video analytics for public spaces: it
// pulls camera streams, detects motion on the device, applies the privacy
// policy before anything leaves, and publishes only events over MQTT.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `edgeguard — privacy-first video analytics for public spaces

Usage:
  edgeguard run --config FILE      run the service
  edgeguard demo                   simulated camera → pipeline → embedded broker, events printed
  edgeguard policy check FILE...   validate privacy policy files
  edgeguard policy explain FILE    what a policy lets this device see, keep and send
  edgeguard policy diff OLD NEW    what a new policy version changes
  edgeguard policy preview ...     what a snapshot from a camera would show (PNG)
  edgeguard health [--url URL]     probe /healthz or /readyz (exit 0 when 200)
  edgeguard version                print the version

Run "edgeguard COMMAND --help" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run returns the exit code: 0 success, 1 failure, 2 usage error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stderr)
	case "demo":
		err = cmdDemo(ctx, args[1:], stdout, stderr)
	case "policy":
		err = cmdPolicy(args[1:], stdout, stderr)
	case "health":
		err = cmdHealth(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "edgeguard", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "edgeguard: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintln(stderr, "edgeguard:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "edgeguard:", err)
		return 1
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// newFlags returns a flag set whose errors come back to us instead of
// exiting, with a usage line a person can act on.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: edgeguard %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags turns flag errors into usage errors (exit 2).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}
