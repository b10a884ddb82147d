package console

// The users file (http.users_file): who may log in to the console, with
// which role and password hash. One user a line, three fields separated by
// spaces or tabs; '#' starts a comment line; blank lines are ignored:
//
//	# name     role      hash (edgeguard users hash)
//	alice      operator  $2a$12$…
//	bob        officer   $argon2id$v=19$m=65536,t=3,p=2$…$…
//
// Names are 1 to 32 of a-z, 0-9, '.', '_', '-', starting with a letter;
// roles viewer, operator, officer; hashes bcrypt ($2a$, $2b$, $2y$) or
// argon2id in the PHC string format. Anything else is refused with the
// file, line, field and what is allowed: a users file is read strictly,
// like the configuration, and a bad one changes nothing.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Users is a parsed users file.
type Users struct {
	// File is where it was read from (for messages).
	File  string
	users map[string]user
}

type user struct {
	role Role
	hash string
}

// Limits of a users file.
const (
	maxUsersFile = 1 << 20
	maxUsers     = 1000
	// argon2id parameters a users file may ask for: more would let the
	// file make every login a denial of service.
	maxArgonMemory = 1 << 20 // KiB (1 GiB)
	maxArgonTime   = 16
	maxArgonLanes  = 16
)

var userName = regexp.MustCompile(`^[a-z][a-z0-9._-]{0,31}$`)

// LoadUsers reads and parses a users file.
func LoadUsers(file string) (*Users, error) {
	u, _, err := readUsers(file)
	return u, err
}

func readUsers(file string) (*Users, []byte, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, nil, fmt.Errorf("http.users_file: %w", err)
	}
	if fi.Size() > maxUsersFile {
		return nil, nil, fmt.Errorf("%s: larger than %d bytes", file, maxUsersFile)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("http.users_file: %w", err)
	}
	u, err := ParseUsers(file, data)
	return u, data, err
}

// usersCheck is how often at most the console looks whether the users
// file changed (on a request that needs the users).
const usersCheck = 2 * time.Second

// usersFile is what the console last read of Config.UsersFile.
type usersFile struct {
	now     func() time.Time
	mu      sync.Mutex
	checked time.Time
	last    [sha256.Size]byte // of the content last read, valid or not
}

// refreshUsers reads the users file again when it changed (looking at most
// every usersCheck): a valid one replaces the users in force, an invalid or
// unreadable one changes nothing and is logged once per content.
func (c *Console) refreshUsers() {
	file := c.cfg.UsersFile
	if file == "" {
		return
	}
	f := &c.usersFile
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if !f.checked.IsZero() && now.Sub(f.checked) < usersCheck {
		return
	}
	f.checked = now
	u, data, err := readUsers(file)
	sum := sha256.Sum256(data)
	if sum == f.last {
		return
	}
	f.last = sum
	if err != nil {
		c.log.Error("console: users file not reloaded; the users in force stay", "file", file, "err", err)
		return
	}
	c.users.Store(u)
	c.log.Info("console: users file reloaded", "file", file, "users", u.Len())
}

// ParseUsers parses a users file's content; file names it in errors.
func ParseUsers(file string, data []byte) (*Users, error) {
	if len(data) > maxUsersFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxUsersFile)
	}
	u := &Users{File: file, users: map[string]user{}}
	for i, line := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		text := strings.TrimSuffix(string(line), "\r")
		for _, r := range text {
			if r == '\uFFFD' || (r < ' ' && r != '\t') || r == 0x7f {
				return nil, fmt.Errorf("%s:%d: a control character or invalid UTF-8: allowed: printable text", file, n)
			}
		}
		trimmed := strings.TrimSpace(text)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		f := strings.Fields(trimmed)
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: %d fields: allowed: exactly 3, name role hash (separated by spaces)", file, n, len(f))
		}
		name, roleName, hash := f[0], f[1], f[2]
		if !userName.MatchString(name) {
			return nil, fmt.Errorf("%s:%d: name %s: allowed: 1 to 32 of a-z, 0-9, '.', '_', '-', starting with a letter", file, n, strconv.Quote(name))
		}
		if _, dup := u.users[name]; dup {
			return nil, fmt.Errorf("%s:%d: name %s: listed twice", file, n, strconv.Quote(name))
		}
		role, ok := parseRole(roleName)
		if !ok {
			return nil, fmt.Errorf("%s:%d: role %s: allowed: viewer, operator, officer", file, n, strconv.Quote(roleName))
		}
		if err := checkHash(hash); err != nil {
			return nil, fmt.Errorf("%s:%d: hash of %s: %w", file, n, name, err)
		}
		if len(u.users) == maxUsers {
			return nil, fmt.Errorf("%s:%d: more than %d users", file, n, maxUsers)
		}
		u.users[name] = user{role: role, hash: hash}
	}
	if len(u.users) == 0 {
		return nil, fmt.Errorf("%s: no users: a users file lists at least one (name role hash)", file)
	}
	return u, nil
}

