package egress

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/edgeguard/edgeguard/pipeline/internal/egress/onvif"
)

// maxSegment keeps topics far below MQTT's 65535-byte limit.
const maxSegment = 128

// validSegment accepts one topic level. Device and camera names come from the
// operator's config; a '/' or a wildcard in them would publish to, or let a
// subscriber match, topics of other devices or cameras.
func validSegment(s string) error {
	switch {
	case s == "":
		return errors.New("empty topic level")
	case len(s) > maxSegment:
		return errors.New("topic level longer than 128 bytes")
	case !utf8.ValidString(s):
		return errors.New("topic level is not valid UTF-8")
	case strings.ContainsAny(s, "/+#\x00"):
		return errors.New(`topic level contains '/', '+', '#' or NUL`)
	}
	return nil
}

// validPrefix accepts one or more levels separated by '/'. A leading '$' is
// refused: such topics are the broker's own ($SYS) and not matched by '#'.
func validPrefix(p string) error {
	if strings.HasPrefix(p, "$") {
		return errors.New("topic prefix must not start with '$'")
	}
	for _, level := range strings.Split(p, "/") {
		if err := validSegment(level); err != nil {
			return err
		}
	}
	return nil
}

// validSubtopic accepts one or more levels under the device that collide
// with none of the guard's own topics.
func validSubtopic(sub string) error {
	levels := strings.Split(sub, "/")
	for _, level := range levels {
		if err := validSegment(level); err != nil {
			return err
		}
	}
	switch {
	case len(levels) == 1 && levels[0] == "status":
		return errors.New(`"status" is the device status topic`)
	case len(levels) == 2 && (levels[1] == "events" || levels[1] == "status"):
		return fmt.Errorf("%q would be a camera topic", sub)
	case len(levels) >= 2 && levels[1] == "snapshot":
		// Images leave only through PublishSnapshot, which checks the policy.
		return fmt.Errorf("%q would be a snapshot topic", sub)
	case levels[0] == onvif.PayloadPrefix:
		// ONVIF events leave only through the event path, which applies
		// the policy (FormatPublisher).
		return fmt.Errorf("%q would be an ONVIF event topic", sub)
	}
	return nil
}

func deviceTopic(prefix, device, sub string) string {
	return prefix + "/" + device + "/" + sub
}

// onvifTopic is where an ONVIF message goes: the Event Broker's
// TopicPrefix is <prefix>/<device>, and sub starts with "onvif-ej/" (see
// onvif.Map). A camera named "onvif-ej" would put its own topics under
// the same level; config validation refuses that name when ONVIF is on.
func onvifTopic(prefix, device, sub string) string {
	return prefix + "/" + device + "/" + sub
}

func cameraTopic(prefix, device, camera, sub string) string {
	return prefix + "/" + device + "/" + camera + "/" + sub
}
