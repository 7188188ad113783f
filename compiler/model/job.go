package model

// Job and CronJob are the workload kinds that run to completion: once,
// or on a schedule.
const (
	Job     = "job"
	CronJob = "cronjob"
)

// RunsToCompletion reports whether c is a job or a cronjob: its pods end
// when their work is done, so they take no probes, replicas, autoscaling,
// rolling updates or exposure.
func (c *Component) RunsToCompletion() bool {
	return c.Kind == Job || c.Kind == CronJob
}

// JobSpec is how one run of a job or cronjob goes. Nil fields were not
// written and take Kubernetes' defaults.
type JobSpec struct {
	BackoffLimit            *int32
	ActiveDeadlineSeconds   *int32
	ActiveDeadlinePos       Pos
	TTLSecondsAfterFinished *int32
	Parallelism             *int32
	Completions             *int32
	// RestartPolicy is Never or OnFailure.
	RestartPolicy string
	Pos           Pos
}

// Schedule is when a cronjob starts a run.
type Schedule struct {
	Cron        string
	CronPos     Pos
	TimeZone    string // empty when not written
	TimeZonePos Pos
	// Concurrency is Allow, Forbid or Replace; Forbid unless written.
	Concurrency                string
	ConcurrencyPos             Pos
	Suspend                    bool
	StartingDeadlineSeconds    *int32
	SuccessfulJobsHistoryLimit *int32
	FailedJobsHistoryLimit     *int32
	Pos                        Pos
}
