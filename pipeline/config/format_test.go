package config

import (
	"strings"
	"testing"
)

func TestMQTTFormat(t *testing.T) {
	tests := []struct {
		name, in, want string // want: "" valid, else the error
	}{
		{"default", valid, ""},
		{"onvif", valid + "mqtt: {format: onvif}\n", ""},
		{"both", valid + "mqtt: {format: both}\n", ""},
		{"unknown", valid + "mqtt: {format: profile-m}\n",
			`e.yaml:5:8: mqtt.format: unknown value "profile-m"; allowed: edgeguard, onvif, both`},
		{"camera named like the ONVIF prefix", "device: edge-01\nmqtt: {format: both}\ncameras:\n  - id: onvif-ej\n    url: rtsp://192.0.2.10/stream\n",
			`e.yaml:4:5: cameras[0].id: camera id "onvif-ej" is the ONVIF payload prefix (mqtt.format both); choose another id`},
		{"that name is fine without ONVIF", "device: edge-01\ncameras:\n  - id: onvif-ej\n    url: rtsp://192.0.2.10/stream\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("e.yaml", []byte(tt.in))
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want == "":
				if tt.name == "default" && cfg.MQTT.Format != "edgeguard" {
					t.Errorf("default mqtt.format %q, want edgeguard", cfg.MQTT.Format)
				}
			case err == nil:
				t.Fatalf("no error, want %s", tt.want)
			case strings.TrimSpace(err.Error()) != tt.want:
				t.Errorf("got\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}
