// SPDX-License-Identifier: AGPL-3.0-or-later

package solve

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestWriteParseRoundTrip(t *testing.T) {
	for seed := range uint64(5) {
		in := Generate(GenConfig{Clients: 300, Places: 350, NonAssociations: 400, Seed: seed, Locked: 0.1})
		var buf bytes.Buffer
		if err := Write(&buf, in); err != nil {
			t.Fatal(err)
		}
		back, err := Parse(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if !reflect.DeepEqual(normal(in), normal(back)) {
			t.Fatalf("seed %d: the instance read back differs", seed)
		}
	}
}

// normal makes empty and nil lists equal, which the format does not tell
// apart.
func normal(in *Instance) *Instance {
	out := *in
	out.Units = append([]Unit(nil), in.Units...)
	for i := range out.Units {
		if len(out.Units[i].Languages) == 0 {
			out.Units[i].Languages = nil
		}
		if len(out.Units[i].Programmes) == 0 {
			out.Units[i].Programmes = nil
		}
	}
	out.Clients = append([]Client(nil), in.Clients...)
	for i := range out.Clients {
		if len(out.Clients[i].Programmes) == 0 {
			out.Clients[i].Programmes = nil
		}
	}
	return &out
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"no header", "region R x=1 y=2\n", "first line"},
		{"unknown record", "placement 1\nwing W\n", "unknown record"},
		{"forward reference", "placement 1\ninstitution I region=R\n", "no region"},
		{"duplicate", "placement 1\nregion R x=1 y=1\nregion R x=2 y=2\n", "defined twice"},
		{"bad number", "placement 1\nregion R x=1 y=1\ninstitution I region=R\nunit U institution=I\ncell K unit=U capacity=two\n", "not a number"},
		{"unknown flag", "placement 1\nregion R x=1 y=1\ninstitution I region=R\nunit U institution=I\ncell K unit=U wet\n", "unknown flag"},
		{"client gender", "placement 1\nclient C risk=1\n", "gender"},
		{"scope", "placement 1\nclient A gender=m\nclient B gender=m\nnonassoc A B wing\n", "unknown scope"},
		{"self", "placement 1\nclient A gender=m\nnonassoc A A cell\n", "itself"},
		{"risk range", "placement 1\nclient A gender=m risk=101\n", "risk"},
		{"mixed unit", "placement 1\nregion R x=1 y=1\ninstitution I region=R\nunit U institution=I\ncell K1 unit=U juvenile\ncell K2 unit=U\n", "juvenile and adult"},
		{"empty list item", "placement 1\nregion R x=1 y=1\ninstitution I region=R\nunit U institution=I languages=sv,,en\n", "empty or invalid"},
	} {
		_, err := Parse(strings.NewReader(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	if err := Write(&buf, Generate(GenConfig{Clients: 6, Places: 8, NonAssociations: 4, Seed: 1, Locked: 0.3})); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.String())
	f.Add("placement 1\nweights risk=1\nregion R x=1e3 y=-2\ninstitution I region=R move=5\nunit U institution=I languages=sv\ncell K unit=U capacity=2 gender=any\nclient A gender=f share=never,no-violence current=K lock=K\nclient B gender=f\nnonassoc A B transport\n")
	f.Fuzz(func(t *testing.T, text string) {
		in, err := Parse(strings.NewReader(text))
		if err != nil {
			return
		}
		var out1, out2 bytes.Buffer
		if err := Write(&out1, in); err != nil {
			t.Fatalf("parsed but cannot write: %v", err)
		}
		back, err := Parse(bytes.NewReader(out1.Bytes()))
		if err != nil {
			t.Fatalf("written but cannot parse: %v\n%s", err, out1.String())
		}
		if err := Write(&out2, back); err != nil || out1.String() != out2.String() {
			t.Fatalf("second round trip differs: %v", err)
		}
		if len(in.Clients) > 50 || len(in.Cells) > 50 {
			return
		}
		g, err := Greedy(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range Check(in, g) {
			if v.Rule != RuleUnplaced {
				t.Fatalf("greedy broke a rule: %s", v.Message)
			}
		}
	})
}
