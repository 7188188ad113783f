package load

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	// Time zones are checked against the same database on every machine,
	// with or without /usr/share/zoneinfo: the one the Go release embeds,
	// which the controller manager also falls back to.
	_ "time/tzdata"

	"cuelang.org/go/cue"
	"github.com/robfig/cron/v3"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// cronJobNameMax is the longest name the API server accepts for a
// CronJob: each run's Job is named NAME-<10 digits>, a 63-character label.
const cronJobNameMax = 52

// job decodes the job and schedule blocks of c and refuses what does not
// fit its kind: a job or cronjob ends when its work is done, so it takes
// no replicas, autoscaling, rolling update, exposure or probes.
func (d *decoder) job(c *model.Component, v cue.Value, path string) {
	jv := lookup(v, "job")
	sv := lookup(v, "schedule")
	if !c.RunsToCompletion() {
		if jv.Exists() {
			d.errs.Add(jv.Pos(), "%s.job: a %s component runs until it is stopped; job needs kind: \"job\" or \"cronjob\"", path, c.Kind)
		}
		if sv.Exists() {
			d.errs.Add(sv.Pos(), "%s.schedule: a %s component runs until it is stopped; schedule needs kind: \"cronjob\"", path, c.Kind)
		}
		return
	}
	j := &model.JobSpec{Pos: jv.Pos(), RestartPolicy: "Never"}
	j.BackoffLimit = optInt32(jv, "backoffLimit")
	j.ActiveDeadlineSeconds = optInt32(jv, "activeDeadlineSeconds")
	j.ActiveDeadlinePos = lookup(jv, "activeDeadlineSeconds").Pos()
	j.TTLSecondsAfterFinished = optInt32(jv, "ttlSecondsAfterFinished")
	j.Parallelism = optInt32(jv, "parallelism")
	j.Completions = optInt32(jv, "completions")
	if r, _ := str(jv, "restartPolicy"); r != "" {
		j.RestartPolicy = r
	}
	c.Job = j
	if c.Kind == model.Job && j.TTLSecondsAfterFinished != nil {
		d.errs.Add(lookup(jv, "ttlSecondsAfterFinished").Pos(), "%s.job.ttlSecondsAfterFinished: Flux applies a job again when it is gone, so a job deleted after it finished would run again at every reconcile; ttlSecondsAfterFinished is for cronjobs' runs", path)
	}
	switch {
	case c.Kind == model.Job && sv.Exists():
		d.errs.Add(sv.Pos(), "%s.schedule: a job runs once, when it is applied; schedule needs kind: \"cronjob\"", path)
	case c.Kind == model.CronJob && !sv.Exists():
		d.errs.Add(c.KindPos, "%s.kind: a cronjob needs a schedule: schedule: cron: \"0 3 * * *\"", path)
	case c.Kind == model.CronJob:
		c.Schedule = d.schedule(sv, path+".schedule")
		if len(c.ObjectName) > cronJobNameMax {
			d.errs.Add(c.Pos, "%s: a cronjob's name is at most %d characters (this one has %d): each run's Job is named after it with 11 more", path, cronJobNameMax, len(c.ObjectName))
		}
	}

	what := "a " + c.Kind
	if c.ReplicasSet {
		d.errs.Add(c.ReplicasPos, "%s.replicas: %s runs job.parallelism pods at once, not replicas; set that instead", path, what)
	}
	if c.Autoscale != nil {
		d.errs.Add(c.Autoscale.Pos, "%s.autoscale: %s is not scaled: its pods end when their work is done; set job.parallelism for more at once", path, what)
	}
	if c.Rolling.Pos.IsValid() {
		d.errs.Add(c.Rolling.Pos, "%s.rollingUpdate: %s is not rolled: a changed pod template takes effect on the next run", path, what)
	}
	if c.Expose != nil {
		d.errs.Add(c.Expose.Pos, "%s.expose: %s takes no traffic from outside: its pods come and go with its runs", path, what)
	}
	for _, p := range []struct {
		name string
		p    *model.Probe
	}{{"readiness", c.Probes.Readiness}, {"liveness", c.Probes.Liveness}, {"startup", c.Probes.Startup}} {
		if p.p != nil {
			d.errs.Add(p.p.Pos, "%s.probes.%s: %s takes no probes: its pods are in no Service's rotation and end when their work is done; job.activeDeadlineSeconds stops a run that hangs", path, p.name, what)
		}
	}
}

func (d *decoder) schedule(v cue.Value, path string) *model.Schedule {
	s := &model.Schedule{Pos: v.Pos(), Concurrency: "Forbid"}
	s.Cron, s.CronPos = str(v, "cron")
	s.TimeZone, s.TimeZonePos = str(v, "timeZone")
	if c, pos := str(v, "concurrency"); c != "" {
		s.Concurrency, s.ConcurrencyPos = c, pos
	}
	if b := lookup(v, "suspend"); b.Exists() {
		s.Suspend, _ = b.Bool()
	}
	s.StartingDeadlineSeconds = optInt32(v, "startingDeadlineSeconds")
	s.SuccessfulJobsHistoryLimit = optInt32(v, "successfulJobsHistoryLimit")
	s.FailedJobsHistoryLimit = optInt32(v, "failedJobsHistoryLimit")
	if why := CronProblem(s.Cron); why != "" {
		d.errs.Add(s.CronPos, "%s.cron: %q is not a schedule Kubernetes accepts: %s", path, s.Cron, why)
	}
	if s.TimeZone != "" {
		if why := timeZoneProblem(s.TimeZone); why != "" {
			d.errs.Add(s.TimeZonePos, "%s.timeZone: %q is not a time zone Kubernetes accepts: %s", path, s.TimeZone, why)
		}
	}
	return s
}

// CronProblem says why the API server would refuse a CronJob schedule, or
// "". It parses as the API server does (robfig/cron's standard parser:
// five fields or a descriptor such as @daily), and like it refuses a time
// zone written into the schedule, which belongs in timeZone.
func CronProblem(schedule string) (why string) {
	if strings.Contains(schedule, "TZ") {
		return "a time zone in the schedule (TZ= or CRON_TZ=) is refused; set schedule.timeZone instead"
	}
	defer func() {
		// The parser panics on some malformed input; the API server
		// recovers the same way.
		if r := recover(); r != nil {
			why = fmt.Sprint(r)
		}
	}()
	if _, err := cron.ParseStandard(schedule); err != nil {
		return err.Error() + " (want minute hour day-of-month month day-of-week, or @hourly, @daily, @weekly, @monthly, @yearly)"
	}
	return ""
}

// timeZoneChars is the API server's rule for each part of a time zone
// name (IANA's naming rules, with digits and '+' for legacy names).
var timeZoneChars = regexp.MustCompile(`^[A-Za-z.\-_0-9+]{1,14}$`)

// timeZoneProblem says why the API server would refuse a CronJob time
// zone, or "": its checks, in its order.
func timeZoneProblem(tz string) string {
	for _, part := range strings.Split(tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !timeZoneChars.MatchString(part) {
			return "not an IANA time zone name such as \"Europe/Berlin\""
		}
	}
	if strings.EqualFold(tz, "Local") {
		return "Local is the controller manager's zone, not an explicit one; name an IANA time zone such as \"Europe/Berlin\""
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return "no such zone in the IANA time zone database (names are case-sensitive, such as \"America/New_York\")"
	}
	return ""
}

func optInt32(v cue.Value, path string) *int32 {
	f := lookup(v, path)
	if !f.Exists() {
		return nil
	}
	n, _ := f.Int64()
	m := int32(n)
	return &m
}