// Len is the number of users.
func (u *Users) Len() int { return len(u.users) }

// errHashFormat is what a users file may hold.
const hashFormats = "allowed: bcrypt ($2a$, $2b$, $2y$) or argon2id ($argon2id$v=19$m=…,t=…,p=…$salt$hash), made by `edgeguard users hash`"

func checkHash(h string) error {
	switch {
	case strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$"):
		cost, err := bcrypt.Cost([]byte(h))
		if err != nil || len(h) != 60 {
			return fmt.Errorf("not a bcrypt hash: %s", hashFormats)
		}
		if cost < 10 {
			return fmt.Errorf("bcrypt cost %d: allowed: 10 to 31", cost)
		}
		return nil
	case strings.HasPrefix(h, "$argon2id$"):
		_, err := parseArgon2id(h)
		return err
	}
	return errors.New(hashFormats)
}

// argonHash is a parsed argon2id PHC string.
type argonHash struct {
	memory     uint32
	time       uint32
	lanes      uint8
	salt, hash []byte
}

func parseArgon2id(h string) (argonHash, error) {
	var a argonHash
	parts := strings.Split(h, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	if len(parts) != 6 || parts[2] != "v=19" {
		return a, fmt.Errorf("not an argon2id PHC string: %s", hashFormats)
	}
	var m, t, p uint64
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || n != 3 || fmt.Sprintf("m=%d,t=%d,p=%d", m, t, p) != parts[3] {
		return a, fmt.Errorf("argon2id parameters %s: allowed: m=<KiB>,t=<passes>,p=<lanes>", strconv.Quote(parts[3]))
	}
	if m < 8*p || m > maxArgonMemory || t < 1 || t > maxArgonTime || p < 1 || p > maxArgonLanes {
		return a, fmt.Errorf("argon2id parameters %s: allowed: m 8·p to %d, t 1 to %d, p 1 to %d", parts[3], maxArgonMemory, maxArgonTime, maxArgonLanes)
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return a, errors.New("argon2id salt: allowed: 8 to 64 bytes, base64 without padding")
	}
	sum, err := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil || len(sum) < 16 || len(sum) > 64 {
		return a, errors.New("argon2id hash: allowed: 16 to 64 bytes, base64 without padding")
	}
	return argonHash{memory: uint32(m), time: uint32(t), lanes: uint8(p), salt: salt, hash: sum}, nil
}

// verify says whether password matches hash (a hash ParseUsers accepted).
func verify(hash string, password []byte) bool {
	if strings.HasPrefix(hash, "$argon2id$") {
		a, err := parseArgon2id(hash)
		if err != nil {
			return false
		}
		got := argon2.IDKey(password, a.salt, a.time, a.memory, a.lanes, uint32(len(a.hash)))
		return subtle.ConstantTimeCompare(got, a.hash) == 1
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), password) == nil
}

// Hash algorithms HashPassword makes.
const (
	HashBcrypt   = "bcrypt"
	HashArgon2id = "argon2id"
)

// bcryptCost is the cost of the hashes HashPassword makes (about a quarter
// second on the box).
const bcryptCost = 12

// maxPassword: bcrypt reads at most 72 bytes; a longer password would be
// silently cut, so it is refused instead.
const maxPassword = 72

// HashPassword makes a users file hash of password with algo (HashBcrypt
// or HashArgon2id).
func HashPassword(password []byte, algo string) (string, error) {
	if len(password) == 0 {
		return "", errors.New("empty password")
	}
	if len(password) > maxPassword {
		return "", fmt.Errorf("password longer than %d bytes", maxPassword)
	}
	switch algo {
	case HashBcrypt, "":
		h, err := bcrypt.GenerateFromPassword(password, bcryptCost)
		return string(h), err
	case HashArgon2id:
		salt := make([]byte, 16)
		rand.Read(salt)
		const m, t, p = 64 << 10, 3, 2
		sum := argon2.IDKey(password, salt, t, m, p, 32)
		return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p,
			base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum)), nil
	}
	return "", fmt.Errorf("hash algorithm %s: allowed: %s, %s", strconv.Quote(algo), HashBcrypt, HashArgon2id)
}

// dummyHash is compared for an unknown user, so that a login takes about
// as long whether the user exists or not.
var dummyHash = sync.OnceValue(func() string {
	h, _ := bcrypt.GenerateFromPassword([]byte("no such user"), bcryptCost)
	return string(h)
})

// check is the role of name when password is theirs; ok false otherwise
// (a hash is always compared).
func (u *Users) check(name string, password []byte) (Role, bool) {
	us, found := u.users[name]
	if !found || len(password) > maxPassword {
		verify(dummyHash(), password)
		return 0, false
	}
	if !verify(us.hash, password) {
		return 0, false
	}
	return us.role, true
}

// role is name's role now; false if name is not (or no longer) a user.
func (u *Users) role(name string) (Role, bool) {
	us, ok := u.users[name]
	return us.role, ok
}
