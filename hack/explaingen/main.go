// Command explaingen writes apis/v1/explain_generated.go: the documentation
// mkctl explain prints, taken from the doc comments of the API types in
// apis/v1, so that the two cannot drift apart. `go generate ./apis/v1` runs
// it; its test fails when the generated file is not current.
//
// Usage:
//
//	explaingen [-dir apis/v1] [-o apis/v1/explain_generated.go]
//
// Starting from Task, Worker and Event it documents every struct type a
// field leads to: each field by its JSON name, its type in kubectl's words
// (string, integer, number, boolean, Quantity, IntOrString, []EnvVar,
// map[string]string, TaskSpec), whether validation requires it, the values
// of a string type that has typed constants (RestartPolicy: Always,
// OnFailure, Never) and its doc comment. A field without a doc comment is
// an error: every field a user can write or read is explained.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// roots are the kinds mkctl explain starts from.
var roots = []string{"Task", "Worker", "Event"}

// generatedName is the file the generator writes, and skips when reading.
const generatedName = "explain_generated.go"

func main() {
	dir := flag.String("dir", ".", "the directory of package v1")
	out := flag.String("o", generatedName, "the file to write")
	flag.Parse()
	src, err := generate(*dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "explaingen: %v\n", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "explaingen: %v\n", err)
		os.Exit(1)
	}
}

// typeDecl is one type declared in the package.
type typeDecl struct {
	doc  string
	expr ast.Expr
}

// pkg is what the generator reads of the package: its types and the values
// of the constants of each named type.
type pkg struct {
	types map[string]typeDecl
	enums map[string][]string
}

// field is one documented field, as written to the generated file.
type field struct {
	Name, Type, Ref, Doc string
	Required             bool
	Enum                 []string
}

// generate reads the package in dir and returns the generated file.
func generate(dir string) ([]byte, error) {
	p, err := load(dir)
	if err != nil {
		return nil, err
	}
	docs := map[string]string{}
	fields := map[string][]field{}
	var errs []error
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if _, done := fields[name]; done {
			continue
		}
		td, ok := p.types[name]
		st, isStruct := td.expr.(*ast.StructType)
		if !ok || !isStruct {
			errs = append(errs, fmt.Errorf("type %s: not a struct type of the package", name))
			continue
		}
		if td.doc == "" {
			errs = append(errs, fmt.Errorf("type %s has no doc comment", name))
		}
		docs[name] = td.doc
		fs, ferrs := p.structFields(name, st)
		errs = append(errs, ferrs...)
		fields[name] = fs
		for _, f := range fs {
			if f.Ref != "" {
				queue = append(queue, f.Ref)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return render(docs, fields)
}

// load parses the package's Go files, leaving out tests and the generated
// file.
func load(dir string) (*pkg, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	p := &pkg{types: map[string]typeDecl{}, enums: map[string][]string{}}
	fset := token.NewFileSet()
	for _, path := range paths {
		base := filepath.Base(path)
		if strings.HasSuffix(base, "_test.go") || base == generatedName {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					doc := s.Doc
					if doc == nil && len(gd.Specs) == 1 {
						doc = gd.Doc
					}
					p.types[s.Name.Name] = typeDecl{doc: docText(doc), expr: s.Type}
				case *ast.ValueSpec:
					p.addEnum(gd.Tok, s)
				}
			}
		}
	}
	return p, nil
}

// addEnum records the string values of typed constants: the values
// RestartPolicy and its like take.
func (p *pkg) addEnum(tok token.Token, s *ast.ValueSpec) {
	typ, ok := s.Type.(*ast.Ident)
	if tok != token.CONST || !ok {
		return
	}
	for _, v := range s.Values {
		lit, ok := v.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			continue
		}
		if val, err := strconv.Unquote(lit.Value); err == nil {
			p.enums[typ.Name] = append(p.enums[typ.Name], val)
		}
	}
}

