package etcd

import "errors"

// Errors of this package besides the store package's sentinels. Test with
// errors.Is.
var (
	// ErrMemberConflict means AddMember found the peer URL taken by a
	// member of another name.
	ErrMemberConflict = errors.New("the peer URL belongs to another member")
)
