package discovery

import (
	"slices"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

func TestZoneEndpoints(t *testing.T) {
	z := mustZone(t)
	src := testSource()
	src.tasks["shop-done"] = mustTask("shop-done", "10.0.0.1", withService("shop"), withPhase(v1.PhaseSucceeded))
	src.tasks["shop-going"] = mustTask("shop-going", "10.0.0.1", withService("shop"), deleting)
	src.tasks["cart"] = mustTask("cart", "10.0.0.5", withService("cart"), withPort("http", v1.ProtocolTCP, 80, 8080))
	type member struct {
		task  string
		ready bool
	}
	summary := func(l v1.EndpointsList) map[string][]member {
		out := map[string][]member{}
		for _, ep := range l.Items {
			if ep.DNSName != z.Service(ep.Metadata.Name) {
				t.Errorf("service %s: DNS name %q", ep.Metadata.Name, ep.DNSName)
			}
			for _, m := range ep.Members {
				out[ep.Metadata.Name] = append(out[ep.Metadata.Name], member{m.Task, m.Ready})
			}
		}
		return out
	}
	shop := []member{{"sick", false}, {"web", true}, {"web2", true}, {"web3", true}}
	cases := []struct {
		name, service, task string
		want                map[string][]member
	}{
		{"every service", "", "", map[string][]member{"cart": {{"cart", true}}, "shop": shop}},
		{"one service", "shop", "", map[string][]member{"shop": shop}},
		{"the service of a task", "", "web2", map[string][]member{"shop": shop}},
		{"a task without a service", "", "v6", map[string][]member{}},
		{"no such task", "", "nope", map[string][]member{}},
		{"no such service", "nope", "", map[string][]member{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := z.Endpoints(src, tc.service, tc.task)
			if l.Domain != "minkube." || l.Kind != v1.KindEndpointsList || l.Items == nil {
				t.Fatalf("list %+v: want the domain, the kind and a non-nil list", l)
			}
			got := summary(l)
			if len(got) != len(tc.want) {
				t.Fatalf("services %v, want %v", got, tc.want)
			}
			for svc, want := range tc.want {
				if !slices.Equal(got[svc], want) {
					t.Errorf("service %s members %v, want %v", svc, got[svc], want)
				}
			}
		})
	}
}

func TestZoneTaskNames(t *testing.T) {
	z := mustZone(t)
	task := mustTask("web", "10.0.0.1", withService("shop"), withPort("http", v1.ProtocolTCP, 80, 0), withPort("dns", "", 53, 0), withPort("", v1.ProtocolTCP, 81, 0))
	want := []string{"web.task.minkube.", "_http._tcp.web.task.minkube.", "_dns._tcp.web.task.minkube.", "shop.svc.minkube.", "_http._tcp.shop.svc.minkube.", "_dns._tcp.shop.svc.minkube."}
	if got := z.TaskNames(task); !slices.Equal(got, want) {
		t.Errorf("TaskNames = %v, want %v", got, want)
	}
}
