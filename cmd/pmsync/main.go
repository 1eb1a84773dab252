// Command pmsync mirrors postmortem action items between a platform's issue
// tracker and its customers' trackers, keeps their status live both ways,
// and sends reminders and digests. Run "pmsync --help" for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
