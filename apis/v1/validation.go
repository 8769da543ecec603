package v1

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/go-playground/validator/v10"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
)

// FieldError is one problem with one field. Field is a path rooted at the
// object, such as "spec.ports[0].containerPort" or "metadata.labels[app]";
// it is empty when the problem is with the object as a whole.
type FieldError struct {
	Field   string
	Message string
}

// Error renders the problem as "FIELD: MESSAGE".
func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// FieldErrors is every problem found with one object.
type FieldErrors []FieldError

// Error joins the problems with "; ".
func (es FieldErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// MaxAnnotationsSize is the most bytes the keys and values of an object's
// annotations may hold together, as in Kubernetes.
const MaxAnnotationsSize = 256 << 10

// validate is built once: it caches what it learns of each struct type.
var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	for tag, fn := range map[string]func(string) bool{
		"dns1123label": isDNS1123Label,
		"imageref":     func(s string) bool { return imageRefProblem(s) == "" },
		"quantity":     func(s string) bool { return quantityProblem(s) == "" },
		"envname":      isEnvVarName,
	} {
		registerTag(v, tag, func(fl validator.FieldLevel) bool {
			f := fl.Field()
			return f.Kind() == reflect.String && fn(f.String())
		})
	}
	registerTag(v, "port", func(fl validator.FieldLevel) bool {
		f := fl.Field()
		return f.CanInt() && f.Int() >= 1 && f.Int() <= 65535
	})
	return v
}

// registerTag adds a custom validation. RegisterValidation fails only for an
// empty tag or a nil function, which would be a bug here.
func registerTag(v *validator.Validate, tag string, fn validator.Func) {
	if err := v.RegisterValidation(tag, fn); err != nil {
		panic(fmt.Sprintf("register validation %q: %v", tag, err))
	}
}

// Image reference grammar of github.com/distribution/reference:
// [host[:port]/]path[:tag][@sha256:hex].
const (
	refAlnum     = `[a-z0-9]+`
	refSeparator = `(?:[._]|__|[-]+)`
	refPathComp  = refAlnum + `(?:` + refSeparator + refAlnum + `)*`
	refDomComp   = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	refDomain    = `(?:` + refDomComp + `(?:\.` + refDomComp + `)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?`
	refName      = `(?:` + refDomain + `/)?` + refPathComp + `(?:/` + refPathComp + `)*`
	refTag       = `[\w][\w.-]{0,127}`
	refDigest    = `sha256:[a-f0-9]{64}`
)

var (
	imageRefRegexp  = regexp.MustCompile(`^` + refName + `(?::` + refTag + `)?(?:@` + refDigest + `)?$`)
	imageNameRegexp = regexp.MustCompile(`^` + refName + `$`)
	imageTagRegexp  = regexp.MustCompile(`^` + refTag + `$`)
	imageDigRegexp  = regexp.MustCompile(`^` + refDigest + `$`)
)

// maxImageNameLength is the longest repository name Docker accepts, and
// maxImageRefLength the longest reference: that name, a tag of up to 128
// characters and a sha256 digest.
const (
	maxImageNameLength = 255
	maxImageRefLength  = maxImageNameLength + len(":") + 128 + len("@sha256:") + 64
)

// imageRefProblem returns why s is not a Docker image reference, or "".
func imageRefProblem(s string) string {
	if len(s) > maxImageRefLength {
		return fmt.Sprintf("must be at most %d characters", maxImageRefLength)
	}
	if imageRefRegexp.MatchString(s) {
		name := s
		if i := strings.IndexByte(name, '@'); i >= 0 {
			name = name[:i]
		}
		if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
			name = name[:i]
		}
		if len(name) > maxImageNameLength {
			return fmt.Sprintf("the repository name must be at most %d characters", maxImageNameLength)
		}
		return ""
	}
	if s == "" {
		return "must not be empty"
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return "must not contain spaces"
	}
	name, digest, hasDigest := strings.Cut(s, "@")
	if hasDigest && !imageDigRegexp.MatchString(digest) {
		return "the digest must be sha256: followed by 64 lowercase hex digits"
	}
	tag := ""
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name, tag = name[:i], name[i+1:]
		if !imageTagRegexp.MatchString(tag) {
			return "the tag must be up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
		}
	}
	if !imageNameRegexp.MatchString(name) {
		if i := strings.IndexByte(name, '/'); i >= 0 && imageNameRegexp.MatchString(name[:i+1]+strings.ToLower(name[i+1:])) ||
			imageNameRegexp.MatchString(strings.ToLower(name)) {
			return "the repository name must be lowercase"
		}
	}
	return "must look like [registry[:port]/]name[:tag][@sha256:digest], e.g. nginx:1.27"
}

