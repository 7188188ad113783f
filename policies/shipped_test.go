package policies_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/load"
	"github.com/gitopsc/gitopsc/policies"
)

// TestShippedAgentsReach pins what the rendered NetworkPolicies let each
// shipped agent send, as the analyzer computes it from the policies
// themselves: its declared flows to components, DNS, and HTTPS to the LLM
// API's ranges, which differ between the environments, and nothing else.
func TestShippedAgentsReach(t *testing.T) {
	in, err := load.Dir("../environments")
	if err != nil {
		t.Fatal(err)
	}
	lock, err := images.ReadLock(in.Dir)
	if err != nil {
		t.Fatal(err)
	}
	results, err := compiler.Compile(in, in.Environments, lock)
	if err != nil {
		t.Fatal(err)
	}
	dns := "egress to pods k8s-app=kube-dns in namespace kube-system on UDP/53, TCP/53"
	internet := []string{
		"egress to 0.0.0.0/0 except 10.0.0.0/8, 100.64.0.0/10, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16 on TCP/443",
		"egress to ::/0 except 64:ff9b::/96, fc00::/7, fe80::/10 on TCP/443",
	}
	endpoint := []string{"egress to 10.0.96.0/24 on TCP/443"}
	flows := map[string][]string{
		"architect-agent": {"ai-agents/planner-agent on TCP/8080", "external-env/redis on TCP/6379"},
		"coder-agent":     {"ai-agents/planner-agent on TCP/8080", "external-env/mysql on TCP/3306", "external-env/php-app on TCP/9000", "external-env/redis on TCP/6379"},
		"planner-agent":   {"ai-agents/architect-agent on TCP/8081", "ai-agents/coder-agent on TCP/8081", "ai-agents/tester-agent on TCP/8081", "external-env/redis on TCP/6379"},
		"tester-agent":    {"ai-agents/planner-agent on TCP/8080", "external-env/mysql on TCP/3306", "external-env/nginx on TCP/8080"},
	}
	for _, r := range results {
		if r.Resolved.Env.IsCompose() {
			continue // networks, not policies: NET008 and NET009
		}
		res, err := policies.Analysis(r.Output)
		if err != nil {
			t.Fatal(err)
		}
		outside := internet
		if r.Resolved.Env.Name == "eks" {
			outside = endpoint
		}
		for agent, want := range flows {
			var got []string
			for _, f := range res.Flows {
				if f.From.Name == agent {
					got = append(got, f.To.String()+" on "+string(f.Protocol)+"/"+itoa(f.Port))
				}
			}
			if slices.Sort(got); !slices.Equal(got, want) {
				t.Errorf("%s: %s reaches\n\t%s\nwant\n\t%s", r.Resolved.Env.Name, agent, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
			}
			var ext []string
			for _, x := range res.External {
				if x.Workload.Name == agent && x.Direction == networkingv1.PolicyTypeEgress {
					s := strings.TrimPrefix(x.String(), x.Workload.String()+" ")
					ext = append(ext, strings.TrimSuffix(s, " ("+x.Rule.String()+")"))
				}
			}
			wantExt := append([]string{dns}, outside...)
			slices.Sort(ext)
			slices.Sort(wantExt)
			if !slices.Equal(ext, wantExt) {
				t.Errorf("%s: %s reaches outside\n\t%s\nwant\n\t%s", r.Resolved.Env.Name, agent, strings.Join(ext, "\n\t"), strings.Join(wantExt, "\n\t"))
			}
		}
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
