// Package e2e holds Minkube's end-to-end tests: they build the minkube and
// mkctl binaries, start real managers and workers on loopback ports, drive
// them with the built mkctl, and check the containers on the real Docker
// engine. They need a Docker engine and the test image (make images).
package e2e
