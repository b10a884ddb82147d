package observe

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Oversight holds the metrics of human oversight (docs/oversight.md):
// reviews by camera, event type and verdict, so that a deployer can
// report false-alarm rates; which cameras' analysis is paused; and the
// commands received by kind and result.
type Oversight struct {
	reviews  *prometheus.CounterVec
	paused   *prometheus.GaugeVec
	commands *prometheus.CounterVec
}

// NewOversight registers the oversight metrics on s's registry.
func (s *Server) NewOversight() (*Oversight, error) {
	o := &Oversight{
		reviews: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeguard_reviews_total",
			Help: "Events an operator reviewed over MQTT, by camera, event type and verdict (confirmed or dismissed).",
		}, []string{"camera", "type", "verdict"}),
		paused: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edgeguard_analysis_paused",
			Help: "1 while an operator has paused the camera's analysis (the camera's or the whole device's pause), else 0.",
		}, []string{"camera"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeguard_commands_total",
			Help: "Commands received over MQTT, by kind (analysis, review) and result (ok, error).",
		}, []string{"kind", "result"}),
	}
	for _, c := range []prometheus.Collector{o.reviews, o.paused, o.commands} {
		if err := s.reg.Register(c); err != nil {
			return nil, fmt.Errorf("observe: %w", err)
		}
	}
	return o, nil
}

// Review counts a review.
func (o *Oversight) Review(camera, eventType, verdict string) {
	o.reviews.WithLabelValues(camera, eventType, verdict).Inc()
}

// Command counts a command; ok is its result.
func (o *Oversight) Command(kind string, ok bool) {
	r := "ok"
	if !ok {
		r = "error"
	}
	o.commands.WithLabelValues(kind, r).Inc()
}

// SetPaused sets a camera's paused gauge.
func (o *Oversight) SetPaused(camera string, paused bool) {
	v := 0.0
	if paused {
		v = 1
	}
	o.paused.WithLabelValues(camera).Set(v)
}

// ForgetCamera drops a camera's paused gauge (it was removed).
func (o *Oversight) ForgetCamera(camera string) { o.paused.DeleteLabelValues(camera) }
