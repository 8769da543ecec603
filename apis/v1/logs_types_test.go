package v1

import (
	"net/url"
	"reflect"
	"testing"
	"time"
)

func TestLogOptions_RoundTrip(t *testing.T) {
	since := time.Date(2026, 1, 2, 15, 4, 5, 6, time.UTC)
	for _, o := range []LogOptions{
		{},
		{Follow: true, Tail: NoLines},
		{Tail: 20, SinceSeconds: 300, Timestamps: true},
		{SinceTime: &since, Previous: true},
	} {
		got, err := ParseLogOptions(o.Query())
		if err != nil || !reflect.DeepEqual(got, o) {
			t.Errorf("ParseLogOptions(%v) = %+v, %v; want %+v", o.Query(), got, err, o)
		}
	}
	for _, q := range []string{"tail=x", "tail=-2", "sinceSeconds=0", "sinceTime=yesterday", "follow=maybe", "sinceSeconds=5&sinceTime=2026-01-02T15:04:05Z"} {
		vals, _ := url.ParseQuery(q)
		if _, err := ParseLogOptions(vals); err == nil {
			t.Errorf("ParseLogOptions(%s) accepted it", q)
		}
	}
}
