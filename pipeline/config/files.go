package config

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/edgeguard/edgeguard/policy/yamlstrict"
)

// fileKey is a setting that names a file edgeguard reads at start, and
// what that file should be, for the message when it is missing.
type fileKey struct {
	path string
	what string
}

var fileKeys = []fileKey{
	{"policy", "the privacy policy file"},
	{"mqtt.password_file", "the file holding the broker password, readable only by edgeguard"},
	{"mqtt.tls.ca_file", "the CA certificate (PEM) the broker's certificate must chain to"},
	{"mqtt.tls.cert_file", "the client certificate (PEM)"},
	{"mqtt.tls.key_file", "the client certificate's private key (PEM)"},
	{"http.tls.cert_file", "the HTTP endpoint's certificate (PEM)"},
	{"http.tls.key_file", "the HTTP endpoint's private key (PEM)"},
	{"http.users_file", "the web console's users file (docs/console.md)"},
	{"mqtt.embedded_tls.cert_file", "the embedded broker's certificate (PEM)"},
	{"mqtt.embedded_tls.key_file", "the embedded broker's private key (PEM)"},
	{"mqtt.embedded_tls.client_ca_file", "the CA certificate(s) (PEM) clients' certificates must chain to"},
}

// source is the file a Config was parsed from and the positions of its
// keys that name other files.
type source struct {
	file string
	pos  map[string]yamlstrict.Pos
}

func newSource(file string, d *yamlstrict.Decoder) *source {
	s := &source{file: file, pos: map[string]yamlstrict.Pos{}}
	for _, k := range fileKeys {
		s.pos[k.path] = d.Pos(k.path)
	}
	return s
}

// at is a problem with the setting at path, located at its key when the
// Config came from a file.
func (c *Config) at(path, format string, a ...any) *FieldError {
	e := &FieldError{Path: path, Msg: fmt.Sprintf(format, a...)}
	if c.src != nil {
		p := c.src.pos[path]
		e.File, e.Line, e.Col = c.src.file, p.Line, p.Col
	}
	return e
}

// CheckFiles checks that the files the configuration names exist and that
// this process can read them: the policy, mqtt.password_file and, for a
// TLS broker, mqtt.tls.ca_file, cert_file and key_file. Parse does not
// look at the file system (the files may be installed after the config is
// written, and the fuzzer feeds it arbitrary paths); this is the check for
// start-up and `edgeguard config check`, so that a missing file is found
// before anything connects, at the key that names it. The error is Errors,
// one entry per file; Path says which setting.
//
// Warnings are for what works but should not: a password file that users
// other than edgeguard's can read. Files under $CREDENTIALS_DIRECTORY are
// exempt: systemd (LoadCredential=) makes that directory accessible to the
// service alone, whatever the file's mode bits (or ACL mask) show.
func (c *Config) CheckFiles() (warnings []string, err error) {
	var errs Errors
	for _, k := range fileKeys {
		name := c.filePath(k.path)
		if name == "" {
			continue
		}
		st, problem := checkReadable(name)
		if problem != "" {
			errs = append(errs, c.at(k.path, "%s %s; it names %s (a relative path counts from the config file's directory)", name, problem, k.what))
			continue
		}
		if k.path == "mqtt.password_file" {
			if w := c.passwordFileMode(name, st.Mode().Perm()); w != "" {
				warnings = append(warnings, c.at(k.path, "%s", w).Error())
			}
		}
	}
	if len(errs) > 0 {
		// In file order, as Parse reports.
		slices.SortStableFunc(errs, func(a, b *FieldError) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
		})
		return warnings, errs
	}
	return warnings, nil
}

// filePath is the file named by the setting at key ("" when unset or, for
// the TLS files, when the broker does not use TLS and they are unused).
func (c *Config) filePath(key string) string {
	t := c.MQTT.TLS
	switch key {
	case "policy":
		return c.Policy
	case "mqtt.password_file":
		return c.MQTT.PasswordFile
	case "http.tls.cert_file":
		return c.HTTP.TLS.CertFile
	case "http.tls.key_file":
		return c.HTTP.TLS.KeyFile
	case "http.users_file":
		return c.HTTP.UsersFile
	}
	if e := c.MQTT.EmbeddedTLS; c.MQTT.Embedded() {
		switch key {
		case "mqtt.embedded_tls.cert_file":
			return e.CertFile
		case "mqtt.embedded_tls.key_file":
			return e.KeyFile
		case "mqtt.embedded_tls.client_ca_file":
			return e.ClientCAFile
		}
	}
	if !c.MQTT.UsesTLS() {
		return ""
	}
	switch key {
	case "mqtt.tls.ca_file":
		return t.CAFile
	case "mqtt.tls.cert_file":
		return t.CertFile
	case "mqtt.tls.key_file":
		return t.KeyFile
	}
	return ""
}

// checkReadable opens name for reading, which is the real test (root, ACLs
// and read-only mounts included); problem completes "NAME ..." when it
// cannot be read.
func checkReadable(name string) (fs.FileInfo, string) {
	st, err := os.Stat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "does not exist"
	case err != nil:
		return nil, "cannot be read (" + pathErrText(err) + ")"
	case st.IsDir():
		return nil, "is a directory, not a file"
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, "cannot be read by the user edgeguard runs as (" + pathErrText(err) + ")"
	}
	f.Close()
	return st, ""
}

// pathErrText is err without the path, which the message already names.
func pathErrText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// passwordFileMode warns when others than edgeguard's user can read the
// broker password.
func (c *Config) passwordFileMode(name string, perm fs.FileMode) string {
	if perm&0o077 == 0 || inCredentialsDir(name) {
		return ""
	}
	who := "its group or other users have access to the broker password"
	switch {
	case perm&0o004 != 0:
		who = "every user of this machine can read the broker password"
	case perm&0o040 != 0:
		who = "the file's group can read the broker password"
	}
	return fmt.Sprintf("%s has mode %04o: %s; make it readable only by edgeguard's user: chmod 600 %s", name, perm, who, name)
}

func inCredentialsDir(name string) bool {
	dir := os.Getenv("CREDENTIALS_DIRECTORY")
	if dir == "" || !filepath.IsAbs(dir) {
		return false
	}
	rel, err := filepath.Rel(filepath.Clean(dir), name)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
