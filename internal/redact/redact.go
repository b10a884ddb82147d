// Package redact removes credentials from URLs and from text that may quote
// them, so that what edgeguard logs, publishes (camera status), shows on
// /readyz or returns as an error never carries a camera's or a broker's
// password. It is the module's one redactor.
//
// It does not rely on URL parsing: operators paste camera URLs with
// unescaped '@', ':', '/', '%', '#' or '?' in passwords, which a parser
// (net/url, and URL.Redacted with it) splits in the wrong place, leaking part
// of the password as host, path or fragment. Everything between "://" and
// the LAST '@' is therefore user info. A '@' in a path over-redacts the
// host; that is the safe way to be wrong.
package redact

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Mask replaces whatever may be a credential.
const Mask = "xxxxx"

// MinSecretLen is the length from which Scrubber removes a known user name
// or password wherever it appears in a text. Shorter ones are removed only
// where they are part of a URL: replacing every "a" of a message because
// the password is "a" would make the message unreadable and still say
// nothing about where the password was.
const MinSecretLen = 4

// secretKeyParts mark query parameters some cameras take credentials in
// ("?user=admin&pwd=..."): a key containing one of them (in any case) has
// its value redacted like user info.
var secretKeyParts = []string{"user", "usr", "login", "pass", "pwd", "token", "auth", "key", "secret", "cred"}

// SecretKey reports whether a query parameter named key carries a
// credential.
func SecretKey(key string) bool {
	if k, err := url.QueryUnescape(key); err == nil {
		key = k
	}
	key = strings.ToLower(key)
	for _, p := range secretKeyParts {
		if strings.Contains(key, p) {
			return true
		}
	}
	return false
}

// URL returns raw with its user info (everything between the scheme and the
// last '@') and the values of credential-like query parameters replaced by
// Mask. It works on any string, URL or not: without "scheme://", user info
// is what comes before the last '@'.
func URL(raw string) string {
	prefix, rest := splitScheme(raw)
	if j := strings.LastIndexByte(rest, '@'); j >= 0 {
		rest = Mask + rest[j:]
	}
	return prefix + redactQuery(rest)
}

// HasCredentials reports whether raw carries user info or a credential-like
// query parameter, i.e. whether URL changes it.
func HasCredentials(raw string) bool { return URL(raw) != raw }

// splitScheme splits "scheme://" off raw. Only a syntactically valid scheme
// counts, so that a "://" inside a query does not hide user info before it.
func splitScheme(raw string) (prefix, rest string) {
	i := strings.Index(raw, "://")
	if i <= 0 || !validScheme(raw[:i]) {
		return "", raw
	}
	return raw[:i+3], raw[i+3:]
}

func validScheme(s string) bool {
	for k := 0; k < len(s); k++ {
		c := s[k]
		switch {
		case isLetter(c):
		case k > 0 && isSchemeChar(c):
		default:
			return false
		}
	}
	return s != ""
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isSchemeChar(c byte) bool {
	return isLetter(c) || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// redactQuery replaces the values of credential-like parameters in
// everything after the first '?' of s. Parameters are separated by '&' or
// ';'; a '#' does not end the query here, so a fragment is scanned too.
func redactQuery(s string) string {
	q := strings.IndexByte(s, '?')
	if q < 0 {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:q+1])
	rest := s[q+1:]
	changed := false
	for {
		end := strings.IndexAny(rest, "&;")
		part := rest
		if end >= 0 {
			part = rest[:end]
		}
		if k, v, ok := strings.Cut(part, "="); ok && v != Mask && SecretKey(k) {
			b.WriteString(k + "=" + Mask)
			changed = true
		} else {
			b.WriteString(part)
		}
		if end < 0 {
			break
		}
		b.WriteByte(rest[end])
		rest = rest[end+1:]
	}
	if !changed {
		return s
	}
	return b.String()
}

// Text returns s with every URL in it ("scheme://" up to the next white
// space) redacted as URL does. It is for text whose origin is not known,
// such as a library's error message: a URL's user info is removed even
// when the password holds characters (quotes, '@', '/', ':') that would
// end a URL for a parser. Text without "://" is returned as it is.
func Text(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	i := 0
	for i < len(s) {
		k := strings.Index(s[i:], "://")
		if k < 0 {
			break
		}
		k += i
		st := k
		for st > i && isSchemeChar(s[st-1]) {
			st--
		}
		for st < k && !isLetter(s[st]) {
			st++
		}
		end := k + 3
		for end < len(s) && !isSpace(s[end]) {
			end++
		}
		if st == k { // no scheme: "://" on its own
			b.WriteString(s[i : k+3])
			i = k + 3
			continue
		}
		b.WriteString(s[i:st])
		b.WriteString(URL(s[st:end]))
		i = end
	}
	b.WriteString(s[i:])
	return b.String()
}

func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

// Scrubber removes a known URL's credentials from text that did not come
// from us (library error messages), in every form a library might print
// them: the URL as configured, the user info, user name and password as
// written, %-decoded and %-encoded, Go-quoted, and the values of
// credential-like query parameters; then every URL in the text as Text
// does. It is a second line of defence after never putting the URL into
// such text in the first place. The zero Scrubber (or nil) knows no URL and
// only applies Text.
type Scrubber struct {
	raw     string   // the URL as configured, replaced by its redacted form
	secrets []string // longest first, each at least MinSecretLen long
}

// NewScrubber returns a Scrubber for the URL raw.
func NewScrubber(raw string) *Scrubber {
	var s []string
	add := func(v string) {
		for _, w := range []string{v, quoted(v)} {
			if len(w) >= MinSecretLen && !strings.Contains(Mask, w) {
				s = append(s, w)
			}
		}
	}
	addForms := func(v string) {
		add(v)
		if u, err := url.PathUnescape(v); err == nil {
			add(u)
			add(url.PathEscape(u))
			add(url.QueryEscape(u))
		}
	}
	// Credentials exactly as written, however the URL parses.
	_, rest := splitScheme(raw)
	if j := strings.LastIndexByte(rest, '@'); j >= 0 {
		ui := rest[:j]
		add(ui)
		user, pass, _ := strings.Cut(ui, ":")
		addForms(user)
		addForms(pass)
	}
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		for _, part := range strings.FieldsFunc(rest[q+1:], func(r rune) bool { return r == '&' || r == ';' }) {
			if k, v, ok := strings.Cut(part, "="); ok && SecretKey(k) {
				addForms(v)
			}
		}
	}
	// And as a parser sees them, should it disagree.
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		add(u.User.String())
		add(u.User.Username())
		if p, ok := u.User.Password(); ok {
			add(p)
		}
	}
	slices.SortFunc(s, func(a, b string) int { return len(b) - len(a) })
	return &Scrubber{raw: raw, secrets: slices.Compact(s)}
}

// quoted is v as strconv.Quote writes it inside the quotes.
func quoted(v string) string {
	q := strconv.Quote(v)
	return q[1 : len(q)-1]
}

// Text returns msg with every form of the Scrubber's credentials and every
// URL's user info redacted.
func (sc *Scrubber) Text(msg string) string {
	if sc != nil {
		if sc.raw != "" {
			msg = strings.ReplaceAll(msg, sc.raw, URL(sc.raw))
			if q := quoted(sc.raw); q != sc.raw {
				msg = strings.ReplaceAll(msg, q, quoted(URL(sc.raw)))
			}
		}
		for _, s := range sc.secrets {
			msg = strings.ReplaceAll(msg, s, Mask)
		}
	}
	return Text(msg)
}
