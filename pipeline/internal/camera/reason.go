package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"

	"github.com/edgeguard/edgeguard/pipeline/internal/video/ingest"
)

// The reasons a camera status's error field can carry. They say what kind
// of failure it was, never where: docs/events.md promises that no message
// carries a camera URL, and error texts from the network and RTSP
// libraries quote the URL, the address or the camera's own words. The
// detail goes to the local log only (redacted).
const (
	ReasonUnauthorized       = "unauthorized"
	ReasonUnsupportedCodec   = "unsupported codec" // followed by ": <codecs offered> (H.264 or H.265 required)"
	ReasonNoVideo            = "no video"
	ReasonConnectionRefused  = "connection refused"
	ReasonConnectionClosed   = "connection closed"
	ReasonNetworkUnreachable = "network unreachable"
	ReasonHostNotFound       = "host not found"
	ReasonTimeout            = "timeout"
	ReasonNotFound           = "not found"
	ReasonForbidden          = "forbidden"
	ReasonStatus             = "rtsp status" // followed by " <code>", for codes without a word of their own
	ReasonStalled            = "stream stalled"
	ReasonEnded              = "stream ended"
	ReasonError              = "error" // anything else; the log has the detail
)

// Reason maps why a camera session failed to the generic reason published
// on the status topic and shown by /readyz: a word from the constants
// above, chosen from the error chain (errors.Is and errors.As on the
// sentinels of ingest and this package, gortsplib's errors, status codes
// and net errors), never from the error's text. "" for nil.
func Reason(err error) string {
	var (
		codec  *ingest.UnsupportedCodecError
		status liberrors.ErrClientBadStatusCode
		method liberrors.ErrClientUnhandledMethod
		dns    *net.DNSError
		nerr   net.Error
	)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ingest.ErrUnauthorized):
		return ReasonUnauthorized
	case errors.As(err, &codec):
		return ReasonUnsupportedCodec + ": " + codecNames(codec.Offered) + " (H.264 or H.265 required)"
	case errors.Is(err, ingest.ErrUnsupportedCodec):
		return ReasonUnsupportedCodec + " (H.264 or H.265 required)"
	case errors.Is(err, ingest.ErrNoVideo):
		return ReasonNoVideo
	case errors.Is(err, ErrStalled):
		return ReasonStalled
	case errors.Is(err, ingest.ErrStreamEnded), errors.As(err, &method) && method.Method == base.Teardown:
		// The camera ended the session, by closing it or with its own
		// TEARDOWN request.
		return ReasonEnded
	case errors.As(err, &status):
		switch status.Code {
		case base.StatusUnauthorized:
			return ReasonUnauthorized
		case base.StatusForbidden:
			return ReasonForbidden
		case base.StatusNotFound:
			return ReasonNotFound
		}
		return fmt.Sprintf("%s %d", ReasonStatus, int(status.Code))
	case errors.As(err, &dns) && !dns.IsTimeout:
		return ReasonHostNotFound
	case errors.Is(err, syscall.ECONNREFUSED):
		return ReasonConnectionRefused
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return ReasonNetworkUnreachable
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ReasonConnectionClosed
	case errors.Is(err, liberrors.ErrClientRequestTimedOut{}), errors.Is(err, liberrors.ErrClientTCPTimeout{}),
		errors.Is(err, liberrors.ErrClientUDPTimeout{}), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout():
		return ReasonTimeout
	}
	return ReasonError
}

// codecNames lists the offered codecs as the RTSP library names them
// ("M-JPEG", "AV1"). A name that does not look like one (it never comes from
// the camera's own words, but this is the last guard before a message)
// is shown as "other".
func codecNames(offered []string) string {
	names := make([]string, 0, len(offered))
	for _, o := range offered {
		if !codecName.MatchString(o) {
			o = "other"
		}
		if !slices.Contains(names, o) {
			names = append(names, o)
		}
	}
	if len(names) == 0 {
		return "other"
	}
	return strings.Join(names, ", ")
}

var codecName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ./+-]{0,19}$`) // "MPEG-1/2 Video"
