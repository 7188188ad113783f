package policies

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/compiler/render"
)

var identityRules = []*Rule{
	{
		ID: "SEC004", Family: "secret", Severity: Warning,
		Title: "components do not read secrets through the API",
		Rationale: `A Role that lets a component get, list or watch secrets hands it every
Secret of the namespace, whatever it was meant for (CIS Kubernetes
Benchmark 5.1.2, "Minimize access to secrets"). Give the component the
keys it needs under secrets or files instead, which mount one key each;
waive the rule for a component whose job is to read secrets.`,
		Check: checkReadsSecrets,
	},
	{
		ID: "NET006", Family: "network", Severity: Warning,
		Title: "pods with an IAM role can reach AWS STS",
		Rationale: `With IRSA the AWS SDK in the pod trades its service account token for
the role's credentials at AWS STS, sts.REGION.amazonaws.com on 443 (or
an STS interface endpoint in the VPC). The namespace denies egress by
default, so without a declared flow to STS the pods get no credentials
and every AWS call fails at run time. Declare an external for STS (hosts
sts.REGION.amazonaws.com, its endpoint's cidrs when it has one) and a
talksTo to it.`,
		Check: checkRoleReachesSTS,
	},
}

func checkReadsSecrets(ctx *Context) []Finding {
	var fs []Finding
	for _, c := range ctx.Env.System.Components {
		for _, r := range c.ServiceAccount.Reads {
			for _, res := range r.Resources {
				if res.Group == "" && res.Resource == "secrets" {
					fs = append(fs, Finding{Pos: res.Pos, Target: c.Name, Object: "Role " + r.Namespaces[0] + "/" + render.PeerLabel(ctx.Env.System, r.Namespaces[0], c),
						Message: fmt.Sprintf("%s reads secrets through the API: its Role lets it get, list and watch every Secret of %s", c.Name, strings.Join(r.Namespaces, ", "))})
				}
			}
		}
	}
	return fs
}

// checkRoleReachesSTS warns about a component with an IAM role and no
// flow to an external that answers for AWS STS.
func checkRoleReachesSTS(ctx *Context) []Finding {
	sys := ctx.Env.System
	var fs []Finding
	for _, c := range sys.Components {
		if c.ServiceAccount.IAMRole == "" {
			continue
		}
		reaches := slices.ContainsFunc(c.TalksTo, func(f model.Flow) bool {
			x := sys.External(f.Target)
			return x != nil && slices.ContainsFunc(x.Hosts, isSTSHost)
		})
		if !reaches {
			fs = append(fs, Finding{Pos: c.ServiceAccount.IAMRolePos, Target: c.Name,
				Message: fmt.Sprintf("%s has IAM role %s but no talksTo reaches AWS STS (an external with a host sts.REGION.amazonaws.com): its pods cannot trade their token for the role's credentials", c.Name, c.ServiceAccount.IAMRole)})
		}
	}
	return fs
}

// isSTSHost reports whether host is an AWS STS endpoint: global,
// regional or FIPS, in any partition.
func isSTSHost(host string) bool {
	return (strings.HasPrefix(host, "sts.") || strings.HasPrefix(host, "sts-fips.")) &&
		(strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn"))
}
