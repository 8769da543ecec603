package etcd

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
)

// AddMember adds an etcd member called name at peerURL to the cluster and
// returns the --etcd-initial-cluster it must start with (state existing):
// every member as NAME=PEER-URL, sorted. Adding a member that is already
// there under that name and URL (a retried join) returns the same answer.
func (s *Store) AddMember(ctx context.Context, name, peerURL string) (string, error) {
	list, err := s.members(ctx)
	if err != nil {
		return "", err
	}
	for _, m := range list {
		if slices.Contains(m.PeerURLs, peerURL) {
			if m.Name != "" && m.Name != name {
				return "", fmt.Errorf("add etcd member %s at %s: %w (%s)", name, peerURL, ErrMemberConflict, m.Name)
			}
			return initialCluster(list, name, peerURL), nil
		}
	}
	err = s.do(ctx, func(ctx context.Context) error {
		resp, err := s.cli.MemberAdd(ctx, []string{peerURL})
		if err == nil {
			list = resp.Members
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("add etcd member %s at %s: %w", name, peerURL, err)
	}
	return initialCluster(list, name, peerURL), nil
}

func (s *Store) members(ctx context.Context) ([]*memberInfo, error) {
	var out []*memberInfo
	err := s.do(ctx, func(ctx context.Context) error {
		resp, err := s.cli.MemberList(ctx)
		if err == nil {
			out = resp.Members
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list etcd members: %w", err)
	}
	return out, nil
}

type memberInfo = etcdserverpb.Member

// initialCluster renders the members as NAME=PEER-URL,...; a member not
// yet started has no name, and the one at peerURL is called name.
func initialCluster(list []*memberInfo, name, peerURL string) string {
	var parts []string
	for _, m := range list {
		n := m.Name
		for _, u := range m.PeerURLs {
			if u == peerURL {
				n = name
			}
		}
		if n == "" {
			continue // another member added but not started: it is not ours to name
		}
		for _, u := range m.PeerURLs {
			parts = append(parts, n+"="+u)
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}
