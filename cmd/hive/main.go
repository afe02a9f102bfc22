// Command hive runs a Hive node (hive agent) and talks to one over its
// HTTP API (every other command). See "hive --help".
package main

import "os"

func main() {
	// Run reports the error on stderr as "Error: <message> (<code>)".
	if err := newApp(os.Stdin, os.Stdout, os.Stderr).Run(os.Args); err != nil {
		os.Exit(1)
	}
}
