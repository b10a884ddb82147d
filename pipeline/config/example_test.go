package config_test

import (
	"fmt"

	"github.com/edgeguard/edgeguard/pipeline/config"
)

// A file with several mistakes: all are reported at once, in file order,
// and the camera password never appears in a message.
func ExampleParse_errors() {
	_, err := config.Parse("edgeguard.yaml", []byte(`device: edge-01
mqtt:
  brokr: tcp://192.0.2.20:1883
cameras:
  - id: cam1
    url: rtsp://viewer:s3cr3t@192.0.2.10/stream
  - id: cam1
    url: http://viewer:s3cr3t@192.0.2.11/stream
    analysis: {fps: 60}
`))
	fmt.Println(err)
	// Output:
	// edgeguard.yaml:3:3: mqtt.brokr: unknown field; did you mean "broker"? allowed: broker, embedded_addr, topic_prefix, client_id, username, password_file, password_env, keepalive, clean_session, format, tls, embedded_tls
	// edgeguard.yaml:7:5: cameras[1].id: duplicate camera id "cam1" (first at line 5)
	// edgeguard.yaml:8:5: cameras[1].url: unsupported scheme "http"; allowed: rtsp, rtsps (e.g. rtsp://user:password@192.0.2.10:554/stream)
	// edgeguard.yaml:9:16: cameras[1].analysis.fps: 60 is out of range; allowed: 0.5 to 30 frames per second
}

// Cameras start from the defaults: section and override single keys.
func ExampleParse() {
	cfg, err := config.Parse("edgeguard.yaml", []byte(`device: edge-01
defaults:
  analysis: {fps: 2}
cameras:
  - id: cam1
    url: rtsp://viewer:s3cr3t@192.0.2.10/stream
    analysis: {width: 320}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	cam := cfg.Cameras[0]
	fmt.Println(cam.ID, cam.RedactedURL(), cam.Analysis.FPS, cam.Analysis.Width, cam.Motion.QuietTime)
	fmt.Println(cfg.MQTT.ClientID, cfg.MQTT.Embedded(), cfg.MQTT.EmbeddedAddr)
	// Output:
	// cam1 rtsp://xxxxx@192.0.2.10/stream 2 320 5s
	// edgeguard-edge-01 true 127.0.0.1:1883
}

func ExampleDefaults() {
	d := config.Defaults()
	fmt.Println(d.Log.Level, d.MQTT.TopicPrefix, d.MQTT.KeepAlive, d.Defaults.Transport, d.Defaults.Analysis.FPS, d.Defaults.Analysis.Width)
	// Output: info edgeguard 30s tcp 5 640
}
