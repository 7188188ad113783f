package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/gitopsc/gitopsc/compiler/diag"
)

// Options bound the lookups of Resolve. Zero fields take the defaults.
type Options struct {
	Jobs     int           // lookups at once; DefaultJobs when 0
	Timeout  time.Duration // each attempt of each lookup; DefaultTimeout when 0
	Attempts int           // tries per reference; DefaultAttempts when 0
	Backoff  time.Duration // wait before the second try, doubled for each next; DefaultBackoff when 0

	// Progress, when set, is called after each lookup ends.
	Progress func(done, total int)
	// Retry, when set, is called before a failed lookup is tried again.
	Retry func(u Use, reason string, attempt, attempts int, wait time.Duration)
}

// Defaults of Options.
const (
	DefaultJobs     = 4
	DefaultTimeout  = 30 * time.Second
	DefaultAttempts = 3
	DefaultBackoff  = 500 * time.Millisecond
)

func (o Options) withDefaults() Options {
	if o.Jobs <= 0 {
		o.Jobs = DefaultJobs
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	return o
}

// LookupError is a reference that could not be resolved.
type LookupError struct {
	Use      Use
	Attempts int
	Err      error
}

func (e *LookupError) Error() string { return e.Use.Ref + ": " + e.Reason() }
func (e *LookupError) Unwrap() error { return e.Err }

// Reason says in one line why the lookup failed, without the reference.
func (e *LookupError) Reason() string {
	r := reason(e.Err)
	if e.Attempts > 1 {
		r += fmt.Sprintf(" (%d attempts)", e.Attempts)
	}
	return r
}

// LookupErrors are the references of one Resolve that failed, sorted.
type LookupErrors []*LookupError

func (l LookupErrors) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Resolve looks up every used reference in src, at most o.Jobs at once,
// and returns the lock they make. When any lookup fails it returns no
// lock and an outside error holding LookupErrors, one per failed reference.
func Resolve(ctx context.Context, src Source, uses []Use, o Options) (*Lock, error) {
	o = o.withDefaults()
	entries := make([]Entry, len(uses))
	failed := make([]*LookupError, len(uses))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	sem := make(chan struct{}, o.Jobs)
	for i, u := range uses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			entries[i], failed[i] = lookup(ctx, src, u, o)
			if o.Progress != nil {
				mu.Lock()
				done++
				o.Progress(done, len(uses))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var errs LookupErrors
	l := &Lock{Entries: map[string]Entry{}}
	for i, u := range uses {
		if failed[i] != nil {
			errs = append(errs, failed[i])
			continue
		}
		l.Entries[u.Ref] = entries[i]
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Use.Ref < errs[j].Use.Ref })
		return nil, diag.OutsideErr(errs)
	}
	return l, nil
}

// lookup resolves one reference, each attempt under its own timeout,
// trying again after a growing wait when the failure may pass.
func lookup(ctx context.Context, src Source, u Use, o Options) (Entry, *LookupError) {
	wait := o.Backoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, o.Timeout)
		e, err := src.Resolve(actx, u.Ref)
		if err != nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
			// The attempt's own deadline, whatever error it surfaced
			// as (go-containerregistry joins the errors of its https
			// and http probes in a type errors.Is cannot see into).
			err = &timeoutError{after: o.Timeout, err: err}
		}
		cancel()
		if err == nil {
			e.Ref = u.Ref
			return e, nil
		}
		if ctx.Err() != nil {
			return Entry{}, &LookupError{Use: u, Attempts: attempt, Err: ctx.Err()}
		}
		if attempt >= o.Attempts || !Retryable(err) {
			return Entry{}, &LookupError{Use: u, Attempts: attempt, Err: err}
		}
		if o.Retry != nil {
			o.Retry(u, reason(err), attempt+1, o.Attempts, wait)
		}
		select {
		case <-ctx.Done():
			return Entry{}, &LookupError{Use: u, Attempts: attempt, Err: ctx.Err()}
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// timeoutError is an attempt that ran out of time.
type timeoutError struct {
	after time.Duration
	err   error
}

func (e *timeoutError) Error() string { return fmt.Sprintf("no answer within %s", e.after) }
func (e *timeoutError) Unwrap() error { return e.err }

// Retryable reports whether a failed lookup may succeed when tried again:
// a server error (5xx), a rate limit (429), a timeout or a dropped
// connection. Refusals (401, 403), a missing image (404) and malformed
// manifests are final.
func Retryable(err error) bool {
	var te *transport.Error
	var to *timeoutError
	var errno syscall.Errno
	switch {
	case errors.As(err, &to):
		return true
	case errors.As(err, &te):
		return te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests || te.StatusCode == http.StatusRequestTimeout
	case errors.As(err, &errno):
		return errno == syscall.ECONNRESET
	}
	return errors.Is(err, io.ErrUnexpectedEOF)
}

// reason words a lookup failure for a person, from the registry's status
// code when it gave one.
func reason(err error) string {
	var te *transport.Error
	var to *timeoutError
	var me *MalformedError
	switch {
	case errors.As(err, &to):
		return to.Error()
	case errors.As(err, &te):
		status := fmt.Sprintf("registry answered %d %s", te.StatusCode, http.StatusText(te.StatusCode))
		switch te.StatusCode {
		case http.StatusUnauthorized:
			return status + ": no valid credentials for it (log in with docker login, or set DOCKER_CONFIG)"
		case http.StatusForbidden:
			return status + ": the credentials may not read this repository"
		case http.StatusNotFound:
			for _, d := range te.Errors {
				switch d.Code {
				case transport.ManifestUnknownErrorCode:
					return status + ": no such tag"
				case transport.NameUnknownErrorCode:
					return status + ": no such repository"
				}
			}
			return status + ": no such repository or tag"
		}
		return status
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.As(err, &me):
		return me.Error()
	}
	return err.Error()
}
