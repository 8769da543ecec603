package v1_test

import (
	"errors"
	"fmt"

	v1 "github.com/minkube/minkube/apis/v1"
)

func ExampleParseManifests() {
	manifest := []byte(`
apiVersion: minkube.io/v1
kind: Task
metadata:
  name: web
spec:
  image: nginx:1.27
  ports:
    - {name: http, containerPort: 80}
---
apiVersion: minkube.io/v1
kind: Task
metadata:
  name: Web_2
spec:
  imagee: nginx:1.27
  ports:
    - containerPort: 70000
`)
	docs, err := v1.ParseManifests("web.yaml", manifest)
	var derrs v1.DocumentErrors
	if errors.As(err, &derrs) {
		for _, e := range derrs {
			fmt.Println(e.Index, e.Field, "|", e.Message[:min(len(e.Message), 40)])
		}
	}
	fmt.Println(len(docs))
	// Output:
	// 2 metadata.name | "Web_2" is not a valid name: a lowercase
	// 2 spec.image | required
	// 2 spec.ports[0].containerPort | must be 1..65535
	// 2 spec.imagee | unknown field; did you mean "image"? (li
	// 0
}

func ExampleValidateTask() {
	task := &v1.Task{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
		Metadata: v1.ObjectMeta{Name: "web"},
		Spec: v1.TaskSpec{
			Image: "nginx:1.27",
			Ports: []v1.Port{{Name: "http", ContainerPort: 80}, {Name: "http", ContainerPort: 0}},
		},
	}
	v1.SetTaskDefaults(task)
	for _, e := range v1.ValidateTask(task) {
		fmt.Println(e)
	}
	// Output:
	// spec.ports[1].containerPort: must be 1..65535
	// spec.ports[1].name: duplicate port name "http": already used by spec.ports[0]
}
