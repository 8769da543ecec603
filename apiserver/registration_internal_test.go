package apiserver

import (
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

func TestJudgeRegistration(t *testing.T) {
	now := time.Now()
	live := &v1.Credential{TokenKept: true}
	older := &v1.Credential{} // issued by a release whose workers kept no token
	revoked := &v1.Credential{TokenKept: true, RevokedAt: &now}
	admin, join := caller{kind: kindAdmin}, caller{kind: kindJoin}
	self, other := caller{kind: kindWorker, worker: "w1"}, caller{kind: kindWorker, worker: "w2"}
	tests := []struct {
		name   string
		caller caller
		cred   *v1.Credential
		want   registration
	}{
		{"join, a free name", join, nil, registerNew},
		{"join, a deleted worker's name", join, revoked, registerNew},
		{"join, a name in use: an impostor", join, live, refuseTaken},
		{"join, a worker of an older release", join, older, registerAgain},
		{"the worker itself", self, live, registerAgain},
		{"another worker's token", other, live, refuseOther},
		{"another worker's token, a free name", other, nil, refuseOther},
		{"admin, a free name", admin, nil, registerNew},
		{"admin, a deleted worker's name", admin, revoked, registerNew},
		{"admin, a name in use", admin, live, registerAgain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := judgeRegistration(tt.caller, "w1", tt.cred); got != tt.want {
				t.Errorf("judgeRegistration = %d, want %d", got, tt.want)
			}
		})
	}
}
