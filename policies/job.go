package policies

import (
	"fmt"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/gitopsc/gitopsc/compiler/render"
)

var jobRules = []*Rule{
	{
		ID: "JOB001", Family: "job", Severity: Error,
		Title: "a CronJob whose runs may overlap sets an active deadline",
		Rationale: `With concurrency Allow, the CronJob controller starts a run at every
scheduled time whether or not the previous runs have finished. A run that
hangs then never ends, and one more piles up at each tick until the
namespace's quota or the nodes are full. job.activeDeadlineSeconds stops a
run that takes too long, and bounds how many runs can be active at once
(QUOTA003 counts them); without it, no bound exists. Set it, or use
concurrency Forbid (the default) or Replace.`,
		Check: checkCronJobBounded,
	},
}

// runs is how many pods of a Job or CronJob can count against a quota at
// once, and how that count was found.
type runs struct {
	cron bool
	// Parallelism is the pods of one run at once: parallelism (1 when
	// unset), no more than completions.
	Parallelism int
	// ParallelismWhy shows how Parallelism was found.
	ParallelismWhy string
	// Runs is how many runs can be active at once: 1 for a Job.
	Runs int
	// RunsWhy shows how Runs was found; empty for a Job.
	RunsWhy string
	// Unbounded is set for a CronJob with concurrency Allow and no active
	// deadline: Runs is then 1, a floor rather than a bound (JOB001).
	Unbounded bool
}

// count is the worst case as QUOTA003 shows it.
func (r *runs) count() string {
	if !r.cron {
		return "job, " + r.ParallelismWhy
	}
	return fmt.Sprintf("cronjob %s × %s", r.RunsWhy, r.ParallelismWhy)
}

// jobWorkload is a rendered Job, or the Jobs a CronJob starts, as the
// rules see workloads: Replicas is the worst case of pods at once.
func jobWorkload(o *render.Object, kind string, spec *batchv1.JobSpec, cj *batchv1.CronJobSpec) *workload {
	r := &runs{cron: cj != nil, Parallelism: 1, ParallelismWhy: "parallelism 1", Runs: 1}
	if p := spec.Parallelism; p != nil {
		r.Parallelism, r.ParallelismWhy = int(*p), fmt.Sprintf("parallelism %d", *p)
	}
	if c := spec.Completions; c != nil && int(*c) < r.Parallelism {
		// The Job controller never runs more pods than completions remain.
		r.ParallelismWhy = fmt.Sprintf("parallelism min(%d, completions %d) = %d", r.Parallelism, *c, *c)
		r.Parallelism = int(*c)
	}
	if cj != nil {
		r.Runs, r.RunsWhy, r.Unbounded = overlappingRuns(cj, spec)
	}
	return &workload{Kind: kind, Namespace: o.Namespace, Name: o.Name, Obj: o, Template: &spec.Template,
		Replicas: r.Runs * r.Parallelism, Runs: r}
}

// overlappingRuns is how many runs of a CronJob can be active at once.
//
// Forbid never starts a run while one is active: 1. Replace deletes the
// active run and starts the new one at once, and the deleted run's pods
// count against the quota until their grace period ends (the quota
// evaluator charges a terminating pod until then): 2. Allow starts a run
// at every scheduled time, and a run is active until it finishes or its
// active deadline stops it, after which its pods take up to the
// termination grace period to go; so no more than
// ceil((deadline + grace) / shortest interval between scheduled times)
// runs overlap. The bound assumes runs start at their scheduled time.
func overlappingRuns(cj *batchv1.CronJobSpec, spec *batchv1.JobSpec) (int, string, bool) {
	switch cj.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		return 1, "Forbid: 1 run", false
	case batchv1.ReplaceConcurrent:
		return 2, "Replace: 2 runs (the replaced run's pods count until they terminate)", false
	}
	if spec.ActiveDeadlineSeconds == nil {
		return 1, "Allow, no active deadline: at least 1 run, unbounded (JOB001)", true
	}
	tz := ""
	if cj.TimeZone != nil {
		tz = *cj.TimeZone
	}
	gap, err := ShortestInterval(cj.Schedule, tz)
	if err != nil {
		// The loader refuses a schedule the parser does not accept.
		return 1, "Allow: schedule " + cj.Schedule + " not understood: " + err.Error(), true
	}
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if g := spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = *g
	}
	deadline := *spec.ActiveDeadlineSeconds
	secs := int64(gap / time.Second)
	n := (deadline + grace + secs - 1) / secs
	return int(n), fmt.Sprintf("Allow: ceil((%ds deadline + %ds grace) / %ds shortest interval) = %d runs", deadline, grace, secs, n), false
}

// intervalYear is the first of the two years whose scheduled times
// ShortestInterval compares: a leap year, so a schedule for 29 February
// fires in it, then a common one, where 1 February to 1 March is 28 days.
// Each has both of a zone's summer-time changes, and the first days of
// its months fall on every day of the week.
const intervalYear = 2024

