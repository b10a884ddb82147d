package oversight

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// MQTT (3.1.1) does not tell a subscriber who published a message, so the
// box cannot see a command's client certificate. The embedded broker can:
// its hook seals every command published to it, from any client, into an
// envelope naming the publisher's verified certificate subject ("" for a
// client without one), and the box, when its broker is the one sealing,
// takes the subject from there. A client cannot forge an envelope: the
// hook seals what it sends again, and the inner command's strict parse
// refuses the envelope's fields.

// Sealed is the envelope the embedded broker makes of a command.
type Sealed struct {
	// Subject is the distinguished name of the publisher's verified client
	// certificate (e.g. "CN=alice,O=City"), "" when it connected without
	// one (the box's own loopback listener).
	Subject string `json:"certificate_subject"`
	// Payload is the command exactly as published (base64 in the JSON, so
	// any bytes survive: the strict parse judges them, not the envelope).
	Payload []byte `json:"command"`
}

// Seal is the envelope for payload published by a client with the given
// certificate subject.
func Seal(subject string, payload []byte) []byte {
	if payload == nil {
		payload = []byte{} // "", not null: an empty command is still a command
	}
	b, _ := json.Marshal(Sealed{Subject: subject, Payload: payload}) // cannot fail: a string and bytes
	return b
}

// Unseal reads an envelope made by Seal. A payload that is not one is an
// error: with a sealing broker every command arrives sealed.
func Unseal(b []byte) (Sealed, error) {
	var s struct {
		Subject *string `json:"certificate_subject"`
		Payload *[]byte `json:"command"`
	}
	// An envelope is at most the base64 of MaxPayload plus a subject;
	// anything larger held a command that is refused anyway.
	if len(b) > 4*MaxPayload {
		return Sealed{}, fmt.Errorf("payload: %d bytes; allowed at most %d", len(b)*3/4, MaxPayload)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil || dec.More() || s.Subject == nil || s.Payload == nil {
		return Sealed{}, errors.New("payload: not sealed by the embedded broker")
	}
	return Sealed{Subject: *s.Subject, Payload: *s.Payload}, nil
}
