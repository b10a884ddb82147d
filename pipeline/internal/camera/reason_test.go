package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"

	"github.com/edgeguard/edgeguard/pipeline/internal/video/ingest"
)

// TestReason: every way a session fails maps to a word of the fixed
// vocabulary, chosen from the error chain, however the error is wrapped,
// and nothing of the error's text (URL, address) comes through. The real
// ingest errors (safeError) are covered by the fault tests.
func TestReason(t *testing.T) {
	const url = "rtsp://admin:s3cr3t@192.0.2.10:554/stream1"
	wrap := func(err error) error { return fmt.Errorf("ingest: OPTIONS %s: %w", url, err) }
	dial := func(err error) error { return wrap(&net.OpError{Op: "dial", Net: "tcp", Err: err}) }
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"none", nil, ""},
		{"wrong password", wrap(ingest.ErrUnauthorized), ReasonUnauthorized},
		{"codecs offered", wrap(&ingest.UnsupportedCodecError{Offered: []string{"M-JPEG", "AV1"}}),
			"unsupported codec: M-JPEG, AV1 (H.264 or H.265 required)"},
		{"codec name with odd text", &ingest.UnsupportedCodecError{Offered: []string{url, "VP8", "MPEG-4 Video"}},
			"unsupported codec: other, VP8, MPEG-4 Video (H.264 or H.265 required)"},
		{"codec without names", fmt.Errorf("%w: x", ingest.ErrUnsupportedCodec), "unsupported codec (H.264 or H.265 required)"},
		{"no video", wrap(ingest.ErrNoVideo), ReasonNoVideo},
		{"stalled", fmt.Errorf("%w: no picture for 10s", ErrStalled), ReasonStalled},
		{"camera ended the stream", wrap(ingest.ErrStreamEnded), ReasonEnded},
		{"camera sent TEARDOWN", wrap(liberrors.ErrClientUnhandledMethod{Method: base.Teardown}), ReasonEnded},
		{"other request from the camera", wrap(liberrors.ErrClientUnhandledMethod{Method: base.Announce}), ReasonError},
		{"404", wrap(liberrors.ErrClientBadStatusCode{Code: base.StatusNotFound, Message: url}), ReasonNotFound},
		{"401", wrap(liberrors.ErrClientBadStatusCode{Code: base.StatusUnauthorized}), ReasonUnauthorized},
		{"403", wrap(liberrors.ErrClientBadStatusCode{Code: base.StatusForbidden}), ReasonForbidden},
		{"503", wrap(liberrors.ErrClientBadStatusCode{Code: base.StatusServiceUnavailable, Message: url}), "rtsp status 503"},
		{"unknown host", dial(&net.DNSError{Err: "no such host", Name: "cam.example", IsNotFound: true}), ReasonHostNotFound},
		{"resolver timed out", dial(&net.DNSError{Err: "i/o timeout", Name: "cam.example", IsTimeout: true}), ReasonTimeout},
		{"refused", dial(os.NewSyscallError("connect", syscall.ECONNREFUSED)), ReasonConnectionRefused},
		{"no route to network", dial(os.NewSyscallError("connect", syscall.ENETUNREACH)), ReasonNetworkUnreachable},
		{"no route to host", dial(os.NewSyscallError("connect", syscall.EHOSTUNREACH)), ReasonNetworkUnreachable},
		{"hung up", wrap(io.EOF), ReasonConnectionClosed},
		{"reset", wrap(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), ReasonConnectionClosed},
		{"no answer", wrap(liberrors.ErrClientRequestTimedOut{}), ReasonTimeout},
		{"no packets (tcp)", wrap(liberrors.ErrClientTCPTimeout{}), ReasonTimeout},
		{"no packets (udp)", wrap(liberrors.ErrClientUDPTimeout{}), ReasonTimeout},
		{"deadline", wrap(&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}), ReasonTimeout},
		{"context deadline", wrap(context.DeadlineExceeded), ReasonTimeout},
		{"anything else", fmt.Errorf("privacy zones: %s", url), ReasonError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Reason(tt.err)
			if got != tt.want {
				t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
			}
			if !knownReason(got) || strings.Contains(got, "://") || strings.Contains(got, "192.0.2.10:") {
				t.Errorf("Reason(%v) = %q: not from the vocabulary", tt.err, got)
			}
		})
	}
}

// TestReasonSeesThroughIngestErrors: ingest's errors hide their cause from
// errors.Unwrap (its text may quote the URL) but let Reason classify it.
func TestReasonSeesThroughIngestErrors(t *testing.T) {
	addr := freeAddr(t)
	_, err := ingest.Open(context.Background(), ingest.Config{URL: "rtsp://admin:s3cr3t@" + addr + "/cam"})
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if got := Reason(err); got != ReasonConnectionRefused {
		t.Errorf("Reason(%v) = %q, want %q", err, got, ReasonConnectionRefused)
	}
	if errors.Unwrap(err) != nil {
		t.Errorf("ingest error %v unwraps to its cause", err)
	}
}
