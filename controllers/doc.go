// Package controllers holds the manager's reconcile loops, one package per
// controller: scheduler (placement, spec pushes and deletes) and workers
// (worker lifecycle). Each is level-based: a key in the queue says "look
// again", and the reconciler reads the current state fresh from the caches.
package controllers
