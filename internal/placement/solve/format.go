// SPDX-License-Identifier: AGPL-3.0-or-later

package solve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// The text format (docs/placement-format.md): one record per line, a
// keyword, an ID, then key=value fields and bare flags, separated by
// spaces. Records refer to others by ID, defined on an earlier line. Blank
// lines and lines starting with # are ignored.
//
//	placement 1
//	weights risk=10 violence=200 distance=1 language=60 programme=40 move=30 transfer=100 smoking=20
//	region R01 x=512.5 y=1204
//	institution I001 region=R01 risk=15 …        (any weight: own weights)
//	unit U0001 institution=I001 languages=sv,ar programmes=anger,drugs
//	cell K00001 unit=U0001 capacity=2 gender=m security=2 juvenile remand accessible out-of-use smoking
//	client C000001 gender=f security=1 risk=35 home=R01 language=ar programmes=drugs share=non-smoker,no-violence juvenile remand restricted accessible smoker violence current=K00001 lock=K00001
//	nonassoc C000001 C000002 unit

const formatHeader = "placement 1"

// maxLine bounds one line of input, so that a hostile file cannot make the
// scanner hold an arbitrarily long line.
const maxLine = 1 << 20

var weightKeys = []string{"risk", "violence", "distance", "language", "programme", "move", "transfer", "smoking"}

func weightField(w *Weights, key string) *int64 {
	switch key {
	case "risk":
		return &w.Risk
	case "violence":
		return &w.Violence
	case "distance":
		return &w.Distance
	case "language":
		return &w.Language
	case "programme":
		return &w.Programme
	case "move":
		return &w.Move
	case "transfer":
		return &w.Transfer
	case "smoking":
		return &w.Smoking
	}
	return nil
}

var shareNames = []struct {
	name string
	flag Sharing
}{{"never", ShareNever}, {"non-smoker", ShareNonSmoker}, {"same-language", ShareSameLanguage}, {"no-violence", ShareNoViolence}}

// Parse reads an instance in the text format and validates it.
func Parse(r io.Reader) (*Instance, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	in := &Instance{}
	idx := map[string]map[string]int{"region": {}, "institution": {}, "unit": {}, "cell": {}, "client": {}}
	lineNo := 0
	header := false
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if !header {
			if strings.Join(fields, " ") != formatHeader {
				return nil, fmt.Errorf("line %d: the first line must be %q", lineNo, formatHeader)
			}
			header = true
			continue
		}
		if err := parseRecord(in, idx, fields); err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", lineNo+1, err)
	}
	if !header {
		return nil, fmt.Errorf("empty input: the first line must be %q", formatHeader)
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return in, nil
}

