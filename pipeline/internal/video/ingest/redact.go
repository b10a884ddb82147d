package ingest

import (
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
)

// redacted replaces anything that may be a credential.
const redacted = "xxxxx"

// secretQueryKeys are query parameters some cameras take credentials in
// (e.g. "?user=admin&pwd=..."). Their values are redacted like user info.
var secretQueryKeys = map[string]bool{
	"user": true, "username": true, "usr": true, "login": true,
	"password": true, "pass": true, "passwd": true, "pwd": true,
	"token": true, "auth": true, "key": true, "secret": true,
}

// RedactURL returns raw with its user info (and credential-like query
// values) replaced by "xxxxx", so the result can go into logs, status
// messages and errors.
//
// It does not rely on the URL parsing: operators paste camera URLs with
// unescaped '@', '/' or '#' in passwords, which a parser would split in the
// wrong place and leak part of the password as host or path. Everything
// between "://" and the LAST '@' is therefore treated as user info. A '@' in a
// path over-redacts the host; that is the safe way to be wrong.
func RedactURL(raw string) string {
	prefix, rest := splitScheme(raw)
	if j := strings.LastIndexByte(rest, '@'); j >= 0 {
		rest = redacted + rest[j:]
	}
	return prefix + redactQuery(rest)
}

// splitScheme splits "scheme://" off raw. Only a syntactically valid scheme
// counts, so that a "://" inside a query does not hide user info before it.
func splitScheme(raw string) (prefix, rest string) {
	i := strings.Index(raw, "://")
	if i <= 0 {
		return "", raw
	}
	for k, c := range raw[:i] {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case k > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return "", raw
		}
	}
	return raw[:i+3], raw[i+3:]
}

// redactQuery replaces the values of credential-like query parameters in
// s (everything after the first '?', up to a '#').
func redactQuery(s string) string {
	q := strings.IndexByte(s, '?')
	if q < 0 {
		return s
	}
	query, frag := s[q+1:], ""
	if h := strings.IndexByte(query, '#'); h >= 0 {
		query, frag = query[:h], query[h:]
	}
	parts := strings.Split(query, "&")
	changed := false
	for i, p := range parts {
		k, _, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		key := k
		if uk, err := url.QueryUnescape(k); err == nil {
			key = uk
		}
		if secretQueryKeys[strings.ToLower(key)] {
			parts[i] = k + "=" + redacted
			changed = true
		}
	}
	if !changed {
		return s
	}
	return s[:q+1] + strings.Join(parts, "&") + frag
}

// scrubber removes every form of a camera URL's credentials from text that
// did not come from us (library error messages), as a second line of defence
// after never putting the URL into such text in the first place.
type scrubber struct {
	raw     string   // the URL as configured, replaced by its redacted form
	secrets []string // longest first
}

func newScrubber(raw string) *scrubber {
	var s []string
	add := func(v string) {
		if v != "" && v != redacted {
			s = append(s, v)
		}
	}
	// Credentials exactly as written, however the URL parses.
	_, rest := splitScheme(raw)
	if j := strings.LastIndexByte(rest, '@'); j >= 0 {
		ui := rest[:j]
		add(ui)
		user, pass, _ := strings.Cut(ui, ":")
		for _, v := range []string{user, pass} {
			add(v)
			if u, err := url.PathUnescape(v); err == nil {
				add(u)
				add(url.PathEscape(u))
				add(url.QueryEscape(u))
			}
		}
	}
	if u, err := url.Parse(raw); err == nil {
		if u.User != nil {
			add(u.User.String())
			add(u.User.Username())
			if p, ok := u.User.Password(); ok {
				add(p)
			}
		}
		for k, vs := range u.Query() {
			if secretQueryKeys[strings.ToLower(k)] {
				for _, v := range vs {
					add(v)
					add(url.QueryEscape(v))
				}
			}
		}
	}
	slices.SortFunc(s, func(a, b string) int { return len(b) - len(a) })
	return &scrubber{raw: raw, secrets: slices.Compact(s)}
}

// scrub returns msg with every secret and every embedded RTSP URL redacted.
func (sc *scrubber) scrub(msg string) string {
	if sc.raw != "" {
		msg = strings.ReplaceAll(msg, sc.raw, RedactURL(sc.raw))
	}
	for _, s := range sc.secrets {
		msg = strings.ReplaceAll(msg, s, redacted)
	}
	return redactEmbeddedURLs(msg)
}

// redactEmbeddedURLs applies RedactURL to every rtsp:// or rtsps:// token
// in msg (a token ends at white space or a quote).
func redactEmbeddedURLs(msg string) string {
	var b strings.Builder
	for {
		i := strings.Index(msg, "rtsp")
		if i < 0 {
			break
		}
		rest := msg[i:]
		if !strings.HasPrefix(rest, "rtsp://") && !strings.HasPrefix(rest, "rtsps://") {
			b.WriteString(msg[:i+4])
			msg = msg[i+4:]
			continue
		}
		end := strings.IndexAny(rest, " \t\r\n'\"`<>")
		if end < 0 {
			end = len(rest)
		}
		b.WriteString(msg[:i])
		b.WriteString(RedactURL(rest[:end]))
		msg = rest[end:]
	}
	b.WriteString(msg)
	return b.String()
}

// safeError carries a message that has been scrubbed of credentials. It
// deliberately has no Unwrap: the wrapped library error's own text may
// contain the URL, and anyone walking the chain could print it. errors.Is
// still sees the sentinel and the cause (context.Canceled, timeouts...), and
// errors.As the few types listed in As.
type safeError struct {
	msg      string
	sentinel error
	cause    error
}

func (e *safeError) Error() string { return e.msg }

// As lets errors.As reach the cause for the few types a caller classifies
// an error by (the camera's status reason: a status code, a name that does
// not resolve, a time-out, the codecs offered), not for any type: what such
// a value prints is not scrubbed, so print the safeError, never it.
func (e *safeError) As(target any) bool {
	switch target.(type) {
	case *liberrors.ErrClientBadStatusCode, *liberrors.ErrClientUnhandledMethod,
		**net.DNSError, *net.Error, **UnsupportedCodecError:
		return errors.As(e.cause, target)
	}
	return false
}

func (e *safeError) Is(target error) bool {
	return (e.sentinel != nil && target == e.sentinel) || errors.Is(e.cause, target)
}
