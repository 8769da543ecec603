package bolt

import (
	"strings"

	"github.com/klauspost/compress/s2"
)

// dictionarySample is what a new file's dictionary is made of: documents
// like those the manager keeps, one per line, the commonest (a running
// task) last. Only their words matter; names, identifiers and times are
// placeholders, since those differ in every object. A block copies from
// the dictionary what a value shares with it, so a sample that drifts
// from the API costs room, never correctness: each file keeps the
// dictionary it was written with.
var dictionarySample = []string{
	`{"apiVersion":"minkube.io/v1","kind":"Credential","metadata":{"name":"worker-1"},"tokenHash":"","managerToken":"","tokenKept":true}`,
	`{"apiVersion":"minkube.io/v1","kind":"Worker","metadata":{"name":"worker-1","labels":{"zone":"a"},"uid":"00000000-0000-0000-0000-000000000000","creationTimestamp":"2026-01-01T00:00:00.000000000Z"},"spec":{"address":"10.0.0.1:7946","unschedulable":true},"status":{"phase":"Ready","lastHeartbeatTime":"2026-01-01T00:00:00.000000000Z","conditions":[{"type":"RuntimeReady","status":"True","reason":"RuntimeReachable"}],"capacity":{"cpu":"2","disk":"100Gi","memory":"8Gi"},"allocated":{"cpu":"0m","disk":"0","memory":"0"},"stats":{"cpuPercent":1.5,"memoryTotal":8000000000,"memoryAvailable":6000000000,"diskTotal":100000000000,"diskFree":50000000000,"load1":0.5,"cpus":2,"tasks":1},"registeredLabels":{"zone":"a"},"tasks":1}}`,
	`{"apiVersion":"minkube.io/v1","kind":"Event","metadata":{"name":"task.web-1.0000000000000000","creationTimestamp":"2026-01-01T00:00:00.000000000Z"},"involvedObject":{"kind":"Task","name":"web-1","uid":"00000000-0000-0000-0000-000000000000"},"type":"Warning","reason":"Failed","message":"pull image: Error response from daemon: manifest unknown","source":"worker worker-1","count":2,"firstTimestamp":"2026-01-01T00:00:00.000000000Z","lastTimestamp":"2026-01-01T00:00:00.000000000Z"}`,
	`{"apiVersion":"minkube.io/v1","kind":"Event","metadata":{"name":"task.web-1.0000000000000000","creationTimestamp":"2026-01-01T00:00:00.000000000Z"},"involvedObject":{"kind":"Task","name":"web-1","uid":"00000000-0000-0000-0000-000000000000"},"type":"Normal","reason":"Scheduled","message":"assigned to worker worker-1","source":"scheduler","count":1,"firstTimestamp":"2026-01-01T00:00:00.000000000Z","lastTimestamp":"2026-01-01T00:00:00.000000000Z"}`,
	`{"apiVersion":"minkube.io/v1","kind":"Event","metadata":{"name":"task.web-1.0000000000000000","creationTimestamp":"2026-01-01T00:00:00.000000000Z"},"involvedObject":{"kind":"Task","name":"web-1","uid":"00000000-0000-0000-0000-000000000000"},"type":"Normal","reason":"Started","message":"started container 000000000000 on worker worker-1","source":"manager","count":1,"firstTimestamp":"2026-01-01T00:00:00.000000000Z","lastTimestamp":"2026-01-01T00:00:00.000000000Z"}`,
	`{"apiVersion":"minkube.io/v1","kind":"Task","metadata":{"name":"web-1","labels":{"app":"web"},"uid":"00000000-0000-0000-0000-000000000000","generation":1,"creationTimestamp":"2026-01-01T00:00:00.000000000Z"},"spec":{"image":"registry.example/app:1.0","command":["/app"],"args":["--listen",":8080"],"env":[{"name":"LOG_LEVEL","value":"info"}],"ports":[{"name":"http","containerPort":8080,"hostPort":8080,"protocol":"TCP"}],"resources":{"cpu":"500m","memory":"256Mi","disk":"1Gi"},"restartPolicy":"OnFailure","healthCheck":{"http":{"path":"/healthz","port":"8080"},"periodSeconds":10,"timeoutSeconds":1,"failureThreshold":3},"nodeSelector":{"zone":"a"}},"status":{"phase":"Pending","reason":"ImagePullBackOff","message":"Back-off pulling image","worker":"worker-1","restartCount":1,"exitCode":1,"finishedAt":"2026-01-01T00:00:00.000000000Z","observedGeneration":1,"conditions":[{"type":"Scheduled","status":"True","reason":"Assigned","message":"assigned to worker worker-1","observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:00.000000000Z"},{"type":"Started","status":"False","reason":"CrashLoopBackOff","observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:00.000000000Z"},{"type":"Ready","status":"False","reason":"ContainerCreating","observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:00.000000000Z"}]}}`,
	`{"apiVersion":"minkube.io/v1","kind":"Task","metadata":{"name":"web-1","labels":{"app":"web"},"uid":"00000000-0000-0000-0000-000000000000","generation":1,"creationTimestamp":"2026-01-01T00:00:00.000000000Z"},"spec":{"image":"registry.example/app:1.0","resources":{},"restartPolicy":"Always"},"status":{"phase":"Running","worker":"worker-1","containerID":"0000000000000000000000000000000000000000000000000000000000000000","hostIP":"10.0.0.1","ports":[{"name":"http","containerPort":8080,"hostPort":8080,"protocol":"TCP"}],"startedAt":"2026-01-01T00:00:00.000000000Z","observedGeneration":1,"conditions":[{"type":"Scheduled","status":"True","reason":"Assigned","message":"assigned to worker worker-1","observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:00.000000000Z"},{"type":"Started","status":"True","reason":"ContainerRunning","observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:00.000000000Z"},{"type":"Ready","status":"True","reason":"ContainerRunning","observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:00.000000000Z"},{"type":"Updated","status":"True","reason":"UpToDate","observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:00.000000000Z"}]}}`,
}

// newDictionary returns the dictionary of a new file, as meta keeps it.
// Its first copy is the one every object's JSON starts with.
func newDictionary() []byte {
	return s2.MakeDict([]byte(strings.Join(dictionarySample, "\n")), []byte(`{"apiVersion":"minkube.io/v1","kind":"`)).Bytes()
}