func parseRecord(in *Instance, idx map[string]map[string]int, fields []string) error {
	kind := fields[0]
	if kind == "weights" {
		return parseWeights(&in.Weights, fields[1:])
	}
	if kind == "nonassoc" {
		if len(fields) != 4 {
			return errors.New("nonassoc needs two client IDs and a scope")
		}
		a, okA := idx["client"][fields[1]]
		b, okB := idx["client"][fields[2]]
		if !okA || !okB {
			return errors.New("nonassoc names a client not defined before it")
		}
		var scope Scope
		for s := ScopeCell; s <= ScopeTransport; s++ {
			if s.String() == fields[3] {
				scope = s
			}
		}
		if scope == 0 {
			return fmt.Errorf("unknown scope %q", fields[3])
		}
		in.NonAssociations = append(in.NonAssociations, NonAssociation{A: a, B: b, Scope: scope})
		return nil
	}
	ids, ok := idx[kind]
	if !ok {
		return fmt.Errorf("unknown record %q", kind)
	}
	if len(fields) < 2 || !validToken(fields[1], false) {
		return fmt.Errorf("%s needs an ID", kind)
	}
	id := fields[1]
	if _, dup := ids[id]; dup {
		return fmt.Errorf("%s %q defined twice", kind, id)
	}
	kv := map[string]string{}
	flags := map[string]bool{}
	for _, f := range fields[2:] {
		if k, v, ok := strings.Cut(f, "="); ok {
			if _, dup := kv[k]; dup {
				return fmt.Errorf("%q given twice", k)
			}
			kv[k] = v
		} else {
			flags[f] = true
		}
	}
	var err error
	ref := func(kind, key string, optional bool) (int, error) {
		v, ok := kv[key]
		delete(kv, key)
		if !ok {
			if optional {
				return -1, nil
			}
			return 0, fmt.Errorf("%s= is missing", key)
		}
		i, ok := idx[kind][v]
		if !ok {
			return 0, fmt.Errorf("%s=%s: no %s %q defined before", key, v, kind, v)
		}
		return i, nil
	}
	num := func(key string, def int) (int, error) {
		v, ok := kv[key]
		delete(kv, key)
		if !ok {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < -1_000_000 || n > 1_000_000 {
			return 0, fmt.Errorf("%s=%s: not a number in range", key, v)
		}
		return n, nil
	}
	flag := func(name string) bool {
		v := flags[name]
		delete(flags, name)
		return v
	}
	list := func(key string) []string {
		v, ok := kv[key]
		delete(kv, key)
		if !ok {
			return nil
		}
		out := strings.Split(v, ",")
		for _, item := range out {
			if !validToken(item, true) && err == nil {
				err = fmt.Errorf("%s=%s: an empty or invalid item", key, v)
			}
		}
		return out
	}
	gender := func(allowAny bool) (Gender, error) {
		v := kv["gender"]
		delete(kv, "gender")
		switch v {
		case "m":
			return Male, nil
		case "f":
			return Female, nil
		case "any", "":
			if allowAny {
				return GenderAny, nil
			}
		}
		return 0, fmt.Errorf("gender=%s: want m or f", v)
	}
	switch kind {
	case "region":
		var reg Region
		reg.ID = id
		for _, p := range []struct {
			key string
			dst *float64
		}{{"x", &reg.X}, {"y", &reg.Y}} {
			v, ok := kv[p.key]
			delete(kv, p.key)
			if !ok {
				return fmt.Errorf("%s= is missing", p.key)
			}
			f, perr := strconv.ParseFloat(v, 64)
			if perr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("%s=%s: not a number", p.key, v)
			}
			*p.dst = f
		}
		in.Regions = append(in.Regions, reg)
	case "institution":
		it := Institution{ID: id}
		if it.Region, err = ref("region", "region", false); err != nil {
			return err
		}
		var ws []string
		for _, k := range weightKeys {
			if v, ok := kv[k]; ok {
				ws = append(ws, k+"="+v)
				delete(kv, k)
			}
		}
		if len(ws) > 0 {
			w := in.Weights
			if err := parseWeights(&w, ws); err != nil {
				return err
			}
			it.Weights = &w
		}
		in.Institutions = append(in.Institutions, it)
	case "unit":
		u := Unit{ID: id}
		if u.Institution, err = ref("institution", "institution", false); err != nil {
			return err
		}
		u.Languages, u.Programmes = list("languages"), list("programmes")
		if err != nil {
			return err
		}
		in.Units = append(in.Units, u)
	case "cell":
		c := Cell{ID: id}
		if c.Unit, err = ref("unit", "unit", false); err != nil {
			return err
		}
		if c.Capacity, err = num("capacity", 1); err != nil {
			return err
		}
		if c.Security, err = num("security", 0); err != nil {
			return err
		}
		if c.Gender, err = gender(true); err != nil {
			return err
		}
		c.Juvenile, c.Remand, c.Accessible, c.OutOfUse, c.Smoking = flag("juvenile"), flag("remand"), flag("accessible"), flag("out-of-use"), flag("smoking")
		in.Cells = append(in.Cells, c)
	case "client":
		c := Client{ID: id}
		if c.Gender, err = gender(false); err != nil {
			return err
		}
		if c.MinSecurity, err = num("security", 0); err != nil {
			return err
		}
		if c.Risk, err = num("risk", 0); err != nil {
			return err
		}
		if c.Home, err = ref("region", "home", true); err != nil {
			return err
		}
		if c.Current, err = ref("cell", "current", true); err != nil {
			return err
		}
		if c.Lock, err = ref("cell", "lock", true); err != nil {
			return err
		}
		c.Language = kv["language"]
		delete(kv, "language")
		if c.Language != "" && !validToken(c.Language, false) {
			return fmt.Errorf("language=%s: not a name", c.Language)
		}
		c.Programmes = list("programmes")
		for _, s := range list("share") {
			found := false
			for _, sn := range shareNames {
				if sn.name == s {
					c.Sharing |= sn.flag
					found = true
				}
			}
			if !found {
				return fmt.Errorf("share=%s: unknown", s)
			}
		}
		if err != nil {
			return err
		}
		c.Juvenile, c.Remand, c.Restricted, c.NeedsAccessible = flag("juvenile"), flag("remand"), flag("restricted"), flag("accessible")
		c.Smoker, c.Violence = flag("smoker"), flag("violence")
		in.Clients = append(in.Clients, c)
	}
	for k := range kv {
		return fmt.Errorf("unknown field %s= on a %s", k, kind)
	}
	for f := range flags {
		return fmt.Errorf("unknown flag %q on a %s", f, kind)
	}
	ids[id] = len(ids)
	return nil
}

