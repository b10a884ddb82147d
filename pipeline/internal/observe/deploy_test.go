package observe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeguard/edgeguard/pipeline/config"
)

// TestDeploymentExamplesAgree keeps the deployment files in configs/ and
// the Dockerfile consistent with the code: the compose config loads, and
// every health check asks the address edgeguard actually listens on.
func TestDeploymentExamplesAgree(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	cfg, err := config.Load(filepath.Join(root, "configs", "compose", "edgeguard.yaml"))
	if err != nil {
		t.Fatalf("configs/compose/edgeguard.yaml: %v", err)
	}
	if cfg.MQTT.Broker != "tcp://mosquitto:1883" || cfg.HTTP.Addr != "0.0.0.0:9090" || cfg.Outbox.Dir != "/var/lib/edgeguard/outbox" {
		t.Errorf("compose config: broker %q, http.addr %q, outbox.dir %q (must be on the data volume)", cfg.MQTT.Broker, cfg.HTTP.Addr, cfg.Outbox.Dir)
	}
	compose := read("configs/compose/docker-compose.yml")
	for _, want := range []string{`"127.0.0.1:9090:9090"`, "./edgeguard.yaml:/etc/edgeguard/edgeguard.yaml:ro", "../policy.yaml:/etc/edgeguard/policy.yaml:ro", "./mosquitto.conf:/mosquitto/config/mosquitto.conf:ro"} {
		if !strings.Contains(compose, want) {
			t.Errorf("docker-compose.yml lacks %s", want)
		}
	}

	// The image's health check reads http.addr from the same file the
	// service runs with, so it asks where edgeguard listens whatever the
	// file says.
	docker := read("Dockerfile")
	for _, want := range []string{
		`CMD ["/usr/local/bin/edgeguard", "health", "--config", "/etc/edgeguard/edgeguard.yaml"]`,
		`CMD ["run", "--config", "/etc/edgeguard/edgeguard.yaml"]`,
	} {
		if !strings.Contains(docker, want) {
			t.Errorf("Dockerfile lacks %s: its HEALTHCHECK must read the config the service runs with", want)
		}
	}
	unit := read("configs/edgeguard.service")
	for _, want := range []string{"ExecStart=/usr/local/bin/edgeguard run --config /etc/edgeguard/edgeguard.yaml", "ExecReload=/bin/kill -HUP $MAINPID", "StateDirectory=edgeguard", "User=edgeguard"} {
		if !strings.Contains(unit, want) {
			t.Errorf("edgeguard.service lacks %q", want)
		}
	}
}
