// Package metrics holds every Prometheus collector tlserve exports, built
// on a registry the caller passes in (never the global default registry).
//
// The domain packages declare small observer interfaces (a stage timer, a
// queue-length gauge, a job outcome counter); *Metrics has methods that
// satisfy them, so the domain never imports Prometheus.
package metrics