// validToken says whether s can stand as one ID, name or list item: what
// Parse accepts and Write refuses to write otherwise.
func validToken(s string, inList bool) bool {
	return s != "" && !strings.HasPrefix(s, "#") && !strings.Contains(s, "=") && !(inList && strings.Contains(s, ",")) &&
		len(strings.Fields(s)) == 1 && strings.Fields(s)[0] == s
}

func parseWeights(w *Weights, fields []string) error {
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		p := weightField(w, k)
		if !ok || p == nil {
			return fmt.Errorf("unknown weight %q", f)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > maxWeight {
			return fmt.Errorf("weight %s=%s: not a number in range 0–%d", k, v, maxWeight)
		}
		*p = n
	}
	return nil
}

// Write writes an instance in the text format. It refuses IDs and names that
// the format cannot carry (empty, with spaces, '=' or ',').
func Write(w io.Writer, in *Instance) error {
	if err := in.Validate(); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	var bad error
	tok := func(s string, inList bool) string {
		if !validToken(s, inList) && bad == nil {
			bad = fmt.Errorf("%q cannot be written in the text format", s)
		}
		return s
	}
	weights := func(w *Weights) string {
		var b strings.Builder
		for i, k := range weightKeys {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s=%d", k, *weightField(w, k))
		}
		return b.String()
	}
	list := func(key string, ss []string) string {
		if len(ss) == 0 {
			return ""
		}
		for _, s := range ss {
			tok(s, true)
		}
		return " " + key + "=" + strings.Join(ss, ",")
	}
	fmt.Fprintln(bw, formatHeader)
	fmt.Fprintln(bw, "weights", weights(&in.Weights))
	for _, r := range in.Regions {
		fmt.Fprintf(bw, "region %s x=%s y=%s\n", tok(r.ID, false), strconv.FormatFloat(r.X, 'g', -1, 64), strconv.FormatFloat(r.Y, 'g', -1, 64))
	}
	for _, it := range in.Institutions {
		fmt.Fprintf(bw, "institution %s region=%s", tok(it.ID, false), in.Regions[it.Region].ID)
		if it.Weights != nil {
			fmt.Fprint(bw, " ", weights(it.Weights))
		}
		fmt.Fprintln(bw)
	}
	for _, u := range in.Units {
		fmt.Fprintf(bw, "unit %s institution=%s%s%s\n", tok(u.ID, false), in.Institutions[u.Institution].ID, list("languages", u.Languages), list("programmes", u.Programmes))
	}
	for _, c := range in.Cells {
		fmt.Fprintf(bw, "cell %s unit=%s capacity=%d gender=%s security=%d", tok(c.ID, false), in.Units[c.Unit].ID, c.Capacity, c.Gender, c.Security)
		for _, f := range []struct {
			on   bool
			name string
		}{{c.Juvenile, "juvenile"}, {c.Remand, "remand"}, {c.Accessible, "accessible"}, {c.OutOfUse, "out-of-use"}, {c.Smoking, "smoking"}} {
			if f.on {
				fmt.Fprint(bw, " ", f.name)
			}
		}
		fmt.Fprintln(bw)
	}
	for _, c := range in.Clients {
		fmt.Fprintf(bw, "client %s gender=%s security=%d risk=%d", tok(c.ID, false), c.Gender, c.MinSecurity, c.Risk)
		if c.Home >= 0 {
			fmt.Fprintf(bw, " home=%s", in.Regions[c.Home].ID)
		}
		if c.Language != "" {
			fmt.Fprintf(bw, " language=%s", tok(c.Language, false))
		}
		fmt.Fprint(bw, list("programmes", c.Programmes))
		var share []string
		for _, sn := range shareNames {
			if c.Sharing&sn.flag != 0 {
				share = append(share, sn.name)
			}
		}
		fmt.Fprint(bw, list("share", share))
		for _, f := range []struct {
			on   bool
			name string
		}{{c.Juvenile, "juvenile"}, {c.Remand, "remand"}, {c.Restricted, "restricted"}, {c.NeedsAccessible, "accessible"}, {c.Smoker, "smoker"}, {c.Violence, "violence"}} {
			if f.on {
				fmt.Fprint(bw, " ", f.name)
			}
		}
		if c.Current != NoCell {
			fmt.Fprintf(bw, " current=%s", in.Cells[c.Current].ID)
		}
		if c.Lock != NoCell {
			fmt.Fprintf(bw, " lock=%s", in.Cells[c.Lock].ID)
		}
		fmt.Fprintln(bw)
	}
	for _, na := range in.NonAssociations {
		fmt.Fprintf(bw, "nonassoc %s %s %s\n", in.Clients[na.A].ID, in.Clients[na.B].ID, na.Scope)
	}
	if bad != nil {
		return bad
	}
	return bw.Flush()
}
