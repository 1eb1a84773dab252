package main

import (
	"errors"
	"fmt"

	"github.com/pmsync/pmsync/config"
	"github.com/pmsync/pmsync/store"
)

// Exit codes that scripts can rely on. Every command returns an error and
// run maps it to one of these; see exitCode.
//
//	code  meaning
//	0     success
//	1     runtime failure (a tracker, the network, the store, a send failed)
//	2     usage or configuration error (bad flag, unknown command, invalid config)
//	3     the store file is locked by another pmsync process
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitStoreLocked = 3
)

// exitError carries an explicit exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withExitCode makes err end the process with code. A command uses it for
// outcomes that are not plain failures.
func withExitCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// usageErrorf reports a wrong use of a command (missing or conflicting
// flags); run prints it with a hint to --help and exits with ExitUsage.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// configError marks an error in loading the configuration (ExitUsage).
func configError(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: ExitUsage, err: err}
}

// exitCode maps what a command returned to the process exit code: an
// explicit code wins; an invalid config is ExitUsage; a store locked by
// another process is ExitStoreLocked; anything else is ExitFailure.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var cl config.ErrorList
	if errors.As(err, &cl) {
		return ExitUsage
	}
	if errors.Is(err, store.ErrLocked) {
		return ExitStoreLocked
	}
	return ExitFailure
}
