package egress

import (
	"context"
	"errors"
	"fmt"

	"github.com/edgeguard/edgeguard/pipeline/internal/audit"
)

// ErrImageMetadata: a snapshot carried metadata (EXIF, GPS, comments,
// vendor segments) and was refused.
var ErrImageMetadata = errors.New("egress: image carries metadata")

// snapshotRules is implemented by rules that can allow snapshots
// (*policy.Policy does). Rules without it never let an image out.
type snapshotRules interface {
	AllowsSnapshots() bool
}

// PublishSnapshot publishes an anonymised JPEG at QoS 1 (not retained) on
// <prefix>/<device>/<camera>/snapshot/<event_id>. The event id is in the
// topic because MQTT 3.1.1 has no message properties; a consumer subscribes
// to <prefix>/<device>/+/snapshot/+ and joins on event_id.
//
// The guard refuses the image (ErrSuppressed, counted) unless the active
// rules allow snapshots and this guard admitted the start of the image's
// situation: an image whose start was withheld (type, schedule, rate), or
// whose start it has not judged (yet), does not leave. That is fail closed
// for the order too: an image handed over before its start was judged is
// lost, not sent early, so callers queue images behind their start (the
// outbox does). It refuses any JPEG that is not a bare JFIF stream
// (ErrImageMetadata): the anonymiser already strips metadata, this is the
// last line of defence before the network.
func (g *Guard) PublishSnapshot(ctx context.Context, camera, eventID string, jpeg []byte) error {
	if err := g.admitSnapshot(g.rules.Load().r, camera, eventID); err != nil {
		return err
	}
	if err := bareJFIF(jpeg); err != nil {
		g.failed.Add(1)
		return err
	}
	topic := cameraTopic(g.cfg.TopicPrefix, g.cfg.Device, camera, "snapshot/"+eventID)
	if err := g.publish(ctx, topic, jpeg, false); err != nil {
		return err
	}
	// Who: the image went to the broker, to whoever subscribes to the topic.
	g.audit(audit.Record{Kind: audit.KindImage, Camera: camera, EventID: eventID, What: "snapshot", Who: "mqtt " + topic})
	return nil
}

// admitSnapshot is PublishSnapshot's decision, without the image.
func (g *Guard) admitSnapshot(r Rules, camera, eventID string) error {
	if s, ok := r.(snapshotRules); !ok || !s.AllowsSnapshots() {
		g.suppressed.Add(1)
		return fmt.Errorf("snapshot of %s: %w", camera, ErrSuppressed)
	}
	switch v, why := g.imageVerdict(eventID); v {
	case verdictWithheld:
		// The situation itself was withheld: its image is too.
		g.suppressed.Add(1)
		return fmt.Errorf("snapshot of situation %s, whose start was withheld (%s): %w", eventID, why, ErrSuppressed)
	case verdictUnknown:
		g.suppressed.Add(1)
		return fmt.Errorf("snapshot of situation %s, whose start this guard has not admitted: %w", eventID, ErrSuppressed)
	}
	if err := validSegment(camera); err != nil {
		g.failed.Add(1)
		return fmt.Errorf("egress: camera: %w", err)
	}
	if err := validSegment(eventID); err != nil {
		g.failed.Add(1)
		return fmt.Errorf("egress: event id: %w", err)
	}
	return nil
}

// bareJFIF accepts a JPEG whose segments before the image data are only
// the JFIF header (APP0 "JFIF"), tables and frame/scan headers.
func bareJFIF(b []byte) error {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return fmt.Errorf("%w: not a JPEG", ErrImageMetadata)
	}
	for i := 2; ; {
		if i+4 > len(b) || b[i] != 0xFF {
			return fmt.Errorf("%w: malformed segment at byte %d", ErrImageMetadata, i)
		}
		m := b[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		n := int(b[i+2])<<8 | int(b[i+3])
		if n < 2 || i+2+n > len(b) {
			return fmt.Errorf("%w: segment 0x%02X length %d at byte %d", ErrImageMetadata, m, n, i)
		}
		switch {
		case m == 0xDA: // start of scan: image data follows
			return nil
		case m == 0xE0:
			if n < 7 || string(b[i+4:i+9]) != "JFIF\x00" {
				return fmt.Errorf("%w: APP0 segment that is not JFIF", ErrImageMetadata)
			}
		case m >= 0xE1 && m <= 0xEF, m == 0xFE:
			return fmt.Errorf("%w: segment 0x%02X (EXIF/XMP/ICC/comment) present", ErrImageMetadata, m)
		}
		i += 2 + n
	}
}