// maxQuantityLength bounds what is handed to the quantity parser; no
// sensible quantity comes near it.
const maxQuantityLength = 64

// quantityProblem returns why s is not a non-negative Kubernetes quantity,
// or "".
func quantityProblem(s string) string {
	if len(s) > maxQuantityLength {
		return fmt.Sprintf("must be at most %d characters", maxQuantityLength)
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return err.Error()
	}
	if q.Sign() < 0 {
		return "must not be negative"
	}
	return ""
}

// ValidateTask returns every problem with t, each with its field path, or
// nil when t is valid. It checks what a user writes: apiVersion and kind,
// metadata name, labels and annotations, and the spec. System metadata
// (uid, resourceVersion, generation, timestamps) and status are not
// checked, since the server sets them. Call SetTaskDefaults first when the
// defaults should count as given.
//
// The result is a slice: test it with len or != nil before storing it in
// an error variable, which would otherwise hold a non-nil empty value.
func ValidateTask(t *Task) FieldErrors {
	if t == nil {
		return FieldErrors{{Message: "no Task"}}
	}
	var errs FieldErrors
	switch t.APIVersion {
	case APIVersion:
	case "":
		errs = append(errs, FieldError{"apiVersion", "required"})
	default:
		errs = append(errs, FieldError{"apiVersion", fmt.Sprintf("must be %s, got %q", APIVersion, truncate(t.APIVersion))})
	}
	switch t.Kind {
	case KindTask:
	case "":
		errs = append(errs, FieldError{"kind", "required"})
	default:
		errs = append(errs, FieldError{"kind", fmt.Sprintf("must be %s, got %q", KindTask, truncate(t.Kind))})
	}
	errs = append(errs, validateObjectName(t.Metadata.Name, "metadata.name")...)
	errs = append(errs, ValidateLabels(t.Metadata.Labels, "metadata.labels")...)
	errs = append(errs, validateAnnotations(t.Metadata.Annotations, "metadata.annotations")...)
	errs = append(errs, validateSpec(&t.Spec)...)
	return errs
}

// ValidateWorkerName reports whether name can name a Worker: a DNS-1123
// label of at most 63 characters.
func ValidateWorkerName(name string) error {
	if name == "" {
		return fmt.Errorf("worker name is required")
	}
	if !isDNS1123Label(name) {
		msgs := validation.IsDNS1123Label(name)
		return fmt.Errorf("invalid worker name %q: %s", truncate(name), k8sMessage(msgs))
	}
	return nil
}

// ValidateLabels checks labels against the Kubernetes label syntax: each
// key a qualified name (an optional DNS subdomain prefix and '/', then up
// to 63 alphanumerics, '-', '_' or '.'), each value empty or up to 63 of
// the same. field is the path of the map, such as "metadata.labels"; each
// error's path names the key, as in "metadata.labels[app]". Errors are
// sorted by path.
func ValidateLabels(labels map[string]string, field string) FieldErrors {
	var errs FieldErrors
	for k, v := range labels {
		if !isLabelKey(k) {
			msgs := content.IsLabelKey(k)
			errs = append(errs, FieldError{keyPath(field, k), fmt.Sprintf("%q is not a valid label key: %s", truncate(k), k8sMessage(msgs))})
		}
		if !isLabelValue(v) {
			msgs := content.IsLabelValue(v)
			errs = append(errs, FieldError{keyPath(field, k), fmt.Sprintf("%q is not a valid label value: %s", truncate(v), k8sMessage(msgs))})
		}
	}
	sortErrors(errs)
	return errs
}

func validateAnnotations(annotations map[string]string, field string) FieldErrors {
	var errs FieldErrors
	size := 0
	for k, v := range annotations {
		size += len(k) + len(v)
		if !isLabelKey(k) {
			msgs := content.IsLabelKey(k)
			errs = append(errs, FieldError{keyPath(field, k), fmt.Sprintf("%q is not a valid annotation key: %s", truncate(k), k8sMessage(msgs))})
		}
	}
	sortErrors(errs)
	if size > MaxAnnotationsSize {
		errs = append(errs, FieldError{field, fmt.Sprintf("must hold at most %d bytes in all, got %d", MaxAnnotationsSize, size)})
	}
	return errs
}

