// SPDX-License-Identifier: AGPL-3.0-or-later

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
)

const tokensUsage = "custodia tokens issue|list|revoke --db URL …"

const tokensHelp = "Issue, list and revoke API tokens (bearer credentials bound to a role and caseload)."

// runTokens lets an operator issue the first API token of a deployment,
// and tokens for scripted clients, without a browser session: the API's
// own token route needs an administrator who is already signed in.
func runTokens(ctx context.Context, args []string, out, errOut io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	valid := sub == "issue" || sub == "list" || sub == "revoke"
	fs := newFlags("tokens issue|list|revoke", errOut)
	if valid {
		fs = newFlags("tokens "+sub, errOut)
	}
	dbURL := fs.String("db", os.Getenv("CUSTODIA_DB"), "database URL or SQLite path (env CUSTODIA_DB)")
	name := fs.String("name", "", "what the token is for, e.g. the API client's name (issue)")
	role := fs.String("role", "", "role the token acts in (issue): "+roleList())
	caseload := fs.String("caseload", "", "comma-separated institution, unit or office ids, or * for everywhere (issue)")
	ttl := fs.Int("ttl-days", 0, "days until the token expires; 0 never expires (issue)")
	id := fs.String("id", "", "id of the token to revoke (revoke)")
	if !valid {
		fs.Usage()
		fmt.Fprintln(errOut, "\nSubcommands:")
		fmt.Fprintln(errOut, "  issue   create a token: --name, --role, --caseload, --ttl-days; prints the secret once, alone on the last line")
		fmt.Fprintln(errOut, "  list    list every token with its role, caseload and state (never the secrets)")
		fmt.Fprintln(errOut, "  revoke  stop a token from working: --id")
		if sub == "-h" || sub == "-help" || sub == "--help" {
			return flag.ErrHelp
		}
		return errors.New("tokens: say issue, list or revoke")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	d, err := openDB(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer d.Close()
	svc := &access.Service{DB: d}
	ctx = audit.WithActor(ctx, operator())
	switch sub {
	case "issue":
		var cl []string
		for _, c := range strings.Split(*caseload, ",") {
			if c = strings.TrimSpace(c); c != "" {
				cl = append(cl, c)
			}
		}
		t, err := svc.IssueToken(ctx, *name, access.Role(*role), cl, time.Duration(*ttl)*24*time.Hour)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Issued token %s (%s, %s) with id %s. The secret is shown only now:\n%s\n", t.Name, t.Role, strings.Join(t.Caseload, ","), t.ID, t.Secret)
	case "list":
		list, err := svc.ListTokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tCASELOAD\tSTATE")
		now := d.Now()
		for _, t := range list {
			state := "active"
			switch {
			case !t.RevokedAt.IsZero():
				state = "revoked"
			case !t.ExpiresAt.IsZero() && now.After(t.ExpiresAt):
				state = "expired"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, strings.Join(t.Caseload, ","), state)
		}
		tw.Flush()
	case "revoke":
		if *id == "" {
			return errors.New("tokens revoke: --id is required")
		}
		if err := svc.RevokeToken(ctx, *id); err != nil {
			return err
		}
		fmt.Fprintf(out, "Token %s is revoked.\n", *id)
	}
	return nil
}
