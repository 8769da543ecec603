// Package v1 holds Minkube's API types: Task, Worker and Event, the wire
// types of the manager and worker HTTP APIs, and their defaulting,
// validation and strict YAML/JSON decoding.
//
// # Spec and status
//
// Spec is the user's desired state and is written only by apply; Status is
// the system's observation and is written only by controllers and workerd.
// ObjectMeta.Generation moves on every spec change and never on a status
// change; Status.ObservedGeneration says which generation a status speaks of.
//
// # Objects are read-only
//
// Objects handed out by a store or cache are shared. Call DeepCopy before
// changing one.
//
// # Reading manifests
//
// ReadManifests reads files, directories (ManifestFiles says which files
// count) and standard input; ParseManifests reads one file's documents.
// Decoding is strict: an unknown field, a duplicate key, a wrong type or a
// kind other than Task is an error, and every problem of every document is
// reported at once as a DocumentErrors, each line in the form
//
//	FILE: document N (Task "NAME"): FIELD: MESSAGE
//
// Accepted Tasks come back defaulted (SetTaskDefaults) and valid
// (ValidateTask), their status dropped. DecodeTask is the same strict
// decoding for one request body, without defaulting or validation.
//
// YAML is read as YAML 1.2 (go.yaml.in/yaml/v3): yes, no, on and off are
// strings, not booleans; anchors, aliases and "<<" merge keys work within
// a document. JSON is read with JSON's own grammar.
//
// # Validation
//
// ValidateTask returns FieldErrors, each naming a field by its path from
// the object ("spec.ports[1].containerPort", "metadata.labels[app]") with
// a message a person can act on. It runs on every write, so it is kept
// cheap: the struct tags in task_types.go go through one shared
// go-playground validator, and the name syntaxes of Kubernetes are checked
// without regular expressions.
//
// This package imports nothing of the project.
package v1
