package egress_test

import (
	"errors"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/internal/egress"
	"github.com/edgeguard/edgeguard/policy"
)

// The guard is built for the real policy type.
var _ egress.Rules = (*policy.Policy)(nil)

func TestFilterWithDefaultPolicy(t *testing.T) {
	p := policy.Default()
	name, sum := p.Identity()
	for _, typ := range []string{"motion", "loitering", "no-such-type"} {
		ev := sampleEvent()
		ev.Type = typ
		out, _, err := egress.Filter(p, ev)
		if !p.AllowsEvent(typ) {
			if !errors.Is(err, egress.ErrSuppressed) {
				t.Errorf("%s: err = %v, want ErrSuppressed", typ, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if out.Policy == nil || out.Policy.Name != name || out.Policy.SHA256 != sum {
			t.Errorf("%s: policy = %+v, want %s/%s", typ, out.Policy, name, sum)
		}
		keys := jsonKeys(t, out)
		for _, f := range []string{egress.FieldZone, egress.FieldCount, egress.FieldBoxes} {
			if _, present := keys[f]; present != p.AllowsField(f) {
				t.Errorf("%s: field %q present=%v, policy allows=%v", typ, f, present, p.AllowsField(f))
			}
		}
	}
}