// ShortestInterval is the shortest time between two consecutive scheduled
// times of a cron schedule read in time zone tz (UTC when empty, as the
// controller manager of EKS reads a schedule without one). It is exact
// over the scheduled times of two whole years (intervalYear) and the first
// day of the next, in absolute time, so the days clocks change count as the
// scheduler runs them: on the night clocks spring forward, 01:00 and 03:00
// are an hour apart, and on the night they fall back, 01:30 comes twice.
// A schedule that fires at most once in that span is taken to fire once a
// year, the least often a schedule other than one for 29 February fires.
// A day-of-month and day-of-week pattern whose closest pair needs a
// weekday alignment those two years lack is the one case it can miss.
func ShortestInterval(schedule, tz string) (time.Duration, error) {
	key := tz + " " + schedule
	if v, ok := intervals.Load(key); ok {
		return v.(time.Duration), nil
	}
	d, err := shortestInterval(schedule, tz)
	if err == nil {
		intervals.Store(key, d)
	}
	return d, err
}

// intervals caches ShortestInterval, a function of its arguments alone:
// every rule lists the workloads, and a schedule firing every few minutes
// in a zone with summer time costs milliseconds to measure.
var intervals sync.Map

func shortestInterval(schedule, tz string) (time.Duration, error) {
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return 0, err
		}
		loc = l
	}
	s, err := cron.ParseStandard(schedule)
	if err != nil {
		return 0, err
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok { // @every DURATION
		return s.Next(time.Time{}).Sub(time.Time{}), nil
	}
	// The times of day the schedule fires at, in minutes: the standard
	// parser fixes the second at 0.
	var daily []int64
	for h := 0; h < 24; h++ {
		for m := 0; m < 60; m++ {
			if spec.Hour&(1<<h) != 0 && spec.Minute&(1<<m) != 0 {
				daily = append(daily, int64(h*60+m))
			}
		}
	}
	const year = 365 * 24 * time.Hour
	shortest, prev, have := int64(year/time.Second), int64(0), false
	emit := func(t int64) bool {
		if have && t-prev < shortest {
			shortest = t - prev
		}
		prev, have = t, true
		return shortest <= 60 // no cron schedule fires more often
	}
	for d := 0; d <= 731; d++ {
		day := time.Date(intervalYear, 1, 1+d, 0, 0, 0, 0, loc)
		if !dayMatches(spec, day) {
			continue
		}
		next := time.Date(intervalYear, 1, 2+d, 0, 0, 0, 0, loc)
		_, off := day.Zone()
		_, offNext := next.Zone()
		if off == offNext && next.Sub(day) == 24*time.Hour && day.Hour() == 0 {
			// No clock change that day: its times are its wall clock.
			base := day.Unix()
			for _, m := range daily {
				if emit(base + m*60) {
					return time.Duration(shortest) * time.Second, nil
				}
			}
			continue
		}
		// The clocks change that day: take the times from the
		// scheduler's own arithmetic, which skips a time that does not
		// exist and fires twice at one that comes twice.
		for t := s.Next(day.Add(-time.Second)); !t.IsZero() && t.Before(next); t = s.Next(t) {
			if emit(t.Unix()) {
				return time.Duration(shortest) * time.Second, nil
			}
		}
	}
	return time.Duration(shortest) * time.Second, nil
}

// dayMatches is the scheduler's rule for a day: the month matches, and
// the day of month and day of week both match when either is "*", either
// one when both are restricted.
func dayMatches(s *cron.SpecSchedule, t time.Time) bool {
	const star = 1 << 63
	if 1<<uint(t.Month())&s.Month == 0 {
		return false
	}
	dom := 1<<uint(t.Day())&s.Dom > 0
	dow := 1<<uint(t.Weekday())&s.Dow > 0
	if s.Dom&star > 0 || s.Dow&star > 0 {
		return dom && dow
	}
	return dom || dow
}

// checkCronJobBounded is JOB001.
func checkCronJobBounded(ctx *Context) []Finding {
	var fs []Finding
	for _, w := range workloads(ctx) {
		if w.Runs == nil || !w.Runs.Unbounded {
			continue
		}
		pos := w.pos()
		if c := w.Component; c != nil && c.Schedule != nil && c.Schedule.ConcurrencyPos.IsValid() {
			pos = c.Schedule.ConcurrencyPos
		}
		fs = append(fs, Finding{Pos: pos, Target: w.target(), Object: w.object(),
			Message: fmt.Sprintf("cronjob %s lets runs overlap (concurrency Allow) with no job.activeDeadlineSeconds: a run that hangs never ends and one more starts at each scheduled time, without bound; set job.activeDeadlineSeconds, or concurrency Forbid or Replace", w.Name)})
	}
	return fs
}
