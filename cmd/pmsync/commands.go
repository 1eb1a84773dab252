package main

import "github.com/spf13/cobra"

// subcommands is the one list of pmsync's commands. Each command lives in
// its own file as a constructor taking the shared *app; add it here with
// one line. Commands return errors (see exit.go for how they become exit
// codes) and write to a.stdout / a.stderr, never to os.Stdout directly, so
// tests can run them in-process.
func subcommands(a *app) []*cobra.Command {
	return []*cobra.Command{
		newConfigCmd(a),
		newDemoCmd(a),
		newDigestCmd(a),
		newReportCmd(a),
		newServeCmd(a),
		newStatusCmd(a),
		newStoreCmd(a),
		newSyncCmd(a),
		newVersionCmd(a),
	}
}