// structFields documents the fields of the struct type name; embedded
// inline structs (TypeMeta) give their fields in their place.
func (p *pkg) structFields(name string, st *ast.StructType) ([]field, []error) {
	var out []field
	var errs []error
	for _, f := range st.Fields.List {
		tag := reflectTag(f.Tag)
		jsonName, _, _ := strings.Cut(tagValue(tag, "json"), ",")
		if jsonName == "-" {
			continue
		}
		if len(f.Names) == 0 { // embedded
			id, ok := f.Type.(*ast.Ident)
			td, found := p.types[identName(id, ok)]
			st, isStruct := td.expr.(*ast.StructType)
			if !ok || !found || !isStruct || jsonName != "" {
				errs = append(errs, fmt.Errorf("%s: embedded field %s must be an inline struct of the package", name, exprString(f.Type)))
				continue
			}
			fs, ferrs := p.structFields(id.Name, st)
			out, errs = append(out, fs...), append(errs, ferrs...)
			continue
		}
		for _, n := range f.Names {
			if !n.IsExported() {
				continue
			}
			fd := field{Name: jsonName, Doc: docText(f.Doc)}
			if fd.Name == "" {
				fd.Name = n.Name
			}
			if fd.Doc == "" {
				errs = append(errs, fmt.Errorf("%s.%s has no doc comment", name, n.Name))
			}
			validate := tagValue(tag, "validate")
			fd.Required = slices.Contains(strings.Split(validate, ","), "required")
			var err error
			fd.Type, fd.Ref, fd.Enum, err = p.typeOf(f.Type)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.%s: %w", name, n.Name, err))
				continue
			}
			switch {
			case fd.Type != "string":
			case slices.Contains(strings.Split(validate, ","), "quantity"):
				fd.Type = "Quantity"
			case tagValue(tag, "minkube") == "intorstring":
				fd.Type = "IntOrString"
			}
			out = append(out, fd)
		}
	}
	return out, errs
}

// typeOf names the type of a field in kubectl's words and returns the
// struct type it leads to, if any, and the values of its named string
// type.
func (p *pkg) typeOf(e ast.Expr) (typ, ref string, enum []string, err error) {
	switch t := e.(type) {
	case *ast.StarExpr:
		return p.typeOf(t.X)
	case *ast.ArrayType:
		typ, ref, enum, err = p.typeOf(t.Elt)
		return "[]" + typ, ref, enum, err
	case *ast.MapType:
		k, _, _, err := p.typeOf(t.Key)
		if err != nil {
			return "", "", nil, err
		}
		typ, ref, enum, err = p.typeOf(t.Value)
		return "map[" + k + "]" + typ, ref, enum, err
	case *ast.SelectorExpr:
		if exprString(t) == "time.Time" {
			return "string", "", nil, nil
		}
	case *ast.Ident:
		switch t.Name {
		case "string":
			return "string", "", nil, nil
		case "bool":
			return "boolean", "", nil, nil
		case "int", "int32", "int64", "uint", "uint16", "uint32", "uint64":
			return "integer", "", nil, nil
		case "float32", "float64":
			return "number", "", nil, nil
		}
		td, ok := p.types[t.Name]
		if !ok {
			break
		}
		if _, isStruct := td.expr.(*ast.StructType); isStruct {
			return t.Name, t.Name, nil, nil
		}
		typ, ref, _, err = p.typeOf(td.expr)
		return typ, ref, p.enums[t.Name], err
	}
	return "", "", nil, fmt.Errorf("type %s cannot be explained", exprString(e))
}

// render writes the generated Go file.
func render(docs map[string]string, fields map[string][]field) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// Code generated by hack/explaingen from the doc comments of this package's types; DO NOT EDIT.\n\n")
	b.WriteString("package v1\n\n")
	b.WriteString("// explainTypes documents every object type a field of Task, Worker or\n// Event leads to, for Explain.\n")
	b.WriteString("var explainTypes = map[string]*ExplainType{\n")
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(&b, "%q: {\nName: %q,\nDoc: %s,\nFields: []ExplainField{\n", n, n, strconv.Quote(docs[n]))
		for _, f := range fields[n] {
			fmt.Fprintf(&b, "{Name: %q, Type: %q", f.Name, f.Type)
			if f.Ref != "" {
				fmt.Fprintf(&b, ", Ref: %q", f.Ref)
			}
			if f.Required {
				b.WriteString(", Required: true")
			}
			if len(f.Enum) > 0 {
				b.WriteString(", Enum: []string{")
				for i, v := range f.Enum {
					if i > 0 {
						b.WriteString(", ")
					}
					b.WriteString(strconv.Quote(v))
				}
				b.WriteString("}")
			}
			fmt.Fprintf(&b, ",\nDoc: %s},\n", strconv.Quote(f.Doc))
		}
		b.WriteString("},\n},\n")
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

// docText returns a doc comment's text, its lines kept.
func docText(g *ast.CommentGroup) string {
	if g == nil {
		return ""
	}
	return strings.TrimSpace(g.Text())
}

func reflectTag(lit *ast.BasicLit) string {
	if lit == nil {
		return ""
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		return ""
	}
	return s
}

// tagValue is the value of key in a struct tag read from source.
func tagValue(tag, key string) string { return reflect.StructTag(tag).Get(key) }

func identName(id *ast.Ident, ok bool) string {
	if !ok {
		return ""
	}
	return id.Name
}

func exprString(e ast.Expr) string {
	var b bytes.Buffer
	if err := format.Node(&b, token.NewFileSet(), e); err != nil {
		return fmt.Sprintf("%T", e)
	}
	return b.String()
}