func validateObjectName(name, field string) FieldErrors {
	if name == "" {
		return FieldErrors{{field, "required"}}
	}
	if !isDNS1123Label(name) {
		msgs := validation.IsDNS1123Label(name)
		return FieldErrors{{field, fmt.Sprintf("%q is not a valid name: %s", truncate(name), k8sMessage(msgs))}}
	}
	return nil
}

func validateSpec(s *TaskSpec) FieldErrors {
	var errs FieldErrors
	if err := validate.Struct(s); err != nil {
		errs = append(errs, translate(err)...)
	}
	errs = append(errs, validatePorts(s.Ports)...)
	if s.HealthCheck != nil {
		errs = append(errs, validateHealthCheck(s.HealthCheck, s.Ports)...)
	}
	errs = append(errs, ValidateLabels(s.NodeSelector, "spec.nodeSelector")...)
	return errs
}

// translate turns validator errors on a TaskSpec into FieldErrors rooted at
// "spec" with messages a person can act on.
func translate(err error) FieldErrors {
	verrs, ok := err.(validator.ValidationErrors)
	if !ok {
		return FieldErrors{{"spec", err.Error()}}
	}
	errs := make(FieldErrors, 0, len(verrs))
	for _, fe := range verrs {
		field := fe.Namespace()
		if _, rest, ok := strings.Cut(field, "."); ok {
			field = "spec." + rest
		}
		errs = append(errs, FieldError{field, tagMessage(fe)})
	}
	return errs
}

func tagMessage(fe validator.FieldError) string {
	var s string
	if v := reflect.ValueOf(fe.Value()); v.Kind() == reflect.String {
		s = v.String()
	}
	switch fe.Tag() {
	case "required":
		return "required"
	case "port":
		return "must be 1..65535"
	case "oneof":
		return fmt.Sprintf("must be one of %s, got %q", strings.Join(strings.Fields(fe.Param()), ", "), truncate(s))
	case "min":
		return "must be at least " + fe.Param()
	case "max":
		return "must be at most " + fe.Param()
	case "dns1123label":
		return fmt.Sprintf("%q is not a valid name: %s", truncate(s), k8sMessage(validation.IsDNS1123Label(s)))
	case "imageref":
		return fmt.Sprintf("%q is not a valid image reference: %s", truncate(s), imageRefProblem(s))
	case "quantity":
		return fmt.Sprintf("%q is not a valid quantity: %s", truncate(s), quantityProblem(s))
	case "envname":
		return fmt.Sprintf("%q is not a valid environment variable name: %s", truncate(s), k8sMessage(validation.IsEnvVarName(s)))
	default:
		return fmt.Sprintf("failed the %q check", fe.Tag())
	}
}

// portKey identifies what must be unique among a Task's ports: a name, a
// container port and protocol, or a host port and protocol.
type portKey struct {
	what     byte // 'n' name, 'c' container port, 'h' host port
	name     string
	port     int32
	protocol Protocol
}

func validatePorts(ports []Port) FieldErrors {
	if len(ports) < 2 {
		return nil
	}
	var errs FieldErrors
	// Few ports: compare pairs. Many: index them, so that a hostile list
	// costs linear time.
	var seen map[portKey]int
	if len(ports) > 8 {
		seen = make(map[portKey]int, 3*len(ports))
	}
	find := func(k portKey, upto int) (int, bool) {
		if seen != nil {
			j, ok := seen[k]
			if !ok {
				seen[k] = upto
			}
			return j, ok
		}
		for j := range upto {
			if portKeyOf(ports[j], k.what) == k {
				return j, true
			}
		}
		return 0, false
	}
	for i, p := range ports {
		proto := p.Protocol.OrDefault()
		if p.Name != "" {
			if j, dup := find(portKeyOf(p, 'n'), i); dup {
				errs = append(errs, FieldError{indexPath("spec.ports", i) + ".name", fmt.Sprintf("duplicate port name %q: already used by spec.ports[%d]", truncate(p.Name), j)})
			}
		}
		if j, dup := find(portKeyOf(p, 'c'), i); dup {
			errs = append(errs, FieldError{indexPath("spec.ports", i) + ".containerPort", fmt.Sprintf("duplicate port %d/%s: already declared by spec.ports[%d]", p.ContainerPort, proto, j)})
		}
		if p.HostPort != 0 {
			if j, dup := find(portKeyOf(p, 'h'), i); dup {
				errs = append(errs, FieldError{indexPath("spec.ports", i) + ".hostPort", fmt.Sprintf("host port %d/%s is already used by spec.ports[%d]", p.HostPort, proto, j)})
			}
		}
	}
	return errs
}

