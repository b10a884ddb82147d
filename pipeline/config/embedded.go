package config

import "github.com/edgeguard/edgeguard/policy/yamlstrict"

// DecodeCamera decodes a camera section that is part of another strict
// YAML document (the real-footage expectations of pipeline/tools/evalreal,
// where a recorded clip stands in for the camera) exactly as Parse decodes
// a camera of the config file: starting from Defaults, with every check
// of the camera's settings and patterns, reported through d at raw's path.
// The section has no defaults: to inherit from, and its id and url are not
// required: the caller says what stands in for them.
func DecodeCamera(d *yamlstrict.Decoder, raw yamlstrict.Raw) Camera {
	c := Camera{Enabled: true, CameraSettings: Defaults().Defaults}
	d.DecodeRaw(raw, &c)
	p := raw.Path()
	if c.ID != "" && !idPattern.MatchString(c.ID) {
		d.Errorf(p+".id", "%s is not a valid camera id; allowed: 1 to 64 letters, digits, - and _", yamlstrict.Quote(c.ID))
	}
	validateSettings(d, p, c.CameraSettings, false)
	validatePatterns(d, p, &c.Patterns)
	return c
}
