// Package oversight is the human oversight of the box's analysis
// (docs/oversight.md): the commands an operator sends over MQTT to pause
// and resume a camera's analysis or the whole device's, and to review an
// event; the pause state with its expiry; its persistence across restarts;
// and the bookkeeping that maps a reviewed event to its type.
//
// It holds the pure logic only: parsing is strict (unknown fields,
// trailing data, wrong values and oversized payloads are refused with an
// error naming the field and what is allowed), so a malformed command
// changes nothing. The wiring to MQTT and the cameras is in pipeline/app.
package oversight

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of a command. A command is a few short fields; anything larger
// is refused before it is decoded.
const (
	MaxPayload  = 4096 // bytes of one command
	MaxOperator = 128  // characters of the operator's id
	MaxReason   = 500  // characters of a pause's reason
	MaxNote     = 500  // characters of a review's note
)

// States of the analysis.
const (
	Paused  = "paused"
	Running = "running"
)

// Verdicts of a review.
const (
	Confirmed = "confirmed"
	Dismissed = "dismissed"
)

// AnalysisCommand is a parsed <prefix>/<device>[/<camera>]/analysis/set.
type AnalysisCommand struct {
	State    string    // Paused or Running
	Reason   string    // why (required with Paused)
	Until    time.Time // zero: until resumed; only with Paused
	Operator string
}

// ReviewCommand is a parsed <prefix>/<device>/<camera>/events/<id>/review.
type ReviewCommand struct {
	Verdict  string // Confirmed or Dismissed
	Operator string
	Note     string // bounded by MaxNote
}

// ParseAnalysis parses and checks an analysis command; now is the time
// until must lie after.
func ParseAnalysis(payload []byte, now time.Time) (AnalysisCommand, error) {
	var raw struct {
		State    *string `json:"state"`
		Reason   string  `json:"reason"`
		Until    string  `json:"until"`
		Operator string  `json:"operator"`
	}
	if err := decode(payload, &raw, `"state", "reason", "until", "operator"`); err != nil {
		return AnalysisCommand{}, err
	}
	c := AnalysisCommand{Reason: raw.Reason, Operator: raw.Operator}
	switch {
	case raw.State == nil:
		return c, errors.New(`field state: required; allowed "paused", "running"`)
	case *raw.State != Paused && *raw.State != Running:
		return c, errors.New(`field state: not allowed; allowed "paused", "running"`)
	}
	c.State = *raw.State
	if err := operator(c.Operator); err != nil {
		return c, err
	}
	if err := text("reason", c.Reason, MaxReason); err != nil {
		return c, err
	}
	if c.State == Paused && strings.TrimSpace(c.Reason) == "" {
		return c, fmt.Errorf("field reason: required with state paused (1 to %d characters: why the analysis is paused)", MaxReason)
	}
	if raw.Until != "" {
		if c.State != Paused {
			return c, errors.New("field until: allowed with state paused only")
		}
		u, err := time.Parse(time.RFC3339, raw.Until)
		if err != nil {
			return c, errors.New("field until: not an RFC 3339 time; allowed e.g. 2026-12-05T06:00:00Z")
		}
		if !u.After(now) {
			return c, fmt.Errorf("field until: %s is not in the future", u.UTC().Format(time.RFC3339))
		}
		c.Until = u
	}
	return c, nil
}

// ParseReview parses and checks a review command.
func ParseReview(payload []byte) (ReviewCommand, error) {
	var raw struct {
		Verdict  *string `json:"verdict"`
		Operator string  `json:"operator"`
		Note     string  `json:"note"`
	}
	if err := decode(payload, &raw, `"verdict", "operator", "note"`); err != nil {
		return ReviewCommand{}, err
	}
	c := ReviewCommand{Operator: raw.Operator, Note: raw.Note}
	switch {
	case raw.Verdict == nil:
		return c, errors.New(`field verdict: required; allowed "confirmed", "dismissed"`)
	case *raw.Verdict != Confirmed && *raw.Verdict != Dismissed:
		return c, errors.New(`field verdict: not allowed; allowed "confirmed", "dismissed"`)
	}
	c.Verdict = *raw.Verdict
	if err := operator(c.Operator); err != nil {
		return c, err
	}
	return c, text("note", c.Note, MaxNote)
}

// decode is the strict JSON decode of one command object; allowed lists
// its keys for the error about an unknown one.
func decode(payload []byte, v any, allowed string) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("payload: %d bytes; allowed at most %d", len(payload), MaxPayload)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn):
			return fmt.Errorf("payload: not JSON (syntax error at byte %d); allowed one object of string fields", syn.Offset)
		case errors.As(err, &typ) && typ.Field != "":
			return fmt.Errorf("field %s: must be a string", typ.Field)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fmt.Errorf("field %s: unknown; allowed %s", fieldName(strings.TrimPrefix(err.Error(), "json: unknown field ")), allowed)
		}
		return errors.New("payload: not a JSON object with string fields")
	}
	if dec.More() {
		return errors.New("payload: data after the JSON object")
	}
	return nil
}

func operator(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("field operator: required (1 to %d characters: who sends the command)", MaxOperator)
	}
	return text("operator", s, MaxOperator)
}

func text(field, s string, n int) error {
	switch {
	case !utf8.ValidString(s):
		return fmt.Errorf("field %s: not valid UTF-8", field)
	case utf8.RuneCountInString(s) > n:
		return fmt.Errorf("field %s: %d characters; allowed at most %d", field, utf8.RuneCountInString(s), n)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("field %s: control characters are not allowed", field)
	}
	return nil
}

// fieldName is an unknown field's name as the error may say it: the
// reply is published, and what a command carried never leaves, so a name
// that is not a short plain word is not repeated.
func fieldName(quoted string) string {
	name := strings.Trim(quoted, `"`)
	if len(name) == 0 || len(name) > 32 || strings.ContainsFunc(name, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		return "(name not shown)"
	}
	return `"` + name + `"`
}
