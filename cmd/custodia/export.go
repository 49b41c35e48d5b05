// SPDX-License-Identifier: AGPL-3.0-or-later

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/custodia/custodia/internal/export"
	"github.com/custodia/custodia/internal/platform/db"
)

const exportUsage = "custodia export --db URL --out DIR [--mode full|pseudonymised|statistics] [--key-file FILE] [--tables a,b]"

const exportHelp = "Write every classified table as JSON Lines with a manifest of classes, row counts and SHA-256 sums; security columns are never exported; the export is audited."

func runExport(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("export", errOut)
	dbURL := fs.String("db", os.Getenv("CUSTODIA_DB"), "database URL or SQLite path (env CUSTODIA_DB)")
	dir := fs.String("out", "", "directory to write TABLE.jsonl files and manifest.json into; created if missing, must be empty")
	mode := fs.String("mode", string(export.Full), "full: every column but security ones; pseudonymised: personal values as keyed pseudonyms, dates as year-month, "+
		"special-category withheld; statistics: public and internal columns only")
	keyFile := fs.String("key-file", "", fmt.Sprintf("file holding the pseudonymisation key, at least %d bytes (surrounding white space ignored), "+
		"e.g. from 'openssl rand -hex 32'; required with --mode pseudonymised; the same key gives the same pseudonyms", export.MinKeyBytes))
	tables := fs.String("tables", "", "comma-separated tables to export; default every table the schema classifies")
	special := fs.Bool("include-special", false, "with --mode pseudonymised, also export special-category columns (health, offences, alerts), pseudonymised")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("export: unexpected argument %q", fs.Arg(0))
	}
	if *dir == "" {
		return errors.New("--out is required")
	}
	o := export.Options{Mode: export.Mode(*mode), Dir: *dir, IncludeSpecial: *special}
	if *keyFile != "" {
		k, err := os.ReadFile(*keyFile)
		if err != nil {
			return fmt.Errorf("export: key: %w", err)
		}
		o.Key = bytes.TrimSpace(k)
	} else if o.Mode == export.Pseudonymised {
		return errors.New("--mode pseudonymised needs --key-file")
	}
	for _, t := range strings.Split(*tables, ",") {
		if t = strings.TrimSpace(t); t != "" {
			o.Tables = append(o.Tables, t)
		}
	}
	classes, err := db.Classification()
	if err != nil {
		return err
	}
	o.Classes = classes
	o.Actor = operator()
	d, err := openDB(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer d.Close()
	m, err := export.Run(ctx, d, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Exported %d rows from %d tables (%s) to %s; see %s.\n", m.Rows(), len(m.Tables), m.Mode, *dir, export.ManifestName)
	return nil
}
