package discovery

import (
	"cmp"
	"slices"

	v1 "github.com/minkube/minkube/apis/v1"
)

// Endpoints lists the services of src as the zone serves them: each
// service's Tasks that are neither finished nor being deleted, and whether
// DNS answers with each (TaskAddress). A non-empty service keeps that
// service only; a non-empty task keeps the service that Task belongs to
// (none when it has no service label). Services are ordered by name.
func (z Zone) Endpoints(src Source, service, task string) v1.EndpointsList {
	list := v1.EndpointsList{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindEndpointsList}, Domain: z.Domain, Items: []v1.Endpoints{}}
	if task != "" {
		t, ok := src.Task(task)
		if !ok || t.Metadata.Labels[ServiceLabel] == "" {
			return list
		}
		service = t.Metadata.Labels[ServiceLabel]
	}
	var tasks []*v1.Task
	if service != "" {
		tasks = src.ServiceTasks(service)
	} else {
		tasks = src.Tasks()
	}
	byService := map[string]*v1.Endpoints{}
	for _, t := range tasks {
		svc := t.Metadata.Labels[ServiceLabel]
		if svc == "" || t.Status.Phase.Terminal() || t.Metadata.DeletionTimestamp != nil {
			continue
		}
		ep := byService[svc]
		if ep == nil {
			ep = &v1.Endpoints{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindEndpoints}, Metadata: v1.ObjectMeta{Name: svc}}
			if z.Domain != "" {
				ep.DNSName = z.Service(svc)
			}
			byService[svc] = ep
		}
		_, ready := TaskAddress(t)
		ep.Members = append(ep.Members, v1.EndpointMember{
			Task: t.Metadata.Name, Worker: t.Status.Worker, HostIP: t.Status.HostIP, Ready: ready,
			Ports: slices.Clone(t.Status.Ports),
		})
	}
	for _, ep := range byService {
		slices.SortFunc(ep.Members, func(a, b v1.EndpointMember) int { return cmp.Compare(a.Task, b.Task) })
		list.Items = append(list.Items, *ep)
	}
	slices.SortFunc(list.Items, func(a, b v1.Endpoints) int { return cmp.Compare(a.Metadata.Name, b.Metadata.Name) })
	return list
}

// TaskNames are the names DNS knows a Task by: NAME.task.DOMAIN and one
// SRV name per named port, whether or not it answers at this moment.
func (z Zone) TaskNames(t *v1.Task) []string {
	out := []string{z.Task(t.Metadata.Name)}
	for _, p := range t.Spec.Ports {
		if p.Name != "" {
			out = append(out, z.TaskSRV(p.Name, p.Protocol.OrDefault(), t.Metadata.Name))
		}
	}
	if svc := t.Metadata.Labels[ServiceLabel]; svc != "" {
		out = append(out, z.Service(svc))
		for _, p := range t.Spec.Ports {
			if p.Name != "" {
				out = append(out, z.ServiceSRV(p.Name, p.Protocol.OrDefault(), svc))
			}
		}
	}
	return out
}
