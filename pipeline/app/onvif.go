package app

import (
	"fmt"
	"log/slog"

	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
)

// eventPublisher is what the outbox delivers through: the guard, sending
// each event in the formats of mqtt.format (docs/onvif.md). One outbox
// record is one delivery in every format, so the order and the
// at-least-once guarantee of the outbox hold for the ONVIF messages too.
// next is what the edgeguard messages go through (the console's tap).
func eventPublisher(g *egress.Guard, next egress.Sender, format string, log *slog.Logger) (*egress.FormatPublisher, error) {
	f, err := egress.ParseFormat(format)
	if err != nil {
		return nil, fmt.Errorf("mqtt.format: %w", err)
	}
	if f&egress.FormatONVIF != 0 {
		log.Info("events also leave in ONVIF's JSON event format", "format", f.String())
	}
	return g.EventPublisher(f, next)
}
