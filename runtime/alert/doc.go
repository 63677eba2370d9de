// Package alert sends the node's error-level log records to operators the
// way viabtc's alertcenter does (docs/protocol.md "Alerts"): each one becomes the text
// "<host>: <message> key=value …", at most 10240 bytes, appended with
// RPUSH to a Redis list (config alert.key, default "alert:message") that a
// mailer pops.
//
// Handler wraps the node's slog.Handler: every record still goes to the
// wrapped handler unchanged, and records at or above the alert level are
// also queued for Redis. Logging never waits for Redis: the queue is
// bounded, an alert that finds it full is dropped and counted, and a Redis
// outage only delays the queued alerts (the worker retries with backoff).
package alert
