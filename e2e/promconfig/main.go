// Command promconfig checks Prometheus configuration files with Prometheus's
// own loader, for the end-to-end test (see ../run.sh and ../prometheus_test.go).
//
//	promconfig FILE...
//
// Each FILE is loaded with config.LoadFile, as the Prometheus server loads
// it at start (and reads its scrape_config_files, as it does then too).
// For a file that loads, promconfig prints "FILE: ok" and then, one line
// each, every scrape config's job name, metrics path, interval and service
// discovery (for kubernetes_sd_configs: the role and the namespaces); for
// one that does not, "FILE: " and the loader's error. A file without a
// scrape config fails too: such a Prometheus scrapes nothing. The exit
// status is 1 when any file fails, 2 on a usage error.
//
// Only the Kubernetes and DNS service discoveries are registered (besides
// static_configs, which is built in): the clusters' configurations use
// the first, a Compose environment's the second; any other *_sd_configs
// is an unknown field here.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/discovery/dns"        // registers dns_sd_configs
	"github.com/prometheus/prometheus/discovery/kubernetes" // registers kubernetes_sd_configs
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: promconfig FILE...")
		os.Exit(2)
	}
	// The loader logs warnings (an empty environment variable in an
	// external label, for one): they go to stderr.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	failed := false
	for _, file := range os.Args[1:] {
		if err := check(os.Stdout, file, logger); err != nil {
			fmt.Printf("%s: %v\n", file, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// check loads file and, when it loads, prints "FILE: ok" and its scrape
// configs to w.
func check(w io.Writer, file string, logger *slog.Logger) error {
	cfg, err := config.LoadFile(file, false, logger)
	if err != nil {
		return err
	}
	scrapes, err := cfg.GetScrapeConfigs()
	if err != nil {
		return err
	}
	if len(scrapes) == 0 {
		return errors.New("no scrape_configs: this Prometheus would scrape nothing")
	}
	fmt.Fprintf(w, "%s: ok\n", file)
	for _, sc := range scrapes {
		fmt.Fprintf(w, "%s: job %s: %s every %s, %s\n", file, sc.JobName, sc.MetricsPath, sc.ScrapeInterval, discoveries(sc.ServiceDiscoveryConfigs))
	}
	return nil
}

// discoveries describes a scrape config's service discovery, e.g.
// "kubernetes_sd role=pod namespaces=ai-agents,monitoring".
func discoveries(cs discovery.Configs) string {
	if len(cs) == 0 {
		return "no service discovery"
	}
	var parts []string
	for _, c := range cs {
		switch c := c.(type) {
		case *kubernetes.SDConfig:
			ns := "all"
			if n := c.NamespaceDiscovery; n.IncludeOwnNamespace || len(n.Names) > 0 {
				names := n.Names
				if n.IncludeOwnNamespace {
					names = append([]string{"(own)"}, names...)
				}
				ns = strings.Join(names, ",")
			}
			parts = append(parts, fmt.Sprintf("kubernetes_sd role=%s namespaces=%s", c.Role, ns))
		case *dns.SDConfig:
			parts = append(parts, fmt.Sprintf("dns_sd type=%s port=%d names=%s", c.Type, c.Port, strings.Join(c.Names, ",")))
		case discovery.StaticConfig:
			var targets []string
			for _, g := range c {
				for _, t := range g.Targets {
					for _, v := range t {
						targets = append(targets, string(v))
					}
				}
			}
			parts = append(parts, "static targets="+strings.Join(targets, ","))
		default:
			parts = append(parts, c.Name()+"_sd")
		}
	}
	return strings.Join(parts, "; ")
}
