package render

import (
	"encoding/json"
	"sort"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/kustomize"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// Layers of charts: their sources and HelmReleases, then the raw objects
// of the kinds their CRDs define that no namespace layer holds.
const (
	LayerInfrastructure = "infrastructure"
	LayerConfigs        = "infrastructure-configs"
)

// Flux API versions of charts.
const (
	HelmReleaseAPIVersion = "helm.toolkit.fluxcd.io/v2"
	SourceAPIVersion      = "source.toolkit.fluxcd.io/v1"
)

// helmChartMediaType is the layer of an OCI artifact that holds a chart.
const helmChartMediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"

// charts renders, for each chart, its source (a HelmRepository, an
// OCIRepository pinned by the manifest digest the lock records, or the
// git repository Flux reconciles) and its HelmRelease, into the
// infrastructure layer. The HelmRelease's values are the chart's; its
// post-renderer pins the chart's images by the digests of images.lock,
// as gitopsc pins its own.
func (rd *renderer) charts() {
	fx := rd.env.Flux
	interval, _ := time.ParseDuration(fx.Interval)
	for _, c := range rd.sys.Charts {
		labels := map[string]string{LabelPartOf: rd.sys.Name, LabelManagedBy: ManagedBy}
		meta := metav1.ObjectMeta{Name: c.Name, Namespace: c.Namespace, Labels: labels}
		hr := &helmv2.HelmRelease{
			TypeMeta:   metav1.TypeMeta{APIVersion: HelmReleaseAPIVersion, Kind: "HelmRelease"},
			ObjectMeta: meta,
			Spec: helmv2.HelmReleaseSpec{
				Interval: metav1.Duration{Duration: interval},
				Install: &helmv2.Install{
					CRDs:        helmv2.CRDsPolicy(createOnly(c.CRDs)),
					Remediation: &helmv2.InstallRemediation{Retries: 3},
				},
				Upgrade: &helmv2.Upgrade{
					CRDs:          helmv2.CRDsPolicy(c.CRDs),
					CleanupOnFail: true,
					Remediation:   &helmv2.UpgradeRemediation{Retries: 3, Strategy: ptr(helmv2.RollbackRemediationStrategy)},
				},
			},
		}
		if c.Timeout != "" {
			d, _ := time.ParseDuration(c.Timeout)
			hr.Spec.Timeout = &metav1.Duration{Duration: d}
		}
		for _, d := range c.DependsOn {
			hr.Spec.DependsOn = append(hr.Spec.DependsOn, helmv2.DependencyReference{Name: d.Name, Namespace: rd.sys.Chart(d.Name).Namespace})
		}
		if len(c.Values) > 0 {
			b, _ := json.Marshal(c.Values)
			hr.Spec.Values = &apiextensionsv1.JSON{Raw: b}
		}
		if imgs := rd.chartImages(c); len(imgs) > 0 {
			hr.Spec.PostRenderers = []helmv2.PostRenderer{{Kustomize: &helmv2.Kustomize{Images: imgs}}}
		}
		switch {
		case c.Repository == "":
			hr.Spec.Chart = &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
				Chart:             "./" + c.LocalPath,
				ReconcileStrategy: sourcev1.ReconcileStrategyRevision,
				SourceRef:         helmv2.CrossNamespaceObjectReference{Kind: sourcev1.GitRepositoryKind, Name: fx.SourceName, Namespace: fx.SourceNamespace},
			}}
		case c.OCI():
			digest := ""
			if lc := rd.r.Input.Charts[c.Key()]; lc != nil {
				digest = lc.Manifest
			}
			rd.add(&Object{Layer: LayerInfrastructure, APIVersion: SourceAPIVersion, Kind: sourcev1.OCIRepositoryKind, Namespace: c.Namespace, Name: c.Name, Pos: c.Pos,
				Obj: &sourcev1.OCIRepository{
					TypeMeta:   metav1.TypeMeta{APIVersion: SourceAPIVersion, Kind: sourcev1.OCIRepositoryKind},
					ObjectMeta: meta,
					Spec: sourcev1.OCIRepositorySpec{
						URL:           c.Repository + "/" + c.ChartName,
						Reference:     &sourcev1.OCIRepositoryRef{Tag: c.Version, Digest: digest},
						LayerSelector: &sourcev1.OCILayerSelector{MediaType: helmChartMediaType, Operation: sourcev1.OCILayerCopy},
						Interval:      metav1.Duration{Duration: interval},
					},
				}})
			hr.Spec.ChartRef = &helmv2.CrossNamespaceSourceReference{Kind: sourcev1.OCIRepositoryKind, Name: c.Name, Namespace: c.Namespace}
		default:
			rd.add(&Object{Layer: LayerInfrastructure, APIVersion: SourceAPIVersion, Kind: sourcev1.HelmRepositoryKind, Namespace: c.Namespace, Name: c.Name, Pos: c.Pos,
				Obj: &sourcev1.HelmRepository{
					TypeMeta:   metav1.TypeMeta{APIVersion: SourceAPIVersion, Kind: sourcev1.HelmRepositoryKind},
					ObjectMeta: meta,
					Spec:       sourcev1.HelmRepositorySpec{URL: c.Repository, Interval: metav1.Duration{Duration: interval}},
				}})
			hr.Spec.Chart = &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
				Chart:     c.ChartName,
				Version:   c.Version,
				SourceRef: helmv2.CrossNamespaceObjectReference{Kind: sourcev1.HelmRepositoryKind, Name: c.Name, Namespace: c.Namespace},
			}}
		}
		rd.add(&Object{Layer: LayerInfrastructure, APIVersion: HelmReleaseAPIVersion, Kind: "HelmRelease", Namespace: c.Namespace, Name: c.Name, Obj: hr, Pos: c.Pos})
	}
}

// createOnly is the install policy of a chart's CRDs: on install there is
// nothing to replace.
func createOnly(policy string) string {
	if policy == "CreateReplace" {
		return "Create"
	}
	return policy
}

// chartImages are the kustomize image overrides that pin the images of a
// chart's pods by the lock's digests, one per repository and tag; an
// image the lock does not know is left as the chart writes it, for the
// image rules to report.
func (rd *renderer) chartImages(c *model.Chart) []kustomize.Image {
	// Kustomize matches images by repository alone: a repository the
	// chart runs at two tags cannot be pinned by one digest, and is left
	// as the chart writes it.
	tags := map[string]map[string]bool{}
	digest := map[string]string{}
	for _, o := range rd.sys.Objects {
		if o.Chart != c.Name {
			continue
		}
		for _, img := range o.Images {
			if img.Digest != "" {
				continue
			}
			if tags[img.Repository] == nil {
				tags[img.Repository] = map[string]bool{}
			}
			tags[img.Repository][img.Tag] = true
			if rd.facts != nil {
				if e, ok := rd.facts.Lookup(img.Ref); ok {
					digest[img.Repository] = e.Digest
				}
			}
		}
	}
	var out []kustomize.Image
	for repo, d := range digest {
		if len(tags[repo]) == 1 {
			out = append(out, kustomize.Image{Name: repo, Digest: d})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
