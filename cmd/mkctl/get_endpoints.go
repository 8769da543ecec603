package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
	"github.com/minkube/minkube/discovery"
)

// kindEndpoint is a service as DNS serves it (get endpoints).
const kindEndpoint = "endpoint"

// endpointsShown is how many addresses the ENDPOINTS column lists before
// "+ N more...", as kubectl does.
const endpointsShown = 3

// getEndpoints prints the services named, or every service.
func (c *cli) getEndpoints(ctx context.Context, p printer, names []string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		list, err := api.ListEndpoints(ctx, client.EndpointsOptions{})
		if err != nil {
			return err
		}
		if c.noneFound(p, len(list.Items), "endpoints") {
			return nil
		}
		return p.printEndpoints(c.out, list, false)
	}
	eps, failed, err := fetchNamed(ctx, c, kindEndpoint, names, func(ctx context.Context, name string) (*v1.Endpoints, error) {
		list, err := api.ListEndpoints(ctx, client.EndpointsOptions{Service: name})
		if err != nil {
			return nil, err
		}
		if len(list.Items) == 0 {
			return nil, &v1.Status{Code: http.StatusNotFound, Reason: v1.StatusReasonNotFound,
				Message: fmt.Sprintf("no Task is labelled %s: %s", discovery.ServiceLabel, name)}
		}
		return &list.Items[0], nil
	})
	if err != nil {
		return err
	}
	list := &v1.EndpointsList{}
	for _, ep := range eps {
		list.Items = append(list.Items, *ep)
	}
	if len(list.Items) > 0 {
		if err := p.printEndpoints(c.out, list, len(names) == 1); err != nil {
			return err
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// printEndpoints prints list. single says one service was asked for by
// name: json and yaml then print it rather than an EndpointsList.
func (p printer) printEndpoints(w io.Writer, list *v1.EndpointsList, single bool) error {
	for i := range list.Items {
		setKind(&list.Items[i].TypeMeta, v1.KindEndpoints)
	}
	switch p.format {
	case outputJSON, outputYAML:
		if single && len(list.Items) == 1 {
			return printObject(w, p.format, &list.Items[0])
		}
		setKind(&list.TypeMeta, v1.KindEndpointsList)
		if list.Items == nil {
			list.Items = []v1.Endpoints{}
		}
		return printObject(w, p.format, list)
	case outputName:
		return printNames(w, "endpoints", len(list.Items), func(i int) string { return list.Items[i].Metadata.Name })
	}
	wide := p.format == outputWide
	header := []string{"NAME", "DNS", "READY", "ENDPOINTS"}
	if wide {
		header = append(header, "MEMBERS")
	}
	rows := make([][]string, 0, len(list.Items))
	for _, ep := range list.Items {
		ready := 0
		var addrs, members []string
		for _, m := range ep.Members {
			members = append(members, m.Task)
			if !m.Ready {
				continue
			}
			ready++
			addrs = append(addrs, memberAddrs(m)...)
		}
		row := []string{ep.Metadata.Name, orNone(ep.DNSName), fmt.Sprintf("%d/%d", ready, len(ep.Members)), endpointList(addrs)}
		if wide {
			row = append(row, orNone(strings.Join(members, ",")))
		}
		rows = append(rows, row)
	}
	return p.printTable(w, header, rows)
}

// memberAddrs are HOST:PORT for each published port of a member, or HOST
// alone when it has none.
func memberAddrs(m v1.EndpointMember) []string {
	var out []string
	for _, ps := range m.Ports {
		if ps.HostPort > 0 {
			out = append(out, net.JoinHostPort(m.HostIP, strconv.Itoa(int(ps.HostPort))))
		}
	}
	if len(out) == 0 && m.HostIP != "" {
		out = append(out, m.HostIP)
	}
	return out
}

// endpointList joins addresses, the first few and how many more.
func endpointList(addrs []string) string {
	if len(addrs) == 0 {
		return none
	}
	if len(addrs) <= endpointsShown {
		return strings.Join(addrs, ",")
	}
	return fmt.Sprintf("%s + %d more...", strings.Join(addrs[:endpointsShown], ","), len(addrs)-endpointsShown)
}

// taskEndpoints fetches what describe shows of the tasks' DNS: the task's
// own service for one, every service for several. A manager without the
// endpoints API gives nil, and describe shows no DNS names.
func taskEndpoints(ctx context.Context, api *client.Client, tasks []*v1.Task) (*v1.EndpointsList, error) {
	if len(tasks) == 0 {
		return nil, nil
	}
	opts := client.EndpointsOptions{}
	if len(tasks) == 1 {
		opts.Task = tasks[0].Metadata.Name
	}
	list, err := api.ListEndpoints(ctx, opts)
	if client.IsNotFound(err) {
		return nil, nil
	}
	return list, err
}

// describeDNS writes the DNS Names block of t: the names DNS knows it by,
// what they answer now, and its service's members.
func (p *page) describeDNS(t *v1.Task, eps *v1.EndpointsList) {
	if eps == nil || eps.Domain == "" {
		return
	}
	z := discovery.Zone{Domain: eps.Domain}
	ip, answering := discovery.TaskAddress(t)
	var lines []string
	for _, name := range z.TaskNames(t) {
		line := name
		switch {
		case name == z.Task(t.Metadata.Name) && answering:
			line += " -> " + ip.String()
		case name == z.Task(t.Metadata.Name):
			line += " (not answering: the task is not Running and Ready)"
		}
		for _, ps := range t.Status.Ports {
			if answering && ps.Name != "" && ps.HostPort > 0 && name == z.TaskSRV(ps.Name, ps.Protocol.OrDefault(), t.Metadata.Name) {
				line += " -> " + net.JoinHostPort(ip.String(), strconv.Itoa(int(ps.HostPort)))
			}
		}
		svc := t.Metadata.Labels[discovery.ServiceLabel]
		if svc != "" && name == z.Service(svc) {
			for _, ep := range eps.Items {
				if ep.Metadata.Name == svc {
					ready := 0
					for _, m := range ep.Members {
						if m.Ready {
							ready++
						}
					}
					line += fmt.Sprintf(" (service %s: %d of %d members ready)", svc, ready, len(ep.Members))
				}
			}
		}
		lines = append(lines, line)
	}
	p.kv(0, "DNS Names", lines[0])
	for _, more := range lines[1:] {
		fmt.Fprintf(p.tw, "\t%s\n", more)
	}
}
