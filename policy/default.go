package policy

// DefaultName is the name of the built-in policy.
const DefaultName = "builtin-default"

// defaultText is the built-in policy, the most private one that still lets
// edgeguard do anything: motion events with a score, nothing else, at any
// time; no images, no boxes, no zones, no counts. Its SHA-256 identifies it
// in events like that of any file. Changing a byte changes that identity,
// so change it only deliberately (TestDefaultIdentity pins it).
const defaultText = `# The built-in edgeguard policy, in force when no policy file is configured.
# It is the most private policy: only that something moved, and how strongly.
apiVersion: edgeguard/v1
kind: Policy
metadata:
  name: builtin-default
  version: "1"
  controller: "the operator of this device"
  contact: "the operator of this device"
  legal_basis: "to be established by the operator before use"
  dpia: "to be carried out by the operator before use"
  approved: 2026-01-01
retention:
  outbox: 1h
audio: discard
egress:
  events: [motion]
  fields: [score]
  snapshots: false
  max_events_per_minute: 60
anonymisation:
  faces: fill
  margin: 0.25
  persons: true
`

// Default returns the built-in policy (a new value on every call).
func Default() *Policy {
	p, err := Parse("builtin", []byte(defaultText))
	if err != nil {
		panic("policy: built-in policy is invalid: " + err.Error())
	}
	return p
}

// DefaultYAML returns the text of the built-in policy, a starting point for
// writing one's own.
func DefaultYAML() []byte { return []byte(defaultText) }
