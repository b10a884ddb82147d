package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestUsage(t *testing.T) {
	tests := []struct {
		args           []string
		code           int
		stdout, stderr string // each must be contained; "" for empty
	}{
		{[]string{"-h"}, 0, "Usage: edgeguard-demo", ""},
		{[]string{"--codec", "mjpeg"}, 2, "", "mjpeg"},
		{[]string{"extra", "args"}, 2, "", `edgeguard-demo: takes no arguments, got ["extra" "args"]`},
		{[]string{"--duration", "-5s"}, 2, "", "edgeguard-demo: --duration -5s is negative"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, stdout containing %q, stderr containing %q", code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}
