package main

import (
	"fmt"
	"io"
	"time"

	"github.com/edgeguard/edgeguard/pipeline/app"
)

const auditUsage = `Usage:
  edgeguard audit verify [--key PUBKEY] DIR
                          check every record's signature and the chain; exit 0 only when all hold,
                          otherwise name the first broken record
  edgeguard audit export [--from T] [--to T] DIR
                          the records from T (inclusive) to T (exclusive) as JSON lines on stdout;
                          T is 2026-12-04 (UTC midnight) or RFC 3339 (2026-12-04T18:00:00Z)
`

func cmdAudit(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return usageError{"audit needs a subcommand"}
	}
	switch args[0] {
	case "verify":
		return auditVerify(args[1:], stdout, stderr)
	case "export":
		return auditExport(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, auditUsage)
		return nil
	}
	fmt.Fprint(stderr, auditUsage)
	msg := fmt.Sprintf("unknown audit subcommand %q", args[0])
	if s := suggest(args[0], []string{"verify", "export"}); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return usageError{msg}
}

func auditVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit verify", "audit verify [--key PUBKEY] DIR", stdout, stderr)
	key := fs.String("key", "", "the device's public key (PEM) kept off the box; default: the one in DIR")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf(fs, "audit verify needs exactly one DIR")
	}
	rep, err := app.VerifyAudit(fs.Arg(0), *key)
	for _, n := range rep.Notes {
		fmt.Fprintln(stdout, "note:", n)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok: %d records (seq %d to %d) in %d segments; chain head sha256 %s\n",
		fs.Arg(0), rep.Records, rep.FirstSeq, rep.LastSeq, rep.Segments, rep.Head)
	return nil
}

func auditExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit export", "audit export [--from T] [--to T] DIR", stdout, stderr)
	fromS := fs.String("from", "", "first time included (2026-12-04 or RFC 3339); default: the first record")
	toS := fs.String("to", "", "first time no longer included; default: the last record")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf(fs, "audit export needs exactly one DIR")
	}
	from, err := parseAuditTime("--from", *fromS)
	if err != nil {
		return usageErrorf(fs, "%v", err)
	}
	to, err := parseAuditTime("--to", *toS)
	if err != nil {
		return usageErrorf(fs, "%v", err)
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return usageErrorf(fs, "--to %s is not after --from %s", *toS, *fromS)
	}
	return app.ExportAudit(fs.Arg(0), from, to, stdout)
}

func parseAuditTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: expected a date (2026-12-04) or an RFC 3339 time (2026-12-04T18:00:00Z)", flag, s)
	}
	return t, nil
}
