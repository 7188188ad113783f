package model

import "fmt"

// Metadata is what the input adds to an object's labels and annotations,
// each sorted by key.
type Metadata struct {
	Labels      []Setting
	Annotations []Setting
}

// ServiceAccount is a component's identity: its ServiceAccount's
// annotations, the AWS role it stands for, and what it reads from the
// Kubernetes API.
type ServiceAccount struct {
	Annotations []Setting // sorted by key
	// IAMRole is the IRSA role ARN, "" for none; IAMRolePos is where the
	// one that holds was written.
	IAMRole    string
	IAMRolePos Pos
	Reads      []APIRead
}

// APIRead is one entry of serviceAccount.reads: resources read in some
// namespaces.
type APIRead struct {
	Resources []APIResource
	// Namespaces read, as written; the component's own when the entry
	// names none.
	Namespaces []string
	// NamespacesPos holds the position of each namespace as written.
	NamespacesPos []Pos
	Pos           Pos
}

// APIResource is a resource of the Kubernetes API: its plural name and
// group, "" for the core group.
type APIResource struct {
	Resource, Group string
	Pos             Pos
}

// ReadsAPI reports whether c's pods read the Kubernetes API.
func (c *Component) ReadsAPI() bool { return len(c.ServiceAccount.Reads) > 0 }

// APIServerName is the target name of the flow a component that reads
// the API has to the API server: the name of its Service in default.
const APIServerName = "kubernetes"

// APIServer is where a cluster's pods reach the API server.
type APIServer struct {
	// CIDRs are the ranges given; none means any address outside the
	// cluster's pod, Service and link-local ranges.
	CIDRs    []string
	CIDRsPos []Pos
	// Port is the port the API server listens on (what policies match);
	// 0 when the environment neither gives one nor has a default.
	Port    int
	PortPos Pos
	Pos     Pos
}

// AnnotationIAMRole is the ServiceAccount annotation that names an IRSA
// role; EKS's pod identity webhook reads it.
const AnnotationIAMRole = "eks.amazonaws.com/role-arn"

// Pod annotations a component's metrics sets, for scrapers that discover
// pods by annotation.
const (
	AnnotationScrape      = "prometheus.io/scrape"
	AnnotationMetricsPort = "prometheus.io/port"
	AnnotationMetricsPath = "prometheus.io/path"
)

// MetricsAnnotations are the pod annotations metrics sets.
var MetricsAnnotations = []string{AnnotationScrape, AnnotationMetricsPort, AnnotationMetricsPath}

// JobLabels are the labels the Job controller puts on a Job's pods; the
// API server refuses a Job whose template gives them other values.
var JobLabels = []string{"batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name", "controller-uid", "job-name"}

// JobLabelRefused says why a Job's pods cannot carry label key.
func JobLabelRefused(key string) string {
	return fmt.Sprintf("%q is set by the Job controller, which the API server holds to the Job's own name and uid; choose another key", key)
}
