package main

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"

	"github.com/spf13/cobra"
)

func (c *cli) newDashboardCommand() *cobra.Command {
	var urlOnly bool
	cmd := &cobra.Command{
		Use:   "dashboard [--url-only]",
		Short: "Open the web dashboard, signed in",
		Long: `Dashboard opens the manager's web dashboard (/ui/) in your browser, signed
in. The address carries a sign-in code, not your token: the code works
once, within two minutes, and rides in the URL's fragment, which the
browser never sends to a server, so it lands in no server's log. The page
exchanges it for a read-only session that lasts twelve hours.
--url-only prints the address instead of opening it.`,
		Example: `  mkctl dashboard
  mkctl dashboard --url-only`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.dashboard(cmd.Context(), urlOnly)
		},
	}
	cmd.Flags().BoolVar(&urlOnly, "url-only", false, "print the sign-in address instead of opening a browser")
	return cmd
}

func (c *cli) dashboard(ctx context.Context, urlOnly bool) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	code, err := api.SignInCode(ctx)
	if err != nil {
		return err
	}
	url := api.Server() + code.Path
	if urlOnly {
		fmt.Fprintln(c.out, url)
		return nil
	}
	if err := openBrowser(url); err != nil {
		fmt.Fprintf(c.errOut, "could not open a browser (%v); open this address within two minutes:\n", err)
		fmt.Fprintln(c.out, url)
		return nil
	}
	fmt.Fprintln(c.errOut, "Opened the dashboard in your browser; the sign-in code in its address works once, within two minutes.")
	return nil
}

// openBrowser opens url with the desktop's opener.
func openBrowser(url string) error {
	name := "xdg-open"
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		return exec.Command("rundll32", "url.dll,FileProtocolHandler", url).Start()
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return fmt.Errorf("%s not found", name)
	}
	return exec.Command(path, url).Start()
}
