package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"

	"golang.org/x/term"

	"github.com/edgeguard/edgeguard/pipeline/app"
)

const usersUsage = `Usage:
  edgeguard users hash [--argon2id] [--user NAME --role ROLE]
                          a password hash for the web console's users file (http.users_file):
                          reads the password from standard input (without echo on a terminal,
                          asked twice; else its first line), never from the command line;
                          prints the hash, or with --user and --role the whole line
  edgeguard users check FILE
                          read FILE as the console does; name the line and field of any problem
`

// usersStdin is where users hash reads the password (tests replace it).
var usersStdin io.Reader = os.Stdin

func cmdUsers(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usersUsage)
		return usageError{"users needs a subcommand"}
	}
	switch args[0] {
	case "hash":
		return usersHash(args[1:], stdout, stderr)
	case "check":
		return usersCheck(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usersUsage)
		return nil
	}
	fmt.Fprint(stderr, usersUsage)
	msg := fmt.Sprintf("unknown users subcommand %q", args[0])
	if s := suggest(args[0], []string{"hash", "check"}); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return usageError{msg}
}

var (
	userNameRE = regexp.MustCompile(`^[a-z][a-z0-9._-]{0,31}$`)
	roles      = []string{"viewer", "operator", "officer"}
)

func usersHash(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("users hash", "users hash [--argon2id] [--user NAME --role ROLE]", stdout, stderr)
	argon := fs.Bool("argon2id", false, "an argon2id hash (PHC string) instead of bcrypt")
	user := fs.String("user", "", "print the users file line for this user name")
	role := fs.String("role", "", "the user's role: viewer, operator or officer (with --user)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErrorf(fs, "users hash takes no arguments: the password is read from standard input, never from the command line")
	}
	if (*user == "") != (*role == "") {
		return usageErrorf(fs, "--user and --role go together")
	}
	if *user != "" && !userNameRE.MatchString(*user) {
		return usageErrorf(fs, "--user %q: allowed: 1 to 32 of a-z, 0-9, '.', '_', '-', starting with a letter", *user)
	}
	if *role != "" && !slices.Contains(roles, *role) {
		return usageErrorf(fs, "--role %q: allowed: viewer, operator, officer", *role)
	}
	pw, err := readPassword(usersStdin, stderr)
	if err != nil {
		return err
	}
	algo := "bcrypt"
	if *argon {
		algo = "argon2id"
	}
	h, err := app.HashPassword(pw, algo)
	clear(pw)
	if err != nil {
		return err
	}
	if *user != "" {
		fmt.Fprintf(stdout, "%s %s %s\n", *user, *role, h)
		return nil
	}
	fmt.Fprintln(stdout, h)
	return nil
}

// readPassword reads the password: on a terminal without echo, twice; else
// the first line of in.
func readPassword(in io.Reader, stderr io.Writer) ([]byte, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return nil, err
		}
		fmt.Fprint(stderr, "Again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(pw, again) {
			return nil, errors.New("the two passwords differ")
		}
		clear(again)
		if len(pw) == 0 {
			return nil, errors.New("empty password")
		}
		return pw, nil
	}
	line, err := bufio.NewReaderSize(in, 4096).ReadSlice('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("password line longer than 4096 bytes")
		}
		return nil, fmt.Errorf("reading the password from standard input: %w", err)
	}
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	if len(line) == 0 {
		return nil, errors.New("empty password: give it on standard input, e.g. from a file (users hash < pwfile)")
	}
	return bytes.Clone(line), nil
}

func usersCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("users check", "users check FILE", stdout, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf(fs, "users check needs exactly one FILE")
	}
	n, err := app.CheckUsersFile(fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok: %d users\n", fs.Arg(0), n)
	return nil
}
