// Package mosquittotest runs the real Debian mosquitto broker for tests, so
// the MQTT path is exercised against the broker operators actually deploy
// rather than against a fake. It is a test helper: nothing in the edgeguard
// binary may import it (pipeline/internal/egress checks this).
package mosquittotest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Path is where Debian installs the broker.
const Path = "/usr/sbin/mosquitto"

// readyTimeout only guards against a hung broker; it is not a speed assertion.
const readyTimeout = 15 * time.Second

// Broker is one mosquitto process on a fixed loopback port. Stop and Restart
// keep the port so clients configured with URL reconnect to the same place,
// which is what the chaos tests need.
type Broker struct {
	t       testing.TB
	bin     string
	dir     string
	conf    string
	logFile string
	errFile string
	port    int
	opts    Options

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start runs mosquitto on a free 127.0.0.1 port with a config written to
// t.TempDir() (anonymous access, no persistence, log to a file that is
// printed if the test fails) and returns once it accepts connections. The
// process is killed in t.Cleanup.
func Start(t testing.TB) *Broker {
	t.Helper()
	return StartWith(t, Options{})
}

// Options configure a broker started with StartWith. The zero value is what
// Start runs: plain MQTT, anonymous access.
type Options struct {
	// TLS, if set, makes the listener TLS-only with these PEM files
	// (mosquitto's cafile, certfile, keyfile); URL then says ssl://.
	TLS *TLSFiles
	// RequireCertificate makes clients present a certificate signed by
	// TLS.CAFile (mutual TLS).
	RequireCertificate bool
	// PasswordFile, in mosquitto_passwd format (see NewPasswordFile),
	// turns anonymous access off: clients need a user name and password.
	PasswordFile string
	// ExtraConfig is appended to mosquitto.conf as is.
	ExtraConfig string
	// Persistence keeps retained messages, sessions and their queued QoS 1
	// messages across Stop/Restart (saved on a clean stop), as a
	// production broker does.
	Persistence bool
}

// TLSFiles are the broker's side of a TLS listener, as PEM files.
type TLSFiles struct {
	CAFile, CertFile, KeyFile string
}

// StartWith is Start with TLS, authentication or extra configuration.
func StartWith(t testing.TB, opts Options) *Broker {
	t.Helper()
	if opts.RequireCertificate && opts.TLS == nil {
		t.Fatalf("mosquittotest: RequireCertificate needs TLS")
	}
	bin := Path
	if _, err := os.Stat(bin); err != nil {
		p, lerr := exec.LookPath("mosquitto")
		if lerr != nil {
			t.Fatalf("mosquittotest: %s not found; install it with: sudo apt-get install -y mosquitto", Path)
		}
		bin = p
	}
	dir := t.TempDir()
	b := &Broker{
		t:       t,
		bin:     bin,
		dir:     dir,
		conf:    filepath.Join(dir, "mosquitto.conf"),
		logFile: filepath.Join(dir, "mosquitto.log"),
		errFile: filepath.Join(dir, "mosquitto.stderr"),
		opts:    opts,
	}
	t.Cleanup(func() {
		b.Kill()
		if t.Failed() {
			b.dumpLogs()
		}
	})

	// The free port is found by binding and releasing it, so another process
	// can take it before mosquitto binds: retry with a new port in that case.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		b.port = freePort(t)
		if err := b.writeConfig(); err != nil {
			t.Fatalf("mosquittotest: %v", err)
		}
		if lastErr = b.start(); lastErr == nil {
			return b
		}
	}
	b.dumpLogs()
	t.Fatalf("mosquittotest: mosquitto did not start: %v", lastErr)
	return nil
}

// URL is the broker address in the form paho expects: tcp://, or ssl://
// for a TLS listener.
func (b *Broker) URL() string {
	if b.opts.TLS != nil {
		return "ssl://" + b.Addr()
	}
	return "tcp://" + b.Addr()
}

// Addr is host:port of the listener.
func (b *Broker) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)) }

// LogPath is mosquitto's log file, for tests that want to inspect it.
func (b *Broker) LogPath() string { return b.logFile }

// Stop terminates the broker gracefully (SIGTERM) and waits for it to exit.
// Clients see their connections closed; retained messages are lost because
// persistence is off. Calling Stop on a stopped broker does nothing.
func (b *Broker) Stop() { b.signal(syscall.SIGTERM) }

// Kill terminates the broker abruptly (SIGKILL), like a crash.
func (b *Broker) Kill() { b.signal(syscall.SIGKILL) }

// Restart stops the broker if it runs and starts it again on the same port.
// It must be called from the test goroutine (it may call t.Fatalf).
func (b *Broker) Restart() {
	b.t.Helper()
	b.Stop()
	// The old listener can linger briefly; mosquitto sets SO_REUSEADDR, but
	// retry a few times rather than fail on a transient bind error.
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = b.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.dumpLogs()
	b.t.Fatalf("mosquittotest: restart on port %d: %v", b.port, err)
}

func (b *Broker) writeConfig() error {
	var userLine string
	// Running as root, mosquitto switches to the "mosquitto" user, which
	// cannot write to the test's temp dir. Naming the current user keeps it.
	if u, err := user.Current(); err == nil {
		userLine = "user " + u.Username + "\n"
	}
	var c strings.Builder
	fmt.Fprintf(&c, "listener %d 127.0.0.1\n", b.port)
	if f := b.opts.TLS; f != nil {
		fmt.Fprintf(&c, "cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate %v\n",
			f.CAFile, f.CertFile, f.KeyFile, b.opts.RequireCertificate)
	}
	if b.opts.PasswordFile != "" {
		fmt.Fprintf(&c, "allow_anonymous false\npassword_file %s\n", b.opts.PasswordFile)
	} else {
		c.WriteString("allow_anonymous true\n")
	}
	if b.opts.Persistence {
		fmt.Fprintf(&c, "persistence true\npersistence_location %s/\n", filepath.Dir(b.conf))
	} else {
		c.WriteString("persistence false\n")
	}
	fmt.Fprintf(&c, "log_dest file %s\nlog_type all\nlog_timestamp_format %%H:%%M:%%S\nconnection_messages true\n%s",
		b.logFile, userLine)
	if b.opts.ExtraConfig != "" {
		c.WriteString(b.opts.ExtraConfig + "\n")
	}
	return os.WriteFile(b.conf, []byte(c.String()), 0o600)
}

// start launches the process and waits until the port accepts connections or
// the process exits.
func (b *Broker) start() error {
	errOut, err := os.OpenFile(b.errFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(b.bin, "-c", b.conf)
	cmd.Stdout = errOut
	cmd.Stderr = errOut
	if err := cmd.Start(); err != nil {
		errOut.Close()
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		errOut.Close()
		close(done)
	}()
	b.mu.Lock()
	b.cmd, b.done = cmd, done
	b.mu.Unlock()

	deadline := time.Now().Add(readyTimeout)
	for {
		conn, err := net.DialTimeout("tcp", b.Addr(), time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("mosquitto exited: %s", cmd.ProcessState)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.signal(syscall.SIGKILL)
			return errors.New("mosquitto did not accept connections in time")
		}
	}
}

func (b *Broker) signal(sig syscall.Signal) {
	b.mu.Lock()
	cmd, done := b.cmd, b.done
	b.cmd, b.done = nil, nil
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (b *Broker) dumpLogs() {
	for _, f := range []string{b.errFile, b.logFile} {
		if data, err := os.ReadFile(f); err == nil && len(data) > 0 {
			b.t.Logf("--- %s ---\n%s", filepath.Base(f), data)
		}
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mosquittotest: no free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
