// Mkctl is the command-line client of a Minkube cluster: it applies Task
// manifests, lists, watches, describes and deletes Tasks, prints their
// logs and events, waits for them, and cordons and drains workers.
//
// Usage:
//
//	mkctl apply -f FILE|DIR|- [-R] [--dry-run=server] [--wait [--timeout 60s]]
//	mkctl get tasks|task NAME...|workers|worker NAME...|events [--task NAME]
//	          [-o wide|json|yaml|name] [-l SELECTOR] [-w] [--no-headers]
//	mkctl describe task|worker [NAME...] [-l SELECTOR]
//	mkctl delete task NAME... | tasks -l SELECTOR | -f FILE|DIR|- [-R] [--wait [--timeout 60s]]
//	mkctl delete worker NAME...
//	mkctl logs TASK [-f] [--tail N]
//	mkctl edit task NAME [-o yaml|json] [--force-conflicts]
//	mkctl exec TASK [-i] [-t] -- COMMAND [ARGS...]
//	mkctl explain TYPE[.FIELD.PATH] [--recursive]
//	mkctl wait task/NAME... --for=phase=PHASE|condition=TYPE[=True|False]|delete [--timeout 60s]
//	mkctl cordon|uncordon WORKER...
//	mkctl drain WORKER [--timeout 60s]
//	mkctl version [--client]
//
// The manager is found through --server, then $MINKUBE_SERVER, then the
// context of ~/.minkube/config, then https://127.0.0.1:7070; the token
// through --token, --token-file, $MINKUBE_TOKEN, $MINKUBE_TOKEN_FILE, then
// the context; the CA that verifies the manager through
// --certificate-authority, $MINKUBE_CERTIFICATE_AUTHORITY, then the
// context's certificate-authority-data. An http:// manager is refused:
// the token would travel in clear.
//
// Every error is one line on standard error that starts with "error: "
// (a usage mistake adds a pointer to the command's help), and the exit
// status is 1; success exits 0. exec exits with the command's exit code.
//
// # Following the cluster
//
// get -w, wait, apply --wait, delete --wait and drain follow Tasks through
// the manager's watch API with client.StreamTasks, which resumes the watch
// where it left off when the connection breaks or the manager restarts,
// and lists again when the manager no longer holds that far back. get -w
// on workers and events polls once a second: the manager has no watch for
// them.
//
// # Layout
//
// main.go runs the root command and reports errors; root.go assembles the
// commands and parses TYPE NAME arguments; one file per command (apply.go,
// get.go, describe.go, delete.go, logs.go, wait.go, placement.go for
// cordon, uncordon and drain, version.go, edit.go, exec.go, explain.go)
// builds its cobra command and does its work through the client package;
// exec_term_linux.go holds the terminal handling of exec -t. printers.go holds the tables and the
// json, yaml and name output every command shares; watch.go the -w output;
// follow.go the Task following and progress line that waiting commands
// share; diff.go the field changes a server dry run shows; selector.go the
// label selector check.
package main