// portKeyOf returns p's key of one kind; an unnamed port or one without a
// host port gets a key no other port matches.
func portKeyOf(p Port, what byte) portKey {
	proto := p.Protocol.OrDefault()
	switch what {
	case 'n':
		if p.Name == "" {
			return portKey{what: 0}
		}
		return portKey{what: what, name: p.Name}
	case 'c':
		return portKey{what: what, port: p.ContainerPort, protocol: proto}
	default:
		if p.HostPort == 0 {
			return portKey{what: 0}
		}
		return portKey{what: what, port: p.HostPort, protocol: proto}
	}
}

func validateHealthCheck(hc *HealthCheck, ports []Port) FieldErrors {
	var errs FieldErrors
	var set []string
	if hc.HTTP != nil {
		set = append(set, "http")
		if hc.HTTP.Path != "" && !strings.HasPrefix(hc.HTTP.Path, "/") {
			errs = append(errs, FieldError{"spec.healthCheck.http.path", fmt.Sprintf("must start with \"/\", got %q", truncate(hc.HTTP.Path))})
		}
		errs = append(errs, validateCheckPort(hc.HTTP.Port, "spec.healthCheck.http.port", ports)...)
	}
	if hc.TCP != nil {
		set = append(set, "tcp")
		errs = append(errs, validateCheckPort(hc.TCP.Port, "spec.healthCheck.tcp.port", ports)...)
	}
	if hc.Exec != nil {
		set = append(set, "exec")
		if len(hc.Exec.Command) == 0 {
			errs = append(errs, FieldError{"spec.healthCheck.exec.command", "required"})
		}
	}
	switch len(set) {
	case 0:
		errs = append(errs, FieldError{"spec.healthCheck", "must set exactly one of http, tcp, exec"})
	case 1:
	default:
		errs = append(errs, FieldError{"spec.healthCheck", "must set exactly one of http, tcp, exec, got " + strings.Join(set, " and ")})
	}
	return errs
}

// validateCheckPort checks a health check's port: a number 1..65535 or the
// name of one of the Task's TCP ports.
func validateCheckPort(port, field string, ports []Port) FieldErrors {
	if port == "" {
		return FieldErrors{{field, "required"}}
	}
	if port[0] >= '0' && port[0] <= '9' {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return FieldErrors{{field, fmt.Sprintf("must be a port name of this task or a number 1..65535, got %q", truncate(port))}}
		}
		return nil
	}
	var names []string
	for _, p := range ports {
		if p.Name == "" {
			continue
		}
		if p.Name == port {
			if p.Protocol == ProtocolUDP {
				return FieldErrors{{field, fmt.Sprintf("port %q is UDP; health checks need a TCP port", port)}}
			}
			return nil
		}
		names = append(names, p.Name)
	}
	if len(names) == 0 {
		return FieldErrors{{field, fmt.Sprintf("%q is not a port name of this task (no port has a name)", truncate(port))}}
	}
	return FieldErrors{{field, fmt.Sprintf("%q is not a port name of this task (names: %s)", truncate(port), strings.Join(names, ", "))}}
}

// k8sMessage joins the messages of the Kubernetes validation functions,
// tidying their "(e.g. 'a',  or 'b', ..." lists.
func k8sMessage(msgs []string) string {
	return strings.ReplaceAll(strings.Join(msgs, "; "), "',  or '", "' or '")
}

func keyPath(field, key string) string { return field + "[" + key + "]" }

func indexPath(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

func sortErrors(errs FieldErrors) {
	if len(errs) > 1 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
	}
}

// maxQuoted is how much of a user's value an error message repeats.
const maxQuoted = 64

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
