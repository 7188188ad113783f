//go:build tools

// Package controlplane pins the commands that run.sh builds from this module
// (kube-scheduler only for make e2e-flux).
package controlplane

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
