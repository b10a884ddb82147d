package app

import (
	"context"

	"github.com/edgeguard/edgeguard/pipeline/internal/egress/preview"
	"github.com/edgeguard/edgeguard/pipeline/internal/observe"
)

// Probe asks a health endpoint (/healthz or /readyz) and returns nil when it
// answers 200; `edgeguard health` and the image's HEALTHCHECK run it.
func Probe(ctx context.Context, url string) error { return observe.Probe(ctx, url) }

// ProbeTLS is Probe over HTTPS, accepting only the certificate in certFile.
func ProbeTLS(ctx context.Context, url, certFile string) error {
	return observe.ProbeTLS(ctx, url, certFile)
}

// PreviewOptions and PreviewResult are those of `edgeguard policy preview`.
type (
	PreviewOptions = preview.Options
	PreviewResult  = preview.Result
)

// Preview grabs one frame of a camera through the snapshot path and writes
// the PNG a privacy officer checks before approving a policy.
func Preview(ctx context.Context, opts PreviewOptions) (PreviewResult, error) {
	return preview.Run(ctx, opts)
}
