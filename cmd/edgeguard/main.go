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
	"slices"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `edgeguard — privacy-first video analytics for public spaces

Usage:
  edgeguard run --config FILE      run the service
  edgeguard config check FILE      everything run would refuse, without connecting to anything
  edgeguard policy check FILE...   validate privacy policy files
  edgeguard policy explain FILE    what a policy lets this device see, keep and send
  edgeguard policy diff OLD NEW    what a new policy version changes
  edgeguard policy preview ...     what a snapshot from a camera would show (PNG)
  edgeguard audit verify DIR       check the signed audit trail; exit 0 only when it holds
  edgeguard audit export DIR       its records as JSON lines (--from T, --to T)
  edgeguard health [--config FILE] probe /healthz at the config's http.addr, or --url URL (exit 0 when 200)
  edgeguard version                print the version

Run "edgeguard help COMMAND" or "edgeguard COMMAND --help" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand. Every command parses its own flags; help
// (`edgeguard help CMD`, `edgeguard CMD --help`) goes to stdout, errors to
// stderr.
type command struct {
	name string
	run  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is the one list of subcommands: dispatch, "did you mean" and
// `help CMD` read it.
var commands = []command{
	{"run", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return cmdRun(ctx, args, stdout, stderr)
	}},
	{"config", func(_ context.Context, args []string, stdout, stderr io.Writer) error {
		return cmdConfig(args, stdout, stderr)
	}},
	{"policy", func(_ context.Context, args []string, stdout, stderr io.Writer) error {
		return cmdPolicy(args, stdout, stderr)
	}},
	{"audit", func(_ context.Context, args []string, stdout, stderr io.Writer) error {
		return cmdAudit(args, stdout, stderr)
	}},
	{"health", cmdHealth},
	{"users", cmdUsers}, // the web console's users file (users.go)
	{"version", cmdVersion},
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
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
	switch name := args[0]; name {
	case "help", "-h", "--help":
		err = cmdHelp(ctx, args[1:], stdout, stderr)
	case "--version":
		err = cmdVersion(ctx, nil, stdout, stderr)
	default:
		c, ok := lookup(name)
		if !ok {
			msg := fmt.Sprintf("unknown command %q", name)
			if s := suggest(name, commandNames()); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			fmt.Fprintf(stderr, "edgeguard: %s\n\n%s", msg, usage)
			return 2
		}
		err = c.run(ctx, args[1:], stdout, stderr)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		printError(stderr, err)
		return 2
	default:
		printError(stderr, err)
		return 1
	}
}

// printError prefixes every line of err, so that each problem of a
// multi-line error (a config with several mistakes) reads on its own in a
// log that interleaves lines.
func printError(w io.Writer, err error) {
	for _, line := range strings.Split(strings.TrimRight(err.Error(), "\n"), "\n") {
		fmt.Fprintln(w, "edgeguard:", line)
	}
}

func commandNames() []string {
	names := make([]string, 0, len(commands)+1)
	for _, c := range commands {
		names = append(names, c.name)
	}
	return append(names, "help")
}

// cmdHelp prints the general help, or a command's own (`help run`,
// `help policy diff`).
func cmdHelp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return nil
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprint(stderr, usage)
		msg := fmt.Sprintf("help: unknown command %q", args[0])
		if s := suggest(args[0], commandNames()); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return usageError{msg}
	}
	return c.run(ctx, append(slices.Clone(args[1:]), "--help"), stdout, stderr)
}

func cmdVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "version", stdout, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf(fs, "version takes no arguments")
	}
	fmt.Fprintln(stdout, "edgeguard", version)
	return nil
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// flags is a flag set that prints its usage to stdout when asked for it
// (--help) and to stderr with an error, each once.
type flags struct {
	*flag.FlagSet
	synopsis       string
	stdout, stderr io.Writer
}

// newFlags returns a flag set whose errors come back to us instead of
// exiting, with a usage line a person can act on.
func newFlags(name, synopsis string, stdout, stderr io.Writer) *flags {
	fs := &flags{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), synopsis: synopsis, stdout: stdout, stderr: stderr}
	// The flag package prints an error and the usage itself; we print
	// both once, in printError and usageTo.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// usageTo writes the synopsis and the flags' defaults.
func (fs *flags) usageTo(w io.Writer) {
	fmt.Fprintf(w, "Usage: edgeguard %s\n", fs.synopsis)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parseFlags parses args, allowing flags after positional arguments
// (`policy explain FILE --lang de`), as a person types them. "--" ends the
// flags. Help goes to stdout; a flag error prints the usage to stderr and
// comes back as a usage error (exit 2).
func parseFlags(fs *flags, args []string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.usageTo(fs.stdout)
				return err
			}
			fs.usageTo(fs.stderr)
			return usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	// Parse again with only the positional arguments after "--", so that
	// fs.Args() returns them.
	return fs.Parse(append([]string{"--"}, positional...))
}

// usageErrorf prints the command's usage to stderr and returns a usage
// error.
func usageErrorf(fs *flags, format string, a ...any) error {
	fs.usageTo(fs.stderr)
	return usageError{fmt.Sprintf(format, a...)}
}

// suggest returns the candidate closest to name if it is close enough to
// be a typo (at most 2 edits, and fewer than half the letters), else "".
func suggest(name string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestD && d*2 < max(len(c), 1) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance counts the insertions, deletions, substitutions and
// swaps of two neighbouring letters that turn a into b (optimal string
// alignment): "rnu" is one swap from "run".
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
