// SPDX-License-Identifier: AGPL-3.0-or-later

package i18n

import (
	"regexp"
	"strconv"
)

// Rule maps a service's English message (matched by Re) to a catalogue
// key; the submatches become the text's arguments, numbers as numbers.
type Rule struct {
	Re  *regexp.Regexp
	Key string
}

// Rules translate a capability's service messages; a message no rule
// matches is shown as the service wrote it.
type Rules []Rule

// T is msg in lang.
func (rs Rules) T(lang Lang, msg string) string {
	for _, r := range rs {
		m := r.Re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		args := make([]any, 0, len(m)-1)
		for _, s := range m[1:] {
			if n, err := strconv.Atoi(s); err == nil {
				args = append(args, n)
			} else {
				args = append(args, s)
			}
		}
		return T(lang, r.Key, args...)
	}
	return msg
}
