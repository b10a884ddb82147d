package main

import (
	"fmt"
	"io"

	"github.com/edgeguard/edgeguard/pipeline/app"
	"github.com/edgeguard/edgeguard/pipeline/config"
)

const configUsage = `Usage:
  edgeguard config check FILE      everything "run --config FILE" would refuse: the file itself,
                                   the files it names (policy, MQTT password, TLS), the policy
                                   against the cameras and rules, the outbox directory; without
                                   connecting to the broker or any camera. Exit 1 with every
                                   problem on its own line. The outbox directory is created if
                                   missing and proven writable with one probe file.
`

func cmdConfig(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, configUsage)
		return usageError{"config needs a subcommand"}
	}
	switch args[0] {
	case "check":
		return configCheck(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, configUsage)
		return nil
	}
	fmt.Fprint(stderr, configUsage)
	msg := fmt.Sprintf("unknown config subcommand %q", args[0])
	if s := suggest(args[0], []string{"check"}); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return usageError{msg}
}

// configCheck runs app.Check, the checks run itself makes before it
// starts anything, so that a unit's ExecStartPre= (or an operator after an
// edit) finds what would stop the service without starting it.
func configCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("config check", "config check FILE", stdout, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf(fs, "config check needs exactly one FILE")
	}
	path := fs.Arg(0)
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	chk, err := app.Check(cfg)
	for _, w := range chk.Warnings {
		fmt.Fprintln(stderr, "edgeguard: warning:", w)
	}
	if err != nil {
		return err
	}
	cams := plural(chk.Cameras, "camera")
	if off := len(cfg.Cameras) - chk.Cameras; off > 0 {
		cams += fmt.Sprintf(" (%d disabled)", off)
	}
	p := chk.Policy
	fmt.Fprintf(stdout, "%s: ok (device %s, %s, policy %q version %q sha256 %s)\n", path, cfg.Device, cams, p.Name, p.Version, p.SHA256)
	if chk.Outbox.Dir == "" {
		fmt.Fprintf(stdout, "outbox: in memory only (%s)\n", chk.Outbox.Why)
	} else {
		fmt.Fprintf(stdout, "outbox: %s (%s)\n", chk.Outbox.Dir, chk.Outbox.Why)
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
