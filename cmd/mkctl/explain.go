package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/minkube/minkube/apis/v1"
)

func (c *cli) newExplainCommand() *cobra.Command {
	var recursive bool
	cmd := &cobra.Command{
		Use:   "explain TYPE[.FIELD.PATH] [--recursive]",
		Short: "Document a kind of object or one of its fields",
		Long: `Explain prints the documentation of a kind (task, worker, event) or of
one of its fields, as kubectl explain does: its type, its description and
the fields below it. A path goes through lists and maps to the objects they
hold (task.spec.ports.containerPort). --recursive lists every field below,
with its type, without descriptions.

The text comes from the doc comments of Minkube's API types; it needs no
manager.`,
		Example: `  mkctl explain task
  mkctl explain task.spec.resources
  mkctl explain task.spec.restartPolicy
  mkctl explain task.status --recursive
  mkctl explain worker.status.capacity`,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := cmd.CommandPath()
			if len(args) != 1 {
				return usageErrorf(path, "explain takes one TYPE[.FIELD.PATH], such as task.spec.resources; got %d arguments", len(args))
			}
			e, err := explainPath(path, args[0])
			if err != nil {
				return err
			}
			return printExplanation(c.out, e, recursive)
		},
	}
	cmd.Flags().BoolVar(&recursive, "recursive", false, "list every field below, with its type, without descriptions")
	return cmd
}

// explainPath resolves "task.spec.resources" (the type as get takes it:
// tasks, t, task/...) through v1.Explain.
func explainPath(commandPath, arg string) (*v1.Explanation, error) {
	parts := strings.Split(arg, ".")
	kind, err := normalizeKind(commandPath, parts[0], []string{kindTask, kindWorker, kindEvent})
	if err != nil {
		return nil, err
	}
	for _, p := range parts[1:] {
		if p == "" {
			return nil, usageErrorf(commandPath, "%q: a field path is names joined by dots, such as task.spec.resources", arg)
		}
	}
	e, err := v1.Explain(kind, parts[1:])
	if errors.Is(err, v1.ErrUnknownField) {
		return nil, fmt.Errorf("field %s", strings.TrimPrefix(err.Error(), v1.ErrUnknownField.Error()+": "))
	}
	return e, err
}

// explainWidth is the width explain wraps descriptions to, as kubectl's.
const explainWidth = 80

// printExplanation writes e in kubectl explain's layout: KIND and VERSION,
// the FIELD and its type, its ENUM values, the DESCRIPTION (the field's
// doc, then its object type's), and the FIELDS below it.
func printExplanation(out io.Writer, e *v1.Explanation, recursive bool) error {
	w := bufio.NewWriter(out)
	fmt.Fprintf(w, "KIND:       %s\nVERSION:    %s\n\n", e.Kind, v1.APIVersion)
	var docs []string
	if e.Field != nil {
		fmt.Fprintf(w, "FIELD: %s <%s>%s\n", e.Field.Name, e.Field.Type, requiredMark(e.Field))
		if len(e.Field.Enum) > 0 {
			fmt.Fprintln(w, "ENUM:")
			for _, v := range e.Field.Enum {
				fmt.Fprintf(w, "    %s\n", v)
			}
		}
		fmt.Fprintln(w)
		docs = append(docs, e.Field.Doc)
	}
	if e.Type != nil {
		docs = append(docs, e.Type.Doc)
	}
	fmt.Fprintln(w, "DESCRIPTION:")
	for i, d := range docs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		writeWrapped(w, d, "    ")
	}
	if e.Type != nil && len(e.Type.Fields) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "FIELDS:")
		if recursive {
			writeFieldTree(w, e.Type, "  ", map[string]bool{e.Type.Name: true})
		} else {
			for i, f := range e.Type.Fields {
				if i > 0 {
					fmt.Fprintln(w)
				}
				fmt.Fprintf(w, "  %s\t<%s>%s\n", f.Name, f.Type, requiredMark(&f))
				if len(f.Enum) > 0 {
					fmt.Fprintf(w, "  enum: %s\n", strings.Join(f.Enum, ", "))
				}
				writeWrapped(w, f.Doc, "    ")
			}
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

func requiredMark(f *v1.ExplainField) string {
	if f.Required {
		return " -required-"
	}
	return ""
}

// writeFieldTree lists the fields of t and, indented, those of the objects
// they hold; seen stops a type that holds itself.
func writeFieldTree(w io.Writer, t *v1.ExplainType, indent string, seen map[string]bool) {
	for _, f := range t.Fields {
		fmt.Fprintf(w, "%s%s\t<%s>%s\n", indent, f.Name, f.Type, requiredMark(&f))
		if sub := v1.ExplainTypeOf(f.Ref); sub != nil && !seen[sub.Name] {
			seen[sub.Name] = true
			writeFieldTree(w, sub, indent+"  ", seen)
			delete(seen, sub.Name)
		}
	}
}

// writeWrapped writes text indented, its paragraphs (blank-line
// separated) refilled to explainWidth.
func writeWrapped(w io.Writer, text, indent string) {
	for i, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			fmt.Fprintln(w)
		}
		line := indent
		for _, word := range strings.Fields(para) {
			if len(line) > len(indent) && len(line)+1+len(word) > explainWidth {
				fmt.Fprintln(w, line)
				line = indent
			}
			if len(line) > len(indent) {
				line += " "
			}
			line += word
		}
		fmt.Fprintln(w, line)
	}
}
