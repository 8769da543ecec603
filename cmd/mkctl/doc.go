// Mkctl is the command-line client of a Minkube cluster: it applies Task
// manifests, lists and deletes Tasks, and shows workers.
//
// Usage:
//
//	mkctl apply -f FILE|DIR|- [-R] [--dry-run=server]
//	mkctl get tasks|task NAME...|workers|worker NAME... [-o wide|json|yaml|name] [-l SELECTOR] [--no-headers]
//	mkctl delete task NAME... | -f FILE|DIR|- [-R]
//	mkctl version [--client]
//
// The manager is found through --server, then $MINKUBE_SERVER, then the
// server: line of ~/.minkube/config, then http://127.0.0.1:7070; the token
// through --token, $MINKUBE_TOKEN, then the token: line of the same file.
//
// Every error is one line on standard error that starts with "error: ",
// and the exit status is 1; success exits 0.
//
// The layout: main.go runs the root command and reports errors; one file per
// command (apply.go, get.go, delete.go, version.go) builds its cobra command
// and does its work through the client package; printers.go holds the
// tables and the json, yaml and name output every command shares.
package main
