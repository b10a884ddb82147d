package console_test

import (
	"strings"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/internal/egress/console"
)

// Hashes the parser accepts (their passwords do not matter here).
const (
	bcryptHash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	argonHash  = "$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHRzYWx0c2FsdA$4nZ7U5tXc0bzGZ5lT9m0TJ1c8gq0Yqk0gQ3u0i3i1mE"
)

func TestParseUsers(t *testing.T) {
	good := "# the console's users\n\nalice operator " + bcryptHash + "\r\n\tbob\tofficer\t" + argonHash + "  \n  # indented comment\ncarl.x viewer " + bcryptHash
	u, err := console.ParseUsers("users.txt", []byte(good))
	if err != nil || u.Len() != 3 {
		t.Fatalf("good file: %v (%v users)", err, u)
	}
	for _, tt := range []struct {
		name, text string
		want       []string // in the error
	}{
		{"empty", "", []string{"users.txt:", "no users"}},
		{"only comments", "# nobody\n\n", []string{"no users"}},
		{"two fields", "alice operator\n", []string{"users.txt:1:", "2 fields", "exactly 3"}},
		{"four fields", "\nalice operator " + bcryptHash + " extra\n", []string{"users.txt:2:", "4 fields"}},
		{"bad name", "Alice operator " + bcryptHash, []string{"users.txt:1:", `name "Alice"`, "a-z"}},
		{"name too long", strings.Repeat("a", 33) + " viewer " + bcryptHash, []string{"name", "1 to 32"}},
		{"twice", "a viewer " + bcryptHash + "\na officer " + bcryptHash, []string{"users.txt:2:", `name "a"`, "listed twice"}},
		{"bad role", "alice admin " + bcryptHash, []string{"users.txt:1:", `role "admin"`, "allowed: viewer, operator, officer"}},
		{"plain password", "alice viewer secret", []string{"users.txt:1:", "hash of alice", "allowed: bcrypt", "argon2id", "edgeguard users hash"}},
		{"short bcrypt", "alice viewer $2a$10$abc", []string{"not a bcrypt hash"}},
		{"weak bcrypt", "alice viewer $2a$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", []string{"bcrypt cost 4", "allowed: 10 to 31"}},
		{"argon2i", "alice viewer $argon2i$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", []string{"allowed: bcrypt"}},
		{"argon version", "alice viewer $argon2id$v=16$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", []string{"not an argon2id PHC string"}},
		{"argon memory", "alice viewer $argon2id$v=19$m=4194304,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", []string{"argon2id parameters", "m 8·p to 1048576"}},
		{"argon params order", "alice viewer $argon2id$v=19$t=3,m=65536,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", []string{"allowed: m=<KiB>,t=<passes>,p=<lanes>"}},
		{"argon salt", "alice viewer $argon2id$v=19$m=65536,t=3,p=2$c2E$aGFzaGhhc2hoYXNoaGFzaA", []string{"argon2id salt", "8 to 64 bytes"}},
		{"argon padding", "alice viewer $argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA", []string{"argon2id salt"}},
		{"control character", "alice viewer " + bcryptHash + "\x00", []string{"users.txt:1:", "control character"}},
		{"invalid UTF-8", "alice viewer \xff", []string{"users.txt:1:", "invalid UTF-8"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := console.ParseUsers("users.txt", []byte(tt.text))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := console.LoadUsers("/nonexistent/users"); err == nil || !strings.Contains(err.Error(), "http.users_file") {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzParseUsers: any content is parsed or refused with an error naming
// the file; never a panic, never a user without a valid role.
func FuzzParseUsers(f *testing.F) {
	for _, s := range []string{
		"alice operator " + bcryptHash + "\n",
		"# c\n\nbob officer " + argonHash + "\r\n",
		"a viewer $argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\n",
		"x y z\n", "\x00", "a viewer $2a$99$" + strings.Repeat("a", 53),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := console.ParseUsers("fuzz.txt", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.txt") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		if u.Len() == 0 {
			t.Error("a users file without users accepted")
		}
	})
}
