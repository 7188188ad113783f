package diff

import (
	"fmt"
	"strings"
	"testing"
)

// Environments whose flow changes are the same share one chart, and the
// charts together stay within maxFlowCharts: those that do not fit are
// named in a note instead.
func TestFlowCharts(t *testing.T) {
	flows := Flows{Allowed: []Flow{{From: "apps/web", To: "data/db", Port: 5432, Protocol: "TCP", PortName: "sql"}}}
	other := Flows{Blocked: []Flow{{From: "apps/web", To: "apps/cache", Port: 6379, Protocol: "TCP"}}}
	got := flowCharts([]*Environment{{Name: "eks", Flows: flows}, {Name: "local", Flows: flows}, {Name: "staging", Flows: other}, {Name: "quiet"}})
	if n := strings.Count(got, "```mermaid"); n != 2 {
		t.Errorf("%d charts, want 2 (eks and local share one):\n%s", n, got)
	}
	for _, want := range []string{"#### Flows in eks, local\n", "#### Flows in staging\n", `w1 -->|"+ sql TCP/5432"| w2`, `-.->|"- TCP/6379"|`} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "quiet") {
		t.Errorf("an environment without flow changes has a chart:\n%s", got)
	}

	// Many environments with different large changes: the charts stop at
	// the budget and the rest are named.
	var envs []*Environment
	for i := range 8 {
		var f Flows
		for j := range 60 {
			f.Allowed = append(f.Allowed, Flow{From: fmt.Sprintf("apps/c%d", j), To: fmt.Sprintf("apps/c%d", j+1), Port: int32(1000 + i), Protocol: "TCP"})
		}
		envs = append(envs, &Environment{Name: fmt.Sprintf("env%d", i), Flows: f})
	}
	got = flowCharts(envs)
	if len(got) > maxFlowCharts+200 {
		t.Errorf("charts take %d bytes, want at most about %d", len(got), maxFlowCharts)
	}
	if !strings.Contains(got, "change too much to draw here; they are listed under Risks.") || !strings.Contains(got, "env7") {
		t.Errorf("no note naming the environments left out:\n%s", got[max(0, len(got)-300):])
	}
}
