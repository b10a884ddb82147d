package ingest

import (
	"errors"
	"net"

	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
)

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
